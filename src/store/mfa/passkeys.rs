//! Passkeys (contract section 14): the ceremonies' challenges, registering a credential (which
//! turns the `PASSKEY` method on), and managing one's credentials. Spending a challenge in a
//! `verify-login` is in [`super::login`], with the other factors.
//!
//! A challenge is spent by one conditional update (`used_at IS NULL AND expires_at > now`,
//! bound to its session and purpose) in the transaction that uses it, so two instances given
//! one ceremony's answer accept it once.

use uuid::Uuid;

use super::{
    append_mfa_event, end_unverified_sessions, lock_and_read, locked_out, record_failure,
    MailboxProof, NewEmailCode, VerifyOutcome, CLEAR_MFA_FAILURES, ENSURE_PRIMARY, VERIFY_SESSION,
};
use crate::domain::{MfaMethod, PasskeyId, SessionId, UserId, MAX_PASSKEYS_PER_USER};
use crate::store::events::Actor;
use crate::store::tx::{args, Tx};
use crate::store::{Store, StoreResult};

/// What a ceremony's challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// `setup` of a passkey, answered by `complete-registration` or `verify-setup`.
    Register,
    /// `passkey/auth-options`, answered by `verify-login`.
    Authenticate,
}

impl ChallengePurpose {
    fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Register => "register",
            ChallengePurpose::Authenticate => "authenticate",
        }
    }
}

/// A ceremony started by session `session_id` of `user_id`: its challenge (base64url) and the
/// state webauthn-rs needs to finish it (JSON).
#[derive(Debug, Clone)]
pub struct NewPasskeyChallenge {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub purpose: ChallengePurpose,
    pub challenge: String,
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A stored passkey.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: PasskeyId,
    pub credential_id: Vec<u8>,
    /// webauthn-rs's `Passkey`, as JSON.
    pub passkey: String,
    pub name: String,
    pub counter: i64,
    pub backed_up: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey a registration verified, to store.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub id: PasskeyId,
    pub credential_id: Vec<u8>,
    pub passkey: String,
    pub name: String,
    pub counter: i64,
    pub backed_up: bool,
}

/// What a registration of a passkey led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRegistration {
    /// Checked as the other factors are; [`VerifyOutcome::Verified`]: the passkey is stored.
    Checked(VerifyOutcome),
    /// The user keeps [`MAX_PASSKEYS_PER_USER`] already: nothing was checked, spent or stored
    /// (the ceremony stays live, to be answered once one is removed).
    LimitReached,
}

/// What removing a passkey led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    Done,
    /// No passkey of the actor with that id.
    NotFound,
    /// It is the user's last passkey, passkeys are their only enabled method, and MFA is
    /// required of them (enforced by the organization, or by an admin's reset).
    LastWhileRequired,
}

impl Store {
    /// The passkeys of `user_id`, oldest first.
    pub async fn passkeys(&self, user_id: UserId) -> StoreResult<Vec<StoredPasskey>> {
        self.read(|tx| Box::pin(read_passkeys(tx, user_id))).await
    }

