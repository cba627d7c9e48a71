//! Enrolling a second factor: TOTP (`setup`, then `verify-setup` with a code of the new secret)
//! and magic links (`setup`, then the activation link). A pending session enrols under the
//! lockout of `verify-login`, proving the mailbox with an e-mailed code as well.

use super::{
    append_mfa_event, end_unverified_sessions, insert_link_token, lock_and_read, locked_out,
    record_failure, NewLinkToken, VerifyOutcome, CLEAR_MFA_FAILURES, ENSURE_PRIMARY, LIVE_USER_ORG,
    VERIFY_SESSION,
};
use crate::domain::{MfaMethod, OrgId, SessionId, UserId};
use crate::store::events::Actor;
use crate::store::tx::{args, Tx};
use crate::store::{Store, StoreResult};

/// What a pending session enrolling TOTP proves besides the code of its new secret: the
/// account's mailbox, by the code `setup` e-mailed (its hash; None when none was sent with the
/// request). `client` is the address the lockout counts its failures under.
#[derive(Debug, Clone)]
pub struct MailboxProof {
    pub email_code_hash: Option<Vec<u8>>,
    pub client: String,
}

/// The code `setup` e-mails when a pending session starts enrolling, to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewEmailCode {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub code_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// `setup` of TOTP: `sealed` becomes the pending secret and `backup_code_hashes` the pending
    /// backup codes, replacing those of an earlier setup not verified, and `email_code` (from a
    /// pending session) the code its `verify-setup` must also give. Nothing is on yet (no
    /// event: nothing the user can use changed).
    pub async fn begin_totp_setup(
        &self,
        user_id: UserId,
        sealed: Vec<u8>,
        backup_code_hashes: Vec<Vec<u8>>,
        email_code: Option<NewEmailCode>,
        now: i64,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                if let Some(code) = &email_code {
                    insert_email_code(tx, code).await?;
                }
                let method = MfaMethod::GoogleAuth.as_str();
                tx.execute(INSERT_MFA_METHOD, args![user_id, method, now])
                    .await?;
                tx.execute(SET_PENDING_TOTP_SECRET, args![user_id, &sealed, now])
                    .await?;
                tx.execute(DELETE_PENDING_BACKUP_CODES, args![user_id])
                    .await?;
                for hash in &backup_code_hashes {
                    tx.execute(INSERT_PENDING_BACKUP_CODE, args![user_id, hash])
                        .await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// `verify-setup` of TOTP with a code of step `step` (None: it matched no step) of the
    /// pending secret `sealed`: the secret and its backup codes become active, the method
    /// enabled (primary if none is), and the session `session_id` counts as verified (it has
    /// just proved the factor; a pending session's expiry becomes `session_expires_at`, a
    /// verified session's). `Invalid` when the code matched no step, or the pending secret is no
    /// longer `sealed` (another setup replaced it meanwhile).
    ///
    /// From a pending session (`mailbox`), under the lockout of `verify-login`: refused while
    /// locked out, and the e-mailed code is spent too; a wrong or missing one, or a wrong TOTP
    /// code, is a failure recorded for the lockout (committed: it counts though the request
    /// fails). Enabling the user's first method ends their other sessions that never passed MFA.
    pub async fn complete_totp_setup(
        &self,
        by: Actor,
        session_id: SessionId,
        sealed: Vec<u8>,
        step: Option<i64>,
        mailbox: Option<MailboxProof>,
        session_expires_at: i64,
    ) -> StoreResult<VerifyOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                let (user_id, now) = (by.user_id, by.at);
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return Ok(VerifyOutcome::Invalid);
                };
                if let Some(proof) = &mailbox {
                    if let Some(retry_after_ms) =
                        locked_out(tx, user_id, &proof.client, now).await?
                    {
                        return Ok(VerifyOutcome::Locked { retry_after_ms });
                    }
                    let spent = match (&proof.email_code_hash, step) {
                        (Some(hash), Some(_)) => {
                            tx.execute(SPEND_EMAIL_CODE, args![session_id, user_id, hash, now])
                                .await?
                        }
                        _ => 0,
                    };
                    if spent != 1 {
                        record_failure(tx, user_id, &proof.client, now).await?;
                        return Ok(VerifyOutcome::Invalid);
                    }
                }
                let Some(step) = step else {
                    return Ok(VerifyOutcome::Invalid);
                };
                let activated = tx
                    .execute(ACTIVATE_TOTP_SECRET, args![user_id, &sealed, step, now])
                    .await?;
                if activated == 0 {
                    return Ok(VerifyOutcome::Invalid);
                }
                tx.execute(DELETE_ACTIVE_BACKUP_CODES, args![user_id])
                    .await?;
                tx.execute(ACTIVATE_BACKUP_CODES, args![user_id]).await?;
                tx.execute(ENSURE_PRIMARY, args![user_id, now]).await?;
                tx.execute(
                    VERIFY_SESSION,
                    args![session_id, user_id, now, session_expires_at],
                )
                .await?;
                if let Some(proof) = &mailbox {
                    tx.execute(CLEAR_MFA_FAILURES, args![user_id, &proof.client])
                        .await?;
                }
                end_unverified_sessions(tx, &before, user_id, Some(session_id), now).await?;
                let secrets = ["mfaSecret", "mfaBackupCodes"];
                append_mfa_event(tx, by, user_id, &before, &secrets).await?;
                Ok(VerifyOutcome::Verified)
            })
        })
        .await
    }

    /// `setup` of magic links by session `session_id`: the method's row (off until activated)
    /// and the activation token.
    pub async fn begin_magic_link_setup(
        &self,
        session_id: SessionId,
        token: NewLinkToken,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                let (user_id, now) = (token.user_id, token.created_at);
                let method = MfaMethod::MagicLink.as_str();
                tx.execute(INSERT_MFA_METHOD, args![user_id, method, now])
                    .await?;
                insert_link_token(tx, &token, "activate", Some(session_id)).await
            })
        })
        .await
    }

    /// `magic-link/activate`: spends a live activation token and enables its user's magic-link
    /// method (primary if none is), the user the change's actor (returned). None for a token
    /// that is unknown, spent or expired, whose user or method is gone, or (`for_user`, from
    /// `verify-setup`) of another user. Enabling the user's first method ends their sessions
    /// that never passed MFA, but the one that asked for the link.
    pub async fn activate_magic_link(
        &self,
        token_hash: Vec<u8>,
        for_user: Option<UserId>,
        now: i64,
    ) -> StoreResult<Option<Actor>> {
        self.write(move |tx| {
            Box::pin(async move {
                let claimed: Option<(UserId, Option<SessionId>)> = tx
                    .query_opt(CLAIM_ACTIVATION_TOKEN, args![&token_hash, now], |row| {
                        Ok((row.get("user_id")?, row.get("session_id")?))
                    })
                    .await?;
                let Some((user_id, asked_by)) =
                    claimed.filter(|&(u, _)| for_user.is_none_or(|f| f == u))
                else {
                    return Ok(None);
                };
                let org: Option<OrgId> = tx
                    .query_opt(LIVE_USER_ORG, args![user_id], |row| row.get("org_id"))
                    .await?;
                let Some(org_id) = org else {
                    return Ok(None);
                };
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return Ok(None);
                };
                if tx.execute(ENABLE_MAGIC_LINK, args![user_id, now]).await? == 0 {
                    return Ok(None);
                }
                tx.execute(ENSURE_PRIMARY, args![user_id, now]).await?;
                let by = Actor {
                    org_id,
                    user_id,
                    at: now,
                };
                end_unverified_sessions(tx, &before, user_id, asked_by, now).await?;
                append_mfa_event(tx, by, user_id, &before, &[]).await?;
                Ok(Some(by))
            })
        })
        .await
    }
}

