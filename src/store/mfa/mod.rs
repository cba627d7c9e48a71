//! Second factors (contract section 8): methods, backup codes, magic-link tokens, the
//! verification of a pending session and its lockout.
//!
//! Every change of a user's MFA takes the user's row lock first (`LOCK_MFA_USER`), reads where
//! the user stands, checks, writes, and appends one `user updated` event naming what changed
//! (never a secret: a new TOTP secret or new backup codes appear only as `"changed"`). A
//! verification spends its code with a conditional update inside the same transaction as the
//! lockout count, so two racing requests with one code give exactly one success, on any number
//! of instances.
//!
//! The operations are grouped as the routes that use them: enrolling a method ([`enrol`]),
//! passing the second factor ([`login`]), managing one's methods and an admin's reset
//! ([`manage`]), passkeys' ceremonies and credentials ([`passkeys`]) and signing in with a
//! passkey alone ([`passkey_sign_in`]). Here: where a user stands, and the steps they share
//! (the lock, the lockout, the event).

mod enrol;
mod login;
mod manage;
mod passkey_sign_in;
mod passkeys;

use serde_json::Value;
use uuid::Uuid;

use super::events::{append_event, Actor, Changes, NewEvent};
use super::tx::{args, Tx};
use super::{sql, Store, StoreResult};
use crate::domain::{EventKind, MfaMethod, SessionId, UserId};

pub use enrol::{MailboxProof, NewEmailCode};
pub use login::Factor;
pub use manage::{MethodChange, ResetOutcome, ResetTarget};
pub use passkey_sign_in::{PasskeySignIn, PasskeySignInCandidate, PasskeySignInOutcome};
pub use passkeys::{
    ChallengePurpose, NewPasskey, NewPasskeyChallenge, PasskeyRegistration, PasskeyRemoval,
    StoredPasskey,
};

