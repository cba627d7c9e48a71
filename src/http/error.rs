//! `ApiError`: the one place a failure becomes a status code and our JSON envelope
//! `{"success":false,"message":...,"error_code":...}`.

use std::borrow::Cow;
use std::fmt::Display;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
    pub code: &'static str,
    /// Fields some documented routes add to their errors, e.g. `"data": null` (contract section 5).
    pub extra: Vec<(&'static str, Value)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError {
            status,
            message: message.into(),
            code,
            extra: Vec::new(),
        }
    }

    /// Adds a field to the error body, for routes whose documented errors carry more than the
    /// envelope (`"data": null`, `"total": 0`).
    pub fn with_field(mut self, key: &'static str, value: Value) -> Self {
        self.extra.push((key, value));
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// Missing, malformed, expired, tampered or revoked bearer token (contract section 1).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized")
    }

    /// The caller is deleted or has not verified their e-mail: every write refuses them.
    pub fn not_validated() -> Self {
        Self::bad_request(
            "USER_NOT_VALIDATED",
            "User not found or account is not validated",
        )
    }

    pub fn missing_field(field: &str) -> Self {
        Self::bad_request("MISSING_FIELD", format!("Missing required field: {field}"))
    }

    /// A failure the client cannot fix. The cause is logged (inside the request's span, so with
    /// its request id); the client sees only the route's documented message.
    pub fn internal(public_message: &'static str, cause: impl Display) -> Self {
        tracing::error!(error = %cause, "{public_message}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            public_message,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body =
            json!({ "success": false, "message": self.message, "error_code": self.code });
        for (key, value) in self.extra {
            body[key] = value;
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `result.or_500("Failed to create workspace")?`: any error becomes that route's documented 500.
pub trait OrInternal<T> {
    fn or_500(self, public_message: &'static str) -> Result<T, ApiError>;
}

impl<T, E: Display> OrInternal<T> for Result<T, E> {
    fn or_500(self, public_message: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| ApiError::internal(public_message, error))
    }
}
