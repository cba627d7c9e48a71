//! HTTP tests: each starts the real server on a random port with a fresh database. The backend is
//! SQLite unless `TEST_DATABASE_URL` names a PostgreSQL server, in which case every test gets a
//! fresh database created on it (and the first test of a run drops the databases that aborted
//! runs left behind; see `support::database::leftovers::is_leftover`). Each server pools at
//! most `support::app::TEST_POOL_SIZE` connections. `.ci/run` runs this suite once per backend.
//!
//! `support/` holds what the tests share: starting a server, talking to it, its database, the
//! assertions and the people of a test. Every other module holds the tests of one concern, and
//! takes what it shares with other files from `support` only.

mod support;

mod activation_links;
mod cleanup;
mod cli;
mod connections;
mod console;
mod control_characters;
mod cors;
mod deactivate;
mod devices;
mod durability_sigkill;
mod email_keys;
mod envelope;
mod events_atomic;
mod events_written;
mod full_disk;
mod hashing;
mod health;
mod instances;
mod instances_race;
mod lifecycle_faults;
mod logs;
mod mail;
mod metrics;
mod mfa_allow_list;
mod mfa_backup_codes;
mod mfa_enrol;
mod mfa_faults;
mod mfa_hardening;
mod mfa_link_tokens;
mod mfa_login;
mod mfa_manage;
mod mfa_passkeys;
mod mfa_races;
mod official_client;
mod openapi;
mod openapi_schema_names;
mod org_users;
mod organizations;
mod overload;
mod passkey_limit;
mod passkey_sign_in;
mod password_change;
mod password_reset;
mod pre_verify;
mod profile;
mod provider_flow;
mod provider_sign_in;
mod quotas;
mod races;
mod rate_limits;
mod registration;
mod registration_policy;
mod session_limits;
mod sessions;
mod settings;
mod settings_cost;
mod settings_limits;
mod settings_race;
mod signed_in;
mod signed_in_faults;
mod start_rules;
mod stolen_database;
mod system_events_faults;
mod system_events_ops;
mod system_events_query;
mod system_events_read;
mod tokens;
mod user_roles;
mod webhook_delivery;
mod webhook_instances;
mod webhook_test_deliveries;
mod webhooks;
mod workspace_faults;
mod workspace_members;
mod workspaces_create;
mod workspaces_read;
mod workspaces_write;
