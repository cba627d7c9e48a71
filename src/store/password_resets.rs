//! Password resets: a reset token stored for a live account, the cheap check of a presented
//! one, and its single use, which sets the password, marks the address verified and ends every
//! session of the account in one transaction.

use uuid::Uuid;

use super::accounts::{append_user_updated, live_user};
use super::events::Changes;
use super::tx::args;
use super::{sql, Store, StoreResult};
use crate::domain::UserId;

impl Store {
    /// Stores a reset token for the live account with this e-mail key and returns where to send
    /// it; None (and nothing stored) when there is no such account.
    pub async fn create_password_reset(
        &self,
        email_key: &str,
        reset: NewPasswordReset,
    ) -> StoreResult<Option<ResetRecipient>> {
        let email_key = email_key.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                let recipient = tx
                    .query_opt(RESET_RECIPIENT, args![&email_key], |row| {
                        Ok(ResetRecipient {
                            user_id: row.get("user_id")?,
                            email: row.get("email")?,
                            first_name: row.get("first_name")?,
                            validated: row.get("validated")?,
                        })
                    })
                    .await?;
                let Some(recipient) = recipient else {
                    return Ok(None);
                };
                tx.execute(
                    INSERT_PASSWORD_RESET,
                    args![
                        reset.id,
                        recipient.user_id,
                        &reset.token_hash,
                        reset.created_at,
                        reset.expires_at
                    ],
                )
                .await?;
                Ok(Some(recipient))
            })
        })
        .await
    }

    /// True when the token is unused, unexpired and its account live. A cheap pre-check, so an
    /// invalid token is refused before the password is hashed; `reset_password` decides.
    pub async fn password_reset_is_live(&self, token_hash: &[u8], now: i64) -> StoreResult<bool> {
        let token_hash = token_hash.to_vec();
        self.read(|tx| {
            Box::pin(async move {
                let live = tx.count(COUNT_LIVE_RESETS, args![&token_hash, now]).await?;
                Ok(live > 0)
            })
        })
        .await
    }

    /// Uses a reset token once, in one write transaction: sets the password hash, marks the
    /// account validated, spends every outstanding reset token of the account and revokes all its
    /// sessions. False for an unknown, used or expired token, or a deleted account.
    pub async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let (token_hash, password_hash) = (token_hash.to_vec(), password_hash.to_owned());
        self.write(move |tx| {
            Box::pin(async move {
                // A deleted account's token is refused like an unknown one.
                let live: Option<UserId> = tx
                    .query_opt(LIVE_RESET_USER, args![&token_hash, now], |row| {
                        row.get("user_id")
                    })
                    .await?;
                if live.is_none() {
                    return Ok(false);
                }
                // Of several concurrent presenters only one claims the token.
                let claimed: Option<UserId> = tx
                    .query_opt(CLAIM_RESET, args![&token_hash, now], |row| {
                        row.get("user_id")
                    })
                    .await?;
                let Some(user_id) = claimed else {
                    return Ok(false);
                };
                let before = live_user(tx, user_id).await?;
                // Receiving the e-mail proves the address, hence `validated`.
                tx.execute(
                    SET_PASSWORD_VALIDATED,
                    args![user_id, &password_hash, true, now],
                )
                .await?;
                // Older reset e-mails must not reset the new password again.
                tx.execute(SPEND_RESETS, args![user_id, now]).await?;
                // Nor may a verification e-mail still waiting: it would set a password too.
                tx.execute(sql::SPEND_VERIFICATIONS, args![user_id, now])
                    .await?;
                // Whoever knew the old password loses access at once.
                tx.execute(sql::REVOKE_USER_SESSIONS, args![user_id, now])
                    .await?;
                let changes = Changes::default().secret("password", true).field(
                    "validated",
                    before.validated,
                    true,
                );
                append_user_updated(tx, &before, user_id, now, changes).await?;
                Ok(true)
            })
        })
        .await
    }
}

#[derive(Debug, Clone)]
pub struct NewPasswordReset {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Where a reset e-mail goes.
#[derive(Debug, Clone)]
pub struct ResetRecipient {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    /// Whether the address is verified: only then does the message greet by name.
    pub validated: bool,
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Who a reset e-mail goes to: (user_id, email, first_name, validated) of a live user by e-mail
/// key.
const RESET_RECIPIENT: &str = "SELECT id AS user_id, email, first_name, validated FROM users \
     WHERE email_key = $1 AND deleted_at IS NULL";

const INSERT_PASSWORD_RESET: &str =
    "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

const COUNT_LIVE_RESETS: &str =
    "SELECT COUNT(*) AS n FROM password_resets r JOIN users u ON u.id = r.user_id \
     WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Marks a live reset token used ($1 hash, $2 now); returns its user.
const CLAIM_RESET: &str = "UPDATE password_resets SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id";

/// The (not deleted) user of a live reset token ($1 hash, $2 now).
const LIVE_RESET_USER: &str =
    "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id \
     WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Sets the password of a live user and marks them validated ($3 true, $4 now).
const SET_PASSWORD_VALIDATED: &str =
    "UPDATE users SET password_hash = $2, validated = $3, updated_at = $4 \
     WHERE id = $1 AND deleted_at IS NULL";

/// Spends every unused reset token of a user.
const SPEND_RESETS: &str =
    "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";
