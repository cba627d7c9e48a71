//! The OpenAPI 3.1 document, `GET /openapi.json`.
//!
//! Every route is registered from its handler's `#[utoipa::path]` annotation (utoipa-axum's
//! `routes!` in each module's `router()`), so the document and the router are built from the same
//! source and cannot drift. This module holds the document's root (security scheme, tags), the
//! handler that serves it, the responses many routes share, and the schemas of answers that the
//! handlers build with `json!` (doc-only types: they describe bodies, nothing constructs them).

// The schema types below only describe JSON bodies; nothing constructs them.
#![allow(dead_code)]

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::header::Header;
use utoipa::openapi::response::{Response as ResponseDoc, ResponseBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};
use uuid::Uuid;

use super::session_tokens::{IssuedTokens, UserSummary};
use super::tokens::TokenJson;
use super::workspaces::WorkspaceJson;

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

/// The document, serialized once when the router is built.
pub fn render(mut document: utoipa::openapi::OpenApi) -> Bytes {
    if let Some(components) = document.components.as_mut() {
        for name in AT_LEAST_ONE_FIELD {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.min_properties = Some(1);
            }
        }
    }
    Bytes::from(serde_json::to_vec(&document).unwrap_or_else(|_| b"{}".to_vec()))
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

// ---------------------------------------------------------------------------------------------
// Shared responses

fn error_content(description: &str, schema: &str) -> ResponseBuilder {
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

fn responses(list: Vec<(&str, ResponseDoc)>) -> BTreeMap<String, RefOr<ResponseDoc>> {
    list.into_iter()
        .map(|(status, response)| (status.to_owned(), RefOr::T(response)))
        .collect()
}

/// 401 for a missing, malformed, expired, tampered or revoked bearer token.
pub struct Unauthorized;

impl IntoResponses for Unauthorized {
    fn responses() -> BTreeMap<String, RefOr<ResponseDoc>> {
        let response = error_content(
            "Missing, malformed, expired, tampered or revoked bearer token (`Unauthorized`)",
            "ErrorResponse",
        )
        .header("WWW-Authenticate", string_header("Always `Bearer`"))
        .build();
        responses(vec![("401", response)])
    }
}

/// 413 and 415: what a JSON body can be refused for before its fields are read.
pub struct BodyRejected;

impl IntoResponses for BodyRejected {
    fn responses() -> BTreeMap<String, RefOr<ResponseDoc>> {
        responses(vec![
            (
                "413",
                error_content("Request body over 64 KiB", "ErrorResponse").build(),
            ),
            (
                "415",
                error_content(
                    "A non-empty body whose Content-Type is not JSON",
                    "ErrorResponse",
                )
                .build(),
            ),
        ])
    }
}

/// 429 on the credential routes (login, register, verification, refresh, password reset).
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<ResponseDoc>> {
        let response = error_content(
            "Too many attempts from this address or for this account",
            "ErrorResponse",
        )
        .header("Retry-After", string_header("Seconds to wait"))
        .build();
        responses(vec![("429", response)])
    }
}

/// 500: the route's documented failure message; details go to the log only.
pub struct InternalError;

impl IntoResponses for InternalError {
    fn responses() -> BTreeMap<String, RefOr<ResponseDoc>> {
        responses(vec![(
            "500",
            error_content("Internal failure", "ErrorResponse").build(),
        )])
    }
}

// ---------------------------------------------------------------------------------------------
// Field schemas

fn constant(value: serde_json::Value, schema_type: Type) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some([value]))
}

/// `"success": true`.
fn success_true() -> impl Into<RefOr<Schema>> {
    constant(serde_json::Value::Bool(true), Type::Boolean)
}

/// `"success": false`.
fn success_false() -> impl Into<RefOr<Schema>> {
    constant(serde_json::Value::Bool(false), Type::Boolean)
}

/// `"data": null`.
fn null() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// `"data": {}`.
fn empty_object() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(0))
}

/// `"data": []`.
fn empty_array() -> impl Into<RefOr<Schema>> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new())
        .max_items(Some(0))
}

/// An `orgRole` a request may name: 0 USER, 1 BILLING, 2 WORKSPACES, 254 ADMINISTRATORS,
/// 255 OWNER (3..=253 are reserved and refused).
pub fn org_role_value() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some([0, 1, 2, 254, 255]))
}

