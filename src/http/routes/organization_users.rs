//! The organization's users (contract section 5): `GET` and `POST /organization/users` (list,
//! create), `GET`, `PUT` and `DELETE /organization/users/{userId}` (read, update, delete), `POST
//! /organization/users/{userId}/activate` and `/resend-invitation`. All need WORKSPACES or
//! higher in the same organization; the finer role rules (`domain::org_rules`) are checked by
//! the store under a lock of the organization.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::{now_ms, rfc3339};
use crate::domain::{can_grant, OrgId, UserId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{
    ErrorCode, ErrorResponse, ErrorWithEmptyData, ErrorWithEmptyList,
};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{BodyRejected, PasswordBodyRejected, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::{
    hash_password, new_verification, send_new_verification, send_verification, Verifying,
};
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::{AuthUser, JsonBody, UserPath};
use crate::http::common::fields::{self, NameChange};
use crate::http::common::rules::{
    last_owner, org_user, require_manager, user_change, user_not_found, Find,
};
use crate::http::common::throttle::AccountKey;
use crate::http::AppState;
use crate::store::{CreateUserOutcome, NewUser, User, UserChangeOutcome, UserUpdate};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_org_users, create_org_user))
        .routes(routes!(get_org_user, update_org_user, delete_org_user))
        .routes(routes!(activate_org_user))
        .routes(routes!(resend_org_user_invitation))
}

/// A user of the organization, deleted ones included. `GET /organization/users/{userId}`
/// answers it bare, without envelope, as documented.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
#[serde(rename_all = "camelCase")]
struct OrgUserJson {
    id: UserId,
    email: String,
    /// First name.
    name: String,
    last_name: String,
    org_id: OrgId,
    org_role: i16,
    validated: bool,
    /// When the user was deleted, or null.
    #[schema(required = true, format = DateTime)]
    deleted_at: Option<String>,
    org_role_description: &'static str,
    org_roles: Vec<u8>,
}

impl From<User> for OrgUserJson {
    fn from(user: User) -> Self {
        let role = user.org_role;
        OrgUserJson {
            id: user.id,
            email: user.email,
            name: user.first_name,
            last_name: user.last_name,
            org_id: user.org_id,
            org_role: user.org_role.value().into(),
            validated: user.validated,
            deleted_at: user.deleted_at.map(rfc3339),
            org_role_description: role.description(),
            org_roles: role.inherited_values(),
        }
    }
}

/// `GET /organization/users`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct OrgUsersResponse {
    success: SuccessTrue,
    data: Vec<OrgUserJson>,
    total: usize,
}

impl From<Vec<User>> for OrgUsersResponse {
    fn from(users: Vec<User>) -> Self {
        let data: Vec<OrgUserJson> = users.into_iter().map(OrgUserJson::from).collect();
        OrgUsersResponse {
            success: SuccessTrue,
            total: data.len(),
            data,
        }
    }
}

/// The organization's users, deleted ones included (WORKSPACES or higher). Its errors carry
/// `"data": [], "total": 0`, as documented.
#[utoipa::path(
    get,
    path = "/organization/users",
    tag = "organization",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The organization's users", body = OrgUsersResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to view users", body = ErrorWithEmptyList),
        (status = 500, description = "Failed to fetch users", body = ErrorWithEmptyList),
    )
)]
async fn list_org_users(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<OrgUsersResponse>, ShapedError<ErrorWithEmptyList>> {
    require_manager(&auth, "Insufficient permissions to view users")?;
    let users = state
        .store
        .list_org_users(auth.user.org_id)
        .await
        .or_500("Failed to fetch users")?;
    Ok(Json(users.into()))
}

/// A new user of the caller's organization, not yet verified.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateOrgUserBody {
    #[schema(schema_with = schema::email, required = true)]
    email: Option<String>,
    /// Without one, the user chooses it when verifying their e-mail.
    #[schema(schema_with = schema::optional_password)]
    password: Option<String>,
    #[schema(schema_with = schema::person_name, required = true)]
    first_name: Option<String>,
    #[schema(schema_with = schema::person_name, required = true)]
    last_name: Option<String>,
    /// Default 0 (USER); at most the caller's own role.
    #[schema(schema_with = schema::optional_org_role)]
    org_role: Option<i64>,
    /// Send the verification e-mail (default true).
    send_invite: Option<bool>,
}

