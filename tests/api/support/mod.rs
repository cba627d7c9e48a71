//! What the tests share, none of it a test of its own (but for the few unit tests of the support
//! code itself):
//!
//! - [`app`]: starting a server per test (`TestApp`), the mailer that keeps what it sends;
//! - [`client`]: requests and their [`client::Answer`]s, each checked against the OpenAPI
//!   document by [`schema`];
//! - [`database`]: the test's own connection to the server's database, fresh databases for
//!   either backend, and dropping what aborted runs left;
//! - [`assertions`], [`effects`]: whole answers, and what a request did to the database
//!   (nothing, or exactly these audit events);
//! - [`accounts`], [`cast`], [`org_cast`], [`event_cast`]: the people a test needs, and the JSON
//!   they expect to see;
//! - [`clock`], [`mfa`], [`at_once`], [`binary`], [`fake_smtp`]: time, TOTP codes, two requests
//!   at the same moment, the server as a separate process, an SMTP server.

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
pub mod mfa;
pub mod org_cast;
pub mod schema;
pub mod standalone;
