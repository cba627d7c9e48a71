//! Multi-factor authentication (contract section 8): enrolling TOTP and magic links, the
//! verification that turns a pending session into a full one, managing one's methods, an
//! admin's reset and the organization's enforcement. Errors answer `{"success":false,"error"}`
//! with our `message` and `error_code`.
//!
//! Who may change MFA: a session that passed MFA when the user has a method enabled (a stolen
//! password must not switch MFA off, nor add the thief's factor next to the owner's); while no
//! method is enabled, any session of the user, and a pending one only to enrol (`setup`,
//! `verify-setup`), for a member whose organization enforces MFA.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::mfa::{backup_codes, png_data_url, totp, TotpSecret};
use crate::auth::{hash_token, new_token};
use crate::clock::now_ms;
use crate::domain::{MfaMethod, MfaType, UserId};
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::mfa::{
    MfaLoginResponse, MfaMethodsResponse, MfaStatusResponse, SetupResponse, TotpSetupResponse,
};
use crate::http::bodies::responses::BodyRejectedWithText;
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::{self, TokenSubject, REFRESH_TOKEN_TTL_MS};
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::{AnySession, AuthUser, JsonBody};
use crate::http::common::throttle::AccountKey;
use crate::http::AppState;
use crate::mail::{TokenEmail, MAGIC_LINK_ACTIVATION, MAGIC_LINK_LOGIN};
use crate::store::{
    Factor, MethodChange, MfaState, NewLinkToken, NewRefreshToken, OrganizationPatch, VerifyOutcome,
};

type MfaError = ShapedError<ErrorWithText>;
type MfaResult<T> = Result<Json<T>, MfaError>;

/// Magic-link tokens (activation and sign-in) live 10 minutes.
const LINK_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(verify_setup))
        .routes(routes!(verify_login))
        .routes(routes!(send_magic_link))
        .routes(routes!(activate_magic_link))
        .routes(routes!(status))
        .routes(routes!(methods))
        .routes(routes!(enable))
        .routes(routes!(disable))
        .routes(routes!(primary))
        .routes(routes!(reset))
        .routes(routes!(enforce))
}

/// `{mfaType}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MfaTypeBody {
    /// `GOOGLE_AUTH` or `MAGIC_LINK` (`PASSKEY` is not offered yet).
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    mfa_type: Option<String>,
}

/// `{mfaType, code}`; for `MAGIC_LINK` the code is the activation token.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VerifySetupBody {
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    mfa_type: Option<String>,
    #[schema(value_type = String, example = "123456")]
    code: Option<String>,
}

/// `{mfaType, code}` (a TOTP code or a backup code) or `{mfaType: "MAGIC_LINK", token}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VerifyLoginBody {
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    mfa_type: Option<String>,
    code: Option<String>,
    token: Option<String>,
}

/// `{token}`: the token of the activation e-mail.
#[derive(Deserialize, ToSchema)]
struct TokenBody {
    #[schema(value_type = String)]
    token: Option<String>,
}

/// `{enforced}`.
#[derive(Deserialize, ToSchema)]
struct EnforceBody {
    #[schema(value_type = bool)]
    enforced: Option<bool>,
}

/// `{resetUserId?, enable?}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    /// Another user of the caller's organization (OWNER, ADMINISTRATORS); absent: oneself.
    #[schema(value_type = Option<uuid::Uuid>)]
    reset_user_id: Option<String>,
    /// With `resetUserId`: require MFA of that user from their next login.
    enable: Option<bool>,
}

fn invalid_type() -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidMfaType, "Invalid MFA type specified")
}

/// The method `mfaType` names; `PASSKEY` and anything unknown are 400.
fn method_of(mfa_type: Option<&str>) -> Result<MfaMethod, ApiError> {
    let mfa_type = mfa_type.ok_or_else(|| ApiError::missing_field("mfaType"))?;
    match MfaType::parse(mfa_type) {
        Some(MfaType::Method(method)) => Ok(method),
        Some(MfaType::Passkey) | None => Err(invalid_type()),
    }
}

fn not_configured() -> ApiError {
    ApiError::bad_request(
        ErrorCode::MfaMethodNotConfigured,
        "MFA method is not configured",
    )
}

