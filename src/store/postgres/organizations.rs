//! [`OrganizationStore`] on PostgreSQL.

use async_trait::async_trait;
use uuid::Uuid;

use super::PgStore;
use crate::store::{
    queries, NewPasswordReset, Organization, OrganizationPatch, OrganizationStore, ResetRecipient,
    StoreResult,
};

#[async_trait]
impl OrganizationStore for PgStore {
    async fn organization(&self, org_id: Uuid) -> StoreResult<Option<Organization>> {
        Ok(sqlx::query_as(queries::ORGANIZATION)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn update_organization(
        &self,
        org_id: Uuid,
        patch: OrganizationPatch,
        now: i64,
    ) -> StoreResult<Option<Organization>> {
        let mut tx = self.pool.begin().await?;
        // Read-modify-write under the row lock: a concurrent update of other fields waits for
        // this commit and then reads the row with this change in it.
        let locked = format!("{} FOR UPDATE", queries::ORGANIZATION);
        let current: Option<Organization> = sqlx::query_as(&locked)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(mut org) = current else {
            return Ok(None);
        };
        patch.apply_to(&mut org);
        sqlx::query(queries::UPDATE_ORGANIZATION)
            .bind(org.id)
            .bind(&org.name)
            .bind(&org.address1)
            .bind(&org.address2)
            .bind(&org.city)
            .bind(&org.zipcode)
            .bind(&org.phone)
            .bind(&org.state)
            .bind(&org.country)
            .bind(&org.website)
            .bind(org.is_business)
            .bind(org.mfa_enforced)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(org))
    }

    async fn create_password_reset(
        &self,
        email_key: &str,
        reset: NewPasswordReset,
    ) -> StoreResult<Option<ResetRecipient>> {
        let mut tx = self.pool.begin().await?;
        let recipient: Option<ResetRecipient> = sqlx::query_as(queries::RESET_RECIPIENT)
            .bind(email_key)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(recipient) = recipient else {
            return Ok(None);
        };
        sqlx::query(queries::INSERT_PASSWORD_RESET)
            .bind(reset.id)
            .bind(recipient.user_id)
            .bind(&reset.token_hash)
            .bind(reset.created_at)
            .bind(reset.expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(recipient))
    }

    async fn password_reset_is_live(&self, token_hash: &[u8], now: i64) -> StoreResult<bool> {
        let live: i64 = sqlx::query_scalar(queries::COUNT_LIVE_RESETS)
            .bind(token_hash)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(live > 0)
    }

    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // Claim the token; of several concurrent presenters only one wins this update.
        let user_id: Option<Uuid> = sqlx::query_scalar(queries::CLAIM_RESET)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user_id) = user_id else {
            return Ok(false);
        };
        // Receiving the e-mail proves the address, hence `validated`.
        let updated = sqlx::query(queries::SET_PASSWORD_VALIDATED)
            .bind(user_id)
            .bind(password_hash)
            .bind(true)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            // Deleted account: dropping the transaction rolls the claim back.
            return Ok(false);
        }
        // Older reset e-mails must not reset the new password again.
        sqlx::query(queries::SPEND_RESETS)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // Whoever knew the old password loses access at once.
        sqlx::query(queries::REVOKE_USER_SESSIONS)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
