//! Accounts, sessions and verifications: the identity half of the store.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::OrgRole;

/// Everything identity needs from the database. All timestamps are Unix milliseconds.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Creates an organization, its first user, a first session with its refresh token and an
    /// e-mail verification, atomically. `Conflict` when the e-mail is taken.
    async fn register(
        &self,
        org: NewOrganization,
        user: NewUser,
        session: NewSession,
        refresh: NewRefreshToken,
        verification: NewVerification,
    ) -> StoreResult<()>;

    /// The user with this e-mail key (deleted or not) and their password hash.
    async fn credentials_by_email(&self, email_key: &str) -> StoreResult<Option<Credentials>>;

    /// Starts a session (login).
    async fn create_session(
        &self,
        session: NewSession,
        refresh: NewRefreshToken,
    ) -> StoreResult<()>;

    /// The user behind a live session: not revoked, not expired, user not deleted.
    async fn authenticate(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: i64,
    ) -> StoreResult<Option<User>>;

    /// Exchanges a refresh token for a new one (rotation): the presented token is marked used and
    /// `next_hash` becomes the session's token until `next_expires_at`, which the session slides
    /// to. A token that was already used revokes its whole session.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        next_hash: &[u8],
        now: i64,
        next_expires_at: i64,
    ) -> StoreResult<RefreshOutcome>;

    /// Revokes the session a refresh token (current or already rotated) belongs to.
    async fn revoke_session_by_refresh_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<bool>;

    /// The user's live sessions, newest first.
    async fn list_sessions(&self, user_id: Uuid, now: i64) -> StoreResult<Vec<SessionInfo>>;

    /// Revokes one of the user's own live sessions; false when there is no such session.
    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: i64) -> StoreResult<bool>;

    async fn create_verification(&self, verification: NewVerification) -> StoreResult<()>;

    /// The (not deleted) user a verification was issued to, for a resend.
    async fn user_by_verification_id(&self, verification_id: Uuid) -> StoreResult<Option<User>>;

    /// Uses a verification token once: marks the user validated and, when given, sets a password.
    /// Returns the user's id, or None for an unknown, used or expired token.
    async fn consume_verification(
        &self,
        token_hash: &[u8],
        now: i64,
        new_password_hash: Option<String>,
    ) -> StoreResult<Option<Uuid>>;

    /// Marks the account with this e-mail key validated (operator command). False if unknown.
    async fn mark_validated_by_email(&self, email_key: &str, now: i64) -> StoreResult<bool>;
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: i16,
    pub validated: bool,
    pub is_business: bool,
    pub deleted_at: Option<i64>,
}

impl User {
    /// Their role; a value outside the defined set cannot be stored (CHECK constraint) and
    /// reads as USER.
    pub fn role(&self) -> OrgRole {
        OrgRole::from_value(self.org_role.into()).unwrap_or(OrgRole::User)
    }
}

/// A user as login sees them: with the password hash, which nothing else reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub id: Uuid,
    pub name: String,
    pub is_business: bool,
    pub website: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub email_key: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub org_role: i16,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token_hash: Vec<u8>,
    pub session_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewVerification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
    /// The token was live; `next` is now the session's token.
    Rotated { user: User, session_id: Uuid },
    /// The token had been used before: the session is now revoked.
    Reused,
    /// Unknown, expired, or its session is gone.
    Invalid,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}
