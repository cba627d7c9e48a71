//! What the tests share; none of it is a test (but for the unit tests of the support code
//! itself, beside it).
//!
//! - [`app`]: starting a server per test ([`app::TestApp`]), another instance on its database,
//!   and the mailer that keeps what the server sends;
//! - [`client`]: requests and their [`client::Answer`]s, each checked against the OpenAPI
//!   document by [`schema`];
//! - [`database`]: the test's own connection to the server's database, a fresh database per test
//!   on either backend, and dropping what aborted runs left behind;
//! - [`assertions`], [`effects`]: whole answers, and what a request did to the database (nothing,
//!   or exactly these audit events);
//! - [`accounts`], [`cast`], [`org_cast`], [`event_cast`]: the people a test needs, and the JSON
//!   they expect to see;
//! - [`sessions`], [`signed_in`], [`password_reset`], [`settings`], [`mfa`], [`openapi`]: what
//!   the tests of one concern share with other files (token checks, sessions from a device, reset
//!   e-mails, the settings scopes, TOTP codes, the served document);
//! - [`clock`], [`at_once`], [`binary`], [`fake_smtp`], [`faults`], [`mock_provider`]: time, two
//!   requests at the same moment, the server as a separate process, an SMTP server, a write
//!   that fails, an OpenID Connect provider.

pub mod accounts;
pub mod app;
pub mod assertions;
pub mod at_once;
pub mod binary;
pub mod cast;
pub mod client;
pub mod clock;
pub mod database;
pub mod effects;
pub mod event_cast;
pub mod fake_smtp;
pub mod faults;
pub mod mfa;
pub mod mock_provider;
pub mod openapi;
pub mod org_cast;
pub mod passkey;
pub mod password_reset;
pub mod receiver;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod signed_in;
