//! [`UserStore`] in SQL, for both backends.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::{classify, SqlStore};
use crate::domain::{check_user_change, OrgRole, RoleDenied};
use crate::store::{
    NewUser, NewVerification, OrgUser, StoreResult, UserChange, UserChangeOutcome, UserStore,
    UserUpdate,
};

const ORG_USER_COLUMNS: &str =
    "id, org_id, email, first_name, last_name, org_role, validated, deleted_at";

/// Inside a write transaction: locks the organization row (so changes of one organization's
/// users run one after the other on every backend) and reads the acting user's current role and
/// the target user. Evaluates to `Result<(OrgRole, OrgUser), UserChangeOutcome>`; an actor who is
/// gone or deleted meanwhile is refused, a target who does not exist is `NotFound`.
macro_rules! lock_and_load {
    ($store:expr, $tx:expr, $change:expr) => {{
        let lock = format!(
            "SELECT id FROM organizations WHERE id = $1{}",
            $store.lock_rows
        );
        sqlx::query(&lock)
            .bind($change.org_id)
            .fetch_optional(&mut *$tx)
            .await?;
        let actor: Option<i16> = sqlx::query_scalar(
            "SELECT org_role FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL",
        )
        .bind($change.actor_id)
        .bind($change.org_id)
        .fetch_optional(&mut *$tx)
        .await?;
        let sql = format!("SELECT {ORG_USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2");
        let target: Option<OrgUser> = sqlx::query_as(&sql)
            .bind($change.target_id)
            .bind($change.org_id)
            .fetch_optional(&mut *$tx)
            .await?;
        match (actor.and_then(|r| OrgRole::from_value(r.into())), target) {
            (None, _) => Err(UserChangeOutcome::Denied(RoleDenied::CannotManage)),
            (Some(_), None) => Err(UserChangeOutcome::NotFound),
            (Some(actor), Some(target)) => Ok((actor, target)),
        }
    }};
}

/// Evaluates to true when `target` is an OWNER and no other active OWNER exists.
macro_rules! is_last_owner {
    ($tx:expr, $target:expr) => {{
        if i64::from($target.org_role) != i64::from(OrgRole::Owner.value()) {
            false
        } else {
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE org_id = $1 AND org_role = $2 AND deleted_at IS NULL",
            )
            .bind($target.org_id)
            .bind(i16::from(OrgRole::Owner.value()))
            .fetch_one(&mut *$tx)
            .await?;
            owners <= 1
        }
    }};
}

fn role_of(user: &OrgUser) -> OrgRole {
    OrgRole::from_value(user.org_role.into()).unwrap_or(OrgRole::User)
}

