//! Organization users and their roles.

use async_trait::async_trait;
use uuid::Uuid;

use super::{NewUser, NewVerification, StoreResult};
use crate::domain::{OrgRole, RoleDenied};

/// Managing the users of an organization. Every query is scoped by the organization; every change
/// of one user by another re-reads both users' roles under a lock of the organization row, so the
/// role rules and "the last active OWNER stays" hold under concurrency and across processes.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// All users of the organization, deleted ones included (they can be re-activated), oldest first.
    async fn list_org_users(&self, org_id: Uuid) -> StoreResult<Vec<OrgUser>>;

    /// One user of the organization, deleted or not.
    async fn org_user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<Option<OrgUser>>;

    /// Creates a user (with a verification when an invitation is sent). `Conflict`: e-mail taken.
    async fn create_org_user(
        &self,
        user: NewUser,
        verification: Option<NewVerification>,
    ) -> StoreResult<()>;

    /// Changes names, role and/or password of a live user, checking the role rules.
    async fn update_user(&self, update: UserUpdate) -> StoreResult<UserChangeOutcome>;

    /// Soft-deletes a live user and revokes their sessions, checking the role rules.
    async fn delete_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome>;

    /// Restores a deleted user, checking the role rules.
    async fn activate_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome>;
}

/// A user as the organization routes show them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgUser {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: i16,
    pub validated: bool,
    pub deleted_at: Option<i64>,
}

/// One user acting on another of the same organization.
#[derive(Debug, Clone, Copy)]
pub struct UserChange {
    pub org_id: Uuid,
    pub actor_id: Uuid,
    pub target_id: Uuid,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub change: UserChange,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub org_role: Option<OrgRole>,
    /// A new password hash: only ever for oneself. The user's other sessions are revoked.
    pub password_hash: Option<String>,
    /// The session to keep when the password changes (the caller's own).
    pub keep_session: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChangeOutcome {
    /// Done: the user before and after (boxed: the other outcomes are small).
    Done {
        before: Box<OrgUser>,
        after: Box<OrgUser>,
    },
    /// No such user in the organization (or, for delete and update, already deleted).
    NotFound,
    Denied(RoleDenied),
    /// The change would leave the organization without an active OWNER.
    LastOwner,
    /// Activation of a user who is not deleted.
    NotDeleted,
}
