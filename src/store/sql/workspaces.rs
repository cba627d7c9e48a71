//! [`WorkspaceStore`] in SQL, for both backends.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::{classify, SqlStore};
use crate::store::{
    AddMemberOutcome, DeleteOutcome, Member, MemberChangeOutcome, NewMember, NewWorkspace,
    Selection, StoreResult, Workspace, WorkspaceAccess, WorkspaceQuery, WorkspaceRename,
    WorkspaceStore, WorkspaceWithMembers,
};

/// One row of a listing: a workspace and one of its members (or NULLs when it has no active one).
#[derive(sqlx::FromRow)]
struct ListingRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    name_key: String,
    user_id: Option<Uuid>,
    role: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    org_role: Option<i16>,
}

/// The listing query for `query`: the page of workspaces in a CTE, joined to their active
/// members, so a page costs one round trip whatever its size. Parameters are numbered in the order
/// `bind_listing` binds them.
fn listing_sql(query: &WorkspaceQuery) -> String {
    let mut next = 2; // $1 is the organization.
    let mut param = || {
        let p = format!("${next}");
        next += 1;
        p
    };
    let membership = match query.member {
        Some(_) => format!(
            "AND EXISTS (SELECT 1 FROM workspace_members me \
             WHERE me.workspace_id = w.id AND me.user_id = {})",
            param()
        ),
        None => String::new(),
    };
    let selection = match &query.selection {
        Selection::One(_) => format!("AND w.id = {}", param()),
        Selection::Page { after: Some(_), .. } => {
            let (key, id, limit) = (param(), param(), param());
            format!(
                "AND (w.name_key, w.id) > ({key}, {id}) ORDER BY w.name_key, w.id LIMIT {limit}"
            )
        }
        Selection::Page { after: None, .. } => {
            format!("ORDER BY w.name_key, w.id LIMIT {}", param())
        }
    };
    format!(
        "WITH page AS (SELECT w.id, w.org_id, w.name, w.name_key FROM workspaces w \
         WHERE w.org_id = $1 AND w.deleted_at IS NULL {membership} {selection}) \
         SELECT p.id, p.org_id, p.name, p.name_key, u.id AS user_id, m.role, u.first_name, \
         u.last_name, u.email, u.org_role \
         FROM page p \
         LEFT JOIN workspace_members m ON m.workspace_id = p.id \
         LEFT JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL \
         ORDER BY p.name_key, p.id, m.created_at, m.user_id"
    )
}

/// Folds listing rows (ordered by workspace) into workspaces with their members.
fn group_listing(rows: Vec<ListingRow>) -> Vec<WorkspaceWithMembers> {
    let mut out: Vec<WorkspaceWithMembers> = Vec::new();
    for row in rows {
        if out.last().is_none_or(|last| last.workspace.id != row.id) {
            out.push(WorkspaceWithMembers {
                workspace: Workspace {
                    id: row.id,
                    org_id: row.org_id,
                    name: row.name,
                },
                name_key: row.name_key,
                members: Vec::new(),
            });
        }
        // A member row whose user is deleted comes back with NULL user columns: skip it.
        if let (
            Some(user_id),
            Some(role),
            Some(first_name),
            Some(last_name),
            Some(email),
            Some(org_role),
        ) = (
            row.user_id,
            row.role,
            row.first_name,
            row.last_name,
            row.email,
            row.org_role,
        ) {
            let last = out.last_mut().expect("pushed above");
            last.members.push(Member {
                user_id,
                role,
                first_name,
                last_name,
                email,
                org_role,
            });
        }
    }
    out
}

