//! Sign-in with identity providers (contract section 12): `POST /auth/google`,
//! `POST /auth/microsoft` (an ID token the client got from the provider), the refresh routes
//! `POST /auth/{google,github,microsoft}/refresh` (our session, as `POST /user/refresh`),
//! `GET /auth/providers`, and `POST /auth/web3` (out of scope: always not configured).
//!
//! A sign-in signs in the account the identity is linked to; an unknown identity is linked to
//! the account with its verified e-mail, or registers a new organization and its OWNER under
//! the registration policy; MFA applies as after a password. Nothing is written on any error.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::providers::{OidcProvider, ProviderError, ProviderIdentity, ProviderKind};
use crate::clock::now_ms;
use crate::config::RegistrationPolicy;
use crate::domain::{Email, LoginMethod, OrgId, OrgRole, PersonName, UserId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields::{self as schema, MAX_ORG_TEXT_CHARS};
use crate::http::bodies::responses::CredentialBodyRejected;
use crate::http::bodies::sessions::{IssuedTokens, LoginResponse, UserSummary};
use crate::http::common::credentials::{self, TokenSubject, PENDING_SESSION_TTL_MS};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::JsonBody;
use crate::http::common::fields;
use crate::http::common::refresh::{refresh_session, RefreshBody, RefreshResponse};
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::routes::auth_flow::redirect_uri;
use crate::http::routes::registration::{email_mismatch, link_invalid};
use crate::http::AppState;
use crate::store::{
    NewOrganization, NewUser, ProviderSignIn, ProviderSignInOutcome, StoreError, User,
};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(providers))
        .routes(routes!(sign_in_google))
        .routes(routes!(sign_in_microsoft))
        .routes(routes!(sign_in_github))
        .routes(routes!(exchange_google))
        .routes(routes!(exchange_microsoft))
        .routes(routes!(refresh_google))
        .routes(routes!(refresh_github))
        .routes(routes!(refresh_microsoft))
        .routes(routes!(web3))
}

/// An ID token is a few KiB; anything far larger is not one.
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
const FAILED: &str = "Sign-in failed";

pub(super) fn not_configured() -> ApiError {
    ApiError::bad_request(
        ErrorCode::ProviderNotConfigured,
        "Sign-in with this provider is not configured",
    )
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidProviderToken,
        "Invalid provider token",
    )
}

fn email_unverified() -> ApiError {
    ApiError::forbidden(
        ErrorCode::ProviderEmailUnverified,
        "The identity provider has not verified this e-mail address",
    )
}

/// The reason goes to the log; the client learns only which of the two it was.
pub(super) fn provider_failed(provider: &str, error: ProviderError) -> ApiError {
    match error {
        ProviderError::InvalidToken(reason) => {
            tracing::info!(provider, %reason, "provider token refused");
            invalid_token()
        }
        ProviderError::Unavailable(reason) => {
            tracing::warn!(provider, %reason, "identity provider unavailable");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::ProviderUnavailable,
                "The identity provider is unavailable",
            )
        }
    }
}

/// An ID token from the provider, and what the client says about its device. Unknown fields
/// are ignored.
#[derive(Deserialize, ToSchema)]
struct IdTokenBody {
    /// The ID token (a JWT) the provider issued to this server's client id.
    #[schema(schema_with = schema::non_blank, required = true)]
    token: Option<String>,
    #[serde(default, rename = "deviceInfo")]
    device_info: DeviceInfoField,
}

/// Sign in with a Google ID token. A first sign-in links the identity to the account with its
/// verified e-mail, or registers a new organization and its OWNER (under the registration
/// policy).
#[utoipa::path(
    post,
    path = "/auth/google",
    tag = "identity",
    request_body = IdTokenBody,
    responses(
        (status = 200, description = "Signed in, as `POST /user/login` answers; with `mfaRequired: true`, the session waits for `POST /mfa/verify-login`", body = LoginResponse),
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`, `MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 401, description = "`INVALID_PROVIDER_TOKEN` (bad signature, another application's, expired, wrong issuer), `USER_INACTIVE`", body = ErrorResponse),
        (status = 403, description = "`PROVIDER_EMAIL_UNVERIFIED`; a first sign-in that would register under `--registration invite-only` or `closed`: `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_UNAVAILABLE`: the provider did not answer within 5 s, or answered garbage", body = ErrorResponse),
    )
)]
async fn sign_in_google(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<IdTokenBody>,
) -> Result<Json<LoginResponse>, ApiError> {
    let provider = state.providers.google().ok_or_else(not_configured)?;
    sign_in_with_id_token(&state, provider, body, (&user_agent, client)).await
}

