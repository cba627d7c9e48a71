//! The clean-up of what has ended: sessions past their expiry or revoked (with their refresh
//! tokens), expired refresh, verification, reset and magic-link tokens, failed MFA
//! verifications the lockout no longer counts, and abandoned accounts. One pass
//! deletes in batches of bounded size, each its own short statement or transaction, with a
//! pause between batches so that requests' writes (SQLite's one writer, PostgreSQL's row locks)
//! never wait long behind it.
//!
//! Several instances may run passes at once: every delete is idempotent, and on PostgreSQL each
//! batch skips the rows another instance's batch holds (`FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use super::tx::{args, PerDialect};
use super::{Store, StoreResult, LOCKOUT_WINDOW_MS};
use crate::domain::{OrgId, OrgRole, UserId};

/// What a pass deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Rows are deleted this long (ms) after they expired or their session was revoked.
    pub grace_ms: i64,
    /// Self-registered accounts never verified are deleted this long (ms) after registering;
    /// None: kept.
    pub unverified_account_ttl_ms: Option<i64>,
    /// Rows per statement (accounts per batch).
    pub batch: i64,
    /// Pause after a full batch, before the next.
    pub pause: Duration,
}

/// How many rows a pass deleted, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CleanupReport {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub verifications: u64,
    pub password_resets: u64,
    /// Magic-link tokens (activation and sign-in).
    pub mfa_link_tokens: u64,
    /// Codes e-mailed for an enrolment from a pending session.
    pub mfa_email_codes: u64,
    /// Passkey ceremonies (challenges) that expired.
    pub passkey_challenges: u64,
    /// Failed MFA verifications older than the lockout window.
    pub mfa_failures: u64,
    /// Browser sign-ins with identity providers and their one-time codes, expired.
    pub oidc_flows: u64,
    /// Abandoned accounts, each with its organization.
    pub accounts: u64,
    /// Webhook delivery attempts older than [`WEBHOOK_LOG_MS`].
    pub webhook_attempts: u64,
    /// Webhook deliveries delivered or failed more than [`WEBHOOK_LOG_MS`] ago.
    pub webhook_deliveries: u64,
}

/// How long webhook attempts, and deliveries done with, are kept (contract section 15): 30 days,
/// whatever the grace.
pub const WEBHOOK_LOG_MS: i64 = 30 * 24 * 3_600_000;

impl CleanupReport {
    pub fn is_empty(&self) -> bool {
        *self == CleanupReport::default()
    }
}

impl Store {
    /// One clean-up pass as of `now` (Unix ms).
    pub async fn clean_up(&self, policy: &CleanupPolicy, now: i64) -> StoreResult<CleanupReport> {
        let ended = now.saturating_sub(policy.grace_ms);
        let mut report = CleanupReport::default();
        let delete =
            move |statement: &'static PerDialect| self.delete_in_batches(statement, ended, policy);
        // Refresh tokens first: a session goes once it has none left.
        report.refresh_tokens += delete(&DELETE_EXPIRED_REFRESH_TOKENS).await?;
        report.refresh_tokens += delete(&DELETE_REVOKED_SESSIONS_REFRESH_TOKENS).await?;
        report.sessions = delete(&DELETE_ENDED_SESSIONS).await?;
        report.verifications = delete(&DELETE_EXPIRED_VERIFICATIONS).await?;
        report.password_resets = delete(&DELETE_EXPIRED_RESETS).await?;
        report.mfa_link_tokens = delete(&DELETE_EXPIRED_LINK_TOKENS).await?;
        report.mfa_email_codes = delete(&DELETE_EXPIRED_EMAIL_CODES).await?;
        report.oidc_flows = delete(&DELETE_EXPIRED_OIDC_FLOWS).await?;
        report.oidc_flows += delete(&DELETE_EXPIRED_OIDC_CODES).await?;
        report.passkey_challenges = delete(&DELETE_EXPIRED_PASSKEY_CHALLENGES).await?;
        // Never a failure the lockout still counts, whatever the grace.
        let failures_before = ended.min(now.saturating_sub(LOCKOUT_WINDOW_MS));
        report.mfa_failures = self
            .delete_in_batches(&DELETE_OLD_MFA_FAILURES, failures_before, policy)
            .await?;
        let log_before = now.saturating_sub(WEBHOOK_LOG_MS);
        report.webhook_attempts = self
            .delete_in_batches(&DELETE_OLD_WEBHOOK_ATTEMPTS, log_before, policy)
            .await?;
        report.webhook_deliveries = self
            .delete_in_batches(&DELETE_OLD_WEBHOOK_DELIVERIES, log_before, policy)
            .await?;
        if let Some(ttl) = policy.unverified_account_ttl_ms {
            report.accounts = self
                .delete_abandoned_accounts(now.saturating_sub(ttl), now, policy)
                .await?;
        }
        Ok(report)
    }