/// Whether `caller` may change their MFA now (see the module); `enrolling`: `setup` and
/// `verify-setup`, which a pending session may call while no method is enabled.
fn may_change_mfa(caller: &AuthUser, mfa: &MfaState, enrolling: bool) -> Result<(), ApiError> {
    let allowed = if caller.mfa.pending {
        enrolling && !mfa.is_enabled()
    } else {
        !mfa.is_enabled() || caller.mfa.verified
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::mfa_required())
    }
}

/// The caller's MFA state (the caller is live, so it exists).
async fn mfa_state_of(state: &AppState, caller: &AuthUser) -> Result<MfaState, ApiError> {
    const FAILED: &str = "Internal server error";
    state
        .store
        .mfa_state(caller.user.id)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| ApiError::internal(FAILED, "the caller has no MFA state"))
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
        BodyRejectedWithText,
        (status = 200, description = "`GOOGLE_AUTH`: the secret, QR code, URI and backup codes; `MAGIC_LINK`: the activation e-mail was sent", body = SetupResponse),
        (status = 400, description = "Invalid MFA type specified; `MISSING_FIELD`; `USER_NOT_VALIDATED`; malformed JSON", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "`MFA_REQUIRED`: MFA is on and this session did not pass it", body = ErrorWithText),
        (status = 500, description = "MFA setup failed", body = ErrorWithText),
    )
)]
async fn setup(
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
    let now = now_ms();
    match method {
        MfaMethod::GoogleAuth => {
            let secret = TotpSecret::generate();
            let sealed = state
                .mfa
                .secret_box
                .seal(secret.as_bytes(), caller.user.id.uuid().as_bytes());
            let codes = backup_codes::generate();
            let hashes = codes
                .iter()
                .filter_map(|code| backup_codes::normalize(code))
                .map(|code| backup_codes::hash(&code))
                .collect();
            let url = totp::otpauth_url(&secret, &state.mfa.issuer, &caller.user.email);
            let qr_code = png_data_url(&url).or_500(FAILED)?;
            state
                .store
                .begin_totp_setup(caller.user.id, sealed, hashes, now)
                .await
                .or_500(FAILED)?;
            let body = TotpSetupResponse::new(secret.base32(), qr_code, url, codes);
            Ok(Json(SetupResponse::Totp(body)))
        }
        MfaMethod::MagicLink => {
            let token = new_token();
            let link = NewLinkToken {
                token_hash: hash_token(&token),
                user_id: caller.user.id,
                created_at: now,
                expires_at: now + LINK_TOKEN_TTL_MS,
            };
            state
                .store
                .begin_magic_link_setup(link)
                .await
                .or_500(FAILED)?;
            send_link(&state, &caller, &MAGIC_LINK_ACTIVATION, &token).await;
            let body = MessageResponse::new("Magic link activation e-mail sent");
            Ok(Json(SetupResponse::MagicLink(body)))
        }
    }
}

/// A failed send is logged, not returned: the user can ask again.
async fn send_link(state: &AppState, caller: &AuthUser, email: &TokenEmail, token: &str) {
    let user = &caller.user;
    let message = email.to(
        &user.email,
        Some(&user.first_name),
        token,
        state.public_url.as_deref(),
    );
    if let Err(error) = state.mailer.send(message).await {
        tracing::error!(%error, "sending a magic-link e-mail failed");
    }
}

/// Finish enrolling: a TOTP code of the new secret enables `GOOGLE_AUTH` (and its backup codes),
/// and this session counts as verified; for `MAGIC_LINK`, `code` is the activation token.
#[utoipa::path(
    post,
    path = "/mfa/verify-setup",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = VerifySetupBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "MFA setup verified and enabled", body = MessageResponse),
        (status = 400, description = "MFA setup verification failed; Invalid MFA type specified; `MISSING_FIELD`; `USER_NOT_VALIDATED`", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "MFA setup verification failed", body = ErrorWithText),
    )
)]
async fn verify_setup(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
    body: Result<JsonBody<VerifySetupBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "MFA setup verification failed";
    let failed = || ApiError::bad_request(ErrorCode::MfaSetupFailed, FAILED);
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, true)?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    let code = body.code.as_deref().map(str::trim).unwrap_or_default();
    if code.is_empty() {
        return Err(ApiError::missing_field("code").into());
    }
    caller.require_validated()?;
    let now = now_ms();
    let done = match method {
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
            let Some(step) = step else {
                return Err(failed().into());
            };
            let by = caller.actor();
            state
                .store
                .complete_totp_setup(by, caller.session_id, sealed, step)
                .await
                .or_500(FAILED)?
        }
        MfaMethod::MagicLink => state
            .store
            .activate_magic_link(hash_token(code), Some(caller.user.id), now)
            .await
            .or_500(FAILED)?,
    };
    if !done {
        return Err(failed().into());
    }
    Ok(Json(MessageResponse::new("MFA setup verified and enabled")))
}

