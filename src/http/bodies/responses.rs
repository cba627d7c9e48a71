//! Responses that many routes document alike, for `responses(...)` of `#[utoipa::path]`, so each
//! is written once: each answers the error envelope [`ErrorResponse`], or the envelope its route
//! answers every error in. [`errors_in`] builds the ones a single route module shares among its
//! routes.

use std::collections::BTreeMap;
use std::marker::PhantomData;

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

/// Errors as `(status, description)`, each answered in the envelope `E`.
pub fn errors_in<E: ToSchema>(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    let name = E::name();
    list.iter()
        .map(|&(status, description)| {
            let response = error_response_in(description, &name).build();
            (status.to_owned(), RefOr::T(response))
        })
        .collect()
}

/// 401 for a missing, malformed, expired, tampered or revoked bearer token, in `E`, the envelope
/// of the route's other errors.
pub struct Unauthorized<E = ErrorResponse>(PhantomData<E>);

impl IntoResponses for Unauthorized<ErrorResponse> {
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

/// The routes whose errors carry the documented `error` text (MFA, sessions and devices)
/// document their 401 by its text alone.
impl IntoResponses for Unauthorized<ErrorWithText> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors_in::<ErrorWithText>(&[("401", "Unauthorized")])
    }
}

/// 413 and 415: what a JSON body can be refused for before its fields are read, in `E`, the
/// envelope of the route's other errors.
pub struct BodyRejected<E = ErrorResponse>(PhantomData<E>);

impl<E: ToSchema> IntoResponses for BodyRejected<E> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors_in::<E>(&[
            ("413", "Request body over 64 KiB"),
            ("415", "A non-empty body whose Content-Type is not JSON"),
        ])
    }
}

/// What a route that takes a credential in its body (a token, an e-mail) refuses besides its own
/// errors: [`BodyRejected`] and [`RateLimited`].
pub struct CredentialBodyRejected;

impl IntoResponses for CredentialBodyRejected {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut all = BodyRejected::<ErrorResponse>::responses();
        all.extend(RateLimited::responses());
        all
    }
}

/// What a route that hashes a password from its body refuses besides its own errors:
/// [`CredentialBodyRejected`] and [`HashingBusy`].
pub struct PasswordBodyRejected;

impl IntoResponses for PasswordBodyRejected {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut all = CredentialBodyRejected::responses();
        all.extend(HashingBusy::responses());
        all
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
