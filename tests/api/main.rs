//! HTTP tests: each starts the real server on a random port with a fresh database. The backend is
//! SQLite unless `TEST_DATABASE_URL` names a PostgreSQL server, in which case every test gets a
//! fresh database created on it (and the first test of a run drops the databases that aborted
//! runs left behind; see `helpers::is_leftover`). Each server pools at most
//! `helpers::TEST_POOL_SIZE` connections. `.ci/run` runs this suite once per backend.

mod at_once;
mod binary;
mod cast;
mod helpers;
mod org_cast;
mod standalone;
mod start_rules;

mod cleanup;
mod cli;
mod connections;
mod devices;
mod durability_sigkill;
mod email_keys;
mod envelope;
mod event_cast;
mod events_written;
mod fake_smtp;
mod hashing;
mod instances;
mod instances_race;
mod logs;
mod mail;
mod metrics;
mod mfa_allow_list;
mod mfa_backup_codes;
mod mfa_enrol;
mod mfa_faults;
mod mfa_hardening;
mod mfa_login;
mod mfa_manage;
mod mfa_support;
mod openapi;
mod operations;
mod ops;
mod org_users;
mod organizations;
mod password_change;
mod password_reset;
mod profile;
mod races;
mod rate_limits;
mod registration;
mod schema;
mod session_limits;
mod sessions;
mod settings;
mod settings_cost;
mod settings_limits;
mod settings_race;
mod signed_in;
mod stolen_database;
mod system_events_ops;
mod system_events_query;
mod system_events_read;
mod tokens;
mod user_roles;
mod workspace_faults;
mod workspace_members;
mod workspaces_create;
mod workspaces_read;
mod workspaces_write;
