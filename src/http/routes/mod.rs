//! The route modules, one per resource. Each has a `router()` built with utoipa-axum's
//! `routes!`, which registers every route from the `#[utoipa::path]` annotation that documents
//! it. A route module imports only the shared modules (`common`, `bodies`), never another route
//! module.

pub mod devices;
pub mod mfa;
pub mod ops;
pub mod org_users;
pub mod organizations;
pub mod password_reset;
pub mod registration;
pub mod sessions;
pub mod settings;
pub mod signed_in;
pub mod system_events;
pub mod tokens;
pub mod users;
pub mod workspace_members;
pub mod workspaces;
