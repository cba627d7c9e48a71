//! The JSON bodies the API answers with, one type per body. Handlers construct exactly these
//! types and the OpenAPI document is derived from them (`body = ThatType`), so what a route is
//! documented to answer and what it answers are the same declaration.
//!
//! This module depends on nothing else in `http`: the shared helpers (`common`) and the route
//! modules (`routes`) build on it.

pub mod constants;
pub mod devices;
pub mod errors;
pub mod fields;
pub mod identity;
pub mod mfa;
pub mod organization;
pub mod responses;
pub mod settings;
pub mod signed_in;
pub mod system_events;
pub mod workspaces;

use serde::Serialize;
use utoipa::ToSchema;

use constants::SuccessTrue;

/// `{"success":true}`.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SuccessResponse {
    success: SuccessTrue,
}

/// `{"success":true,"message":...}`; each route documents its message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    success: SuccessTrue,
    message: &'static str,
}

impl MessageResponse {
    pub fn new(message: &'static str) -> Self {
        MessageResponse {
            success: SuccessTrue,
            message,
        }
    }
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    success: SuccessTrue,
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

impl HealthResponse {
    pub const OK: HealthResponse = HealthResponse {
        success: SuccessTrue,
        status: "ok",
    };
}

/// `GET /ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyResponse {
    success: SuccessTrue,
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// The database backend: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    database: &'static str,
}

impl ReadyResponse {
    pub fn new(database: &'static str) -> Self {
        ReadyResponse {
            success: SuccessTrue,
            status: "ready",
            database,
        }
    }
}
