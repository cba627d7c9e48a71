//! Responses that many routes document alike, for `responses(...)` of `#[utoipa::path]`: each
//! answers the error envelope [`ErrorResponse`].

use std::collections::BTreeMap;

use utoipa::openapi::header::Header;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, ToSchema};

use super::errors::{ErrorResponse, ErrorWithText};

fn error_response(description: &str) -> ResponseBuilder {
    error_response_in(description, &ErrorResponse::name())
}

/// An error answered in the envelope named `schema`.
fn error_response_in(description: &str, schema: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build(),
    )
}

fn string_header(description: &str) -> Header {
    let mut header = Header::new(ObjectBuilder::new().schema_type(Type::String));
    header.description = Some(description.to_owned());
    header
}

fn responses<const N: usize>(
    list: [(&str, ResponseBuilder); N],
) -> BTreeMap<String, RefOr<Response>> {
    list.into_iter()
        .map(|(status, response)| (status.to_owned(), RefOr::T(response.build())))
        .collect()
}

/// 401 for a missing, malformed, expired, tampered or revoked bearer token.
pub struct Unauthorized;

impl IntoResponses for Unauthorized {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([(
            "401",
            error_response(
                "Missing, malformed, expired, tampered or revoked bearer token (`Unauthorized`)",
            )
            .header("WWW-Authenticate", string_header("Always `Bearer`")),
        )])
    }
}

/// 413 and 415: what a JSON body can be refused for before its fields are read.
pub struct BodyRejected;

impl IntoResponses for BodyRejected {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([
            ("413", error_response("Request body over 64 KiB")),
            (
                "415",
                error_response("A non-empty body whose Content-Type is not JSON"),
            ),
        ])
    }
}

/// [`BodyRejected`] for the routes whose errors carry the documented `error` text (MFA, sessions
/// and devices): the same 413 and 415 in [`ErrorWithText`].
pub struct BodyRejectedWithText;

impl IntoResponses for BodyRejectedWithText {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let name = ErrorWithText::name();
        responses([
            ("413", error_response_in("Request body over 64 KiB", &name)),
            (
                "415",
                error_response_in("A non-empty body whose Content-Type is not JSON", &name),
            ),
        ])
    }
}

/// 429 on the credential routes (login, register, verification, refresh, password reset) and
/// on the signed-in requests that hash a password.
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([(
            "429",
            error_response(
                "Too many attempts from this address, for this account, or by this user",
            )
            .header("Retry-After", string_header("Seconds to wait")),
        )])
    }
}

/// 503 on the routes that hash a password, when the hashing queue is full.
pub struct HashingBusy;

impl IntoResponses for HashingBusy {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([(
            "503",
            error_response("`OVERLOADED`: the password hashing queue is full")
                .header("Retry-After", string_header("Seconds to wait")),
        )])
    }
}

/// 500: the route's documented failure message; details go to the log only.
pub struct InternalError;

impl IntoResponses for InternalError {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([("500", error_response("Internal failure"))])
    }
}