macro_rules! impl_workspace_store {
    ($db:ty) => {
        #[async_trait]
        impl WorkspaceStore for SqlStore<$db> {
            async fn create_workspace(&self, new: NewWorkspace) -> StoreResult<Workspace> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                sqlx::query(
                    "INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(new.id)
                .bind(new.org_id)
                .bind(&new.name)
                .bind(&new.name_key)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                sqlx::query(
                    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
                     VALUES ($1, $2, 'ADMIN', $3)",
                )
                .bind(new.id)
                .bind(new.creator_id)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Workspace { id: new.id, org_id: new.org_id, name: new.name })
            }

            async fn list_workspaces(&self, query: WorkspaceQuery) -> StoreResult<Vec<WorkspaceWithMembers>> {
                let sql = listing_sql(&query);
                let mut listing = sqlx::query_as::<_, ListingRow>(&sql).bind(query.org_id);
                if let Some(member) = query.member {
                    listing = listing.bind(member);
                }
                listing = match query.selection {
                    Selection::One(id) => listing.bind(id),
                    Selection::Page { after: Some((key, id)), limit } => listing.bind(key).bind(id).bind(limit),
                    Selection::Page { after: None, limit } => listing.bind(limit),
                };
                Ok(group_listing(listing.fetch_all(&self.read).await?))
            }

            async fn workspace_access(
                &self,
                org_id: Uuid,
                workspace_id: Uuid,
                user_id: Uuid,
            ) -> StoreResult<Option<WorkspaceAccess>> {
                let row: Option<(Uuid, Uuid, String, Option<String>)> = sqlx::query_as(
                    "SELECT w.id, w.org_id, w.name, m.role FROM workspaces w \
                     LEFT JOIN workspace_members m ON m.workspace_id = w.id AND m.user_id = $3 \
                     WHERE w.id = $1 AND w.org_id = $2 AND w.deleted_at IS NULL",
                )
                .bind(workspace_id)
                .bind(org_id)
                .bind(user_id)
                .fetch_optional(&self.read)
                .await?;
                Ok(row.map(|(id, org_id, name, membership)| WorkspaceAccess {
                    workspace: Workspace { id, org_id, name },
                    membership,
                }))
            }

            async fn rename_workspace(&self, rename: WorkspaceRename) -> StoreResult<Option<Workspace>> {
                sqlx::query_as(
                    "UPDATE workspaces SET name = $3, name_key = $4, updated_at = $5 \
                     WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL \
                     RETURNING id, org_id, name",
                )
                .bind(rename.workspace_id)
                .bind(rename.org_id)
                .bind(&rename.name)
                .bind(&rename.name_key)
                .bind(rename.now)
                .fetch_optional(&self.write)
                .await
                .map_err(classify)
            }

            async fn delete_workspace(
                &self,
                org_id: Uuid,
                workspace_id: Uuid,
                now: i64,
            ) -> StoreResult<DeleteOutcome> {
                // One statement: the resource check and the delete cannot be separated.
                let deleted = sqlx::query(
                    "UPDATE workspaces SET deleted_at = $3, updated_at = $3 \
                     WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL AND NOT EXISTS \
                     (SELECT 1 FROM workspace_resources r WHERE r.workspace_id = workspaces.id)",
                )
                .bind(workspace_id)
                .bind(org_id)
                .bind(now)
                .execute(&self.write)
                .await?;
                if deleted.rows_affected() > 0 {
                    return Ok(DeleteOutcome::Deleted);
                }
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM workspaces WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL",
                )
                .bind(workspace_id)
                .bind(org_id)
                .fetch_one(&self.write)
                .await?;
                Ok(if live == 0 { DeleteOutcome::NotFound } else { DeleteOutcome::HasResources })
            }

            async fn add_member(&self, member: NewMember) -> StoreResult<AddMemberOutcome> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM workspaces WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL",
                )
                .bind(member.workspace_id)
                .bind(member.org_id)
                .fetch_one(&mut *tx)
                .await?;
                if live == 0 {
                    return Ok(AddMemberOutcome::WorkspaceNotFound);
                }
                let target: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL",
                )
                .bind(member.user_id)
                .bind(member.org_id)
                .fetch_one(&mut *tx)
                .await?;
                if target == 0 {
                    return Ok(AddMemberOutcome::TargetNotFound);
                }
                let inserted = sqlx::query(
                    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, user_id) DO NOTHING",
                )
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
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let checked = check_member_change!(self, tx, workspace_id, user_id, role != "ADMIN");
                if checked != MemberChangeOutcome::Done {
                    return Ok(checked);
                }
                sqlx::query("UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(MemberChangeOutcome::Done)
            }

            async fn remove_member(&self, workspace_id: Uuid, user_id: Uuid) -> StoreResult<MemberChangeOutcome> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let checked = check_member_change!(self, tx, workspace_id, user_id, true);
                if checked != MemberChangeOutcome::Done {
                    return Ok(checked);
                }
                sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
                    .bind(workspace_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(MemberChangeOutcome::Done)
            }
        }
    };
}

/// Inside a write transaction: locks the workspace row (so concurrent member changes of one
/// workspace run one after the other, on every backend), then checks that `user` is an active
/// member and, when `loses_admin` and they are an ADMIN, that another active ADMIN remains.
/// Evaluates to `MemberChangeOutcome::Done` when the change may proceed.
macro_rules! check_member_change {
    ($store:expr, $tx:expr, $workspace_id:expr, $user_id:expr, $loses_admin:expr) => {{
        let lock = format!(
            "SELECT id FROM workspaces WHERE id = $1 AND deleted_at IS NULL{}",
            $store.lock_rows
        );
        let live: Option<Uuid> = sqlx::query_scalar(&lock)
            .bind($workspace_id)
            .fetch_optional(&mut *$tx)
            .await?;
        let current: Option<String> = if live.is_none() {
            None
        } else {
            sqlx::query_scalar(
                "SELECT m.role FROM workspace_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.workspace_id = $1 AND m.user_id = $2 AND u.deleted_at IS NULL",
            )
            .bind($workspace_id)
            .bind($user_id)
            .fetch_optional(&mut *$tx)
            .await?
        };
        match (live, current) {
            (None, _) => MemberChangeOutcome::WorkspaceNotFound,
            (Some(_), None) => MemberChangeOutcome::NotMember,
            (Some(_), Some(role)) if role == "ADMIN" && $loses_admin => {
                let admins: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM workspace_members m JOIN users u ON u.id = m.user_id \
                     WHERE m.workspace_id = $1 AND m.role = 'ADMIN' AND u.deleted_at IS NULL",
                )
                .bind($workspace_id)
                .fetch_one(&mut *$tx)
                .await?;
                if admins <= 1 {
                    MemberChangeOutcome::LastAdmin
                } else {
                    MemberChangeOutcome::Done
                }
            }
            (Some(_), Some(_)) => MemberChangeOutcome::Done,
        }
    }};
}

impl_workspace_store!(Sqlite);
impl_workspace_store!(Postgres);
