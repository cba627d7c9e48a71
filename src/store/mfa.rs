//! Second factors (contract section 8): methods, backup codes, magic-link tokens, the
//! verification of a pending session and its lockout.
//!
//! Every change of a user's MFA takes the user's row lock first (`LOCK_MFA_USER`), reads where
//! the user stands, checks, writes, and appends one `user updated` event naming what changed
//! (never a secret: a new TOTP secret or new backup codes appear only as `"changed"`). A
//! verification spends its code with a conditional update inside the same transaction as the
//! lockout count, so two racing requests with one code give exactly one success, on any number
//! of instances.

use serde_json::Value;
use uuid::Uuid;

use super::events::{append_event, Actor, Changes, NewEvent};
use super::tx::{args, Tx};
use super::{queries, NewRefreshToken, Store, StoreResult};
use crate::domain::{can_manage_user, EventKind, MfaMethod, OrgId, OrgRole, SessionId, UserId};

/// This many failed verifications of one user from one client address within
/// [`LOCKOUT_WINDOW_MS`] lock that client out of the user's verification until the window has
/// passed since the last of them; [`LOCKOUT_USER_FAILURES`] from all clients together lock the
/// user. So a password holder cannot lock the owner out from elsewhere, and distributed
/// guessing is still capped.
pub const LOCKOUT_FAILURES: i64 = 5;
pub const LOCKOUT_USER_FAILURES: i64 = 20;
pub const LOCKOUT_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Where a user stands with MFA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaState {
    /// Their organization enforces MFA (`mfaEnforced`).
    pub enforced: bool,
    /// An admin's reset with `enable: true` requires it of them.
    pub required_by_admin: bool,
    /// The methods they have a row for, by name.
    pub methods: Vec<MethodState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodState {
    pub method: MfaMethod,
    /// Verified once (a TOTP code, an activation link): it may be enabled.
    pub configured: bool,
    pub enabled: bool,
    pub primary: bool,
}

impl MfaState {
    /// MFA is on: at least one method is enabled (`isEnabled`).
    pub fn is_enabled(&self) -> bool {
        self.methods.iter().any(|m| m.enabled)
    }

    /// A password login opens a pending session (`isRequired`).
    pub fn is_required(&self) -> bool {
        self.enforced || self.required_by_admin || self.is_enabled()
    }

    pub fn enabled_methods(&self) -> Vec<MfaMethod> {
        self.methods
            .iter()
            .filter(|m| m.enabled)
            .map(|m| m.method)
            .collect()
    }

    pub fn primary(&self) -> Option<MfaMethod> {
        self.methods.iter().find(|m| m.primary).map(|m| m.method)
    }

    pub fn method(&self, method: MfaMethod) -> Option<&MethodState> {
        self.methods.iter().find(|m| m.method == method)
    }

    /// What changed from `self` to `after`, as an event's `jsonData`.
    fn changes_to(&self, after: &MfaState) -> Changes {
        let names = |state: &MfaState| -> Value {
            let enabled = state.enabled_methods();
            Value::from_iter(enabled.into_iter().map(MfaMethod::as_str))
        };
        let primary = |state: &MfaState| state.primary().map(MfaMethod::as_str);
        Changes::default()
            .field("mfaEnabledMethods", names(self), names(after))
            .field("mfaPrimaryMethod", primary(self), primary(after))
            .field(
                "mfaRequired",
                self.required_by_admin,
                after.required_by_admin,
            )
    }
}

/// The sealed TOTP secrets of a user.
#[derive(Debug, Clone, Default)]
pub struct TotpSecrets {
    /// The secret of the enrolled authenticator.
    pub active: Option<Vec<u8>>,
    /// The secret of a `setup` waiting for its `verify-setup`.
    pub pending: Option<Vec<u8>>,
}

/// A magic-link token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewLinkToken {
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
}

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
    /// Nothing that could be right (a malformed code): a failure.
    Invalid,
}

/// What a `verify-login` led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The factor was right and is spent; the session is verified and has the new refresh token.
    Verified,
    /// Wrong, spent, expired or for another session: counted as a failure.
    Invalid,
    /// Too many recent failures: nothing was checked. Retry after this many ms.
    Locked { retry_after_ms: i64 },
}

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

