//! The caller's sessions, where they are signed in: `GET /sessions`,
//! `POST /sessions/{id}/revoke`, `POST /sessions/revoke-all`, `POST /sessions/{id}/heartbeat`
//! (contract section 9), and the older `GET /token`, `DELETE /token/{tokenId}`. Both families
//! list and end the same sessions, one store operation each; the `/sessions` routes answer
//! every error, 401 included, with the documented `error` text next to our envelope, the
//! `/token` routes with the envelope alone.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::{now_ms, rfc3339};
use crate::domain::SessionId;
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse, ErrorWithText};
use crate::http::bodies::responses::Unauthorized;
use crate::http::bodies::sessions::SessionJson;
use crate::http::bodies::{MessageResponse, SuccessResponse};
use crate::http::common::credentials::REFRESH_TOKEN_TTL_MS;
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::{AuthUser, PathId};
use crate::http::AppState;
use crate::store::SessionInfo;

/// What the `/sessions` routes answer on failure: the envelope plus `"error"`.
type SignedInError = ShapedError<ErrorWithText>;

/// The `/sessions` routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_all_sessions))
        .routes(routes!(heartbeat))
}

/// The `/token` routes, apart from [`router`] only so that `http::served_routes` can keep the
/// document's order of paths.
pub fn token_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}

/// `GET /sessions`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct SessionsResponse {
    success: SuccessTrue,
    sessions: Vec<SessionJson>,
}

impl SessionsResponse {
    fn new(sessions: Vec<SessionInfo>) -> Self {
        SessionsResponse {
            success: SuccessTrue,
            sessions: sessions.into_iter().map(SessionJson::from).collect(),
        }
    }
}

/// The caller's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = SessionsResponse),
        Unauthorized<ErrorWithText>,
        (status = 500, description = "Failed to fetch sessions", body = ErrorWithText),
    )
)]
async fn list_sessions(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
) -> Result<Json<SessionsResponse>, SignedInError> {
    let auth = auth?;
    let sessions = state
        .store
        .list_sessions(auth.user.id, now_ms())
        .await
        .or_500("Failed to fetch sessions")?;
    Ok(Json(SessionsResponse::new(sessions)))
}

fn session_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::SessionNotFound, "Session not found")
}

/// Ends one of the caller's sessions at once (its access and refresh tokens stop working).
#[utoipa::path(
    post,
    path = "/sessions/{id}/revoke",
    tag = "sessions",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A session id (`tokenId`)")),
    responses(
        (status = 200, description = "Session revoked successfully", body = MessageResponse),
        (status = 400, description = "User not found or account is not validated", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 404, description = "Session not found (unknown, ended, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to revoke session", body = ErrorWithText),
    )
)]
async fn revoke_session(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<SessionId>>,
) -> Result<Json<MessageResponse>, SignedInError> {
    let auth = auth?;
    auth.require_validated()?;
    let revoked = state
        .store
        .revoke_session(auth.user.id, id.or(session_not_found)?, now_ms())
        .await
        .or_500("Failed to revoke session")?;
    if !revoked {
        return Err(session_not_found().into());
    }
    Ok(Json(MessageResponse::new("Session revoked successfully")))
}

/// Ends every session of the caller, this one included ("logging out from all devices").
#[utoipa::path(
    post,
    path = "/sessions/revoke-all",
    tag = "sessions",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "All sessions revoked successfully", body = MessageResponse),
        (status = 400, description = "User not found or account is not validated", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 500, description = "Failed to revoke sessions", body = ErrorWithText),
    )
)]
async fn revoke_all_sessions(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
) -> Result<Json<MessageResponse>, SignedInError> {
    let auth = auth?;
    auth.require_validated()?;
    state
        .store
        .revoke_all_sessions(auth.user.id, now_ms())
        .await
        .or_500("Failed to revoke sessions")?;
    Ok(Json(MessageResponse::new(
        "All sessions revoked successfully",
    )))
}

