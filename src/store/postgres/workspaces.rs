//! [`WorkspaceStore`] on PostgreSQL.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Acquire as _, PgConnection, Row as _};
use uuid::Uuid;

use super::{classify, PgStore};
use crate::domain::WorkspaceRole;
use crate::store::listing::{
    chunk, listing_args, listing_sql, long_selection, position_after, ListingArg, ListingBuilder,
    ListingColumns,
};
use crate::store::{
    queries, AddMemberOutcome, CreateOutcome, DeleteOutcome, MemberChangeOutcome, NewMember,
    NewWorkspace, Selection, SessionClaim, StoreError, StoreResult, Workspace, WorkspaceAccess,
    WorkspaceRename, WorkspaceStore, WorkspaceWithMembers,
};

/// Workspace creation in one statement, so in one round trip: the session's user (`me`, the
/// checks of `queries::AUTHENTICATE`), the workspace, inserted only when they are validated and
/// their role is at least `$7`, and its ADMIN membership. A statement outside a transaction
/// commits or fails as a whole, so a workspace is never without its ADMIN; a taken name fails
/// the insert with a unique violation (only ever after the checks passed). No row: the session is
/// not live.
const CREATE_WORKSPACE: &str = "WITH me AS (SELECT u.id, u.org_id, u.org_role, u.validated \
     FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
     AND u.deleted_at IS NULL), \
     created AS (INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
     SELECT $4, me.org_id, $5, $6, $3, $3 FROM me WHERE me.validated AND me.org_role >= $7 \
     RETURNING id), \
     admin AS (INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     SELECT created.id, me.id, 'ADMIN', $3 FROM created CROSS JOIN me) \
     SELECT me.org_id, me.validated, me.org_role, (SELECT COUNT(*) FROM created) FROM me";

/// One listing statement: None when the session is not live.
async fn list_once(
    conn: &mut PgConnection,
    claim: &SessionClaim,
    selection: &Selection,
    sees_all_from: i16,
) -> StoreResult<Option<Vec<WorkspaceWithMembers>>> {
    let mut listing = sqlx::query(listing_sql(selection));
    for arg in listing_args(claim, selection, sees_all_from) {
        listing = match arg {
            ListingArg::Id(id) => listing.bind(id),
            ListingArg::Millis(ms) => listing.bind(ms),
            ListingArg::Role(role) => listing.bind(role),
            ListingArg::Key(key) => listing.bind(key),
        };
    }
    let rows = listing.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut builder = ListingBuilder::default();
    for row in &rows {
        builder.add(row)?;
    }
    Ok(Some(builder.finish(selection.limit())))
}

impl ListingColumns for PgRow {
    type Error = sqlx::Error;

    fn optional_id(&self, at: usize) -> sqlx::Result<Option<Uuid>> {
        self.try_get(at)
    }

    fn id(&self, at: usize) -> sqlx::Result<Uuid> {
        self.try_get(at)
    }

    fn text(&self, at: usize) -> sqlx::Result<String> {
        self.try_get(at)
    }

    fn role(&self, at: usize) -> sqlx::Result<Option<WorkspaceRole>> {
        Ok(WorkspaceRole::parse(self.try_get::<&str, _>(at)?))
    }

    fn millis(&self, at: usize) -> sqlx::Result<i64> {
        self.try_get(at)
    }

    fn small_int(&self, at: usize) -> sqlx::Result<i16> {
        self.try_get(at)
    }
}

/// Locks a live workspace's row until commit, so member changes of one workspace run one after
/// the other, across every server process.
const LOCK_LIVE_WORKSPACE: &str =
    "SELECT id FROM workspaces WHERE id = $1 AND deleted_at IS NULL FOR UPDATE";

/// Inside a transaction: locks the workspace row, then checks that `user` is an active member
/// and, when `loses_admin` and they are an ADMIN, that another active ADMIN remains. `Done` when
/// the change may proceed.
async fn check_member_change(
    tx: &mut PgConnection,
    workspace_id: Uuid,
    user_id: Uuid,
    loses_admin: bool,
) -> StoreResult<MemberChangeOutcome> {
    let live: Option<Uuid> = sqlx::query_scalar(LOCK_LIVE_WORKSPACE)
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
    if live.is_none() {
        return Ok(MemberChangeOutcome::WorkspaceNotFound);
    }
    let role: Option<String> = sqlx::query_scalar(queries::MEMBER_ROLE)
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(match role {
        None => MemberChangeOutcome::NotMember,
        Some(role) if role == "ADMIN" && loses_admin => {
            let admins: i64 = sqlx::query_scalar(queries::COUNT_ACTIVE_ADMINS)
                .bind(workspace_id)
                .fetch_one(&mut *tx)
                .await?;
            if admins <= 1 {
                MemberChangeOutcome::LastAdmin
            } else {
                MemberChangeOutcome::Done
            }
        }
        Some(_) => MemberChangeOutcome::Done,
    })
}

