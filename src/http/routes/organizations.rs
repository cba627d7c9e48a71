//! The caller's organization: `GET /organization/{orgId}`, `PUT /organization/{orgId}`
//! (contract section 5). Every error of these routes carries `"data": null`, as documented.
//! Its users, `/organization/users`, are in `organization_users.rs`.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::rfc3339;
use crate::domain::{has_refused_chars, OrgId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorWithNullData};
use crate::http::bodies::fields::{self as schema, MAX_ORG_TEXT_CHARS, MAX_WEBSITE_CHARS};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::{AuthUser, JsonBody, PathId};
use crate::http::common::fields::no_valid_fields;
use crate::http::AppState;
use crate::store::{Actor, Organization, OrganizationPatch};

/// What these routes answer on failure: the envelope plus `"data": null`.
type OrganizationError = ShapedError<ErrorWithNullData>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_organization, update_organization))
}

/// ADMINISTRATORS and OWNER may edit their organization (contract section 2).
fn organization_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::OrganizationNotFound, "Organization not found")
}

/// The caller's own organization id, if `id` names it; any other value, malformed or not, is
/// another organization as far as the caller is concerned.
fn own_org_id(auth: &AuthUser, id: PathId<OrgId>) -> Option<OrgId> {
    id.id().filter(|id| *id == auth.user.org_id)
}

/// An organization. Optional text fields are `null` when unset; `is_business` is snake_case, as
/// the reference has it (clients read it so).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Organization)]
#[serde(rename_all = "camelCase")]
struct OrganizationJson {
    id: OrgId,
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

impl From<Organization> for OrganizationJson {
    fn from(org: Organization) -> Self {
        OrganizationJson {
            id: org.id,
            name: org.name,
            domain: org.domain,
            address1: org.address1,
            address2: org.address2,
            city: org.city,
            zipcode: org.zipcode,
            phone: org.phone,
            state: org.state,
            country: org.country,
            deleted_at: org.deleted_at.map(rfc3339),
            repos_disabled: org.repos_disabled,
            website: org.website,
            is_business: org.is_business,
            mfa_enforced: org.mfa_enforced,
        }
    }
}

/// `GET /organization/{orgId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct OrganizationResponse {
    success: SuccessTrue,
    data: OrganizationJson,
}

impl From<Organization> for OrganizationResponse {
    fn from(org: Organization) -> Self {
        OrganizationResponse {
            success: SuccessTrue,
            data: org.into(),
        }
    }
}

/// The caller's own organization (any role).
#[utoipa::path(
    get,
    path = "/organization/{orgId}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("orgId" = Uuid, Path, description = "The caller's organization id")),
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
        Unauthorized,
        (status = 403, description = "Access denied: you can only view your own organization", body = ErrorWithNullData),
        (status = 404, description = "Organization not found", body = ErrorWithNullData),
        (status = 500, description = "Failed to fetch organization", body = ErrorWithNullData),
    )
)]
async fn get_organization(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(org_id): Path<PathId<OrgId>>,
) -> Result<Json<OrganizationResponse>, OrganizationError> {
    let org_id = own_org_id(&auth, org_id).ok_or_else(|| {
        ApiError::forbidden(
            ErrorCode::Forbidden,
            "Access denied: you can only view your own organization",
        )
    })?;
    let org = state
        .store
        .organization(org_id)
        .await
        .or_500("Failed to fetch organization")?
        .ok_or_else(organization_not_found)?;
    Ok(Json(org.into()))
}

/// `PUT /organization/{orgId}`: a partial update; at least one of these fields. Other keys are
/// ignored. `null` or a blank string clears an optional text field. Read as a JSON object, so
/// that each field's bad value gets its own message (and `null` is told apart from absent).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(from = "Map<String, Value>")]
struct OrganizationUpdate {
    #[schema(schema_with = schema::organization_name)]
    name: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    address1: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    address2: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    city: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    zipcode: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    phone: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    state: Option<Value>,
    #[schema(schema_with = schema::organization_text)]
    country: Option<Value>,
    #[schema(schema_with = schema::website)]
    website: Option<Value>,
    #[serde(rename = "is_business")]
    #[schema(value_type = bool, required = false)]
    is_business: Option<Value>,
    #[serde(rename = "mfaEnforced")]
    #[schema(value_type = bool, required = false)]
    mfa_enforced: Option<Value>,
}

