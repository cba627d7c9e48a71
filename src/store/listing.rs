//! The workspace listing query, shared by both backends: the SQL for a [`Selection`] seen by
//! the user of a session, and the assembly of its rows into workspaces with their members
//! ([`ListingBuilder`]).

use std::collections::HashMap;

use uuid::Uuid;

use super::{Member, Selection, SessionClaim, Workspace, WorkspaceWithMembers};

/// The listing query for `selection`, as seen by the user of a session, in one statement:
/// - `me`: the session's user, if the session is live (the checks of `queries::AUTHENTICATE`);
/// - `page`: the live workspaces of their organization they may see (all of them when their role
///   is at least `$4`, else those they are a member of), where the keyset order and the limit
///   apply;
/// - one row per active member of each, NULL member columns for a workspace without active
///   members, and a single row of NULLs when `me` sees no workspace at all; no row when the
///   session is not live.
///
/// Columns, in the order [`ListingBuilder`] reads them: id, org_id, name, name_key, user_id, role,
/// joined_at, first_name, last_name, email, org_role. Parameters are numbered in the order of
/// [`listing_args`].
///
/// `page` reads `me` through scalar subqueries, not a join, so that the organization is a
/// constant of its index scan whatever the planner: the `(org_id, name_key)` index is then walked
/// in order up to the limit. (With a join, SQLite 3.40 sorted the whole organization for every
/// page; the bundled 3.46 does not, but nothing should depend on that.)
///
/// There is no ORDER BY over the joined rows: sorting them was a tenth of a listing's cost on
/// SQLite, and [`ListingBuilder`] puts workspaces and members in order itself, whatever order
/// the rows come in.
pub fn listing_sql(selection: &Selection, members: MemberJoin) -> &'static str {
    // Six shapes (three selections, two joins), each a constant, so prepared statement caches
    // keep one entry per shape.
    macro_rules! listing {
        ($selection:literal, $members:expr) => {
            concat!(
                "WITH me AS (SELECT u.id, u.org_id, u.org_role FROM sessions s \
                 JOIN users u ON u.id = s.user_id \
                 WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL \
                 AND s.expires_at > $3 AND u.deleted_at IS NULL), \
                 page AS (SELECT w.id, w.org_id, w.name, w.name_key FROM workspaces w \
                 WHERE w.org_id = (SELECT org_id FROM me) AND w.deleted_at IS NULL \
                 AND ((SELECT org_role FROM me) >= $4 OR EXISTS \
                 (SELECT 1 FROM workspace_members x WHERE x.workspace_id = w.id \
                 AND x.user_id = $2)) ",
                $selection,
                ") ",
                $members
            )
        };
    }
    macro_rules! plain {
        () => {
            "SELECT p.id, p.org_id, p.name, p.name_key, u.id AS user_id, m.role, \
             m.created_at AS joined_at, u.first_name, u.last_name, u.email, u.org_role \
             FROM me LEFT JOIN page p ON TRUE \
             LEFT JOIN workspace_members m ON m.workspace_id = p.id \
             LEFT JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL"
        };
    }
    macro_rules! lateral {
        () => {
            "SELECT p.id, p.org_id, p.name, p.name_key, a.user_id, a.role, a.joined_at, \
             a.first_name, a.last_name, a.email, a.org_role \
             FROM me LEFT JOIN page p ON TRUE \
             LEFT JOIN LATERAL (SELECT u.id AS user_id, m.role, m.created_at AS joined_at, \
             u.first_name, u.last_name, u.email, u.org_role FROM workspace_members m \
             JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL \
             WHERE m.workspace_id = p.id OFFSET 0) a ON TRUE"
        };
    }
    match (selection, members) {
        (Selection::One(_), MemberJoin::Plain) => listing!("AND w.id = $5", plain!()),
        (Selection::One(_), MemberJoin::Lateral) => listing!("AND w.id = $5", lateral!()),
        (Selection::Page { after: None, .. }, MemberJoin::Plain) => {
            listing!("ORDER BY w.name_key, w.id LIMIT $5", plain!())
        }
        (Selection::Page { after: None, .. }, MemberJoin::Lateral) => {
            listing!("ORDER BY w.name_key, w.id LIMIT $5", lateral!())
        }
        (Selection::Page { after: Some(_), .. }, MemberJoin::Plain) => listing!(
            "AND (w.name_key, w.id) > ($5, $6) ORDER BY w.name_key, w.id LIMIT $7",
            plain!()
        ),
        (Selection::Page { after: Some(_), .. }, MemberJoin::Lateral) => listing!(
            "AND (w.name_key, w.id) > ($5, $6) ORDER BY w.name_key, w.id LIMIT $7",
            lateral!()
        ),
    }
}

