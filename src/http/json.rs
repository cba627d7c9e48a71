//! JSON answers serialized once into a buffer of about the right size.
//!
//! `axum::Json` starts from a 128-byte buffer and doubles it; a listing answer of tens of
//! kilobytes is then copied about ten times on the way. A size hint avoids that.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;

/// `value` as an `application/json` answer with `status`; `size_hint` is the expected length.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T, size_hint: usize) -> Response {
    let mut body = Vec::with_capacity(size_hint);
    if let Err(error) = serde_json::to_writer(&mut body, value) {
        return ApiError::internal("Internal server error", error).into_response();
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