/// `POST /sessions/{id}/heartbeat`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct HeartbeatResponse {
    success: SuccessTrue,
    /// Always `Session updated successfully`.
    message: &'static str,
    /// The session's new expiry, Unix milliseconds (like `expiresAt`).
    new_expiry: i64,
}

impl HeartbeatResponse {
    fn new(new_expiry: i64) -> Self {
        HeartbeatResponse {
            success: SuccessTrue,
            message: "Session updated successfully",
            new_expiry,
        }
    }
}

fn not_found_or_expired() -> ApiError {
    ApiError::not_found(ErrorCode::SessionNotFound, "Session not found or expired")
}

/// Records activity on one of the caller's sessions and slides its expiry as a refresh would
/// (30 days from now, never past the session's absolute lifetime); its refresh token follows.
/// A session pending its second factor is not slid (404): it ends 15 minutes after its login.
#[utoipa::path(
    post,
    path = "/sessions/{id}/heartbeat",
    tag = "sessions",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A session id (`tokenId`)")),
    responses(
        (status = 200, description = "Session updated successfully", body = HeartbeatResponse),
        Unauthorized<ErrorWithText>,
        (status = 404, description = "Session not found or expired (unknown, ended, pending its second factor, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to update session", body = ErrorWithText),
    )
)]
async fn heartbeat(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<SessionId>>,
) -> Result<Json<HeartbeatResponse>, SignedInError> {
    let auth = auth?;
    let now = now_ms();
    let new_expiry = state
        .store
        .heartbeat_session(
            auth.user.id,
            id.or(not_found_or_expired)?,
            now,
            now + REFRESH_TOKEN_TTL_MS,
            state.session_lifetime_ms,
        )
        .await
        .or_500("Failed to update session")?
        .ok_or_else(not_found_or_expired)?;
    Ok(Json(HeartbeatResponse::new(new_expiry)))
}

/// One of the caller's live sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
#[serde(rename_all = "camelCase")]
struct TokenJson {
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
struct TokensResponse {
    success: SuccessTrue,
    tokens: Vec<TokenJson>,
}

impl TokensResponse {
    /// The sessions, `current` marking the one with id `current`.
    fn new(sessions: Vec<SessionInfo>, current: SessionId) -> Self {
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
) -> Result<Json<TokensResponse>, ApiError> {
    let sessions = state
        .store
        .list_sessions(auth.user.id, now_ms())
        .await
        .or_500("Failed to fetch tokens")?;
    Ok(Json(TokensResponse::new(sessions, auth.session_id)))
}

fn token_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::TokenNotFound, "Token not found")
}

/// Revokes one of the caller's own sessions. Another user's session, an unknown id and a
/// malformed id are all the same 404.
#[utoipa::path(
    delete,
    path = "/token/{tokenId}",
    tag = "identity",
    security(("bearerAuth" = [])),
    params(("tokenId" = Uuid, Path, description = "A session id (`tokenId`)")),
    responses(
        (status = 200, description = "The session is revoked", body = SuccessResponse),
        (status = 400, description = "User not found or account is not validated", body = ErrorResponse),
        Unauthorized,
        (status = 404, description = "Token not found (unknown, or another user's)", body = ErrorResponse),
        (status = 500, description = "Failed to revoke token", body = ErrorResponse),
    )
)]
async fn revoke_token(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(token_id): Path<PathId<SessionId>>,
) -> Result<Json<SuccessResponse>, ApiError> {
    // A write: an unvalidated caller may read but not change anything (contract section 4).
    auth.require_validated()?;
    let revoked = state
        .store
        .revoke_session(auth.user.id, token_id.or(token_not_found)?, now_ms())
        .await
        .or_500("Failed to revoke token")?;
    if !revoked {
        return Err(token_not_found());
    }
    Ok(Json(SuccessResponse::default()))
}
