//! Issuing the token set a login, a registration or a refresh answers with.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{hash_token, new_token, AccessClaims, ACCESS_TOKEN_TTL_MS};
use crate::store::{NewRefreshToken, NewSession, User};

use super::AppState;

/// Refresh tokens (and so sessions, which slide with them) live 30 days.
pub const REFRESH_TOKEN_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// The token fields shared by register, login and refresh answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// The session id, for `DELETE /token/{token_id}`.
    pub token_id: Uuid,
    /// When the access token expires, Unix milliseconds.
    pub expires_at: i64,
}

/// The user summary that register and login return.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub org_id: Uuid,
    pub org_role: i16,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        UserSummary {
            id: user.id,
            email: user.email.clone(),
            name: user.first_name.clone(),
            org_id: user.org_id,
            org_role: user.org_role,
        }
    }
}

/// A new session for `user_id`, with its first refresh token (plain text for the client, hash for
/// the store).
pub fn new_session(user_id: Uuid, now: i64) -> (NewSession, NewRefreshToken, String) {
    let session = NewSession {
        id: Uuid::now_v7(),
        user_id,
        created_at: now,
        expires_at: now + REFRESH_TOKEN_TTL_MS,
    };
    let plain = new_token();
    let refresh = NewRefreshToken {
        token_hash: hash_token(&plain),
        session_id: session.id,
        created_at: now,
        expires_at: session.expires_at,
    };
    (session, refresh, plain)
}

/// Signs an access token for `user` in `session_id` and bundles it with the refresh token.
pub fn issue(
    state: &AppState,
    user_id: Uuid,
    email: &str,
    org_id: Uuid,
    session_id: Uuid,
    refresh_token: String,
    now: i64,
) -> anyhow::Result<IssuedTokens> {
    let expires_at = now + ACCESS_TOKEN_TTL_MS;
    let claims = AccessClaims {
        user_id,
        email: email.to_owned(),
        org_id,
        token_type: "access".to_owned(),
        sid: session_id,
        iat: now / 1000,
        exp: expires_at / 1000,
    };
    Ok(IssuedTokens {
        access_token: state.keys.issue(&claims)?,
        refresh_token,
        token_id: session_id,
        expires_at,
    })
}
