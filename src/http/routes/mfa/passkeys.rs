//! Passkeys (contract section 14): registering one (`POST /mfa/setup` with `PASSKEY`, then
//! `POST /mfa/passkey/complete-registration`, its `-1` alias, or `verify-setup`), the options of
//! an authentication as a second factor (`POST /mfa/passkey/auth-options`, answered by
//! `verify-login`), and managing them (`GET /mfa/passkeys`, `PUT` and `DELETE
//! /mfa/passkeys/{id}`). The ceremonies are webauthn-rs's (`auth::webauthn`); their states are
//! in the database, spent once by the write that uses them.

use axum::extract::{Path, State};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RegisterPublicKeyCredential};

use crate::auth::hash_token;
use crate::auth::webauthn::{challenge_of, challenge_text, CHALLENGE_TTL_MS};
use crate::clock::now_ms;
use crate::domain::{has_refused_chars, MfaMethod, PasskeyId, UserId, MAX_PASSKEYS_PER_USER};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AnySession, AuthUser, JsonBody, PathId};
use crate::http::common::throttle::ClientAddr;
use crate::http::AppState;
use crate::mail::{MfaChange, MFA_SETUP_CODE};
use crate::store::{
    ChallengePurpose, Factor, MailboxProof, NewEmailCode, NewPasskey, NewPasskeyChallenge,
    PasskeyRegistration, PasskeyRemoval, StoredPasskey, VerifyOutcome,
};

use super::{
    client_key, locked, may_change_mfa, mfa_state_of, notify, send_link, verified_session_expiry,
    MfaResult, LINK_TOKEN_TTL_MS,
};

/// A passkey's name: at most this many characters.
const MAX_NAME_CHARS: usize = 100;

/// The name a passkey registered without one gets.
const DEFAULT_NAME: &str = "Passkey";

fn registration_failed() -> ApiError {
    ApiError::bad_request(
        ErrorCode::PasskeyRegistrationFailed,
        "Passkey registration failed",
    )
}

/// A user at [`MAX_PASSKEYS_PER_USER`]: refused by `setup` (the ceremony would be wasted) and by
/// the registration (counted again there, under the user's lock).
fn passkey_limit_reached() -> ApiError {
    ApiError::conflict(
        ErrorCode::PasskeyLimitReached,
        format!("A user may keep at most {MAX_PASSKEYS_PER_USER} passkeys"),
    )
}

fn passkey_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::PasskeyNotFound, "Passkey not found")
}

// ---- registration -------------------------------------------------------------------------------

/// `POST /mfa/setup` for `PASSKEY`, 200: what `navigator.credentials.create` needs.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PasskeySetupResponse {
    success: SuccessTrue,
    data: PasskeySetup,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct PasskeySetup {
    /// The registration's challenge, base64url without padding (5 minutes, once, this session).
    challenge: String,
    /// `--mfa-issuer`.
    rp_name: String,
    /// The account's e-mail address.
    user_name: String,
    /// The relying party id: the host of `--public-url`.
    #[serde(rename = "rpID")]
    rp_id: String,
    /// The origin of `--public-url`.
    origin: String,
    /// The user handle the authenticator stores, base64url without padding.
    user_id: String,
    /// `PublicKeyCredentialCreationOptions` (WebAuthn's JSON form), ready for
    /// `navigator.credentials.create({publicKey: options})` once its binary fields are decoded.
    #[schema(value_type = Object)]
    options: Value,
}

/// The passkeys of `user_id` as webauthn-rs reads them; a row that does not read is logged and
/// left out (it can neither be excluded nor used).
async fn passkeys_of(
    state: &AppState,
    user_id: UserId,
    failed: &'static str,
) -> Result<(Vec<StoredPasskey>, Vec<Passkey>), ApiError> {
    let stored = state.store.passkeys(user_id).await.or_500(failed)?;
    let parsed = stored
        .iter()
        .filter_map(|row| match serde_json::from_str::<Passkey>(&row.passkey) {
            Ok(passkey) => Some(passkey),
            Err(error) => {
                tracing::error!(%error, passkey = %row.id, "a stored passkey does not read");
                None
            }
        })
        .collect();
    Ok((stored, parsed))
}

