//! Bodies of the workspace routes. The listing is the hot path: its bodies own the store's rows
//! and serialize straight from them (borrowed views, no copy of any string), and their schemas
//! are derived from those views, so the document describes exactly what is written.

use crate::domain::{OrgId, UserId, WorkspaceId};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::constants::SuccessTrue;
use crate::domain::WorkspaceRole;
use crate::store::{Member, Workspace, WorkspaceWithMembers};

/// A workspace on the wire: `{"id","name","orgId"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Workspace)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceJson {
    id: WorkspaceId,
    name: String,
    org_id: OrgId,
}

impl From<Workspace> for WorkspaceJson {
    fn from(w: Workspace) -> Self {
        WorkspaceJson {
            id: w.id,
            name: w.name,
            org_id: w.org_id,
        }
    }
}

/// `POST /workspace` (201) and `PUT /workspace/{id}` (200).
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceResponse {
    success: SuccessTrue,
    workspace: WorkspaceJson,
}

impl From<Workspace> for WorkspaceResponse {
    fn from(workspace: Workspace) -> Self {
        WorkspaceResponse {
            success: SuccessTrue,
            workspace: workspace.into(),
        }
    }
}

/// A workspace role: `READ`, `WRITE` or `ADMIN`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WorkspaceRoleName {
    Read,
    Write,
    Admin,
}

impl From<WorkspaceRole> for WorkspaceRoleName {
    fn from(role: WorkspaceRole) -> Self {
        match role {
            WorkspaceRole::Read => WorkspaceRoleName::Read,
            WorkspaceRole::Write => WorkspaceRoleName::Write,
            WorkspaceRole::Admin => WorkspaceRoleName::Admin,
        }
    }
}

/// The member's user: `{"id","name","lastName","email","orgRole"}` (`name` is the first name).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkspaceUserInfo)]
#[serde(rename_all = "camelCase")]
pub struct MemberUserJson<'a> {
    id: UserId,
    /// First name.
    name: &'a str,
    last_name: &'a str,
    email: &'a str,
    org_role: i16,
}

/// A member of a workspace: `{"userId","role","user":{...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkspaceUser)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceUserJson<'a> {
    user_id: UserId,
    role: WorkspaceRoleName,
    user: MemberUserJson<'a>,
}

impl<'a> From<&'a Member> for WorkspaceUserJson<'a> {
    fn from(m: &'a Member) -> Self {
        WorkspaceUserJson {
            user_id: m.user_id,
            role: m.role.into(),
            user: MemberUserJson {
                id: m.user_id,
                name: &m.first_name,
                last_name: &m.last_name,
                email: &m.email,
                org_role: m.org_role.value().into(),
            },
        }
    }
}

/// The members of a workspace, written one by one as [`WorkspaceUserJson`].
#[derive(Debug)]
pub struct MembersJson<'a>(&'a [Member]);

impl Serialize for MembersJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(WorkspaceUserJson::from))
    }
}

/// A workspace with its active members: `{"id","name","orgId","users":[WorkspaceUser]}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkspaceWithUsers)]
#[serde(rename_all = "camelCase")]
pub struct WithMembersJson<'a> {
    id: WorkspaceId,
    name: &'a str,
    org_id: OrgId,
    #[schema(value_type = Vec<WorkspaceUserJson>)]
    users: MembersJson<'a>,
}

impl<'a> From<&'a WorkspaceWithMembers> for WithMembersJson<'a> {
    fn from(w: &'a WorkspaceWithMembers) -> Self {
        WithMembersJson {
            id: w.workspace.id,
            name: &w.workspace.name,
            org_id: w.workspace.org_id,
            users: MembersJson(&w.members),
        }
    }
}

/// Store rows that are written as [`WithMembersJson`] when the answer is serialized.
#[derive(Debug)]
pub struct Listed<T>(T);

impl Serialize for Listed<WorkspaceWithMembers> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WithMembersJson::from(&self.0).serialize(serializer)
    }
}

impl Serialize for Listed<Vec<WorkspaceWithMembers>> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(WithMembersJson::from))
    }
}

/// About the length of the JSON of `listed` (a little more, rather than less), so the answer is
/// written into one buffer of the right size.
fn json_size<'a>(listed: impl IntoIterator<Item = &'a WorkspaceWithMembers>) -> usize {
    const MEMBER: usize = 200;
    const WORKSPACE: usize = 120;
    64 + listed
        .into_iter()
        .map(|w| WORKSPACE + w.workspace.name.len() + w.members.len() * MEMBER)
        .sum::<usize>()
}

/// `GET /workspace/{id}`, 200: `{"success":true,"workspace":{... with users}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceWithUsersResponse {
    success: SuccessTrue,
    #[schema(value_type = WithMembersJson)]
    workspace: Listed<WorkspaceWithMembers>,
}

impl WorkspaceWithUsersResponse {
    pub fn new(workspace: WorkspaceWithMembers) -> Self {
        WorkspaceWithUsersResponse {
            success: SuccessTrue,
            workspace: Listed(workspace),
        }
    }

    pub fn size_hint(&self) -> usize {
        json_size([&self.workspace.0])
    }
}

/// `GET /workspace`, 200: `{"success":true,"workspaces":[...],"nextCursor"?}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspacesResponse {
    success: SuccessTrue,
    #[schema(value_type = Vec<WithMembersJson>)]
    workspaces: Listed<Vec<WorkspaceWithMembers>>,
    /// Present when paging (`limit` or `cursor` given) and more workspaces follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    next_cursor: Option<String>,
}

impl WorkspacesResponse {
    pub fn new(workspaces: Vec<WorkspaceWithMembers>, next_cursor: Option<String>) -> Self {
        WorkspacesResponse {
            success: SuccessTrue,
            workspaces: Listed(workspaces),
            next_cursor,
        }
    }

    pub fn size_hint(&self) -> usize {
        json_size(&self.workspaces.0)
    }
}
