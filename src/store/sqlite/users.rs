//! [`UserStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::Connection;
use uuid::Uuid;

use super::exec::{count, execute, query_all, query_opt};
use super::identity::{insert_user, insert_verification};
use super::{rows, SqliteStore};
use crate::domain::OrgRole;
use crate::store::users::actor_and_target;
use crate::store::{
    queries, NewUser, NewVerification, OrgUser, StoreResult, UserChange, UserChangeOutcome,
    UserStore, UserUpdate,
};

/// Inside the write transaction: the acting user's current role and the target user. An actor
/// who is gone or deleted meanwhile is refused; a target who does not exist is `NotFound`.
fn load(
    conn: &Connection,
    change: &UserChange,
) -> rusqlite::Result<Result<(OrgRole, OrgUser), UserChangeOutcome>> {
    let actor: Option<i16> = query_opt(
        conn,
        queries::ACTOR_ROLE,
        &[&change.actor_id, &change.org_id],
        |row| row.get(0),
    )?;
    let target = query_opt(
        conn,
        queries::ORG_USER,
        &[&change.target_id, &change.org_id],
        rows::org_user,
    )?;
    Ok(actor_and_target(actor, target))
}

/// True when `target` is an OWNER and no other active OWNER exists.
fn is_last_owner(conn: &Connection, target: &OrgUser) -> rusqlite::Result<bool> {
    let owner = i16::from(OrgRole::Owner.value());
    if target.org_role != owner {
        return Ok(false);
    }
    let owners = count(
        conn,
        queries::COUNT_ACTIVE_WITH_ROLE,
        &[&target.org_id, &owner],
    )?;
    Ok(owners <= 1)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn list_org_users(&self, org_id: Uuid) -> StoreResult<Vec<OrgUser>> {
        self.reads
            .run(|conn| query_all(conn, queries::LIST_ORG_USERS, &[&org_id], rows::org_user))
            .await
    }

    async fn org_user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<Option<OrgUser>> {
        self.reads
            .run(|conn| {
                query_opt(
                    conn,
                    queries::ORG_USER,
                    &[&user_id, &org_id],
                    rows::org_user,
                )
            })
            .await
    }

    async fn create_org_user(
        &self,
        user: NewUser,
        verification: Option<NewVerification>,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| {
                insert_user(conn, &user)?;
                if let Some(verification) = &verification {
                    insert_verification(conn, verification)?;
                }
                Ok(())
            })
            .await
    }

    async fn update_user(&self, update: UserUpdate) -> StoreResult<UserChangeOutcome> {
        self.writer
            .write(move |conn| {
                let change = update.change;
                let (actor, before) = match load(conn, &change)? {
                    Ok(loaded) => loaded,
                    Err(outcome) => return Ok(outcome),
                };
                if let Some(refused) = update.refusal(actor, &before) {
                    return Ok(refused);
                }
                if update.may_remove_owner() && is_last_owner(conn, &before)? {
                    return Ok(UserChangeOutcome::LastOwner);
                }
                execute(
                    conn,
                    queries::UPDATE_USER,
                    &[
                        &change.target_id,
                        &update.first_name,
                        &update.last_name,
                        &update.org_role.map(|r| i16::from(r.value())),
                        &update.password_hash,
                        &change.now,
                    ],
                )?;
                if update.password_hash.is_some() {
                    // A new password ends every other session: whoever knew the old one is out.
                    execute(
                        conn,
                        queries::REVOKE_OTHER_SESSIONS,
                        &[
                            &change.target_id,
                            &change.now,
                            &update.keep_session.unwrap_or(Uuid::nil()),
                        ],
                    )?;
                }
                let after = query_opt(
                    conn,
                    queries::ORG_USER_BY_ID,
                    &[&change.target_id],
                    rows::org_user,
                )?
                .unwrap_or_else(|| before.clone());
                Ok(UserChangeOutcome::done(before, after))
            })
            .await
    }

    async fn delete_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
        self.writer
            .write(move |conn| {
                let (actor, before) = match load(conn, &change)? {
                    Ok(loaded) => loaded,
                    Err(outcome) => return Ok(outcome),
                };
                if let Some(refused) = change.delete_refusal(actor, &before) {
                    return Ok(refused);
                }
                if is_last_owner(conn, &before)? {
                    return Ok(UserChangeOutcome::LastOwner);
                }
                execute(
                    conn,
                    queries::SOFT_DELETE_USER,
                    &[&change.target_id, &change.now],
                )?;
                // Their tokens stop working at once, not at expiry.
                execute(
                    conn,
                    queries::REVOKE_USER_SESSIONS,
                    &[&change.target_id, &change.now],
                )?;
                let after = OrgUser {
                    deleted_at: Some(change.now),
                    ..before.clone()
                };
                Ok(UserChangeOutcome::done(before, after))
            })
            .await
    }

    async fn activate_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
        self.writer
            .write(move |conn| {
                let (actor, before) = match load(conn, &change)? {
                    Ok(loaded) => loaded,
                    Err(outcome) => return Ok(outcome),
                };
                if let Some(refused) = change.activate_refusal(actor, &before) {
                    return Ok(refused);
                }
                execute(
                    conn,
                    queries::ACTIVATE_USER,
                    &[&change.target_id, &change.now],
                )?;
                let after = OrgUser {
                    deleted_at: None,
                    ..before.clone()
                };
                Ok(UserChangeOutcome::done(before, after))
            })
            .await
    }
}
