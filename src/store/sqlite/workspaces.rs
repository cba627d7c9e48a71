//! [`WorkspaceStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, ToSql};
use uuid::Uuid;

use super::exec::{classify, count, execute, for_each_row, query_opt};
use super::{rows, SqliteStore};
use crate::domain::WorkspaceRole;
use crate::store::listing::{
    chunk, listing_args, listing_sql, long_selection, position_after, ListingArg, ListingBuilder,
    ListingColumns,
};
use crate::store::{
    queries, AddMemberOutcome, CreateOutcome, DeleteOutcome, MemberChangeOutcome, NewMember,
    NewWorkspace, Selection, SessionClaim, StoreResult, Workspace, WorkspaceAccess,
    WorkspaceRename, WorkspaceStore, WorkspaceWithMembers,
};

/// Runs a listing query, feeding the rows to `builder` as they are stepped. False when there
/// was no row at all: the session is not live.
fn read_listing(
    conn: &Connection,
    claim: &SessionClaim,
    selection: &Selection,
    sees_all_from: i16,
    builder: &mut ListingBuilder,
) -> rusqlite::Result<bool> {
    let args = listing_args(claim, selection, sees_all_from);
    let bound: Vec<&dyn ToSql> = args
        .iter()
        .map(|arg| match arg {
            ListingArg::Id(id) => id as &dyn ToSql,
            ListingArg::Millis(ms) => ms as &dyn ToSql,
            ListingArg::Role(role) => role as &dyn ToSql,
            ListingArg::Key(key) => key as &dyn ToSql,
        })
        .collect();
    let mut live = false;
    for_each_row(conn, listing_sql(selection), &bound, |row| {
        live = true;
        builder.add(row)
    })?;
    Ok(live)
}

impl ListingColumns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn optional_id(&self, at: usize) -> rusqlite::Result<Option<Uuid>> {
        self.get(at)
    }

    fn id(&self, at: usize) -> rusqlite::Result<Uuid> {
        self.get(at)
    }

    fn text(&self, at: usize) -> rusqlite::Result<String> {
        self.get(at)
    }

    fn role(&self, at: usize) -> rusqlite::Result<Option<WorkspaceRole>> {
        Ok(WorkspaceRole::parse(self.get_ref(at)?.as_str()?))
    }

    fn millis(&self, at: usize) -> rusqlite::Result<i64> {
        self.get(at)
    }

    fn small_int(&self, at: usize) -> rusqlite::Result<i16> {
        self.get(at)
    }
}

/// One listing statement: None when the session is not live.
fn list_once(
    conn: &Connection,
    claim: &SessionClaim,
    selection: &Selection,
    sees_all_from: i16,
) -> rusqlite::Result<Option<Vec<WorkspaceWithMembers>>> {
    let mut builder = ListingBuilder::default();
    let live = read_listing(conn, claim, selection, sees_all_from, &mut builder)?;
    Ok(live.then(|| builder.finish(selection.limit())))
}

