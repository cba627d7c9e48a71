//! Users by id (contract section 4): `GET /user/profile` (the caller's profile), `GET` and `PUT
//! /user/{userId}` (a user's role summary; name and password changes), `PUT /user/{userId}/role`
//! (role changes). The other `/user/...` routes open or refresh sessions: `login.rs`,
//! `registration.rs`, `password_reset.rs`.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::now_ms;
use crate::domain::{can_manage_users, OrgId, OrgRole, Password, RoleDenied, UserId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{
    BodyRejected, InternalError, PasswordBodyRejected, Unauthorized,
};
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::{hash_password, hashing_failed};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AnySession, AuthUser, JsonBody, UserPath};
use crate::http::common::fields::{self, NameChange};
use crate::http::common::rules::{
    last_owner, org_user, require_manager, user_change, user_not_found, Find,
};
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::AppState;
use crate::store::{User, UserChangeOutcome, UserUpdate};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profile))
        .routes(routes!(get_user, update_user))
        .routes(routes!(change_role))
        .routes(routes!(deactivate))
}

/// The caller's profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Profile {
    id: UserId,
    /// First name.
    name: String,
    last_name: String,
    email: String,
    org_id: OrgId,
    /// 0 USER, 1 BILLING, 2 WORKSPACES, 254 ADMINISTRATORS, 255 OWNER.
    org_role: i16,
    /// `USER`, `BILLING`, `WORKSPACES`, `ADMINISTRATORS` or `OWNER`.
    org_role_description: &'static str,
    /// Every defined role up to the user's own.
    org_roles: Vec<u8>,
    validated: bool,
    /// Always false.
    mfa_required: bool,
    is_business: bool,
    /// An administrator of this server (`workspaces admin grant`): they manage activation
    /// links.
    instance_admin: bool,
}

/// `GET /user/profile`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct ProfileResponse {
    success: SuccessTrue,
    data: Profile,
}

impl ProfileResponse {
    /// The profile of `user`, whose organization is a business or not; `mfa_required`: section
    /// 8's `isRequired`.
    fn new(user: User, is_business: bool, mfa_required: bool) -> Self {
        let role = user.org_role;
        let data = Profile {
            id: user.id,
            name: user.first_name,
            last_name: user.last_name,
            email: user.email,
            org_id: user.org_id,
            org_role: user.org_role.value().into(),
            org_role_description: role.description(),
            org_roles: role.inherited_values(),
            validated: user.validated,
            mfa_required,
            is_business,
            instance_admin: user.instance_admin,
        };
        ProfileResponse {
            success: SuccessTrue,
            data,
        }
    }
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
async fn profile(
    State(state): State<AppState>,
    AnySession(auth, _): AnySession,
) -> Result<Json<ProfileResponse>, ApiError> {
    const FAILED: &str = "Internal server error";
    let (mfa, is_business) = state
        .store
        .profile_facts(auth.user.id)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| ApiError::internal(FAILED, "the caller is gone"))?;
    Ok(Json(ProfileResponse::new(
        auth.user,
        is_business,
        mfa.is_required(),
    )))
}

/// A user's role summary.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RoleSummary {
    user_id: UserId,
    org_role: u8,
    org_role_description: &'static str,
    org_roles: Vec<u8>,
}

/// `GET /user/{userId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct RoleSummaryResponse {
    success: SuccessTrue,
    data: RoleSummary,
}

impl RoleSummaryResponse {
    fn new(user_id: UserId, role: OrgRole) -> Self {
        let data = RoleSummary {
            user_id,
            org_role: role.value(),
            org_role_description: role.description(),
            org_roles: role.inherited_values(),
        };
        RoleSummaryResponse {
            success: SuccessTrue,
            data,
        }
    }
}

/// Any member of the organization may read another's role; other organizations' users, deleted
/// users, unknown and malformed ids are all "User not found".
#[utoipa::path(
    get,
    path = "/user/{userId}",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(UserPath),
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
    Path(UserPath { user_id }): Path<UserPath>,
) -> Result<Json<RoleSummaryResponse>, ApiError> {
    let user = org_user(
        &state,
        &auth,
        user_id,
        Find::LiveUser,
        "Failed to fetch user",
    )
    .await?;
    Ok(Json(RoleSummaryResponse::new(user.id, user.org_role)))
}

/// At least one field. `password` only for oneself; it ends the user's other sessions.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateUserBody {
    /// First name.
    #[schema(schema_with = schema::optional_person_name)]
    name: Option<String>,
    #[schema(schema_with = schema::optional_person_name)]
    last_name: Option<String>,
    #[schema(schema_with = schema::optional_password)]
    password: Option<String>,
    /// The password now: required with `password` from a session older than 10 minutes, and
    /// checked whenever it is sent.
    #[schema(value_type = String)]
    current_password: Option<String>,
}

