//! Workspaces: creating one with its ADMIN, listing those a session's user may see (the
//! statement and the assembly of its rows are `listing`), reading, renaming and soft-deleting
//! one. Their members are `workspace_members`.

use std::sync::Arc;

use super::events::{append_event, json, Actor, Changes, NewEvent, WorkspaceFields};
use super::listing::{
    chunk, listing_args, listing_sql, long_selection, position_after, ListingBuilder,
};
use super::sql::{self, full_access_session};
use super::tx::{args, for_update, PerDialect, Row, Tx};
use super::{Store, StoreError, StoreResult};
use crate::domain::{
    EventContext, EventKind, OrgId, OrgRole, SessionId, UserId, WorkspaceId, WorkspaceRole,
};

/// Everything the workspace routes need from the database. Every method that names a workspace
/// or a user is scoped by the caller's organization in SQL, so no query reaches another
/// organization's rows. All timestamps are Unix milliseconds.
impl Store {
    /// Creates a workspace in the organization of the user of a live session, who becomes its
    /// ADMIN, when that user is validated, their role may create workspaces and the
    /// organization holds fewer than `max_live` live workspaces (None: unlimited). The session,
    /// the checks and both inserts happen together (one statement on PostgreSQL: one round
    /// trip, the limit included). `Conflict` when a live workspace of the organization already
    /// has the name.
    pub async fn create_workspace(
        &self,
        claim: SessionClaim,
        workspace: NewWorkspace,
        max_live: Option<u32>,
    ) -> StoreResult<CreateOutcome> {
        // The event's data is written here, before the checks (on PostgreSQL they run in the
        // statement that appends it), with the organization the token claims: the session check
        // only passes for a user of that organization. Here, not in the operation, so that on
        // SQLite it is not the one writer thread's work.
        let created = WorkspaceFields {
            id: workspace.id,
            name: &workspace.name,
            org_id: claim.org_id,
        };
        let data = json(&created)?;
        self.write_single(move |tx| {
            Box::pin(create_workspace(tx, claim, workspace, data, max_live))
        })
        .await
    }

    /// The live workspaces the user of a live session can see, with their active members, in
    /// listing order (`name_key`, then id): all of their organization's when their role
    /// administers every workspace, else those they are a member of. The session is checked in the
    /// same statement (one round trip, one snapshot); None when it is not live.
    pub async fn visible_workspaces(
        &self,
        claim: SessionClaim,
        selection: Selection,
    ) -> StoreResult<Option<Vec<WorkspaceWithMembers>>> {
        let (after, limit) = match long_selection(selection) {
            Ok(long) => long,
            Err(selection) => {
                return self
                    .read(|tx| Box::pin(list_once(tx, claim, selection)))
                    .await
            }
        };
        // A long listing: chunk by chunk. When the first chunk is the whole answer, that is one
        // statement, as for a page...
        let first = chunk(after.clone(), limit);
        let first_limit = first.limit();
        let Some(listed) = self
            .read(|tx| Box::pin(list_once(tx, claim, first)))
            .await?
        else {
            return Ok(None);
        };
        if Some(listed.len() as i64) < first_limit {
            return Ok(Some(listed));
        }
        // ...else it is read again from the start, chunk after chunk, in one snapshot.
        self.read_snapshot(|tx| Box::pin(list_in_chunks(tx, claim, after, limit)))
            .await
    }

    /// A live workspace of the organization, with the caller's own membership role if any.
    pub async fn workspace_access(
        &self,
        org_id: OrgId,
        workspace_id: WorkspaceId,
        user_id: UserId,
    ) -> StoreResult<Option<WorkspaceAccess>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(
                    WORKSPACE_ACCESS,
                    args![workspace_id, org_id, user_id],
                    |row| {
                        Ok(WorkspaceAccess {
                            workspace: Workspace::from_row(row)?,
                            membership: row.get("role")?,
                        })
                    },
                )
                .await
            })
        })
        .await
    }

    /// Renames a live workspace of the actor's organization; None when there is none;
    /// `Conflict` when the name is taken. The same name again changes nothing.
    pub async fn rename_workspace(
        &self,
        rename: WorkspaceRename,
    ) -> StoreResult<Option<Workspace>> {
        self.write(move |tx| Box::pin(rename_workspace(tx, rename)))
            .await
    }

    /// Soft-deletes a live workspace of the actor's organization that holds no resources,
    /// checked in the same statement.
    pub async fn delete_workspace(
        &self,
        by: Actor,
        workspace_id: WorkspaceId,
    ) -> StoreResult<DeleteOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                let deleted = tx
                    .query_opt(
                        DELETE_EMPTY_WORKSPACE,
                        args![workspace_id, by.org_id, by.at],
                        Workspace::from_row,
                    )
                    .await?;
                if let Some(deleted) = deleted {
                    tx.execute_per_dialect(&MOVE_LIVE_WORKSPACES, args![by.org_id, -1_i64])
                        .await?;
                    let data = json(&deleted.fields())?;
                    let event = NewEvent::workspace(by, EventKind::Deleted, deleted.id, data);
                    append_event(tx, &event).await?;
                    return Ok(DeleteOutcome::Deleted);
                }
                // Only explains the outcome: nothing was written.
                let live = tx
                    .count(sql::COUNT_LIVE_WORKSPACE, args![workspace_id, by.org_id])
                    .await?;
                Ok(if live == 0 {
                    DeleteOutcome::NotFound
                } else {
                    DeleteOutcome::HasResources
                })
            })
        })
        .await
    }
}