/// How a listing joins the members of its page.
#[derive(Debug, Clone, Copy)]
pub enum MemberJoin {
    /// Plain LEFT JOINs (SQLite). SQLite's planner drives a LEFT JOIN from its left side: the
    /// members of each workspace of the page are looked up by index.
    Plain,
    /// A LATERAL subquery per workspace (PostgreSQL). PostgreSQL plans a prepared statement once
    /// for any parameters (its generic plan), so it cannot know the page is 50 workspaces; it
    /// expected thousands and hashed the whole members table on every listing (85 ms with 700k
    /// members, BENCHMARKS.md). `OFFSET 0` keeps the subquery from being flattened back into a
    /// join, so the members are looked up by index per workspace whatever the estimates.
    Lateral,
}

/// An argument of [`listing_sql`].
pub enum ListingArg<'a> {
    Id(Uuid),
    Millis(i64),
    Role(i16),
    Key(&'a str),
    Limit(i64),
}

/// The arguments of a listing query, in the order its parameters are numbered.
pub fn listing_args<'a>(
    claim: &SessionClaim,
    selection: &'a Selection,
    sees_all_from: i16,
) -> Vec<ListingArg<'a>> {
    let mut args = vec![
        ListingArg::Id(claim.session_id),
        ListingArg::Id(claim.user_id),
        ListingArg::Millis(claim.now),
        ListingArg::Role(sees_all_from),
    ];
    match selection {
        Selection::One(id) => args.push(ListingArg::Id(*id)),
        Selection::Page {
            after: Some((key, id)),
            limit,
        } => {
            args.push(ListingArg::Key(key));
            args.push(ListingArg::Id(*id));
            args.push(ListingArg::Limit(*limit));
        }
        Selection::Page { after: None, limit } => args.push(ListingArg::Limit(*limit)),
    }
    args
}

/// Assembles listing rows, in whatever order they come, into workspaces in listing order
/// (`name_key`, then id), each with its members in joining order (then by user id).
#[derive(Default)]
pub struct ListingBuilder {
    workspaces: Vec<WorkspaceWithMembers>,
    /// Position of each workspace in `workspaces`, for rows that do not come grouped.
    seen: HashMap<Uuid, usize>,
    current: Option<usize>,
}

impl ListingBuilder {
    /// Makes the row's workspace the current one. Returns false when it is new: the caller then
    /// gives its columns with [`ListingBuilder::start`] (so rows of a known workspace cost no
    /// copies of its name).
    pub fn select(&mut self, id: Uuid) -> bool {
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
    pub fn start(&mut self, workspace: Workspace, name_key: String) {
        self.seen.insert(workspace.id, self.workspaces.len());
        self.current = Some(self.workspaces.len());
        self.workspaces.push(WorkspaceWithMembers {
            workspace,
            name_key,
            members: Vec::with_capacity(4),
        });
    }

    /// A member of the current workspace.
    pub fn member(&mut self, member: Member) {
        if let Some(at) = self.current {
            self.workspaces[at].members.push(member);
        }
    }

    pub fn finish(mut self) -> Vec<WorkspaceWithMembers> {
        let listing_order = |w: &WorkspaceWithMembers| (w.name_key.clone(), w.workspace.id);
        if !self
            .workspaces
            .is_sorted_by(|a, b| (&a.name_key, a.workspace.id) <= (&b.name_key, b.workspace.id))
        {
            self.workspaces.sort_by_cached_key(listing_order);
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
    use uuid::Uuid;

    use super::ListingBuilder;
    use crate::domain::WorkspaceRole;
    use crate::store::{Member, Workspace};

    /// A row of workspace `ws` (name key `key`), with member `(user, joined_at)` if any.
    fn add(builder: &mut ListingBuilder, ws: u128, key: &str, member: Option<(u128, i64)>) {
        let id = Uuid::from_u128(ws);
        if !builder.select(id) {
            let workspace = Workspace {
                id,
                org_id: Uuid::nil(),
                name: key.to_uppercase(),
            };
            builder.start(workspace, key.into());
        }
        if let Some((user, joined_at)) = member {
            builder.member(Member {
                user_id: Uuid::from_u128(user),
                role: WorkspaceRole::Read,
                joined_at,
                first_name: "F".into(),
                last_name: "L".into(),
                email: "e@x".into(),
                org_role: 0,
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
        let listed = builder.finish();
        let keys: Vec<&str> = listed.iter().map(|w| w.name_key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let members = |at: usize| -> Vec<u128> {
            listed[at]
                .members
                .iter()
                .map(|m| m.user_id.as_u128())
                .collect()
        };
        assert_eq!(members(0), [7, 5]);
        // Same joining time: by user id.
        assert_eq!(members(1), [8, 9, 6]);
        assert!(members(2).is_empty());
        assert_eq!(listed[1].workspace.name, "B");
    }
}
