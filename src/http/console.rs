//! The web console (contract section 16): the static files of `console/`, served under
//! `/console/`, `GET /` redirecting there. The console is a client of the public API like any
//! other (its pages call the routes with the person's own token); here it is only files.
//!
//! Every build embeds the files in the binary (the default feature `embedded-console`); built
//! with `--no-default-features`, a debug build reads them from `console/` at each request, so
//! that a page can be changed without a rebuild. Every answer carries
//! the security headers of section 16; files are compressed (gzip or brotli, as the browser
//! accepts) and revalidated by `ETag` (a hash of their content) with `Cache-Control: no-cache`,
//! so a browser never runs a stale page after an upgrade and re-downloads nothing unchanged.
//! A path without a file extension is a page of the console (`/console/verify`, the e-mailed
//! links): it gets `index.html`, whose script reads the path.

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use super::bodies::errors::ErrorCode;
use super::common::error::ApiError;

#[derive(RustEmbed)]
#[folder = "console/"]
struct Files;

/// Contract section 16, byte for byte: scripts, styles, images, fonts and API calls from this
/// origin only, no inline script or style, no framing, forms only to this origin.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The console's routes, with their headers and compression; merged into the application's
/// router when the console is on.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(CompressionLayer::new());
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(|headers: HeaderMap| async move { serve("", &headers) }))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&path, &headers) }),
        )
        .layer(headers)
}

/// The file at `path` under `console/`, or `index.html` for a page (a path without extension).
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let is_page = !path.rsplit('/').next().unwrap_or("").contains('.');
    let file = match Files::get(path) {
        Some(file) if !path.is_empty() => file,
        _ if is_page => match Files::get("index.html") {
            Some(file) => file,
            None => return not_found(),
        },
        _ => return not_found(),
    };
    let hash = file.metadata.sha256_hash();
    let etag = format!("\"{}\"", hex(&hash[..16]));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| {
            given
                .split(',')
                .any(|tag| tag.trim() == etag.to_str().unwrap_or(""))
        });
    let common = [
        (ETAG, etag),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if unchanged {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::OK,
        common,
        [(CONTENT_TYPE, mime)],
        file.data.into_owned(),
    )
        .into_response()
}

fn not_found() -> Response {
    ApiError::not_found(ErrorCode::NotFound, "Route not found").into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
