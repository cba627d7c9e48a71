//! `workspaces`: a self-hostable server for the Flashback Workspace API and the identity and
//! organization layer beneath it. The binary (`main.rs`) is a thin shell over this library, so
//! the tests start the server through the very same code path.

pub mod app;
pub mod auth;
pub mod cleanup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod export;
pub mod http;
pub mod mail;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod webhooks;
