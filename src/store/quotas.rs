//! Quotas (contract section 13): what an organization uses of the operator's limits, read for
//! `GET /user/quota`, and the users' check that runs inside the transactions adding an active
//! user. The workspaces' check is part of the create's own statements (`workspaces`).

use super::tx::{args, Tx};
use super::users::LOCK_ORGANIZATION;
use super::{Store, StoreResult};
use crate::domain::OrgId;

/// Reading what an organization uses.
impl Store {
    /// The organization's live workspaces and active users, in one statement (one snapshot).
    pub async fn quota_usage(&self, org_id: OrgId) -> StoreResult<QuotaUsage> {
        self.read(|tx| {
            Box::pin(async move {
                let usage = tx
                    .query_opt(USAGE, args![org_id], |row| {
                        Ok(QuotaUsage {
                            workspaces: row.get("workspaces")?,
                            users: row.get("users")?,
                        })
                    })
                    .await?;
                Ok(usage.unwrap_or_default())
            })
        })
        .await
    }
}

/// What an organization holds of what the quotas limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaUsage {
    /// Live (not deleted) workspaces.
    pub workspaces: i64,
    /// Active (not deleted) users.
    pub users: i64,
}

/// Inside a write that is about to make one more active user of the organization: whether the
/// limit (`max`; None: unlimited, and nothing is read) leaves room for them. On PostgreSQL it
/// first locks the organization's row until commit, so that two such writes, in any server
/// processes, take turns and the second counts the first's user (each statement of a READ
/// COMMITTED transaction sees what committed before it started); `locked`: the write holds that
/// lock already. On SQLite the writer holds the database's write lock.
pub(super) async fn room_for_one_more_user(
    tx: &mut Tx<'_>,
    org_id: OrgId,
    max: Option<u32>,
    locked: bool,
) -> StoreResult<bool> {
    let Some(max) = max else {
        return Ok(true);
    };
    if !locked {
        tx.execute_per_dialect(&LOCK_ORGANIZATION, args![org_id])
            .await?;
    }
    let active = tx.count(COUNT_ACTIVE_USERS, args![org_id]).await?;
    Ok(active < i64::from(max))
}

// ---- SQL ----------------------------------------------------------------------------------------

const COUNT_ACTIVE_USERS: &str =
    "SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND deleted_at IS NULL";

/// Live workspaces (counted on the partial index of live names) and active users.
const USAGE: &str = "SELECT \
     (SELECT COUNT(*) FROM workspaces WHERE org_id = $1 AND deleted_at IS NULL) AS workspaces, \
     (SELECT COUNT(*) FROM users WHERE org_id = $1 AND deleted_at IS NULL) AS users";