/// The TOTP secret `sealed` of `user_id`; None (logged) when it does not open: the key changed
/// since it was sealed, or the row was tampered with.
fn open_secret(state: &AppState, user_id: &UserId, sealed: &[u8]) -> Option<TotpSecret> {
    let opened = state
        .mfa
        .secret_box
        .open(sealed, user_id.uuid().as_bytes())
        .and_then(|bytes| TotpSecret::from_bytes(&bytes));
    if opened.is_none() {
        tracing::error!(
            "a TOTP secret does not open with the configured key (was --mfa-encryption-key or \
             the signing secret changed?)"
        );
    }
    opened
}

/// Pass the second factor: a TOTP code, a backup code, or the token of a sign-in link. The
/// session becomes verified and gets a new token pair. 5 failures within 15 minutes lock the
/// user's verification for 15 minutes, even for a right code.
#[utoipa::path(
    post,
    path = "/mfa/verify-login",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = VerifyLoginBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "MFA verification successful", body = MfaLoginResponse),
        (status = 400, description = "Invalid verification code; Invalid MFA type specified; `MISSING_FIELD`", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 429, description = "Too many failed attempts (`Retry-After`)", body = ErrorWithText),
        (status = 500, description = "MFA verification failed", body = ErrorWithText),
    )
)]
async fn verify_login(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
    body: Result<JsonBody<VerifyLoginBody>, ApiError>,
) -> MfaResult<MfaLoginResponse> {
    const FAILED: &str = "MFA verification failed";
    let AnySession(caller, secret) = session?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    let presented = match method {
        MfaMethod::GoogleAuth => body.code.as_deref(),
        MfaMethod::MagicLink => body.token.as_deref().or(body.code.as_deref()),
    };
    let presented = presented.map(str::trim).unwrap_or_default();
    if presented.is_empty() {
        let field = if method == MfaMethod::MagicLink {
            "token"
        } else {
            "code"
        };
        return Err(ApiError::missing_field(field).into());
    }
    let now = now_ms();
    let factor = match method {
        MfaMethod::GoogleAuth => totp_factor(&state, &caller, presented, now).await?,
        MfaMethod::MagicLink => Factor::LoginLink {
            hash: hash_token(presented),
        },
    };
    let next_plain = secret.new_refresh_token();
    let expires_at = (now + REFRESH_TOKEN_TTL_MS).min(
        caller
            .session_created_at
            .saturating_add(state.session_lifetime_ms),
    );
    let next = NewRefreshToken {
        token_hash: hash_token(&next_plain),
        session_id: caller.session_id,
        created_at: now,
        expires_at,
    };
    let outcome = state
        .store
        .verify_login(caller.session_id, caller.user.id, factor, next, now)
        .await
        .or_500(FAILED)?;
    match outcome {
        VerifyOutcome::Verified => {
            let subject = TokenSubject::of(&caller.user, &secret);
            let tokens = credentials::issue(&state, subject, next_plain, now).or_500(FAILED)?;
            Ok(Json(MfaLoginResponse::new(tokens)))
        }
        VerifyOutcome::Invalid => Err(ApiError::bad_request(
            ErrorCode::InvalidMfaCode,
            "Invalid verification code",
        )
        .into()),
        VerifyOutcome::Locked { retry_after_ms } => {
            let wait = std::time::Duration::from_millis(retry_after_ms.unsigned_abs());
            let mut error = ApiError::rate_limited(wait);
            error.code = ErrorCode::MfaLocked;
            error.message = "Too many failed attempts".into();
            Err(error.into())
        }
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
            hash: backup_codes::hash(&normalized),
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
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 429, description = "Too many requests (`Retry-After`)", body = ErrorWithText),
        (status = 500, description = "Failed to send magic link", body = ErrorWithText),
    )
)]
async fn send_magic_link(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Failed to send magic link";
    let AnySession(caller, _) = session?;
    // Each link is an e-mail: a session cannot make the server send them without bound.
    let key = AccountKey::token("magic-link", &caller.user.id.to_string());
    state.throttle.check_account(key)?;
    let now = now_ms();
    let token = new_token();
    let link = NewLinkToken {
        token_hash: hash_token(&token),
        user_id: caller.user.id,
        created_at: now,
        expires_at: now + LINK_TOKEN_TTL_MS,
    };
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

/// Enable magic-link MFA with the token of the activation e-mail (public: the link may be
/// opened anywhere).
#[utoipa::path(
    post,
    path = "/mfa/magic-link/activate",
    tag = "mfa",
    request_body = TokenBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "Magic link MFA activated successfully", body = MessageResponse),
        (status = 400, description = "Invalid or expired token; `MISSING_FIELD`", body = ErrorWithText),
        (status = 429, description = "Too many requests (`Retry-After`)", body = ErrorWithText),
        (status = 500, description = "Failed to activate magic link", body = ErrorWithText),
    )
)]
async fn activate_magic_link(
    State(state): State<AppState>,
    body: Result<JsonBody<TokenBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    let JsonBody(body) = body?;
    let token = body.token.as_deref().map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::missing_field("token").into());
    }
    state
        .throttle
        .check_account(AccountKey::token("magic-link-activation", token))?;
    let activated = state
        .store
        .activate_magic_link(hash_token(token), None, now_ms())
        .await
        .or_500("Failed to activate magic link")?;
    if !activated {
        return Err(
            ApiError::bad_request(ErrorCode::InvalidToken, "Invalid or expired token").into(),
        );
    }
    Ok(Json(MessageResponse::new(
        "Magic link MFA activated successfully",
    )))
}

