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
use super::{queries, Store, StoreResult, LOCKOUT_WINDOW_MS};
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
    /// Failed MFA verifications older than the lockout window.
    pub mfa_failures: u64,
    /// Abandoned accounts, each with its organization.
    pub accounts: u64,
}

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
        // Refresh tokens first: a session goes once it has none left.
        report.refresh_tokens += self
            .delete_in_batches(&queries::DELETE_EXPIRED_REFRESH_TOKENS, ended, policy)
            .await?;
        report.refresh_tokens += self
            .delete_in_batches(
                &queries::DELETE_REVOKED_SESSIONS_REFRESH_TOKENS,
                ended,
                policy,
            )
            .await?;
        report.sessions = self
            .delete_in_batches(&queries::DELETE_ENDED_SESSIONS, ended, policy)
            .await?;
        report.verifications = self
            .delete_in_batches(&queries::DELETE_EXPIRED_VERIFICATIONS, ended, policy)
            .await?;
        report.password_resets = self
            .delete_in_batches(&queries::DELETE_EXPIRED_RESETS, ended, policy)
            .await?;
        report.mfa_link_tokens = self
            .delete_in_batches(&queries::DELETE_EXPIRED_LINK_TOKENS, ended, policy)
            .await?;
        report.mfa_email_codes = self
            .delete_in_batches(&queries::DELETE_EXPIRED_EMAIL_CODES, ended, policy)
            .await?;
        // Never a failure the lockout still counts, whatever the grace.
        let failures_before = ended.min(now.saturating_sub(LOCKOUT_WINDOW_MS));
        report.mfa_failures = self
            .delete_in_batches(&queries::DELETE_OLD_MFA_FAILURES, failures_before, policy)
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
    /// `queries::abandoned_account!`), each with everything it owns, its organization and that
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
                            queries::ABANDONED_ACCOUNTS,
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
                            let lock = &queries::LOCK_ABANDONED_ACCOUNT;
                            let args = args![registered_before, user_id, owner, now];
                            let found = tx.query_opt_per_dialect(lock, args, |_| Ok(())).await?;
                            if found.is_none() {
                                return Ok(false);
                            }
                            for sql in queries::DELETE_ACCOUNT_ROWS {
                                tx.execute(sql, args![user_id]).await?;
                            }
                            tx.execute(queries::DELETE_EMPTY_ORGANIZATION, args![org_id])
                                .await?;
                            tx.execute(queries::DELETE_GONE_ORGANIZATION_EVENTS, args![org_id])
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

#[cfg(test)]
mod tests {
    use crate::store::sqlite::explain::{migrated, plan};

    use crate::store::queries;
    use crate::store::tx::Dialect;

    /// A pass over a large database reads what ended through an index, never a whole table.
    #[test]
    fn every_clean_up_statement_finds_its_rows_through_an_index() {
        let conn = migrated();
        let deletes = [
            (
                &queries::DELETE_EXPIRED_REFRESH_TOKENS,
                "refresh_tokens_expires",
            ),
            (
                &queries::DELETE_REVOKED_SESSIONS_REFRESH_TOKENS,
                "sessions_revoked",
            ),
            (&queries::DELETE_ENDED_SESSIONS, "sessions_expires"),
            (
                &queries::DELETE_EXPIRED_VERIFICATIONS,
                "email_verifications_expires",
            ),
            (&queries::DELETE_EXPIRED_RESETS, "password_resets_expires"),
            (
                &queries::DELETE_EXPIRED_LINK_TOKENS,
                "mfa_link_tokens_expires",
            ),
            (
                &queries::DELETE_EXPIRED_EMAIL_CODES,
                "mfa_email_codes_expires",
            ),
            (&queries::DELETE_OLD_MFA_FAILURES, "mfa_failures_time"),
        ];
        let mut statements: Vec<(&str, &str)> = deletes
            .iter()
            .map(|(delete, index)| (delete.sql(Dialect::Sqlite).unwrap(), *index))
            .collect();
        statements.push((queries::ABANDONED_ACCOUNTS, "users_unverified"));
        statements.push((
            queries::LOCK_ABANDONED_ACCOUNT
                .sql(Dialect::Sqlite)
                .unwrap(),
            "sqlite_autoindex_users_1",
        ));
        for (sql, index) in statements {
            let plan = plan(&conn, sql);
            assert!(plan.contains(index), "{sql}:\n{plan}");
            let scans = plan.lines().filter(|step| step.starts_with("SCAN")).count();
            assert_eq!(scans, 0, "{sql}:\n{plan}");
        }
    }
}