    /// Runs a `batch_delete!` statement until a batch comes back short.
    async fn delete_in_batches(
        &self,
        delete: &'static PerDialect,
        before: i64,
        policy: &CleanupPolicy,
    ) -> StoreResult<u64> {
        let batch = policy.batch;
        let mut deleted = 0;
        loop {
            let n = self
                .write_single(move |tx| {
                    Box::pin(async move {
                        let args = args![before, batch];
                        tx.execute_per_dialect(delete, args).await
                    })
                })
                .await?;
            deleted += n;
            if n < batch.unsigned_abs() {
                return Ok(deleted);
            }
            tokio::time::sleep(policy.pause).await;
        }
    }

    /// Deletes the accounts registered before `registered_before` that were never verified (see
    /// `abandoned_account!`), each with everything it owns, its organization and that
    /// organization's events (its registration's `org` and `user` created), in a
    /// transaction of its own that checks again, under a row lock on PostgreSQL, that the account
    /// is still abandoned (it may have been verified since it was picked).
    async fn delete_abandoned_accounts(
        &self,
        registered_before: i64,
        now: i64,
        policy: &CleanupPolicy,
    ) -> StoreResult<u64> {
        let owner = OrgRole::Owner;
        let mut deleted = 0;
        loop {
            let batch = policy.batch;
            let picked: Vec<(UserId, OrgId)> = self
                .read(|tx| {
                    Box::pin(async move {
                        tx.query_all(
                            ABANDONED_ACCOUNTS,
                            args![registered_before, batch, owner, now],
                            |row| Ok((row.get("user_id")?, row.get("org_id")?)),
                        )
                        .await
                    })
                })
                .await?;
            let mut deleted_now = 0;
            for &(user_id, org_id) in &picked {
                let gone = self
                    .write(move |tx| {
                        Box::pin(async move {
                            let lock = &LOCK_ABANDONED_ACCOUNT;
                            let args = args![registered_before, user_id, owner, now];
                            let found = tx.query_opt_per_dialect(lock, args, |_| Ok(())).await?;
                            if found.is_none() {
                                return Ok(false);
                            }
                            for sql in DELETE_ACCOUNT_ROWS {
                                tx.execute(sql, args![user_id]).await?;
                            }
                            tx.execute(DELETE_EMPTY_ORGANIZATION, args![org_id]).await?;
                            tx.execute(DELETE_GONE_ORGANIZATION_EVENTS, args![org_id])
                                .await?;
                            Ok(true)
                        })
                    })
                    .await?;
                deleted_now += u64::from(gone);
            }
            deleted += deleted_now;
            // A full batch of which none could go (another instance holds them all) would be
            // picked again: leave them to the next pass.
            if (picked.len() as u64) < batch.unsigned_abs() || deleted_now == 0 {
                return Ok(deleted);
            }
            tokio::time::sleep(policy.pause).await;
        }
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// `batch_delete!(table, key, alias, select)`: deletes the rows of `table` whose `key` is among
/// the first `$2` rows `select` picks (its alias `alias`). On PostgreSQL the picked rows are
/// locked and rows another instance's clean-up holds are skipped (`SKIP LOCKED`), so instances
/// running at once delete different batches instead of queueing behind one another.
macro_rules! batch_delete {
    ($table:literal, $key:literal, $alias:literal, $select:expr) => {
        PerDialect::new(
            concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $key,
                " IN (",
                $select,
                " LIMIT $2)"
            ),
            concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $key,
                " IN (",
                $select,
                " LIMIT $2 FOR UPDATE OF ",
                $alias,
                " SKIP LOCKED)"
            ),
        )
    };
}

