//! JSON answers serialized once into a buffer of about the right size.
//!
//! `axum::Json` starts from a 128-byte buffer and doubles it; a listing answer of tens of
//! kilobytes is then copied about ten times on the way. A size hint avoids that.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;

/// `body` as a 200 `application/json` answer, written into a buffer of `size_hint` bytes.
pub struct SizedJson<T> {
    pub body: T,
    pub size_hint: usize,
}

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut bytes = Vec::with_capacity(self.size_hint);
        if let Err(error) = serde_json::to_writer(&mut bytes, &self.body) {
            return ApiError::internal("Internal server error", error).into_response();
        }
        let mut response = Response::new(Body::from(bytes));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}
