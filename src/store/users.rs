//! Organization users and their roles.

use async_trait::async_trait;
use uuid::Uuid;

use super::{NewUser, NewVerification, StoreResult};
use crate::domain::{check_user_change, OrgRole, RoleDenied};

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

impl OrgUser {
    /// Their role; a value outside the defined set cannot be stored (CHECK constraint) and
    /// reads as USER.
    pub fn role(&self) -> OrgRole {
        OrgRole::from_value(self.org_role.into()).unwrap_or(OrgRole::User)
    }
}

impl UserUpdate {
    /// The checks of an update that come before any write, in order: the target is not deleted;
    /// unless it is the actor's own names or password, the role rules allow it. None: go on.
    pub(crate) fn refusal(&self, actor: OrgRole, before: &OrgUser) -> Option<UserChangeOutcome> {
        if before.deleted_at.is_some() {
            return Some(UserChangeOutcome::NotFound);
        }
        let own_profile = self.change.actor_id == self.change.target_id && self.org_role.is_none();
        if own_profile {
            return None;
        }
        check_user_change(actor, before.role(), self.org_role)
            .err()
            .map(UserChangeOutcome::Denied)
    }

    /// Whether it gives the target a role other than OWNER (then, if they are the last active
    /// OWNER, it is refused).
    pub(crate) fn may_remove_owner(&self) -> bool {
        self.org_role.is_some_and(|role| role != OrgRole::Owner)
    }
}

impl UserChange {
    /// The checks of a deletion before any write: the target is not deleted already, and the
    /// role rules allow it. None: go on (the last-owner rule remains).
    pub(crate) fn delete_refusal(
        &self,
        actor: OrgRole,
        before: &OrgUser,
    ) -> Option<UserChangeOutcome> {
        if before.deleted_at.is_some() {
            return Some(UserChangeOutcome::NotFound);
        }
        check_user_change(actor, before.role(), None)
            .err()
            .map(UserChangeOutcome::Denied)
    }

    /// The checks of a re-activation: permission first, so only those allowed learn whether
    /// the user is deleted.
    pub(crate) fn activate_refusal(
        &self,
        actor: OrgRole,
        before: &OrgUser,
    ) -> Option<UserChangeOutcome> {
        if let Err(denied) = check_user_change(actor, before.role(), None) {
            return Some(UserChangeOutcome::Denied(denied));
        }
        before
            .deleted_at
            .is_none()
            .then_some(UserChangeOutcome::NotDeleted)
    }
}

/// What a user change found, read inside its transaction: the acting user's role (None when they
/// are gone or deleted) and the target. The actor must still be there; the target must exist.
pub(crate) fn actor_and_target(
    actor_role: Option<i16>,
    target: Option<OrgUser>,
) -> Result<(OrgRole, OrgUser), UserChangeOutcome> {
    match (
        actor_role.and_then(|r| OrgRole::from_value(r.into())),
        target,
    ) {
        (None, _) => Err(UserChangeOutcome::Denied(RoleDenied::CannotManage)),
        (Some(_), None) => Err(UserChangeOutcome::NotFound),
        (Some(actor), Some(target)) => Ok((actor, target)),
    }
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

impl UserChangeOutcome {
    pub(crate) fn done(before: OrgUser, after: OrgUser) -> UserChangeOutcome {
        UserChangeOutcome::Done {
            before: Box::new(before),
            after: Box::new(after),
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{actor_and_target, OrgUser, UserChange, UserChangeOutcome, UserUpdate};
    use crate::domain::{OrgRole, RoleDenied};

    fn user(id: u128, role: OrgRole, deleted: bool) -> OrgUser {
        OrgUser {
            id: Uuid::from_u128(id),
            org_id: Uuid::nil(),
            email: format!("{id}@example.com"),
            first_name: "F".into(),
            last_name: "L".into(),
            org_role: role.value().into(),
            validated: true,
            deleted_at: deleted.then_some(1),
        }
    }

    fn change(actor: u128, target: u128) -> UserChange {
        UserChange {
            org_id: Uuid::nil(),
            actor_id: Uuid::from_u128(actor),
            target_id: Uuid::from_u128(target),
            now: 0,
        }
    }

    fn update(actor: u128, target: u128, org_role: Option<OrgRole>) -> UserUpdate {
        UserUpdate {
            change: change(actor, target),
            first_name: Some("G".into()),
            last_name: None,
            org_role,
            password_hash: None,
            keep_session: None,
        }
    }

    #[test]
    fn a_gone_actor_is_refused_before_a_missing_target_is_not_found() {
        let target = user(2, OrgRole::User, false);
        assert_eq!(
            actor_and_target(None, None),
            Err(UserChangeOutcome::Denied(RoleDenied::CannotManage))
        );
        assert_eq!(
            actor_and_target(Some(255), None),
            Err(UserChangeOutcome::NotFound)
        );
        assert_eq!(
            actor_and_target(Some(255), Some(target.clone())),
            Ok((OrgRole::Owner, target))
        );
    }

    #[test]
    fn anyone_updates_their_own_names_but_not_their_own_role_past_the_rules() {
        let me = user(1, OrgRole::User, false);
        assert_eq!(update(1, 1, None).refusal(OrgRole::User, &me), None);
        assert_eq!(
            update(1, 1, Some(OrgRole::Owner)).refusal(OrgRole::User, &me),
            Some(UserChangeOutcome::Denied(RoleDenied::CannotManage))
        );
        let other = user(2, OrgRole::User, false);
        assert_eq!(
            update(1, 2, None).refusal(OrgRole::User, &other),
            Some(UserChangeOutcome::Denied(RoleDenied::CannotManage))
        );
        assert_eq!(
            update(1, 2, None).refusal(OrgRole::Workspaces, &other),
            None
        );
        let deleted = user(2, OrgRole::User, true);
        assert_eq!(
            update(1, 2, None).refusal(OrgRole::Owner, &deleted),
            Some(UserChangeOutcome::NotFound)
        );
        assert!(update(1, 2, Some(OrgRole::User)).may_remove_owner());
        assert!(!update(1, 2, Some(OrgRole::Owner)).may_remove_owner());
        assert!(!update(1, 2, None).may_remove_owner());
    }

    #[test]
    fn activation_checks_permission_before_telling_whether_the_user_is_deleted() {
        let live = user(2, OrgRole::User, false);
        let deleted = user(2, OrgRole::User, true);
        let denied = Some(UserChangeOutcome::Denied(RoleDenied::CannotManage));
        assert_eq!(change(1, 2).activate_refusal(OrgRole::User, &live), denied);
        assert_eq!(
            change(1, 2).activate_refusal(OrgRole::User, &deleted),
            denied
        );
        assert_eq!(
            change(1, 2).activate_refusal(OrgRole::Owner, &live),
            Some(UserChangeOutcome::NotDeleted)
        );
        assert_eq!(
            change(1, 2).activate_refusal(OrgRole::Owner, &deleted),
            None
        );
        assert_eq!(
            change(1, 2).delete_refusal(OrgRole::Owner, &deleted),
            Some(UserChangeOutcome::NotFound)
        );
        assert_eq!(change(1, 2).delete_refusal(OrgRole::Owner, &live), None);
    }
}
