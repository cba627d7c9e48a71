//! Organization users and their roles.

use uuid::Uuid;

use super::accounts::{append_user_updated, insert_user, insert_verification};
use super::events::{append_event, json, Actor, Changes, NewEvent, UserFields};
use super::quotas::room_for_one_more_user;
use super::sql::{self, user_columns};
use super::tx::PerDialect;
use super::tx::{args, Tx};
use super::{NewUser, NewVerification, Store, StoreError, StoreResult, User};
use crate::clock::rfc3339;
use crate::domain::{check_user_change, EventKind, OrgId, OrgRole, RoleDenied, SessionId, UserId};

/// Managing the users of an organization. Every query is scoped by the organization; every change
/// of one user by another re-reads both users' roles under a lock of the organization row, so the
/// role rules and "the last active OWNER stays" hold under concurrency and across processes.
impl Store {
    /// All users of the organization, deleted ones included (they can be re-activated), oldest first.
    pub async fn list_org_users(&self, org_id: OrgId) -> StoreResult<Vec<User>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_all(LIST_ORG_USERS, args![org_id], User::from_row)
                    .await
            })
        })
        .await
    }

    /// One user of the organization, deleted or not.
    pub async fn org_user(&self, org_id: OrgId, user_id: UserId) -> StoreResult<Option<User>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(ORG_USER, args![user_id, org_id], User::from_row)
                    .await
            })
        })
        .await
    }

    /// Creates a user (with a verification when an invitation is sent), `actor_id` of the same
    /// organization its author, when the organization's active users stay within `max_users`
    /// (None: unlimited), counted inside the write. `Conflict`: e-mail taken.
    pub async fn create_org_user(
        &self,
        actor_id: UserId,
        user: NewUser,
        verification: Option<NewVerification>,
        max_users: Option<u32>,
    ) -> StoreResult<CreateUserOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                if !room_for_one_more_user(tx, user.org_id, max_users, false).await? {
                    return Ok(CreateUserOutcome::QuotaExceeded);
                }
                let by = Actor {
                    org_id: user.org_id,
                    user_id: actor_id,
                    at: user.created_at,
                };
                insert_user(tx, by, &user).await?;
                if let Some(verification) = &verification {
                    insert_verification(tx, verification).await?;
                }
                Ok(CreateUserOutcome::Created)
            })
        })
        .await
    }

    /// Changes names, role and/or password of a live user, checking the role rules.
    pub async fn update_user(&self, update: UserUpdate) -> StoreResult<UserChangeOutcome> {
        self.write(move |tx| Box::pin(update_user(tx, update)))
            .await
    }

    /// Soft-deletes a live user and revokes their sessions, checking the role rules.
    pub async fn delete_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
        self.write(move |tx| Box::pin(delete_user(tx, change, Deleting::Another)))
            .await
    }

    /// Deactivates the actor's own account (`POST /user/deactivate`): deleted as by an
    /// administrator's delete, sessions ended, restorable by their activate; `LastOwner` for the
    /// organization's last active OWNER.
    pub async fn deactivate_self(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
        // Oneself, whatever target the change names.
        let change = UserChange {
            target_id: change.actor_id,
            ..change
        };
        self.write(move |tx| Box::pin(delete_user(tx, change, Deleting::Oneself)))
            .await
    }

    /// Restores a deleted user, checking the role rules; an active user again, so within
    /// `max_users` (None: unlimited) like a new one.
    pub async fn activate_org_user(
        &self,
        change: UserChange,
        max_users: Option<u32>,
    ) -> StoreResult<UserChangeOutcome> {
        self.write(move |tx| Box::pin(activate_org_user(tx, change, max_users)))
            .await
    }
}

async fn update_user(tx: &mut Tx<'_>, update: UserUpdate) -> StoreResult<UserChangeOutcome> {
    let change = update.change;
    let (actor, before) = match lock_and_load(tx, &change).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    if let Some(refused) = update.refusal(actor, &before) {
        return Ok(refused);
    }
    if update.may_remove_owner() && is_last_owner(tx, &before).await? {
        return Ok(UserChangeOutcome::LastOwner);
    }
    tx.execute(
        UPDATE_USER,
        args![
            change.target_id,
            update.first_name.as_deref(),
            update.last_name.as_deref(),
            update.org_role,
            update.password_hash.as_deref(),
            change.now,
        ],
    )
    .await?;
    if update.password_hash.is_some() {
        // A new password ends every other session: whoever knew the old one is out.
        tx.execute(
            REVOKE_OTHER_SESSIONS,
            args![
                change.target_id,
                change.now,
                update.keep_session.map_or(Uuid::nil(), SessionId::uuid)
            ],
        )
        .await?;
    }
    let after = tx
        .query_opt(USER_BY_ID, args![change.target_id], User::from_row)
        .await?
        .ok_or(StoreError::Unavailable("an updated user vanished"))?;
    let changes = Changes::default()
        .field("name", before.first_name.as_str(), &after.first_name)
        .field("lastName", before.last_name.as_str(), &after.last_name)
        .field("orgRole", before.org_role.value(), after.org_role.value())
        .secret("password", update.password_hash.is_some());
    append_user_updated(tx, &before, change.actor_id, change.now, changes).await?;
    Ok(UserChangeOutcome::done(before, after))
}

