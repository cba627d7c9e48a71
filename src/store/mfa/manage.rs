//! Managing one's methods (enabling, disabling, choosing the primary one) and the reset of a
//! user's MFA, their own or, by an admin, another's.

use super::{
    append_mfa_event, end_unverified_sessions, lock_and_read, lock_with_method, ENSURE_PRIMARY,
    LIVE_USER_ORG,
};
use crate::domain::{can_manage_user, MfaMethod, OrgId, OrgRole, SessionId, UserId};
use crate::store::events::Actor;
use crate::store::tx::args;
use crate::store::{sql, Store, StoreResult};

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
                let Some(before) = lock_with_method(tx, user_id, method, |m| m.configured).await?
                else {
                    return Ok(MethodChange::NotConfigured);
                };
                let last_enabled = before.enabled_methods() == [method];
                if !enabled && last_enabled && (before.enforced || before.required_by_admin) {
                    return Ok(MethodChange::LastWhileRequired);
                }
                let name = method.as_str();
                tx.execute(SET_METHOD_ENABLED, args![user_id, name, enabled, now])
                    .await?;
                tx.execute(ENSURE_PRIMARY, args![user_id, now]).await?;
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
                let Some(before) = lock_with_method(tx, user_id, method, |m| m.enabled).await?
                else {
                    return Ok(MethodChange::NotConfigured);
                };
                let name = method.as_str();
                tx.execute(CLEAR_PRIMARY, args![user_id, name, now]).await?;
                tx.execute(SET_PRIMARY, args![user_id, name, now]).await?;
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
                    .query_opt(LIVE_USER_ORG, args![user_id], |row| {
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
                for sql in RESET_MFA_ROWS {
                    tx.execute(sql, args![target]).await?;
                }
                if let Some(require) = require {
                    tx.execute(SET_MFA_REQUIRED, args![target, require]).await?;
                }
                if end_sessions {
                    tx.execute(sql::REVOKE_USER_SESSIONS, args![target, by.at])
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
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Switches the configured method $2 of user $1 on ($3 true) or off; no row when it is not
/// configured. Switching off also drops its primary mark.
const SET_METHOD_ENABLED: &str = "UPDATE mfa_methods SET enabled = $3, \
     is_primary = (is_primary AND $3), updated_at = $4 \
     WHERE user_id = $1 AND method = $2 AND configured";

/// Makes the method $2 of user $1 primary and any other not.
const CLEAR_PRIMARY: &str = "UPDATE mfa_methods SET is_primary = FALSE, updated_at = $3 \
     WHERE user_id = $1 AND is_primary AND method <> $2";

const SET_PRIMARY: &str = "UPDATE mfa_methods SET is_primary = TRUE, updated_at = $3 \
     WHERE user_id = $1 AND method = $2 AND enabled";

/// A reset: everything of user $1's second factors goes.
const RESET_MFA_ROWS: [&str; 6] = [
    "DELETE FROM passkeys WHERE user_id = $1",
    "DELETE FROM passkey_challenges WHERE user_id = $1",
    "DELETE FROM mfa_backup_codes WHERE user_id = $1",
    "DELETE FROM mfa_email_codes WHERE user_id = $1",
    "DELETE FROM mfa_link_tokens WHERE user_id = $1",
    "DELETE FROM mfa_methods WHERE user_id = $1",
];

/// Whether an admin requires MFA of user $1 ($2).
const SET_MFA_REQUIRED: &str = "UPDATE users SET mfa_required = $2 WHERE id = $1";
