//! Sessions: opening one (a login), authenticating a request by it, rotating its refresh
//! token, and ending it; and the caller's own sessions as `GET /token` and the "signed in" view
//! (contract section 9) see them: listed, revoked one by one or all at once, kept alive by a
//! heartbeat. These writes append no system event: section 7 lists none for sessions.

use super::devices::{trim_devices, upsert_device, NewDevice};
use super::sql::{self, mfa_required, user_columns};
use super::tx::{args, Row, Tx};
use super::{Store, StoreResult, User};
use crate::domain::{LoginMethod, SessionId, UserId};

/// A user has at most this many live sessions pending their second factor: a login that opens
/// one more ends the oldest (contract section 8).
pub const MAX_PENDING_SESSIONS: i64 = 10;

impl Store {
    /// Starts the session of a password login, whose password was checked against
    /// `password_hash` (read before the slow hash): under the user's MFA lock, the account is
    /// read again, so that what the hash took its time over cannot have changed unseen. The
    /// session opens only while the user is live and still has that password, and it waits for
    /// its second factor (`mfa_pending`, ending at `pending_expires_at` at the latest) exactly
    /// when MFA is required of the user now: a method switched on, or enforcement started, while the
    /// password was being hashed counts (contract section 8, "a password alone never opens an
    /// account that has MFA").
    pub async fn open_password_session(
        &self,
        mut session: NewSession,
        refresh: NewRefreshToken,
        password_hash: String,
        pending_expires_at: i64,
    ) -> StoreResult<PasswordSession> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.query_opt_per_dialect(&sql::LOCK_MFA_USER, args![session.user_id], |_| Ok(()))
                    .await?;
                let account = tx
                    .query_opt(PASSWORD_LOGIN_ACCOUNT, args![session.user_id], |row| {
                        Ok((
                            row.get::<Option<String>>("password_hash")?,
                            row.get::<Option<i64>>("deleted_at")?,
                            row.get::<bool>("mfa_required")?,
                        ))
                    })
                    .await?;
                let Some((current_hash, deleted_at, mfa_required)) = account else {
                    return Ok(PasswordSession::Inactive);
                };
                if deleted_at.is_some() {
                    return Ok(PasswordSession::Inactive);
                }
                if current_hash.as_deref() != Some(password_hash.as_str()) {
                    return Ok(PasswordSession::PasswordChanged);
                }
                session.decide_mfa(mfa_required, &refresh, pending_expires_at);
                insert_session(tx, &session, &refresh).await?;
                Ok(PasswordSession::Opened {
                    mfa_pending: session.mfa_pending,
                })
            })
        })
        .await
    }

    /// The user behind a live session (not revoked, not expired, user not deleted), and when
    /// the session began.
    pub async fn authenticate(
        &self,
        session_id: SessionId,
        user_id: UserId,
        now: i64,
    ) -> StoreResult<Option<SessionUser>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(
                    sql::AUTHENTICATE,
                    args![session_id, user_id, now],
                    SessionUser::from_row,
                )
                .await
            })
        })
        .await
    }

    /// Exchanges a refresh token of session `session_id` for a new one (rotation): the presented
    /// token is marked used and `next_hash` becomes the session's token until `next_expires_at`,
    /// which the session slides to, but never past `lifetime_ms` after its login (its absolute
    /// lifetime; a session older than that cannot refresh). A token that was already used
    /// revokes its whole session.
    pub async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        session_id: SessionId,
        next_hash: &[u8],
        now: i64,
        next_expires_at: i64,
        lifetime_ms: i64,
    ) -> StoreResult<RefreshOutcome> {
        let (presented, next) = (presented_hash.to_vec(), next_hash.to_vec());
        let born_after = now.saturating_sub(lifetime_ms);
        self.write(move |tx| {
            Box::pin(async move {
                // The claim comes first: of several concurrent presenters of one token, only one
                // can win this update (on PostgreSQL the others wait for its row lock, then see it
                // used).
                let claimed: Option<SessionId> = tx
                    .query_opt(
                        CLAIM_REFRESH_TOKEN,
                        args![&presented, now, session_id, born_after],
                        |row| row.get("session_id"),
                    )
                    .await?;
                let Some(session_id) = claimed else {
                    let used = tx
                        .query_opt(REFRESH_TOKEN_STATE, args![&presented], |row| {
                            Ok((
                                row.get::<SessionId>("session_id")?,
                                row.get::<Option<i64>>("used_at")?,
                            ))
                        })
                        .await?;
                    return match used {
                        Some((session_id, Some(_))) => {
                            // Theft detection: a rotated token came back. End the whole session.
                            tx.execute(REVOKE_SESSION, args![session_id, now]).await?;
                            Ok(RefreshOutcome::Reused)
                        }
                        _ => Ok(RefreshOutcome::Invalid),
                    };
                };
                let found = tx
                    .query_opt(SESSION_USER, args![session_id], |row| {
                        Ok((User::from_row(row)?, row.get::<i64>("session_created_at")?))
                    })
                    .await?;
                let Some((user, created_at)) = found else {
                    // Only when the user was deleted between the two statements.
                    return Ok(RefreshOutcome::Invalid);
                };
                let next_expires_at = next_expires_at.min(created_at.saturating_add(lifetime_ms));
                tx.execute(
                    sql::INSERT_REFRESH_TOKEN,
                    args![&next, session_id, now, next_expires_at],
                )
                .await?;
                tx.execute(SLIDE_SESSION, args![session_id, now, next_expires_at])
                    .await?;
                Ok(RefreshOutcome::Rotated { user, session_id })
            })
        })
        .await
    }

    /// Revokes the session a refresh token (current or already rotated) belongs to.
    pub async fn revoke_session_by_refresh_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<bool> {
        let token_hash = token_hash.to_vec();
        self.write_single(move |tx| {
            Box::pin(async move {
                let revoked = tx
                    .execute(REVOKE_SESSION_BY_REFRESH_TOKEN, args![&token_hash, now])
                    .await?;
                Ok(revoked > 0)
            })
        })
        .await
    }

    /// The user's live sessions, newest first (one statement, also for a user with many).
    pub async fn list_sessions(&self, user_id: UserId, now: i64) -> StoreResult<Vec<SessionInfo>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_all(LIST_SESSIONS, args![user_id, now], |row| {
                    Ok(SessionInfo {
                        id: row.get("id")?,
                        created_at: row.get("created_at")?,
                        last_used_at: row.get("last_used_at")?,
                        expires_at: row.get("expires_at")?,
                        ip_address: row.get("ip_address")?,
                        device_name: row.get("device_name")?,
                        login_method: LoginMethod::parse(&row.get::<String>("login_method")?),
                    })
                })
                .await
            })
        })
        .await
    }

    /// Revokes one of the user's own live sessions; false when there is no such session.
    pub async fn revoke_session(
        &self,
        user_id: UserId,
        session_id: SessionId,
        now: i64,
    ) -> StoreResult<bool> {
        self.write_single(move |tx| {
            Box::pin(async move {
                let revoked = tx
                    .execute(REVOKE_OWN_SESSION, args![session_id, user_id, now])
                    .await?;
                Ok(revoked > 0)
            })
        })
        .await
    }

    /// Revokes every live session of the user, the caller's own included.
    pub async fn revoke_all_sessions(&self, user_id: UserId, now: i64) -> StoreResult<u64> {
        self.write_single(move |tx| {
            Box::pin(async move {
                tx.execute(sql::REVOKE_USER_SESSIONS, args![user_id, now])
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
                        HEARTBEAT_SESSION,
                        args![session_id, user_id, now, lifetime_ms, next_expires_at],
                        |row| row.get("expires_at"),
                    )
                    .await?;
                if let Some(expires_at) = expires_at {
                    tx.execute(SLIDE_REFRESH_TOKENS, args![session_id, expires_at])
                        .await?;
                }
                Ok(expires_at)
            })
        })
        .await
    }
}