impl From<Map<String, Value>> for OrganizationUpdate {
    fn from(mut body: Map<String, Value>) -> Self {
        let mut take = |key: &str| body.remove(key);
        OrganizationUpdate {
            name: take("name"),
            address1: take("address1"),
            address2: take("address2"),
            city: take("city"),
            zipcode: take("zipcode"),
            phone: take("phone"),
            state: take("state"),
            country: take("country"),
            website: take("website"),
            is_business: take("is_business"),
            mfa_enforced: take("mfaEnforced"),
        }
    }
}

/// `PUT /organization/{orgId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct OrganizationUpdatedResponse {
    success: SuccessTrue,
    data: OrganizationJson,
    message: &'static str,
}

impl From<Organization> for OrganizationUpdatedResponse {
    fn from(org: Organization) -> Self {
        OrganizationUpdatedResponse {
            success: SuccessTrue,
            data: org.into(),
            message: "Organization updated successfully",
        }
    }
}

/// Partial update of the caller's organization (ADMINISTRATORS, OWNER).
#[utoipa::path(
    put,
    path = "/organization/{orgId}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("orgId" = Uuid, Path, description = "The caller's organization id")),
    request_body = OrganizationUpdate,
    responses(
        (status = 200, description = "Organization updated successfully", body = OrganizationUpdatedResponse),
        (status = 400, description = "`NO_VALID_FIELDS` (No valid fields to update), `INVALID_FIELD`, `USER_NOT_VALIDATED`, malformed JSON", body = ErrorWithNullData),
        Unauthorized,
        (status = 403, description = "Insufficient permissions: only OWNER and ADMINISTRATOR roles can modify organization", body = ErrorWithNullData),
        (status = 404, description = "Organization not found", body = ErrorWithNullData),
        BodyRejected<ErrorWithNullData>,
        (status = 500, description = "Failed to update organization", body = ErrorWithNullData),
    )
)]
async fn update_organization(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(org_id): Path<PathId<OrgId>>,
    body: Result<JsonBody<OrganizationUpdate>, ApiError>,
) -> Result<Json<OrganizationUpdatedResponse>, OrganizationError> {
    let JsonBody(body) = body?;
    let patch = parse_patch(&body)?;
    auth.require_validated()?;
    let org_id = own_org_id(&auth, org_id)
        .filter(|_| auth.user.org_role.administers_organization())
        .ok_or_else(|| {
            ApiError::insufficient_permissions(
                "Insufficient permissions: only OWNER and ADMINISTRATOR roles can modify \
                 organization",
            )
        })?;
    let org = state
        .store
        .update_organization(
            Actor {
                org_id,
                ..auth.actor()
            },
            patch,
        )
        .await
        .or_500("Failed to update organization")?
        .ok_or_else(organization_not_found)?;
    Ok(Json(org.into()))
}

/// The updatable fields present in `body`, validated; a body with none of them is refused.
fn parse_patch(body: &OrganizationUpdate) -> Result<OrganizationPatch, ApiError> {
    let optional = |value: &Option<Value>, field: &str, max: usize| {
        value
            .as_ref()
            .map(|value| optional_text(value, field, max))
            .transpose()
    };
    let text = |value: &Option<Value>, field| optional(value, field, MAX_ORG_TEXT_CHARS);
    let flag = |value: &Option<Value>, field| value.as_ref().map(|v| boolean(v, field)).transpose();
    let patch = OrganizationPatch {
        name: body.name.as_ref().map(name).transpose()?,
        address1: text(&body.address1, "address1")?,
        address2: text(&body.address2, "address2")?,
        city: text(&body.city, "city")?,
        zipcode: text(&body.zipcode, "zipcode")?,
        phone: text(&body.phone, "phone")?,
        state: text(&body.state, "state")?,
        country: text(&body.country, "country")?,
        website: optional(&body.website, "website", MAX_WEBSITE_CHARS)?,
        is_business: flag(&body.is_business, "is_business")?,
        mfa_enforced: flag(&body.mfa_enforced, "mfaEnforced")?,
    };
    if patch.is_empty() {
        return Err(no_valid_fields());
    }
    Ok(patch)
}

