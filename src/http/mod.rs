//! The HTTP surface: shared state, the router, and the middleware every request passes through.

mod error;
mod extract;
mod json;
mod limits;
mod metrics;
mod openapi;
mod ops;
mod org_users;
mod organizations;
mod password_reset;
mod registration;
mod session_tokens;
mod sessions;
mod tokens;
mod users;
mod workspace_members;
mod workspaces;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;
pub use limits::{RateLimitConfig, RateLimits};
pub use metrics::Metrics;

use crate::auth::{JwtKeys, PasswordHasher};
use crate::config::Config;
use crate::mail::Mailer;
use crate::store::SharedStore;

/// Request bodies above this size are refused with 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a handler may need, cloned cheaply into each request.
#[derive(Clone)]
pub struct AppState {
    pub store: SharedStore,
    pub keys: JwtKeys,
    pub hasher: PasswordHasher,
    pub mailer: Arc<dyn Mailer>,
    /// Base URL of the web app, for links in e-mails.
    pub public_url: Option<Arc<str>>,
    pub metrics: Arc<Metrics>,
}

/// The application: every route, behind the middleware stack (outermost first): request id,
/// tracing, CORS, metrics, panic and framework-error envelopes, load shedding, timeout, rate
/// limits, body limit. `GET /openapi.json` serves the OpenAPI document built with the routes.
pub fn router(state: AppState, config: &Config) -> Router {
    let cors = (!config.cors_origins.is_empty()).then(|| cors_layer(&config.cors_origins));
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .option_layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::map_response(envelope_framework_errors))
        .layer(HandleErrorLayer::new(limits::overloaded))
        .layer(LoadShedLayer::new())
        // Global: one semaphore shared by every route, unlike ConcurrencyLimitLayer.
        .layer(GlobalConcurrencyLimitLayer::new(
            config.max_concurrent_requests,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            RateLimits::new(config.rate_limits),
            limits::rate_limit,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let (routes, document) = documented_routes().split_for_parts();
    // The one route not registered by `routes!`: it serves the document it is part of (its
    // operation comes from `openapi::ApiDoc`).
    let document = get(openapi::openapi_json).with_state(openapi::render(document));
    routes
        .route("/openapi.json", document)
        .layer(middleware)
        .with_state(state)
}

/// Every route, each registered from the `#[utoipa::path]` annotation that documents it
/// (utoipa-axum's `routes!`), so the router and the OpenAPI document cannot drift apart.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(ops::router())
        .merge(organizations::router())
        .merge(org_users::router())
        .merge(password_reset::router())
        .merge(registration::router())
        .merge(sessions::router())
        .merge(tokens::router())
        .merge(users::router())
        .merge(workspaces::router())
        .merge(workspace_members::router())
}

/// Browsers may call the API from these origins, with a bearer token (no cookies are used).
fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600))
}

/// One span per request, carrying its id, so every log line of the request can be traced.
fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        "Internal server error",
    )
    .into_response()
}

/// The framework answers some requests itself (unknown route, wrong method, body too large,
/// timeout) with a plain-text or empty body. The client only reads JSON error bodies, so those
/// are rewritten into our envelope; headers such as `Allow` are kept.
async fn envelope_framework_errors(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("NOT_FOUND", "Route not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("METHOD_NOT_ALLOWED", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "Request body is too large"),
        StatusCode::REQUEST_TIMEOUT => ("REQUEST_TIMEOUT", "Request timed out"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type must be application/json",
        ),
        s if s.is_client_error() => ("BAD_REQUEST", "Bad request"),
        _ => ("INTERNAL_ERROR", "Internal server error"),
    };
    let (mut parts, _) = response.into_parts();
    let mut rewritten = ApiError::new(status, code, message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in parts.headers.iter() {
        rewritten.headers_mut().insert(name.clone(), value.clone());
    }
    rewritten
}