/// Sign in with a Microsoft ID token (Entra ID, personal accounts); as `POST /auth/google`.
#[utoipa::path(
    post,
    path = "/auth/microsoft",
    tag = "identity",
    request_body = IdTokenBody,
    responses(
        (status = 200, description = "Signed in, as `POST /user/login` answers; with `mfaRequired: true`, the session waits for `POST /mfa/verify-login`", body = LoginResponse),
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`, `MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 401, description = "`INVALID_PROVIDER_TOKEN` (bad signature, another application's, expired, wrong issuer or tenant), `USER_INACTIVE`", body = ErrorResponse),
        (status = 403, description = "`PROVIDER_EMAIL_UNVERIFIED`; a first sign-in that would register under `--registration invite-only` or `closed`: `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_UNAVAILABLE`: the provider did not answer within 5 s, or answered garbage", body = ErrorResponse),
    )
)]
async fn sign_in_microsoft(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<IdTokenBody>,
) -> Result<Json<LoginResponse>, ApiError> {
    let provider = state.providers.microsoft().ok_or_else(not_configured)?;
    sign_in_with_id_token(&state, provider, body, (&user_agent, client)).await
}

async fn sign_in_with_id_token(
    state: &AppState,
    provider: &OidcProvider,
    body: IdTokenBody,
    seen: (&UserAgent, ClientAddr),
) -> Result<Json<LoginResponse>, ApiError> {
    let token = fields::required(&body.token, "token")?.trim();
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(invalid_token());
    }
    let identity = provider
        .verify(token, None, now_ms() / 1000)
        .await
        .map_err(|error| provider_failed(provider.name(), error))?;
    let device = body.device_info.seen(seen.0, seen.1);
    let signed_in = sign_in(
        state,
        provider.name(),
        provider.kind(),
        identity,
        device,
        None,
    )
    .await?;
    Ok(Json(signed_in.login_response()))
}

/// A provider sign-in that opened its session.
pub(super) struct SignedIn {
    pub tokens: IssuedTokens,
    pub user: User,
    pub mfa_required: bool,
    /// The picture the provider has of the person, if any.
    pub picture: Option<String>,
}

impl SignedIn {
    pub fn login_response(self) -> LoginResponse {
        LoginResponse::new(
            self.tokens,
            UserSummary::from(&self.user),
            self.mfa_required,
        )
    }
}

/// An activation link a first sign-in registers through (`activationUid`, `activationToken`):
/// its id once its token is checked, as `POST /user/activate` checks it (before anything is
/// read: a guess costs one HMAC); None when the request names none. 400
/// `ACTIVATION_LINK_INVALID` for a wrong one.
pub(super) fn activation_link(
    state: &AppState,
    uid: &Option<String>,
    token: &Option<String>,
) -> Result<Option<Uuid>, ApiError> {
    let uid = uid.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let token = token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let (uid, token) = match (uid, token) {
        (None, None) => return Ok(None),
        (Some(uid), Some(token)) => (uid, token),
        (None, _) => return Err(ApiError::missing_field("activationUid")),
        (_, None) => return Err(ApiError::missing_field("activationToken")),
    };
    state
        .throttle
        .check_account(AccountKey::token("activation", uid))?;
    let id = Uuid::parse_str(uid).map_err(|_| link_invalid())?;
    let key = state.link_key.as_ref().ok_or_else(link_invalid)?;
    if !key.verifies(id, token) {
        return Err(link_invalid());
    }
    Ok(Some(id))
}