/// The organization's name: required text, so neither `null` nor blank.
fn name(value: &Value) -> Result<String, ApiError> {
    let empty = || ApiError::invalid_field("name must not be empty");
    if value.is_null() {
        return Err(empty());
    }
    let name = text(value, "name", MAX_ORG_TEXT_CHARS)?;
    if name.is_empty() {
        return Err(empty());
    }
    Ok(name)
}

/// Optional text: `null` or a blank string clears the field (stored as NULL, shown as null).
fn optional_text(value: &Value, field: &str, max: usize) -> Result<Option<String>, ApiError> {
    if value.is_null() {
        return Ok(None);
    }
    let text = text(value, field, max)?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// A string, trimmed, at most `max` characters, without refused characters (`domain::text`).
fn text(value: &Value, field: &str, max: usize) -> Result<String, ApiError> {
    let raw = value
        .as_str()
        .ok_or_else(|| ApiError::invalid_field(format!("{field} must be a string")))?;
    let trimmed = raw.trim();
    if trimmed.chars().count() > max {
        return Err(ApiError::invalid_field(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if has_refused_chars(trimmed) {
        return Err(ApiError::invalid_field(format!(
            "{field} contains invalid characters"
        )));
    }
    Ok(trimmed.to_owned())
}

fn boolean(value: &Value, field: &str) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| ApiError::invalid_field(format!("{field} must be a boolean")))
}

#[cfg(test)]
mod tests {
    use super::{parse_patch, OrganizationUpdate};
    use crate::domain::OrgRole;
    use crate::store::OrganizationPatch;

    fn patch(body: &str) -> Result<OrganizationPatch, String> {
        let body: OrganizationUpdate = serde_json::from_str(body).map_err(|e| e.to_string())?;
        parse_patch(&body).map_err(|error| error.message.into_owned())
    }

    fn message(body: &str) -> String {
        patch(body).err().unwrap_or_default()
    }

    #[test]
    fn only_administrators_and_owners_edit_the_organization() {
        let allowed: Vec<_> = OrgRole::ALL
            .into_iter()
            .filter(|role| role.administers_organization())
            .collect();
        assert_eq!(allowed, vec![OrgRole::Administrators, OrgRole::Owner]);
    }

    #[test]
    fn fields_are_trimmed_and_null_or_blank_clears() {
        let body = r#"{"name": "  Acme Corp ", "city": null, "state": "  ",
            "website": " https://a.example ", "is_business": false, "mfaEnforced": true,
            "domain": "ignored.example"}"#;
        assert_eq!(
            patch(body),
            Ok(OrganizationPatch {
                name: Some("Acme Corp".into()),
                city: Some(None),
                state: Some(None),
                website: Some(Some("https://a.example".into())),
                is_business: Some(false),
                mfa_enforced: Some(true),
                ..OrganizationPatch::default()
            })
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        let long = |field: &str, n: usize| format!(r#"{{"{field}": "{}"}}"#, "a".repeat(n));
        assert_eq!(message("{}"), "No valid fields to update");
        assert_eq!(message(r#"{"domain": "x"}"#), "No valid fields to update");
        assert_eq!(message(r#"{"name": null}"#), "name must not be empty");
        assert_eq!(message(r#"{"name": " "}"#), "name must not be empty");
        assert_eq!(message(r#"{"city": 7}"#), "city must be a string");
        assert_eq!(
            message(r#"{"phone": "1\n2"}"#),
            "phone contains invalid characters"
        );
        assert_eq!(
            message(&long("address1", 201)),
            "address1 must be at most 200 characters"
        );
        assert_eq!(message(&long("website", 2048)), "");
        assert_eq!(
            message(&long("website", 2049)),
            "website must be at most 2048 characters"
        );
        assert_eq!(
            message(r#"{"is_business": "yes"}"#),
            "is_business must be a boolean"
        );
        assert_eq!(
            message(r#"{"mfaEnforced": null}"#),
            "mfaEnforced must be a boolean"
        );
    }
}