/// Whose account a delete ends: another user's (an administrator's delete, under the role
/// rules) or the actor's own (a deactivation, which needs no role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleting {
    Another,
    Oneself,
}

async fn delete_user(
    tx: &mut Tx<'_>,
    change: UserChange,
    whose: Deleting,
) -> StoreResult<UserChangeOutcome> {
    let (actor, before) = match lock_and_load(tx, &change).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    let refused = match whose {
        Deleting::Another => change.delete_refusal(actor, &before),
        Deleting::Oneself => before
            .deleted_at
            .is_some()
            .then_some(UserChangeOutcome::NotFound),
    };
    if let Some(refused) = refused {
        return Ok(refused);
    }
    if is_last_owner(tx, &before).await? {
        return Ok(UserChangeOutcome::LastOwner);
    }
    tx.execute(SOFT_DELETE_USER, args![change.target_id, change.now])
        .await?;
    // Their tokens stop working at once, not at expiry.
    tx.execute(
        sql::REVOKE_USER_SESSIONS,
        args![change.target_id, change.now],
    )
    .await?;
    let by = Actor {
        org_id: change.org_id,
        user_id: change.actor_id,
        at: change.now,
    };
    let data = json(&UserFields::from(&before))?;
    append_event(tx, &NewEvent::user(by, EventKind::Deleted, before.id, data)).await?;
    let after = User {
        deleted_at: Some(change.now),
        ..before.clone()
    };
    Ok(UserChangeOutcome::done(before, after))
}

async fn activate_org_user(
    tx: &mut Tx<'_>,
    change: UserChange,
    max_users: Option<u32>,
) -> StoreResult<UserChangeOutcome> {
    let (actor, before) = match lock_and_load(tx, &change).await? {
        Ok(loaded) => loaded,
        Err(outcome) => return Ok(outcome),
    };
    if let Some(refused) = change.activate_refusal(actor, &before) {
        return Ok(refused);
    }
    // Under the lock `lock_and_load` took.
    if !room_for_one_more_user(tx, change.org_id, max_users, true).await? {
        return Ok(UserChangeOutcome::QuotaExceeded);
    }
    tx.execute(ACTIVATE_USER, args![change.target_id, change.now])
        .await?;
    let changes =
        Changes::default().field("deletedAt", before.deleted_at.map(rfc3339), None::<String>);
    append_user_updated(tx, &before, change.actor_id, change.now, changes).await?;
    let after = User {
        deleted_at: None,
        ..before.clone()
    };
    Ok(UserChangeOutcome::done(before, after))
}

/// Inside the transaction: locks the organization (PostgreSQL; SQLite's writer already holds the
/// write lock) and reads the acting user's current role and the target user. An actor who is
/// gone or deleted meanwhile is refused; a target who does not exist is `NotFound`.
async fn lock_and_load(
    tx: &mut Tx<'_>,
    change: &UserChange,
) -> StoreResult<Result<(OrgRole, User), UserChangeOutcome>> {
    tx.execute_per_dialect(&LOCK_ORGANIZATION, args![change.org_id])
        .await?;
    let actor: Option<OrgRole> = tx
        .query_opt(ACTOR_ROLE, args![change.actor_id, change.org_id], |row| {
            row.get("org_role")
        })
        .await?;
    let target = tx
        .query_opt(
            ORG_USER,
            args![change.target_id, change.org_id],
            User::from_row,
        )
        .await?;
    Ok(actor_and_target(actor, target))
}

/// True when `target` is an OWNER and no other active OWNER exists.
async fn is_last_owner(tx: &mut Tx<'_>, target: &User) -> StoreResult<bool> {
    if target.org_role != OrgRole::Owner {
        return Ok(false);
    }
    let owners = tx
        .count(COUNT_ACTIVE_WITH_ROLE, args![target.org_id, OrgRole::Owner])
        .await?;
    Ok(owners <= 1)
}

/// One user acting on another of the same organization.
#[derive(Debug, Clone, Copy)]
pub struct UserChange {
    pub org_id: OrgId,
    pub actor_id: UserId,
    pub target_id: UserId,
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
    pub keep_session: Option<SessionId>,
}

