//! Workspaces and their members: the workspace half of the store.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::WorkspaceRole;

/// Everything the workspace routes need from the database. Every method that names a workspace
/// or a user is scoped by the caller's organization in SQL, so no query reaches another
/// organization's rows. All timestamps are Unix milliseconds.
#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Creates a workspace in the organization of the user of a live session, who becomes its
    /// ADMIN, when that user is validated and their role is at least `creates_from`. The session,
    /// the checks and both inserts happen together (one statement on PostgreSQL: one round
    /// trip). `Conflict` when a live workspace of the organization already has the name.
    async fn create_workspace(
        &self,
        claim: SessionClaim,
        workspace: NewWorkspace,
        creates_from: i16,
    ) -> StoreResult<CreateOutcome>;

    /// The live workspaces the user of a live session can see, with their active members, in
    /// listing order (`name_key`, then id): all of their organization's when their role is at
    /// least `sees_all_from`, else those they are a member of. The session is checked in the
    /// same statement (one round trip, one snapshot); None when it is not live.
    async fn visible_workspaces(
        &self,
        claim: SessionClaim,
        selection: Selection,
        sees_all_from: i16,
    ) -> StoreResult<Option<Vec<WorkspaceWithMembers>>>;

    /// A live workspace of the organization, with the caller's own membership role if any.
    async fn workspace_access(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<WorkspaceAccess>>;

    /// Renames a live workspace; None when there is none; `Conflict` when the name is taken.
    async fn rename_workspace(&self, rename: WorkspaceRename) -> StoreResult<Option<Workspace>>;

    /// Soft-deletes a live workspace that holds no resources, checked in the same statement.
    async fn delete_workspace(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        now: i64,
    ) -> StoreResult<DeleteOutcome>;

    /// Adds an active user of the organization to a live workspace.
    async fn add_member(&self, member: NewMember) -> StoreResult<AddMemberOutcome>;

    /// Changes an active member's role; refuses to demote the last ADMIN.
    async fn change_member_role(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        role: &str,
    ) -> StoreResult<MemberChangeOutcome>;

    /// Removes an active member; refuses to remove the last ADMIN.
    async fn remove_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<MemberChangeOutcome>;
}

/// What a bearer token claims: a session of a user, to be checked live at `now` (Unix ms).
#[derive(Debug, Clone, Copy)]
pub struct SessionClaim {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub now: i64,
}

/// A workspace to create; its organization and creator come from the session.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub id: Uuid,
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
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Workspace {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone)]
pub enum Selection {
    /// One workspace by id.
    One(Uuid),
    /// Up to `limit` workspaces after the keyset position `after` (`name_key`, id), if any.
    Page {
        after: Option<(String, Uuid)>,
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
    pub user_id: Uuid,
    pub role: WorkspaceRole,
    /// When they joined (Unix ms): members are listed in that order, then by id.
    pub joined_at: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub org_role: i16,
}

#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    pub workspace: Workspace,
    /// The caller's membership role string, None when not a member.
    pub membership: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WorkspaceRename {
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    HasResources,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMemberOutcome {
    Added,
    WorkspaceNotFound,
    TargetNotFound,
    AlreadyMember,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChangeOutcome {
    Done,
    WorkspaceNotFound,
    NotMember,
    LastAdmin,
}
