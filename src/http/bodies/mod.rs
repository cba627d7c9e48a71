//! The JSON bodies several modules share, one type per body: the error envelopes and
//! `ErrorCode` (`errors`), `{"success":true}` and `{"success":true,"message":...}` (here), the
//! session bodies (`sessions`), an event (`system_events`, also written by the export), the
//! workspace role (`workspaces`); the responses many routes document alike (`responses`); the
//! one-value types (`constants`) and the schemas of shared request fields (`fields`). A body
//! that one route module alone answers is declared beside its handlers. Handlers construct
//! exactly these types and the OpenAPI document is derived from them (`body = ThatType`), so
//! what a route is documented to answer and what it answers are the same declaration.
//!
//! This module depends on nothing else in `http`: the shared helpers (`common`) and the route
//! modules (`routes`) build on it.

pub mod constants;
pub mod errors;
pub mod fields;
pub mod responses;
pub mod sessions;
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
