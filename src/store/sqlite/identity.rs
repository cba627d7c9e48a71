//! [`IdentityStore`] on SQLite.
//!
//! Writes run on the writer thread, which holds SQLite's one write lock for the whole batch, so a
//! check followed by a write inside one job cannot race with another writer.

use async_trait::async_trait;
use rusqlite::Connection;
use uuid::Uuid;

use super::exec::{classify, execute, query_all, query_opt};
use super::{rows, SqliteStore};
use crate::store::{
    queries, Credentials, IdentityStore, NewOrganization, NewRefreshToken, NewSession, NewUser,
    NewVerification, RefreshOutcome, SessionInfo, StoreResult, User,
};

pub(super) fn insert_user(conn: &Connection, user: &NewUser) -> StoreResult<()> {
    execute(
        conn,
        queries::INSERT_USER,
        &[
            &user.id,
            &user.org_id,
            &user.email,
            &user.email_key,
            &user.password_hash,
            &user.first_name,
            &user.last_name,
            &user.org_role,
            &false,
            &user.created_at,
        ],
    )
    .map_err(classify)?;
    Ok(())
}

fn insert_session(
    conn: &Connection,
    session: &NewSession,
    refresh: &NewRefreshToken,
) -> rusqlite::Result<()> {
    execute(
        conn,
        queries::INSERT_SESSION,
        &[
            &session.id,
            &session.user_id,
            &session.created_at,
            &session.expires_at,
        ],
    )?;
    execute(
        conn,
        queries::INSERT_REFRESH_TOKEN,
        &[
            &refresh.token_hash,
            &refresh.session_id,
            &refresh.created_at,
            &refresh.expires_at,
        ],
    )?;
    Ok(())
}

