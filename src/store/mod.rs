//! Persistence. One [`Store`] trait, implemented for SQLite (embedded) and PostgreSQL (scaled out)
//! by [`sql::SqlStore`]. Every rule that must hold across processes (unique names, unique e-mails,
//! a workspace always created with its ADMIN) is enforced here by constraints and transactions.

mod models;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use models::{
    Credentials, NewOrganization, NewRefreshToken, NewSession, NewUser, NewVerification,
    NewWorkspace, RefreshOutcome, SessionInfo, User, Workspace,
};
pub use sql::{connect, StoreOptions};

/// A failure of the store, classified by kind so callers never parse error text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (taken name, taken e-mail).
    #[error("unique constraint violated")]
    Conflict,
    /// Anything else: connection lost, pool timed out, a bug in a query.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the HTTP layer needs from the database. All timestamps are Unix milliseconds.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations (idempotent; safe to run from several instances at once).
    async fn migrate(&self) -> StoreResult<()>;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    /// Returns the stored value of `key`, storing `candidate` first if there is none. Concurrent
    /// callers (several instances starting at once) all get the same winning value.
    async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String>;

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

    /// Creates a workspace and makes `creator` its ADMIN in one transaction. `Conflict` when a live
    /// workspace of the organization already has the name.
    async fn create_workspace(&self, workspace: NewWorkspace) -> StoreResult<Workspace>;
}

/// The store as the application holds it.
pub type SharedStore = Arc<dyn Store>;