/// Signs in with a verified identity: the store links or registers (through `activation` when
/// given), in one transaction, and opens the session.
pub(super) async fn sign_in(
    state: &AppState,
    provider: &str,
    kind: ProviderKind,
    identity: ProviderIdentity,
    device: crate::domain::SeenDevice,
    activation: Option<Uuid>,
) -> Result<SignedIn, ApiError> {
    let now = now_ms();
    let email = identity.verified_email.as_deref().and_then(Email::parse);
    // Under `invite-only`, an activation link lets a first sign-in register; under `closed`,
    // nothing does (as `POST /user/activate`).
    let may_register = match state.registration {
        RegistrationPolicy::Open => true,
        RegistrationPolicy::InviteOnly => activation.is_some(),
        RegistrationPolicy::Closed => false,
    };
    let registration = match &email {
        Some(email) if may_register => Some(new_account(email, &identity, now)),
        _ => None,
    };
    let user_id = registration
        .as_ref()
        .map_or_else(UserId::new, |(_, user)| user.id);
    let issued = credentials::new_session(
        user_id,
        now,
        state.session_lifetime_ms,
        device,
        false,
        login_method(kind),
    );
    let request = ProviderSignIn {
        provider: provider.to_owned(),
        subject: identity.subject.clone(),
        verified_email: email.map(|e| (e.as_str().to_owned(), e.key())),
        registration,
        activation,
        session: issued.session,
        refresh: issued.refresh,
        pending_expires_at: now + PENDING_SESSION_TTL_MS,
        now,
    };
    // A unique violation: a concurrent first sign-in of this identity or e-mail linked or
    // registered first; the second try finds what it made.
    let outcome = match state.store.sign_in_with_provider(request.clone()).await {
        Err(StoreError::Conflict) => state.store.sign_in_with_provider(request).await,
        other => other,
    }
    .or_500(FAILED)?;
    let (user, mfa_required) = match outcome {
        ProviderSignInOutcome::SignedIn { user, mfa_required } => (user, mfa_required),
        ProviderSignInOutcome::Inactive => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::UserInactive,
                "User account is inactive",
            ))
        }
        ProviderSignInOutcome::EmailUnverified => return Err(email_unverified()),
        ProviderSignInOutcome::RegistrationRefused => {
            return Err(registration_refused(state.registration))
        }
        ProviderSignInOutcome::ActivationInvalid => return Err(link_invalid()),
        ProviderSignInOutcome::ActivationEmailMismatch => return Err(email_mismatch()),
    };
    let subject = TokenSubject::of(&user, &issued.secret);
    let tokens = credentials::issue(state, subject, issued.refresh_plain, now).or_500(FAILED)?;
    Ok(SignedIn {
        tokens,
        user,
        mfa_required,
        picture: identity.picture,
    })
}

pub(super) fn login_method(kind: ProviderKind) -> LoginMethod {
    match kind {
        ProviderKind::Google => LoginMethod::Google,
        ProviderKind::Microsoft => LoginMethod::Microsoft,
        ProviderKind::Github => LoginMethod::Github,
        ProviderKind::Oidc => LoginMethod::Oidc,
    }
}

/// Why a first sign-in may not register (contract section 13). Under `open` the store refuses
/// only when there was no verified e-mail to register with, which it says otherwise.
fn registration_refused(policy: RegistrationPolicy) -> ApiError {
    match policy {
        RegistrationPolicy::Closed => {
            ApiError::forbidden(ErrorCode::RegistrationClosed, "Registration is closed")
        }
        _ => ApiError::forbidden(
            ErrorCode::RegistrationInviteOnly,
            "Registration requires an activation link",
        ),
    }
}