/// Whose MFA a reset removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTarget {
    /// The actor's own.
    Own,
    /// Another user's, by an actor of role `actor_role`; `require`: MFA at their next login.
    Other {
        user_id: UserId,
        actor_role: OrgRole,
        require: bool,
    },
}

/// What a reset led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetOutcome {
    Done,
    /// No live user of the actor's organization.
    NotFound,
    /// The actor may not act on the target (their role is not below the actor's).
    NotPermitted,
}

/// What a change of a method led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChange {
    Done,
    /// The method already was as asked: nothing changed.
    Unchanged,
    /// The method was never verified (enable, disable), or is not enabled (primary).
    NotConfigured,
    /// It is the last enabled method and MFA is required of the user (enforced by the
    /// organization, or by an admin's reset).
    LastWhileRequired,
}

impl Store {
    /// Where user `user_id` (not deleted) stands with MFA; None for no such user.
    pub async fn mfa_state(&self, user_id: UserId) -> StoreResult<Option<MfaState>> {
        self.read(|tx| Box::pin(read_state(tx, user_id))).await
    }

    /// What the profile of `user_id` (not deleted) needs beyond the session check, in one query:
    /// where they stand with MFA, and whether their organization is a business.
    pub async fn profile_facts(&self, user_id: UserId) -> StoreResult<Option<(MfaState, bool)>> {
        self.read(|tx| Box::pin(read_state_and_org(tx, user_id)))
            .await
    }

    /// The sealed TOTP secrets of `user_id`.
    pub async fn totp_secrets(&self, user_id: UserId) -> StoreResult<TotpSecrets> {
        self.read(|tx| {
            Box::pin(async move {
                let found = tx
                    .query_opt(queries::TOTP_SECRETS, args![user_id], |row| {
                        Ok(TotpSecrets {
                            active: row.get("secret")?,
                            pending: row.get("pending_secret")?,
                        })
                    })
                    .await?;
                Ok(found.unwrap_or_default())
            })
        })
        .await
    }

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
                tx.execute(queries::INSERT_MFA_METHOD, args![user_id, method, now])
                    .await?;
                tx.execute(
                    queries::SET_PENDING_TOTP_SECRET,
                    args![user_id, &sealed, now],
                )
                .await?;
                tx.execute(queries::DELETE_PENDING_BACKUP_CODES, args![user_id])
                    .await?;
                for hash in &backup_code_hashes {
                    tx.execute(queries::INSERT_PENDING_BACKUP_CODE, args![user_id, hash])
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
                            tx.execute(
                                queries::SPEND_EMAIL_CODE,
                                args![session_id, user_id, hash, now],
                            )
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
                    .execute(
                        queries::ACTIVATE_TOTP_SECRET,
                        args![user_id, &sealed, step, now],
                    )
                    .await?;
                if activated == 0 {
                    return Ok(VerifyOutcome::Invalid);
                }
                tx.execute(queries::DELETE_ACTIVE_BACKUP_CODES, args![user_id])
                    .await?;
                tx.execute(queries::ACTIVATE_BACKUP_CODES, args![user_id])
                    .await?;
                tx.execute(queries::ENSURE_PRIMARY, args![user_id, now])
                    .await?;
                tx.execute(
                    queries::VERIFY_SESSION,
                    args![session_id, user_id, now, session_expires_at],
                )
                .await?;
                if let Some(proof) = &mailbox {
                    tx.execute(queries::CLEAR_MFA_FAILURES, args![user_id, &proof.client])
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
                tx.execute(queries::INSERT_MFA_METHOD, args![user_id, method, now])
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
                    .query_opt(
                        queries::CLAIM_ACTIVATION_TOKEN,
                        args![&token_hash, now],
                        |row| Ok((row.get("user_id")?, row.get("session_id")?)),
                    )
                    .await?;
                let Some((user_id, asked_by)) =
                    claimed.filter(|&(u, _)| for_user.is_none_or(|f| f == u))
                else {
                    return Ok(None);
                };
                let org: Option<OrgId> = tx
                    .query_opt(queries::LIVE_USER_ORG, args![user_id], |row| {
                        row.get("org_id")
                    })
                    .await?;
                let Some(org_id) = org else {
                    return Ok(None);
                };
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return Ok(None);
                };
                if tx
                    .execute(queries::ENABLE_MAGIC_LINK, args![user_id, now])
                    .await?
                    == 0
                {
                    return Ok(None);
                }
                tx.execute(queries::ENSURE_PRIMARY, args![user_id, now])
                    .await?;
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

    /// `enable` / `disable` of a configured method of the actor.
    /// Enabling the user's first method ends their other sessions that never passed MFA (but
    /// `session_id`, the one making the change).
    pub async fn set_mfa_method_enabled(
        &self,
        by: Actor,
        session_id: SessionId,
        method: MfaMethod,
        enabled: bool,
    ) -> StoreResult<MethodChange> {
        self.write(move |tx| {
            Box::pin(async move {
                let (user_id, now) = (by.user_id, by.at);
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return Ok(MethodChange::NotConfigured);
                };
                if !before.method(method).is_some_and(|m| m.configured) {
                    return Ok(MethodChange::NotConfigured);
                }
                let last_enabled = before.enabled_methods() == [method];
                if !enabled && last_enabled && (before.enforced || before.required_by_admin) {
                    return Ok(MethodChange::LastWhileRequired);
                }
                let name = method.as_str();
                tx.execute(
                    queries::SET_METHOD_ENABLED,
                    args![user_id, name, enabled, now],
                )
                .await?;
                tx.execute(queries::ENSURE_PRIMARY, args![user_id, now])
                    .await?;
                if enabled {
                    end_unverified_sessions(tx, &before, user_id, Some(session_id), now).await?;
                }
                if append_mfa_event(tx, by, user_id, &before, &[]).await? {
                    Ok(MethodChange::Done)
                } else {
                    Ok(MethodChange::Unchanged)
                }
            })
        })
        .await
    }

