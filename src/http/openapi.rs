//! The OpenAPI 3.1 document, `GET /openapi.json`.
//!
//! Every route is registered from its handler's `#[utoipa::path]` annotation (utoipa-axum's
//! `routes!` in each route module's `router()`), and every body it names is the type the handler
//! returns, so the document, the router and the wire are built from the same source. This
//! module holds only the document's root (security scheme, tags) and the handler that serves it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::bodies::errors::ErrorResponse;

/// The security scheme protected routes name.
pub const BEARER_AUTH: &str = "bearerAuth";

/// The document's root. The paths come from the routers (`OpenApiRouter`), plus this document's
/// own route, which `http::router` adds once the document is complete.
#[derive(OpenApi)]
#[openapi(
    paths(openapi_json),
    components(schemas(ErrorResponse)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Probes, metrics and this document"),
        (name = "identity", description = "Registration, e-mail verification, sessions, tokens, \
            password reset, users"),
        (name = "organization", description = "The caller's organization and its users"),
        (name = "workspaces", description = "Workspaces and their members"),
        (name = "events", description = "The audit trail: system events"),
        (name = "mfa", description = "Multi-factor authentication: TOTP, backup codes, magic \
            links, enforcement"),
        (name = "settings", description = "Settings objects of the caller and of their organization"),
        (name = "sessions", description = "Where the caller is signed in, and ending it"),
        (name = "devices", description = "The devices the caller signed in from"),
        (name = "activation links", description = "Invitations to register a new organization, \
            managed by the instance administrators"),
        (name = "webhooks", description = "The organization's audit trail delivered to other \
            systems: webhooks, their deliveries and secrets"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearerAuth` scheme: the access token (a JWT) from login, register or refresh.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_AUTH,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `accessToken` of login, register or refresh (valid 1 hour)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Request bodies that need at least one field. (utoipa-gen 5.5 writes the container attribute
/// `min_properties` as `maxProperties`, so it is set here.)
const AT_LEAST_ONE_FIELD: [&str; 3] = ["OrganizationUpdate", "UpdateUserBody", "UpdateOrgUserBody"];

/// The protected routes a session pending its second factor may call (contract section 8), as
/// (method, path): they take `extract::AnySession`, so they never answer `MFA_REQUIRED`. Every
/// other protected route does (`document_mfa_required`). `POST /mfa/setup` and
/// `/mfa/verify-setup` are not here: they let a pending session through only while its user has
/// no method enabled.
pub const PENDING_SESSION_ROUTES: [(&str, &str); 5] = [
    ("get", "/user/profile"),
    ("get", "/mfa/status"),
    ("get", "/mfa/methods"),
    ("post", "/mfa/magic-link/send"),
    ("post", "/mfa/verify-login"),
];

/// The finished document, with what the derive cannot say.
pub fn finish(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    if let Some(components) = document.components.as_mut() {
        for name in AT_LEAST_ONE_FIELD {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.min_properties = Some(1);
            }
        }
    }
    document_mfa_required(&mut document);
    document
}

/// Adds the 403 `MFA_REQUIRED` that every protected route but [`PENDING_SESSION_ROUTES`]
/// answers a pending session: written once here rather than on each route, so that a new route
/// is documented with it (the allow-list test probes every route of the document). It comes in
/// the envelope of the route's 401, since the same extraction of the caller answers both.
fn document_mfa_required(document: &mut utoipa::openapi::OpenApi) {
    const WHY: &str = "`MFA_REQUIRED` (MFA verification required): the session waits for its \
                       second factor (`POST /mfa/verify-login`)";
    let plain = || RefOr::Ref(Ref::from_schema_name("ErrorResponse"));
    for (path, item) in document.paths.paths.iter_mut() {
        let operations: [(&str, &mut Option<Operation>); 4] = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            if operation.security.is_none() || PENDING_SESSION_ROUTES.contains(&(method, path)) {
                continue;
            }
            let responses = &mut operation.responses.responses;
            let of_401 = match responses.get("401") {
                Some(RefOr::T(unauthorized)) => unauthorized
                    .content
                    .get("application/json")
                    .and_then(|content| content.schema.clone()),
                _ => None,
            };
            let envelope = || of_401.clone().unwrap_or_else(plain);
            match responses.get_mut("403") {
                Some(RefOr::T(forbidden)) => {
                    forbidden.description = format!("{}; or {WHY}", forbidden.description);
                    for content in forbidden.content.values_mut() {
                        if let Some(documented) = content.schema.take() {
                            let either = AnyOfBuilder::new().item(documented).item(envelope());
                            content.schema = Some(RefOr::T(Schema::AnyOf(either.build())));
                        }
                    }
                }
                _ => {
                    let content = ContentBuilder::new().schema(Some(envelope())).build();
                    let forbidden = ResponseBuilder::new()
                        .description(WHY)
                        .content("application/json", content)
                        .build();
                    responses.insert("403".to_owned(), RefOr::T(forbidden));
                }
            }
        }
    }
}

/// The document, serialized once when the router is built.
pub fn render(document: &utoipa::openapi::OpenApi) -> Bytes {
    Bytes::from(serde_json::to_vec(document).unwrap_or_else(|_| b"{}".to_vec()))
}

/// This OpenAPI 3.1 document, generated from the code.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = serde_json::Value))
)]
pub async fn openapi_json(State(document): State<Bytes>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document).into_response()
}
