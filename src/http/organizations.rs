//! The caller's organization: `GET /organization/{orgId}`, `PUT /organization/{orgId}`
//! (contract section 5). Every error of these routes carries `"data": null`, as documented.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::{AuthUser, JsonBody};
use super::openapi::{
    ErrorResponse, ErrorWithNullData, OrganizationResponse, OrganizationUpdate,
    OrganizationUpdatedResponse, Unauthorized,
};
use super::AppState;
use crate::clock::{now_ms, rfc3339};
use crate::domain::OrgRole;
use crate::store::{Organization, OrganizationPatch};

/// Bound of every text field but the website.
const MAX_TEXT_CHARS: usize = 200;
const MAX_WEBSITE_CHARS: usize = 2048;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_organization, update_organization))
}

/// ADMINISTRATORS and OWNER may edit their organization (contract section 2).
fn can_edit_organization(role: OrgRole) -> bool {
    role >= OrgRole::Administrators
}

/// The organization on the wire. `is_business` is snake_case in the reference, unlike its
/// neighbours; clients read it so.
fn organization_json(org: &Organization) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "domain": org.domain,
        "address1": org.address1,
        "address2": org.address2,
        "city": org.city,
        "zipcode": org.zipcode,
        "phone": org.phone,
        "state": org.state,
        "country": org.country,
        "deletedAt": org.deleted_at.map(rfc3339),
        "reposDisabled": org.repos_disabled,
        "website": org.website,
        "is_business": org.is_business,
        "mfaEnforced": org.mfa_enforced,
    })
}

fn with_null_data(error: ApiError) -> ApiError {
    error.with_field("data", Value::Null)
}

fn organization_not_found() -> ApiError {
    ApiError::not_found("ORGANIZATION_NOT_FOUND", "Organization not found")
}

/// The caller's own organization id, if `raw` names it; any other value, malformed or not, is
/// another organization as far as the caller is concerned.
fn own_org_id(auth: &AuthUser, raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw)
        .ok()
        .filter(|id| *id == auth.user.org_id)
}

/// The caller's own organization (any role).
#[utoipa::path(
    get,
    path = "/organization/{org_id}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("org_id" = Uuid, Path, description = "The caller's organization id")),
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
        Unauthorized,
        (status = 403, description = "Access denied: you can only view your own organization", body = ErrorWithNullData),
        (status = 404, description = "Organization not found", body = ErrorWithNullData),
        (status = 500, description = "Failed to fetch organization (with `\"data\": null`)", body = ErrorResponse),
    )
)]
async fn get_organization(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(org_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    read_organization(&state, &auth, &org_id)
        .await
        .map(Json)
        .map_err(with_null_data)
}

async fn read_organization(
    state: &AppState,
    auth: &AuthUser,
    raw_id: &str,
) -> Result<Value, ApiError> {
    let org_id = own_org_id(auth, raw_id).ok_or_else(|| {
        ApiError::forbidden(
            "FORBIDDEN",
            "Access denied: you can only view your own organization",
        )
    })?;
    let org = state
        .store
        .organization(org_id)
        .await
        .or_500("Failed to fetch organization")?
        .ok_or_else(organization_not_found)?;
    Ok(json!({ "success": true, "data": organization_json(&org) }))
}

/// Partial update of the caller's organization (ADMINISTRATORS, OWNER).
#[utoipa::path(
    put,
    path = "/organization/{org_id}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("org_id" = Uuid, Path, description = "The caller's organization id")),
    request_body = OrganizationUpdate,
    responses(
        (status = 200, description = "Organization updated successfully", body = OrganizationUpdatedResponse),
        (status = 400, description = "`NO_VALID_FIELDS` (No valid fields to update), `INVALID_FIELD`, `USER_NOT_VALIDATED`, malformed JSON", body = ErrorWithNullData),
        Unauthorized,
        (status = 403, description = "Insufficient permissions: only OWNER and ADMINISTRATOR roles can modify organization", body = ErrorWithNullData),
        (status = 404, description = "Organization not found", body = ErrorWithNullData),
        (status = 413, description = "Request body over 64 KiB", body = ErrorWithNullData),
        (status = 415, description = "A non-empty body whose Content-Type is not JSON", body = ErrorWithNullData),
        (status = 500, description = "Failed to update organization (with `\"data\": null`)", body = ErrorResponse),
    )
)]
async fn update_organization(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(org_id): Path<String>,
    body: Result<JsonBody<Map<String, Value>>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    async {
        let JsonBody(body) = body?;
        let patch = parse_patch(&body)?;
        auth.require_validated()?;
        let org_id = own_org_id(&auth, &org_id)
            .filter(|_| can_edit_organization(auth.role))
            .ok_or_else(|| {
                ApiError::forbidden(
                    "INSUFFICIENT_PERMISSIONS",
                    "Insufficient permissions: only OWNER and ADMINISTRATOR roles can modify \
                     organization",
                )
            })?;
        let org = state
            .store
            .update_organization(org_id, patch, now_ms())
            .await
            .or_500("Failed to update organization")?
            .ok_or_else(organization_not_found)?;
        Ok(json!({
            "success": true,
            "data": organization_json(&org),
            "message": "Organization updated successfully",
        }))
    }
    .await
    .map(Json)
    .map_err(with_null_data)
}