    /// `primary`: the actor's enabled method `method` becomes the primary one.
    pub async fn set_primary_mfa_method(
        &self,
        by: Actor,
        method: MfaMethod,
    ) -> StoreResult<MethodChange> {
        self.write(move |tx| {
            Box::pin(async move {
                let (user_id, now) = (by.user_id, by.at);
                let Some(before) = lock_and_read(tx, user_id).await? else {
                    return Ok(MethodChange::NotConfigured);
                };
                if !before.method(method).is_some_and(|m| m.enabled) {
                    return Ok(MethodChange::NotConfigured);
                }
                let name = method.as_str();
                tx.execute(queries::CLEAR_PRIMARY, args![user_id, name, now])
                    .await?;
                tx.execute(queries::SET_PRIMARY, args![user_id, name, now])
                    .await?;
                append_mfa_event(tx, by, user_id, &before, &[]).await?;
                Ok(MethodChange::Done)
            })
        })
        .await
    }

    /// `reset`: removes every method, backup code and magic-link token of the actor
    /// ([`ResetTarget::Own`]: an admin's requirement stays, the user cannot lift it) or of
    /// another live user of the actor's organization ([`ResetTarget::Other`]: the admin's
    /// requirement is set to `require` and the user's sessions end), under the role rules of
    /// section 2 (checked on the target's role as it is now).
    pub async fn reset_mfa(&self, by: Actor, target: ResetTarget) -> StoreResult<ResetOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                let user_id = match target {
                    ResetTarget::Own => by.user_id,
                    ResetTarget::Other { user_id, .. } => user_id,
                };
                let found = tx
                    .query_opt(queries::LIVE_USER_ORG, args![user_id], |row| {
                        Ok((row.get::<OrgId>("org_id")?, row.get::<OrgRole>("org_role")?))
                    })
                    .await?;
                let Some((_, role)) = found.filter(|(org, _)| *org == by.org_id) else {
                    return Ok(ResetOutcome::NotFound);
                };
                let (require, end_sessions) = match target {
                    ResetTarget::Own => (None, false),
                    ResetTarget::Other {
                        actor_role,
                        require,
                        ..
                    } => {
                        if !can_manage_user(actor_role, role) {
                            return Ok(ResetOutcome::NotPermitted);
                        }
                        (Some(require), true)
                    }
                };
                let target = user_id;
                let Some(before) = lock_and_read(tx, target).await? else {
                    return Ok(ResetOutcome::NotFound);
                };
                for sql in queries::RESET_MFA_ROWS {
                    tx.execute(sql, args![target]).await?;
                }
                if let Some(require) = require {
                    tx.execute(queries::SET_MFA_REQUIRED, args![target, require])
                        .await?;
                }
                if end_sessions {
                    tx.execute(queries::REVOKE_USER_SESSIONS, args![target, by.at])
                        .await?;
                }
                let removed = before.methods.iter().any(|m| m.configured);
                let secrets: &[&'static str] = if removed { &["mfaMethods"] } else { &[] };
                append_mfa_event(tx, by, target, &before, secrets).await?;
                Ok(ResetOutcome::Done)
            })
        })
        .await
    }

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
                let lock = queries::LOCK_MFA_USER.sql(tx.dialect());
                tx.query_opt(lock, args![user_id], |_| Ok(())).await?;
                if let Some(retry_after_ms) = locked_out(tx, user_id, &client, now).await? {
                    return Ok(VerifyOutcome::Locked { retry_after_ms });
                }
                let spent = match &factor {
                    Factor::Totp { step: Some(step) } => {
                        tx.execute(queries::SPEND_TOTP_STEP, args![user_id, *step, now])
                            .await?
                    }
                    Factor::BackupCode { hash } => {
                        tx.execute(queries::SPEND_BACKUP_CODE, args![user_id, hash, now])
                            .await?
                    }
                    Factor::LoginLink { hash } => {
                        tx.execute(
                            queries::SPEND_LOGIN_LINK,
                            args![user_id, hash, now, session_id],
                        )
                        .await?
                    }
                    Factor::Totp { step: None } | Factor::Invalid => 0,
                };
                let verified = spent == 1
                    && tx
                        .execute(
                            queries::VERIFY_SESSION,
                            args![session_id, user_id, now, next.expires_at],
                        )
                        .await?
                        == 1;
                if !verified {
                    record_failure(tx, user_id, &client, now).await?;
                    return Ok(VerifyOutcome::Invalid);
                }
                tx.execute(queries::CLEAR_MFA_FAILURES, args![user_id, &client])
                    .await?;
                tx.execute(queries::DELETE_SESSION_REFRESH_TOKENS, args![session_id])
                    .await?;
                tx.execute(
                    queries::INSERT_REFRESH_TOKEN,
                    args![&next.token_hash, session_id, now, next.expires_at],
                )
                .await?;
                Ok(VerifyOutcome::Verified)
            })
        })
        .await
    }
}