/// Refresh tokens that expired before $1.
const DELETE_EXPIRED_REFRESH_TOKENS: PerDialect = batch_delete!(
    "refresh_tokens",
    "token_hash",
    "t",
    "SELECT t.token_hash FROM refresh_tokens t WHERE t.expires_at < $1"
);

/// Webhook attempts made before $1.
const DELETE_OLD_WEBHOOK_ATTEMPTS: PerDialect = batch_delete!(
    "webhook_attempts",
    "id",
    "a",
    "SELECT a.id FROM webhook_attempts a WHERE a.attempted_at < $1"
);

/// Webhook deliveries done with (delivered or failed) whose last attempt, or creation, was
/// before $1; a pending one stays, however old. (`created_at < $1` is implied, as no attempt
/// precedes its delivery: it lets the index on `created_at` find them.)
const DELETE_OLD_WEBHOOK_DELIVERIES: PerDialect = batch_delete!(
    "webhook_deliveries",
    "id",
    "d",
    "SELECT d.id FROM webhook_deliveries d WHERE d.created_at < $1 AND d.status <> 0 \
     AND COALESCE(d.last_attempt_at, d.created_at) < $1"
);

/// The refresh tokens of sessions revoked before $1 (those of expired sessions expired too).
const DELETE_REVOKED_SESSIONS_REFRESH_TOKENS: PerDialect = batch_delete!(
    "refresh_tokens",
    "token_hash",
    "t",
    "SELECT t.token_hash FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id \
     WHERE s.revoked_at < $1"
);

/// Sessions that expired or were revoked before $1, once their refresh tokens are gone.
const DELETE_ENDED_SESSIONS: PerDialect = batch_delete!(
    "sessions",
    "id",
    "s",
    "SELECT s.id FROM sessions s WHERE (s.expires_at < $1 OR s.revoked_at < $1) \
     AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)"
);

/// Verifications that expired before $1, unless their user still has to verify (a resend names
/// any earlier verification; an unverified account keeps them until it is itself deleted).
const DELETE_EXPIRED_VERIFICATIONS: PerDialect = batch_delete!(
    "email_verifications",
    "id",
    "v",
    "SELECT v.id FROM email_verifications v WHERE v.expires_at < $1 \
     AND (v.used_at IS NOT NULL \
     OR EXISTS (SELECT 1 FROM users u WHERE u.id = v.user_id AND u.validated))"
);

/// Password reset tokens that expired before $1.
const DELETE_EXPIRED_RESETS: PerDialect = batch_delete!(
    "password_resets",
    "id",
    "r",
    "SELECT r.id FROM password_resets r WHERE r.expires_at < $1"
);

/// Magic-link tokens that expired before $1.
const DELETE_EXPIRED_LINK_TOKENS: PerDialect = batch_delete!(
    "mfa_link_tokens",
    "token_hash",
    "l",
    "SELECT l.token_hash FROM mfa_link_tokens l WHERE l.expires_at < $1"
);

/// E-mailed enrolment codes that expired before $1.
const DELETE_EXPIRED_EMAIL_CODES: PerDialect = batch_delete!(
    "mfa_email_codes",
    "session_id",
    "c",
    "SELECT c.session_id FROM mfa_email_codes c WHERE c.expires_at < $1"
);

