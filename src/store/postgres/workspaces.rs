//! [`WorkspaceStore`] on PostgreSQL.

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{classify, PgStore};
use crate::store::listing::{listing_args, listing_sql, ListingArg, ListingBuilder, ListingRow};
use crate::store::{
    queries, AddMemberOutcome, DeleteOutcome, MemberChangeOutcome, NewMember, NewWorkspace,
    StoreResult, Workspace, WorkspaceAccess, WorkspaceQuery, WorkspaceRename, WorkspaceStore,
    WorkspaceWithMembers,
};

/// The workspace and its ADMIN membership in one statement: one round trip, atomic on its own
/// (a statement outside a transaction commits or fails as a whole), so a workspace is never
/// without its ADMIN. A taken name fails the first insert with a unique violation.
const CREATE_WORKSPACE: &str = "WITH created AS ( \
     INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id) \
     INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     SELECT id, $6, 'ADMIN', $5 FROM created";

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
    async fn create_workspace(&self, new: NewWorkspace) -> StoreResult<Workspace> {
        sqlx::query(CREATE_WORKSPACE)
            .bind(new.id)
            .bind(new.org_id)
            .bind(&new.name)
            .bind(&new.name_key)
            .bind(new.created_at)
            .bind(new.creator_id)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(Workspace {
            id: new.id,
            org_id: new.org_id,
            name: new.name,
        })
    }

    async fn list_workspaces(
        &self,
        query: WorkspaceQuery,
    ) -> StoreResult<Vec<WorkspaceWithMembers>> {
        let mut listing = sqlx::query_as::<_, ListingRow>(listing_sql(&query));
        for arg in listing_args(&query) {
            listing = match arg {
                ListingArg::Id(id) => listing.bind(id),
                ListingArg::Key(key) => listing.bind(key),
                ListingArg::Limit(limit) => listing.bind(limit),
            };
        }
        let mut builder = ListingBuilder::default();
        for row in listing.fetch_all(&self.pool).await? {
            builder.row(row);
        }
        Ok(builder.finish())
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
