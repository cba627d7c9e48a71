//! Accounts, sessions and verifications: the identity half of the store.

use uuid::Uuid;

use super::devices::{trim_devices, upsert_device, NewDevice};
use super::events::{append_event, json, Actor, Changes, NewEvent, OrgFields, UserFields};
use super::tx::{args, Row, Tx};
use super::{queries, Store, StoreError, StoreResult};
use crate::domain::{EventKind, OrgId, OrgRole, SessionId, UserId};

/// A user has at most this many live sessions pending their second factor: a login that opens
/// one more ends the oldest (contract section 8).
pub const MAX_PENDING_SESSIONS: i64 = 10;

impl Store {
    /// Creates an organization, its first user, a first session with its refresh token and an
    /// e-mail verification, atomically, with the `org` and `user` created events (the new user
    /// their actor). `Conflict` when the e-mail is taken.
    pub async fn register(
        &self,
        org: NewOrganization,
        user: NewUser,
        session: NewSession,
        refresh: NewRefreshToken,
        verification: NewVerification,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    queries::INSERT_ORGANIZATION,
                    args![
                        org.id,
                        &org.name,
                        org.is_business,
                        &org.website,
                        org.created_at
                    ],
                )
                .await?;
                let by = Actor {
                    org_id: org.id,
                    user_id: user.id,
                    at: org.created_at,
                };
                let fields = OrgFields {
                    id: org.id,
                    name: &org.name,
                    website: org.website.as_deref(),
                    is_business: org.is_business,
                };
                append_event(tx, &NewEvent::org(by, EventKind::Created, json(&fields)?)).await?;
                insert_user(tx, by, &user).await?;
                insert_session(tx, &session, &refresh).await?;
                insert_verification(tx, &verification).await
            })
        })
        .await
    }

    /// The user with this e-mail key (deleted or not) and their password hash.
    pub async fn credentials_by_email(&self, email_key: &str) -> StoreResult<Option<Credentials>> {
        let email_key = email_key.to_owned();
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(queries::CREDENTIALS_BY_EMAIL, args![&email_key], |row| {
                    Ok(Credentials {
                        user: User::from_row(row)?,
                        password_hash: row.get("password_hash")?,
                        mfa_required: row.get("mfa_required")?,
                    })
                })
                .await
            })
        })
        .await
    }

    /// Starts a session (login).
    pub async fn create_session(
        &self,
        session: NewSession,
        refresh: NewRefreshToken,
    ) -> StoreResult<()> {
        self.write(move |tx| Box::pin(async move { insert_session(tx, &session, &refresh).await }))
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
                    queries::AUTHENTICATE,
                    args![session_id, user_id, now],
                    SessionUser::from_row,
                )
                .await
            })
        })
        .await
    }

    /// A user's password hash; None when they have none (or no such user).
    pub async fn password_hash(&self, user_id: UserId) -> StoreResult<Option<String>> {
        self.read(|tx| {
            Box::pin(async move {
                let hash: Option<Option<String>> = tx
                    .query_opt(queries::PASSWORD_HASH, args![user_id], |row| {
                        row.get("password_hash")
                    })
                    .await?;
                Ok(hash.flatten())
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
                        queries::CLAIM_REFRESH_TOKEN,
                        args![&presented, now, session_id, born_after],
                        |row| row.get("session_id"),
                    )
                    .await?;
                let Some(session_id) = claimed else {
                    let used = tx
                        .query_opt(queries::REFRESH_TOKEN_STATE, args![&presented], |row| {
                            Ok((
                                row.get::<SessionId>("session_id")?,
                                row.get::<Option<i64>>("used_at")?,
                            ))
                        })
                        .await?;
                    return match used {
                        Some((session_id, Some(_))) => {
                            // Theft detection: a rotated token came back. End the whole session.
                            tx.execute(queries::REVOKE_SESSION, args![session_id, now])
                                .await?;
                            Ok(RefreshOutcome::Reused)
                        }
                        _ => Ok(RefreshOutcome::Invalid),
                    };
                };
                let found = tx
                    .query_opt(queries::SESSION_USER, args![session_id], |row| {
                        Ok((User::from_row(row)?, row.get::<i64>("session_created_at")?))
                    })
                    .await?;
                let Some((user, created_at)) = found else {
                    // Only when the user was deleted between the two statements.
                    return Ok(RefreshOutcome::Invalid);
                };
                let next_expires_at = next_expires_at.min(created_at.saturating_add(lifetime_ms));
                tx.execute(
                    queries::INSERT_REFRESH_TOKEN,
                    args![&next, session_id, now, next_expires_at],
                )
                .await?;
                tx.execute(
                    queries::SLIDE_SESSION,
                    args![session_id, now, next_expires_at],
                )
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
                    .execute(
                        queries::REVOKE_SESSION_BY_REFRESH_TOKEN,
                        args![&token_hash, now],
                    )
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
                tx.query_all(queries::LIST_SESSIONS, args![user_id, now], |row| {
                    Ok(SessionInfo {
                        id: row.get("id")?,
                        created_at: row.get("created_at")?,
                        last_used_at: row.get("last_used_at")?,
                        expires_at: row.get("expires_at")?,
                        ip_address: row.get("ip_address")?,
                        device_name: row.get("device_name")?,
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
                    .execute(queries::REVOKE_OWN_SESSION, args![session_id, user_id, now])
                    .await?;
                Ok(revoked > 0)
            })
        })
        .await
    }

    pub async fn create_verification(&self, verification: NewVerification) -> StoreResult<()> {
        self.write_single(move |tx| {
            Box::pin(async move { insert_verification(tx, &verification).await })
        })
        .await
    }

    /// The (not deleted) user a verification was issued to, for a resend.
    pub async fn user_by_verification_id(
        &self,
        verification_id: Uuid,
    ) -> StoreResult<Option<User>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(
                    queries::USER_BY_VERIFICATION_ID,
                    args![verification_id],
                    User::from_row,
                )
                .await
            })
        })
        .await
    }

    /// Uses a verification token once: marks the user validated, when given sets a password, and
    /// ends every session opened before (contract section 4). Returns the user's id, or None for an unknown, used or expired token, or a deleted user.
    pub async fn consume_verification(
        &self,
        token_hash: &[u8],
        now: i64,
        new_password_hash: Option<String>,
    ) -> StoreResult<Option<UserId>> {
        let token_hash = token_hash.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                let live: Option<UserId> = tx
                    .query_opt(
                        queries::LIVE_VERIFICATION_USER,
                        args![&token_hash, now],
                        |row| row.get("user_id"),
                    )
                    .await?;
                if live.is_none() {
                    return Ok(None);
                }
                // Of two concurrent uses, one claims the token; the other finds it used.
                let claimed: Option<UserId> = tx
                    .query_opt(
                        queries::CLAIM_VERIFICATION,
                        args![&token_hash, now],
                        |row| row.get("user_id"),
                    )
                    .await?;
                let Some(user_id) = claimed else {
                    return Ok(None);
                };
                let before = live_user(tx, user_id).await?;
                tx.execute(
                    queries::VALIDATE_USER,
                    args![user_id, true, now, &new_password_hash],
                )
                .await?;
                let changes = Changes::default()
                    .field("validated", before.validated, true)
                    .secret("password", new_password_hash.is_some());
                append_user_updated(tx, &before, before.id, now, changes).await?;
                // Whoever registered the address before its owner verified it (or learnt the
                // password that verification replaces) must not keep a session: the verified
                // account starts with none.
                tx.execute(queries::REVOKE_USER_SESSIONS, args![user_id, now])
                    .await?;
                Ok(Some(user_id))
            })
        })
        .await
    }

    /// Marks the account with this e-mail key validated (operator command), its event naming
    /// the user as the actor (the operator has no account). False if unknown.
    pub async fn mark_validated_by_email(&self, email_key: &str, now: i64) -> StoreResult<bool> {
        let email_key = email_key.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                let before = tx
                    .query_opt(
                        queries::USER_BY_EMAIL_KEY,
                        args![&email_key],
                        User::from_row,
                    )
                    .await?;
                let Some(before) = before else {
                    return Ok(false);
                };
                tx.execute(queries::VALIDATE_BY_EMAIL, args![&email_key, true, now])
                    .await?;
                let changes = Changes::default().field("validated", before.validated, true);
                append_user_updated(tx, &before, before.id, now, changes).await?;
                Ok(true)
            })
        })
        .await
    }
}

