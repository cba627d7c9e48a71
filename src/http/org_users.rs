//! Organization users (contract section 5): list, create, read, update, delete, activate,
//! resend the invitation. All need WORKSPACES or higher in the same organization; the finer role
//! rules (`domain::org_rules`) are checked by the store under a lock of the organization.

use axum::extract::{Path, State};
use axum::http::StatusCode;
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
    optional_org_role_value, BodyRejected, ErrorResponse, ErrorWithEmptyData, ErrorWithEmptyList,
    MessageResponse, OrgUser as OrgUserSchema, OrgUserResponse, OrgUsersResponse, Unauthorized,
};
use super::registration::{
    new_verification, parse_password, person_name, required, send_verification,
};
use super::AppState;
use crate::clock::{now_ms, rfc3339};
use crate::domain::{can_grant, can_manage_users, Email, OrgRole, RoleDenied};
use crate::store::{NewUser, OrgUser, StoreError, UserChange, UserChangeOutcome, UserUpdate};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(activate_user))
        .routes(routes!(resend_invitation))
}

/// `OrgUser` on the wire.
pub fn org_user_json(user: &OrgUser) -> Value {
    let role = user.role();
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

/// The organization's users, deleted ones included (WORKSPACES or higher).
#[utoipa::path(
    get,
    path = "/organization/users",
    operation_id = "list_org_users",
    tag = "organization",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The organization's users", body = OrgUsersResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to view users", body = ErrorWithEmptyList),
        (status = 500, description = "Failed to fetch users (with `\"data\": [], \"total\": 0`)", body = ErrorResponse),
    )
)]
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

/// A new user of the caller's organization, not yet verified.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateOrgUserBody {
    #[schema(value_type = String, format = Email)]
    email: Option<String>,
    /// Without one, the user chooses it when verifying their e-mail.
    #[schema(pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$")]
    password: Option<String>,
    #[schema(value_type = String, max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    first_name: Option<String>,
    #[schema(value_type = String, max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    last_name: Option<String>,
    /// Default 0 (USER); at most the caller's own role.
    #[schema(schema_with = optional_org_role_value)]
    org_role: Option<i64>,
    /// Send the verification e-mail (default true).
    send_invite: Option<bool>,
}

/// Create a user; sends the verification e-mail unless `sendInvite` is false. Check order: token
/// -> body -> caller validated -> WORKSPACES+ -> role grantable -> e-mail free.
#[utoipa::path(
    post,
    path = "/organization/users",
    operation_id = "create_org_user",
    tag = "organization",
    security(("bearerAuth" = [])),
    request_body = CreateOrgUserBody,
    responses(
        (status = 201, description = "User created successfully", body = OrgUserResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_EMAIL`, `WEAK_PASSWORD`, `INVALID_FIELD`, `INVALID_ROLE` (Invalid role combination), `EMAIL_ALREADY_EXISTS`, `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to create users; cannot assign a role above your own", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to create user", body = ErrorResponse),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<CreateOrgUserBody>,
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
#[utoipa::path(
    get,
    path = "/organization/users/{user_id}",
    operation_id = "get_org_user",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "A user of the caller's organization")),
    responses(
        (status = 200, description = "The user, without envelope", body = OrgUserSchema),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to view users", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to fetch user", body = ErrorResponse),
    )
)]
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

/// At least one field.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateOrgUserBody {
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
    #[schema(schema_with = optional_org_role_value)]
    org_role: Option<i64>,
}

/// Update a user's names and role. Errors here carry `"data": {}` (contract section 5).
#[utoipa::path(
    put,
    path = "/organization/users/{user_id}",
    operation_id = "update_org_user",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "A user of the caller's organization")),
    request_body = UpdateOrgUserBody,
    responses(
        (status = 200, description = "User updated successfully", body = OrgUserResponse),
        (status = 400, description = "`NO_VALID_FIELDS`, `INVALID_FIELD`, `INVALID_ROLE` (Invalid role combination), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorWithEmptyData),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to update users; `LAST_OWNER`", body = ErrorWithEmptyData),
        (status = 404, description = "User not found", body = ErrorWithEmptyData),
        (status = 413, description = "Request body over 64 KiB", body = ErrorWithEmptyData),
        (status = 415, description = "A non-empty body whose Content-Type is not JSON", body = ErrorWithEmptyData),
        (status = 500, description = "Failed to update user (with `\"data\": {}`)", body = ErrorResponse),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    body: Result<JsonBody<UpdateOrgUserBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    update_user_inner(state, auth, user_id, body)
        .await
        .map_err(|e| e.with_field("data", json!({})))
}

async fn update_user_inner(
    state: AppState,
    auth: AuthUser,
    user_id: String,
    body: Result<JsonBody<UpdateOrgUserBody>, ApiError>,
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

/// Soft delete a user; their sessions end at once.
#[utoipa::path(
    delete,
    path = "/organization/users/{user_id}",
    operation_id = "delete_org_user",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "A user of the caller's organization")),
    responses(
        (status = 200, description = "User deleted successfully", body = MessageResponse),
        (status = 400, description = "Cannot delete yourself; `USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to delete users; `LAST_OWNER`", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to delete user", body = ErrorResponse),
    )
)]
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

/// Restore a deleted user.
#[utoipa::path(
    post,
    path = "/organization/users/{user_id}/activate",
    operation_id = "activate_org_user",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "A deleted user of the caller's organization")),
    responses(
        (status = 200, description = "User activated successfully", body = MessageResponse),
        (status = 400, description = "User is not deleted; `USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to activate users", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to activate user", body = ErrorResponse),
    )
)]
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

/// Send a fresh verification e-mail to a user who has not verified yet.
#[utoipa::path(
    post,
    path = "/organization/users/{user_id}/resend-invitation",
    operation_id = "resend_org_user_invitation",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(("user_id" = Uuid, Path, description = "A user of the caller's organization")),
    responses(
        (status = 200, description = "Invitation sent successfully", body = MessageResponse),
        (status = 400, description = "User is already validated; `USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to resend invitations", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to resend invitation", body = ErrorResponse),
    )
)]
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
