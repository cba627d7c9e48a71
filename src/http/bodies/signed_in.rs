//! The bodies of `/sessions` (contract section 9): the caller's sessions, the same rows as
//! `GET /token` lists.

use serde::Serialize;
use utoipa::ToSchema;

use super::constants::{Null, SuccessTrue};
use crate::clock::rfc3339;
use crate::domain::SessionId;
use crate::store::SessionInfo;

/// How a session logged in: always with a password here.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum LoginMethod {
    #[serde(rename = "LOCAL")]
    Local,
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
            login_method: LoginMethod::Local,
        }
    }
}

/// `GET /sessions`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsResponse {
    success: SuccessTrue,
    sessions: Vec<SessionJson>,
}

impl SessionsResponse {
    pub fn new(sessions: Vec<SessionInfo>) -> Self {
        SessionsResponse {
            success: SuccessTrue,
            sessions: sessions.into_iter().map(SessionJson::from).collect(),
        }
    }
}

/// `POST /sessions/{id}/heartbeat`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    success: SuccessTrue,
    /// Always `Session updated successfully`.
    message: &'static str,
    /// The session's new expiry, Unix milliseconds (like `expiresAt`).
    new_expiry: i64,
}

impl HeartbeatResponse {
    pub fn new(new_expiry: i64) -> Self {
        HeartbeatResponse {
            success: SuccessTrue,
            message: "Session updated successfully",
            new_expiry,
        }
    }
}
