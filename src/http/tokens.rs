//! The caller's sessions: `GET /token` and `DELETE /token/{tokenId}`.

use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::AuthUser;
use super::AppState;
use crate::clock::{now_ms, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/token", get(list_tokens))
        .route("/token/{token_id}", delete(revoke_token))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenJson {
    id: Uuid,
    created_at: String,
    last_used_at: String,
    /// Unix milliseconds, like every `expiresAt`.
    expires_at: i64,
    /// True for the session of the access token making this request.
    current: bool,
}

async fn list_tokens(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let sessions = state
        .store
        .list_sessions(auth.user.id, now_ms())
        .await
        .or_500("Failed to fetch tokens")?;
    let tokens: Vec<TokenJson> = sessions
        .into_iter()
        .map(|s| TokenJson {
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            expires_at: s.expires_at,
            current: s.id == auth.session_id,
        })
        .collect();
    Ok(Json(json!({ "success": true, "tokens": tokens })))
}

/// Revokes one of the caller's own sessions. Another user's session, an unknown id and a
/// malformed id are all the same 404.
async fn revoke_token(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(token_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::not_found("TOKEN_NOT_FOUND", "Token not found");
    let session_id = Uuid::parse_str(&token_id).map_err(|_| not_found())?;
    let revoked = state
        .store
        .revoke_session(auth.user.id, session_id, now_ms())
        .await
        .or_500("Failed to revoke token")?;
    if !revoked {
        return Err(not_found());
    }
    Ok(Json(json!({ "success": true })))
}
