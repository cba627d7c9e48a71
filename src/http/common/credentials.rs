//! Issuing credentials: a new session with its token set (login, registration, refresh),
//! verification tokens and their e-mail (registration, invitations, resends), password hashes.

use uuid::Uuid;

use crate::domain::{LoginMethod, OrgId, SeenDevice, UserId};

use super::error::{ApiError, OrInternal};
use crate::auth::{
    hash_token, new_token, AccessClaims, HashError, SessionSecret, ACCESS_TOKEN_TTL_MS,
};
use crate::clock::now_ms;
use crate::domain::Password;
use crate::http::bodies::sessions::IssuedTokens;
use crate::http::AppState;
use crate::mail::{invitation, VERIFICATION};
use crate::store::{NewDevice, NewRefreshToken, NewSession, NewVerification, User};

/// Refresh tokens live 30 days; a session slides with them, up to its absolute lifetime.
pub const REFRESH_TOKEN_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// A session pending its second factor ends this long after its login unless it passes MFA
/// (contract section 8); passing gives it a verified session's expiry.
pub const PENDING_SESSION_TTL_MS: i64 = 15 * 60 * 1000;
/// Verification tokens live 24 hours.
const VERIFICATION_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A session about to be stored, with what only its client will hold.
pub struct IssuedSession {
    pub session: NewSession,
    pub refresh: NewRefreshToken,
    /// The refresh token in plain text, for the client.
    pub refresh_plain: String,
    /// The secret the access tokens carry; the store sees only its hash (`session.id`).
    pub secret: SessionSecret,
}

/// A new session for `user_id` on the device it was `seen` from, with its first refresh token.
/// It ends when its refresh token does, and never later than `lifetime_ms` after now (the
/// absolute lifetime). `mfa_pending`: it waits for its second factor (a password login of a
/// user who needs MFA), and ends [`PENDING_SESSION_TTL_MS`] after now unless it passes it; its
/// refresh token keeps the full expiry (a pending session cannot refresh, and one verified by
/// enrolling keeps this token). `login_method`: a password, or which identity provider.
pub fn new_session(
    user_id: UserId,
    now: i64,
    lifetime_ms: i64,
    seen: SeenDevice,
    mfa_pending: bool,
    login_method: LoginMethod,
) -> IssuedSession {
    let secret = SessionSecret::generate();
    let expires_at = now + REFRESH_TOKEN_TTL_MS.min(lifetime_ms);
    let session = NewSession {
        id: secret.id(),
        user_id,
        created_at: now,
        expires_at: if mfa_pending {
            expires_at.min(now + PENDING_SESSION_TTL_MS)
        } else {
            expires_at
        },
        device: NewDevice::new(user_id, seen, now),
        mfa_pending,
        login_method,
    };
    let refresh_plain = secret.new_refresh_token();
    let refresh = NewRefreshToken {
        token_hash: hash_token(&refresh_plain),
        session_id: session.id,
        created_at: now,
        expires_at,
    };
    IssuedSession {
        session,
        refresh,
        refresh_plain,
        secret,
    }
}

/// Who an access token is for.
pub struct TokenSubject<'a> {
    pub user_id: UserId,
    pub email: &'a str,
    pub org_id: OrgId,
    pub session: &'a SessionSecret,
}

impl<'a> TokenSubject<'a> {
    /// The tokens of `user`'s session `session`.
    pub fn of(user: &'a User, session: &'a SessionSecret) -> Self {
        TokenSubject {
            user_id: user.id,
            email: &user.email,
            org_id: user.org_id,
            session,
        }
    }
}

/// Signs an access token for `subject` and bundles it with the refresh token.
pub fn issue(
    state: &AppState,
    subject: TokenSubject<'_>,
    refresh_token: String,
    now: i64,
) -> anyhow::Result<IssuedTokens> {
    let expires_at = now + ACCESS_TOKEN_TTL_MS;
    let claims = AccessClaims {
        user_id: subject.user_id,
        email: subject.email.to_owned(),
        org_id: subject.org_id,
        token_type: "access".to_owned(),
        sid: subject.session.to_claim(),
        iat: now / 1000,
        exp: expires_at / 1000,
    };
    Ok(IssuedTokens {
        access_token: state.keys.issue(&claims)?,
        refresh_token,
        token_id: subject.session.id(),
        expires_at,
    })
}

/// Why an address is being verified, which sets the token's lifetime and the e-mail: a
/// self-registration (24 hours) or an administrator's invitation (`--invitation-days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verifying {
    SignUp,
    Invitation,
}

impl Verifying {
    fn lifetime_ms(self, state: &AppState) -> i64 {
        match self {
            Verifying::SignUp => VERIFICATION_TTL_MS,
            Verifying::Invitation => state.invitation_ttl_ms,
        }
    }
}

/// A verification token for `user_id`: the row to store and the plain token for the e-mail.
pub fn new_verification(
    state: &AppState,
    why: Verifying,
    user_id: UserId,
    now: i64,
) -> (NewVerification, String) {
    let token = new_token();
    let verification = NewVerification {
        id: Uuid::now_v7(),
        user_id,
        token_hash: hash_token(&token),
        created_at: now,
        expires_at: now.saturating_add(why.lifetime_ms(state)),
    };
    (verification, token)
}

/// A failed send is logged, not returned: the account exists and the user can ask for a resend.
/// The address is not verified yet (that is what the message is for), so it greets no one by
/// name.
pub async fn send_verification(state: &AppState, why: Verifying, to: &str, token: &str) {
    let public_url = state.public_url.as_deref();
    let email = match why {
        Verifying::SignUp => VERIFICATION.to(to, None, token, public_url),
        Verifying::Invitation => {
            let days = (state.invitation_ttl_ms / (24 * 60 * 60 * 1000)).max(1);
            invitation(to, token, public_url, days)
        }
    };
    if let Err(error) = state.mailer.send(email).await {
        tracing::error!(%error, "sending the verification e-mail failed");
    }
}

/// A fresh verification of `user_id`'s address `to`, stored beside the ones still live and
/// e-mailed; its id. `failed`: the route's 500.
pub async fn send_new_verification(
    state: &AppState,
    why: Verifying,
    user_id: UserId,
    to: &str,
    failed: &'static str,
) -> Result<Uuid, ApiError> {
    let (verification, token) = new_verification(state, why, user_id, now_ms());
    let id = verification.id;
    state
        .store
        .create_verification(verification)
        .await
        .or_500(failed)?;
    send_verification(state, why, to, &token).await;
    Ok(id)
}

/// The hash of `password`, if one is given; see [`hashing_failed`] for the errors.
pub async fn hash_password(
    state: &AppState,
    password: Option<Password>,
    failed: &'static str,
) -> Result<Option<String>, ApiError> {
    match password {
        Some(password) => Ok(Some(
            state
                .hasher
                .hash(password.expose())
                .await
                .map_err(hashing_failed(failed))?,
        )),
        None => Ok(None),
    }
}

/// A password that could not be hashed or verified: 503 `OVERLOADED` when the hashing queue is
/// full (nothing was done; retrying later works), else the route's 500 (`failed`).
pub fn hashing_failed(failed: &'static str) -> impl FnOnce(HashError) -> ApiError {
    move |error| match error {
        HashError::Overloaded => ApiError::overloaded(),
        HashError::Failed(cause) => ApiError::internal(failed, cause),
    }
}