/// `setup` of a passkey: a registration ceremony for `caller`, bound to this session, and,
/// from a pending session, the code e-mailed to prove the mailbox (as for TOTP).
pub(super) async fn setup(state: &AppState, caller: &AuthUser) -> MfaResult<PasskeySetupResponse> {
    const FAILED: &str = "MFA setup failed";
    let user = &caller.user;
    let (stored, existing) = passkeys_of(state, user.id, FAILED).await?;
    if i64::try_from(stored.len()).unwrap_or(i64::MAX) >= MAX_PASSKEYS_PER_USER {
        return Err(passkey_limit_reached().into());
    }
    let display_name = format!("{} {}", user.first_name, user.last_name);
    let display_name = match display_name.trim() {
        "" => user.email.as_str(),
        name => name,
    };
    let rp = &state.relying_party;
    let start = rp
        .start_registration(user.id.uuid(), &user.email, display_name, &existing)
        .ok_or_else(|| ApiError::internal(FAILED, "webauthn-rs refused to start a registration"))?;
    let now = now_ms();
    let email_code = caller.mfa.pending.then(super::enrol::new_email_code);
    let email_code_row = email_code.as_ref().map(|code| NewEmailCode {
        session_id: caller.session_id,
        user_id: user.id,
        code_hash: hash_token(code),
        created_at: now,
        expires_at: now + LINK_TOKEN_TTL_MS,
    });
    let ceremony = NewPasskeyChallenge {
        user_id: user.id,
        session_id: caller.session_id,
        purpose: ChallengePurpose::Register,
        challenge: start.challenge.clone(),
        state: start.state,
        created_at: now,
        expires_at: now + CHALLENGE_TTL_MS,
    };
    state
        .store
        .begin_passkey_ceremony(ceremony, email_code_row)
        .await
        .or_500(FAILED)?;
    if let Some(code) = email_code {
        send_link(state, caller, &MFA_SETUP_CODE, &code).await;
    }
    Ok(Json(PasskeySetupResponse {
        success: SuccessTrue,
        data: PasskeySetup {
            challenge: start.challenge,
            rp_name: rp.name.clone(),
            user_name: user.email.clone(),
            rp_id: rp.id.clone(),
            origin: rp.origin.clone(),
            user_id: URL_SAFE_NO_PAD.encode(user.id.uuid().as_bytes()),
            options: start.options,
        },
    }))
}

/// `{credential, challenge?, name?, emailCode?}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct CompleteRegistrationBody {
    /// What `navigator.credentials.create` answered, in WebAuthn's JSON form
    /// (`PublicKeyCredential.toJSON()`: `id`, `rawId`, `type`, `response.clientDataJSON`,
    /// `response.attestationObject`, base64url).
    #[schema(value_type = Object)]
    credential: Option<Value>,
    /// The challenge of the `setup` it answers (else read from the credential's client data).
    challenge: Option<String>,
    /// A name for the passkey (at most 100 characters; default "Passkey").
    name: Option<String>,
    /// The code e-mailed by `setup`: required when a pending session registers.
    email_code: Option<String>,
}

/// Register the passkey a `setup` asked for: the first one turns `PASSKEY` on (primary if no
/// method is), and this session counts as verified. The change is e-mailed to the account.
#[utoipa::path(
    post,
    path = "/mfa/passkey/complete-registration",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = CompleteRegistrationBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "Passkey registration completed", body = MessageResponse),
        (status = 400, description = "Passkey registration failed (a bad attestation, another origin or rp id, a challenge unknown, spent, expired or of another session, a credential registered already, a wrong `emailCode`); `MISSING_FIELD`; `INVALID_FIELD` (name); `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 409, description = "`PASSKEY_LIMIT_REACHED`: A user may keep at most 20 passkeys (nothing checked or spent: the ceremony stays live)", body = ErrorWithText),
        (status = 429, description = "`MFA_LOCKED`: Too many failed attempts (a pending session's registration counts toward the lockout of `verify-login`; `Retry-After`)", body = ErrorWithText),
        (status = 500, description = "Passkey registration failed", body = ErrorWithText),
    )
)]
pub(super) async fn complete_registration(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
    client: ClientAddr,
    body: Result<JsonBody<CompleteRegistrationBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, true)?;
    let JsonBody(body) = body?;
    let credential = body
        .credential
        .ok_or_else(|| ApiError::missing_field("credential"))?;
    let name = passkey_name(body.name.as_deref())?;
    caller.require_validated()?;
    let registration = Registration {
        credential,
        challenge: body.challenge,
        name,
        email_code: body.email_code,
    };
    register(&state, &caller, client, registration).await
}