/// Checks, inside the write transaction, that `user` is an active member of the live workspace
/// and, when `loses_admin` and they are an ADMIN, that another active ADMIN remains.
/// `Done` when the change may proceed. (The writer holds the database's write lock, so nothing
/// changes between this check and the write that follows it.)
fn check_member_change(
    conn: &Connection,
    workspace_id: Uuid,
    user_id: Uuid,
    loses_admin: bool,
) -> rusqlite::Result<MemberChangeOutcome> {
    let live = query_opt(
        conn,
        "SELECT id FROM workspaces WHERE id = $1 AND deleted_at IS NULL",
        &[&workspace_id],
        |row| row.get::<_, Uuid>(0),
    )?;
    if live.is_none() {
        return Ok(MemberChangeOutcome::WorkspaceNotFound);
    }
    let role: Option<String> = query_opt(
        conn,
        queries::MEMBER_ROLE,
        &[&workspace_id, &user_id],
        |row| row.get(0),
    )?;
    Ok(match role {
        None => MemberChangeOutcome::NotMember,
        Some(role) if role == "ADMIN" && loses_admin => {
            if count(conn, queries::COUNT_ACTIVE_ADMINS, &[&workspace_id])? <= 1 {
                MemberChangeOutcome::LastAdmin
            } else {
                MemberChangeOutcome::Done
            }
        }
        Some(_) => MemberChangeOutcome::Done,
    })
}

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn create_workspace(
        &self,
        claim: SessionClaim,
        new: NewWorkspace,
        creates_from: i16,
    ) -> StoreResult<CreateOutcome> {
        self.writer
            .write(move |conn| {
                let args: [&dyn ToSql; 3] = [&claim.session_id, &claim.user_id, &claim.now];
                let Some(user) = query_opt(conn, queries::AUTHENTICATE, &args, rows::user)? else {
                    return Ok(CreateOutcome::NotLive);
                };
                if !user.validated {
                    return Ok(CreateOutcome::NotValidated);
                }
                if user.org_role < creates_from {
                    return Ok(CreateOutcome::NotPermitted);
                }
                execute(
                    conn,
                    queries::INSERT_WORKSPACE,
                    &[&new.id, &user.org_id, &new.name, &new.name_key, &claim.now],
                )
                .map_err(classify)?;
                execute(
                    conn,
                    queries::INSERT_ADMIN_MEMBER,
                    &[&new.id, &user.id, &claim.now],
                )?;
                Ok(CreateOutcome::Created(Workspace {
                    id: new.id,
                    org_id: user.org_id,
                    name: new.name,
                }))
            })
            .await
    }

    async fn visible_workspaces(
        &self,
        claim: SessionClaim,
        selection: Selection,
        sees_all_from: i16,
    ) -> StoreResult<Option<Vec<WorkspaceWithMembers>>> {
        let (mut after, limit) = match long_selection(selection) {
            Ok(long) => long,
            Err(selection) => {
                return self
                    .reads
                    .run(|conn| list_once(conn, &claim, &selection, sees_all_from))
                    .await
            }
        };
        // A long listing: chunk by chunk, each run inline, yielding between them so that even a
        // huge organization's listing never holds a runtime thread for long; all in one read
        // transaction, so one snapshot.
        let lease = self.reads.lease().await?;
        lease.conn().execute_batch("BEGIN")?;
        let mut listed: Vec<WorkspaceWithMembers> = Vec::new();
        loop {
            let want = limit - listed.len() as i64;
            let selection = chunk(after, want);
            let Some(chunk) = list_once(lease.conn(), &claim, &selection, sees_all_from)? else {
                return Ok(None);
            };
            let full = Some(chunk.len() as i64) == selection.limit();
            after = position_after(&chunk);
            listed.extend(chunk);
            if !full || listed.len() as i64 >= limit {
                break;
            }
            tokio::task::yield_now().await;
        }
        lease.conn().execute_batch("COMMIT")?;
        Ok(Some(listed))
    }

    async fn workspace_access(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<WorkspaceAccess>> {
        self.reads
            .run(|conn| {
                query_opt(
                    conn,
                    queries::WORKSPACE_ACCESS,
                    &[&workspace_id, &org_id, &user_id],
                    |row| {
                        Ok(WorkspaceAccess {
                            workspace: rows::workspace(row)?,
                            membership: row.get(3)?,
                        })
                    },
                )
            })
            .await
    }

    async fn rename_workspace(&self, rename: WorkspaceRename) -> StoreResult<Option<Workspace>> {
        self.writer
            .write(move |conn| {
                query_opt(
                    conn,
                    queries::RENAME_WORKSPACE,
                    &[
                        &rename.workspace_id,
                        &rename.org_id,
                        &rename.name,
                        &rename.name_key,
                        &rename.now,
                    ],
                    rows::workspace,
                )
                .map_err(classify)
            })
            .await
    }

    async fn delete_workspace(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        now: i64,
    ) -> StoreResult<DeleteOutcome> {
        self.writer
            .write(move |conn| {
                let args: [&dyn ToSql; 3] = [&workspace_id, &org_id, &now];
                if execute(conn, queries::DELETE_EMPTY_WORKSPACE, &args)? > 0 {
                    return Ok(DeleteOutcome::Deleted);
                }
                let live = count(conn, queries::COUNT_LIVE_WORKSPACE, &args[..2])?;
                Ok(if live == 0 {
                    DeleteOutcome::NotFound
                } else {
                    DeleteOutcome::HasResources
                })
            })
            .await
    }

    async fn add_member(&self, member: NewMember) -> StoreResult<AddMemberOutcome> {
        self.writer
            .write(move |conn| {
                let workspace: [&dyn ToSql; 2] = [&member.workspace_id, &member.org_id];
                if count(conn, queries::COUNT_LIVE_WORKSPACE, &workspace)? == 0 {
                    return Ok(AddMemberOutcome::WorkspaceNotFound);
                }
                let target: [&dyn ToSql; 2] = [&member.user_id, &member.org_id];
                if count(conn, queries::COUNT_LIVE_USER, &target)? == 0 {
                    return Ok(AddMemberOutcome::TargetNotFound);
                }
                let inserted = execute(
                    conn,
                    queries::INSERT_MEMBER,
                    &[
                        &member.workspace_id,
                        &member.user_id,
                        &member.role,
                        &member.created_at,
                    ],
                )?;
                Ok(if inserted == 0 {
                    AddMemberOutcome::AlreadyMember
                } else {
                    AddMemberOutcome::Added
                })
            })
            .await
    }

    async fn change_member_role(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> StoreResult<MemberChangeOutcome> {
        let role = role.to_owned();
        self.writer
            .write(move |conn| {
                let checked = check_member_change(conn, workspace_id, user_id, role != "ADMIN")?;
                if checked == MemberChangeOutcome::Done {
                    execute(
                        conn,
                        queries::UPDATE_MEMBER_ROLE,
                        &[&workspace_id, &user_id, &role],
                    )?;
                }
                Ok(checked)
            })
            .await
    }

    async fn remove_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<MemberChangeOutcome> {
        self.writer
            .write(move |conn| {
                let checked = check_member_change(conn, workspace_id, user_id, true)?;
                if checked == MemberChangeOutcome::Done {
                    execute(conn, queries::DELETE_MEMBER, &[&workspace_id, &user_id])?;
                }
                Ok(checked)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use crate::store::listing::listing_sql;
    use crate::store::Selection;

    /// The schema, as the migrations make it.
    fn schema() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!(
            "../../../migrations/sqlite/20261123000001_init.sql"
        ))
        .unwrap();
        conn.execute_batch(include_str!(
            "../../../migrations/sqlite/20261123000002_password_resets.sql"
        ))
        .unwrap();
        conn.execute_batch(include_str!(
            "../../../migrations/sqlite/20261201000001_listing_index.sql"
        ))
        .unwrap();
        conn
    }

    #[test]
    fn listing_pages_walk_the_name_index_without_sorting_and_read_members_from_an_index() {
        let conn = schema();
        let mut selections = vec![Selection::One(uuid::Uuid::nil())];
        for limit in [2, 51, 101, 201, i64::MAX] {
            selections.push(Selection::Page { after: None, limit });
            let after = Some(("k".to_owned(), uuid::Uuid::nil()));
            selections.push(Selection::Page { after, limit });
        }
        for selection in selections {
            let sql = format!("EXPLAIN QUERY PLAN {}", listing_sql(&selection));
            let mut plan = conn.prepare(&sql).unwrap();
            // Parameters left unbound: the plan does not depend on their values.
            let mut rows = plan.raw_query();
            let mut steps: Vec<String> = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                steps.push(row.get(3).unwrap());
            }
            assert!(
                !steps.iter().any(|step| step.contains("TEMP B-TREE")),
                "{selection:?} sorts:\n{}",
                steps.join("\n")
            );
            assert!(
                steps
                    .iter()
                    .any(|step| step.contains("workspaces_live_name_unique")
                        || step.contains("sqlite_autoindex_workspaces_1")),
                "{selection:?}:\n{}",
                steps.join("\n")
            );
        }
    }
}
