//! Enrolling a second factor: `POST /mfa/setup`, `POST /mfa/verify-setup`, and the activation of
//! magic links, `POST /mfa/magic-link/activate`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::hash_token;
use crate::auth::mfa::{backup_codes, png_data_url, totp, TotpSecret};
use crate::clock::now_ms;
use crate::domain::MfaMethod;
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AnySession, JsonBody};
use crate::http::common::throttle::{AccountKey, ClientAddr, UserAction};
use crate::http::AppState;
use crate::mail::{MfaChange, MAGIC_LINK_ACTIVATION, MFA_SETUP_CODE};
use crate::store::{MailboxProof, NewEmailCode, VerifyOutcome};

use super::passkeys::{self, PasskeySetupResponse};
use super::{
    client_key, locked, may_change_mfa, method_of, mfa_state_of, new_link_token, notify,
    open_secret, send_link, verified_session_expiry, LinksRateLimited, MfaResult, MfaTypeBody,
    LINK_TOKEN_TTL_MS,
};

/// A fresh 6-digit code for the mailbox of a pending session that enrolls (10 minutes, once,
/// and its failures count for the lockout: 20 guesses in 15 minutes at most of a million).
pub(super) fn new_email_code() -> String {
    use rand::Rng as _;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// `{mfaType, code}`; for `MAGIC_LINK` the code is the activation token; for `PASSKEY`,
/// `{mfaType, credential, name?}` in place of the code.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerifySetupBody {
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    mfa_type: Option<String>,
    #[schema(value_type = String, example = "123456")]
    code: Option<String>,
    /// `PASSKEY`: what `navigator.credentials.create` answered (WebAuthn's JSON form).
    #[schema(value_type = Object)]
    credential: Option<serde_json::Value>,
    /// `PASSKEY`: a name for it (default "Passkey").
    name: Option<String>,
    /// The code e-mailed by `setup`: required when a pending session enrolls `GOOGLE_AUTH`.
    #[schema(value_type = String, example = "654321")]
    email_code: Option<String>,
}

/// `{token}`: the token of the activation e-mail.
#[derive(Deserialize, ToSchema)]
pub(super) struct TokenBody {
    #[schema(value_type = String)]
    token: Option<String>,
}

/// `POST /mfa/setup` for `GOOGLE_AUTH`, 200: what the authenticator app needs, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TotpSetupResponse {
    success: SuccessTrue,
    data: TotpSetup,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct TotpSetup {
    /// The TOTP secret, base32 (RFC 4648, no padding), for typing into an app.
    secret: String,
    /// The `otpauth://` URI as a QR code: `data:image/png;base64,...`.
    qr_code: String,
    /// The Key URI (`otpauth://totp/...`).
    otpauth_url: String,
    /// 10 single-use codes, each accepted once by `verify-login` in place of a TOTP code.
    backup_codes: Vec<String>,
}

impl TotpSetupResponse {
    fn new(
        secret: String,
        qr_code: String,
        otpauth_url: String,
        backup_codes: Vec<String>,
    ) -> Self {
        TotpSetupResponse {
            success: SuccessTrue,
            data: TotpSetup {
                secret,
                qr_code,
                otpauth_url,
                backup_codes,
            },
        }
    }
}

/// `POST /mfa/setup`, 200: for `GOOGLE_AUTH` the enrolment data, for `MAGIC_LINK` a message
/// (the activation e-mail was sent).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum SetupResponse {
    Totp(TotpSetupResponse),
    MagicLink(MessageResponse),
    Passkey(PasskeySetupResponse),
}

