//! Logging in and out, and refreshing: `POST /user/login`, `POST /user/refresh`,
//! `POST /user/logout`. All three are public: a stale `Authorization` header is ignored.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, OrInternal};
use super::extract::JsonBody;
use super::registration::merge;
use super::session_tokens::{self, UserSummary, REFRESH_TOKEN_TTL_MS};
use super::AppState;
use crate::auth::{hash_token, new_token};
use crate::clock::now_ms;
use crate::domain::Email;
use crate::store::RefreshOutcome;

/// Longer passwords can never match (the policy caps them), so they are refused without hashing.
const MAX_PASSWORD_CHARS: usize = 128;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user/login", post(login))
        .route("/user/refresh", post(refresh))
        .route("/user/logout", post(logout))
}

#[derive(Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

fn login_failure(code: &'static str, message: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

async fn login(
    State(state): State<AppState>,
    body: JsonBody<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let result = attempt_login(&state, body).await;
    // Refused credentials count as failures; malformed requests are not login attempts.
    match &result {
        Ok(_) => state.metrics.login(true),
        Err(error) if error.status == StatusCode::UNAUTHORIZED => state.metrics.login(false),
        Err(_) => {}
    }
    result
}

async fn attempt_login(
    state: &AppState,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let raw_email = body.email.as_deref().filter(|e| !e.trim().is_empty());
    let email = raw_email.ok_or_else(|| ApiError::missing_field("email"))?;
    let password = body.password.as_deref().filter(|p| !p.is_empty());
    let password = password.ok_or_else(|| ApiError::missing_field("password"))?;
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(login_failure("INVALID_PASSWORD", "Invalid password"));
    }

    let credentials = match Email::parse(email) {
        Some(email) => state
            .store
            .credentials_by_email(&email.key())
            .await
            .or_500("Login failed")?,
        None => None,
    };
    // Always one Argon2 verification, against a dummy hash when there is no real one, so the
    // answer's timing does not tell which e-mails have accounts.
    let stored_hash = credentials
        .as_ref()
        .and_then(|c| c.password_hash.as_deref());
    let matches = state
        .hasher
        .verify(password, stored_hash)
        .await
        .or_500("Login failed")?;
    let Some(credentials) = credentials else {
        return Err(login_failure("USER_NOT_FOUND", "User not found"));
    };
    if credentials.password_hash.is_none() {
        return Err(login_failure(
            "NO_PASSWORD_SET",
            "No password set for this account",
        ));
    }
    if !matches {
        return Err(login_failure("INVALID_PASSWORD", "Invalid password"));
    }
    let user = credentials.user;
    if user.deleted_at.is_some() {
        return Err(login_failure("USER_INACTIVE", "User account is inactive"));
    }

    let now = now_ms();
    let (session, refresh, refresh_plain) = session_tokens::new_session(user.id, now);
    let session_id = session.id;
    state
        .store
        .create_session(session, refresh)
        .await
        .or_500("Login failed")?;
    let tokens = session_tokens::issue(
        state,
        user.id,
        &user.email,
        user.org_id,
        session_id,
        refresh_plain,
        now,
    )
    .or_500("Login failed")?;
    let mut answer = json!({ "success": true, "user": UserSummary::from(&user) });
    merge(&mut answer, json!(tokens));
    Ok(Json(answer))
}

/// The official client sends `refresh_token`; the reference documents `refreshToken`.
#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: Option<String>,
    #[serde(rename = "refreshToken")]
    refresh_token_camel: Option<String>,
}

impl RefreshBody {
    fn token(&self) -> Result<&str, ApiError> {
        self.refresh_token
            .as_deref()
            .or(self.refresh_token_camel.as_deref())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::missing_field("refreshToken"))
    }
}

async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<Value>, ApiError> {
    let presented = hash_token(body.token()?);
    let now = now_ms();
    let next_plain = new_token();
    let next_expires_at = now + REFRESH_TOKEN_TTL_MS;
    let next_hash = hash_token(&next_plain);
    let rotated = state
        .store
        .rotate_refresh_token(&presented, &next_hash, now, next_expires_at);
    match rotated.await {
        Ok(RefreshOutcome::Rotated { user, session_id }) => {
            let tokens = session_tokens::issue(
                &state,
                user.id,
                &user.email,
                user.org_id,
                session_id,
                next_plain,
                now,
            )
            .or_500("Failed to refresh token")?;
            Ok(Json(json!({
                "success": true,
                "token": tokens.access_token,
                "accessToken": tokens.access_token,
                "refreshToken": tokens.refresh_token,
                "expiresAt": tokens.expires_at,
            })))
        }
        Ok(RefreshOutcome::Reused) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "REFRESH_TOKEN_REUSED",
            "Refresh token was already used; the session has been revoked",
        )),
        Ok(RefreshOutcome::Invalid) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_REFRESH_TOKEN",
            "Invalid or expired refresh token",
        )),
        Err(error) => Err(ApiError::internal("Failed to refresh token", error)),
    }
}

/// Ends the session the refresh token belongs to. Idempotent: an unknown or already revoked
/// token also answers 200, so a client can always clear its state.
async fn logout(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<Value>, ApiError> {
    let presented = hash_token(body.token()?);
    state
        .store
        .revoke_session_by_refresh_token(&presented, now_ms())
        .await
        .or_500("Logout failed")?;
    Ok(Json(json!({ "success": true })))
}
