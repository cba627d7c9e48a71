//! The workspace listing query, shared by both backends: the SQL for a [`Selection`] seen by
//! the user of a session, and the assembly of its rows into workspaces with their members
//! ([`ListingBuilder`]).

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::FixedState;

use super::sql::full_access_session;
use super::tx::{Arg, PerDialect, Row, TypedColumn};
use super::{
    Member, MemberUser, Selection, SessionClaim, StoreResult, Workspace, WorkspaceWithMembers,
};
use crate::domain::{OrgId, OrgRole, UserId, WorkspaceId, WorkspaceRole};

/// The page's members and their users, joined (SQLite: its planner joins by the keys, in
/// nested loops, whatever the tables' sizes).
macro_rules! members_joined {
    () => {
        "LEFT JOIN workspace_members m ON m.workspace_id = p.id \
         LEFT JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL"
    };
}

/// The page's members and their users, each looked up by key for each row of the page
/// (PostgreSQL). PostgreSQL's generic plan estimates a page from the organizations' average
/// size, so once one organization grew large (the benchmark's `create` adds tens of thousands
/// of workspaces to one), a page of 201 was expected full and the members were hash-joined: the
/// whole `workspace_members` table read for every listing, 6 ms instead of 0.4 at 45,000
/// members, growing with the table. A LATERAL subquery is evaluated per page row; `OFFSET 0`
/// keeps PostgreSQL from flattening it back into a join it may hash.
macro_rules! members_looked_up {
    () => {
        "LEFT JOIN LATERAL (SELECT m.user_id, m.role, m.created_at FROM workspace_members m \
         WHERE m.workspace_id = p.id OFFSET 0) m ON TRUE \
         LEFT JOIN LATERAL (SELECT u.id, u.first_name, u.last_name, u.email, u.org_role \
         FROM users u WHERE u.id = m.user_id AND u.deleted_at IS NULL OFFSET 0) u ON TRUE"
    };
}