/// Where `user_id` stands, read in the caller's transaction.
async fn read_state(tx: &mut Tx<'_>, user_id: UserId) -> StoreResult<Option<MfaState>> {
    Ok(read_state_and_org(tx, user_id)
        .await?
        .map(|(state, _)| state))
}

/// [`read_state`], and whether the user's organization is a business.
async fn read_state_and_org(
    tx: &mut Tx<'_>,
    user_id: UserId,
) -> StoreResult<Option<(MfaState, bool)>> {
    let rows = tx
        .query_all(queries::MFA_STATE, args![user_id], |row| {
            let method: Option<String> = row.get("method")?;
            let method = method.as_deref().and_then(MfaMethod::parse);
            let state = MethodState {
                method: method.unwrap_or(MfaMethod::GoogleAuth),
                configured: row.get::<Option<bool>>("configured")?.unwrap_or(false),
                enabled: row.get::<Option<bool>>("enabled")?.unwrap_or(false),
                primary: row.get::<Option<bool>>("is_primary")?.unwrap_or(false),
            };
            Ok((
                (
                    row.get::<bool>("mfa_enforced")?,
                    row.get::<bool>("mfa_required")?,
                    row.get::<bool>("is_business")?,
                ),
                method.map(|_| state),
            ))
        })
        .await?;
    let Some(&((enforced, required_by_admin, is_business), _)) = rows.first() else {
        return Ok(None);
    };
    let state = MfaState {
        enforced,
        required_by_admin,
        methods: rows.into_iter().filter_map(|(_, m)| m).collect(),
    };
    Ok(Some((state, is_business)))
}

