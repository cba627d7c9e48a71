//! [`OrganizationStore`] in SQL, for both backends.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::SqlStore;
use crate::store::{
    NewPasswordReset, Organization, OrganizationPatch, OrganizationStore, ResetRecipient,
    StoreResult,
};

/// Columns of [`Organization`].
const ORGANIZATION_COLUMNS: &str = "id, name, is_business, website, domain, address1, address2, \
     city, zipcode, phone, state, country, repos_disabled, mfa_enforced, deleted_at";

macro_rules! impl_organization_store {
    ($db:ty) => {
        #[async_trait]
        impl OrganizationStore for SqlStore<$db> {
            async fn organization(&self, org_id: Uuid) -> StoreResult<Option<Organization>> {
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organizations \
                     WHERE id = $1 AND deleted_at IS NULL"
                );
                Ok(sqlx::query_as(&sql).bind(org_id).fetch_optional(&self.read).await?)
            }

            async fn update_organization(
                &self,
                org_id: Uuid,
                patch: OrganizationPatch,
                now: i64,
            ) -> StoreResult<Option<Organization>> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                // Read-modify-write under the row lock: a concurrent update of other fields
                // waits for this commit and then reads the row with this change in it.
                let sql = format!(
                    "SELECT {ORGANIZATION_COLUMNS} FROM organizations \
                     WHERE id = $1 AND deleted_at IS NULL{}",
                    self.lock_rows
                );
                let current: Option<Organization> =
                    sqlx::query_as(&sql).bind(org_id).fetch_optional(&mut *tx).await?;
                let Some(mut org) = current else {
                    return Ok(None);
                };
                patch.apply_to(&mut org);
                sqlx::query(
                    "UPDATE organizations SET name = $2, address1 = $3, address2 = $4, \
                     city = $5, zipcode = $6, phone = $7, state = $8, country = $9, \
                     website = $10, is_business = $11, mfa_enforced = $12, updated_at = $13 \
                     WHERE id = $1",
                )
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
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let recipient: Option<ResetRecipient> = sqlx::query_as(
                    "SELECT id AS user_id, email, first_name FROM users \
                     WHERE email_key = $1 AND deleted_at IS NULL",
                )
                .bind(email_key)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(recipient) = recipient else {
                    return Ok(None);
                };
                sqlx::query(
                    "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
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
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM password_resets r JOIN users u ON u.id = r.user_id \
                     WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 \
                     AND u.deleted_at IS NULL",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_one(&self.read)
                .await?;
                Ok(live > 0)
            }

            async fn reset_password(
                &self,
                token_hash: &[u8],
                password_hash: &str,
                now: i64,
            ) -> StoreResult<bool> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                // Claim the token; of several concurrent presenters only one wins this update.
                let user_id: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE password_resets SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                     RETURNING user_id",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(user_id) = user_id else {
                    return Ok(false);
                };
                // Receiving the e-mail proves the address, hence `validated`.
                let updated = sqlx::query(
                    "UPDATE users SET password_hash = $2, validated = $3, updated_at = $4 \
                     WHERE id = $1 AND deleted_at IS NULL",
                )
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
                sqlx::query(
                    "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                // Whoever knew the old password loses access at once.
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

impl_organization_store!(Sqlite);
impl_organization_store!(Postgres);