/// The listing query for `selection`, as seen by the user of a session, in one statement:
/// - `me`: the session's user, if the session is live and past MFA (`full_access_session!`);
/// - `page`: the live workspaces of their organization they may see (all of them when their role
///   is at least `$4`, `OrgRole::ADMINISTERS_ALL_WORKSPACES`, else those they are a member of), where the keyset order and the limit
///   apply;
/// - one row per active member of each, NULL member columns for a workspace without active
///   members, and a single row of NULLs when `me` sees no workspace at all; no row when the
///   session is not live.
///
/// Columns: id, org_id, name, name_key, user_id, role, joined_at, first_name, last_name, email,
/// org_role. Parameters are numbered in the order of [`listing_args`].
///
/// One workspace by id (`Selection::One`) is its own statement, [`ONE_WORKSPACE`]. For pages,
/// three choices keep the plans right on both backends, whatever the parameters:
/// - The page's LIMIT is a literal, the requested limit rounded up to one of [`PAGE_LIMITS`]
///   (the caller keeps the first `limit` workspaces: [`ListingBuilder::finish`]). PostgreSQL
///   plans a prepared statement once for any parameters (its generic plan); with `LIMIT $n` it
///   cannot know the page is 51 workspaces, expected thousands, and then either hashed the whole
///   members table for every listing (85 ms at 700k members) or re-planned every execution
///   (twice the cost of a page). With the literal it plans index lookups once.
/// - `page` reads `me` through scalar subqueries, not a join, so that the organization is a
///   constant of its index scan: the `(org_id, name_key)` index is walked in order up to the
///   limit. (With a join, SQLite 3.40 sorted the whole organization for every page; the bundled
///   3.46 does not, but nothing should depend on that.)
/// - The page's members and their users are joined by key on SQLite (`members_joined!`) and
///   looked up per page row on PostgreSQL (`members_looked_up!`), so that no plan reads the
///   members table whole.
/// - No ORDER BY over the joined rows: sorting them was a tenth of a listing's cost on SQLite,
///   and [`ListingBuilder`] puts workspaces and members in order itself, whatever order the rows
///   come in.
pub fn listing_sql(selection: &Selection) -> PerDialect {
    // Each shape is a constant, so prepared statement caches keep one entry per shape.
    macro_rules! listing {
        ($selection:expr, $members:expr) => {
            concat!(
                "WITH me AS (SELECT u.id, u.org_id, u.org_role FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE ",
                full_access_session!(),
                "), page AS (SELECT w.id, w.org_id, w.name, w.name_key FROM workspaces w \
                 WHERE w.org_id = (SELECT org_id FROM me) AND w.deleted_at IS NULL \
                 AND ((SELECT org_role FROM me) >= $4 OR EXISTS \
                 (SELECT 1 FROM workspace_members x WHERE x.workspace_id = w.id \
                 AND x.user_id = $2)) ",
                $selection,
                ") SELECT p.id, p.org_id, p.name, p.name_key, u.id AS user_id, m.role, \
                 m.created_at AS joined_at, u.first_name, u.last_name, u.email, u.org_role \
                 FROM me LEFT JOIN page p ON TRUE ",
                $members
            )
        };
    }
    macro_rules! first {
        ($limit:literal, $members:expr) => {
            listing!(
                concat!("ORDER BY w.name_key, w.id LIMIT ", $limit),
                $members
            )
        };
    }
    macro_rules! after {
        ($limit:literal, $members:expr) => {
            listing!(
                concat!(
                    "AND (w.name_key, w.id) > ($5, $6) ORDER BY w.name_key, w.id LIMIT ",
                    $limit
                ),
                $members
            )
        };
    }
    macro_rules! shapes {
        ($members:expr) => {
            match selection {
                Selection::One(_) => ONE_WORKSPACE,
                Selection::Page { after: None, limit } => match page_limit(*limit) {
                    Some(11) => first!("11", $members),
                    Some(51) => first!("51", $members),
                    Some(101) => first!("101", $members),
                    Some(_) => first!("201", $members),
                    None => listing!("ORDER BY w.name_key, w.id", $members),
                },
                Selection::Page {
                    after: Some(_),
                    limit,
                } => match page_limit(*limit) {
                    Some(11) => after!("11", $members),
                    Some(51) => after!("51", $members),
                    Some(101) => after!("101", $members),
                    Some(_) => after!("201", $members),
                    None => listing!(
                        "AND (w.name_key, w.id) > ($5, $6) ORDER BY w.name_key, w.id",
                        $members
                    ),
                },
            }
        };
    }
    PerDialect::new(shapes!(members_joined!()), shapes!(members_looked_up!()))
}

/// The listing of one workspace (`$5`, `GET /workspace/{id}`): the same rows as the listing
/// statement, without its `me` and `page`. With no ORDER BY nor LIMIT there is nothing for a join
/// to plan badly, and a `me` read three times was materialized in a temporary table on every
/// execution, on both backends (`MATERIALIZE me` in SQLite's plan, a CTE scan in PostgreSQL's).
/// Here the session's user is joined once and the workspace is looked up by its key.
const ONE_WORKSPACE: &str = concat!(
    "SELECT w.id, w.org_id, w.name, w.name_key, mu.id AS user_id, m.role, \
     m.created_at AS joined_at, mu.first_name, mu.last_name, mu.email, mu.org_role \
     FROM sessions s JOIN users u ON u.id = s.user_id \
     LEFT JOIN workspaces w ON w.id = $5 AND w.org_id = u.org_id AND w.deleted_at IS NULL \
     AND (u.org_role >= $4 OR EXISTS (SELECT 1 FROM workspace_members x \
     WHERE x.workspace_id = w.id AND x.user_id = $2)) \
     LEFT JOIN workspace_members m ON m.workspace_id = w.id \
     LEFT JOIN users mu ON mu.id = m.user_id AND mu.deleted_at IS NULL \
     WHERE ",
    full_access_session!()
);

/// The page limits the listing statements are written with.
pub const PAGE_LIMITS: [i64; 4] = [11, 51, 101, 201];

/// Workspaces read per statement by a listing longer than the largest page (`GET /workspace`
/// without `limit`): such a listing is read in chunks, within one snapshot, so that each
/// statement has a bounded plan and a bounded cost whatever the organization's size.
pub const LISTING_CHUNK: i64 = 200;