/// Takes `user_id`'s MFA lock, then reads where they stand.
async fn lock_and_read(tx: &mut Tx<'_>, user_id: UserId) -> StoreResult<Option<MfaState>> {
    let lock = queries::LOCK_MFA_USER.sql(tx.dialect());
    tx.query_opt(lock, args![user_id], |_| Ok(())).await?;
    read_state(tx, user_id).await
}

/// The `user updated` event of an MFA change of `target`: what differs from `before`, plus the
/// secrets named in `secrets` as `"changed"`. No change, no event (false).
async fn append_mfa_event(
    tx: &mut Tx<'_>,
    by: Actor,
    target: UserId,
    before: &MfaState,
    secrets: &[&'static str],
) -> StoreResult<bool> {
    let after = read_state(tx, target).await?.unwrap_or_default();
    let changes = secrets
        .iter()
        .fold(before.changes_to(&after), |changes, secret| {
            changes.secret(secret, true)
        });
    let Some(data) = changes.json()? else {
        return Ok(false);
    };
    append_event(tx, &NewEvent::user(by, EventKind::Updated, target, data)).await?;
    Ok(true)
}

/// When a change enables the first method of `user_id` (who had none enabled `before`), their
/// sessions that never passed MFA end, but `keep` (the session making the change): a password
/// alone must not keep full access once MFA is on.
async fn end_unverified_sessions(
    tx: &mut Tx<'_>,
    before: &MfaState,
    user_id: UserId,
    keep: Option<SessionId>,
    now: i64,
) -> StoreResult<()> {
    if before.is_enabled() {
        return Ok(());
    }
    let keep = keep.map_or(Uuid::nil(), SessionId::uuid);
    tx.execute(
        queries::REVOKE_UNVERIFIED_SESSIONS,
        args![user_id, now, keep],
    )
    .await?;
    Ok(())
}

/// How long `client` must wait before trying a second factor of `user_id` again (ms); None
/// when it is not locked out. Either limit locks until the window has passed since the newest
/// failure it counts.
async fn locked_out(
    tx: &mut Tx<'_>,
    user_id: UserId,
    client: &str,
    now: i64,
) -> StoreResult<Option<i64>> {
    let since = now - LOCKOUT_WINDOW_MS;
    let counts = tx
        .query_opt(
            queries::RECENT_MFA_FAILURES,
            args![user_id, since, client],
            |row| {
                Ok((
                    row.get::<i64>("n")?,
                    row.get::<Option<i64>>("newest")?,
                    row.get::<i64>("n_client")?,
                    row.get::<Option<i64>>("newest_client")?,
                ))
            },
        )
        .await?;
    let Some((all, newest, mine, my_newest)) = counts else {
        return Ok(None);
    };
    let until = |newest: Option<i64>| newest.unwrap_or(now) + LOCKOUT_WINDOW_MS;
    let per_client = (mine >= LOCKOUT_FAILURES).then(|| until(my_newest));
    let per_user = (all >= LOCKOUT_USER_FAILURES).then(|| until(newest));
    Ok(per_client.max(per_user).map(|until| (until - now).max(1)))
}

/// A failed second factor of `user_id` from `client`, for the lockout.
async fn record_failure(
    tx: &mut Tx<'_>,
    user_id: UserId,
    client: &str,
    now: i64,
) -> StoreResult<()> {
    tx.execute(queries::INSERT_MFA_FAILURE, args![user_id, now, client])
        .await?;
    Ok(())
}

async fn insert_email_code(tx: &mut Tx<'_>, code: &NewEmailCode) -> StoreResult<()> {
    tx.execute(
        queries::UPSERT_EMAIL_CODE,
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

async fn insert_link_token(
    tx: &mut Tx<'_>,
    token: &NewLinkToken,
    purpose: &'static str,
    session_id: Option<SessionId>,
) -> StoreResult<()> {
    tx.execute(
        queries::INSERT_LINK_TOKEN,
        args![
            &token.token_hash,
            token.user_id,
            purpose,
            session_id,
            token.created_at,
            token.expires_at
        ],
    )
    .await?;
    Ok(())
}
