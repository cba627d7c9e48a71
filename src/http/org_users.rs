//! Organization users (contract section 5): list, create, read, update, delete, activate,
//! resend the invitation. All need WORKSPACES or higher in the same organization; the finer role
//! rules (`domain::org_rules`) are checked by the store under a lock of the organization.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::{AuthUser, JsonBody};
use super::registration::{
    new_verification, parse_password, person_name, required, send_verification,
};
use super::AppState;
use crate::clock::{now_ms, rfc3339};
use crate::domain::{can_grant, can_manage_users, Email, OrgRole, RoleDenied};
use crate::store::{NewUser, OrgUser, StoreError, UserChange, UserChangeOutcome, UserUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organization/users", get(list_users).post(create_user))
        .route(
            "/organization/users/{user_id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(
            "/organization/users/{user_id}/activate",
            post(activate_user),
        )
        .route(
            "/organization/users/{user_id}/resend-invitation",
            post(resend_invitation),
        )
}

/// `OrgUser` on the wire.
pub fn org_user_json(user: &OrgUser) -> Value {
    let role = OrgRole::from_value(user.org_role.into()).unwrap_or(OrgRole::User);
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.first_name,
        "lastName": user.last_name,
        "orgId": user.org_id,
        "orgRole": user.org_role,
        "validated": user.validated,
        "deletedAt": user.deleted_at.map(rfc3339),
        "orgRoleDescription": role.description(),
        "orgRoles": role.inherited_values(),
    })
}

/// Parses an `orgRole` wire value; reserved and unknown values are refused (contract section 2).
pub fn parse_org_role(value: i64) -> Result<OrgRole, ApiError> {
    OrgRole::from_value(value)
        .ok_or_else(|| ApiError::bad_request("INVALID_ROLE", "Invalid role combination"))
}

pub fn user_not_found() -> ApiError {
    ApiError::not_found("USER_NOT_FOUND", "User not found")
}

pub fn last_owner() -> ApiError {
    ApiError::forbidden(
        "LAST_OWNER",
        "The organization must keep at least one owner",
    )
}

fn forbidden(message: &'static str) -> ApiError {
    ApiError::forbidden("INSUFFICIENT_PERMISSIONS", message)
}

/// The coarse check every route here starts with: WORKSPACES or higher.
fn require_manager(auth: &AuthUser, message: &'static str) -> Result<(), ApiError> {
    if can_manage_users(auth.role) {
        Ok(())
    } else {
        Err(forbidden(message))
    }
}

fn target_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| user_not_found())
}

/// The caller acting on `target_id`, now.
pub fn change(auth: &AuthUser, target_id: Uuid) -> UserChange {
    UserChange {
        org_id: auth.user.org_id,
        actor_id: auth.user.id,
        target_id,
        now: now_ms(),
    }
}