/// The page after `after` (or the first), `want` workspaces long at most.
pub fn chunk(after: Option<(String, WorkspaceId)>, want: i64) -> Selection {
    Selection::Page {
        after,
        limit: want.min(LISTING_CHUNK),
    }
}

/// A selection longer than the largest page, read in chunks ([`LISTING_CHUNK`]): `Ok((after,
/// limit))`; any other is read in one statement: `Err(selection)`.
pub fn long_selection(
    selection: Selection,
) -> Result<(Option<(String, WorkspaceId)>, i64), Selection> {
    match selection {
        Selection::Page { after, limit } if page_limit(limit).is_none() => Ok((after, limit)),
        other => Err(other),
    }
}

/// Where the listing continues after `listed`.
pub fn position_after(listed: &[WorkspaceWithMembers]) -> Option<(String, WorkspaceId)> {
    listed
        .last()
        .map(|last| (last.name_key.clone(), last.workspace.id))
}

/// The statement's limit for a requested one: the smallest of [`PAGE_LIMITS`] that holds it;
/// None (no limit) above them all.
fn page_limit(limit: i64) -> Option<i64> {
    PAGE_LIMITS.into_iter().find(|&page| limit <= page)
}

/// The arguments of a listing query, in the order its parameters are numbered.
pub fn listing_args<'a>(claim: &SessionClaim, selection: &'a Selection) -> Vec<Arg<'a>> {
    let mut args = vec![
        Arg::from(claim.session_id),
        Arg::from(claim.user_id),
        Arg::from(claim.now),
        Arg::from(OrgRole::ADMINISTERS_ALL_WORKSPACES),
    ];
    match selection {
        Selection::One(id) => args.push(Arg::from(*id)),
        Selection::Page {
            after: Some((key, id)),
            ..
        } => {
            args.push(Arg::from(key));
            args.push(Arg::from(*id));
        }
        Selection::Page { after: None, .. } => {}
    }
    args
}

/// The columns of a listing row, looked up by name (and on PostgreSQL, type-checked) once per
/// statement: a listing reads hundreds of rows, and a lookup or a type check per value was a
/// measurable share of its cost.
struct ListingColumns {
    id: TypedColumn<Option<WorkspaceId>>,
    org_id: TypedColumn<OrgId>,
    name: TypedColumn<String>,
    name_key: TypedColumn<String>,
    user_id: TypedColumn<Option<UserId>>,
    role: TypedColumn<Option<WorkspaceRole>>,
    joined_at: TypedColumn<i64>,
    first_name: TypedColumn<String>,
    last_name: TypedColumn<String>,
    email: TypedColumn<String>,
    org_role: TypedColumn<OrgRole>,
}

impl ListingColumns {
    fn of(row: &Row<'_>) -> StoreResult<ListingColumns> {
        Ok(ListingColumns {
            id: row.column("id")?,
            org_id: row.column("org_id")?,
            name: row.column("name")?,
            name_key: row.column("name_key")?,
            user_id: row.column("user_id")?,
            role: row.column("role")?,
            joined_at: row.column("joined_at")?,
            first_name: row.column("first_name")?,
            last_name: row.column("last_name")?,
            email: row.column("email")?,
            org_role: row.column("org_role")?,
        })
    }
}

/// Assembles listing rows, in whatever order they come, into workspaces in listing order
/// (`name_key`, then id), each with its members in joining order (then by user id).
#[derive(Default)]
pub struct ListingBuilder {
    columns: Option<ListingColumns>,
    workspaces: Vec<WorkspaceWithMembers>,
    /// Position of each workspace in `workspaces`, for rows that do not come grouped. The ids
    /// are the server's own (not chosen by a client), so a fast unkeyed hash is enough, here and
    /// in `users`.
    seen: HashMap<WorkspaceId, usize, FixedState>,
    /// Each member's user, read once however many workspaces they are a member of.
    users: HashMap<UserId, Arc<MemberUser>, FixedState>,
    current: Option<usize>,
}

