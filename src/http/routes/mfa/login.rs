//! Passing the second factor: `POST /mfa/verify-login`, and the sign-in links it can take,
//! `POST /mfa/magic-link/send`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::hash_token;
use crate::auth::mfa::{backup_codes, totp};
use crate::clock::now_ms;
use crate::domain::MfaMethod;
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::sessions::IssuedTokens;
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::{self, TokenSubject};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AnySession, AuthUser, JsonBody};
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::AppState;
use crate::mail::{MfaChange, MAGIC_LINK_LOGIN};
use crate::store::{Factor, NewRefreshToken, VerifyOutcome};

use super::{
    client_key, locked, method_of, new_link_token, notify, open_secret, send_link,
    verified_session_expiry, LinksRateLimited, MfaResult,
};

/// `{mfaType, code}` (a TOTP code or a backup code) or `{mfaType: "MAGIC_LINK", token}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerifyLoginBody {
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    mfa_type: Option<String>,
    code: Option<String>,
    token: Option<String>,
    /// `PASSKEY`: what `navigator.credentials.get` answered (WebAuthn's JSON form), for the
    /// options of `passkey/auth-options`.
    #[schema(value_type = Object)]
    credential: Option<serde_json::Value>,
}

/// `POST /mfa/verify-login`, 200: the session is verified; `fullAccessToken` and `accessToken`
/// are the same new access token, `refreshToken` replaces the login's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MfaLoginResponse {
    success: SuccessTrue,
    /// "MFA verification successful"
    message: &'static str,
    full_access_token: String,
    #[serde(flatten)]
    tokens: IssuedTokens,
}

impl MfaLoginResponse {
    fn new(tokens: IssuedTokens) -> Self {
        MfaLoginResponse {
            success: SuccessTrue,
            message: "MFA verification successful",
            full_access_token: tokens.access_token.clone(),
            tokens,
        }
    }
}

/// Pass the second factor: a TOTP code, a backup code, the token of a sign-in link, or a
/// passkey's assertion (`{mfaType: "PASSKEY", credential}`, for `passkey/auth-options`). The
/// session becomes verified and gets a new token pair; a backup code used is e-mailed to the
/// account. 5 failures within 15 minutes from one client address lock that client out of the
/// user's verification for 15 minutes, even for a right code; 20 from all clients lock the
/// user.
#[utoipa::path(
    post,
    path = "/mfa/verify-login",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = VerifyLoginBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "MFA verification successful", body = MfaLoginResponse),
        (status = 400, description = "Invalid verification code; Invalid MFA type specified; `MISSING_FIELD`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = ErrorWithText),
        (status = 500, description = "MFA verification failed", body = ErrorWithText),
    )
)]
pub(super) async fn verify_login(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
    client: ClientAddr,
    body: Result<JsonBody<VerifyLoginBody>, ApiError>,
) -> MfaResult<MfaLoginResponse> {
    const FAILED: &str = "MFA verification failed";
    let AnySession(caller, secret) = session?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    let presented = match method {
        MfaMethod::GoogleAuth => body.code.as_deref(),
        MfaMethod::MagicLink => body.token.as_deref().or(body.code.as_deref()),
        MfaMethod::Passkey => None,
    };
    let presented = presented.map(str::trim).unwrap_or_default();
    let missing = match method {
        MfaMethod::Passkey if body.credential.is_none() => Some("credential"),
        MfaMethod::Passkey => None,
        MfaMethod::MagicLink if presented.is_empty() => Some("token"),
        _ if presented.is_empty() => Some("code"),
        _ => None,
    };
    if let Some(field) = missing {
        return Err(ApiError::missing_field(field).into());
    }
    let now = now_ms();
    let factor = match method {
        MfaMethod::GoogleAuth => totp_factor(&state, &caller, presented, now).await?,
        MfaMethod::MagicLink => Factor::LoginLink {
            hash: hash_token(presented),
        },
        MfaMethod::Passkey => {
            let credential = body.credential.unwrap_or_default();
            super::passkeys::login_factor(&state, &caller, credential, now).await?
        }
    };
    let next_plain = secret.new_refresh_token();
    let expires_at = verified_session_expiry(&state, &caller, now);
    let next = NewRefreshToken {
        token_hash: hash_token(&next_plain),
        session_id: caller.session_id,
        created_at: now,
        expires_at,
    };
    let backup_code = matches!(factor, Factor::BackupCode { .. });
    let outcome = state
        .store
        .verify_login(
            caller.session_id,
            caller.user.id,
            factor,
            next,
            client_key(client),
            now,
        )
        .await
        .or_500(FAILED)?;
    match outcome {
        VerifyOutcome::Verified => {
            let subject = TokenSubject::of(&caller.user, &secret);
            let tokens = credentials::issue(&state, subject, next_plain, now).or_500(FAILED)?;
            if backup_code {
                notify(&state, &caller.user.email, MfaChange::BackupCodeUsed).await;
            }
            Ok(Json(MfaLoginResponse::new(tokens)))
        }
        VerifyOutcome::Invalid => Err(ApiError::bad_request(
            ErrorCode::InvalidMfaCode,
            "Invalid verification code",
        )
        .into()),
        VerifyOutcome::Locked { retry_after_ms } => Err(locked(retry_after_ms).into()),
    }
}

/// What a `GOOGLE_AUTH` code is: a backup code (its normalized hash), or a TOTP code checked
/// against the user's secret (the step it matched, if any).
async fn totp_factor(
    state: &AppState,
    caller: &AuthUser,
    code: &str,
    now: i64,
) -> Result<Factor, ApiError> {
    if let Some(normalized) = backup_codes::normalize(code) {
        return Ok(Factor::BackupCode {
            hash: state.mfa.backup_code_hash(&normalized),
        });
    }
    let secrets = state
        .store
        .totp_secrets(caller.user.id)
        .await
        .or_500("MFA verification failed")?;
    let Some(sealed) = secrets.active else {
        return Ok(Factor::Invalid);
    };
    let step = open_secret(state, &caller.user.id, &sealed)
        .and_then(|secret| totp::matching_step(&secret, code, now));
    Ok(Factor::Totp { step })
}

/// E-mail a sign-in link for this (pending) session: its token, given to `verify-login` by this
/// session within 10 minutes, passes MFA once.
#[utoipa::path(
    post,
    path = "/mfa/magic-link/send",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Magic link sent", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_ENABLED`: magic links are not enabled for this user", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        LinksRateLimited,
        (status = 500, description = "Failed to send magic link", body = ErrorWithText),
    )
)]
pub(super) async fn send_magic_link(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Failed to send magic link";
    let AnySession(caller, _) = session?;
    // Each link is an e-mail: a session cannot make the server send them without bound.
    let key = AccountKey::token("magic-link", &caller.user.id.to_string());
    state.throttle.check_account(key)?;
    let now = now_ms();
    let (token, link) = new_link_token(&caller, now);
    let created = state
        .store
        .create_login_link(caller.session_id, link)
        .await
        .or_500(FAILED)?;
    if !created {
        return Err(ApiError::bad_request(
            ErrorCode::MfaMethodNotEnabled,
            "Magic link MFA is not enabled",
        )
        .into());
    }
    send_link(&state, &caller, &MAGIC_LINK_LOGIN, &token).await;
    Ok(Json(MessageResponse::new("Magic link sent")))
}