/// `POST /mfa/passkey/complete-registration-1`: the same (the official client calls both).
#[utoipa::path(
    post,
    path = "/mfa/passkey/complete-registration-1",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = CompleteRegistrationBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "Passkey registration completed", body = MessageResponse),
        (status = 400, description = "Passkey registration failed; `MISSING_FIELD`; `INVALID_FIELD` (name); `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 409, description = "`PASSKEY_LIMIT_REACHED`: A user may keep at most 20 passkeys", body = ErrorWithText),
        (status = 429, description = "`MFA_LOCKED`: Too many failed attempts (`Retry-After`)", body = ErrorWithText),
        (status = 500, description = "Passkey registration failed", body = ErrorWithText),
    )
)]
pub(super) async fn complete_registration_alias(
    state: State<AppState>,
    session: Result<AnySession, ApiError>,
    client: ClientAddr,
    body: Result<JsonBody<CompleteRegistrationBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    complete_registration(state, session, client, body).await
}

/// What a registration gives, from `complete-registration` or `verify-setup`.
pub(super) struct Registration {
    pub(super) credential: Value,
    pub(super) challenge: Option<String>,
    pub(super) name: String,
    pub(super) email_code: Option<String>,
}

/// Registers `registration.credential` for `caller` (who may change their MFA, validated).
pub(super) async fn register(
    state: &AppState,
    caller: &AuthUser,
    client: ClientAddr,
    registration: Registration,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Passkey registration failed";
    let now = now_ms();
    let credential: Option<RegisterPublicKeyCredential> =
        serde_json::from_value(registration.credential).ok();
    // A challenge given that cannot be one of ours names no ceremony: the registration fails
    // as for an unknown one (not read from the client data instead).
    let given = registration
        .challenge
        .as_deref()
        .map(|c| c.trim().trim_end_matches('='))
        .filter(|c| !c.is_empty());
    let challenge = match given {
        Some(given) => challenge_text(given),
        None => credential
            .as_ref()
            .and_then(|c| challenge_of(c.response.client_data_json.as_slice())),
    }
    .unwrap_or_default();
    let ceremony = match (&credential, challenge.is_empty()) {
        (Some(_), false) => state
            .store
            .passkey_challenge_state(
                caller.session_id,
                ChallengePurpose::Register,
                challenge.clone(),
                now,
            )
            .await
            .or_500(FAILED)?,
        _ => None,
    };
    let passkey = match (&credential, &ceremony) {
        (Some(credential), Some(ceremony)) => state
            .relying_party
            .finish_registration(credential, ceremony),
        _ => None,
    };
    // A pending session also gives the code e-mailed at setup; its failures count for the
    // lockout, as for TOTP.
    let mailbox = caller.mfa.pending.then(|| MailboxProof {
        email_code_hash: registration
            .email_code
            .as_deref()
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(hash_token),
        client: client_key(client),
    });
    if passkey.is_none() && mailbox.is_none() {
        return Err(registration_failed().into());
    }
    let row = match &passkey {
        Some(passkey) => Some(NewPasskey {
            id: PasskeyId::new(),
            credential_id: passkey.cred_id().to_vec(),
            passkey: serde_json::to_string(passkey).or_500(FAILED)?,
            name: registration.name,
            counter: i64::from(credential_counter(passkey)),
            backed_up: credential_backed_up(passkey),
        }),
        None => None,
    };
    let session_expires_at = verified_session_expiry(state, caller, now);
    let outcome = state
        .store
        .complete_passkey_registration(
            caller.actor(),
            caller.session_id,
            challenge,
            row,
            mailbox,
            session_expires_at,
        )
        .await
        .or_500(FAILED)?;
    match outcome {
        PasskeyRegistration::Checked(VerifyOutcome::Verified) => {
            notify(state, &caller.user.email, MfaChange::PasskeyAdded).await;
            Ok(Json(MessageResponse::new("Passkey registration completed")))
        }
        PasskeyRegistration::Checked(VerifyOutcome::Invalid) => Err(registration_failed().into()),
        PasskeyRegistration::Checked(VerifyOutcome::Locked { retry_after_ms }) => {
            Err(locked(retry_after_ms).into())
        }
        PasskeyRegistration::LimitReached => Err(passkey_limit_reached().into()),
    }
}

/// The signature counter of a registered passkey (0: the authenticator keeps none).
fn credential_counter(passkey: &Passkey) -> u32 {
    webauthn_rs::prelude::Credential::from(passkey.clone()).counter
}

/// Whether a passkey is backed up (synchronised to other devices).
fn credential_backed_up(passkey: &Passkey) -> bool {
    webauthn_rs::prelude::Credential::from(passkey.clone()).backup_state
}

/// A passkey's name as given: trimmed, at most 100 characters, no control characters; absent or
/// blank, the default.
pub(super) fn passkey_name(raw: Option<&str>) -> Result<String, ApiError> {
    let name = raw.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok(DEFAULT_NAME.to_owned());
    }
    checked_name(name)
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid_field(
            "Passkey name must be at most 100 characters",
        ));
    }
    if has_refused_chars(name) {
        return Err(ApiError::invalid_field(
            "Passkey name contains invalid characters",
        ));
    }
    Ok(name.to_owned())
}