fn invalid_field(message: String) -> ApiError {
    ApiError::bad_request("INVALID_FIELD", message)
}

/// The updatable keys present in `body`, validated. Other keys are ignored, like unknown fields
/// everywhere; a body with none of these keys is refused.
fn parse_patch(body: &Map<String, Value>) -> Result<OrganizationPatch, ApiError> {
    let optional = |field: &str, max: usize| -> Result<Option<Option<String>>, ApiError> {
        body.get(field)
            .map(|value| optional_text(value, field, max))
            .transpose()
    };
    let patch = OrganizationPatch {
        name: body.get("name").map(name).transpose()?,
        address1: optional("address1", MAX_TEXT_CHARS)?,
        address2: optional("address2", MAX_TEXT_CHARS)?,
        city: optional("city", MAX_TEXT_CHARS)?,
        zipcode: optional("zipcode", MAX_TEXT_CHARS)?,
        phone: optional("phone", MAX_TEXT_CHARS)?,
        state: optional("state", MAX_TEXT_CHARS)?,
        country: optional("country", MAX_TEXT_CHARS)?,
        website: optional("website", MAX_WEBSITE_CHARS)?,
        is_business: body
            .get("is_business")
            .map(|v| boolean(v, "is_business"))
            .transpose()?,
        mfa_enforced: body
            .get("mfaEnforced")
            .map(|v| boolean(v, "mfaEnforced"))
            .transpose()?,
    };
    if patch.is_empty() {
        return Err(ApiError::bad_request(
            "NO_VALID_FIELDS",
            "No valid fields to update",
        ));
    }
    Ok(patch)
}

/// The organization's name: required text, so neither `null` nor blank.
fn name(value: &Value) -> Result<String, ApiError> {
    if value.is_null() {
        return Err(invalid_field("name must not be empty".into()));
    }
    let name = text(value, "name", MAX_TEXT_CHARS)?;
    if name.is_empty() {
        return Err(invalid_field("name must not be empty".into()));
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

/// A string, trimmed, at most `max` characters, without control characters.
fn text(value: &Value, field: &str, max: usize) -> Result<String, ApiError> {
    let raw = value
        .as_str()
        .ok_or_else(|| invalid_field(format!("{field} must be a string")))?;
    let trimmed = raw.trim();
    if trimmed.chars().count() > max {
        return Err(invalid_field(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid_field(format!(
            "{field} contains invalid characters"
        )));
    }
    Ok(trimmed.to_owned())
}

fn boolean(value: &Value, field: &str) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| invalid_field(format!("{field} must be a boolean")))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::{can_edit_organization, parse_patch};
    use crate::domain::OrgRole;
    use crate::store::OrganizationPatch;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn message(value: Value) -> String {
        parse_patch(&object(value))
            .map(|_| String::new())
            .unwrap_or_else(|error| error.message.into_owned())
    }

    #[test]
    fn only_administrators_and_owners_edit_the_organization() {
        let allowed: Vec<_> = OrgRole::ALL
            .into_iter()
            .filter(|role| can_edit_organization(*role))
            .collect();
        assert_eq!(allowed, vec![OrgRole::Administrators, OrgRole::Owner]);
    }

    #[test]
    fn fields_are_trimmed_and_null_or_blank_clears() {
        let patch = parse_patch(&object(json!({
            "name": "  Acme Corp ", "city": null, "state": "  ", "website": " https://a.example ",
            "is_business": false, "mfaEnforced": true, "domain": "ignored.example",
        })))
        .ok();
        assert_eq!(
            patch,
            Some(OrganizationPatch {
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
        assert_eq!(message(json!({})), "No valid fields to update");
        assert_eq!(
            message(json!({ "domain": "x" })),
            "No valid fields to update"
        );
        assert_eq!(message(json!({ "name": null })), "name must not be empty");
        assert_eq!(message(json!({ "name": " " })), "name must not be empty");
        assert_eq!(message(json!({ "city": 7 })), "city must be a string");
        assert_eq!(
            message(json!({ "phone": "1\n2" })),
            "phone contains invalid characters"
        );
        assert_eq!(
            message(json!({ "address1": "a".repeat(201) })),
            "address1 must be at most 200 characters"
        );
        assert_eq!(message(json!({ "website": "a".repeat(2048) })), "");
        assert_eq!(
            message(json!({ "website": "a".repeat(2049) })),
            "website must be at most 2048 characters"
        );
        assert_eq!(
            message(json!({ "is_business": "yes" })),
            "is_business must be a boolean"
        );
        assert_eq!(
            message(json!({ "mfaEnforced": null })),
            "mfaEnforced must be a boolean"
        );
    }
}