const DELETE_EXPIRED_OIDC_FLOWS: PerDialect = batch_delete!(
    "oidc_flows",
    "state_hash",
    "f",
    "SELECT f.state_hash FROM oidc_flows f WHERE f.expires_at < $1"
);

const DELETE_EXPIRED_OIDC_CODES: PerDialect = batch_delete!(
    "oidc_codes",
    "code_hash",
    "c",
    "SELECT c.code_hash FROM oidc_codes c WHERE c.expires_at < $1"
);

/// Passkey ceremonies that expired before $1.
const DELETE_EXPIRED_PASSKEY_CHALLENGES: PerDialect = batch_delete!(
    "passkey_challenges",
    "id",
    "c",
    "SELECT c.id FROM passkey_challenges c WHERE c.expires_at < $1"
);

/// Failed MFA verifications made before $1 (the clean-up's grace is longer than the lockout
/// window, so these no longer count).
const DELETE_OLD_MFA_FAILURES: PerDialect = batch_delete!(
    "mfa_failures",
    "id",
    "f",
    "SELECT f.id FROM mfa_failures f WHERE f.failed_at < $1"
);

/// An abandoned account (`u`, $3 its role OWNER): registered before $1 and never verified, alone
/// in its organization (no other user row, deleted or not), and with no verification or reset
/// token still live at $4 (a resend gives it another day). Its organization then holds no
/// workspace: creating one takes a verified user of the organization. (Should one exist anyway,
/// its foreign key refuses the organization's delete and that account's transaction rolls back.)
/// No workspace check here: it would need an index on `workspaces (org_id)`, one more write on
/// every workspace created, for a case that cannot arise.
macro_rules! abandoned_account {
    () => {
        "NOT u.validated AND u.created_at < $1 AND u.org_role = $3 \
         AND NOT EXISTS (SELECT 1 FROM users o WHERE o.org_id = u.org_id AND o.id <> u.id) \
         AND NOT EXISTS (SELECT 1 FROM email_verifications v \
         WHERE v.user_id = u.id AND v.expires_at > $4) \
         AND NOT EXISTS (SELECT 1 FROM password_resets r \
         WHERE r.user_id = u.id AND r.expires_at > $4)"
    };
}

/// Up to $2 abandoned accounts: (user_id, org_id).
const ABANDONED_ACCOUNTS: &str = concat!(
    "SELECT u.id AS user_id, u.org_id FROM users u WHERE ",
    abandoned_account!(),
    " LIMIT $2"
);

/// The account $2 if it is (still) abandoned; on PostgreSQL locked, or skipped when another
/// instance holds it.
const LOCK_ABANDONED_ACCOUNT: PerDialect = PerDialect::new(
    concat!(
        "SELECT u.id FROM users u WHERE u.id = $2 AND ",
        abandoned_account!()
    ),
    concat!(
        "SELECT u.id FROM users u WHERE u.id = $2 AND ",
        abandoned_account!(),
        " FOR UPDATE OF u SKIP LOCKED"
    ),
);

/// What an account owns, each deleted by user id ($1), children first.
const DELETE_ACCOUNT_ROWS: [&str; 14] = [
    "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
    "DELETE FROM mfa_failures WHERE user_id = $1",
    "DELETE FROM mfa_email_codes WHERE user_id = $1",
    "DELETE FROM passkey_challenges WHERE user_id = $1",
    "DELETE FROM passkeys WHERE user_id = $1",
    "DELETE FROM mfa_link_tokens WHERE user_id = $1",
    "DELETE FROM mfa_backup_codes WHERE user_id = $1",
    "DELETE FROM mfa_methods WHERE user_id = $1",
    "DELETE FROM sessions WHERE user_id = $1",
    "DELETE FROM devices WHERE user_id = $1",
    "DELETE FROM email_verifications WHERE user_id = $1",
    "DELETE FROM password_resets WHERE user_id = $1",
    "DELETE FROM workspace_members WHERE user_id = $1",
    "DELETE FROM users WHERE id = $1",
];

