//! Users by id (contract section 4): the caller's profile, a user's role summary, name and
//! password changes, and role changes.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::{AuthUser, JsonBody};
use super::org_users::{change, last_owner, parse_org_role, user_not_found};
use super::registration::{parse_password, person_name};
use super::AppState;
use crate::domain::{can_manage_users, OrgRole, RoleDenied};
use crate::store::{UserChangeOutcome, UserUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user/profile", get(profile))
        .route("/user/{user_id}", get(get_user).put(update_user))
        .route("/user/{user_id}/role", put(change_role))
}

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
    let role = OrgRole::from_value(user.org_role.into()).unwrap_or(OrgRole::User);
    Ok(Json(
        json!({ "success": true, "data": role_summary(user.id, role) }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateUserBody {
    name: Option<String>,
    last_name: Option<String>,
    password: Option<String>,
}

/// Names: oneself, or a manager (WORKSPACES+) of a user below them. Password: only oneself; the
/// user's other sessions end.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleBody {
    org_role: Option<i64>,
}

/// Check order: token -> body -> caller validated -> WORKSPACES+ -> target (404) -> role rules
/// (403) -> last OWNER (403).
async fn change_role(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
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