/// The organization and OWNER a first sign-in registers, as `POST /user/register` makes them,
/// verified (the provider proved the address) and without a password. Named after the person
/// ("Zoe Park's organization"); names the provider does not give, or gives unusable, fall back
/// to the e-mail's local part.
fn new_account(email: &Email, identity: &ProviderIdentity, now: i64) -> (NewOrganization, NewUser) {
    let name = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(PersonName::parse)
            .map(PersonName::into_inner)
    };
    let full = name(&identity.name);
    let mut words = full.as_deref().unwrap_or("").splitn(2, ' ');
    let first_name = name(&identity.given_name)
        .or_else(|| {
            words
                .next()
                .and_then(PersonName::parse)
                .map(PersonName::into_inner)
        })
        .or_else(|| {
            let local = email.as_str().split('@').next().unwrap_or("");
            PersonName::parse(local).map(PersonName::into_inner)
        })
        .unwrap_or_else(|| "User".to_owned());
    let last_name = name(&identity.family_name)
        .or_else(|| {
            words
                .next()
                .and_then(PersonName::parse)
                .map(PersonName::into_inner)
        })
        .unwrap_or_default();
    let person = full.unwrap_or_else(|| format!("{first_name} {last_name}").trim().to_owned());
    let suffix = "'s organization";
    let room = MAX_ORG_TEXT_CHARS - suffix.chars().count();
    let org_name: String = person.chars().take(room).collect::<String>() + suffix;
    let org = NewOrganization {
        id: OrgId::new(),
        name: org_name,
        is_business: false,
        website: None,
        created_at: now,
    };
    let user = NewUser {
        id: UserId::new(),
        org_id: org.id,
        email: email.as_str().to_owned(),
        email_key: email.key(),
        password_hash: None,
        first_name,
        last_name,
        org_role: OrgRole::Owner,
        validated: true,
        created_at: now,
    };
    (org, user)
}

/// `POST /auth/{provider}/refresh`, one per provider: exactly `POST /user/refresh` (it refreshes
/// our session, however it was opened). A macro, as utoipa documents one path per handler.
macro_rules! refresh_route {
    ($handler:ident, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
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
        async fn $handler(
            State(state): State<AppState>,
            JsonBody(body): JsonBody<RefreshBody>,
        ) -> Result<Json<RefreshResponse>, ApiError> {
            refresh_session(&state, body).await.map(Json)
        }
    };
}

refresh_route!(
    refresh_google,
    "/auth/google/refresh",
    "Refresh a session opened through Google (or any session): exactly `POST /user/refresh`."
);
refresh_route!(
    refresh_github,
    "/auth/github/refresh",
    "Refresh a session opened through GitHub (or any session): exactly `POST /user/refresh`."
);
refresh_route!(
    refresh_microsoft,
    "/auth/microsoft/refresh",
    "Refresh a session opened through Microsoft (or any session): exactly `POST /user/refresh`."
);

/// An authorization code from GitHub, and what the client says about its device; with an
/// activation link, a first sign-in registers through it. Unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
struct GithubBody {
    /// The code GitHub's authorization page gave the client (for this server's OAuth app).
    #[schema(schema_with = schema::non_blank, required = true)]
    code: Option<String>,
    #[serde(default, rename = "deviceInfo")]
    device_info: DeviceInfoField,
    /// The id of an activation link (contract section 13), with its token.
    #[serde(rename = "activationUid")]
    activation_uid: Option<String>,
    #[serde(rename = "activationToken")]
    activation_token: Option<String>,
}

/// A provider's code is at most a few KiB.
const MAX_CODE_BYTES: usize = 4096;

/// The code of a request, trimmed; an absurdly long one proves nothing.
fn code_of(code: &Option<String>) -> Result<&str, ApiError> {
    let code = fields::required(code, "code")?.trim();
    if code.len() > MAX_CODE_BYTES {
        return Err(invalid_token());
    }
    Ok(code)
}

