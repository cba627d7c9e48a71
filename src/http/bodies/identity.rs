//! Bodies of the identity routes: registration, login and refresh answers, sessions, the
//! caller's profile, role summaries and role changes.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{OrgId, SessionId, UserId};

use super::constants::SuccessTrue;
use crate::clock::rfc3339;
use crate::domain::OrgRole;
use crate::store::{SessionInfo, User};

/// The token fields shared by register and login answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// The session id, for `DELETE /token/{tokenId}`.
    pub token_id: SessionId,
    /// When the access token expires, Unix milliseconds.
    pub expires_at: i64,
}

/// The user summary that register and login return.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: UserId,
    pub email: String,
    /// First name.
    pub name: String,
    pub org_id: OrgId,
    pub org_role: i16,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        UserSummary {
            id: user.id,
            email: user.email.clone(),
            name: user.first_name.clone(),
            org_id: user.org_id,
            org_role: user.org_role.value().into(),
        }
    }
}

/// `POST /user/register`, 201.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    success: SuccessTrue,
    #[serde(flatten)]
    tokens: IssuedTokens,
    /// Id of the verification e-mail's token, for `POST /user/resend-verification/{id}`.
    verification_token_id: Uuid,
    user: UserSummary,
}

impl RegisterResponse {
    pub fn new(tokens: IssuedTokens, verification_token_id: Uuid, user: UserSummary) -> Self {
        RegisterResponse {
            success: SuccessTrue,
            tokens,
            verification_token_id,
            user,
        }
    }
}

/// `POST /user/login`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    success: SuccessTrue,
    #[serde(flatten)]
    tokens: IssuedTokens,
    user: UserSummary,
    /// Present (true) when the session waits for its second factor: until
    /// `POST /mfa/verify-login`, its access token opens only the pending-session allow-list.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    mfa_required: bool,
}

impl LoginResponse {
    pub fn new(tokens: IssuedTokens, user: UserSummary, mfa_required: bool) -> Self {
        LoginResponse {
            success: SuccessTrue,
            tokens,
            user,
            mfa_required,
        }
    }
}

/// `POST /user/refresh`, 200: a new token pair (`token` repeats `accessToken`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    success: SuccessTrue,
    /// Same as `accessToken`.
    token: String,
    access_token: String,
    refresh_token: String,
    /// When the access token expires, Unix milliseconds.
    expires_at: i64,
}

impl From<IssuedTokens> for RefreshResponse {
    fn from(tokens: IssuedTokens) -> Self {
        RefreshResponse {
            success: SuccessTrue,
            token: tokens.access_token.clone(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: tokens.expires_at,
        }
    }
}

/// `POST /user/resend-verification/{verificationTokenId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResendVerificationResponse {
    success: SuccessTrue,
    message: &'static str,
    /// Id of the new verification token.
    verification_token_id: Uuid,
}

impl ResendVerificationResponse {
    pub fn new(verification_token_id: Uuid) -> Self {
        ResendVerificationResponse {
            success: SuccessTrue,
            message: "Verification email sent",
            verification_token_id,
        }
    }
}

/// One of the caller's live sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
#[serde(rename_all = "camelCase")]
pub struct TokenJson {
    /// The session id (`tokenId`).
    id: SessionId,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
    /// Unix milliseconds, like every `expiresAt`.
    expires_at: i64,
    /// True for the session of the access token making this request.
    current: bool,
}

/// `GET /token`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensResponse {
    success: SuccessTrue,
    tokens: Vec<TokenJson>,
}

impl TokensResponse {
    /// The sessions, `current` marking the one with id `current`.
    pub fn new(sessions: Vec<SessionInfo>, current: SessionId) -> Self {
        let tokens = sessions
            .into_iter()
            .map(|s| TokenJson {
                id: s.id,
                created_at: rfc3339(s.created_at),
                last_used_at: rfc3339(s.last_used_at),
                expires_at: s.expires_at,
                current: s.id == current,
            })
            .collect();
        TokensResponse {
            success: SuccessTrue,
            tokens,
        }
    }
}

/// The caller's profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
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
}

/// `GET /user/profile`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    success: SuccessTrue,
    data: Profile,
}

impl ProfileResponse {
    /// The profile of `user`, whose organization is a business or not; `mfa_required`: section
    /// 8's `isRequired`.
    pub fn new(user: User, is_business: bool, mfa_required: bool) -> Self {
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
        };
        ProfileResponse {
            success: SuccessTrue,
            data,
        }
    }
}

/// A user's role summary.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSummary {
    user_id: UserId,
    org_role: u8,
    org_role_description: &'static str,
    org_roles: Vec<u8>,
}

/// `GET /user/{userId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleSummaryResponse {
    success: SuccessTrue,
    data: RoleSummary,
}

impl RoleSummaryResponse {
    pub fn new(user_id: UserId, role: OrgRole) -> Self {
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

/// The outcome of a role change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleChange {
    user_id: UserId,
    previous_role: u8,
    new_role: u8,
    message: &'static str,
}

/// `PUT /user/{userId}/role`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleChangeResponse {
    success: SuccessTrue,
    data: RoleChange,
}

impl RoleChangeResponse {
    pub fn new(user_id: UserId, previous_role: OrgRole, new_role: OrgRole) -> Self {
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