/// An optional `orgRole` (`null` is the same as absent).
pub fn optional_org_role_value() -> impl Into<RefOr<Schema>> {
    let values: [serde_json::Value; 6] = [
        0.into(),
        1.into(),
        2.into(),
        254.into(),
        255.into(),
        serde_json::Value::Null,
    ];
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .enum_values(Some(values))
}

/// `"total": 0`.
fn zero() -> impl Into<RefOr<Schema>> {
    constant(serde_json::Value::from(0), Type::Integer)
}

// ---------------------------------------------------------------------------------------------
// Envelopes

/// Every error: `{"success":false,"message":...,"error_code":...}`.
#[derive(ToSchema)]
pub struct ErrorResponse {
    #[schema(schema_with = success_false)]
    success: bool,
    /// The documented human-readable message.
    message: String,
    /// Stable machine code, UPPER_SNAKE (e.g. `WORKSPACE_NAME_TAKEN`).
    error_code: String,
}

/// The errors of `GET/PUT /organization/{org_id}`: the envelope plus `"data": null`.
#[derive(ToSchema)]
pub struct ErrorWithNullData {
    #[schema(schema_with = success_false)]
    success: bool,
    message: String,
    error_code: String,
    #[schema(schema_with = null)]
    data: serde_json::Value,
}

/// The errors of `PUT /organization/users/{user_id}`: the envelope plus `"data": {}`.
#[derive(ToSchema)]
pub struct ErrorWithEmptyData {
    #[schema(schema_with = success_false)]
    success: bool,
    message: String,
    error_code: String,
    #[schema(schema_with = empty_object)]
    data: serde_json::Value,
}

/// The errors of `GET /organization/users`: the envelope plus `"data": [], "total": 0`.
#[derive(ToSchema)]
pub struct ErrorWithEmptyList {
    #[schema(schema_with = success_false)]
    success: bool,
    message: String,
    error_code: String,
    #[schema(schema_with = empty_array)]
    data: serde_json::Value,
    #[schema(schema_with = zero)]
    total: serde_json::Value,
}

/// `{"success":true}`.
#[derive(ToSchema)]
pub struct SuccessResponse {
    #[schema(schema_with = success_true)]
    success: bool,
}

/// `{"success":true,"message":...}`.
#[derive(ToSchema)]
pub struct MessageResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    message: String,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// `GET /health`.
#[derive(ToSchema)]
pub struct HealthResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    /// Always `ok`.
    #[schema(example = "ok")]
    status: String,
}

/// `GET /ready`.
#[derive(ToSchema)]
pub struct ReadyResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    /// Always `ready`.
    #[schema(example = "ready")]
    status: String,
    /// The database backend: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    database: String,
}

// ---------------------------------------------------------------------------------------------
// Identity

/// `POST /user/register`, 201.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    #[serde(flatten)]
    tokens: IssuedTokens,
    /// Id of the verification e-mail's token, for `POST /user/resend-verification/{id}`.
    verification_token_id: Uuid,
    user: UserSummary,
}

/// `POST /user/login`, 200.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    #[serde(flatten)]
    tokens: IssuedTokens,
    user: UserSummary,
}

/// `POST /user/refresh`, 200: a new token pair (`token` repeats `accessToken`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    /// Same as `accessToken`.
    token: String,
    access_token: String,
    refresh_token: String,
    /// When the access token expires, Unix milliseconds.
    expires_at: i64,
}

/// `POST /user/resend-verification/{verification_token_id}`, 200.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResendVerificationResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    message: String,
    /// Id of the new verification token.
    verification_token_id: Uuid,
}

/// `GET /token`, 200.
#[derive(ToSchema)]
pub struct TokensResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    tokens: Vec<TokenJson>,
}

/// The caller's profile.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    id: Uuid,
    /// First name.
    name: String,
    last_name: String,
    email: String,
    org_id: Uuid,
    /// 0 USER, 1 BILLING, 2 WORKSPACES, 254 ADMINISTRATORS, 255 OWNER.
    org_role: u8,
    /// `USER`, `BILLING`, `WORKSPACES`, `ADMINISTRATORS` or `OWNER`.
    org_role_description: String,
    /// Every defined role up to the user's own.
    org_roles: Vec<u8>,
    validated: bool,
    /// Always false.
    mfa_required: bool,
    is_business: bool,
}

