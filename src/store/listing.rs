//! The workspace listing query, shared by both backends: the SQL for a [`WorkspaceQuery`] and
//! the assembly of its rows into workspaces with their members ([`ListingBuilder`]).

use std::collections::HashMap;

use uuid::Uuid;

use super::{Member, Selection, Workspace, WorkspaceQuery, WorkspaceWithMembers};
use crate::domain::WorkspaceRole;

/// The listing query for `query`: the page of workspaces (in a CTE, where the keyset order and
/// the limit apply) joined to their active members, so a page costs one round trip whatever its
/// size. One row per member (NULL member columns for a workspace without active members), in the
/// column order [`ListingBuilder`] reads:
/// id, org_id, name, name_key, user_id, role, joined_at, first_name, last_name, email, org_role.
///
/// There is no ORDER BY over the joined rows: sorting them was a tenth of a listing's cost on
/// SQLite, and [`ListingBuilder`] puts workspaces and members in order itself, whatever order
/// the rows come in. Parameters are numbered in the order of [`listing_args`].
pub fn listing_sql(query: &WorkspaceQuery) -> &'static str {
    // Six shapes (member filter or not, times three selections), each a constant, so prepared
    // statement caches keep one entry per shape.
    macro_rules! listing {
        ($membership:literal, $selection:literal) => {
            concat!(
                "WITH page AS (SELECT w.id, w.org_id, w.name, w.name_key FROM workspaces w \
                 WHERE w.org_id = $1 AND w.deleted_at IS NULL ",
                $membership,
                " ",
                $selection,
                ") SELECT p.id, p.org_id, p.name, p.name_key, u.id AS user_id, m.role, \
                 m.created_at AS joined_at, u.first_name, u.last_name, u.email, u.org_role \
                 FROM page p \
                 LEFT JOIN workspace_members m ON m.workspace_id = p.id \
                 LEFT JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL"
            )
        };
    }
    match (&query.member, &query.selection) {
        (None, Selection::One(_)) => listing!("", "AND w.id = $2"),
        (None, Selection::Page { after: None, .. }) => {
            listing!("", "ORDER BY w.name_key, w.id LIMIT $2")
        }
        (None, Selection::Page { after: Some(_), .. }) => listing!(
            "",
            "AND (w.name_key, w.id) > ($2, $3) ORDER BY w.name_key, w.id LIMIT $4"
        ),
        (Some(_), Selection::One(_)) => listing!(
            "AND EXISTS (SELECT 1 FROM workspace_members me \
             WHERE me.workspace_id = w.id AND me.user_id = $2)",
            "AND w.id = $3"
        ),
        (Some(_), Selection::Page { after: None, .. }) => listing!(
            "AND EXISTS (SELECT 1 FROM workspace_members me \
             WHERE me.workspace_id = w.id AND me.user_id = $2)",
            "ORDER BY w.name_key, w.id LIMIT $3"
        ),
        (Some(_), Selection::Page { after: Some(_), .. }) => listing!(
            "AND EXISTS (SELECT 1 FROM workspace_members me \
             WHERE me.workspace_id = w.id AND me.user_id = $2)",
            "AND (w.name_key, w.id) > ($3, $4) ORDER BY w.name_key, w.id LIMIT $5"
        ),
    }
}

/// An argument of [`listing_sql`].
pub enum ListingArg<'a> {
    Id(Uuid),
    Key(&'a str),
    Limit(i64),
}

/// The arguments of a listing query, in the order its parameters are numbered.
pub fn listing_args(query: &WorkspaceQuery) -> Vec<ListingArg<'_>> {
    let mut args = vec![ListingArg::Id(query.org_id)];
    if let Some(member) = query.member {
        args.push(ListingArg::Id(member));
    }
    match &query.selection {
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

/// One listing row as sqlx decodes it (PostgreSQL).
#[derive(sqlx::FromRow)]
pub struct ListingRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub user_id: Option<Uuid>,
    pub role: Option<String>,
    pub joined_at: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub org_role: Option<i16>,
}

impl ListingBuilder {
    /// Adds a decoded row. A member row whose user is deleted comes back with NULL user
    /// columns: the workspace is kept, the member skipped.
    pub fn row(&mut self, row: ListingRow) {
        if !self.select(row.id) {
            self.start(
                Workspace {
                    id: row.id,
                    org_id: row.org_id,
                    name: row.name,
                },
                row.name_key,
            );
        }
        if let (
            Some(user_id),
            Some(role),
            Some(joined_at),
            Some(first_name),
            Some(last_name),
            Some(email),
            Some(org_role),
        ) = (
            row.user_id,
            row.role.as_deref().and_then(WorkspaceRole::parse),
            row.joined_at,
            row.first_name,
            row.last_name,
            row.email,
            row.org_role,
        ) {
            self.member(Member {
                user_id,
                role,
                joined_at,
                first_name,
                last_name,
                email,
                org_role,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{ListingBuilder, ListingRow};

    fn row(ws: u128, key: &str, user: Option<(u128, i64)>) -> ListingRow {
        ListingRow {
            id: Uuid::from_u128(ws),
            org_id: Uuid::nil(),
            name: key.to_uppercase(),
            name_key: key.into(),
            user_id: user.map(|(id, _)| Uuid::from_u128(id)),
            role: user.map(|_| "READ".into()),
            joined_at: user.map(|(_, at)| at),
            first_name: user.map(|_| "F".into()),
            last_name: user.map(|_| "L".into()),
            email: user.map(|_| "e@x".into()),
            org_role: user.map(|_| 0),
        }
    }

    #[test]
    fn orders_workspaces_and_members_whatever_the_row_order() {
        let mut builder = ListingBuilder::default();
        for r in [
            row(2, "b", Some((9, 20))),
            row(1, "a", Some((7, 5))),
            row(2, "b", Some((8, 20))),
            row(3, "c", None),
            row(2, "b", Some((6, 30))),
            row(1, "a", Some((5, 10))),
        ] {
            builder.row(r);
        }
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