/// Where the caller stands with MFA, and whether this session passed it.
#[utoipa::path(
    get,
    path = "/mfa/status",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's MFA status", body = MfaStatusResponse),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 500, description = "Internal server error", body = ErrorWithText),
    )
)]
async fn status(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<MfaStatusResponse> {
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    Ok(Json(MfaStatusResponse::new(&mfa, caller.mfa.verified)))
}

/// Every method, with whether it is offered, configured and enabled for the caller.
#[utoipa::path(
    get,
    path = "/mfa/methods",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The methods", body = MfaMethodsResponse),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 500, description = "Internal server error", body = ErrorWithText),
    )
)]
async fn methods(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<MfaMethodsResponse> {
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    Ok(Json(MfaMethodsResponse::new(&mfa)))
}

/// `enable`, `disable` and `primary`: one of the caller's own methods.
async fn change_method(
    state: &AppState,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
    change: Change,
) -> MfaResult<MessageResponse> {
    let caller = caller?;
    let mfa = mfa_state_of(state, &caller).await?;
    may_change_mfa(&caller, &mfa, false)?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    caller.require_validated()?;
    let by = caller.actor();
    let store = &state.store;
    let outcome = match change {
        Change::Enable => store.set_mfa_method_enabled(by, method, true).await,
        Change::Disable => store.set_mfa_method_enabled(by, method, false).await,
        Change::Primary => store.set_primary_mfa_method(by, method).await,
    };
    match outcome.or_500(change.failed())? {
        MethodChange::Done => Ok(Json(MessageResponse::new(change.done()))),
        MethodChange::NotConfigured => Err(not_configured().into()),
        MethodChange::LastWhileRequired => Err(ApiError::forbidden(
            ErrorCode::MfaEnforced,
            "Cannot disable MFA when enforced by organization",
        )
        .into()),
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Enable,
    Disable,
    Primary,
}

impl Change {
    fn done(self) -> &'static str {
        match self {
            Change::Enable => "MFA method enabled",
            Change::Disable => "MFA method disabled",
            Change::Primary => "Primary MFA method updated",
        }
    }

    fn failed(self) -> &'static str {
        match self {
            Change::Enable => "Failed to enable MFA method",
            Change::Disable => "Failed to disable MFA method",
            Change::Primary => "Failed to update primary MFA method",
        }
    }
}

