//! The session bodies several route modules share: the login answer (`POST /user/login`, the
//! provider sign-ins), the tokens a new or verified session is
//! issued (`POST /user/register`, `POST /user/login`, `POST /mfa/verify-login`), the user summary
//! beside them (register, login), and a signed-in session as listed (`GET /sessions`,
//! `GET /devices/{id}`).

use serde::Serialize;
use utoipa::ToSchema;

use super::constants::{Null, SuccessTrue};
use crate::clock::rfc3339;
use crate::domain::{self, OrgId, SessionId, UserId};
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

/// `POST /user/login`, 200, and the provider sign-ins (`POST /auth/google`, ...).
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

/// How a session logged in: with a password (`LOCAL`), through an identity provider (`OIDC`:
/// a generic OpenID Connect provider), or with a passkey alone (`PASSKEY`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LoginMethod {
    Local,
    Google,
    Microsoft,
    Github,
    Oidc,
    Passkey,
}

impl From<domain::LoginMethod> for LoginMethod {
    fn from(method: domain::LoginMethod) -> Self {
        match method {
            domain::LoginMethod::Local => LoginMethod::Local,
            domain::LoginMethod::Google => LoginMethod::Google,
            domain::LoginMethod::Microsoft => LoginMethod::Microsoft,
            domain::LoginMethod::Github => LoginMethod::Github,
            domain::LoginMethod::Oidc => LoginMethod::Oidc,
            domain::LoginMethod::Passkey => LoginMethod::Passkey,
        }
    }
}

/// One of the caller's live sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SignedInSession)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson {
    /// The session id: the login's `tokenId`, as `GET /token` lists it.
    id: SessionId,
    /// Its device, e.g. "Firefox on Linux".
    device_name: String,
    /// The client address it was opened from (behind trusted proxies, the forwarded one).
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<String>,
    /// Always null: no geolocation.
    location: Null,
    /// Its login.
    #[schema(format = DateTime)]
    started_at: String,
    /// Its last login, refresh or heartbeat.
    #[schema(format = DateTime)]
    last_activity: String,
    /// Unix milliseconds, like every `expiresAt`.
    expires_at: i64,
    login_method: LoginMethod,
}

impl From<SessionInfo> for SessionJson {
    fn from(session: SessionInfo) -> Self {
        SessionJson {
            id: session.id,
            device_name: session
                .device_name
                .unwrap_or_else(|| "Unknown device".to_owned()),
            ip_address: session.ip_address,
            location: Null,
            started_at: rfc3339(session.created_at),
            last_activity: rfc3339(session.last_used_at),
            expires_at: session.expires_at,
            login_method: session.login_method.into(),
        }
    }
}
