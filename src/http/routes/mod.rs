//! The route modules, each named after the URL prefix it serves; its first doc line names the
//! URLs. Each has a `router()` built with utoipa-axum's `routes!`, which registers every route
//! from the `#[utoipa::path]` annotation that documents it. A route module imports only the
//! shared modules (`common`, `bodies`) and, in a folder, its parent, never another route
//! module. Two modules may serve one path with different methods: the routers merge them.

pub mod auth;
pub mod auth_flow;
pub mod auth_passkey;
pub mod devices;
pub mod links;
pub mod login;
pub mod mfa;
pub mod ops;
pub mod organization_users;
pub mod organizations;
pub mod password_reset;
pub mod quota;
pub mod registration;
pub mod sessions;
pub mod settings;
pub mod system_events;
pub mod users;
pub mod webhooks;
pub mod workspace_listing;
pub mod workspace_users;
pub mod workspaces;
