//! [`IdentityStore`] in SQL, for both backends.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::{classify, SqlStore, USER_COLUMNS};
use crate::store::{
    Credentials, IdentityStore, NewOrganization, NewRefreshToken, NewSession, NewUser,
    NewVerification, RefreshOutcome, SessionInfo, StoreResult, User,
};

macro_rules! impl_identity_store {
    ($db:ty) => {
        #[async_trait]
        impl IdentityStore for SqlStore<$db> {
            async fn register(
                &self,
                org: NewOrganization,
                user: NewUser,
                session: NewSession,
                refresh: NewRefreshToken,
                verification: NewVerification,
            ) -> StoreResult<()> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                sqlx::query(
                    "INSERT INTO organizations (id, name, is_business, website, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
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
                let sql = format!(
                    "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
                     JOIN organizations o ON o.id = u.org_id WHERE u.email_key = $1"
                );
                Ok(sqlx::query_as(&sql).bind(email_key).fetch_optional(&self.read).await?)
            }

            async fn create_session(
                &self,
                session: NewSession,
                refresh: NewRefreshToken,
            ) -> StoreResult<()> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
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
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM sessions s \
                     JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id \
                     WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL \
                     AND s.expires_at > $3 AND u.deleted_at IS NULL"
                );
                Ok(sqlx::query_as(&sql)
                    .bind(session_id)
                    .bind(user_id)
                    .bind(now)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn rotate_refresh_token(
                &self,
                presented_hash: &[u8],
                next_hash: &[u8],
                now: i64,
                next_expires_at: i64,
            ) -> StoreResult<RefreshOutcome> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                // Claim the token; only one of several concurrent presenters can win this update.
                let claimed: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE refresh_tokens SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                     RETURNING session_id",
                )
                .bind(presented_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(session_id) = claimed else {
                    let used: Option<(Uuid, Option<i64>)> = sqlx::query_as(
                        "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = $1",
                    )
                    .bind(presented_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    return match used {
                        Some((session_id, Some(_))) => {
                            // Theft detection: a rotated token came back. End the whole session.
                            sqlx::query(
                                "UPDATE sessions SET revoked_at = $2 \
                                 WHERE id = $1 AND revoked_at IS NULL",
                            )
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
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM sessions s \
                     JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.org_id \
                     WHERE s.id = $1 AND s.revoked_at IS NULL AND u.deleted_at IS NULL"
                );
                let user: Option<User> =
                    sqlx::query_as(&sql).bind(session_id).fetch_optional(&mut *tx).await?;
                let Some(user) = user else {
                    return Ok(RefreshOutcome::Invalid);
                };
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(next_hash)
                .bind(session_id)
                .bind(now)
                .bind(next_expires_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1")
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
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND id = \
                     (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)",
                )
                .bind(token_hash)
                .bind(now)
                .execute(&self.write)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_sessions(&self, user_id: Uuid, now: i64) -> StoreResult<Vec<SessionInfo>> {
                Ok(sqlx::query_as(
                    "SELECT id, created_at, last_used_at, expires_at FROM sessions \
                     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                     ORDER BY created_at DESC, id DESC",
                )
                .bind(user_id)
                .bind(now)
                .fetch_all(&self.read)
                .await?)
            }

            async fn revoke_session(
                &self,
                user_id: Uuid,
                session_id: Uuid,
                now: i64,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $3 \
                     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
                )
                .bind(session_id)
                .bind(user_id)
                .bind(now)
                .execute(&self.write)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_verification(&self, verification: NewVerification) -> StoreResult<()> {
                insert_verification!(&self.write, verification);
                Ok(())
            }

            async fn user_by_verification_id(&self, verification_id: Uuid) -> StoreResult<Option<User>> {
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM email_verifications v \
                     JOIN users u ON u.id = v.user_id JOIN organizations o ON o.id = u.org_id \
                     WHERE v.id = $1 AND u.deleted_at IS NULL"
                );
                Ok(sqlx::query_as(&sql).bind(verification_id).fetch_optional(&self.read).await?)
            }

            async fn consume_verification(
                &self,
                token_hash: &[u8],
                now: i64,
                new_password_hash: Option<String>,
            ) -> StoreResult<Option<Uuid>> {
                let mut tx = self.write.begin_with(self.begin_write).await?;
                let user_id: Option<Uuid> = sqlx::query_scalar(
                    "UPDATE email_verifications SET used_at = $2 \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                     RETURNING user_id",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(user_id) = user_id else {
                    return Ok(None);
                };
                let updated = sqlx::query(
                    "UPDATE users SET validated = $2, updated_at = $3, \
                     password_hash = COALESCE($4, password_hash) \
                     WHERE id = $1 AND deleted_at IS NULL",
                )
                .bind(user_id)
                .bind(true)
                .bind(now)
                .bind(new_password_hash)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    return Ok(None);
                }
                tx.commit().await?;
                Ok(Some(user_id))
            }

            async fn mark_validated_by_email(&self, email_key: &str, now: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET validated = $2, updated_at = $3 WHERE email_key = $1",
                )
                .bind(email_key)
                .bind(true)
                .bind(now)
                .execute(&self.write)
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

impl_identity_store!(Sqlite);
impl_identity_store!(Postgres);
