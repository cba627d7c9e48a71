//! Signing in with a passkey alone (contract section 14): `POST /auth/passkey/options` and
//! `POST /auth/passkey/verify`. Both are public (a stale `Authorization` header is ignored) and
//! rate limited like `POST /user/login`.
//!
//! The options start a ceremony bound to nothing but itself (its challenge, stored for 5
//! minutes, spent once); the verification finds the credential the assertion names, checks that
//! the authenticator's user handle is its owner, lets webauthn-rs verify the assertion with user
//! verification required, and spends the ceremony and the counter in the transaction that opens
//! the session: a passkey that verifies its user is two factors, so the session is MFA-verified
//! from the start. Every refusal is the same 401 and writes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential};

use crate::auth::webauthn::{challenge_of, CHALLENGE_TTL_MS};
use crate::clock::now_ms;
use crate::domain::{LoginMethod, SeenDevice};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::CredentialBodyRejected;
use crate::http::bodies::sessions::{LoginResponse, UserSummary};
use crate::http::common::credentials::{self, TokenSubject};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::JsonBody;
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::AppState;
use crate::store::{PasskeySignIn, PasskeySignInOutcome};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(options))
        .routes(routes!(verify))
}

const FAILED: &str = "Login failed";

fn invalid_passkey() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidPasskey,
        "Invalid passkey",
    )
}

/// `POST /auth/passkey/options`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct SignInOptionsResponse {
    success: SuccessTrue,
    data: SignInOptions,
}

/// `PublicKeyCredentialRequestOptions` for `navigator.credentials.get`, once `challenge` is
/// decoded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SignInOptions {
    /// base64url without padding; 5 minutes, once.
    challenge: String,
    /// The host of `--public-url`.
    rp_id: String,
    /// `required`: the passkey alone signs in, so it must verify its user (a PIN, a biometric).
    #[schema(example = "required")]
    user_verification: &'static str,
    /// ms: 300000.
    timeout: i64,
    /// Always empty: the authenticator offers its discoverable credentials for this relying
    /// party.
    #[schema(value_type = Vec<Object>)]
    allow_credentials: Vec<Value>,
}

/// Start signing in with a passkey alone: a challenge for a discoverable credential.
#[utoipa::path(
    post,
    path = "/auth/passkey/options",
    tag = "identity",
    responses(
        (status = 200, description = "The options of `navigator.credentials.get`", body = SignInOptionsResponse),
        (status = 429, description = "`RATE_LIMITED` (`Retry-After`)", body = ErrorResponse),
        (status = 500, description = "Failed to generate authentication options", body = ErrorResponse),
    )
)]
async fn options(State(state): State<AppState>) -> Result<Json<SignInOptionsResponse>, ApiError> {
    const OPTIONS_FAILED: &str = "Failed to generate authentication options";
    let start = state
        .relying_party
        .start_sign_in()
        .ok_or_else(|| ApiError::internal(OPTIONS_FAILED, "webauthn-rs refused to start"))?;
    let now = now_ms();
    state
        .store
        .begin_passkey_sign_in(
            start.challenge.clone(),
            start.state,
            now,
            now + CHALLENGE_TTL_MS,
        )
        .await
        .or_500(OPTIONS_FAILED)?;
    Ok(Json(SignInOptionsResponse {
        success: SuccessTrue,
        data: SignInOptions {
            challenge: start.challenge,
            rp_id: state.relying_party.id.clone(),
            user_verification: "required",
            timeout: CHALLENGE_TTL_MS,
            allow_credentials: Vec::new(),
        },
    }))
}

/// `{credential, deviceInfo?}`. Unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
struct PasskeySignInBody {
    /// What `navigator.credentials.get` answered, in WebAuthn's JSON form
    /// (`PublicKeyCredential.toJSON()`: `id`, `rawId`, `type`, `response.clientDataJSON`,
    /// `response.authenticatorData`, `response.signature`, `response.userHandle`, base64url).
    #[schema(value_type = Object)]
    credential: Option<Value>,
    #[serde(default, rename = "deviceInfo")]
    device_info: DeviceInfoField,
}

