//! Password reset: `POST /user/request-reset-password`, `POST /user/reset-password`.
//!
//! Both are public: an `Authorization` header, stale or not, is never read.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use tracing::Instrument as _;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{hash_token, new_token};
use crate::clock::now_ms;
use crate::domain::Email;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{CredentialBodyRejected, PasswordBodyRejected};
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::hashing_failed;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::JsonBody;
use crate::http::common::fields;
use crate::http::common::throttle::AccountKey;
use crate::http::AppState;
use crate::mail::PASSWORD_RESET;
use crate::store::NewPasswordReset;

/// Reset tokens live one hour.
const RESET_TTL_MS: i64 = 60 * 60 * 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_reset))
        .routes(routes!(reset_password))
}

/// The account's e-mail address.
#[derive(Deserialize, ToSchema)]
struct RequestResetBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    email: Option<String>,
}

/// Ask for a password reset e-mail (the token lives 1 hour, single use). Always the same answer,
/// whether or not the account exists.
#[utoipa::path(
    post,
    path = "/user/request-reset-password",
    tag = "identity",
    request_body = RequestResetBody,
    responses(
        (status = 200, description = "If an account exists for this email, a password reset email has been sent", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        CredentialBodyRejected,
    )
)]
async fn request_reset(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RequestResetBody>,
) -> Result<Json<MessageResponse>, ApiError> {
    let raw = body
        .email
        .filter(|email| !email.trim().is_empty())
        .ok_or_else(|| ApiError::missing_field("email"))?;
    // A malformed address cannot have an account: nothing to do, same answer.
    if let Some(email) = Email::parse(&raw) {
        state
            .throttle
            .check_account(AccountKey::email(email.as_str()))?;
        // The lookup, the insert and the SMTP round trip happen after the answer, so its timing
        // says nothing about whether the account exists. The task keeps the request's span so
        // its log lines carry the request id.
        tokio::spawn(send_reset(state, email.key()).instrument(tracing::Span::current()));
    }
    Ok(Json(MessageResponse::new(
        "If an account exists for this email, a password reset email has been sent",
    )))
}

/// Issues a token for the live account with `email_key`, if any, and mails it. Failures are
/// logged: nobody is waiting for them.
async fn send_reset(state: AppState, email_key: String) {
    let token = new_token();
    let now = now_ms();
    let reset = NewPasswordReset {
        id: Uuid::now_v7(),
        token_hash: hash_token(&token),
        created_at: now,
        expires_at: now + RESET_TTL_MS,
    };
    let recipient = match state.store.create_password_reset(&email_key, reset).await {
        Ok(Some(recipient)) => recipient,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "storing a password reset token failed");
            return;
        }
    };
    // An unverified address may not be the account holder's (anyone can register with any
    // address), so the name they typed is not repeated to it.
    let first_name = recipient.validated.then_some(recipient.first_name.as_str());
    let email = PASSWORD_RESET.to(
        &recipient.email,
        first_name,
        &token,
        state.public_url.as_deref(),
    );
    if let Err(error) = state.mailer.send(email).await {
        tracing::error!(%error, user_id = %recipient.user_id, "sending the password reset e-mail failed");
    }
}

/// The token of the reset e-mail and the new password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ResetPasswordBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    token: Option<String>,
    #[schema(schema_with = schema::password, required = true)]
    new_password: Option<String>,
}

fn invalid_token() -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidToken, "Invalid or expired reset token")
}

/// Set a new password with a reset token: marks the account verified and ends every session.
#[utoipa::path(
    post,
    path = "/user/reset-password",
    tag = "identity",
    request_body = ResetPasswordBody,
    responses(
        (status = 200, description = "Password reset successfully", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD`, `WEAK_PASSWORD`, `INVALID_TOKEN` (invalid or expired reset token), malformed JSON", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Failed to reset password", body = ErrorResponse),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResetPasswordBody>,
) -> Result<Json<MessageResponse>, ApiError> {
    const FAILED: &str = "Failed to reset password";
    let token = body
        .token
        .as_deref()
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::missing_field("token"))?;
    let raw_password = body
        .new_password
        .as_deref()
        .filter(|password| !password.is_empty())
        .ok_or_else(|| ApiError::missing_field("newPassword"))?;
    let password = fields::password(raw_password)?;
    state
        .throttle
        .check_account(AccountKey::token("reset", token))?;
    let token_hash = hash_token(token);
    let now = now_ms();
    // Refuse a dead token before spending an Argon2 hash on it; the transaction below re-checks.
    if !state
        .store
        .password_reset_is_live(&token_hash, now)
        .await
        .or_500(FAILED)?
    {
        return Err(invalid_token());
    }
    // Hashed before the transaction, so the write lock is never held across Argon2.
    let password_hash = state
        .hasher
        .hash(password.expose())
        .await
        .map_err(hashing_failed(FAILED))?;
    let reset = state
        .store
        .reset_password(&token_hash, &password_hash, now_ms())
        .await
        .or_500(FAILED)?;
    if !reset {
        return Err(invalid_token());
    }
    Ok(Json(MessageResponse::new("Password reset successfully")))
}