impl UserUpdate {
    /// The checks of an update that come before any write, in order: the target is not deleted;
    /// unless it is the actor's own names or password, the role rules allow it. None: go on.
    pub(crate) fn refusal(&self, actor: OrgRole, before: &User) -> Option<UserChangeOutcome> {
        if before.deleted_at.is_some() {
            return Some(UserChangeOutcome::NotFound);
        }
        let own_profile = self.change.actor_id == self.change.target_id && self.org_role.is_none();
        if own_profile {
            return None;
        }
        check_user_change(actor, before.org_role, self.org_role)
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
        before: &User,
    ) -> Option<UserChangeOutcome> {
        if before.deleted_at.is_some() {
            return Some(UserChangeOutcome::NotFound);
        }
        check_user_change(actor, before.org_role, None)
            .err()
            .map(UserChangeOutcome::Denied)
    }

    /// The checks of a re-activation: permission first, so only those allowed learn whether
    /// the user is deleted.
    pub(crate) fn activate_refusal(
        &self,
        actor: OrgRole,
        before: &User,
    ) -> Option<UserChangeOutcome> {
        if let Err(denied) = check_user_change(actor, before.org_role, None) {
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
    actor_role: Option<OrgRole>,
    target: Option<User>,
) -> Result<(OrgRole, User), UserChangeOutcome> {
    match (actor_role, target) {
        (None, _) => Err(UserChangeOutcome::Denied(RoleDenied::CannotManage)),
        (Some(_), None) => Err(UserChangeOutcome::NotFound),
        (Some(actor), Some(target)) => Ok((actor, target)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChangeOutcome {
    /// Done: the user before and after (boxed: the other outcomes are small).
    Done {
        before: Box<User>,
        after: Box<User>,
    },
    /// No such user in the organization (or, for delete and update, already deleted).
    NotFound,
    Denied(RoleDenied),
    /// The change would leave the organization without an active OWNER.
    LastOwner,
    /// Activation of a user who is not deleted.
    NotDeleted,
    /// Activation past the organization's limit of active users.
    QuotaExceeded,
}

/// What [`Store::create_org_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateUserOutcome {
    Created,
    /// The organization holds its limit of active users already: nothing was written.
    QuotaExceeded,
}

impl UserChangeOutcome {
    pub(crate) fn done(before: User, after: User) -> UserChangeOutcome {
        UserChangeOutcome::Done {
            before: Box::new(before),
            after: Box::new(after),
        }
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Revokes a user's sessions but one ($3; the nil UUID keeps none).
const REVOKE_OTHER_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3";

const LIST_ORG_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.org_id = $1 ORDER BY u.created_at, u.id"
);

/// A user of the organization, deleted or not.
const ORG_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 AND u.org_id = $2"
);

const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");

/// PostgreSQL only: locks the organization row until commit, so changes of one organization's
/// users (and the additions its user quota counts) run one after the other across every server
/// process. (On SQLite the writer holds the database's write lock already.)
pub(super) const LOCK_ORGANIZATION: PerDialect =
    PerDialect::postgres_only("SELECT id FROM organizations WHERE id = $1 FOR UPDATE");

/// The role of a live user of the organization ($1 user, $2 organization).
const ACTOR_ROLE: &str =
    "SELECT org_role FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL";

const COUNT_ACTIVE_WITH_ROLE: &str =
    "SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND org_role = $2 AND deleted_at IS NULL";

/// Partial update of a user: NULL leaves a field as it is ($6 now).
const UPDATE_USER: &str = "UPDATE users SET first_name = COALESCE($2, first_name), \
     last_name = COALESCE($3, last_name), org_role = COALESCE($4, org_role), \
     password_hash = COALESCE($5, password_hash), updated_at = $6 WHERE id = $1";

const SOFT_DELETE_USER: &str = "UPDATE users SET deleted_at = $2, updated_at = $2 WHERE id = $1";

const ACTIVATE_USER: &str = "UPDATE users SET deleted_at = NULL, updated_at = $2 WHERE id = $1";

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{actor_and_target, User, UserChange, UserChangeOutcome, UserUpdate};
    use crate::domain::{OrgId, OrgRole, RoleDenied, UserId};

    fn user(id: u128, role: OrgRole, deleted: bool) -> User {
        User {
            id: UserId::from_uuid(Uuid::from_u128(id)),
            org_id: OrgId::from_uuid(Uuid::nil()),
            email: format!("{id}@example.com"),
            first_name: "F".into(),
            last_name: "L".into(),
            org_role: role,
            validated: true,
            deleted_at: deleted.then_some(1),
            instance_admin: false,
        }
    }

    fn change(actor: u128, target: u128) -> UserChange {
        UserChange {
            org_id: OrgId::from_uuid(Uuid::nil()),
            actor_id: UserId::from_uuid(Uuid::from_u128(actor)),
            target_id: UserId::from_uuid(Uuid::from_u128(target)),
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
            actor_and_target(Some(OrgRole::Owner), None),
            Err(UserChangeOutcome::NotFound)
        );
        assert_eq!(
            actor_and_target(Some(OrgRole::Owner), Some(target.clone())),
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