/// Sign in with a passkey alone: the login answer of `POST /user/login`, with a session that
/// has passed MFA (`loginMethod` `PASSKEY`).
#[utoipa::path(
    post,
    path = "/auth/passkey/verify",
    tag = "identity",
    request_body = PasskeySignInBody,
    responses(
        (status = 200, description = "Signed in, as `POST /user/login` answers, MFA-verified (never `mfaRequired`)", body = LoginResponse),
        (status = 400, description = "`MISSING_FIELD` (credential), malformed JSON", body = ErrorResponse),
        (status = 401, description = "`INVALID_PASSKEY`: Invalid passkey (an unknown credential, a user handle of another user, a bad signature, another origin or rp id, no user verification, a ceremony unknown, spent or expired, a counter that did not increase, a deleted user, passkeys switched off)", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Login failed", body = ErrorResponse),
    )
)]
async fn verify(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<PasskeySignInBody>,
) -> Result<Json<LoginResponse>, ApiError> {
    let credential = body
        .credential
        .ok_or_else(|| ApiError::missing_field("credential"))?;
    let credential = serde_json::from_value::<PublicKeyCredential>(credential).ok();
    // Failures count per credential and client address, as a login's per e-mail.
    let key = credential
        .as_ref()
        .map(|c| URL_SAFE_NO_PAD.encode(c.get_credential_id()))
        .unwrap_or_default();
    let attempt = state
        .throttle
        .login_attempt(AccountKey::token("passkey", &key), client)?;
    let device = body.device_info.seen(&user_agent, client);
    let result = match &credential {
        Some(credential) => sign_in(&state, credential, device).await,
        None => Err(invalid_passkey()),
    };
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

async fn sign_in(
    state: &AppState,
    credential: &PublicKeyCredential,
    device: SeenDevice,
) -> Result<LoginResponse, ApiError> {
    let now = now_ms();
    let challenge = challenge_of(credential.response.client_data_json.as_slice())
        .ok_or_else(invalid_passkey)?;
    let credential_id = credential.get_credential_id().to_vec();
    let candidate = state
        .store
        .passkey_sign_in_candidate(challenge.clone(), credential_id.clone(), now)
        .await
        .or_500(FAILED)?
        .ok_or_else(invalid_passkey)?;
    // The authenticator says whose credential it is; it must be the owner's (webauthn-rs
    // leaves this to the relying party).
    let owner = candidate.user.id.uuid();
    if credential.get_user_unique_id() != Some(owner.as_bytes().as_slice())
        || candidate.user.deleted_at.is_some()
        || !candidate.method_enabled
    {
        return Err(invalid_passkey());
    }
    let passkey = match serde_json::from_str::<Passkey>(&candidate.passkey) {
        Ok(passkey) => passkey,
        Err(error) => {
            tracing::error!(%error, "a stored passkey does not read");
            return Err(invalid_passkey());
        }
    };
    // The ceremony's state requires user verification; checked again here, as it is what
    // makes one passkey two factors.
    let asserted = state
        .relying_party
        .finish_authentication(credential, &candidate.ceremony, &[passkey])
        .filter(|asserted| asserted.user_verified)
        .ok_or_else(invalid_passkey)?;
    let issued = credentials::new_session(
        candidate.user.id,
        now,
        state.session_lifetime_ms,
        device,
        false,
        LoginMethod::Passkey,
    );
    let sign_in = PasskeySignIn {
        challenge,
        credential_id: asserted.credential_id,
        counter: i64::from(asserted.counter),
        passkey: serde_json::to_string(&asserted.passkey).or_500(FAILED)?,
        backed_up: asserted.backed_up,
        session: issued.session,
        refresh: issued.refresh,
        now,
    };
    let user = match state
        .store
        .sign_in_with_passkey(sign_in)
        .await
        .or_500(FAILED)?
    {
        PasskeySignInOutcome::SignedIn(user) => user,
        PasskeySignInOutcome::Invalid => return Err(invalid_passkey()),
    };
    let subject = TokenSubject::of(&user, &issued.secret);
    let tokens = credentials::issue(state, subject, issued.refresh_plain, now).or_500(FAILED)?;
    Ok(LoginResponse::new(tokens, UserSummary::from(&user), false))
}
