//! [`UserStore`] on PostgreSQL.

use async_trait::async_trait;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{classify, PgStore};
use crate::domain::OrgRole;
use crate::store::users::actor_and_target;
use crate::store::{
    queries, NewUser, NewVerification, OrgUser, StoreResult, UserChange, UserChangeOutcome,
    UserStore, UserUpdate,
};

/// Locks the organization row until commit, so changes of one organization's users run one
/// after the other, across every server process.
const LOCK_ORGANIZATION: &str = "SELECT id FROM organizations WHERE id = $1 FOR UPDATE";

/// Inside a transaction: locks the organization and reads the acting user's current role and the
/// target user. An actor who is gone or deleted meanwhile is refused; a target who does not
/// exist is `NotFound`.
async fn lock_and_load(
    tx: &mut PgConnection,
    change: &UserChange,
) -> StoreResult<Result<(OrgRole, OrgUser), UserChangeOutcome>> {
    sqlx::query(LOCK_ORGANIZATION)
        .bind(change.org_id)
        .fetch_optional(&mut *tx)
        .await?;
    let actor: Option<i16> = sqlx::query_scalar(queries::ACTOR_ROLE)
        .bind(change.actor_id)
        .bind(change.org_id)
        .fetch_optional(&mut *tx)
        .await?;
    let target: Option<OrgUser> = sqlx::query_as(queries::ORG_USER)
        .bind(change.target_id)
        .bind(change.org_id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(actor_and_target(actor, target))
}

/// True when `target` is an OWNER and no other active OWNER exists.
async fn is_last_owner(tx: &mut PgConnection, target: &OrgUser) -> StoreResult<bool> {
    let owner = i16::from(OrgRole::Owner.value());
    if target.org_role != owner {
        return Ok(false);
    }
    let owners: i64 = sqlx::query_scalar(queries::COUNT_ACTIVE_WITH_ROLE)
        .bind(target.org_id)
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
    Ok(owners <= 1)
}

#[async_trait]
impl UserStore for PgStore {
    async fn list_org_users(&self, org_id: Uuid) -> StoreResult<Vec<OrgUser>> {
        Ok(sqlx::query_as(queries::LIST_ORG_USERS)
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn org_user(&self, org_id: Uuid, user_id: Uuid) -> StoreResult<Option<OrgUser>> {
        Ok(sqlx::query_as(queries::ORG_USER)
            .bind(user_id)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_org_user(
        &self,
        user: NewUser,
        verification: Option<NewVerification>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_user!(&mut *tx, user);
        if let Some(verification) = verification {
            insert_verification!(&mut *tx, verification);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn update_user(&self, update: UserUpdate) -> StoreResult<UserChangeOutcome> {
        let change = update.change;
        let mut tx = self.pool.begin().await?;
        let (actor, before) = match lock_and_load(&mut tx, &change).await? {
            Ok(loaded) => loaded,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(refused) = update.refusal(actor, &before) {
            return Ok(refused);
        }
        if update.may_remove_owner() && is_last_owner(&mut tx, &before).await? {
            return Ok(UserChangeOutcome::LastOwner);
        }
        sqlx::query(queries::UPDATE_USER)
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
            sqlx::query(queries::REVOKE_OTHER_SESSIONS)
                .bind(change.target_id)
                .bind(change.now)
                .bind(update.keep_session.unwrap_or(Uuid::nil()))
                .execute(&mut *tx)
                .await?;
        }
        let after: OrgUser = sqlx::query_as(queries::ORG_USER_BY_ID)
            .bind(change.target_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UserChangeOutcome::done(before, after))
    }

    async fn delete_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
        let mut tx = self.pool.begin().await?;
        let (actor, before) = match lock_and_load(&mut tx, &change).await? {
            Ok(loaded) => loaded,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(refused) = change.delete_refusal(actor, &before) {
            return Ok(refused);
        }
        if is_last_owner(&mut tx, &before).await? {
            return Ok(UserChangeOutcome::LastOwner);
        }
        sqlx::query(queries::SOFT_DELETE_USER)
            .bind(change.target_id)
            .bind(change.now)
            .execute(&mut *tx)
            .await?;
        // Their tokens stop working at once, not at expiry.
        sqlx::query(queries::REVOKE_USER_SESSIONS)
            .bind(change.target_id)
            .bind(change.now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let after = OrgUser {
            deleted_at: Some(change.now),
            ..before.clone()
        };
        Ok(UserChangeOutcome::done(before, after))
    }

    async fn activate_org_user(&self, change: UserChange) -> StoreResult<UserChangeOutcome> {
        let mut tx = self.pool.begin().await?;
        let (actor, before) = match lock_and_load(&mut tx, &change).await? {
            Ok(loaded) => loaded,
            Err(outcome) => return Ok(outcome),
        };
        if let Some(refused) = change.activate_refusal(actor, &before) {
            return Ok(refused);
        }
        sqlx::query(queries::ACTIVATE_USER)
            .bind(change.target_id)
            .bind(change.now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let after = OrgUser {
            deleted_at: None,
            ..before.clone()
        };
        Ok(UserChangeOutcome::done(before, after))
    }
}