/// Inserts a session with its first refresh token, on the device it came from, and keeps the
/// user's limits: at most [`MAX_DEVICES`](super::devices::MAX_DEVICES) devices (the least
/// recently seen go) and, for a pending session, at most [`MAX_PENDING_SESSIONS`] live pending
/// sessions (the oldest end).
pub(super) async fn insert_session(
    tx: &mut Tx<'_>,
    session: &NewSession,
    refresh: &NewRefreshToken,
) -> StoreResult<()> {
    if session.mfa_pending {
        // Pending sessions are counted under the user's MFA lock: concurrent logins, on any
        // number of instances, leave at most MAX_PENDING_SESSIONS.
        tx.query_opt_per_dialect(&sql::LOCK_MFA_USER, args![session.user_id], |_| Ok(()))
            .await?;
    }
    let device_id = upsert_device(tx, &session.device).await?;
    trim_devices(tx, session.user_id, device_id).await?;
    tx.execute(
        INSERT_SESSION,
        args![
            session.id,
            session.user_id,
            session.created_at,
            session.expires_at,
            device_id,
            &session.device.ip_address(),
            session.mfa_pending,
            session.login_method.as_str()
        ],
    )
    .await?;
    if session.mfa_pending {
        tx.execute(
            END_OLDEST_PENDING_SESSIONS,
            args![session.user_id, session.created_at, MAX_PENDING_SESSIONS],
        )
        .await?;
    }
    tx.execute(
        sql::INSERT_REFRESH_TOKEN,
        args![
            &refresh.token_hash,
            refresh.session_id,
            refresh.created_at,
            refresh.expires_at
        ],
    )
    .await?;
    Ok(())
}