impl ListingBuilder {
    /// Adds one listing row: the workspace's columns are read only on its first row (most rows
    /// repeat a workspace already read), the member's only when there is one. NULL workspace
    /// columns: the caller sees no workspace; NULL user columns: no member, or a deleted one.
    pub fn add(&mut self, row: &Row<'_>) -> StoreResult<()> {
        let at = match &self.columns {
            Some(columns) => columns,
            None => self.columns.insert(ListingColumns::of(row)?),
        };
        let Some(id) = row.read(at.id)? else {
            return Ok(());
        };
        let (org_id, name, name_key, user_id, role) =
            (at.org_id, at.name, at.name_key, at.user_id, at.role);
        let member_at = (
            at.joined_at,
            at.first_name,
            at.last_name,
            at.email,
            at.org_role,
        );
        if !self.select(id) {
            let workspace = Workspace {
                id,
                org_id: row.read(org_id)?,
                name: row.read(name)?,
            };
            self.start(workspace, row.read(name_key)?);
        }
        let Some(user_id) = row.read(user_id)? else {
            return Ok(());
        };
        let Some(role) = row.read(role)? else {
            return Ok(());
        };
        let (joined_at, first_name, last_name, email, org_role) = member_at;
        let user = match self.users.get(&user_id) {
            Some(user) => user.clone(),
            None => {
                let user = Arc::new(MemberUser {
                    first_name: row.read(first_name)?,
                    last_name: row.read(last_name)?,
                    email: row.read(email)?,
                    org_role: row.read(org_role)?,
                });
                self.users.insert(user_id, user.clone());
                user
            }
        };
        self.member(Member {
            user_id,
            role,
            joined_at: row.read(joined_at)?,
            user,
        });
        Ok(())
    }

    /// Makes the row's workspace the current one. Returns false when it is new: its columns
    /// then go to [`ListingBuilder::start`].
    fn select(&mut self, id: WorkspaceId) -> bool {
        if self
            .current
            .is_some_and(|at| self.workspaces[at].workspace.id == id)
        {
            return true;
        }
        match self.seen.get(&id) {
            Some(&at) => {
                self.current = Some(at);
                true
            }
            None => false,
        }
    }

    /// A workspace not seen before; it becomes the current one.
    fn start(&mut self, workspace: Workspace, name_key: String) {
        self.seen.insert(workspace.id, self.workspaces.len());
        self.current = Some(self.workspaces.len());
        self.workspaces.push(WorkspaceWithMembers {
            workspace,
            name_key,
            members: Vec::with_capacity(4),
        });
    }

    /// A member of the current workspace.
    fn member(&mut self, member: Member) {
        if let Some(at) = self.current {
            self.workspaces[at].members.push(member);
        }
    }