async fn list_users(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let fail = |e: ApiError| {
        e.with_field("data", json!([]))
            .with_field("total", json!(0))
    };
    require_manager(&auth, "Insufficient permissions to view users").map_err(fail)?;
    let users = state
        .store
        .list_org_users(auth.user.org_id)
        .await
        .or_500("Failed to fetch users")
        .map_err(fail)?;
    let data: Vec<Value> = users.iter().map(org_user_json).collect();
    Ok(Json(
        json!({ "success": true, "data": data, "total": data.len() }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateUserBody {
    email: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    org_role: Option<i64>,
    send_invite: Option<bool>,
}

/// Check order: token -> body -> caller validated -> WORKSPACES+ -> role grantable -> e-mail free.
async fn create_user(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    const FAILED: &str = "Failed to create user";
    let email = Email::parse(required(&body.email, "email")?)
        .ok_or_else(|| ApiError::bad_request("INVALID_EMAIL", "Invalid email address"))?;
    // Without a password the user chooses one when verifying their e-mail.
    let password = body.password.as_deref().map(parse_password).transpose()?;
    let first_name = person_name(required(&body.first_name, "firstName")?, "firstName")?;
    let last_name = person_name(required(&body.last_name, "lastName")?, "lastName")?;
    let role = parse_org_role(body.org_role.unwrap_or(0))?;
    auth.require_validated()?;
    require_manager(&auth, "Insufficient permissions to create users")?;
    if !can_grant(auth.role, role) {
        return Err(forbidden("Cannot assign a role above your own"));
    }

    let password_hash = match password {
        Some(password) => Some(state.hasher.hash(password.expose()).await.or_500(FAILED)?),
        None => None,
    };
    let now = now_ms();
    let user = NewUser {
        id: Uuid::now_v7(),
        org_id: auth.user.org_id,
        email: email.as_str().to_owned(),
        email_key: email.key(),
        password_hash,
        first_name,
        last_name,
        org_role: role.value().into(),
        created_at: now,
    };
    let invite = body.send_invite.unwrap_or(true);
    let (verification, token) = if invite {
        let (verification, token) = new_verification(user.id, now);
        (Some(verification), Some(token))
    } else {
        (None, None)
    };
    let created = OrgUser {
        id: user.id,
        org_id: user.org_id,
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        org_role: user.org_role,
        validated: false,
        deleted_at: None,
    };
    match state.store.create_org_user(user, verification).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::bad_request(
                "EMAIL_ALREADY_EXISTS",
                "An account with this email already exists",
            ))
        }
        Err(error) => return Err(ApiError::internal(FAILED, error)),
    }
    if let Some(token) = token {
        send_verification(&state, &created.email, &created.first_name, &token).await;
    }
    let answer = json!({
        "success": true,
        "data": org_user_json(&created),
        "message": "User created successfully",
    });
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The bare OrgUser object on 200, as documented.
async fn get_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_manager(&auth, "Insufficient permissions to view users")?;
    let user = state
        .store
        .org_user(auth.user.org_id, target_id(&user_id)?)
        .await
        .or_500("Failed to fetch user")?
        .ok_or_else(user_not_found)?;
    Ok(Json(org_user_json(&user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateUserBody {
    name: Option<String>,
    last_name: Option<String>,
    org_role: Option<i64>,
}

/// Errors here carry `"data": {}` (contract section 5).
async fn update_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    body: Result<JsonBody<UpdateUserBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    update_user_inner(state, auth, user_id, body)
        .await
        .map_err(|e| e.with_field("data", json!({})))
}

async fn update_user_inner(
    state: AppState,
    auth: AuthUser,
    user_id: String,
    body: Result<JsonBody<UpdateUserBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    const DENIED: &str = "Insufficient permissions to update users";
    let JsonBody(body) = body?;
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
    let org_role = body.org_role.map(parse_org_role).transpose()?;
    if first_name.is_none() && last_name.is_none() && org_role.is_none() {
        return Err(ApiError::bad_request(
            "NO_VALID_FIELDS",
            "No valid fields to update",
        ));
    }
    auth.require_validated()?;
    require_manager(&auth, DENIED)?;
    let update = UserUpdate {
        change: change(&auth, target_id(&user_id)?),
        first_name,
        last_name,
        org_role,
        password_hash: None,
        keep_session: None,
    };
    match state
        .store
        .update_user(update)
        .await
        .or_500("Failed to update user")?
    {
        UserChangeOutcome::Done { after, .. } => Ok(Json(json!({
            "success": true,
            "data": org_user_json(&after),
            "message": "User updated successfully",
        }))),
        UserChangeOutcome::Denied(_) => Err(forbidden(DENIED)),
        UserChangeOutcome::LastOwner => Err(last_owner()),
        UserChangeOutcome::NotFound | UserChangeOutcome::NotDeleted => Err(user_not_found()),
    }
}

async fn delete_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    const DENIED: &str = "Insufficient permissions to delete users";
    auth.require_validated()?;
    require_manager(&auth, DENIED)?;
    let target = target_id(&user_id)?;
    if target == auth.user.id {
        return Err(ApiError::bad_request(
            "CANNOT_DELETE_SELF",
            "Cannot delete yourself",
        ));
    }
    match state
        .store
        .delete_org_user(change(&auth, target))
        .await
        .or_500("Failed to delete user")?
    {
        UserChangeOutcome::Done { .. } => Ok(Json(
            json!({ "success": true, "message": "User deleted successfully" }),
        )),
        UserChangeOutcome::Denied(_) => Err(forbidden(DENIED)),
        UserChangeOutcome::LastOwner => Err(last_owner()),
        UserChangeOutcome::NotFound | UserChangeOutcome::NotDeleted => Err(user_not_found()),
    }
}

async fn activate_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    const DENIED: &str = "Insufficient permissions to activate users";
    auth.require_validated()?;
    require_manager(&auth, DENIED)?;
    let target = target_id(&user_id)?;
    let outcome = state
        .store
        .activate_org_user(change(&auth, target))
        .await
        .or_500("Failed to activate user")?;
    match outcome {
        UserChangeOutcome::Done { .. } => Ok(Json(
            json!({ "success": true, "message": "User activated successfully" }),
        )),
        UserChangeOutcome::Denied(RoleDenied::CannotManage | RoleDenied::AboveOwnRole) => {
            Err(forbidden(DENIED))
        }
        UserChangeOutcome::NotDeleted => Err(ApiError::bad_request(
            "USER_NOT_DELETED",
            "User is not deleted",
        )),
        UserChangeOutcome::LastOwner | UserChangeOutcome::NotFound => Err(user_not_found()),
    }
}

async fn resend_invitation(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    const FAILED: &str = "Failed to resend invitation";
    auth.require_validated()?;
    require_manager(&auth, "Insufficient permissions to resend invitations")?;
    let user = state
        .store
        .org_user(auth.user.org_id, target_id(&user_id)?)
        .await
        .or_500(FAILED)?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(user_not_found)?;
    if user.validated {
        return Err(ApiError::bad_request(
            "ALREADY_VERIFIED",
            "User is already validated",
        ));
    }
    let (verification, token) = new_verification(user.id, now_ms());
    state
        .store
        .create_verification(verification)
        .await
        .or_500(FAILED)?;
    send_verification(&state, &user.email, &user.first_name, &token).await;
    Ok(Json(
        json!({ "success": true, "message": "Invitation sent successfully" }),
    ))
}