/// This many failed verifications of one user from one client address within
/// [`LOCKOUT_WINDOW_MS`] lock that client out of the user's verification while the window holds
/// that many; [`LOCKOUT_USER_FAILURES`] from all clients together lock the user. So a password holder cannot lock the owner out from elsewhere, and distributed
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
                    .query_opt(TOTP_SECRETS, args![user_id], |row| {
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
        .query_all(MFA_STATE, args![user_id], |row| {
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
    tx.query_opt_per_dialect(&sql::LOCK_MFA_USER, args![user_id], |_| Ok(()))
        .await?;
    read_state(tx, user_id).await
}

/// Takes `user_id`'s MFA lock and reads where they stand, when their `method` is `in_state`
/// (configured, enabled): None when it is not, or the user is gone.
async fn lock_with_method(
    tx: &mut Tx<'_>,
    user_id: UserId,
    method: MfaMethod,
    in_state: impl Fn(&MethodState) -> bool,
) -> StoreResult<Option<MfaState>> {
    let state = lock_and_read(tx, user_id).await?;
    Ok(state.filter(|state| state.method(method).is_some_and(&in_state)))
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
    tx.execute(REVOKE_UNVERIFIED_SESSIONS, args![user_id, now, keep])
        .await?;
    Ok(())
}

/// How long `client` must wait before trying a second factor of `user_id` again (ms); None
/// when it is not locked out. A limit locks while the window holds that many failures it
/// counts, so it lifts when the oldest of the newest `limit` leaves the window: that is the
/// `Retry-After`, to the millisecond (earlier failures leave before it, later ones after).
async fn locked_out(
    tx: &mut Tx<'_>,
    user_id: UserId,
    client: &str,
    now: i64,
) -> StoreResult<Option<i64>> {
    let since = now - LOCKOUT_WINDOW_MS;
    let counts = tx
        .query_opt(RECENT_MFA_FAILURES, args![user_id, since, client], |row| {
            Ok((row.get::<i64>("n")?, row.get::<i64>("n_client")?))
        })
        .await?;
    let Some((all, mine)) = counts else {
        return Ok(None);
    };
    let mut until = None;
    if mine >= LOCKOUT_FAILURES {
        let args = args![user_id, since, client, LOCKOUT_FAILURES - 1];
        let nth = tx.query_opt(NTH_NEWEST_CLIENT_FAILURE, args, |row| {
            row.get::<i64>("failed_at")
        });
        until = nth.await?.map(|at| at + LOCKOUT_WINDOW_MS);
    }
    if all >= LOCKOUT_USER_FAILURES {
        let args = args![user_id, since, LOCKOUT_USER_FAILURES - 1];
        let nth = tx.query_opt(NTH_NEWEST_FAILURE, args, |row| row.get::<i64>("failed_at"));
        let per_user = nth.await?.map(|at| at + LOCKOUT_WINDOW_MS);
        until = until.max(per_user);
    }
    Ok(until.map(|until| (until - now).max(1)))
}

/// A failed second factor of `user_id` from `client`, for the lockout.
async fn record_failure(
    tx: &mut Tx<'_>,
    user_id: UserId,
    client: &str,
    now: i64,
) -> StoreResult<()> {
    tx.execute(INSERT_MFA_FAILURE, args![user_id, now, client])
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
        INSERT_LINK_TOKEN,
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

// ---- SQL ----------------------------------------------------------------------------------------
//
// Those of the steps above, and those that more than one of the submodules run.

/// The user $1 (not deleted) with their organization's enforcement (and whether it is a
/// business, for the profile), the admin's requirement and one row per method they have (NULL
/// method columns when none).
const MFA_STATE: &str = "SELECT o.mfa_enforced, o.is_business, u.mfa_required, m.method, \
     m.configured, \
     m.enabled, m.is_primary FROM users u JOIN organizations o ON o.id = u.org_id \
     LEFT JOIN mfa_methods m ON m.user_id = u.id WHERE u.id = $1 AND u.deleted_at IS NULL \
     ORDER BY m.method";

/// The sealed TOTP secrets of user $1: the active one and one waiting for `verify-setup`.
const TOTP_SECRETS: &str = "SELECT secret, pending_secret FROM mfa_methods \
     WHERE user_id = $1 AND method = 'GOOGLE_AUTH'";

/// Gives user $1 a primary method when they have enabled ones but none is primary: the first
/// enabled one by name ($2 now).
const ENSURE_PRIMARY: &str = "UPDATE mfa_methods SET is_primary = TRUE, updated_at = $2 \
     WHERE user_id = $1 AND method = (SELECT MIN(e.method) FROM mfa_methods e \
     WHERE e.user_id = $1 AND e.enabled) \
     AND NOT EXISTS (SELECT 1 FROM mfa_methods p WHERE p.user_id = $1 AND p.is_primary)";

/// A magic-link token ($1 hash) of user $2 for `purpose` $3, bound to session $4 (login links).
const INSERT_LINK_TOKEN: &str = "INSERT INTO mfa_link_tokens (token_hash, user_id, purpose, \
     session_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

const LIVE_USER_ORG: &str =
    "SELECT org_id, org_role FROM users WHERE id = $1 AND deleted_at IS NULL";

/// Failed verifications of user $1 after $2: how many, from every client and from client $3.
const RECENT_MFA_FAILURES: &str = "SELECT COUNT(*) AS n, \
     COUNT(CASE WHEN client = $3 THEN 1 END) AS n_client \
     FROM mfa_failures WHERE user_id = $1 AND failed_at > $2";

/// The time of the failure of user $1 after $2 that has $3 newer ones (the $3 + 1-th newest).
const NTH_NEWEST_FAILURE: &str = "SELECT failed_at FROM mfa_failures \
     WHERE user_id = $1 AND failed_at > $2 ORDER BY failed_at DESC LIMIT 1 OFFSET $3";

/// [`NTH_NEWEST_FAILURE`] among those from client $3 ($4 newer ones).
const NTH_NEWEST_CLIENT_FAILURE: &str = "SELECT failed_at FROM mfa_failures \
     WHERE user_id = $1 AND failed_at > $2 AND client = $3 \
     ORDER BY failed_at DESC LIMIT 1 OFFSET $4";

/// A failed verification of user $1 from client $3 ($2 now).
const INSERT_MFA_FAILURE: &str =
    "INSERT INTO mfa_failures (user_id, failed_at, client) VALUES ($1, $2, $3)";

/// A right factor from client $2 forgets that client's failures for user $1 (not the others':
/// a password holder elsewhere must not get new tries from the owner's success).
const CLEAR_MFA_FAILURES: &str = "DELETE FROM mfa_failures WHERE user_id = $1 AND client = $2";

/// When a user enables their first method: their sessions that never passed MFA end, but the
/// one making the change ($3; the nil UUID keeps none).
const REVOKE_UNVERIFIED_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND revoked_at IS NULL AND NOT mfa_verified AND id <> $3";

/// Session $1 (of user $2, live at $3) passed its second factor. A pending session, which ends
/// 15 minutes after its login, takes a verified session's expiry $4; one opened before MFA was
/// required keeps its own. (Every expression of a SET reads the row as it was, on both
/// backends: `mfa_pending` in the CASE is the value before this update.)
const VERIFY_SESSION: &str = "UPDATE sessions SET mfa_pending = FALSE, mfa_verified = TRUE, \
     expires_at = CASE WHEN mfa_pending THEN $4 ELSE expires_at END \
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3";