/// `data`: the `created` event's json_data; `max_live`: the organization's limit of live
/// workspaces, None when unlimited (then the statements are those of a server without quotas).
async fn create_workspace(
    tx: &mut Tx<'_>,
    claim: SessionClaim,
    new: NewWorkspace,
    data: String,
    max_live: Option<u32>,
) -> StoreResult<CreateOutcome> {
    let SessionClaim {
        session_id,
        user_id,
        org_id,
        now,
    } = claim;
    let statement = match max_live {
        None => &CREATE_WORKSPACE_IN_ONE_STATEMENT,
        Some(_) => &CREATE_WORKSPACE_WITHIN_QUOTA_IN_ONE_STATEMENT,
    };
    if let Some(create) = statement.sql(tx.dialect()) {
        // PostgreSQL: one round trip instead of five (see the statement's comment). The limit is
        // bound as $12 only by the statement that reads it.
        let args = args![
            session_id,
            user_id,
            now,
            new.id,
            &new.name,
            &new.name_key,
            OrgRole::CREATES_WORKSPACES,
            org_id,
            EventContext::Workspace,
            EventKind::Created,
            &data,
            max_live.map(i64::from),
        ];
        let args = if max_live.is_some() {
            &args[..]
        } else {
            &args[..11]
        };
        let me = tx
            .query_opt(create, args, |row| {
                Ok((
                    row.get::<OrgId>("org_id")?,
                    row.get::<bool>("validated")?,
                    row.get::<OrgRole>("org_role")?,
                    row.get::<i64>("created")?,
                ))
            })
            .await?;
        return Ok(match me {
            None => CreateOutcome::NotLive,
            Some((_, false, _, _)) => CreateOutcome::NotValidated,
            Some((_, true, role, _)) if !role.can_create_workspaces() => {
                CreateOutcome::NotPermitted
            }
            Some((org_id, true, _, 1)) => CreateOutcome::Created(Workspace {
                id: new.id,
                org_id,
                name: new.name,
            }),
            // The checks passed and the limit's function refused (a taken name fails the insert
            // with a unique violation instead).
            Some((_, true, _, 0)) if max_live.is_some() => CreateOutcome::QuotaExceeded,
            Some(_) => {
                return Err(StoreError::Unavailable(
                    "the workspace insert did not run though its checks passed",
                ))
            }
        });
    }
    // SQLite, where a statement costs no round trip: on the one writer thread, inside the
    // write's transaction (which holds the file's write lock, against other processes too), so
    // the count cannot be overtaken by another create.
    let full = match max_live {
        None => false,
        Some(max) => tx.count(LIVE_WORKSPACES, args![org_id]).await? >= i64::from(max),
    };
    // The workspace is inserted only when the checks pass, in the statement that makes them
    // (on the one writer thread, every statement counts); only when it is not are they read, to
    // say which failed.
    let inserted = if full {
        0
    } else {
        tx.execute(
            INSERT_WORKSPACE_IF_CREATOR,
            args![
                session_id,
                user_id,
                now,
                org_id,
                new.id,
                &new.name,
                &new.name_key,
                OrgRole::CREATES_WORKSPACES,
            ],
        )
        .await?
    };
    if inserted == 0 {
        let me = tx
            .query_opt(CREATOR, args![session_id, user_id, now, org_id], |row| {
                Ok((
                    row.get::<OrgRole>("org_role")?,
                    row.get::<bool>("validated")?,
                ))
            })
            .await?;
        // The row is the token's user ($2) of the token's organization ($4): what it adds is
        // the role and whether they are verified.
        return Ok(match me {
            None => CreateOutcome::NotLive,
            Some((_, false)) => CreateOutcome::NotValidated,
            Some((role, true)) if !role.can_create_workspaces() => CreateOutcome::NotPermitted,
            Some(_) if full => CreateOutcome::QuotaExceeded,
            Some(_) => {
                return Err(StoreError::Unavailable(
                    "the workspace insert did not run though its checks passed",
                ))
            }
        });
    }
    tx.execute(INSERT_ADMIN_MEMBER, args![new.id, user_id, now])
        .await?;
    tx.execute_per_dialect(&MOVE_LIVE_WORKSPACES, args![org_id, 1_i64])
        .await?;
    let by = Actor {
        org_id,
        user_id,
        at: now,
    };
    append_event(
        tx,
        &NewEvent::workspace(by, EventKind::Created, new.id, data),
    )
    .await?;
    Ok(CreateOutcome::Created(Workspace {
        id: new.id,
        org_id,
        name: new.name,
    }))
}