/// Start enrolling a method: for `GOOGLE_AUTH` a new secret, its QR code and backup codes (the
/// method stays off until `verify-setup`); for `MAGIC_LINK` an activation e-mail.
#[utoipa::path(
    post,
    path = "/mfa/setup",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "`GOOGLE_AUTH`: the secret, QR code, URI and backup codes; `MAGIC_LINK`: the activation e-mail was sent; `PASSKEY`: the registration's challenge and creation options", body = SetupResponse),
        (status = 400, description = "Invalid MFA type specified; `MISSING_FIELD`; `USER_NOT_VALIDATED`; malformed JSON", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`: MFA is on and this session did not pass it", body = ErrorWithText),
        (status = 409, description = "`PASSKEY_LIMIT_REACHED` (`PASSKEY`): A user may keep at most 20 passkeys", body = ErrorWithText),
        (status = 429, description = "Too many setups by this user (`Retry-After`)", body = ErrorWithText),
        (status = 500, description = "MFA setup failed", body = ErrorWithText),
    )
)]
pub(super) async fn setup(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<SetupResponse> {
    const FAILED: &str = "MFA setup failed";
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, true)?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    caller.require_validated()?;
    // Each setup may e-mail the account: a session must not make the server send without bound.
    state
        .throttle
        .check_user_action(UserAction::MfaSetup, caller.user.id)?;
    let now = now_ms();
    match method {
        MfaMethod::GoogleAuth => {
            // A pending session has only passed the password: the mailbox must be proved too,
            // by a code e-mailed now and given to `verify-setup` with the TOTP code.
            let email_code = caller.mfa.pending.then(new_email_code);
            let email_code_row = email_code.as_ref().map(|code| NewEmailCode {
                session_id: caller.session_id,
                user_id: caller.user.id,
                code_hash: hash_token(code),
                created_at: now,
                expires_at: now + LINK_TOKEN_TTL_MS,
            });
            let secret = TotpSecret::generate();
            let sealed = state
                .mfa
                .secret_box
                .seal(secret.as_bytes(), caller.user.id.uuid().as_bytes());
            let codes = backup_codes::generate();
            let hashes = codes
                .iter()
                .filter_map(|code| backup_codes::normalize(code))
                .map(|code| state.mfa.backup_code_hash(&code))
                .collect();
            let url = totp::otpauth_url(&secret, &state.mfa.issuer, &caller.user.email);
            let qr_code = png_data_url(&url).or_500(FAILED)?;
            state
                .store
                .begin_totp_setup(caller.user.id, sealed, hashes, email_code_row, now)
                .await
                .or_500(FAILED)?;
            if let Some(code) = email_code {
                send_link(&state, &caller, &MFA_SETUP_CODE, &code).await;
            }
            let body = TotpSetupResponse::new(secret.base32(), qr_code, url, codes);
            Ok(Json(SetupResponse::Totp(body)))
        }
        MfaMethod::MagicLink => {
            let (token, link) = new_link_token(&caller, now);
            state
                .store
                .begin_magic_link_setup(caller.session_id, link)
                .await
                .or_500(FAILED)?;
            send_link(&state, &caller, &MAGIC_LINK_ACTIVATION, &token).await;
            let body = MessageResponse::new("Magic link activation e-mail sent");
            Ok(Json(SetupResponse::MagicLink(body)))
        }
        MfaMethod::Passkey => {
            let Json(body) = passkeys::setup(&state, &caller).await?;
            Ok(Json(SetupResponse::Passkey(body)))
        }
    }
}

/// Finish enrolling: a TOTP code of the new secret enables `GOOGLE_AUTH` (and its backup codes),
/// and this session counts as verified; for `MAGIC_LINK`, `code` is the activation token. A
/// pending session enrolling `GOOGLE_AUTH` also gives `emailCode`, the code `setup` e-mailed.
/// The change is e-mailed to the account.
#[utoipa::path(
    post,
    path = "/mfa/verify-setup",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = VerifySetupBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "MFA setup verified and enabled; `PASSKEY`: Passkey registration completed", body = MessageResponse),
        (status = 400, description = "MFA setup verification failed; `PASSKEY`: Passkey registration failed; Invalid MFA type specified; `MISSING_FIELD`; `INVALID_FIELD` (a passkey's name); `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 409, description = "`PASSKEY_LIMIT_REACHED` (`PASSKEY`): A user may keep at most 20 passkeys", body = ErrorWithText),
        (status = 429, description = "`MFA_LOCKED`: Too many failed attempts (a pending session's enrolment counts toward the lockout of `verify-login`; `Retry-After`)", body = ErrorWithText),
        (status = 500, description = "MFA setup verification failed", body = ErrorWithText),
    )
)]
pub(super) async fn verify_setup(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
    client: ClientAddr,
    body: Result<JsonBody<VerifySetupBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "MFA setup verification failed";
    let failed = || ApiError::bad_request(ErrorCode::MfaSetupFailed, FAILED);
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, true)?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    if method == MfaMethod::Passkey {
        let credential = body
            .credential
            .ok_or_else(|| ApiError::missing_field("credential"))?;
        let name = passkeys::passkey_name(body.name.as_deref())?;
        caller.require_validated()?;
        let registration = passkeys::Registration {
            credential,
            challenge: None,
            name,
            email_code: body.email_code,
        };
        return passkeys::register(&state, &caller, client, registration).await;
    }
    let code = body.code.as_deref().map(str::trim).unwrap_or_default();
    if code.is_empty() {
        return Err(ApiError::missing_field("code").into());
    }
    caller.require_validated()?;
    let now = now_ms();
    let enabled = match method {
        MfaMethod::GoogleAuth => {
            let secrets = state
                .store
                .totp_secrets(caller.user.id)
                .await
                .or_500(FAILED)?;
            let Some(sealed) = secrets.pending else {
                return Err(failed().into());
            };
            let step = open_secret(&state, &caller.user.id, &sealed)
                .and_then(|secret| totp::matching_step(&secret, code, now));
            // A pending session also gives the code e-mailed at setup; its failures count for
            // the lockout, so neither code can be guessed.
            let mailbox = caller.mfa.pending.then(|| MailboxProof {
                email_code_hash: body
                    .email_code
                    .as_deref()
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(hash_token),
                client: client_key(client),
            });
            if step.is_none() && mailbox.is_none() {
                return Err(failed().into());
            }
            // A pending session that passes MFA here gets a verified session's expiry, as
            // `verify-login` gives it.
            let session_expires_at = verified_session_expiry(&state, &caller, now);
            let outcome = state
                .store
                .complete_totp_setup(
                    caller.actor(),
                    caller.session_id,
                    sealed,
                    step,
                    mailbox,
                    session_expires_at,
                )
                .await
                .or_500(FAILED)?;
            match outcome {
                VerifyOutcome::Verified => true,
                VerifyOutcome::Invalid => false,
                VerifyOutcome::Locked { retry_after_ms } => {
                    return Err(locked(retry_after_ms).into())
                }
            }
        }
        MfaMethod::MagicLink => state
            .store
            .activate_magic_link(hash_token(code), Some(caller.user.id), now)
            .await
            .or_500(FAILED)?
            .is_some(),
        MfaMethod::Passkey => unreachable!("registered above"),
    };
    if !enabled {
        return Err(failed().into());
    }
    notify(
        &state,
        &caller.user.email,
        MfaChange::Enabled(method.as_str()),
    )
    .await;
    Ok(Json(MessageResponse::new("MFA setup verified and enabled")))
}