// ---- authentication as a second factor ----------------------------------------------------------

/// `POST /mfa/passkey/auth-options`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AuthOptionsResponse {
    success: SuccessTrue,
    data: AuthOptions,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct AuthOptions {
    /// base64url without padding; 5 minutes, once, this session.
    challenge: String,
    rp_id: String,
    /// `preferred`: the password was the other factor; user presence is required.
    #[schema(example = "preferred")]
    user_verification: &'static str,
    /// ms: 300000.
    timeout: i64,
    allow_credentials: Vec<AllowedCredential>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AllowedCredential {
    /// The credential id, base64url without padding.
    id: String,
    #[serde(rename = "type")]
    #[schema(example = "public-key")]
    kind: &'static str,
    /// What the authenticator said it is reached by (`internal`, `usb`, `hybrid`, ...);
    /// empty when it did not say.
    #[schema(value_type = Vec<String>)]
    transports: Vec<Value>,
}

/// The options of an authentication with one of the caller's passkeys, as a second factor;
/// `verify-login` with `PASSKEY` answers them. Allowed to a pending session.
#[utoipa::path(
    post,
    path = "/mfa/passkey/auth-options",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The options of `navigator.credentials.get`", body = AuthOptionsResponse),
        (status = 400, description = "`MFA_METHOD_NOT_ENABLED`: passkeys are not enabled for this user (none registered, or the method is off)", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 500, description = "Failed to generate authentication options", body = ErrorWithText),
    )
)]
pub(super) async fn auth_options(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<AuthOptionsResponse> {
    const FAILED: &str = "Failed to generate authentication options";
    let AnySession(caller, _) = session?;
    let mfa = state
        .store
        .mfa_state(caller.user.id)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| ApiError::internal(FAILED, "the caller has no MFA state"))?;
    let (_, passkeys) = passkeys_of(&state, caller.user.id, FAILED).await?;
    let enabled = mfa.method(MfaMethod::Passkey).is_some_and(|m| m.enabled);
    if !enabled || passkeys.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::MfaMethodNotEnabled,
            "Passkey MFA is not enabled",
        )
        .into());
    }
    let start = state
        .relying_party
        .start_authentication(&passkeys)
        .ok_or_else(|| ApiError::internal(FAILED, "webauthn-rs refused to start"))?;
    let now = now_ms();
    let ceremony = NewPasskeyChallenge {
        user_id: caller.user.id,
        session_id: caller.session_id,
        purpose: ChallengePurpose::Authenticate,
        challenge: start.challenge.clone(),
        state: start.state,
        created_at: now,
        expires_at: now + CHALLENGE_TTL_MS,
    };
    state
        .store
        .begin_passkey_ceremony(ceremony, None)
        .await
        .or_500(FAILED)?;
    let allow_credentials = start.options["allowCredentials"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|allowed| AllowedCredential {
            id: allowed["id"].as_str().unwrap_or_default().to_owned(),
            kind: "public-key",
            transports: allowed["transports"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    Ok(Json(AuthOptionsResponse {
        success: SuccessTrue,
        data: AuthOptions {
            challenge: start.challenge,
            rp_id: state.relying_party.id.clone(),
            user_verification: "preferred",
            timeout: CHALLENGE_TTL_MS,
            allow_credentials,
        },
    }))
}

/// What a `verify-login` with `PASSKEY` presents: the assertion verified by webauthn-rs against
/// this session's live ceremony and the credentials as stored now, or [`Factor::Invalid`].
pub(super) async fn login_factor(
    state: &AppState,
    caller: &AuthUser,
    credential: Value,
    now: i64,
) -> Result<Factor, ApiError> {
    const FAILED: &str = "MFA verification failed";
    let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(credential) else {
        return Ok(Factor::Invalid);
    };
    let Some(challenge) = challenge_of(credential.response.client_data_json.as_slice()) else {
        return Ok(Factor::Invalid);
    };
    let ceremony = state
        .store
        .passkey_challenge_state(
            caller.session_id,
            ChallengePurpose::Authenticate,
            challenge.clone(),
            now,
        )
        .await
        .or_500(FAILED)?;
    let Some(ceremony) = ceremony else {
        return Ok(Factor::Invalid);
    };
    let (_, passkeys) = passkeys_of(state, caller.user.id, FAILED).await?;
    let Some(asserted) =
        state
            .relying_party
            .finish_authentication(&credential, &ceremony, &passkeys)
    else {
        return Ok(Factor::Invalid);
    };
    Ok(Factor::Passkey {
        challenge,
        credential_id: asserted.credential_id,
        counter: i64::from(asserted.counter),
        passkey: serde_json::to_string(&asserted.passkey).or_500(FAILED)?,
        backed_up: asserted.backed_up,
    })
}

// ---- management ---------------------------------------------------------------------------------

/// `GET /mfa/passkeys`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PasskeysResponse {
    success: SuccessTrue,
    passkeys: Vec<PasskeyJson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct PasskeyJson {
    id: PasskeyId,
    name: String,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339; absent until it is first used to sign in.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    /// Synchronised to other devices (a cloud keychain), as the authenticator last said.
    backed_up: bool,
}

fn rfc3339(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl From<StoredPasskey> for PasskeyJson {
    fn from(row: StoredPasskey) -> Self {
        PasskeyJson {
            id: row.id,
            name: row.name,
            created_at: rfc3339(row.created_at),
            last_used_at: row.last_used_at.map(rfc3339),
            backed_up: row.backed_up,
        }
    }
}

/// The caller's passkeys, oldest first (never their keys).
#[utoipa::path(
    get,
    path = "/mfa/passkeys",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's passkeys", body = PasskeysResponse),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`: a pending session", body = ErrorWithText),
        (status = 500, description = "Failed to fetch passkeys", body = ErrorWithText),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
) -> MfaResult<PasskeysResponse> {
    let caller = caller?;
    let rows = state
        .store
        .passkeys(caller.user.id)
        .await
        .or_500("Failed to fetch passkeys")?;
    Ok(Json(PasskeysResponse {
        success: SuccessTrue,
        passkeys: rows.into_iter().map(PasskeyJson::from).collect(),
    }))
}

/// `{name}`.
#[derive(Deserialize, ToSchema)]
pub(super) struct RenameBody {
    /// 1 to 100 characters after trimming.
    #[schema(value_type = String, example = "Work laptop")]
    name: Option<String>,
}

/// Rename one of the caller's passkeys.
#[utoipa::path(
    put,
    path = "/mfa/passkeys/{id}",
    tag = "mfa",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A passkey id")),
    request_body = RenameBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "Passkey renamed", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD` (name); `INVALID_FIELD`: Passkey name is required / must be at most 100 characters / contains invalid characters; `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 404, description = "Passkey not found (unknown, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to rename passkey", body = ErrorWithText),
    )
)]
pub(super) async fn rename(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<PasskeyId>>,
    body: Result<JsonBody<RenameBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    let caller = caller?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, false)?;
    let JsonBody(body) = body?;
    let name = body.name.ok_or_else(|| ApiError::missing_field("name"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid_field("Passkey name is required").into());
    }
    let name = checked_name(name)?;
    caller.require_validated()?;
    let id = id.or(passkey_not_found)?;
    let renamed = state
        .store
        .rename_passkey(caller.actor(), id, name)
        .await
        .or_500("Failed to rename passkey")?;
    if !renamed {
        return Err(passkey_not_found().into());
    }
    Ok(Json(MessageResponse::new("Passkey renamed")))
}