macro_rules! impl_user_store {
    ($db:ty) => {
        #[async_trait]
        impl UserStore for SqlStore<$db> {
            async fn list_org_users(&self, org_id: Uuid) -> StoreResult<Vec<OrgUser>> {
                let sql = format!(
                    "SELECT {ORG_USER_COLUMNS} FROM users WHERE org_id = $1 ORDER BY created_at, id"
                );
                Ok(sqlx::query_as(&sql).bind(org_id).fetch_all(&self.read).await?)
            }

            async fn org_user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<Option<OrgUser>> {
                let sql =
                    format!("SELECT {ORG_USER_COLUMNS} FROM users WHERE id = $1 AND org_id = $2");
                Ok(sqlx::query_as(&sql).bind(user_id).bind(org_id).fetch_optional(&self.read).await?)
            }

            async fn create_org_user(
                &self,
                user: NewUser,
                verification: Option<NewVerification>,
            ) -> StoreResult<()> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                insert_user!(&mut *tx, user);
                if let Some(verification) = verification {
                    insert_verification!(&mut *tx, verification);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn update_user(&self, update: UserUpdate) -> StoreResult<UserChangeOutcome> {
                let change = update.change;
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let (actor, before) = match lock_and_load!(self, tx, change) {
                    Ok(loaded) => loaded,
                    Err(outcome) => return Ok(outcome),
                };
                if before.deleted_at.is_some() {
                    return Ok(UserChangeOutcome::NotFound);
                }
                // Anyone may change their own names and password; everything else follows the rules.
                let own_profile = change.actor_id == change.target_id && update.org_role.is_none();
                if !own_profile {
                    if let Err(denied) = check_user_change(actor, role_of(&before), update.org_role) {
                        return Ok(UserChangeOutcome::Denied(denied));
                    }
                }
                let loses_owner = update.org_role.is_some_and(|r| r != OrgRole::Owner);
                if loses_owner && is_last_owner!(tx, before) {
                    return Ok(UserChangeOutcome::LastOwner);
                }
                sqlx::query(
                    "UPDATE users SET first_name = COALESCE($2, first_name), \
                     last_name = COALESCE($3, last_name), org_role = COALESCE($4, org_role), \
                     password_hash = COALESCE($5, password_hash), updated_at = $6 WHERE id = $1",
                )
                .bind(change.target_id)
                .bind(&update.first_name)
                .bind(&update.last_name)
                .bind(update.org_role.map(|r| i16::from(r.value())))
                .bind(&update.password_hash)
                .bind(change.now)
                .execute(&mut *tx)
                .await?;
                if update.password_hash.is_some() {
                    // A new password ends every other session: whoever knew the old one is out.
                    sqlx::query(
                        "UPDATE sessions SET revoked_at = $2 \
                         WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3",
                    )
                    .bind(change.target_id)
                    .bind(change.now)
                    .bind(update.keep_session.unwrap_or(Uuid::nil()))
                    .execute(&mut *tx)
                    .await?;
                }
                let sql = format!("SELECT {ORG_USER_COLUMNS} FROM users WHERE id = $1");
                let after: OrgUser = sqlx::query_as(&sql).bind(change.target_id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(UserChangeOutcome::Done { before: Box::new(before), after: Box::new(after) })
            }

            async fn delete_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let (actor, before) = match lock_and_load!(self, tx, change) {
                    Ok(loaded) => loaded,
                    Err(outcome) => return Ok(outcome),
                };
                if before.deleted_at.is_some() {
                    return Ok(UserChangeOutcome::NotFound);
                }
                if let Err(denied) = check_user_change(actor, role_of(&before), None) {
                    return Ok(UserChangeOutcome::Denied(denied));
                }
                if is_last_owner!(tx, before) {
                    return Ok(UserChangeOutcome::LastOwner);
                }
                sqlx::query("UPDATE users SET deleted_at = $2, updated_at = $2 WHERE id = $1")
                    .bind(change.target_id)
                    .bind(change.now)
                    .execute(&mut *tx)
                    .await?;
                // Their tokens stop working at once, not at expiry.
                sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(change.target_id)
                    .bind(change.now)
                    .execute(&mut *tx)
                    .await?;
                let after = OrgUser { deleted_at: Some(change.now), ..before.clone() };
                tx.commit().await?;
                Ok(UserChangeOutcome::Done { before: Box::new(before), after: Box::new(after) })
            }

            async fn activate_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let (actor, before) = match lock_and_load!(self, tx, change) {
                    Ok(loaded) => loaded,
                    Err(outcome) => return Ok(outcome),
                };
                // Permission first, so only those allowed learn whether the user is deleted.
                if let Err(denied) = check_user_change(actor, role_of(&before), None) {
                    return Ok(UserChangeOutcome::Denied(denied));
                }
                if before.deleted_at.is_none() {
                    return Ok(UserChangeOutcome::NotDeleted);
                }
                sqlx::query("UPDATE users SET deleted_at = NULL, updated_at = $2 WHERE id = $1")
                    .bind(change.target_id)
                    .bind(change.now)
                    .execute(&mut *tx)
                    .await?;
                let after = OrgUser { deleted_at: None, ..before.clone() };
                tx.commit().await?;
                Ok(UserChangeOutcome::Done { before: Box::new(before), after: Box::new(after) })
            }
        }
    };
}

impl_user_store!(Sqlite);
impl_user_store!(Postgres);
