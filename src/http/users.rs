//! Users by id (contract section 4): the caller's profile, a user's role summary, name and
//! password changes, and role changes.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::{AuthUser, JsonBody};
use super::openapi::{
    org_role_value, BodyRejected, ErrorResponse, InternalError, MessageResponse, ProfileResponse,
    RoleChangeResponse, RoleSummaryResponse, Unauthorized,
};
use super::org_users::{change, last_owner, parse_org_role, user_not_found};
use super::registration::{parse_password, person_name};
use super::AppState;
use crate::domain::{can_manage_users, OrgRole, RoleDenied};
use crate::store::{UserChangeOutcome, UserUpdate};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profile))
        .routes(routes!(get_user, update_user))
        .routes(routes!(change_role))
}

/// The caller's profile, with their organization role.
#[utoipa::path(
    get,
    path = "/user/profile",
    tag = "identity",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = ProfileResponse),
        Unauthorized,
        InternalError,
    )
)]
async fn profile(auth: AuthUser) -> Json<Value> {
    let user = &auth.user;
    Json(json!({
        "success": true,
        "data": {
            "id": user.id,
            "name": user.first_name,
            "lastName": user.last_name,
            "email": user.email,
            "orgId": user.org_id,
            "orgRole": user.org_role,
            "orgRoleDescription": auth.role.description(),
            "orgRoles": auth.role.inherited_values(),
            "validated": user.validated,
            "mfaRequired": false,
            "isBusiness": user.is_business,
        }
    }))
}

fn role_summary(user_id: Uuid, role: OrgRole) -> Value {
    json!({
        "userId": user_id,
        "orgRole": role.value(),
        "orgRoleDescription": role.description(),
        "orgRoles": role.inherited_values(),
    })
}

/// Any member of the organization may read another's role; other organizations' users, deleted
/// users, unknown and malformed ids are all "User not found".
#[utoipa::path(
    get,
    path = "/user/{user_id}",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "A user of the caller's organization")),
    responses(
        (status = 200, description = "The user's role summary", body = RoleSummaryResponse),
        Unauthorized,
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to fetch user", body = ErrorResponse),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = Uuid::parse_str(&user_id).map_err(|_| user_not_found())?;
    let user = state
        .store
        .org_user(auth.user.org_id, id)
        .await
        .or_500("Failed to fetch user")?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(user_not_found)?;
    let role = user.role();
    Ok(Json(
        json!({ "success": true, "data": role_summary(user.id, role) }),
    ))
}

/// At least one field. `password` only for oneself; it ends the user's other sessions.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateUserBody {
    /// First name.
    #[schema(
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    name: Option<String>,
    #[schema(
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    last_name: Option<String>,
    #[schema(pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$")]
    password: Option<String>,
}

