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
use crate::http::bodies::sessions::{LoginResponse, UserSummary};
use crate::http::common::credentials::{self, TokenSubject, PENDING_SESSION_TTL_MS};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::JsonBody;
use crate::http::common::fields;
use crate::http::common::refresh::{refresh_session, RefreshBody, RefreshResponse};
use crate::http::common::throttle::ClientAddr;
use crate::http::AppState;
use crate::store::{NewOrganization, NewUser, ProviderSignIn, ProviderSignInOutcome, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(providers))
        .routes(routes!(sign_in_google))
        .routes(routes!(sign_in_microsoft))
        .routes(routes!(refresh_google))
        .routes(routes!(refresh_github))
        .routes(routes!(refresh_microsoft))
        .routes(routes!(web3))
}

/// An ID token is a few KiB; anything far larger is not one.
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
const FAILED: &str = "Sign-in failed";

fn not_configured() -> ApiError {
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
fn provider_failed(provider: &str, error: ProviderError) -> ApiError {
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
    sign_in(state, provider.name(), provider.kind(), identity, device).await
}

/// Signs in with a verified identity: the store links or registers, in one transaction, and
/// opens the session.
async fn sign_in(
    state: &AppState,
    provider: &str,
    kind: ProviderKind,
    identity: ProviderIdentity,
    device: crate::domain::SeenDevice,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = now_ms();
    let email = identity.verified_email.as_deref().and_then(Email::parse);
    let registration = match (&email, state.registration) {
        (Some(email), RegistrationPolicy::Open) => Some(new_account(email, &identity, now)),
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
    };
    let subject = TokenSubject::of(&user, &issued.secret);
    let tokens = credentials::issue(state, subject, issued.refresh_plain, now).or_500(FAILED)?;
    Ok(Json(LoginResponse::new(
        tokens,
        UserSummary::from(&user),
        mfa_required,
    )))
}

fn login_method(kind: ProviderKind) -> LoginMethod {
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

/// Refresh a session opened through Google (or any session): exactly `POST /user/refresh`.
#[utoipa::path(
    post,
    path = "/auth/google/refresh",
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
async fn refresh_google(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<RefreshResponse>, ApiError> {
    refresh_session(&state, body).await.map(Json)
}

/// Refresh a session opened through GitHub (or any session): exactly `POST /user/refresh`.
#[utoipa::path(
    post,
    path = "/auth/github/refresh",
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
async fn refresh_github(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<RefreshResponse>, ApiError> {
    refresh_session(&state, body).await.map(Json)
}

/// Refresh a session opened through Microsoft (or any session): exactly `POST /user/refresh`.
#[utoipa::path(
    post,
    path = "/auth/microsoft/refresh",
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
async fn refresh_microsoft(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<RefreshResponse>, ApiError> {
    refresh_session(&state, body).await.map(Json)
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
