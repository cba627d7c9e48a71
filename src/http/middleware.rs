//! The parts of the middleware stack that are ours: CORS, the request span, and the envelopes of
//! answers the framework makes itself (panics, unknown routes, wrong methods...), since the
//! client only reads JSON error bodies.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::bodies::errors::ErrorCode;
use super::common::error::ApiError;

/// Browsers may call the API from these origins, with a bearer token (no cookies are used).
pub fn cors_layer(origins: &[String]) -> CorsLayer {
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
pub fn request_span(request: &Request<Body>) -> tracing::Span {
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

pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::InternalError,
        "Internal server error",
    )
    .into_response()
}

/// The framework answers some requests itself (unknown route, wrong method, body too large,
/// timeout) with a plain-text or empty body. The client only reads JSON error bodies, so those
/// are rewritten into our envelope; headers such as `Allow` are kept.
pub async fn envelope_framework_errors(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "Route not found"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "Request body is too large"),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::RequestTimeout, "Request timed out"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "Content-Type must be application/json",
        ),
        s if s.is_client_error() => (ErrorCode::BadRequest, "Bad request"),
        _ => (ErrorCode::InternalError, "Internal server error"),
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