/// A session this young may change its password without the current one: the official
/// client's `updateUser` sends none, and its login just proved the password. Past it, a stolen
/// access token alone must not become a lasting takeover (a new password ends the other
/// sessions).
const RECENT_LOGIN_MS: i64 = 10 * 60 * 1000;

/// The caller proves they know their password before changing it (see [`RECENT_LOGIN_MS`]). A
/// wrong one counts as a failed login for the account, under the same lock as logins.
async fn confirm_current_password(
    state: &AppState,
    auth: &AuthUser,
    client: ClientAddr,
    current: Option<&str>,
    failed: &'static str,
) -> Result<(), ApiError> {
    let Some(current) = current.filter(|p| !p.is_empty()) else {
        if now_ms() - auth.session_created_at < RECENT_LOGIN_MS {
            return Ok(());
        }
        return Err(ApiError::forbidden(
            ErrorCode::CurrentPasswordRequired,
            "Current password is required",
        ));
    };
    let attempt = state
        .throttle
        .login_attempt(AccountKey::email(&auth.user.email), client)?;
    let matches = Password::could_match(current) && {
        let hash = state
            .store
            .password_hash(auth.user.id)
            .await
            .or_500(failed)?;
        let verified = state.hasher.verify(current, hash.as_deref()).await;
        verified.map_err(hashing_failed(failed))?
    };
    if !matches {
        attempt.failed();
        return Err(ApiError::forbidden(
            ErrorCode::CurrentPasswordIncorrect,
            "Current password is incorrect",
        ));
    }
    Ok(())
}

/// Names: oneself, or a manager (WORKSPACES+) of a user below them. Password: only oneself,
/// with `currentPassword` from a session older than 10 minutes; the user's other sessions end.
/// Requests with a password are rate limited per user, and a wrong `currentPassword` like a
/// failed login.
#[utoipa::path(
    put,
    path = "/user/{userId}",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(UserPath),
    request_body = UpdateUserBody,
    responses(
        (status = 200, description = "User updated successfully", body = MessageResponse),
        (status = 400, description = "`NO_VALID_FIELDS`, `INVALID_FIELD`, `WEAK_PASSWORD`, `USER_NOT_VALIDATED` (caller deleted or not verified), malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to update user; a password can only be changed by its owner (`PASSWORD_SELF_ONLY`); `CURRENT_PASSWORD_REQUIRED`, `CURRENT_PASSWORD_INCORRECT`", body = ErrorResponse),
        (status = 404, description = "User not found", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Failed to update user", body = ErrorResponse),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientAddr,
    Path(UserPath { user_id }): Path<UserPath>,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> Result<Json<MessageResponse>, ApiError> {
    const DENIED: &str = "Insufficient permissions to update user";
    const FAILED: &str = "Failed to update user";
    let names = NameChange::parse(body.name.as_deref(), body.last_name.as_deref())?;
    let password = body.password.as_deref().map(fields::password).transpose()?;
    if names.is_empty() && password.is_none() {
        return Err(fields::no_valid_fields());
    }
    auth.require_validated()?;
    let target = user_id.or(user_not_found)?;
    let oneself = target == auth.user.id;
    if !oneself && !can_manage_users(auth.user.org_role) {
        return Err(ApiError::insufficient_permissions(DENIED));
    }
    if !oneself && password.is_some() {
        // Another organization's users and unknown ids stay "User not found", as everywhere.
        let target_user = state.store.org_user(auth.user.org_id, target).await;
        if target_user
            .or_500(FAILED)?
            .filter(|u| u.deleted_at.is_none())
            .is_none()
        {
            return Err(user_not_found());
        }
        return Err(ApiError::forbidden(
            ErrorCode::PasswordSelfOnly,
            "A password can only be changed by its owner",
        ));
    }
    if password.is_some() {
        state.throttle.check_hashing(auth.user.id)?;
        let current = body.current_password.as_deref();
        confirm_current_password(&state, &auth, client, current, FAILED).await?;
    }
    let update = UserUpdate {
        change: user_change(&auth, target),
        first_name: names.first_name,
        last_name: names.last_name,
        org_role: None,
        password_hash: hash_password(&state, password, FAILED).await?,
        keep_session: Some(auth.session_id),
    };
    match state.store.update_user(update).await.or_500(FAILED)? {
        UserChangeOutcome::Done { .. } => {
            Ok(Json(MessageResponse::new("User updated successfully")))
        }
        UserChangeOutcome::Denied(_) => Err(ApiError::insufficient_permissions(DENIED)),
        UserChangeOutcome::LastOwner
        | UserChangeOutcome::NotFound
        | UserChangeOutcome::NotDeleted
        | UserChangeOutcome::QuotaExceeded => Err(user_not_found()),
    }
}

/// The new organization role.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OrgRoleBody {
    /// 0 USER, 1 BILLING, 2 WORKSPACES, 254 ADMINISTRATORS, 255 OWNER (3..=253 are refused).
    #[schema(schema_with = schema::org_role, required = true)]
    org_role: Option<i64>,
}

/// The outcome of a role change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RoleChange {
    user_id: UserId,
    previous_role: u8,
    new_role: u8,
    message: &'static str,
}