/// `GET /user/profile`, 200.
#[derive(ToSchema)]
pub struct ProfileResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: Profile,
}

/// A user's role summary.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSummary {
    user_id: Uuid,
    org_role: u8,
    org_role_description: String,
    org_roles: Vec<u8>,
}

/// `GET /user/{user_id}`, 200.
#[derive(ToSchema)]
pub struct RoleSummaryResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: RoleSummary,
}

/// The outcome of a role change.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleChange {
    user_id: Uuid,
    previous_role: u8,
    new_role: u8,
    message: String,
}

/// `PUT /user/{user_id}/role`, 200.
#[derive(ToSchema)]
pub struct RoleChangeResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: RoleChange,
}

// ---------------------------------------------------------------------------------------------
// Organization

/// An organization. Optional text fields are `null` when unset; `is_business` is snake_case, as
/// the reference has it.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    id: Uuid,
    name: String,
    domain: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    zipcode: Option<String>,
    phone: Option<String>,
    state: Option<String>,
    country: Option<String>,
    #[schema(required = true, format = DateTime)]
    deleted_at: Option<String>,
    repos_disabled: bool,
    website: Option<String>,
    #[serde(rename = "is_business")]
    is_business: bool,
    mfa_enforced: bool,
}

/// `GET /organization/{org_id}`, 200.
#[derive(ToSchema)]
pub struct OrganizationResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: Organization,
}

/// `PUT /organization/{org_id}`, 200.
#[derive(ToSchema)]
pub struct OrganizationUpdatedResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: Organization,
    message: String,
}

/// `PUT /organization/{org_id}`: a partial update; at least one of these fields. Other keys are
/// ignored. `null` or a blank string clears an optional text field.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationUpdate {
    #[schema(value_type = String, required = false, max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    name: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    address1: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    address2: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    city: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    zipcode: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    phone: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    state: Option<String>,
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    country: Option<String>,
    #[schema(max_length = 2048, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    website: Option<String>,
    #[serde(rename = "is_business")]
    #[schema(value_type = bool, required = false)]
    is_business: Option<bool>,
    #[schema(value_type = bool, required = false)]
    mfa_enforced: Option<bool>,
}

/// A user of the organization, deleted ones included.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgUser {
    id: Uuid,
    email: String,
    /// First name.
    name: String,
    last_name: String,
    org_id: Uuid,
    org_role: u8,
    validated: bool,
    /// When the user was deleted, or null.
    #[schema(required = true, format = DateTime)]
    deleted_at: Option<String>,
    org_role_description: String,
    org_roles: Vec<u8>,
}

/// `GET /organization/users`, 200.
#[derive(ToSchema)]
pub struct OrgUsersResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: Vec<OrgUser>,
    total: u64,
}

/// `POST /organization/users` (201) and `PUT /organization/users/{user_id}` (200).
#[derive(ToSchema)]
pub struct OrgUserResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    data: OrgUser,
    message: String,
}

// ---------------------------------------------------------------------------------------------
// Workspaces

/// A workspace role: `READ`, `WRITE` or `ADMIN`.
#[derive(ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WorkspaceRoleName {
    Read,
    Write,
    Admin,
}

/// The member's user.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceUserInfo {
    id: Uuid,
    /// First name.
    name: String,
    last_name: String,
    email: String,
    org_role: u8,
}

/// A member of a workspace.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceUser {
    user_id: Uuid,
    role: WorkspaceRoleName,
    user: WorkspaceUserInfo,
}

/// A workspace with its active members.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceWithUsers {
    id: Uuid,
    name: String,
    org_id: Uuid,
    users: Vec<WorkspaceUser>,
}

/// `POST /workspace` (201) and `PUT /workspace/{id}` (200).
#[derive(ToSchema)]
pub struct WorkspaceResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    workspace: WorkspaceJson,
}

/// `GET /workspace/{id}`, 200.
#[derive(ToSchema)]
pub struct WorkspaceWithUsersResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    workspace: WorkspaceWithUsers,
}

/// `GET /workspace`, 200.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspacesResponse {
    #[schema(schema_with = success_true)]
    success: bool,
    workspaces: Vec<WorkspaceWithUsers>,
    /// Present when paging (`limit` or `cursor` given) and more workspaces follow.
    #[schema(value_type = String, required = false)]
    next_cursor: Option<String>,
}