/// One listing statement: None when the session is not live.
async fn list_once(
    tx: &mut Tx<'_>,
    claim: SessionClaim,
    selection: Selection,
) -> StoreResult<Option<Vec<WorkspaceWithMembers>>> {
    let mut builder = ListingBuilder::default();
    let args = listing_args(&claim, &selection);
    let sql = listing_sql(&selection)
        .sql(tx.dialect())
        .ok_or(StoreError::Unavailable(
            "the listing has no text in this dialect",
        ))?;
    let live = tx.for_each(sql, &args, |row| builder.add(row)).await?;
    Ok(live.then(|| builder.finish(selection.limit())))
}

/// A long listing, chunk after chunk (in the caller's snapshot).
async fn list_in_chunks(
    tx: &mut Tx<'_>,
    claim: SessionClaim,
    mut after: Option<(String, WorkspaceId)>,
    limit: i64,
) -> StoreResult<Option<Vec<WorkspaceWithMembers>>> {
    let mut listed: Vec<WorkspaceWithMembers> = Vec::new();
    loop {
        let selection = chunk(after, limit - listed.len() as i64);
        let want = selection.limit();
        let Some(chunk) = list_once(tx, claim, selection).await? else {
            return Ok(None);
        };
        let full = Some(chunk.len() as i64) == want;
        after = position_after(&chunk);
        listed.extend(chunk);
        if !full || listed.len() as i64 >= limit {
            return Ok(Some(listed));
        }
        tx.yield_between_statements().await;
    }
}

async fn rename_workspace(
    tx: &mut Tx<'_>,
    rename: WorkspaceRename,
) -> StoreResult<Option<Workspace>> {
    let by = rename.by;
    // Read under the row lock (PostgreSQL), so the event's "from" is the name this rename
    // replaces even when two renames race.
    let current = tx
        .query_opt_per_dialect(
            &LOCK_LIVE_WORKSPACE_OF_ORG,
            args![rename.workspace_id, by.org_id],
            Workspace::from_row,
        )
        .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let changes = Changes::default().field("name", current.name.as_str(), &rename.name);
    let Some(data) = changes.json()? else {
        return Ok(Some(current));
    };
    let renamed = tx
        .query_opt(
            RENAME_WORKSPACE,
            args![
                rename.workspace_id,
                by.org_id,
                &rename.name,
                &rename.name_key,
                by.at
            ],
            Workspace::from_row,
        )
        .await?
        .ok_or(StoreError::Unavailable("a locked workspace vanished"))?;
    let event = NewEvent::workspace(by, EventKind::Updated, renamed.id, data);
    append_event(tx, &event).await?;
    Ok(Some(renamed))
}

/// What a bearer token claims: a session of a user, to be checked live at `now` (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaim {
    pub session_id: SessionId,
    pub user_id: UserId,
    /// The organization the token names; a session only counts as live for a user of it.
    pub org_id: OrgId,
    pub now: i64,
}

/// A workspace to create; its organization and creator come from the session.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub name_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(Workspace),
    /// The session is revoked or expired, or its user deleted.
    NotLive,
    /// The user has not verified their e-mail.
    NotValidated,
    /// The user's role is below `creates_from`.
    NotPermitted,
    /// The organization holds its limit of live workspaces already: nothing was written.
    QuotaExceeded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub org_id: OrgId,
    pub name: String,
}

