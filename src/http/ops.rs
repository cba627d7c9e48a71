//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use super::metrics;
use super::openapi::{ErrorResponse, HealthResponse, ReadyResponse};
use super::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics::render))
}

/// The process is up and serving HTTP.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = HealthResponse))
)]
async fn health() -> Json<Value> {
    Json(json!({ "success": true, "status": "ok" }))
}

/// The database answers: safe to route traffic here. 503 otherwise, so a load balancer skips us.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = ReadyResponse),
        (status = 503, description = "Database unavailable", body = ErrorResponse),
    )
)]
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "readiness check failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "DATABASE_UNAVAILABLE",
            "Database unavailable",
        )
    })?;
    Ok(Json(
        json!({ "success": true, "status": "ready", "database": state.store.backend() }),
    ))
}
