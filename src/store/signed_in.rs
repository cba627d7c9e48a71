//! The caller's own sessions as the "signed in" view sees them (contract section 9): the same
//! rows as `GET /token` (`Store::list_sessions`, `Store::revoke_session`), plus ending them all
//! and a heartbeat. These writes append no system event: section 7 lists none for sessions.

use super::tx::args;
use super::{queries, Store, StoreResult};
use crate::domain::{SessionId, UserId};

impl Store {
    /// Revokes every live session of the user, the caller's own included.
    pub async fn revoke_all_sessions(&self, user_id: UserId, now: i64) -> StoreResult<u64> {
        self.write_single(move |tx| {
            Box::pin(async move {
                tx.execute(queries::REVOKE_USER_SESSIONS, args![user_id, now])
                    .await
            })
        })
        .await
    }

    /// Records activity on one of the user's live sessions and slides its expiry to
    /// `next_expires_at`, but never past `lifetime_ms` after its login, as a refresh does; its
    /// unused refresh token follows. Returns the new expiry, or None for an unknown, ended or
    /// another user's session.
    pub async fn heartbeat_session(
        &self,
        user_id: UserId,
        session_id: SessionId,
        now: i64,
        next_expires_at: i64,
        lifetime_ms: i64,
    ) -> StoreResult<Option<i64>> {
        self.write(move |tx| {
            Box::pin(async move {
                let expires_at: Option<i64> = tx
                    .query_opt(
                        queries::HEARTBEAT_SESSION,
                        args![session_id, user_id, now, lifetime_ms, next_expires_at],
                        |row| row.get("expires_at"),
                    )
                    .await?;
                if let Some(expires_at) = expires_at {
                    tx.execute(queries::SLIDE_REFRESH_TOKENS, args![session_id, expires_at])
                        .await?;
                }
                Ok(expires_at)
            })
        })
        .await
    }
}
