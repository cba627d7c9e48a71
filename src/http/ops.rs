//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(super::metrics::render))
}

/// The process is up and serving HTTP.
async fn health() -> Json<Value> {
    Json(json!({ "success": true, "status": "ok" }))
}

/// The database answers: safe to route traffic here. 503 otherwise, so a load balancer skips us.
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
