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
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
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
        (name = "sessions", description = "Where the caller is signed in, and ending it"),
        (name = "devices", description = "The devices the caller signed in from"),
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

/// The finished document, with what the derive cannot say.
pub fn finish(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    if let Some(components) = document.components.as_mut() {
        for name in AT_LEAST_ONE_FIELD {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.min_properties = Some(1);
            }
        }
    }
    document
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