/// What [`Store::open_password_session`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSession {
    /// The session is open; `mfa_pending`: it waits for its second factor.
    Opened { mfa_pending: bool },
    /// The user was deleted meanwhile: no session.
    Inactive,
    /// The password changed meanwhile (a reset, a change): the one presented is no longer the
    /// account's, so no session.
    PasswordChanged,
}

/// The caller of a request, as the session check reads them.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    /// When the session began (its login or registration), Unix ms; refreshes keep it.
    pub session_created_at: i64,
    pub mfa: SessionMfa,
}

impl SessionUser {
    /// Reads the columns of `sql::AUTHENTICATE`.
    pub(super) fn from_row(row: &Row<'_>) -> StoreResult<SessionUser> {
        Ok(SessionUser {
            user: User::from_row(row)?,
            session_created_at: row.get("session_created_at")?,
            mfa: SessionMfa {
                pending: row.get("mfa_pending")?,
                verified: row.get("mfa_verified")?,
            },
        })
    }
}

/// Where a session stands with the second factor (contract section 8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionMfa {
    /// Opened by a password alone for a user who needs MFA: until `verify-login` passes, it may
    /// call only the pending-session allow-list.
    pub pending: bool,
    /// Passed MFA (`verify-login`, or enrolling a method in this session).
    pub verified: bool,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    /// The device it comes from, recorded (or refreshed) with it.
    pub device: NewDevice,
    /// It waits for its second factor (see [`SessionMfa::pending`]).
    pub mfa_pending: bool,
    /// A password, or which identity provider.
    pub login_method: LoginMethod,
}

impl NewSession {
    /// Whether the session waits for its second factor, as decided when it opens (under the
    /// user's MFA lock): a full session lives as long as its first refresh token, a pending one
    /// ends at `pending_until` at the latest.
    pub(super) fn decide_mfa(
        &mut self,
        pending: bool,
        refresh: &NewRefreshToken,
        pending_until: i64,
    ) {
        self.mfa_pending = pending;
        self.expires_at = if pending {
            refresh.expires_at.min(pending_until)
        } else {
            refresh.expires_at
        };
    }
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token_hash: Vec<u8>,
    pub session_id: SessionId,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
    /// The token was live; `next` is now the session's token.
    Rotated { user: User, session_id: SessionId },
    /// The token had been used before: the session is now revoked.
    Reused,
    /// Unknown, expired, or its session is gone.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: SessionId,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    /// The client address it was opened from, when known.
    pub ip_address: Option<String>,
    /// Its device's name; None for a session opened before devices were recorded.
    pub device_name: Option<String>,
    pub login_method: LoginMethod,
}

// ---- SQL ----------------------------------------------------------------------------------------
//
// The `pub(super)` ones are read by the plan test of the signed-in pages too (`devices`).

