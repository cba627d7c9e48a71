//! Sign-up and e-mail verification: `POST /user/register`, `POST /user/verify-email`,
//! `POST /user/resend-verification/{verificationTokenId}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::JsonBody;
use super::openapi::{
    BodyRejected, ErrorResponse, MessageResponse, RateLimited, RegisterResponse,
    ResendVerificationResponse,
};
use super::session_tokens::{self, UserSummary};
use super::AppState;
use crate::auth::{hash_token, new_token};
use crate::clock::now_ms;
use crate::domain::{Email, OrgRole, Password, PasswordError, PersonName};
use crate::mail::verification_email;
use crate::store::{NewOrganization, NewUser, NewVerification, StoreError, User};

/// Verification tokens live 24 hours.
const VERIFICATION_TTL_MS: i64 = 24 * 60 * 60 * 1000;
const MAX_COMPANY_NAME_CHARS: usize = 200;
const MAX_WEBSITE_CHARS: usize = 2048;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
}

/// A new account: its organization (named `companyName`, or after the person) and its OWNER.
/// Unknown fields (`deviceInfo`...) are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    #[schema(value_type = String, format = Email)]
    email: Option<String>,
    /// At least 8 characters (at most 128) with an upper-case letter, a lower-case letter and a
    /// digit.
    #[schema(value_type = String, pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$")]
    password: Option<String>,
    #[schema(value_type = String, max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    first_name: Option<String>,
    #[schema(value_type = String, max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    last_name: Option<String>,
    /// The organization's name; a personal account's organization is named after the person.
    #[schema(max_length = 200)]
    company_name: Option<String>,
    is_business: Option<bool>,
    #[schema(max_length = 2048)]
    company_website: Option<String>,
}

/// Parses a password against the policy, with the contract's `WEAK_PASSWORD` error.
pub fn parse_password(raw: &str) -> Result<Password, ApiError> {
    Password::parse(raw).map_err(|error| {
        let message = match error {
            PasswordError::Weak => {
                "Password must be at least 8 characters long and contain an upper-case letter, \
                 a lower-case letter and a digit"
            }
            PasswordError::TooLong => "Password must be at most 128 characters long",
        };
        ApiError::bad_request("WEAK_PASSWORD", message)
    })
}

pub fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ApiError::missing_field(field)),
    }
}

pub fn person_name(raw: &str, field: &str) -> Result<String, ApiError> {
    PersonName::parse(raw)
        .map(PersonName::into_inner)
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_FIELD",
                format!("{field} must be 1 to 100 characters without control characters"),
            )
        })
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
        BodyRejected,
        RateLimited,
        (status = 500, description = "Registration failed", body = ErrorResponse),
    )
)]
async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = Email::parse(required(&body.email, "email")?)
        .ok_or_else(|| ApiError::bad_request("INVALID_EMAIL", "Invalid email address"))?;
    let password = parse_password(required(&body.password, "password")?)?;
    let first_name = person_name(required(&body.first_name, "firstName")?, "firstName")?;
    let last_name = person_name(required(&body.last_name, "lastName")?, "lastName")?;
    // A personal account has no company: its organization is named after the person.
    let company_name = match body.company_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => format!("{first_name} {last_name}"),
    };
    if company_name.chars().count() > MAX_COMPANY_NAME_CHARS
        || company_name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            "companyName must be at most 200 characters without control characters",
        ));
    }
    let website = body
        .company_website
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty());
    if website
        .as_ref()
        .is_some_and(|w| w.chars().count() > MAX_WEBSITE_CHARS)
    {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            "companyWebsite is too long",
        ));
    }

    let password_hash = state
        .hasher
        .hash(password.expose())
        .await
        .or_500("Registration failed")?;
    let now = now_ms();
    let org = NewOrganization {
        id: Uuid::now_v7(),
        name: company_name,
        is_business: body.is_business.unwrap_or(false),
        website,
        created_at: now,
    };
    let user = NewUser {
        id: Uuid::now_v7(),
        org_id: org.id,
        email: email.as_str().to_owned(),
        email_key: email.key(),
        password_hash: Some(password_hash),
        first_name,
        last_name,
        org_role: OrgRole::Owner.value().into(),
        created_at: now,
    };
    let (session, refresh, refresh_plain) = session_tokens::new_session(user.id, now);
    let (verification, verification_token) = new_verification(user.id, now);
    let (user_id, org_id, session_id, verification_id) =
        (user.id, org.id, session.id, verification.id);
    let email_text = email.as_str().to_owned();
    let first_name = user.first_name.clone();
    let org_role = user.org_role;

    match state
        .store
        .register(org, user, session, refresh, verification)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::bad_request(
                "EMAIL_ALREADY_EXISTS",
                "An account with this email already exists",
            ))
        }
        Err(error) => return Err(ApiError::internal("Registration failed", error)),
    }
    send_verification(&state, &email_text, &first_name, &verification_token).await;

    let tokens = session_tokens::issue(
        &state,
        user_id,
        &email_text,
        org_id,
        session_id,
        refresh_plain,
        now,
    )
    .or_500("Registration failed")?;
    let summary = UserSummary {
        id: user_id,
        email: email_text,
        name: first_name,
        org_id,
        org_role,
    };
    let mut answer =
        json!({ "success": true, "verificationTokenId": verification_id, "user": summary });
    merge(&mut answer, json!(tokens));
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Adds the fields of `extra` (an object) to `target` (an object).
pub fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