/// The organization $1, once it has no user left.
const DELETE_EMPTY_ORGANIZATION: &str = "DELETE FROM organizations WHERE id = $1 \
     AND NOT EXISTS (SELECT 1 FROM users WHERE org_id = $1)";

/// The events of the organization $1, once it is gone: they name an organization, a user and
/// their changes that no longer exist (their read marks go with them, ON DELETE CASCADE).
const DELETE_GONE_ORGANIZATION_EVENTS: &str = "DELETE FROM system_events WHERE org_id = $1 \
     AND NOT EXISTS (SELECT 1 FROM organizations WHERE id = $1)";

#[cfg(test)]
mod tests {
    use super::{
        ABANDONED_ACCOUNTS, DELETE_ENDED_SESSIONS, DELETE_EXPIRED_EMAIL_CODES,
        DELETE_EXPIRED_LINK_TOKENS, DELETE_EXPIRED_OIDC_CODES, DELETE_EXPIRED_OIDC_FLOWS,
        DELETE_EXPIRED_PASSKEY_CHALLENGES, DELETE_EXPIRED_REFRESH_TOKENS, DELETE_EXPIRED_RESETS,
        DELETE_EXPIRED_VERIFICATIONS, DELETE_OLD_MFA_FAILURES, DELETE_OLD_WEBHOOK_ATTEMPTS,
        DELETE_OLD_WEBHOOK_DELIVERIES, DELETE_REVOKED_SESSIONS_REFRESH_TOKENS,
        LOCK_ABANDONED_ACCOUNT,
    };
    use crate::store::sqlite::explain::{migrated, plan};
    use crate::store::tx::Dialect;

    /// A pass over a large database reads what ended through an index, never a whole table.
    #[test]
    fn every_clean_up_statement_finds_its_rows_through_an_index() {
        let conn = migrated();
        let deletes = [
            (&DELETE_EXPIRED_REFRESH_TOKENS, "refresh_tokens_expires"),
            (&DELETE_REVOKED_SESSIONS_REFRESH_TOKENS, "sessions_revoked"),
            (&DELETE_ENDED_SESSIONS, "sessions_expires"),
            (&DELETE_EXPIRED_VERIFICATIONS, "email_verifications_expires"),
            (&DELETE_EXPIRED_RESETS, "password_resets_expires"),
            (&DELETE_EXPIRED_LINK_TOKENS, "mfa_link_tokens_expires"),
            (&DELETE_EXPIRED_EMAIL_CODES, "mfa_email_codes_expires"),
            (&DELETE_EXPIRED_OIDC_FLOWS, "oidc_flows_expires"),
            (&DELETE_EXPIRED_OIDC_CODES, "oidc_codes_expires"),
            (
                &DELETE_EXPIRED_PASSKEY_CHALLENGES,
                "passkey_challenges_expires",
            ),
            (&DELETE_OLD_MFA_FAILURES, "mfa_failures_time"),
            (&DELETE_OLD_WEBHOOK_ATTEMPTS, "webhook_attempts_time"),
            (&DELETE_OLD_WEBHOOK_DELIVERIES, "webhook_deliveries_created"),
        ];
        let mut statements: Vec<(&str, &str)> = deletes
            .iter()
            .map(|(delete, index)| (delete.sql(Dialect::Sqlite).unwrap(), *index))
            .collect();
        statements.push((ABANDONED_ACCOUNTS, "users_unverified"));
        statements.push((
            LOCK_ABANDONED_ACCOUNT.sql(Dialect::Sqlite).unwrap(),
            "SEARCH u USING PRIMARY KEY (id=?)",
        ));
        for (sql, index) in statements {
            let plan = plan(&conn, sql);
            assert!(plan.contains(index), "{sql}:\n{plan}");
            let scans = plan.lines().filter(|step| step.starts_with("SCAN")).count();
            assert_eq!(scans, 0, "{sql}:\n{plan}");
        }
    }
}
