//! Sign-up and e-mail verification: `POST /user/register`, `POST /user/activate` (through an
//! activation link), `POST /user/verify-email`,
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
use crate::domain::{
    email_key, has_refused_chars, Email, LoginMethod, OrgId, OrgRole, Password, UserId,
};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields::{self as schema, MAX_ORG_TEXT_CHARS, MAX_WEBSITE_CHARS};
use crate::http::bodies::responses::{CredentialBodyRejected, PasswordBodyRejected, RateLimited};
use crate::http::bodies::sessions::{IssuedTokens, UserSummary};
use crate::http::bodies::MessageResponse;
use crate::http::common::credentials::{
    self, hash_password, new_verification, send_new_verification, send_verification, IssuedSession,
    TokenSubject, Verifying,
};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{JsonBody, PathId};
use crate::http::common::fields;
use crate::http::common::throttle::{AccountKey, ClientAddr};
use crate::http::AppState;
use crate::store::{Activation, NewOrganization, NewUser};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(activate))
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
    // As `PUT /organization/{orgId}` refuses for `website`.
    if website.as_deref().is_some_and(has_refused_chars) {
        return Err(ApiError::invalid_field(
            "companyWebsite contains invalid characters",
        ));
    }
    Ok(website)
}

/// `POST /user/register` and `POST /user/activate`, 201.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RegisterResponse {
    success: SuccessTrue,
    #[serde(flatten)]
    tokens: IssuedTokens,
    /// Id of the verification e-mail's token, for `POST /user/resend-verification/{id}`. Absent
    /// after an activation: that account starts verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_token_id: Option<Uuid>,
    user: UserSummary,
}

/// A registration's fields, checked.
struct Applicant {
    email: Email,
    password: Password,
    first_name: String,
    last_name: String,
    company_name: String,
    website: Option<String>,
    is_business: bool,
    device_info: DeviceInfoField,
}

impl Applicant {
    /// Checks the fields in the order register documents; rate limits by address.
    fn parse(state: &AppState, body: RegisterBody) -> Result<Applicant, ApiError> {
        let email = fields::email(&body.email)?;
        let password = fields::password(fields::required(&body.password, "password")?)?;
        let first_name = fields::required_name(&body.first_name, "firstName")?;
        let last_name = fields::required_name(&body.last_name, "lastName")?;
        let company_name = company_name(&body, &first_name, &last_name)?;
        let website = website(body.company_website)?;
        state
            .throttle
            .check_account(AccountKey::email(email.as_str()))?;
        Ok(Applicant {
            email,
            password,
            first_name,
            last_name,
            company_name,
            website,
            is_business: body.is_business.unwrap_or(false),
            device_info: body.device_info,
        })
    }
}

/// What a registration stores (its organization, its OWNER, their first session) and answers.
struct Registration {
    org: NewOrganization,
    user: NewUser,
    issued: IssuedSession,
    summary: UserSummary,
    now: i64,
}

impl Registration {
    /// Hashes the password and makes the rows; `validated`: the address is proved already.
    async fn new(
        state: &AppState,
        applicant: Applicant,
        validated: bool,
        seen: (&UserAgent, ClientAddr),
        failed: &'static str,
    ) -> Result<Registration, ApiError> {
        let password_hash = hash_password(state, Some(applicant.password), failed).await?;
        let now = now_ms();
        let org = NewOrganization {
            id: OrgId::new(),
            name: applicant.company_name,
            is_business: applicant.is_business,
            website: applicant.website,
            created_at: now,
        };
        let user = NewUser {
            id: UserId::new(),
            org_id: org.id,
            email: applicant.email.as_str().to_owned(),
            email_key: applicant.email.key(),
            password_hash,
            first_name: applicant.first_name,
            last_name: applicant.last_name,
            org_role: OrgRole::Owner,
            validated,
            created_at: now,
        };
        let device = applicant.device_info.seen(seen.0, seen.1);
        let issued = credentials::new_session(
            user.id,
            now,
            state.session_lifetime_ms,
            device,
            false,
            LoginMethod::Local,
        );
        let summary = UserSummary {
            id: user.id,
            email: user.email.clone(),
            name: user.first_name.clone(),
            org_id: org.id,
            org_role: user.org_role.value().into(),
        };
        Ok(Registration {
            org,
            user,
            issued,
            summary,
            now,
        })
    }

