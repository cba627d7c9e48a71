//! The caller's sessions: `GET /token` and `DELETE /token/{tokenId}`.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::AuthUser;
use super::openapi::{ErrorResponse, SuccessResponse, TokensResponse, Unauthorized};
use super::AppState;
use crate::clock::{now_ms, rfc3339};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}

/// One of the caller's live sessions.
#[derive(Serialize, ToSchema)]
#[schema(as = Token)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenJson {
    /// The session id (`tokenId`).
    id: Uuid,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
    /// Unix milliseconds, like every `expiresAt`.
    expires_at: i64,
    /// True for the session of the access token making this request.
    current: bool,
}

/// The caller's live sessions.
#[utoipa::path(
    get,
    path = "/token",
    tag = "identity",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = TokensResponse),
        Unauthorized,
        (status = 500, description = "Failed to fetch tokens", body = ErrorResponse),
    )
)]
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
#[utoipa::path(
    delete,
    path = "/token/{token_id}",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(("token_id" = Uuid, Path, description = "A session id (`tokenId`)")),
    responses(
        (status = 200, description = "The session is revoked", body = SuccessResponse),
        Unauthorized,
        (status = 404, description = "Token not found (unknown, or another user's)", body = ErrorResponse),
        (status = 500, description = "Failed to revoke token", body = ErrorResponse),
    )
)]
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