/// Switch a configured method on.
#[utoipa::path(
    post,
    path = "/mfa/enable",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "MFA method enabled", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_CONFIGURED`; Invalid MFA type specified; `USER_NOT_VALIDATED`", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "Failed to enable MFA method", body = ErrorWithText),
    )
)]
async fn enable(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    change_method(&state, caller, body, Change::Enable).await
}

/// Switch a method off (it stays configured); not the last one while MFA is enforced.
#[utoipa::path(
    post,
    path = "/mfa/disable",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "MFA method disabled", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_CONFIGURED`; Invalid MFA type specified; `USER_NOT_VALIDATED`", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "Cannot disable MFA when enforced by organization; `MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "Failed to disable MFA method", body = ErrorWithText),
    )
)]
async fn disable(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    change_method(&state, caller, body, Change::Disable).await
}

/// Make an enabled method the primary one.
#[utoipa::path(
    post,
    path = "/mfa/primary",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "Primary MFA method updated", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_CONFIGURED` (not enabled); Invalid MFA type specified; `USER_NOT_VALIDATED`", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "Failed to update primary MFA method", body = ErrorWithText),
    )
)]
async fn primary(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    change_method(&state, caller, body, Change::Primary).await
}

/// Remove every method and backup code: one's own (from a session that passed MFA, when it is
/// on), or, for OWNER and ADMINISTRATORS, another user's of the organization, whose sessions
/// then end; `enable: true` requires MFA of them from their next login.
#[utoipa::path(
    post,
    path = "/mfa/reset",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = ResetBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "MFA reset successfully", body = MessageResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`; malformed JSON", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "Insufficient permissions. OWNER or ADMINISTRATOR role required to reset another user's MFA.; `MFA_REQUIRED`", body = ErrorWithText),
        (status = 404, description = "User not found", body = ErrorWithText),
        (status = 500, description = "Failed to reset MFA", body = ErrorWithText),
    )
)]
async fn reset(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<ResetBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Failed to reset MFA";
    let user_not_found = || ApiError::not_found(ErrorCode::UserNotFound, "User not found");
    let caller = caller?;
    let JsonBody(body) = body?;
    let target = match body.reset_user_id.as_deref() {
        None => None,
        Some(raw) => Some(UserId::parse(raw).ok_or_else(user_not_found)?),
    };
    let other = target.filter(|&target| target != caller.user.id);
    if other.is_some() && !caller.user.org_role.administers_organization() {
        return Err(ApiError::insufficient_permissions(
            "Insufficient permissions. OWNER or ADMINISTRATOR role required to reset another \
             user's MFA.",
        )
        .into());
    }
    caller.require_validated()?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, false)?;
    let by = caller.actor();
    let done = match other {
        Some(target) => {
            let require = body.enable.unwrap_or(false);
            state.store.reset_mfa(by, target, Some(require), true).await
        }
        None => state.store.reset_mfa(by, caller.user.id, None, false).await,
    };
    if !done.or_500(FAILED)? {
        return Err(user_not_found().into());
    }
    Ok(Json(MessageResponse::new("MFA reset successfully")))
}

/// Turn the organization's MFA enforcement on or off (OWNER, ADMINISTRATORS): the same flag as
/// the organization's `mfaEnforced`. While on, members without MFA log in pending and must
/// enrol, and sessions that never passed MFA stop refreshing.
#[utoipa::path(
    post,
    path = "/mfa/organization/enforce",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = EnforceBody,
    responses(
        BodyRejectedWithText,
        (status = 200, description = "MFA enforcement enabled for organization / MFA enforcement disabled for organization", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD`; `USER_NOT_VALIDATED`; malformed JSON", body = ErrorWithText),
        (status = 401, description = "Unauthorized", body = ErrorWithText),
        (status = 403, description = "Insufficient permissions", body = ErrorWithText),
        (status = 500, description = "Failed to update MFA enforcement", body = ErrorWithText),
    )
)]
async fn enforce(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<EnforceBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Failed to update MFA enforcement";
    let caller = caller?;
    let JsonBody(body) = body?;
    let enforced = body
        .enforced
        .ok_or_else(|| ApiError::missing_field("enforced"))?;
    if !caller.user.org_role.administers_organization() {
        return Err(ApiError::insufficient_permissions(
            "Insufficient permissions: only OWNER and ADMINISTRATOR roles can enforce MFA",
        )
        .into());
    }
    caller.require_validated()?;
    let patch = OrganizationPatch {
        mfa_enforced: Some(enforced),
        ..OrganizationPatch::default()
    };
    state
        .store
        .update_organization(caller.actor(), patch)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| ApiError::internal(FAILED, "the caller's organization is gone"))?;
    let message = if enforced {
        "MFA enforcement enabled for organization"
    } else {
        "MFA enforcement disabled for organization"
    };
    Ok(Json(MessageResponse::new(message)))
}