/// Names: oneself, or a manager (WORKSPACES+) of a user below them. Password: only oneself; the
/// user's other sessions end.
#[utoipa::path(
    put,
    path = "/user/{user_id}",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "The user to update")),
    request_body = UpdateUserBody,
    responses(
        (status = 200, description = "User updated successfully", body = MessageResponse),
        (status = 400, description = "`NO_VALID_FIELDS`, `INVALID_FIELD`, `WEAK_PASSWORD`, `USER_NOT_VALIDATED` (caller deleted or not verified), malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to update user; a password can only be changed by its owner", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to update user", body = ErrorResponse),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> Result<Json<Value>, ApiError> {
    const DENIED: &str = "Insufficient permissions to update user";
    let first_name = body
        .name
        .as_deref()
        .map(|n| person_name(n, "name"))
        .transpose()?;
    let last_name = body
        .last_name
        .as_deref()
        .map(|n| person_name(n, "lastName"))
        .transpose()?;
    let password = body.password.as_deref().map(parse_password).transpose()?;
    if first_name.is_none() && last_name.is_none() && password.is_none() {
        return Err(ApiError::bad_request(
            "NO_VALID_FIELDS",
            "No valid fields to update",
        ));
    }
    auth.require_validated()?;
    let target = Uuid::parse_str(&user_id).map_err(|_| user_not_found())?;
    let oneself = target == auth.user.id;
    if !oneself && !can_manage_users(auth.role) {
        return Err(ApiError::forbidden("INSUFFICIENT_PERMISSIONS", DENIED));
    }
    if !oneself && password.is_some() {
        // Another organization's users and unknown ids stay "User not found", as everywhere.
        let target_user = state.store.org_user(auth.user.org_id, target).await;
        if target_user
            .or_500("Failed to update user")?
            .filter(|u| u.deleted_at.is_none())
            .is_none()
        {
            return Err(user_not_found());
        }
        return Err(ApiError::forbidden(
            "PASSWORD_SELF_ONLY",
            "A password can only be changed by its owner",
        ));
    }
    let password_hash = match password {
        Some(password) => Some(
            state
                .hasher
                .hash(password.expose())
                .await
                .or_500("Failed to update user")?,
        ),
        None => None,
    };
    let update = UserUpdate {
        change: change(&auth, target),
        first_name,
        last_name,
        org_role: None,
        password_hash,
        keep_session: Some(auth.session_id),
    };
    match state
        .store
        .update_user(update)
        .await
        .or_500("Failed to update user")?
    {
        UserChangeOutcome::Done { .. } => Ok(Json(
            json!({ "success": true, "message": "User updated successfully" }),
        )),
        UserChangeOutcome::Denied(_) => {
            Err(ApiError::forbidden("INSUFFICIENT_PERMISSIONS", DENIED))
        }
        UserChangeOutcome::LastOwner
        | UserChangeOutcome::NotFound
        | UserChangeOutcome::NotDeleted => Err(user_not_found()),
    }
}

/// The new organization role.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OrgRoleBody {
    /// 0 USER, 1 BILLING, 2 WORKSPACES, 254 ADMINISTRATORS, 255 OWNER (3..=253 are refused).
    #[schema(schema_with = org_role_value, required = true)]
    org_role: Option<i64>,
}

/// Change a user's organization role under the role rules. Check order: token -> body -> caller
/// validated -> WORKSPACES+ -> target (404) -> role rules (403) -> last OWNER (403).
#[utoipa::path(
    put,
    path = "/user/{user_id}/role",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "The user whose role changes")),
    request_body = OrgRoleBody,
    responses(
        (status = 200, description = "User role updated successfully", body = RoleChangeResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_ROLE` (Invalid role combination), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "A role rule is broken (`INSUFFICIENT_PERMISSIONS`, `LAST_OWNER`)", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to update user role", body = ErrorResponse),
    )
)]
async fn change_role(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<OrgRoleBody>,
) -> Result<Json<Value>, ApiError> {
    let new_role = parse_org_role(
        body.org_role
            .ok_or_else(|| ApiError::missing_field("orgRole"))?,
    )?;
    auth.require_validated()?;
    let denied = |message| ApiError::forbidden("INSUFFICIENT_PERMISSIONS", message);
    if !can_manage_users(auth.role) {
        return Err(denied("Insufficient permissions to change user roles"));
    }
    let target = Uuid::parse_str(&user_id).map_err(|_| user_not_found())?;
    let update = UserUpdate {
        change: change(&auth, target),
        first_name: None,
        last_name: None,
        org_role: Some(new_role),
        password_hash: None,
        keep_session: None,
    };
    match state
        .store
        .update_user(update)
        .await
        .or_500("Failed to update user role")?
    {
        UserChangeOutcome::Done { before, .. } => Ok(Json(json!({
            "success": true,
            "data": {
                "userId": target,
                "previousRole": before.org_role,
                "newRole": new_role.value(),
                "message": "User role updated successfully",
            }
        }))),
        UserChangeOutcome::Denied(RoleDenied::CannotManage) => Err(denied(
            "Insufficient permissions to change this user's role",
        )),
        UserChangeOutcome::Denied(RoleDenied::AboveOwnRole) => {
            Err(denied("Cannot assign a role above your own"))
        }
        UserChangeOutcome::LastOwner => Err(last_owner()),
        UserChangeOutcome::NotFound | UserChangeOutcome::NotDeleted => Err(user_not_found()),
    }
}