/// A live user, read inside a transaction that found them live a statement earlier.
pub(super) async fn live_user(tx: &mut Tx<'_>, user_id: UserId) -> StoreResult<User> {
    tx.query_opt(queries::LIVE_USER_BY_ID, args![user_id], User::from_row)
        .await?
        .ok_or(StoreError::Unavailable(
            "a user vanished inside a transaction",
        ))
}

/// Appends `user` updated for `target` by `actor_id` of the target's organization, when
/// `changes` holds any; nothing when nothing changed.
pub(super) async fn append_user_updated(
    tx: &mut Tx<'_>,
    target: &User,
    actor_id: UserId,
    at: i64,
    changes: Changes,
) -> StoreResult<()> {
    let Some(data) = changes.json()? else {
        return Ok(());
    };
    let by = Actor {
        org_id: target.org_id,
        user_id: actor_id,
        at,
    };
    append_event(tx, &NewEvent::user(by, EventKind::Updated, target.id, data)).await
}

/// Inserts a user with its `user` created event (`by` its author); a taken e-mail is
/// [`StoreError::Conflict`].
pub(super) async fn insert_user(tx: &mut Tx<'_>, by: Actor, user: &NewUser) -> StoreResult<()> {
    tx.execute(
        queries::INSERT_USER,
        args![
            user.id,
            user.org_id,
            &user.email,
            &user.email_key,
            &user.password_hash,
            &user.first_name,
            &user.last_name,
            user.org_role,
            false,
            user.created_at,
        ],
    )
    .await?;
    let names = (
        user.email.as_str(),
        user.first_name.as_str(),
        user.last_name.as_str(),
    );
    // Not validated yet: it has just been inserted so.
    let fields = UserFields::of(user.id, user.org_id, names, user.org_role, false);
    let event = NewEvent::user(by, EventKind::Created, user.id, json(&fields)?);
    append_event(tx, &event).await
}