/// `POST /organization/users` (201) and `PUT /organization/users/{userId}` (200).
#[derive(Debug, Serialize, ToSchema)]
struct OrgUserResponse {
    success: SuccessTrue,
    data: OrgUserJson,
    message: &'static str,
}

impl OrgUserResponse {
    fn new(user: User, message: &'static str) -> Self {
        OrgUserResponse {
            success: SuccessTrue,
            data: user.into(),
            message,
        }
    }
}

/// Create a user; sends the verification e-mail unless `sendInvite` is false. Check order: token
/// -> body -> caller validated -> WORKSPACES+ -> role grantable -> (with a password) the
/// caller's hashing rate limit -> the organization's user limit -> e-mail free.
#[utoipa::path(
    post,
    path = "/organization/users",
    tag = "organization",
    security(("bearerAuth" = [])),
    request_body = CreateOrgUserBody,
    responses(
        (status = 201, description = "User created successfully", body = OrgUserResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_EMAIL`, `WEAK_PASSWORD`, `INVALID_FIELD`, `INVALID_ROLE` (Invalid role combination), `EMAIL_ALREADY_EXISTS`, `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to create users; cannot assign a role above your own; `QUOTA_EXCEEDED` User limit reached for this organization (`--max-users-per-org`)", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Failed to create user", body = ErrorResponse),
    )
)]
async fn create_org_user(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<CreateOrgUserBody>,
) -> Result<(StatusCode, Json<OrgUserResponse>), ApiError> {
    const FAILED: &str = "Failed to create user";
    let email = fields::email(&body.email)?;
    // Without a password the user chooses one when verifying their e-mail.
    let password = body.password.as_deref().map(fields::password).transpose()?;
    let first_name = fields::required_name(&body.first_name, "firstName")?;
    let last_name = fields::required_name(&body.last_name, "lastName")?;
    let role = fields::org_role(body.org_role.unwrap_or(0))?;
    auth.require_validated()?;
    require_manager(&auth, "Insufficient permissions to create users")?;
    if !can_grant(auth.user.org_role, role) {
        return Err(ApiError::insufficient_permissions(
            "Cannot assign a role above your own",
        ));
    }
    if password.is_some() {
        state.throttle.check_hashing(auth.user.id)?;
    }

    let now = now_ms();
    let user = NewUser {
        id: UserId::new(),
        org_id: auth.user.org_id,
        email: email.as_str().to_owned(),
        email_key: email.key(),
        password_hash: hash_password(&state, password, FAILED).await?,
        first_name,
        last_name,
        org_role: role,
        validated: false,
        created_at: now,
    };
    let invite = body
        .send_invite
        .unwrap_or(true)
        .then(|| new_verification(&state, Verifying::Invitation, user.id, now));
    let (verification, token) = invite.unzip();
    let created = User {
        id: user.id,
        org_id: user.org_id,
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        org_role: user.org_role,
        validated: false,
        deleted_at: None,
        instance_admin: false,
    };
    let max_users = state.quotas.max_users_per_org;
    let inserted = state
        .store
        .create_org_user(auth.user.id, user, verification, max_users)
        .await;
    match fields::account_inserted(inserted, FAILED)? {
        CreateUserOutcome::Created => {}
        CreateUserOutcome::QuotaExceeded => return Err(user_limit_reached()),
    }
    if let Some(token) = token {
        send_verification(&state, Verifying::Invitation, &created.email, &token).await;
    }
    let answer = OrgUserResponse::new(created, "User created successfully");
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The bare User object on 200, as documented.
#[utoipa::path(
    get,
    path = "/organization/users/{userId}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "The user, without envelope", body = OrgUserJson),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to view users", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to fetch user", body = ErrorResponse),
    )
)]
async fn get_org_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(UserPath { user_id }): Path<UserPath>,
) -> Result<Json<OrgUserJson>, ApiError> {
    require_manager(&auth, "Insufficient permissions to view users")?;
    let user = org_user(
        &state,
        &auth,
        user_id,
        Find::AnyUser,
        "Failed to fetch user",
    )
    .await?;
    Ok(Json(user.into()))
}