    /// Stores a ceremony's challenge, replacing the session's earlier one of the same purpose
    /// (so a session keeps one per purpose: what it can make the server store is bounded), and
    /// for a registration from a pending session the code e-mailed to prove the mailbox.
    pub async fn begin_passkey_ceremony(
        &self,
        challenge: NewPasskeyChallenge,
        email_code: Option<NewEmailCode>,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                if let Some(code) = &email_code {
                    super::enrol::insert_email_code(tx, code).await?;
                }
                let c = &challenge;
                tx.execute(
                    UPSERT_CHALLENGE,
                    args![
                        Uuid::now_v7(),
                        c.user_id,
                        c.session_id,
                        c.purpose.as_str(),
                        &c.challenge,
                        &c.state,
                        c.created_at,
                        c.expires_at
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The state of the live, unspent ceremony `challenge` of `purpose` that session
    /// `session_id` started; None for one unknown, spent, expired or of another session.
    /// (Reading does not spend it: the write that uses it does.)
    pub async fn passkey_challenge_state(
        &self,
        session_id: SessionId,
        purpose: ChallengePurpose,
        challenge: String,
        now: i64,
    ) -> StoreResult<Option<String>> {
        self.read(move |tx| {
            Box::pin(async move {
                let args = args![&challenge, session_id, purpose.as_str(), now];
                tx.query_opt(LIVE_CHALLENGE_STATE, args, |row| row.get("state"))
                    .await
            })
        })
        .await
    }

    /// `complete-registration` / `verify-setup` of a passkey: spends the registration
    /// `challenge` of session `session_id`, stores `passkey` (None: webauthn-rs refused the
    /// credential), turns the `PASSKEY` method on (primary if none is), and the session counts
    /// as verified (it has just proved the factor; a pending session's expiry becomes
    /// `session_expires_at`). `Invalid` for a refused credential, a challenge unknown, spent,
    /// expired or of another session, or a credential id already registered (to anyone).
    ///
    /// From a pending session (`mailbox`), under the lockout of `verify-login`, as for TOTP:
    /// refused while locked out, the e-mailed code spent too, and a failure recorded for the
    /// lockout (committed, though the request fails).
    ///
    /// A credential for a user who keeps [`MAX_PASSKEYS_PER_USER`] already is refused before
    /// anything is spent (counted under their MFA lock, so concurrent registrations on any
    /// number of instances cannot pass the cap together).
    pub async fn complete_passkey_registration(
        &self,
        by: Actor,
        session_id: SessionId,
        challenge: String,
        passkey: Option<NewPasskey>,
        mailbox: Option<MailboxProof>,
        session_expires_at: i64,
    ) -> StoreResult<PasskeyRegistration> {
        self.write(move |tx| {
            Box::pin(async move {
                let (user_id, now) = (by.user_id, by.at);
                let checked = |outcome: VerifyOutcome| -> StoreResult<PasskeyRegistration> {
                    Ok(PasskeyRegistration::Checked(outcome))
                };
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return checked(VerifyOutcome::Invalid);
                };
                if let Some(proof) = &mailbox {
                    if let Some(retry_after_ms) =
                        locked_out(tx, user_id, &proof.client, now).await?
                    {
                        return checked(VerifyOutcome::Locked { retry_after_ms });
                    }
                }
                // A credential refused already fails as usual (and counts for a lockout).
                if passkey.is_some()
                    && tx.count(COUNT_PASSKEYS, args![user_id]).await? >= MAX_PASSKEYS_PER_USER
                {
                    return Ok(PasskeyRegistration::LimitReached);
                }
                // The e-mailed code first: a wrong one leaves the ceremony live, to be answered
                // again with the right code.
                let mailbox_proved = match &mailbox {
                    None => true,
                    Some(proof) => match (&proof.email_code_hash, &passkey) {
                        (Some(hash), Some(_)) => {
                            let args = args![session_id, user_id, hash, now];
                            tx.execute(super::enrol::SPEND_EMAIL_CODE, args).await? == 1
                        }
                        _ => false,
                    },
                };
                let spent = match &passkey {
                    Some(_) if mailbox_proved => {
                        let args = args![&challenge, session_id, user_id, "register", now];
                        tx.execute(SPEND_CHALLENGE, args).await? == 1
                    }
                    _ => false,
                };
                let (Some(passkey), true, true) = (&passkey, spent, mailbox_proved) else {
                    if let Some(proof) = &mailbox {
                        record_failure(tx, user_id, &proof.client, now).await?;
                    }
                    return checked(VerifyOutcome::Invalid);
                };
                let inserted = tx
                    .execute(
                        INSERT_PASSKEY,
                        args![
                            passkey.id,
                            user_id,
                            &passkey.credential_id,
                            &passkey.passkey,
                            &passkey.name,
                            passkey.counter,
                            passkey.backed_up,
                            now
                        ],
                    )
                    .await?;
                if inserted == 0 {
                    return checked(VerifyOutcome::Invalid);
                }
                tx.execute(ENABLE_PASSKEY_METHOD, args![user_id, now])
                    .await?;
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
                append_mfa_event(tx, by, user_id, &before, &["mfaPasskeys"]).await?;
                checked(VerifyOutcome::Verified)
            })
        })
        .await
    }

    /// Renames the actor's passkey `id`; false when they have none with that id.
    pub async fn rename_passkey(
        &self,
        by: Actor,
        id: PasskeyId,
        name: String,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(before) = lock_and_read(tx, by.user_id).await? else {
                    return Ok(false);
                };
                let renamed = tx
                    .execute(RENAME_PASSKEY, args![id, by.user_id, &name])
                    .await?;
                if renamed == 0 {
                    return Ok(false);
                }
                append_mfa_event(tx, by, by.user_id, &before, &["mfaPasskeys"]).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Removes the actor's passkey `id`. The last one takes the `PASSKEY` method with it (the
    /// primary mark moves to another enabled method), unless that would leave no method
    /// enabled while MFA is required of them.
    pub async fn delete_passkey(&self, by: Actor, id: PasskeyId) -> StoreResult<PasskeyRemoval> {
        self.write(move |tx| {
            Box::pin(async move {
                let (user_id, now) = (by.user_id, by.at);
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return Ok(PasskeyRemoval::NotFound);
                };
                let passkeys = read_passkeys(tx, user_id).await?;
                if !passkeys.iter().any(|p| p.id == id) {
                    return Ok(PasskeyRemoval::NotFound);
                }
                let last = passkeys.len() == 1;
                let only_method = before.enabled_methods() == [MfaMethod::Passkey];
                let required = before.enforced || before.required_by_admin;
                if last && only_method && required {
                    return Ok(PasskeyRemoval::LastWhileRequired);
                }
                tx.execute(DELETE_PASSKEY, args![id, user_id]).await?;
                if last {
                    tx.execute(DELETE_PASSKEY_METHOD, args![user_id]).await?;
                    tx.execute(ENSURE_PRIMARY, args![user_id, now]).await?;
                }
                append_mfa_event(tx, by, user_id, &before, &["mfaPasskeys"]).await?;
                Ok(PasskeyRemoval::Done)
            })
        })
        .await
    }
}

async fn read_passkeys(tx: &mut Tx<'_>, user_id: UserId) -> StoreResult<Vec<StoredPasskey>> {
    tx.query_all(PASSKEYS, args![user_id], |row| {
        Ok(StoredPasskey {
            id: row.get("id")?,
            credential_id: row.get("credential_id")?,
            passkey: row.get("passkey")?,
            name: row.get("name")?,
            counter: row.get("counter")?,
            backed_up: row.get("backed_up")?,
            created_at: row.get("created_at")?,
            last_used_at: row.get("last_used_at")?,
        })
    })
    .await
}

// ---- SQL ----------------------------------------------------------------------------------------

const COUNT_PASSKEYS: &str = "SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1";

const PASSKEYS: &str = "SELECT id, credential_id, passkey, name, counter, backed_up, \
     created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at, id";

/// A ceremony ($1 id) of user $2 by session $3 for purpose $4: challenge $5, state $6, made at
/// $7, live until $8; it replaces the session's earlier one of that purpose.
const UPSERT_CHALLENGE: &str = "INSERT INTO passkey_challenges (id, user_id, session_id, \
     purpose, challenge, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (session_id, purpose) DO UPDATE SET id = excluded.id, \
     user_id = excluded.user_id, challenge = excluded.challenge, state = excluded.state, \
     created_at = excluded.created_at, expires_at = excluded.expires_at, used_at = NULL";

/// The state of the live, unspent ceremony $1 of session $2 for purpose $3 ($4 now).
const LIVE_CHALLENGE_STATE: &str = "SELECT state FROM passkey_challenges \
     WHERE challenge = $1 AND session_id = $2 AND purpose = $3 AND used_at IS NULL \
     AND expires_at > $4";

/// Spends the live ceremony $1 of session $2 of user $3 for purpose $4 ($5 now): once, also
/// when two requests race (one update wins, the other matches no row).
pub(super) const SPEND_CHALLENGE: &str = "UPDATE passkey_challenges SET used_at = $5 \
     WHERE challenge = $1 AND session_id = $2 AND user_id = $3 AND purpose = $4 \
     AND used_at IS NULL AND expires_at > $5";

/// Records a sign-in with credential $2 of user $1: its counter $3 (only a higher one, or 0
/// again from an authenticator that keeps none: a counter that does not increase may be a
/// clone's), the passkey as it is now ($4), its backup state $5 ($6 now); while the method is
/// on.
pub(super) const SPEND_PASSKEY_COUNTER: &str = "UPDATE passkeys SET counter = $3, passkey = $4, \
     backed_up = $5, last_used_at = $6 \
     WHERE user_id = $1 AND credential_id = $2 AND (counter < $3 OR (counter = 0 AND $3 = 0)) \
     AND EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = $1 \
     AND m.method = 'PASSKEY' AND m.enabled)";

/// A new passkey; no row when its credential id is registered already (to anyone).
const INSERT_PASSKEY: &str = "INSERT INTO passkeys (id, user_id, credential_id, passkey, name, \
     counter, backed_up, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (credential_id) DO NOTHING";

/// A passkey registered turns the method of user $1 on ($2 now).
const ENABLE_PASSKEY_METHOD: &str = "INSERT INTO mfa_methods (user_id, method, configured, \
     enabled, created_at, updated_at) VALUES ($1, 'PASSKEY', TRUE, TRUE, $2, $2) \
     ON CONFLICT (user_id, method) DO UPDATE SET configured = TRUE, enabled = TRUE, \
     updated_at = excluded.updated_at";

const RENAME_PASSKEY: &str = "UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2";

const DELETE_PASSKEY: &str = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2";

/// The last passkey gone, the method goes too (it can no longer be enabled).
const DELETE_PASSKEY_METHOD: &str =
    "DELETE FROM mfa_methods WHERE user_id = $1 AND method = 'PASSKEY'";