impl Workspace {
    /// Its public fields, as its events record them.
    fn fields(&self) -> WorkspaceFields<'_> {
        WorkspaceFields {
            id: self.id,
            name: &self.name,
            org_id: self.org_id,
        }
    }

    /// Reads the columns id, org_id, name.
    fn from_row(row: &Row<'_>) -> StoreResult<Workspace> {
        Ok(Workspace {
            id: row.get("id")?,
            org_id: row.get("org_id")?,
            name: row.get("name")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// One workspace by id.
    One(WorkspaceId),
    /// Up to `limit` workspaces after the keyset position `after` (`name_key`, id), if any.
    Page {
        after: Option<(String, WorkspaceId)>,
        limit: i64,
    },
}

impl Selection {
    /// The most workspaces it selects; None for one by id.
    pub fn limit(&self) -> Option<i64> {
        match self {
            Selection::One(_) => None,
            Selection::Page { limit, .. } => Some(*limit),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceWithMembers {
    pub workspace: Workspace,
    /// The listing key, for building the next page's cursor.
    pub name_key: String,
    pub members: Vec<Member>,
}

/// An active member of a workspace with the user fields the wire shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub role: WorkspaceRole,
    /// When they joined (Unix ms): members are listed in that order, then by id.
    pub joined_at: i64,
    /// Shared by every membership of the same user in one listing: the same people are members
    /// of many workspaces, and their columns are read (and their JSON written) once.
    pub user: Arc<MemberUser>,
}

/// The user fields of a [`Member`].
#[derive(Debug, PartialEq, Eq)]
pub struct MemberUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub org_role: OrgRole,
}

#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    pub workspace: Workspace,
    /// The caller's membership role, None when not a member.
    pub membership: Option<WorkspaceRole>,
}

#[derive(Debug, Clone)]
pub struct WorkspaceRename {
    pub by: Actor,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub name_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    HasResources,
}

// ---- SQL ----------------------------------------------------------------------------------------

const INSERT_ADMIN_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     VALUES ($1, $2, 'ADMIN', $3)";

/// The creator of a workspace: the user of a live session past its second factor ($1 session,
/// $2 user, $3 now) in the organization the token claims (`$org`), with what the create decides
/// on. Both dialects check the same way, inside the statement that inserts the workspace:
/// [`INSERT_WORKSPACE_IF_CREATOR`] on SQLite, [`CREATE_WORKSPACE_IN_ONE_STATEMENT`] on
/// PostgreSQL.
macro_rules! creator {
    ($org:literal) => {
        concat!(
            "SELECT u.id, u.org_id, u.org_role, u.validated \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE ",
            full_access_session!(),
            " AND u.org_id = ",
            $org
        )
    };
}

/// [`creator!`] on SQLite, with the organization as $4: why [`INSERT_WORKSPACE_IF_CREATOR`]
/// inserted nothing.
const CREATOR: &str = creator!("$4");

/// SQLite's create: the workspace ($5 id, $6 name, $7 name key), inserted only for a
/// [`creator!`] who is validated and whose role is at least $8.
const INSERT_WORKSPACE_IF_CREATOR: &str = concat!(
    "INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
     SELECT $5, me.org_id, $6, $7, $3, $3 FROM (",
    creator!("$4"),
    ") me WHERE me.validated AND me.org_role >= $8"
);

/// Workspace creation in one statement, so in one round trip (PostgreSQL only; SQLite runs
/// [`INSERT_WORKSPACE_IF_CREATOR`], the member's insert and `INSERT_EVENT`, which cost no round
/// trips there): the session's user (`me`, the checks of `AUTHENTICATE`, and of the
/// organization `$8` the token names), the workspace, inserted only when they are validated and
/// their role is at least `$7` (and `$quota`, when given, holds), its ADMIN membership and its
/// `created` event (`$9` context, `$10` event, `$11` its json_data). A statement outside a
/// transaction commits or fails as a whole, so a workspace is never without its ADMIN nor its
/// event; a taken name fails the insert with a unique violation (only ever after the checks
/// passed). No row: the session is not live.
macro_rules! create_workspace_in_one_statement {
    ($($quota:literal)?) => {
        concat!(
            "WITH me AS (",
            creator!("$8"),
            "), \
             created AS (INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
             SELECT $4, me.org_id, $5, $6, $3, $3 FROM me WHERE me.validated AND me.org_role >= $7",
            $($quota,)?
            " RETURNING id), \
             admin AS (INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
             SELECT created.id, me.id, 'ADMIN', $3 FROM created CROSS JOIN me), \
             event AS (INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, \
             context_id, json_data, created_at) \
             SELECT me.org_id, me.id, created.id, $9, $10, created.id, $11, $3 \
             FROM created CROSS JOIN me) \
             SELECT me.org_id, me.validated, me.org_role, (SELECT COUNT(*) FROM created) AS created \
             FROM me"
        )
    };
}

/// [`create_workspace_in_one_statement!`] without a limit.
const CREATE_WORKSPACE_IN_ONE_STATEMENT: PerDialect =
    PerDialect::postgres_only(create_workspace_in_one_statement!());

/// [`create_workspace_in_one_statement!`] when the organization may hold at most `$12` live
/// workspaces: `workspaces_quota_allows` (migration 20261206000301) locks the organization's row
/// and counts them in a snapshot of its own, taken after the lock, so two creates at the limit,
/// in any server processes, cannot both pass. PostgreSQL evaluates a condition's cheaper terms
/// first, so the function (and its lock) normally runs only for a creator who passed the others.
const CREATE_WORKSPACE_WITHIN_QUOTA_IN_ONE_STATEMENT: PerDialect = PerDialect::postgres_only(
    create_workspace_in_one_statement!(" AND workspaces_quota_allows(me.org_id, $12)"),
);

/// The organization's live workspaces as SQLite keeps them (migration 20261206000301): read by
/// SQLite's create when a limit is configured, one row by its key instead of a count of the
/// organization's workspaces.
const LIVE_WORKSPACES: &str = "SELECT live_workspaces AS n FROM organizations WHERE id = $1";

/// Moves that count ($1 organization) by $2: +1 by a create, -1 by a soft delete, in their
/// transactions. SQLite only (see `tx`'s kinds of forks).
const MOVE_LIVE_WORKSPACES: PerDialect = PerDialect::sqlite_only(
    "UPDATE organizations SET live_workspaces = live_workspaces + $2 WHERE id = $1",
);

/// A live workspace of the organization with the caller's membership role ($3 user), if any.
const WORKSPACE_ACCESS: &str = "SELECT w.id, w.org_id, w.name, m.role FROM workspaces w \
     LEFT JOIN workspace_members m ON m.workspace_id = w.id AND m.user_id = $3 \
     WHERE w.id = $1 AND w.org_id = $2 AND w.deleted_at IS NULL";

const RENAME_WORKSPACE: &str = "UPDATE workspaces SET name = $3, name_key = $4, updated_at = $5 \
     WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL RETURNING id, org_id, name";

/// The soft delete with its resource check, in one statement so they cannot be separated;
/// returns the deleted workspace.
const DELETE_EMPTY_WORKSPACE: &str = "UPDATE workspaces SET deleted_at = $3, updated_at = $3 \
     WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL AND NOT EXISTS \
     (SELECT 1 FROM workspace_resources r WHERE r.workspace_id = workspaces.id) \
     RETURNING id, org_id, name";

/// A live workspace of the organization ($2), locked until commit on PostgreSQL: a rename reads
/// the name it replaces.
const LOCK_LIVE_WORKSPACE_OF_ORG: PerDialect = for_update!(
    "SELECT id, org_id, name FROM workspaces WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"
);

#[cfg(test)]
mod plan_tests {
    use crate::store::sqlite::explain::{migrated, opcodes, plan};

    use super::{INSERT_ADMIN_MEMBER, INSERT_WORKSPACE_IF_CREATOR, LIVE_WORKSPACES};
    use crate::store::events::INSERT_EVENT;

    /// A create's inserts build no temporary B-tree: SQLite builds one on every execution for an
    /// IN list of more than two values, as a CHECK constraint `role IN (...)` was.
    #[test]
    fn a_creates_inserts_build_no_temporary_table() {
        let conn = migrated();
        for sql in [
            INSERT_WORKSPACE_IF_CREATOR,
            INSERT_ADMIN_MEMBER,
            INSERT_EVENT,
        ] {
            let program = opcodes(&conn, sql);
            assert!(
                !program.iter().any(|op| op == "OpenEphemeral"),
                "{sql}:\n{program:?}"
            );
        }
    }

    /// The quota's read is one row of the organization, by its primary key.
    #[test]
    fn the_live_count_is_read_by_the_organizations_key() {
        let conn = migrated();
        let plan = plan(&conn, LIVE_WORKSPACES);
        assert_eq!(plan, "SEARCH organizations USING PRIMARY KEY (id=?)");
    }
}