pub(super) async fn insert_email_code(tx: &mut Tx<'_>, code: &NewEmailCode) -> StoreResult<()> {
    tx.execute(
        UPSERT_EMAIL_CODE,
        args![
            code.session_id,
            code.user_id,
            &code.code_hash,
            code.created_at,
            code.expires_at
        ],
    )
    .await?;
    Ok(())
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Creates the method row $2 of user $1 ($3 now) if there is none, off and not configured.
const INSERT_MFA_METHOD: &str = "INSERT INTO mfa_methods (user_id, method, created_at, \
     updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (user_id, method) DO NOTHING";

/// A new pending TOTP secret ($2, sealed) for user $1, replacing any earlier pending one.
const SET_PENDING_TOTP_SECRET: &str = "UPDATE mfa_methods SET pending_secret = $2, \
     updated_at = $3 WHERE user_id = $1 AND method = 'GOOGLE_AUTH'";

const DELETE_PENDING_BACKUP_CODES: &str =
    "DELETE FROM mfa_backup_codes WHERE user_id = $1 AND pending";

const INSERT_PENDING_BACKUP_CODE: &str =
    "INSERT INTO mfa_backup_codes (user_id, code_hash, pending) VALUES ($1, $2, TRUE)";

/// `verify-setup`: the pending secret $2 (still the one the code was checked against) becomes
/// the active one, configured and enabled, its code's step $3 spent.
const ACTIVATE_TOTP_SECRET: &str = "UPDATE mfa_methods SET secret = pending_secret, \
     pending_secret = NULL, configured = TRUE, enabled = TRUE, last_step = $3, updated_at = $4 \
     WHERE user_id = $1 AND method = 'GOOGLE_AUTH' AND pending_secret = $2";

/// The backup codes of a completed setup replace the earlier set.
const DELETE_ACTIVE_BACKUP_CODES: &str =
    "DELETE FROM mfa_backup_codes WHERE user_id = $1 AND NOT pending";

const ACTIVATE_BACKUP_CODES: &str =
    "UPDATE mfa_backup_codes SET pending = FALSE WHERE user_id = $1 AND pending";

/// Spends a live activation token ($1 hash, $2 now); returns its user and the session that
/// asked for it.
const CLAIM_ACTIVATION_TOKEN: &str = "UPDATE mfa_link_tokens SET used_at = $2 \
     WHERE token_hash = $1 AND purpose = 'activate' AND used_at IS NULL AND expires_at > $2 \
     RETURNING user_id, session_id";

/// The magic-link method of user $1 becomes configured and enabled ($2 now).
const ENABLE_MAGIC_LINK: &str = "UPDATE mfa_methods SET configured = TRUE, enabled = TRUE, \
     updated_at = $2 WHERE user_id = $1 AND method = 'MAGIC_LINK'";

/// The code e-mailed for an enrolment from pending session $1 of user $2: its hash $3, made at
/// $4, live until $5; a new setup replaces the session's earlier code.
const UPSERT_EMAIL_CODE: &str = "INSERT INTO mfa_email_codes (session_id, user_id, \
     code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, \
     code_hash = excluded.code_hash, created_at = excluded.created_at, \
     expires_at = excluded.expires_at, used_at = NULL";

/// Spends the live e-mailed code ($3 hash) of session $1 of user $2 ($4 now): once.
pub(super) const SPEND_EMAIL_CODE: &str = "UPDATE mfa_email_codes SET used_at = $4 \
     WHERE session_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL \
     AND expires_at > $4";
