//! Sign-up and e-mail verification: `POST /user/register`, `POST /user/verify-email`,
//! `POST /user/pre-verify-email`, `POST /user/resend-verification/{verificationTokenId}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::hash_token;
use crate::clock::now_ms;
use crate::config::RegistrationPolicy;
use crate::domain::{has_refused_chars, OrgId, OrgRole, UserId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields::{self as schema, MAX_ORG_TEXT_CHARS, MAX_WEBSITE_CHARS};
use crate::http::bodies::responses::{CredentialBodyRejected, PasswordBodyRejected, RateLimited};
use crate::http::bodies::sessions::{IssuedTokens, UserSummary};
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::{
    self, hash_password, new_verification, send_new_verification, send_verification, TokenSubject,
};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{JsonBody, PathId};
use crate::http::common::fields;
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::AppState;
use crate::store::{NewOrganization, NewUser};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_email))
        .routes(routes!(pre_verify_email))
        .routes(routes!(resend_verification))
}

/// A new account: its organization (named `companyName`, or after the person) and its OWNER.
/// Unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    #[schema(schema_with = schema::email, required = true)]
    email: Option<String>,
    #[schema(schema_with = schema::password, required = true)]
    password: Option<String>,
    #[schema(schema_with = schema::person_name, required = true)]
    first_name: Option<String>,
    #[schema(schema_with = schema::person_name, required = true)]
    last_name: Option<String>,
    /// The organization's name; a personal account's organization is named after the person.
    #[schema(max_length = 200)]
    company_name: Option<String>,
    is_business: Option<bool>,
    #[schema(max_length = 2048)]
    company_website: Option<String>,
    #[serde(default)]
    device_info: DeviceInfoField,
}

/// The organization's name: `companyName`, or for a personal account the person's name.
fn company_name(
    body: &RegisterBody,
    first_name: &str,
    last_name: &str,
) -> Result<String, ApiError> {
    let name = match body.company_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => format!("{first_name} {last_name}"),
    };
    if name.chars().count() > MAX_ORG_TEXT_CHARS || has_refused_chars(&name) {
        return Err(ApiError::invalid_field(
            "companyName must be at most 200 characters without control characters",
        ));
    }
    Ok(name)
}

fn website(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let website = raw.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
    if website
        .as_ref()
        .is_some_and(|w| w.chars().count() > MAX_WEBSITE_CHARS)
    {
        return Err(ApiError::invalid_field("companyWebsite is too long"));
    }
    Ok(website)
}

/// `POST /user/register`, 201.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RegisterResponse {
    success: SuccessTrue,
    #[serde(flatten)]
    tokens: IssuedTokens,
    /// Id of the verification e-mail's token, for `POST /user/resend-verification/{id}`.
    verification_token_id: Uuid,
    user: UserSummary,
}

impl RegisterResponse {
    fn new(tokens: IssuedTokens, verification_token_id: Uuid, user: UserSummary) -> Self {
        RegisterResponse {
            success: SuccessTrue,
            tokens,
            verification_token_id,
            user,
        }
    }
}

/// Register: creates the organization and its OWNER (not yet verified), starts a session and
/// sends the verification e-mail.
#[utoipa::path(
    post,
    path = "/user/register",
    tag = "identity",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered; the account is not verified yet", body = RegisterResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_EMAIL`, `WEAK_PASSWORD`, `EMAIL_ALREADY_EXISTS`, `INVALID_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 403, description = "The server's registration policy (`--registration`) refuses it: `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Registration failed", body = ErrorResponse),
    )
)]
async fn register(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    const FAILED: &str = "Registration failed";
    // First: a server that does not take registrations says so whatever the body holds.
    registration_allowed(state.registration)?;
    let email = fields::email(&body.email)?;
    let password = fields::password(fields::required(&body.password, "password")?)?;
    let first_name = fields::required_name(&body.first_name, "firstName")?;
    let last_name = fields::required_name(&body.last_name, "lastName")?;
    let company_name = company_name(&body, &first_name, &last_name)?;
    let website = website(body.company_website)?;
    state
        .throttle
        .check_account(AccountKey::email(email.as_str()))?;

    let password_hash = hash_password(&state, Some(password), FAILED).await?;
    let now = now_ms();
    let org = NewOrganization {
        id: OrgId::new(),
        name: company_name,
        is_business: body.is_business.unwrap_or(false),
        website,
        created_at: now,
    };
    let user = NewUser {
        id: UserId::new(),
        org_id: org.id,
        email: email.as_str().to_owned(),
        email_key: email.key(),
        password_hash,
        first_name,
        last_name,
        org_role: OrgRole::Owner,
        created_at: now,
    };
    let device = body.device_info.seen(&user_agent, client);
    let issued = credentials::new_session(user.id, now, state.session_lifetime_ms, device, false);
    let (verification, verification_token) = new_verification(user.id, now);
    let verification_id = verification.id;
    let summary = UserSummary {
        id: user.id,
        email: user.email.clone(),
        name: user.first_name.clone(),
        org_id: org.id,
        org_role: user.org_role.value().into(),
    };

    let registered = state
        .store
        .register(org, user, issued.session, issued.refresh, verification)
        .await;
    fields::account_inserted(registered, FAILED)?;
    send_verification(&state, &summary.email, &verification_token).await;

    let subject = TokenSubject {
        user_id: summary.id,
        email: &summary.email,
        org_id: summary.org_id,
        session: &issued.secret,
    };
    let tokens = credentials::issue(&state, subject, issued.refresh_plain, now).or_500(FAILED)?;
    let answer = RegisterResponse::new(tokens, verification_id, summary);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Whether the policy lets anyone register a new organization (contract section 13).
fn registration_allowed(policy: RegistrationPolicy) -> Result<(), ApiError> {
    match policy {
        RegistrationPolicy::Open => Ok(()),
        RegistrationPolicy::InviteOnly => Err(ApiError::forbidden(
            ErrorCode::RegistrationInviteOnly,
            "Registration requires an activation link",
        )),
        RegistrationPolicy::Closed => Err(ApiError::forbidden(
            ErrorCode::RegistrationClosed,
            "Registration is closed",
        )),
    }
}

/// The token of the verification e-mail; an invited user may set their password with it.
#[derive(Deserialize, ToSchema)]
struct VerifyBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    token: Option<String>,
    /// Sets the account's password (same policy as at registration).
    #[schema(schema_with = schema::optional_password)]
    password: Option<String>,
}

