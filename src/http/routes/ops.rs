//! Operations: `GET /health` and `GET /ready` (liveness and readiness probes) and `GET /metrics`
//! (Prometheus, on the public listener or on its own with `--metrics-listen`).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::InternalError;
use crate::http::common::error::ApiError;
use crate::http::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// `GET /metrics`, apart: it is served either with the other routes or on a listener of its own.
pub fn metrics_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
struct HealthResponse {
    success: SuccessTrue,
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

impl HealthResponse {
    const OK: HealthResponse = HealthResponse {
        success: SuccessTrue,
        status: "ok",
    };
}

/// The process is up and serving HTTP.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = HealthResponse))
)]
async fn health() -> Json<HealthResponse> {
    Json(HealthResponse::OK)
}

/// `GET /ready`.
#[derive(Debug, Serialize, ToSchema)]
struct ReadyResponse {
    success: SuccessTrue,
    /// Always `ready`.
    #[schema(example = "ready")]
    status: &'static str,
    /// The database backend: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    database: &'static str,
}

impl ReadyResponse {
    fn new(database: &'static str) -> Self {
        ReadyResponse {
            success: SuccessTrue,
            status: "ready",
            database,
        }
    }
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
async fn ready(State(state): State<AppState>) -> Result<Json<ReadyResponse>, ApiError> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "readiness check failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::DatabaseUnavailable,
            "Database unavailable",
        )
    })?;
    Ok(Json(ReadyResponse::new(state.store.backend())))
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (
            status = 200,
            description = "Requests by method, route and status, their latency, database pool \
                use, logins",
            content_type = "application/openmetrics-text",
            body = String,
        ),
        (
            status = 404,
            description = "Not on this listener: the server was started with --metrics-listen, \
                which serves the metrics on an address of their own",
            body = ErrorResponse,
        ),
        InternalError,
    )
)]
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state
        .metrics
        .encode(&state.store)
        .map_err(|error| ApiError::internal("Failed to render metrics", error))?;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}