/// What a password login checks again when it opens its session: user $1's password hash,
/// whether they are deleted, and whether MFA is required of them now.
const PASSWORD_LOGIN_ACCOUNT: &str = concat!(
    "SELECT u.password_hash, u.deleted_at, ",
    mfa_required!(),
    " AS mfa_required FROM users u WHERE u.id = $1"
);

/// Binds: id, user_id, created_at, expires_at, device_id, ip_address, mfa_pending (whether the
/// session waits for its second factor), login_method.
const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, device_id, \
     ip_address, mfa_pending, login_method) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)";

/// Ends user $1's live pending sessions ($2 now) but the $3 newest (ties broken by id), so that
/// a user has at most that many waiting for their second factor. Written for both backends: a
/// LIMIT inside `NOT IN`, not an OFFSET (SQLite has no `LIMIT ALL`, PostgreSQL no `LIMIT -1`).
pub(super) const END_OLDEST_PENDING_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND mfa_pending AND revoked_at IS NULL AND expires_at > $2 \
     AND id NOT IN (SELECT id FROM sessions WHERE user_id = $1 AND mfa_pending \
     AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC LIMIT $3)";

/// Marks a live refresh token of session $3 used ($1 hash, $2 now); returns its session.
/// Only a token of a session that is not revoked, was opened after $4 (the absolute lifetime)
/// and whose user is not deleted is claimed; and, when MFA is required for the user, only of a
/// session that passed it (a pending session never refreshes, and one opened with a password
/// alone stops refreshing once MFA becomes required).
const CLAIM_REFRESH_TOKEN: &str = concat!(
    "UPDATE refresh_tokens SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND session_id = $3 \
     AND session_id IN (SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = $3 AND s.revoked_at IS NULL AND s.created_at > $4 AND u.deleted_at IS NULL \
     AND NOT s.mfa_pending AND (s.mfa_verified OR NOT ",
    mfa_required!(),
    ")) RETURNING session_id"
);

/// A refresh token's session, when and whether it was used, and its expiry.
const REFRESH_TOKEN_STATE: &str =
    "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = $1";

const REVOKE_SESSION: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

/// The user of a session that is not revoked, if the user is not deleted, and when the session
/// was opened.
const SESSION_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", s.created_at AS session_created_at FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = $1 AND s.revoked_at IS NULL AND u.deleted_at IS NULL"
);

/// Slides a session after a refresh ($2 now, $3 new expiry).
const SLIDE_SESSION: &str = "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1";

const REVOKE_SESSION_BY_REFRESH_TOKEN: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND id = \
     (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)";

/// The user's live sessions ($1 user, $2 now) with their device's name, newest first: one
/// statement for `GET /token` and `GET /sessions`.
pub(super) const LIST_SESSIONS: &str = "SELECT s.id, s.created_at, s.last_used_at, s.expires_at, \
     s.ip_address, d.device_name, s.login_method FROM sessions s LEFT JOIN devices d ON d.id = s.device_id \
     WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
     ORDER BY s.created_at DESC, s.id DESC";

/// Revokes one of the user's live sessions ($1 session, $2 user, $3 now).
const REVOKE_OWN_SESSION: &str = "UPDATE sessions SET revoked_at = $3 \
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3";

/// Records activity on one of the user's live sessions ($1 session, $2 user, $3 now) and slides
/// its expiry to $5 (now + the refresh token lifetime), never past $4 (the absolute lifetime)
/// after its login; returns the new expiry. A pending session is not slid: it ends 15 minutes
/// after its login unless it passes MFA.
pub(super) const HEARTBEAT_SESSION: &str = "UPDATE sessions SET last_used_at = $3, \
     expires_at = CASE WHEN created_at + $4 < $5 THEN created_at + $4 ELSE $5 END \
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 \
     AND NOT mfa_pending RETURNING expires_at";

/// The session's unused refresh tokens follow its expiry ($2), so it can refresh until then.
pub(super) const SLIDE_REFRESH_TOKENS: &str =
    "UPDATE refresh_tokens SET expires_at = $2 WHERE session_id = $1 AND used_at IS NULL";