/// At least one field.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateOrgUserBody {
    /// First name.
    #[schema(schema_with = schema::optional_person_name)]
    name: Option<String>,
    #[schema(schema_with = schema::optional_person_name)]
    last_name: Option<String>,
    #[schema(schema_with = schema::optional_org_role)]
    org_role: Option<i64>,
}

/// Update a user's names and role. Errors here carry `"data": {}` (contract section 5).
#[utoipa::path(
    put,
    path = "/organization/users/{userId}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(UserPath),
    request_body = UpdateOrgUserBody,
    responses(
        (status = 200, description = "User updated successfully", body = OrgUserResponse),
        (status = 400, description = "`NO_VALID_FIELDS`, `INVALID_FIELD`, `INVALID_ROLE` (Invalid role combination), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorWithEmptyData),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to update users; `LAST_OWNER`", body = ErrorWithEmptyData),
        (status = 404, description = "User not found", body = ErrorWithEmptyData),
        BodyRejected<ErrorWithEmptyData>,
        (status = 500, description = "Failed to update user", body = ErrorWithEmptyData),
    )
)]
async fn update_org_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(UserPath { user_id }): Path<UserPath>,
    body: Result<JsonBody<UpdateOrgUserBody>, ApiError>,
) -> Result<Json<OrgUserResponse>, ShapedError<ErrorWithEmptyData>> {
    const DENIED: &str = "Insufficient permissions to update users";
    let JsonBody(body) = body?;
    let names = NameChange::parse(body.name.as_deref(), body.last_name.as_deref())?;
    let org_role = body.org_role.map(fields::org_role).transpose()?;
    if names.is_empty() && org_role.is_none() {
        return Err(fields::no_valid_fields().into());
    }
    auth.require_validated()?;
    require_manager(&auth, DENIED)?;
    let update = UserUpdate {
        change: user_change(&auth, user_id.or(user_not_found)?),
        first_name: names.first_name,
        last_name: names.last_name,
        org_role,
        password_hash: None,
        keep_session: None,
    };
    let outcome = state.store.update_user(update).await;
    match outcome.or_500("Failed to update user")? {
        UserChangeOutcome::Done { after, .. } => Ok(Json(OrgUserResponse::new(
            *after,
            "User updated successfully",
        ))),
        UserChangeOutcome::Denied(_) => Err(ApiError::insufficient_permissions(DENIED).into()),
        UserChangeOutcome::LastOwner => Err(last_owner().into()),
        UserChangeOutcome::NotFound
        | UserChangeOutcome::NotDeleted
        | UserChangeOutcome::QuotaExceeded => Err(user_not_found().into()),
    }
}

/// Soft delete a user; their sessions end at once.
#[utoipa::path(
    delete,
    path = "/organization/users/{userId}",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "User deleted successfully", body = MessageResponse),
        (status = 400, description = "Cannot delete yourself; `USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to delete users; `LAST_OWNER`", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to delete user", body = ErrorResponse),
    )
)]
async fn delete_org_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(UserPath { user_id }): Path<UserPath>,
) -> Result<Json<MessageResponse>, ApiError> {
    const DENIED: &str = "Insufficient permissions to delete users";
    auth.require_validated()?;
    require_manager(&auth, DENIED)?;
    let target = user_id.or(user_not_found)?;
    if target == auth.user.id {
        return Err(ApiError::bad_request(
            ErrorCode::CannotDeleteSelf,
            "Cannot delete yourself",
        ));
    }
    match state
        .store
        .delete_org_user(user_change(&auth, target))
        .await
        .or_500("Failed to delete user")?
    {
        UserChangeOutcome::Done { .. } => {
            Ok(Json(MessageResponse::new("User deleted successfully")))
        }
        UserChangeOutcome::Denied(_) => Err(ApiError::insufficient_permissions(DENIED)),
        UserChangeOutcome::LastOwner => Err(last_owner()),
        UserChangeOutcome::NotFound
        | UserChangeOutcome::NotDeleted
        | UserChangeOutcome::QuotaExceeded => Err(user_not_found()),
    }
}