    /// The 201 answer, once the rows are stored.
    fn answer(
        self,
        state: &AppState,
        verification_token_id: Option<Uuid>,
        failed: &'static str,
    ) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
        let subject = TokenSubject {
            user_id: self.summary.id,
            email: &self.summary.email,
            org_id: self.summary.org_id,
            session: &self.issued.secret,
        };
        let tokens = credentials::issue(state, subject, self.issued.refresh_plain, self.now)
            .or_500(failed)?;
        let answer = RegisterResponse {
            success: SuccessTrue,
            tokens,
            verification_token_id,
            user: self.summary,
        };
        Ok((StatusCode::CREATED, Json(answer)))
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
    let applicant = Applicant::parse(&state, body)?;
    let registration =
        Registration::new(&state, applicant, false, (&user_agent, client), FAILED).await?;
    let (verification, verification_token) = new_verification(
        &state,
        Verifying::SignUp,
        registration.user.id,
        registration.now,
    );
    let verification_id = verification.id;
    let registered = state
        .store
        .register(
            registration.org.clone(),
            registration.user.clone(),
            registration.issued.session.clone(),
            registration.issued.refresh.clone(),
            verification,
        )
        .await;
    fields::account_inserted(registered, FAILED)?;
    let to = registration.summary.email.clone();
    send_verification(&state, Verifying::SignUp, &to, &verification_token).await;
    registration.answer(&state, Some(verification_id), FAILED)
}

/// An activation: the link's id and token (from the e-mailed link's fragment) and the
/// registration's fields, as register takes them. Unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ActivateBody {
    /// The link's id (`uid` in the link's fragment).
    #[schema(schema_with = schema::non_blank, required = true)]
    uid: Option<String>,
    #[schema(schema_with = schema::non_blank, required = true)]
    token: Option<String>,
    /// Its `email` must be the link's.
    #[schema(required = true)]
    registration_info: Option<RegisterBody>,
}

pub(super) fn link_invalid() -> ApiError {
    ApiError::bad_request(
        ErrorCode::ActivationLinkInvalid,
        "Invalid or expired activation link",
    )
}

pub(super) fn email_mismatch() -> ApiError {
    ApiError::bad_request(
        ErrorCode::ActivationEmailMismatch,
        "E-mail does not match the activation link",
    )
}

/// Register through an activation link (contract section 13): as register does, but the account
/// starts verified (the link reached the mailbox), no verification e-mail is sent, and the link
/// is spent in the same transaction. Works under `open` and `invite-only`; not under `closed`.
#[utoipa::path(
    post,
    path = "/user/activate",
    tag = "identity",
    request_body = ActivateBody,
    responses(
        (status = 201, description = "Registered and verified; the link is spent", body = RegisterResponse),
        (status = 400, description = "`ACTIVATION_LINK_INVALID` (unknown, wrong token, spent, expired or deleted link), `ACTIVATION_EMAIL_MISMATCH`, and register's: `MISSING_FIELD`, `INVALID_EMAIL`, `WEAK_PASSWORD`, `EMAIL_ALREADY_EXISTS`, `INVALID_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 403, description = "`REGISTRATION_CLOSED`", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Activation failed", body = ErrorResponse),
    )
)]
async fn activate(
    State(state): State<AppState>,
    client: ClientAddr,
    user_agent: UserAgent,
    JsonBody(body): JsonBody<ActivateBody>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    const FAILED: &str = "Activation failed";
    if state.registration == RegistrationPolicy::Closed {
        registration_allowed(state.registration)?;
    }
    let uid = fields::required(&body.uid, "uid")?.trim();
    let token = fields::required(&body.token, "token")?.trim();
    let info = body
        .registration_info
        .ok_or_else(|| ApiError::missing_field("registrationInfo"))?;
    let applicant = Applicant::parse(&state, info)?;
    state
        .throttle
        .check_account(AccountKey::token("activation", uid))?;
    // The token is checked before anything is read or hashed: a guess costs one HMAC.
    let id = Uuid::parse_str(uid).map_err(|_| link_invalid())?;
    let key = state.link_key.as_ref().ok_or_else(link_invalid)?;
    if !key.verifies(id, token) {
        return Err(link_invalid());
    }
    let link = state
        .store
        .link(id)
        .await
        .or_500(FAILED)?
        .filter(|link| link.activated_at.is_none() && link.expires_at > now_ms())
        .ok_or_else(link_invalid)?;
    if email_key(&link.email) != applicant.email.key() {
        return Err(email_mismatch());
    }
    let registration =
        Registration::new(&state, applicant, true, (&user_agent, client), FAILED).await?;
    // Checked again in the transaction that spends it: the link may have changed meanwhile.
    let activated = state
        .store
        .activate(
            id,
            registration.org.clone(),
            registration.user.clone(),
            registration.issued.session.clone(),
            registration.issued.refresh.clone(),
        )
        .await;
    match fields::account_inserted(activated, FAILED)? {
        Activation::Activated => registration.answer(&state, None, FAILED),
        Activation::Invalid => Err(link_invalid()),
        Activation::EmailMismatch => Err(email_mismatch()),
    }
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
struct VerifyEmailBody {
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
    request_body = VerifyEmailBody,
    responses(
        (status = 200, description = "Email verified successfully", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD`, `INVALID_TOKEN` (invalid or expired), `WEAK_PASSWORD`, malformed JSON", body = ErrorResponse),
        PasswordBodyRejected,
        (status = 500, description = "Failed to verify email", body = ErrorResponse),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<VerifyEmailBody>,
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
    let new_id =
        send_new_verification(&state, Verifying::SignUp, user.id, &user.email, FAILED).await?;
    Ok(Json(ResendVerificationResponse::new(new_id)))
}