/// Sign in with GitHub: the code is exchanged at GitHub with the client secret, and the
/// account's primary e-mail counts only when GitHub has verified it. With `activationUid` and
/// `activationToken`, a first sign-in registers through that activation link, as
/// `POST /user/activate` does.
#[utoipa::path(
    post,
    path = "/auth/github",
    tag = "identity",
    request_body = GithubBody,
    responses(
        (status = 200, description = "Signed in, as `POST /user/login` answers; with `mfaRequired: true`, the session waits for `POST /mfa/verify-login`", body = LoginResponse),
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`, `MISSING_FIELD`, malformed JSON; `ACTIVATION_LINK_INVALID`, `ACTIVATION_EMAIL_MISMATCH`", body = ErrorResponse),
        (status = 401, description = "`INVALID_PROVIDER_TOKEN` (GitHub refused the code), `USER_INACTIVE`", body = ErrorResponse),
        (status = 403, description = "`PROVIDER_EMAIL_UNVERIFIED` (the primary e-mail is not verified at GitHub); a first sign-in that would register under `--registration invite-only` (without an activation link) or `closed`: `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_UNAVAILABLE`: GitHub did not answer within 5 s, or answered garbage", body = ErrorResponse),
    )
)]
async fn sign_in_github(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<GithubBody>,
) -> Result<Json<LoginResponse>, ApiError> {
    let provider = state.providers.github().ok_or_else(not_configured)?;
    let code = code_of(&body.code)?;
    let activation = activation_link(&state, &body.activation_uid, &body.activation_token)?;
    let identity = provider
        .exchange(code, None, None)
        .await
        .map_err(|error| provider_failed("github", error))?;
    let device = body.device_info.seen(&user_agent, client);
    let signed_in = sign_in(
        &state,
        "github",
        ProviderKind::Github,
        identity,
        device,
        activation,
    )
    .await?;
    Ok(Json(signed_in.login_response()))
}

/// An authorization code the client got from Google or Microsoft for this server's client id.
#[derive(Deserialize, ToSchema)]
struct ExchangeBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    code: Option<String>,
    /// The redirect URI the authorization request named; default
    /// `{public-url}/auth/oidc/{google|microsoft}/callback`.
    #[serde(rename = "redirectUri")]
    redirect_uri: Option<String>,
    /// The id of an activation link (contract section 13), with its token.
    #[serde(rename = "activationUid")]
    activation_uid: Option<String>,
    #[serde(rename = "activationToken")]
    activation_token: Option<String>,
    #[serde(default, rename = "deviceInfo")]
    device_info: DeviceInfoField,
}

/// The person of an `authState`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuthStateUser {
    email: String,
    /// First and last name.
    name: String,
    /// The provider's picture of the person, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    image_url: Option<String>,
}

/// Which provider an `authState` came from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum ExchangeProvider {
    Google,
    Microsoft,
}

/// The client's `authState`: our session's tokens (`token` = `accessToken`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuthState {
    user: AuthStateUser,
    token: String,
    access_token: String,
    refresh_token: String,
    /// When the access token expires, Unix milliseconds.
    expires_at: i64,
    provider: ExchangeProvider,
    /// Present (true) when the session waits for its second factor (`POST /mfa/verify-login`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    mfa_required: bool,
}

/// `POST /auth/{google,microsoft}/exchange`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExchangeResponse {
    success: SuccessTrue,
    auth_state: AuthState,
}

/// Exchange a Google authorization code (client secret, no PKCE: the client made the
/// authorization request) for its ID token, verified as `POST /auth/google` verifies one, and
/// sign in.
#[utoipa::path(
    post,
    path = "/auth/google/exchange",
    tag = "identity",
    request_body = ExchangeBody,
    responses(
        (status = 200, description = "Signed in", body = ExchangeResponse),
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`, `MISSING_FIELD`, `INVALID_FIELD` (`redirectUri`), malformed JSON; `ACTIVATION_LINK_INVALID`, `ACTIVATION_EMAIL_MISMATCH`", body = ErrorResponse),
        (status = 401, description = "`INVALID_PROVIDER_TOKEN` (the code or its ID token refused), `USER_INACTIVE`", body = ErrorResponse),
        (status = 403, description = "`PROVIDER_EMAIL_UNVERIFIED`; `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_UNAVAILABLE`", body = ErrorResponse),
    )
)]
async fn exchange_google(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<ExchangeBody>,
) -> Result<Json<ExchangeResponse>, ApiError> {
    let provider = state.providers.google().ok_or_else(not_configured)?;
    let device = body.device_info.seen(&user_agent, client);
    exchange(&state, provider, ExchangeProvider::Google, body, device).await
}

