//! [`IdentityStore`] on PostgreSQL.

use async_trait::async_trait;
use uuid::Uuid;

use super::{classify, PgStore};
use crate::store::{
    queries, Credentials, IdentityStore, NewOrganization, NewRefreshToken, NewSession, NewUser,
    NewVerification, RefreshOutcome, SessionInfo, StoreResult, User,
};

#[async_trait]
impl IdentityStore for PgStore {
    async fn register(
        &self,
        org: NewOrganization,
        user: NewUser,
        session: NewSession,
        refresh: NewRefreshToken,
        verification: NewVerification,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(queries::INSERT_ORGANIZATION)
            .bind(org.id)
            .bind(&org.name)
            .bind(org.is_business)
            .bind(&org.website)
            .bind(org.created_at)
            .execute(&mut *tx)
            .await?;
        insert_user!(&mut *tx, user);
        insert_session!(&mut *tx, session, refresh);
        insert_verification!(&mut *tx, verification);
        tx.commit().await?;
        Ok(())
    }

    async fn credentials_by_email(&self, email_key: &str) -> StoreResult<Option<Credentials>> {
        Ok(sqlx::query_as(queries::CREDENTIALS_BY_EMAIL)
            .bind(email_key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_session(
        &self,
        session: NewSession,
        refresh: NewRefreshToken,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_session!(&mut *tx, session, refresh);
        tx.commit().await?;
        Ok(())
    }

    async fn authenticate(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: i64,
    ) -> StoreResult<Option<User>> {
        Ok(sqlx::query_as(queries::AUTHENTICATE)
            .bind(session_id)
            .bind(user_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next_hash: &[u8],
        now: i64,
        next_expires_at: i64,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.pool.begin().await?;
        // Claim the token; only one of several concurrent presenters can win this update.
        let claimed: Option<Uuid> = sqlx::query_scalar(queries::CLAIM_REFRESH_TOKEN)
            .bind(presented_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(session_id) = claimed else {
            let state: Option<(Uuid, Option<i64>, i64)> =
                sqlx::query_as(queries::REFRESH_TOKEN_STATE)
                    .bind(presented_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            return match state {
                Some((session_id, Some(_used), _)) => {
                    // Theft detection: a rotated token came back. End the whole session.
                    sqlx::query(queries::REVOKE_SESSION)
                        .bind(session_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(RefreshOutcome::Reused)
                }
                _ => Ok(RefreshOutcome::Invalid),
            };
        };
        let user: Option<User> = sqlx::query_as(queries::SESSION_USER)
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user) = user else {
            // Dropping the transaction rolls the claim back.
            return Ok(RefreshOutcome::Invalid);
        };
        sqlx::query(queries::INSERT_REFRESH_TOKEN)
            .bind(next_hash)
            .bind(session_id)
            .bind(now)
            .bind(next_expires_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(queries::SLIDE_SESSION)
            .bind(session_id)
            .bind(now)
            .bind(next_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated { user, session_id })
    }

    async fn revoke_session_by_refresh_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(queries::REVOKE_SESSION_BY_REFRESH_TOKEN)
            .bind(token_hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_sessions(&self, user_id: Uuid, now: i64) -> StoreResult<Vec<SessionInfo>> {
        Ok(sqlx::query_as(queries::LIST_SESSIONS)
            .bind(user_id)
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(queries::REVOKE_OWN_SESSION)
            .bind(session_id)
            .bind(user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_verification(&self, verification: NewVerification) -> StoreResult<()> {
        insert_verification!(&self.pool, verification);
        Ok(())
    }

    async fn user_by_verification_id(&self, verification_id: Uuid) -> StoreResult<Option<User>> {
        Ok(sqlx::query_as(queries::USER_BY_VERIFICATION_ID)
            .bind(verification_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn consume_verification(
        &self,
        token_hash: &[u8],
        now: i64,
        new_password_hash: Option<String>,
    ) -> StoreResult<Option<Uuid>> {
        let mut tx = self.pool.begin().await?;
        let user_id: Option<Uuid> = sqlx::query_scalar(queries::CLAIM_VERIFICATION)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        let updated = sqlx::query(queries::VALIDATE_USER)
            .bind(user_id)
            .bind(true)
            .bind(now)
            .bind(new_password_hash)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            // Deleted account: dropping the transaction rolls the claim back.
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(user_id))
    }

    async fn mark_validated_by_email(&self, email_key: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(queries::VALIDATE_BY_EMAIL)
            .bind(email_key)
            .bind(true)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
