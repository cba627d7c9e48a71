//! `ApiError`: the one place a failure becomes a status code and our JSON envelope
//! (`bodies::errors`). A route whose documented errors carry more than the envelope answers
//! through [`ShapedError`], so its handler still just uses `?`.

use std::borrow::Cow;
use std::fmt::Display;
use std::marker::PhantomData;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::http::bodies::errors::{ErrorCode, ErrorResponse};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 `RATE_LIMITED`, with `Retry-After` in whole seconds, rounded up, at least 1.
    pub fn rate_limited(wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            retry_after: Some(seconds.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "Too many requests, try again later",
            )
        }
    }

    /// 429 `MFA_LOCKED` "Too many failed attempts" with `Retry-After`: too many wrong second
    /// factors for this user (contract section 8).
    pub fn mfa_locked(wait: Duration) -> Self {
        ApiError {
            code: ErrorCode::MfaLocked,
            message: "Too many failed attempts".into(),
            ..Self::rate_limited(wait)
        }
    }

    /// 503 `OVERLOADED` with `Retry-After: 1`: the server is at capacity (requests in flight, or
    /// the password hashing queue) and refuses at once rather than queueing, so a load balancer
    /// or the client can retry.
    pub fn overloaded() -> Self {
        ApiError {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Overloaded,
                "Server is busy, try again shortly",
            )
        }
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 403 `INSUFFICIENT_PERMISSIONS` with the route's documented message.
    pub fn insufficient_permissions(message: &'static str) -> Self {
        Self::forbidden(ErrorCode::InsufficientPermissions, message)
    }

    /// Missing, malformed, expired, tampered or revoked bearer token (contract section 1).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "Unauthorized",
        )
    }

    /// The caller's session has not passed its second factor (a pending session outside its
    /// allow-list, or a password-only session changing MFA): contract section 8.
    pub fn mfa_required() -> Self {
        Self::forbidden(ErrorCode::MfaRequired, "MFA verification required")
    }

    /// The caller is deleted or has not verified their e-mail: every write refuses them.
    pub fn not_validated() -> Self {
        Self::bad_request(
            ErrorCode::UserNotValidated,
            "User not found or account is not validated",
        )
    }

    pub fn missing_field(field: &str) -> Self {
        Self::bad_request(
            ErrorCode::MissingField,
            format!("Missing required field: {field}"),
        )
    }

    pub fn invalid_field(message: impl Into<Cow<'static, str>>) -> Self {
        Self::bad_request(ErrorCode::InvalidField, message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            "Request body is too large",
        )
    }

    /// A failure the client cannot fix. The cause is logged (inside the request's span, so with
    /// its request id); the client sees only the route's documented message.
    pub fn internal(public_message: &'static str, cause: impl Display) -> Self {
        tracing::error!(error = %cause, "{public_message}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            public_message,
        )
    }

    /// The answer, with the envelope `B` (the plain one or one with a route's extras).
    fn respond<B: From<ErrorResponse> + Serialize>(self) -> Response {
        let body = B::from(ErrorResponse::new(self.code, self.message));
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.respond::<ErrorResponse>()
    }
}

/// An [`ApiError`] answered in the envelope `B`, for the routes whose documented errors carry
/// extra fields (`ErrorWithNullData`...): such a handler returns `Result<_, ShapedError<B>>`
/// and every `?` on an `ApiError` converts.
#[derive(Debug)]
pub struct ShapedError<B>(ApiError, PhantomData<fn() -> B>);

impl<B> From<ApiError> for ShapedError<B> {
    fn from(error: ApiError) -> Self {
        ShapedError(error, PhantomData)
    }
}

impl<B: From<ErrorResponse> + Serialize> IntoResponse for ShapedError<B> {
    fn into_response(self) -> Response {
        self.0.respond::<B>()
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