/// Exchange a Microsoft authorization code for its ID token and sign in; as
/// `POST /auth/google/exchange`.
#[utoipa::path(
    post,
    path = "/auth/microsoft/exchange",
    tag = "identity",
    request_body = ExchangeBody,
    responses(
        (status = 200, description = "Signed in", body = ExchangeResponse),
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`, `MISSING_FIELD`, `INVALID_FIELD` (`redirectUri`), malformed JSON; `ACTIVATION_LINK_INVALID`, `ACTIVATION_EMAIL_MISMATCH`", body = ErrorResponse),
        (status = 401, description = "`INVALID_PROVIDER_TOKEN` (the code or its ID token refused), `USER_INACTIVE`", body = ErrorResponse),
        (status = 403, description = "`PROVIDER_EMAIL_UNVERIFIED`; `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
        (status = 502, description = "`PROVIDER_UNAVAILABLE`", body = ErrorResponse),
    )
)]
async fn exchange_microsoft(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<ExchangeBody>,
) -> Result<Json<ExchangeResponse>, ApiError> {
    let provider = state.providers.microsoft().ok_or_else(not_configured)?;
    let device = body.device_info.seen(&user_agent, client);
    exchange(&state, provider, ExchangeProvider::Microsoft, body, device).await
}

async fn exchange(
    state: &AppState,
    provider: &OidcProvider,
    which: ExchangeProvider,
    body: ExchangeBody,
    device: crate::domain::SeenDevice,
) -> Result<Json<ExchangeResponse>, ApiError> {
    let code = code_of(&body.code)?;
    let redirect_uri = match body.redirect_uri.as_deref().map(str::trim) {
        None | Some("") => redirect_uri(state, provider.name()),
        Some(uri) if uri.len() <= 2048 && is_http_url(uri) => uri.to_owned(),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "redirectUri must be an http(s) URL",
            ))
        }
    };
    let activation = activation_link(state, &body.activation_uid, &body.activation_token)?;
    let failed = |error| provider_failed(provider.name(), error);
    let id_token = provider
        .exchange_code(code, &redirect_uri, None)
        .await
        .map_err(failed)?;
    let identity = provider
        .verify(&id_token, None, now_ms() / 1000)
        .await
        .map_err(|error| provider_failed(provider.name(), error))?;
    let signed_in = sign_in(
        state,
        provider.name(),
        provider.kind(),
        identity,
        device,
        activation,
    )
    .await?;
    let user = &signed_in.user;
    let name = format!("{} {}", user.first_name, user.last_name)
        .trim()
        .to_owned();
    let access_token = signed_in.tokens.access_token;
    Ok(Json(ExchangeResponse {
        success: SuccessTrue,
        auth_state: AuthState {
            user: AuthStateUser {
                email: user.email.clone(),
                name,
                image_url: signed_in.picture,
            },
            token: access_token.clone(),
            access_token,
            refresh_token: signed_in.tokens.refresh_token,
            expires_at: signed_in.tokens.expires_at,
            provider: which,
            mfa_required: signed_in.mfa_required,
        },
    }))
}

fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// A configured provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProviderJson {
    /// `google`, `microsoft`, `github` or a generic provider's name (`--oidc-provider`).
    name: String,
    display_name: String,
}

/// `GET /auth/providers`, 200.
#[derive(Debug, Serialize, ToSchema)]
struct ProvidersResponse {
    success: SuccessTrue,
    providers: Vec<ProviderJson>,
}

/// The identity providers this server signs in with (public): Google, Microsoft, GitHub, then
/// the generic ones in the order configured.
#[utoipa::path(
    get,
    path = "/auth/providers",
    tag = "identity",
    responses((status = 200, description = "The configured providers (none: an empty list)", body = ProvidersResponse))
)]
async fn providers(State(state): State<AppState>) -> Json<ProvidersResponse> {
    let providers = state
        .providers
        .list()
        .into_iter()
        .map(|p| ProviderJson {
            name: p.name,
            display_name: p.display_name,
        })
        .collect();
    Json(ProvidersResponse {
        success: SuccessTrue,
        providers,
    })
}

/// Stellar sign-in is out of scope: never configured. Any body is ignored.
#[utoipa::path(
    post,
    path = "/auth/web3",
    tag = "identity",
    responses(
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`", body = ErrorResponse),
        (status = 429, description = "Too many attempts from this address", body = ErrorResponse),
    )
)]
async fn web3() -> ApiError {
    not_configured()
}