/// Inserts a session with its first refresh token, on the device it came from, and keeps the
/// user's limits: at most [`MAX_DEVICES`](super::devices::MAX_DEVICES) devices (the least
/// recently seen go) and, for a pending session, at most [`MAX_PENDING_SESSIONS`] live pending
/// sessions (the oldest end).
async fn insert_session(
    tx: &mut Tx<'_>,
    session: &NewSession,
    refresh: &NewRefreshToken,
) -> StoreResult<()> {
    if session.mfa_pending {
        // Pending sessions are counted under the user's MFA lock: concurrent logins, on any
        // number of instances, leave at most MAX_PENDING_SESSIONS.
        let lock = queries::LOCK_MFA_USER.sql(tx.dialect());
        tx.query_opt(lock, args![session.user_id], |_| Ok(()))
            .await?;
    }
    let device_id = upsert_device(tx, &session.device).await?;
    trim_devices(tx, session.user_id, device_id).await?;
    tx.execute(
        queries::INSERT_SESSION,
        args![
            session.id,
            session.user_id,
            session.created_at,
            session.expires_at,
            device_id,
            &session.device.ip_address(),
            session.mfa_pending
        ],
    )
    .await?;
    if session.mfa_pending {
        tx.execute(
            queries::END_OLDEST_PENDING_SESSIONS,
            args![session.user_id, session.created_at, MAX_PENDING_SESSIONS],
        )
        .await?;
    }
    tx.execute(
        queries::INSERT_REFRESH_TOKEN,
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

pub(super) async fn insert_verification(tx: &mut Tx<'_>, v: &NewVerification) -> StoreResult<()> {
    tx.execute(
        queries::INSERT_VERIFICATION,
        args![v.id, v.user_id, &v.token_hash, v.created_at, v.expires_at],
    )
    .await?;
    Ok(())
}

/// A user of an organization, as every route sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: OrgRole,
    pub validated: bool,
    /// When the user was deleted (they can be re-activated), Unix ms.
    pub deleted_at: Option<i64>,
}

impl User {
    /// Reads the columns of `queries::user_columns!`.
    pub(super) fn from_row(row: &Row<'_>) -> StoreResult<User> {
        Ok(User {
            id: row.get("id")?,
            org_id: row.get("org_id")?,
            email: row.get("email")?,
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            org_role: row.get("org_role")?,
            validated: row.get("validated")?,
            deleted_at: row.get("deleted_at")?,
        })
    }
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
    /// Reads the columns of `queries::AUTHENTICATE`.
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

/// A user as login sees them: with the password hash, which only password checks read.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    /// MFA is required for them: a password login opens a pending session.
    pub mfa_required: bool,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub id: OrgId,
    pub name: String,
    pub is_business: bool,
    pub website: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub email_key: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub org_role: OrgRole,
    pub created_at: i64,
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
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token_hash: Vec<u8>,
    pub session_id: SessionId,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewVerification {
    /// Its public id (`verificationTokenId`), for resends.
    pub id: Uuid,
    pub user_id: UserId,
    pub token_hash: Vec<u8>,
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
}