/// Enable magic-link MFA with the token of the activation e-mail (public: the link may be
/// opened anywhere).
#[utoipa::path(
    post,
    path = "/mfa/magic-link/activate",
    tag = "mfa",
    request_body = TokenBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "Magic link MFA activated successfully", body = MessageResponse),
        (status = 400, description = "Invalid or expired token; `MISSING_FIELD`", body = ErrorWithText),
        LinksRateLimited,
        (status = 500, description = "Failed to activate magic link", body = ErrorWithText),
    )
)]
pub(super) async fn activate_magic_link(
    State(state): State<AppState>,
    client: ClientAddr,
    body: Result<JsonBody<TokenBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    // A public route that takes a token: limited per address like the credential routes
    // (here, so that its 429 comes in this route's envelope).
    state.throttle.check_ip(client.0)?;
    let JsonBody(body) = body?;
    let token = body.token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::missing_field("token").into());
    }
    state
        .throttle
        .check_account(AccountKey::token("magic-link-activation", token))?;
    const FAILED: &str = "Failed to activate magic link";
    let activated = state
        .store
        .activate_magic_link(hash_token(token), None, now_ms())
        .await
        .or_500(FAILED)?;
    let Some(by) = activated else {
        return Err(
            ApiError::bad_request(ErrorCode::InvalidToken, "Invalid or expired token").into(),
        );
    };
    // The notice comes after the commit: a failed look-up only loses the notice.
    match state.store.org_user(by.org_id, by.user_id).await {
        Ok(Some(user)) => {
            notify(
                &state,
                &user.email,
                MfaChange::Enabled(MfaMethod::MagicLink.as_str()),
            )
            .await;
        }
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "reading the address of an MFA change failed"),
    }
    Ok(Json(MessageResponse::new(
        "Magic link MFA activated successfully",
    )))
}