pub fn new_verification(user_id: Uuid, now: i64) -> (NewVerification, String) {
    let token = new_token();
    let verification = NewVerification {
        id: Uuid::now_v7(),
        user_id,
        token_hash: hash_token(&token),
        created_at: now,
        expires_at: now + VERIFICATION_TTL_MS,
    };
    (verification, token)
}

/// A failed send is logged, not returned: the account exists and the user can ask for a resend.
pub async fn send_verification(state: &AppState, to: &str, first_name: &str, token: &str) {
    let email = verification_email(to, first_name, token, state.public_url.as_deref());
    if let Err(error) = state.mailer.send(email).await {
        tracing::error!(%error, "sending the verification e-mail failed");
    }
}

/// The token of the verification e-mail; an invited user may set their password with it.
#[derive(Deserialize, ToSchema)]
struct VerifyBody {
    #[schema(value_type = String, pattern = "\\S")]
    token: Option<String>,
    /// Sets the account's password (same policy as at registration).
    #[schema(pattern = "^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$")]
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
        BodyRejected,
        RateLimited,
        (status = 500, description = "Failed to verify email", body = ErrorResponse),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<Value>, ApiError> {
    let token = required(&body.token, "token")?;
    // An invited user may choose their password while verifying.
    let new_password_hash = match body.password.as_deref() {
        Some(raw) => {
            let password = parse_password(raw)?;
            Some(
                state
                    .hasher
                    .hash(password.expose())
                    .await
                    .or_500("Failed to verify email")?,
            )
        }
        None => None,
    };
    state
        .store
        .consume_verification(&hash_token(token.trim()), now_ms(), new_password_hash)
        .await
        .or_500("Failed to verify email")?
        .ok_or_else(|| {
            ApiError::bad_request("INVALID_TOKEN", "Invalid or expired verification token")
        })?;
    Ok(Json(
        json!({ "success": true, "message": "Email verified successfully" }),
    ))
}

/// Send a fresh verification e-mail.
#[utoipa::path(
    post,
    path = "/user/resend-verification/{verification_token_id}",
    tag = "identity",
    params(("verification_token_id" = Uuid, Path, description = "`verificationTokenId` of register (or of an earlier resend)")),
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
    Path(verification_token_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found =
        || ApiError::not_found("VERIFICATION_NOT_FOUND", "Verification token not found");
    let id = Uuid::parse_str(&verification_token_id).map_err(|_| not_found())?;
    let user: User = state
        .store
        .user_by_verification_id(id)
        .await
        .or_500("Failed to resend verification email")?
        .ok_or_else(not_found)?;
    if user.validated {
        return Err(ApiError::bad_request(
            "ALREADY_VERIFIED",
            "Email is already verified",
        ));
    }
    let now = now_ms();
    let (verification, token) = new_verification(user.id, now);
    let new_id = verification.id;
    state
        .store
        .create_verification(verification)
        .await
        .or_500("Failed to resend verification email")?;
    send_verification(&state, &user.email, &user.first_name, &token).await;
    Ok(Json(json!({
        "success": true,
        "message": "Verification email sent",
        "verificationTokenId": new_id,
    })))
}
