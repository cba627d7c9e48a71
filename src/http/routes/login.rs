//! Logging in and out, and refreshing: `POST /user/login`, `POST /user/refresh`,
//! `POST /user/logout`. All three are public: a stale `Authorization` header is ignored.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::hash_token;
use crate::clock::now_ms;
use crate::domain::{Email, LoginMethod, Password, SeenDevice};
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{BodyRejected, CredentialBodyRejected, PasswordBodyRejected};
use crate::http::bodies::sessions::{LoginResponse, UserSummary};
use crate::http::bodies::SuccessResponse;
use crate::http::common::credentials::{
    self, hashing_failed, TokenSubject, PENDING_SESSION_TTL_MS,
};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::JsonBody;
use crate::http::common::refresh::{refresh_session, RefreshBody, RefreshResponse};
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::AppState;
use crate::store::{Credentials, PasswordSession};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

/// Credentials, and what the client says about its device. Unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
struct LoginBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    email: Option<String>,
    #[schema(value_type = String, min_length = 1)]
    password: Option<String>,
    #[serde(default, rename = "deviceInfo")]
    device_info: DeviceInfoField,
}

fn login_failure(code: ErrorCode, message: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// Log in: a new session, with an access token (JWT, 1 hour) and a refresh token (30 days).
#[utoipa::path(
    post,
    path = "/user/login",
    tag = "identity",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in; with `mfaRequired: true`, the session waits for `POST /mfa/verify-login`", body = LoginResponse),
        (status = 400, description = "`MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 401, description = "`USER_NOT_FOUND`, `INVALID_PASSWORD`, `USER_INACTIVE` or `NO_PASSWORD_SET`", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Login failed", body = ErrorResponse),
    )
)]
async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<LoginResponse>, ApiError> {
    let raw_email = body.email.as_deref().filter(|e| !e.trim().is_empty());
    let email = raw_email.ok_or_else(|| ApiError::missing_field("email"))?;
    let password = body.password.as_deref().filter(|p| !p.is_empty());
    let password = password.ok_or_else(|| ApiError::missing_field("password"))?;
    let attempt = state
        .throttle
        .login_attempt(AccountKey::email(email), client)?;
    let device = body.device_info.seen(&user_agent, client);
    let result = attempt_login(&state, email, password, device).await;
    // Refused credentials count as failures, in the metrics and for the login lock; malformed
    // and refused (429, 503) requests are not login attempts.
    match &result {
        Ok(_) => state.metrics.login(true),
        Err(error) if error.status == StatusCode::UNAUTHORIZED => {
            state.metrics.login(false);
            attempt.failed();
        }
        Err(_) => {}
    }
    result.map(Json)
}

async fn attempt_login(
    state: &AppState,
    email: &str,
    password: &str,
    device: SeenDevice,
) -> Result<LoginResponse, ApiError> {
    const FAILED: &str = "Login failed";
    let wrong_password = || login_failure(ErrorCode::InvalidPassword, "Invalid password");
    if !Password::could_match(password) {
        return Err(wrong_password());
    }

    let credentials = match Email::parse(email) {
        Some(email) => state
            .store
            .credentials_by_email(&email.key())
            .await
            .or_500(FAILED)?,
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
        .map_err(hashing_failed(FAILED))?;
    let Some(credentials) = credentials else {
        return Err(login_failure(ErrorCode::UserNotFound, "User not found"));
    };
    if credentials.password_hash.is_none() {
        return Err(login_failure(
            ErrorCode::NoPasswordSet,
            "No password set for this account",
        ));
    }
    if !matches {
        return Err(wrong_password());
    }
    let Credentials {
        user,
        mfa_required,
        password_hash,
    } = credentials;
    let inactive = || login_failure(ErrorCode::UserInactive, "User account is inactive");
    if user.deleted_at.is_some() {
        return Err(inactive());
    }

    let now = now_ms();
    // MFA required: the session is pending until `POST /mfa/verify-login` (contract section 8).
    // The store decides again, with the account as it is when the session opens: the hash
    // above took its time, and MFA may have been switched on (or the password changed) since
    // the account was read.
    let issued = credentials::new_session(
        user.id,
        now,
        state.session_lifetime_ms,
        device,
        mfa_required,
        LoginMethod::Local,
    );
    let opened = state
        .store
        .open_password_session(
            issued.session,
            issued.refresh,
            password_hash.unwrap_or_default(),
            now + PENDING_SESSION_TTL_MS,
        )
        .await
        .or_500(FAILED)?;
    let mfa_required = match opened {
        PasswordSession::Opened { mfa_pending } => mfa_pending,
        PasswordSession::Inactive => return Err(inactive()),
        PasswordSession::PasswordChanged => return Err(wrong_password()),
    };
    let subject = TokenSubject::of(&user, &issued.secret);
    let tokens = credentials::issue(state, subject, issued.refresh_plain, now).or_500(FAILED)?;
    Ok(LoginResponse::new(
        tokens,
        UserSummary::from(&user),
        mfa_required,
    ))
}

/// Exchange a refresh token for a new token pair. The presented refresh token is used up; using
/// it again revokes its whole session.
#[utoipa::path(
    post,
    path = "/user/refresh",
    tag = "identity",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token pair", body = RefreshResponse),
        (status = 400, description = "`MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 401, description = "`INVALID_REFRESH_TOKEN` or `REFRESH_TOKEN_REUSED`", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Failed to refresh token", body = ErrorResponse),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<RefreshResponse>, ApiError> {
    refresh_session(&state, body).await.map(Json)
}

/// Ends the session the refresh token belongs to. Idempotent: an unknown or already revoked
/// token also answers 200, so a client can always clear its state.
#[utoipa::path(
    post,
    path = "/user/logout",
    tag = "identity",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The session has ended (also for an unknown token)", body = SuccessResponse),
        (status = 400, description = "`MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Logout failed", body = ErrorResponse),
    )
)]
async fn logout(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<SuccessResponse>, ApiError> {
    let presented = hash_token(body.token()?);
    state
        .store
        .revoke_session_by_refresh_token(&presented, now_ms())
        .await
        .or_500("Logout failed")?;
    Ok(Json(SuccessResponse::default()))
}
