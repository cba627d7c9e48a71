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
/// Fails on the first entry that is not an origin (see [`cors_origin`]).
pub fn cors_layer(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = origins
        .iter()
        .map(|origin| cors_origin(origin))
        .collect::<anyhow::Result<Vec<HeaderValue>>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::HeaderName::from_static(REQUEST_ID),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600)))
}

/// One configured origin, as browsers send it in `Origin`: `scheme://host[:port]`, nothing
/// else. `*` is refused (tower-http cannot list it beside others and panics; and every site
/// could then call the API), and so is `null`, the origin of sandboxed frames, `file:` pages
/// and some redirects: allowing it allows any page that can make itself one. An entry with a
/// path, a trailing slash or upper case would never match and is refused rather than ignored.
fn cors_origin(origin: &str) -> anyhow::Result<HeaderValue> {
    let origin = origin.trim();
    match origin {
        "*" => anyhow::bail!(
            "--cors-origin '*' is not allowed: list each origin that may call the API \
             (e.g. --cors-origin https://app.example.com)"
        ),
        "null" => anyhow::bail!(
            "--cors-origin 'null' is not allowed: sandboxed frames and file: pages send it, so \
             allowing it lets any page in; list each origin (e.g. https://app.example.com)"
        ),
        _ => {}
    }
    let serialized = url::Url::parse(origin)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|url| url.origin().ascii_serialization());
    match serialized {
        Some(expected) if expected == origin => Ok(HeaderValue::from_str(origin)?),
        Some(expected) => anyhow::bail!(
            "--cors-origin '{origin}' is not an origin as browsers send it; did you mean \
             '{expected}'?"
        ),
        None => anyhow::bail!(
            "--cors-origin '{origin}' is not an origin: expected http(s)://host[:port], \
             e.g. https://app.example.com"
        ),
    }
}

/// The request-id header, as the request-id layers name it.
const REQUEST_ID: &str = "x-request-id";
/// Longer than any id generator we know of (a UUID takes 36), short enough for a log line.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Keeps a client's `x-request-id` only when it is one short token of safe characters
/// (letters, digits, `-`, `_`, `.`); otherwise removes it, so the request gets a fresh id. The
/// id is written into every log line of the request: spaces, `=` or quotes in it could forge
/// fields (`request_id=fake id=1 status=200 user=admin`), and its length would be the client's.
pub async fn drop_unsafe_request_id(mut request: Request<Body>) -> Request<Body> {
    let ids = request.headers().get_all(REQUEST_ID);
    let mut ids = ids.iter();
    let safe = match (ids.next(), ids.next()) {
        (None, _) => return request,
        (Some(id), None) => is_safe_request_id(id.as_bytes()),
        // Which of several would each layer pick? Take none.
        (Some(_), Some(_)) => false,
    };
    if !safe {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// One span per request, carrying its id, so every log line of the request can be traced.
pub fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
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

#[cfg(test)]
mod tests {
    use super::is_safe_request_id;

    #[test]
    fn a_request_id_is_kept_only_when_short_and_plain() {
        for kept in [
            "abc-123",
            "0192f0c4-6e4b-7c1a-9d1e-3b8f2a6c5d4e",
            "a.b_c",
            &"x".repeat(64),
        ] {
            assert!(is_safe_request_id(kept.as_bytes()), "{kept}");
        }
        for refused in [
            "",
            "fake id=1 status=200",
            "a\"b",
            "é",
            "a/b",
            &"x".repeat(65),
        ] {
            assert!(!is_safe_request_id(refused.as_bytes()), "{refused}");
        }
    }
}
