//! Multi-factor authentication (contract section 8), `/mfa/...`: enrolling TOTP and magic links
//! (`enrol.rs`), the verification that turns a pending session into a full one (`login.rs`),
//! where one stands (`status.rs`), and changing it: one's methods, an admin's reset and the
//! organization's enforcement (`manage.rs`); passkeys' registration, authentication options and
//! management (`passkeys.rs`, contract section 14). Errors answer `{"success":false,"error"}`
//! with our `message` and `error_code`.
//!
//! Who may change MFA: a session that passed MFA when the user has a method enabled (a stolen
//! password must not switch MFA off, nor add the thief's factor next to the owner's); while no
//! method is enabled, any session of the user, and a pending one only to enrol (`setup`,
//! `verify-setup`), for a member whose organization enforces MFA.

use std::collections::BTreeMap;

use axum::Json;
use serde::Deserialize;
use utoipa::openapi::response::Response;
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::mfa::TotpSecret;
use crate::auth::{hash_token, new_token};
use crate::domain::{MfaMethod, UserId};
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::responses::errors_in;
use crate::http::common::credentials::REFRESH_TOKEN_TTL_MS;
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::AuthUser;
use crate::http::common::throttle::ClientAddr;
use crate::http::AppState;
use crate::mail::{mfa_changed, MfaChange, TokenEmail};
use crate::store::{MfaState, NewLinkToken};

mod enrol;
mod login;
mod manage;
mod passkeys;
mod status;

type MfaError = ShapedError<ErrorWithText>;
type MfaResult<T> = Result<Json<T>, MfaError>;

/// 429 of the magic-link routes (`magic-link/send`, `magic-link/activate`): too many links
/// asked for or tried.
struct LinksRateLimited;

impl IntoResponses for LinksRateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors_in::<ErrorWithText>(&[("429", "Too many requests (`Retry-After`)")])
    }
}

/// Magic-link tokens (activation and sign-in) live 10 minutes.
const LINK_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enrol::setup))
        .routes(routes!(enrol::verify_setup))
        .routes(routes!(login::verify_login))
        .routes(routes!(login::send_magic_link))
        .routes(routes!(enrol::activate_magic_link))
        .routes(routes!(status::status))
        .routes(routes!(status::methods))
        .routes(routes!(manage::enable))
        .routes(routes!(manage::disable))
        .routes(routes!(manage::primary))
        .routes(routes!(manage::reset))
        .routes(routes!(manage::enforce))
        .routes(routes!(passkeys::complete_registration))
        .routes(routes!(passkeys::complete_registration_alias))
        .routes(routes!(passkeys::auth_options))
        .routes(routes!(passkeys::list))
        .routes(routes!(passkeys::rename, passkeys::remove))
}

/// `{mfaType}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MfaTypeBody {
    /// `GOOGLE_AUTH`, `MAGIC_LINK` or `PASSKEY`.
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    mfa_type: Option<String>,
}

fn invalid_type() -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidMfaType, "Invalid MFA type specified")
}

/// The method `mfaType` names; anything unknown is 400.
fn method_of(mfa_type: Option<&str>) -> Result<MfaMethod, ApiError> {
    let mfa_type = mfa_type.ok_or_else(|| ApiError::missing_field("mfaType"))?;
    MfaMethod::parse(mfa_type).ok_or_else(invalid_type)
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

/// Tells `to`, the address of the account whose MFA changed, what changed. A failed send is
/// logged, not returned: the change is made.
async fn notify(state: &AppState, to: &str, change: MfaChange) {
    if let Err(error) = state.mailer.send(mfa_changed(to, change)).await {
        tracing::error!(%error, "sending an MFA change notice failed");
    }
}

/// What the lockout counts a client's failures under: its address, or "" when unknown.
fn client_key(client: ClientAddr) -> String {
    client.0.map(|ip| ip.to_string()).unwrap_or_default()
}

/// The expiry a session gets when it passes MFA: a verified session's, as a refresh would give
/// it (a pending one ends 15 minutes after its login).
fn verified_session_expiry(state: &AppState, caller: &AuthUser, now: i64) -> i64 {
    (now + REFRESH_TOKEN_TTL_MS).min(
        caller
            .session_created_at
            .saturating_add(state.session_lifetime_ms),
    )
}

/// A magic-link token for `caller` (activation or sign-in), and the row that stores its hash.
fn new_link_token(caller: &AuthUser, now: i64) -> (String, NewLinkToken) {
    let token = new_token();
    let link = NewLinkToken {
        token_hash: hash_token(&token),
        user_id: caller.user.id,
        created_at: now,
        expires_at: now + LINK_TOKEN_TTL_MS,
    };
    (token, link)
}

/// The 429 of a locked-out verification.
fn locked(retry_after_ms: i64) -> ApiError {
    ApiError::mfa_locked(std::time::Duration::from_millis(
        retry_after_ms.unsigned_abs(),
    ))
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
