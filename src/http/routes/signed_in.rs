//! Where the caller is signed in (contract section 9): `GET /sessions`,
//! `POST /sessions/{id}/revoke`, `POST /sessions/revoke-all`, `POST /sessions/{id}/heartbeat`.
//! A session here is a login's session, the same one `GET /token` lists and
//! `DELETE /token/{tokenId}` revokes (one store operation each). Every error of these routes,
//! 401 included, carries the documented `error` text next to our envelope.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::now_ms;
use crate::domain::SessionId;
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::signed_in::{HeartbeatResponse, SessionsResponse};
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::REFRESH_TOKEN_TTL_MS;
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::{AuthUser, PathId};
use crate::http::AppState;

/// What these routes answer on failure: the envelope plus `"error"`.
type SignedInError = ShapedError<ErrorWithText>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_all_sessions))
        .routes(routes!(heartbeat))
}

/// The caller's live sessions, newest first.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = SessionsResponse),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
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
        (status = 401, description = "Unauthorized", body = ErrorWithText),
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
        (status = 401, description = "Unauthorized", body = ErrorWithText),
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
        (status = 401, description = "Unauthorized", body = ErrorWithText),
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