/// Verify an e-mail address (tokens live 24 hours, single use).
#[utoipa::path(
    post,
    path = "/user/verify-email",
    tag = "identity",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "Email verified successfully", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_TOKEN` (invalid or expired), `WEAK_PASSWORD`, malformed JSON", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Failed to verify email", body = ErrorResponse),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<MessageResponse>, ApiError> {
    const FAILED: &str = "Failed to verify email";
    let token = fields::required(&body.token, "token")?.trim();
    // An invited user may choose their password while verifying.
    let password = body.password.as_deref().map(fields::password).transpose()?;
    state
        .throttle
        .check_account(AccountKey::token("verification", token))?;
    let new_password_hash = hash_password(&state, password, FAILED).await?;
    state
        .store
        .consume_verification(&hash_token(token), now_ms(), new_password_hash)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidToken,
                "Invalid or expired verification token",
            )
        })?;
    Ok(Json(MessageResponse::new("Email verified successfully")))
}

/// The token of a verification or invitation e-mail, to check before using it.
#[derive(Deserialize, ToSchema)]
struct PreVerifyBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    token: Option<String>,
}

/// How the account signs in: `LOCAL`, with a password of its own (the only way this server has
/// until identity providers, contract section 12).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum AuthMethod {
    Local,
}

/// `POST /user/pre-verify-email`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PreVerifyResponse {
    success: SuccessTrue,
    /// "Token is valid".
    message: &'static str,
    auth_method: AuthMethod,
    /// False for an invited user who has not chosen a password yet: the page that verifies
    /// asks for one (`verify-email` with `password`).
    has_password: bool,
}

/// Check a verification or invitation token without using it (contract section 13), so that a
/// page can ask for a password first when the account has none. Rate limited as
/// `verify-email` is, on the same keys.
#[utoipa::path(
    post,
    path = "/user/pre-verify-email",
    tag = "identity",
    request_body = PreVerifyBody,
    responses(
        (status = 200, description = "Token is valid; the token stays usable", body = PreVerifyResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_TOKEN` (unknown, used or expired), malformed JSON", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Failed to check the token", body = ErrorResponse),
    )
)]
async fn pre_verify_email(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PreVerifyBody>,
) -> Result<Json<PreVerifyResponse>, ApiError> {
    let token = fields::required(&body.token, "token")?.trim();
    state
        .throttle
        .check_account(AccountKey::token("verification", token))?;
    let has_password = state
        .store
        .verification_has_password(&hash_token(token), now_ms())
        .await
        .or_500("Failed to check the token")?
        .ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidToken, "Invalid or expired token")
        })?;
    Ok(Json(PreVerifyResponse {
        success: SuccessTrue,
        message: "Token is valid",
        auth_method: AuthMethod::Local,
        has_password,
    }))
}

fn verification_not_found() -> ApiError {
    ApiError::not_found(
        ErrorCode::VerificationNotFound,
        "Verification token not found",
    )
}

/// `POST /user/resend-verification/{verificationTokenId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ResendVerificationResponse {
    success: SuccessTrue,
    message: &'static str,
    /// Id of the new verification token.
    verification_token_id: Uuid,
}

impl ResendVerificationResponse {
    fn new(verification_token_id: Uuid) -> Self {
        ResendVerificationResponse {
            success: SuccessTrue,
            message: "Verification email sent",
            verification_token_id,
        }
    }
}

/// Send a fresh verification e-mail.
#[utoipa::path(
    post,
    path = "/user/resend-verification/{verificationTokenId}",
    tag = "identity",
    params(("verificationTokenId" = Uuid, Path, description = "`verificationTokenId` of register (or of an earlier resend)")),
    responses(
        (status = 200, description = "Verification email sent", body = ResendVerificationResponse),
        (status = 400, description = "Email is already verified", body = ErrorResponse),
        (status = 404, description = "Verification token not found", body = ErrorResponse),
        RateLimited,
        (status = 500, description = "Failed to resend verification email", body = ErrorResponse),
    )
)]
async fn resend_verification(
    State(state): State<AppState>,
    Path(id): Path<PathId<Uuid>>,
) -> Result<Json<ResendVerificationResponse>, ApiError> {
    const FAILED: &str = "Failed to resend verification email";
    let id = id.or(verification_not_found)?;
    state.throttle.check_account(AccountKey::verification(id))?;
    let user = state
        .store
        .user_by_verification_id(id)
        .await
        .or_500(FAILED)?
        .ok_or_else(verification_not_found)?;
    if user.validated {
        return Err(ApiError::bad_request(
            ErrorCode::AlreadyVerified,
            "Email is already verified",
        ));
    }
    let new_id = send_new_verification(&state, user.id, &user.email, FAILED).await?;
    Ok(Json(ResendVerificationResponse::new(new_id)))
}