/// `PUT /user/{userId}/role`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct RoleChangeResponse {
    success: SuccessTrue,
    data: RoleChange,
}

impl RoleChangeResponse {
    fn new(user_id: UserId, previous_role: OrgRole, new_role: OrgRole) -> Self {
        let data = RoleChange {
            user_id,
            previous_role: previous_role.value(),
            new_role: new_role.value(),
            message: "User role updated successfully",
        };
        RoleChangeResponse {
            success: SuccessTrue,
            data,
        }
    }
}

/// Change a user's organization role under the role rules. Check order: token -> body -> caller
/// validated -> WORKSPACES+ -> target (404) -> role rules (403) -> last OWNER (403).
#[utoipa::path(
    put,
    path = "/user/{userId}/role",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(UserPath),
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
    Path(UserPath { user_id }): Path<UserPath>,
    JsonBody(body): JsonBody<OrgRoleBody>,
) -> Result<Json<RoleChangeResponse>, ApiError> {
    let raw_role = body
        .org_role
        .ok_or_else(|| ApiError::missing_field("orgRole"))?;
    let new_role = fields::org_role(raw_role)?;
    auth.require_validated()?;
    require_manager(&auth, "Insufficient permissions to change user roles")?;
    let target = user_id.or(user_not_found)?;
    let update = UserUpdate {
        change: user_change(&auth, target),
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
        UserChangeOutcome::Done { before, .. } => Ok(Json(RoleChangeResponse::new(
            target,
            before.org_role,
            new_role,
        ))),
        UserChangeOutcome::Denied(RoleDenied::CannotManage) => {
            Err(ApiError::insufficient_permissions(
                "Insufficient permissions to change this user's role",
            ))
        }
        UserChangeOutcome::Denied(RoleDenied::AboveOwnRole) => Err(
            ApiError::insufficient_permissions("Cannot assign a role above your own"),
        ),
        UserChangeOutcome::LastOwner => Err(last_owner()),
        UserChangeOutcome::NotFound
        | UserChangeOutcome::NotDeleted
        | UserChangeOutcome::QuotaExceeded => Err(user_not_found()),
    }
}

/// `POST /user/deactivate`: what proves the caller may end their account.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeactivateBody {
    /// Required from a session older than 10 minutes when the account has a password, as for a
    /// password change; checked whenever it is sent.
    #[schema(value_type = String)]
    current_password: Option<String>,
}

/// Deactivate one's own account (contract section 13): it is deleted as an administrator's
/// `DELETE /organization/users/{userId}` deletes it (an administrator's activate restores it),
/// every session ends at once, and logging in answers 401 `USER_INACTIVE`. The body may be
/// absent (the official client sends none).
#[utoipa::path(
    post,
    path = "/user/deactivate",
    tag = "identity",
    security(("bearerAuth" = [])),
    request_body(content = DeactivateBody, description = "Optional"),
    responses(
        (status = 200, description = "Account deactivated successfully", body = MessageResponse),
        (status = 400, description = "The last owner of an organization cannot be deactivated (`LAST_OWNER`); malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "`CURRENT_PASSWORD_REQUIRED`, `CURRENT_PASSWORD_INCORRECT`", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Failed to deactivate account", body = ErrorResponse),
    )
)]
async fn deactivate(
    State(state): State<AppState>,
    auth: AuthUser,
    client: ClientAddr,
    JsonBody(body): JsonBody<DeactivateBody>,
) -> Result<Json<MessageResponse>, ApiError> {
    const FAILED: &str = "Failed to deactivate account";
    let current = body.current_password.as_deref().filter(|p| !p.is_empty());
    // A stolen access token alone must not end an account for good any more than it may change
    // its password; an account without a password has nothing more to prove. The password is
    // read only when that decides something (`confirm_current_password` reads it to check one).
    let must_prove = match current {
        Some(_) => {
            state.throttle.check_hashing(auth.user.id)?;
            true
        }
        None if now_ms() - auth.session_created_at < RECENT_LOGIN_MS => false,
        None => state
            .store
            .password_hash(auth.user.id)
            .await
            .or_500(FAILED)?
            .is_some(),
    };
    if must_prove {
        confirm_current_password(&state, &auth, client, current, FAILED).await?;
    }
    match state
        .store
        .deactivate_self(user_change(&auth, auth.user.id))
        .await
        .or_500(FAILED)?
    {
        UserChangeOutcome::Done { .. } => Ok(Json(MessageResponse::new(
            "Account deactivated successfully",
        ))),
        UserChangeOutcome::LastOwner => Err(ApiError::bad_request(
            ErrorCode::LastOwner,
            "The last owner of an organization cannot be deactivated",
        )),
        // The session's user is gone or was deleted meanwhile: as for any request of theirs.
        _ => Err(ApiError::unauthorized()),
    }
}
