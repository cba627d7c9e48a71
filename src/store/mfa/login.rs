//! Passing the second factor: sending a sign-in link to a pending session, and `verify-login`,
//! which spends a factor once, under the lockout, and makes the session a verified one.

use super::passkeys::{SPEND_CHALLENGE, SPEND_PASSKEY_COUNTER};
use super::{
    insert_link_token, locked_out, read_state, record_failure, NewLinkToken, VerifyOutcome,
    CLEAR_MFA_FAILURES, VERIFY_SESSION,
};
use crate::domain::{MfaMethod, SessionId, UserId};
use crate::store::tx::args;
use crate::store::{sql, NewRefreshToken, Store, StoreResult};

/// What a `verify-login` presents, checked by the handler as far as it can be without the
/// database (a TOTP code against the secret: `step` is the time step it matched, None when it
/// matched none).
#[derive(Debug, Clone)]
pub enum Factor {
    Totp {
        step: Option<i64>,
    },
    BackupCode {
        hash: Vec<u8>,
    },
    LoginLink {
        hash: Vec<u8>,
    },
    /// An assertion webauthn-rs verified against the ceremony `challenge` of this session:
    /// spends the challenge and the credential's counter.
    Passkey {
        challenge: String,
        credential_id: Vec<u8>,
        counter: i64,
        /// The passkey as it is to be stored now (webauthn-rs's `Passkey`, JSON).
        passkey: String,
        backed_up: bool,
    },
    /// Nothing that could be right (a malformed code): a failure.
    Invalid,
}

impl Store {
    /// `magic-link/send`: a login token for the pending session `session_id` of its user, when
    /// their magic-link method is enabled (false: it is not, and nothing is stored).
    pub async fn create_login_link(
        &self,
        session_id: SessionId,
        token: NewLinkToken,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(state) = read_state(tx, token.user_id).await? else {
                    return Ok(false);
                };
                if !state.enabled_methods().contains(&MfaMethod::MagicLink) {
                    return Ok(false);
                }
                insert_link_token(tx, &token, "login", Some(session_id)).await?;
                Ok(true)
            })
        })
        .await
    }

    /// `verify-login`: under the user's lock, refuses while they are locked out; else spends the
    /// factor with a conditional update (a code works once) and, when it was right, verifies the
    /// session and gives it the refresh token `next` in place of its earlier ones (and, when it
    /// was pending, `next`'s expiry in place of the pending one's 15 minutes). A wrong factor
    /// is recorded as a failure (committed: it counts even though the request fails).
    pub async fn verify_login(
        &self,
        session_id: SessionId,
        user_id: UserId,
        factor: Factor,
        next: NewRefreshToken,
        client: String,
        now: i64,
    ) -> StoreResult<VerifyOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.query_opt_per_dialect(&sql::LOCK_MFA_USER, args![user_id], |_| Ok(()))
                    .await?;
                if let Some(retry_after_ms) = locked_out(tx, user_id, &client, now).await? {
                    return Ok(VerifyOutcome::Locked { retry_after_ms });
                }
                let spent = match &factor {
                    Factor::Totp { step: Some(step) } => {
                        tx.execute(SPEND_TOTP_STEP, args![user_id, *step, now])
                            .await?
                    }
                    Factor::BackupCode { hash } => {
                        tx.execute(SPEND_BACKUP_CODE, args![user_id, hash, now])
                            .await?
                    }
                    Factor::LoginLink { hash } => {
                        tx.execute(SPEND_LOGIN_LINK, args![user_id, hash, now, session_id])
                            .await?
                    }
                    Factor::Passkey {
                        challenge,
                        credential_id,
                        counter,
                        passkey,
                        backed_up,
                    } => {
                        let args = args![challenge, session_id, user_id, "authenticate", now];
                        if tx.execute(SPEND_CHALLENGE, args).await? == 1 {
                            let args =
                                args![user_id, credential_id, *counter, passkey, *backed_up, now];
                            tx.execute(SPEND_PASSKEY_COUNTER, args).await?
                        } else {
                            0
                        }
                    }
                    Factor::Totp { step: None } | Factor::Invalid => 0,
                };
                let verified = spent == 1
                    && tx
                        .execute(
                            VERIFY_SESSION,
                            args![session_id, user_id, now, next.expires_at],
                        )
                        .await?
                        == 1;
                if !verified {
                    record_failure(tx, user_id, &client, now).await?;
                    return Ok(VerifyOutcome::Invalid);
                }
                tx.execute(CLEAR_MFA_FAILURES, args![user_id, &client])
                    .await?;
                tx.execute(DELETE_SESSION_REFRESH_TOKENS, args![session_id])
                    .await?;
                tx.execute(
                    sql::INSERT_REFRESH_TOKEN,
                    args![&next.token_hash, session_id, now, next.expires_at],
                )
                .await?;
                Ok(VerifyOutcome::Verified)
            })
        })
        .await
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Spends the TOTP step $2 of user $1 ($3 now): only a step later than the last one spent, so a
/// code works once, also when two requests race (one update wins, the other matches no row).
const SPEND_TOTP_STEP: &str = "UPDATE mfa_methods SET last_step = $2, updated_at = $3 \
     WHERE user_id = $1 AND method = 'GOOGLE_AUTH' AND enabled AND last_step < $2";

/// Spends an unused backup code ($2 hash) of user $1 ($3 now), while TOTP is on.
const SPEND_BACKUP_CODE: &str = "UPDATE mfa_backup_codes SET used_at = $3 \
     WHERE user_id = $1 AND code_hash = $2 AND NOT pending AND used_at IS NULL \
     AND EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = $1 \
     AND m.method = 'GOOGLE_AUTH' AND m.enabled)";

/// Spends a live login link ($2 hash) of user $1 sent for session $4 ($3 now), while the
/// method is on.
const SPEND_LOGIN_LINK: &str = "UPDATE mfa_link_tokens SET used_at = $3 \
     WHERE token_hash = $2 AND user_id = $1 AND purpose = 'login' AND session_id = $4 \
     AND used_at IS NULL AND expires_at > $3 \
     AND EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = $1 \
     AND m.method = 'MAGIC_LINK' AND m.enabled)";

/// The refresh tokens of session $1: a verified session gets a fresh one.
const DELETE_SESSION_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE session_id = $1";