/// Restore a deleted user.
#[utoipa::path(
    post,
    path = "/organization/users/{userId}/activate",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "User activated successfully", body = MessageResponse),
        (status = 400, description = "User is not deleted; `USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to activate users; `QUOTA_EXCEEDED` User limit reached for this organization (`--max-users-per-org`)", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 500, description = "Failed to activate user", body = ErrorResponse),
    )
)]
async fn activate_org_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(UserPath { user_id }): Path<UserPath>,
) -> Result<Json<MessageResponse>, ApiError> {
    const DENIED: &str = "Insufficient permissions to activate users";
    auth.require_validated()?;
    require_manager(&auth, DENIED)?;
    let target = user_id.or(user_not_found)?;
    let outcome = state
        .store
        .activate_org_user(user_change(&auth, target), state.quotas.max_users_per_org)
        .await
        .or_500("Failed to activate user")?;
    match outcome {
        UserChangeOutcome::Done { .. } => {
            Ok(Json(MessageResponse::new("User activated successfully")))
        }
        UserChangeOutcome::Denied(_) => Err(ApiError::insufficient_permissions(DENIED)),
        UserChangeOutcome::NotDeleted => Err(ApiError::bad_request(
            ErrorCode::UserNotDeleted,
            "User is not deleted",
        )),
        UserChangeOutcome::QuotaExceeded => Err(user_limit_reached()),
        UserChangeOutcome::LastOwner | UserChangeOutcome::NotFound => Err(user_not_found()),
    }
}

/// 403 `QUOTA_EXCEEDED`: the organization holds `--max-users-per-org` active users already.
fn user_limit_reached() -> ApiError {
    ApiError::forbidden(
        ErrorCode::QuotaExceeded,
        "User limit reached for this organization",
    )
}

/// Send a fresh verification e-mail to a user who has not verified yet.
#[utoipa::path(
    post,
    path = "/organization/users/{userId}/resend-invitation",
    tag = "organization",
    security(("bearerAuth" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "Invitation sent successfully", body = MessageResponse),
        (status = 400, description = "User is already validated; `USER_NOT_VALIDATED`", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to resend invitations", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        (status = 429, description = "`RATE_LIMITED`: invitations to this user were resent too often (`Retry-After`)", body = ErrorResponse),
        (status = 500, description = "Failed to resend invitation", body = ErrorResponse),
    )
)]
async fn resend_org_user_invitation(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(UserPath { user_id }): Path<UserPath>,
) -> Result<Json<MessageResponse>, ApiError> {
    const FAILED: &str = "Failed to resend invitation";
    auth.require_validated()?;
    require_manager(&auth, "Insufficient permissions to resend invitations")?;
    let user = org_user(&state, &auth, user_id, Find::LiveUser, FAILED).await?;
    if user.validated {
        return Err(ApiError::bad_request(
            ErrorCode::AlreadyVerified,
            "User is already validated",
        ));
    }
    // Each resend is an e-mail to an address that did not ask for it, and a row kept: limited
    // per invited user, whoever asks (as the public resend is per verification).
    let key = AccountKey::token("invitation", &user.id.to_string());
    state.throttle.check_account(key)?;
    send_new_verification(&state, Verifying::Invitation, user.id, &user.email, FAILED).await?;
    Ok(Json(MessageResponse::new("Invitation sent successfully")))
}