/// Remove one of the caller's passkeys; the last one turns `PASSKEY` off, but not while it is
/// the last enabled method and the organization enforces MFA. E-mailed to the account.
#[utoipa::path(
    delete,
    path = "/mfa/passkeys/{id}",
    tag = "mfa",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A passkey id")),
    responses(
        (status = 200, description = "Passkey removed", body = MessageResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "Cannot disable MFA when enforced by organization (the last passkey, passkeys the last enabled method); `MFA_REQUIRED`", body = ErrorWithText),
        (status = 404, description = "Passkey not found (unknown, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to remove passkey", body = ErrorWithText),
    )
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<PasskeyId>>,
) -> MfaResult<MessageResponse> {
    let caller = caller?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, false)?;
    caller.require_validated()?;
    let id = id.or(passkey_not_found)?;
    let outcome = state
        .store
        .delete_passkey(caller.actor(), id)
        .await
        .or_500("Failed to remove passkey")?;
    match outcome {
        PasskeyRemoval::Done => {
            notify(&state, &caller.user.email, MfaChange::PasskeyRemoved).await;
            Ok(Json(MessageResponse::new("Passkey removed")))
        }
        PasskeyRemoval::NotFound => Err(passkey_not_found().into()),
        PasskeyRemoval::LastWhileRequired => Err(ApiError::forbidden(
            ErrorCode::MfaEnforced,
            "Cannot disable MFA when enforced by organization",
        )
        .into()),
    }
}