pub(super) fn insert_verification(conn: &Connection, v: &NewVerification) -> rusqlite::Result<()> {
    execute(
        conn,
        queries::INSERT_VERIFICATION,
        &[
            &v.id,
            &v.user_id,
            &v.token_hash,
            &v.created_at,
            &v.expires_at,
        ],
    )?;
    Ok(())
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn register(
        &self,
        org: NewOrganization,
        user: NewUser,
        session: NewSession,
        refresh: NewRefreshToken,
        verification: NewVerification,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    queries::INSERT_ORGANIZATION,
                    &[
                        &org.id,
                        &org.name,
                        &org.is_business,
                        &org.website,
                        &org.created_at,
                    ],
                )?;
                insert_user(conn, &user)?;
                insert_session(conn, &session, &refresh)?;
                insert_verification(conn, &verification)?;
                Ok(())
            })
            .await
    }

    async fn credentials_by_email(&self, email_key: &str) -> StoreResult<Option<Credentials>> {
        self.reads
            .run(|conn| {
                query_opt(conn, queries::CREDENTIALS_BY_EMAIL, &[&email_key], |row| {
                    Ok(Credentials {
                        user: rows::user(row)?,
                        password_hash: row.get(9)?,
                    })
                })
            })
            .await
    }

    async fn create_session(
        &self,
        session: NewSession,
        refresh: NewRefreshToken,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| Ok(insert_session(conn, &session, &refresh)?))
            .await
    }

    async fn authenticate(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: i64,
    ) -> StoreResult<Option<User>> {
        self.reads
            .run(|conn| {
                query_opt(
                    conn,
                    queries::AUTHENTICATE,
                    &[&session_id, &user_id, &now],
                    rows::user,
                )
            })
            .await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next_hash: &[u8],
        now: i64,
        next_expires_at: i64,
    ) -> StoreResult<RefreshOutcome> {
        let (presented, next) = (presented_hash.to_vec(), next_hash.to_vec());
        self.writer
            .write(move |conn| {
                let state: Option<(Uuid, Option<i64>, i64)> =
                    query_opt(conn, queries::REFRESH_TOKEN_STATE, &[&presented], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?;
                let session_id = match state {
                    None => return Ok(RefreshOutcome::Invalid),
                    Some((session_id, Some(_used), _)) => {
                        // Theft detection: a rotated token came back. End the whole session.
                        execute(conn, queries::REVOKE_SESSION, &[&session_id, &now])?;
                        return Ok(RefreshOutcome::Reused);
                    }
                    Some((_, None, expires_at)) if expires_at <= now => {
                        return Ok(RefreshOutcome::Invalid)
                    }
                    Some((session_id, None, _)) => session_id,
                };
                let Some(user) =
                    query_opt(conn, queries::SESSION_USER, &[&session_id], rows::user)?
                else {
                    return Ok(RefreshOutcome::Invalid);
                };
                query_opt(
                    conn,
                    queries::CLAIM_REFRESH_TOKEN,
                    &[&presented, &now],
                    |row| row.get::<_, Uuid>(0),
                )?;
                execute(
                    conn,
                    queries::INSERT_REFRESH_TOKEN,
                    &[&next, &session_id, &now, &next_expires_at],
                )?;
                execute(
                    conn,
                    queries::SLIDE_SESSION,
                    &[&session_id, &now, &next_expires_at],
                )?;
                Ok(RefreshOutcome::Rotated { user, session_id })
            })
            .await
    }

    async fn revoke_session_by_refresh_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.to_vec();
        self.writer
            .write(move |conn| {
                let revoked = execute(
                    conn,
                    queries::REVOKE_SESSION_BY_REFRESH_TOKEN,
                    &[&token_hash, &now],
                )?;
                Ok(revoked > 0)
            })
            .await
    }

    async fn list_sessions(&self, user_id: Uuid, now: i64) -> StoreResult<Vec<SessionInfo>> {
        self.reads
            .run(|conn| {
                query_all(
                    conn,
                    queries::LIST_SESSIONS,
                    &[&user_id, &now],
                    rows::session,
                )
            })
            .await
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: i64) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                let revoked = execute(
                    conn,
                    queries::REVOKE_OWN_SESSION,
                    &[&session_id, &user_id, &now],
                )?;
                Ok(revoked > 0)
            })
            .await
    }

    async fn create_verification(&self, verification: NewVerification) -> StoreResult<()> {
        self.writer
            .write(move |conn| Ok(insert_verification(conn, &verification)?))
            .await
    }

    async fn user_by_verification_id(&self, verification_id: Uuid) -> StoreResult<Option<User>> {
        self.reads
            .run(|conn| {
                query_opt(
                    conn,
                    queries::USER_BY_VERIFICATION_ID,
                    &[&verification_id],
                    rows::user,
                )
            })
            .await
    }

    async fn consume_verification(
        &self,
        token_hash: &[u8],
        now: i64,
        new_password_hash: Option<String>,
    ) -> StoreResult<Option<Uuid>> {
        let token_hash = token_hash.to_vec();
        self.writer
            .write(move |conn| {
                let user_id: Option<Uuid> = query_opt(
                    conn,
                    queries::LIVE_VERIFICATION_USER,
                    &[&token_hash, &now],
                    |row| row.get(0),
                )?;
                let Some(user_id) = user_id else {
                    return Ok(None);
                };
                query_opt(
                    conn,
                    queries::CLAIM_VERIFICATION,
                    &[&token_hash, &now],
                    |row| row.get::<_, Uuid>(0),
                )?;
                execute(
                    conn,
                    queries::VALIDATE_USER,
                    &[&user_id, &true, &now, &new_password_hash],
                )?;
                Ok(Some(user_id))
            })
            .await
    }

    async fn mark_validated_by_email(&self, email_key: &str, now: i64) -> StoreResult<bool> {
        let email_key = email_key.to_owned();
        self.writer
            .write(move |conn| {
                let changed =
                    execute(conn, queries::VALIDATE_BY_EMAIL, &[&email_key, &true, &now])?;
                Ok(changed > 0)
            })
            .await
    }
}
