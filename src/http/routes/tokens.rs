//! The caller's sessions: `GET /token` and `DELETE /token/{tokenId}`.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::now_ms;
use crate::domain::SessionId;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::identity::TokensResponse;
use crate::http::bodies::responses::Unauthorized;
use crate::http::bodies::SuccessResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, PathId};
use crate::http::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
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