    /// The workspaces in order, at most `limit` of them (the statement may have read more).
    pub fn finish(mut self, limit: Option<i64>) -> Vec<WorkspaceWithMembers> {
        let listing_order = |w: &WorkspaceWithMembers| (w.name_key.clone(), w.workspace.id);
        if !self
            .workspaces
            .is_sorted_by(|a, b| (&a.name_key, a.workspace.id) <= (&b.name_key, b.workspace.id))
        {
            self.workspaces.sort_by_cached_key(listing_order);
        }
        if let Some(limit) = limit {
            self.workspaces
                .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        for listed in &mut self.workspaces {
            listed
                .members
                .sort_unstable_by_key(|m| (m.joined_at, m.user_id));
        }
        self.workspaces
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uuid::Uuid;

    use super::ListingBuilder;
    use crate::domain::{OrgId, OrgRole, UserId, WorkspaceId, WorkspaceRole};
    use crate::store::{Member, MemberUser, Workspace};

    /// A row of workspace `ws` (name key `key`), with member `(user, joined_at)` if any.
    fn add(builder: &mut ListingBuilder, ws: u128, key: &str, member: Option<(u128, i64)>) {
        let id = WorkspaceId::from_uuid(Uuid::from_u128(ws));
        if !builder.select(id) {
            let workspace = Workspace {
                id,
                org_id: OrgId::from_uuid(Uuid::nil()),
                name: key.to_uppercase(),
            };
            builder.start(workspace, key.into());
        }
        if let Some((user, joined_at)) = member {
            builder.member(Member {
                user_id: UserId::from_uuid(Uuid::from_u128(user)),
                role: WorkspaceRole::Read,
                joined_at,
                user: Arc::new(MemberUser {
                    first_name: "F".into(),
                    last_name: "L".into(),
                    email: "e@x".into(),
                    org_role: OrgRole::User,
                }),
            });
        }
    }

    #[test]
    fn orders_workspaces_and_members_whatever_the_row_order() {
        let mut builder = ListingBuilder::default();
        add(&mut builder, 2, "b", Some((9, 20)));
        add(&mut builder, 1, "a", Some((7, 5)));
        add(&mut builder, 2, "b", Some((8, 20)));
        add(&mut builder, 3, "c", None);
        add(&mut builder, 2, "b", Some((6, 30)));
        add(&mut builder, 1, "a", Some((5, 10)));
        let listed = builder.finish(None);
        let keys: Vec<&str> = listed.iter().map(|w| w.name_key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let members = |at: usize| -> Vec<u128> {
            listed[at]
                .members
                .iter()
                .map(|m| m.user_id.uuid().as_u128())
                .collect()
        };
        assert_eq!(members(0), [7, 5]);
        // Same joining time: by user id.
        assert_eq!(members(1), [8, 9, 6]);
        assert!(members(2).is_empty());
        assert_eq!(listed[1].workspace.name, "B");
    }

    #[test]
    fn keeps_the_first_workspaces_up_to_the_limit() {
        let mut builder = ListingBuilder::default();
        for (ws, key) in [(3, "c"), (1, "a"), (2, "b")] {
            add(&mut builder, ws, key, None);
        }
        let kept: Vec<String> = builder
            .finish(Some(2))
            .into_iter()
            .map(|w| w.name_key)
            .collect();
        assert_eq!(kept, ["a", "b"]);
    }

    #[test]
    fn page_limits_round_up_and_vanish_above_the_largest() {
        use super::page_limit;
        assert_eq!(page_limit(1), Some(11));
        assert_eq!(page_limit(11), Some(11));
        assert_eq!(page_limit(12), Some(51));
        assert_eq!(page_limit(51), Some(51));
        assert_eq!(page_limit(201), Some(201));
        assert_eq!(page_limit(202), None);
        assert_eq!(page_limit(i64::MAX), None);
    }
}

/// The plans SQLite makes for the listing statements (PostgreSQL's are checked by the bench).
#[cfg(test)]
mod plan_tests {
    use super::listing_sql;
    use crate::domain::WorkspaceId;
    use crate::store::sqlite::explain::{migrated, plan};
    use crate::store::tx::Dialect;
    use crate::store::Selection;

    #[test]
    fn listing_pages_walk_the_name_index_without_sorting_and_read_members_from_an_index() {
        let conn = migrated();
        let mut selections = vec![Selection::One(WorkspaceId::from_uuid(uuid::Uuid::nil()))];
        for limit in [2, 51, 101, 201, i64::MAX] {
            selections.push(Selection::Page { after: None, limit });
            let after = Some(("k".to_owned(), WorkspaceId::from_uuid(uuid::Uuid::nil())));
            selections.push(Selection::Page { after, limit });
        }
        for selection in selections {
            let steps = plan(&conn, listing_sql(&selection).sql(Dialect::Sqlite).unwrap());
            assert!(
                !steps.contains("TEMP B-TREE"),
                "{selection:?} sorts:\n{steps}"
            );
            assert!(
                steps.contains("workspaces_live_name_unique")
                    || steps.contains("SEARCH w USING PRIMARY KEY (id=?)"),
                "{selection:?}:\n{steps}"
            );
            // Members (role and joining time included) come from their table's key, one B-tree
            // (a WITHOUT ROWID table), and each member's user by its key.
            assert!(
                steps.contains("SEARCH m USING PRIMARY KEY (workspace_id=?)"),
                "{selection:?}:\n{steps}"
            );
            // The one scan allowed: the page, materialized and bounded by its LIMIT.
            let scans = steps
                .lines()
                .filter(|step| step.starts_with("SCAN") && !step.starts_with("SCAN p "))
                .count();
            assert_eq!(scans, 0, "{selection:?}:\n{steps}");
        }
    }
}