#[async_trait]
impl WorkspaceStore for PgStore {
    async fn create_workspace(
        &self,
        claim: SessionClaim,
        new: NewWorkspace,
        creates_from: i16,
    ) -> StoreResult<CreateOutcome> {
        let me: Option<(Uuid, bool, i16, i64)> = sqlx::query_as(CREATE_WORKSPACE)
            .bind(claim.session_id)
            .bind(claim.user_id)
            .bind(claim.now)
            .bind(new.id)
            .bind(&new.name)
            .bind(&new.name_key)
            .bind(creates_from)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        Ok(match me {
            None => CreateOutcome::NotLive,
            Some((_, false, _, _)) => CreateOutcome::NotValidated,
            Some((_, true, role, _)) if role < creates_from => CreateOutcome::NotPermitted,
            Some((org_id, true, _, 1)) => CreateOutcome::Created(Workspace {
                id: new.id,
                org_id,
                name: new.name,
            }),
            Some(_) => {
                return Err(StoreError::Unavailable(
                    "the workspace insert did not run though its checks passed",
                ))
            }
        })
    }

    async fn visible_workspaces(
        &self,
        claim: SessionClaim,
        selection: Selection,
        sees_all_from: i16,
    ) -> StoreResult<Option<Vec<WorkspaceWithMembers>>> {
        let mut conn = self.pool.acquire().await?;
        let (after, limit) = match long_selection(selection) {
            Ok(long) => long,
            Err(selection) => return list_once(&mut conn, &claim, &selection, sees_all_from).await,
        };
        // A long listing: chunk by chunk. When the first chunk is the whole answer, that is one
        // statement, as for a page...
        let first = chunk(after.clone(), limit);
        let Some(listed) = list_once(&mut conn, &claim, &first, sees_all_from).await? else {
            return Ok(None);
        };
        if Some(listed.len() as i64) < first.limit() {
            return Ok(Some(listed));
        }
        // ...else it is read again from the start, chunk after chunk, in one snapshot.
        let mut tx = conn.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let mut after = after;
        let mut listed: Vec<WorkspaceWithMembers> = Vec::new();
        loop {
            let selection = chunk(after, limit - listed.len() as i64);
            let Some(chunk) = list_once(&mut tx, &claim, &selection, sees_all_from).await? else {
                return Ok(None);
            };
            let full = Some(chunk.len() as i64) == selection.limit();
            after = position_after(&chunk);
            listed.extend(chunk);
            if !full || listed.len() as i64 >= limit {
                break;
            }
        }
        tx.commit().await?;
        Ok(Some(listed))
    }

    async fn workspace_access(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<WorkspaceAccess>> {
        let row: Option<(Uuid, Uuid, String, Option<String>)> =
            sqlx::query_as(queries::WORKSPACE_ACCESS)
                .bind(workspace_id)
                .bind(org_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, org_id, name, membership)| WorkspaceAccess {
            workspace: Workspace { id, org_id, name },
            membership,
        }))
    }

    async fn rename_workspace(&self, rename: WorkspaceRename) -> StoreResult<Option<Workspace>> {
        sqlx::query_as(queries::RENAME_WORKSPACE)
            .bind(rename.workspace_id)
            .bind(rename.org_id)
            .bind(&rename.name)
            .bind(&rename.name_key)
            .bind(rename.now)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn delete_workspace(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        now: i64,
    ) -> StoreResult<DeleteOutcome> {
        let deleted = sqlx::query(queries::DELETE_EMPTY_WORKSPACE)
            .bind(workspace_id)
            .bind(org_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        if deleted.rows_affected() > 0 {
            return Ok(DeleteOutcome::Deleted);
        }
        let live: i64 = sqlx::query_scalar(queries::COUNT_LIVE_WORKSPACE)
            .bind(workspace_id)
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(if live == 0 {
            DeleteOutcome::NotFound
        } else {
            DeleteOutcome::HasResources
        })
    }

    async fn add_member(&self, member: NewMember) -> StoreResult<AddMemberOutcome> {
        let mut tx = self.pool.begin().await?;
        let live: i64 = sqlx::query_scalar(queries::COUNT_LIVE_WORKSPACE)
            .bind(member.workspace_id)
            .bind(member.org_id)
            .fetch_one(&mut *tx)
            .await?;
        if live == 0 {
            return Ok(AddMemberOutcome::WorkspaceNotFound);
        }
        let target: i64 = sqlx::query_scalar(queries::COUNT_LIVE_USER)
            .bind(member.user_id)
            .bind(member.org_id)
            .fetch_one(&mut *tx)
            .await?;
        if target == 0 {
            return Ok(AddMemberOutcome::TargetNotFound);
        }
        let inserted = sqlx::query(queries::INSERT_MEMBER)
            .bind(member.workspace_id)
            .bind(member.user_id)
            .bind(&member.role)
            .bind(member.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if inserted.rows_affected() == 0 {
            AddMemberOutcome::AlreadyMember
        } else {
            AddMemberOutcome::Added
        })
    }

    async fn change_member_role(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> StoreResult<MemberChangeOutcome> {
        let mut tx = self.pool.begin().await?;
        let checked = check_member_change(&mut tx, workspace_id, user_id, role != "ADMIN").await?;
        if checked != MemberChangeOutcome::Done {
            return Ok(checked);
        }
        sqlx::query(queries::UPDATE_MEMBER_ROLE)
            .bind(workspace_id)
            .bind(user_id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChangeOutcome::Done)
    }

    async fn remove_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<MemberChangeOutcome> {
        let mut tx = self.pool.begin().await?;
        let checked = check_member_change(&mut tx, workspace_id, user_id, true).await?;
        if checked != MemberChangeOutcome::Done {
            return Ok(checked);
        }
        sqlx::query(queries::DELETE_MEMBER)
            .bind(workspace_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChangeOutcome::Done)
    }
}
