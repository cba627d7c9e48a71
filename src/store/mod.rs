//! Persistence. One [`Store`] trait, implemented for SQLite (embedded, [`sqlite`]) and PostgreSQL
//! (scaled out, [`postgres`]), which run the same SQL text ([`queries`]). Every rule that must
//! hold across processes (unique names, unique e-mails, a workspace always created with its
//! ADMIN) is enforced by constraints and transactions.

mod identity;
mod listing;
mod organizations;
mod postgres;
mod queries;
mod sqlite;
mod users;
mod workspaces;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use identity::{
    Credentials, IdentityStore, NewOrganization, NewRefreshToken, NewSession, NewUser,
    NewVerification, RefreshOutcome, SessionInfo, User,
};
pub use organizations::{
    NewPasswordReset, Organization, OrganizationPatch, OrganizationStore, ResetRecipient,
};
pub use users::{OrgUser, UserChange, UserChangeOutcome, UserStore, UserUpdate};
pub use workspaces::{
    AddMemberOutcome, CreateOutcome, DeleteOutcome, Member, MemberChangeOutcome, NewMember,
    NewWorkspace, Selection, SessionClaim, Workspace, WorkspaceAccess, WorkspaceRename,
    WorkspaceStore, WorkspaceWithMembers,
};

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
    Sqlite(#[from] rusqlite::Error),
    /// A SQLite group commit failed: none of its writes happened.
    #[error("commit failed: {0}")]
    Commit(Arc<rusqlite::Error>),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The store cannot serve (its writer thread stopped, a write panicked).
    #[error("store unavailable: {0}")]
    Unavailable(&'static str),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The whole store: housekeeping here, the rest in the traits it extends, one per concern.
#[async_trait]
pub trait Store:
    IdentityStore + WorkspaceStore + OrganizationStore + UserStore + Send + Sync + 'static
{
    /// The backend's name, for logs: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies pending migrations (idempotent; safe to run from several instances at once).
    async fn migrate(&self) -> StoreResult<()>;

    /// Pooled connections: (open, idle). On SQLite, the read pool and the one writer together.
    fn pool_connections(&self) -> (u32, u32);

    /// SQLite only: (transactions committed by the writer, writes in them). Their ratio is the
    /// average group-commit size.
    fn write_batches(&self) -> Option<(u64, u64)> {
        None
    }

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    /// Returns the stored value of `key`, storing `candidate` first if there is none. Concurrent
    /// callers (several instances starting at once) all get the same winning value.
    async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String>;
}

/// The store as the application holds it.
pub type SharedStore = Arc<dyn Store>;

/// Connection settings that do not come from the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Upper bound of pooled connections (readers, on SQLite).
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before failing (PostgreSQL).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the database named by `url`: `sqlite:` (file created if missing) or `postgres:`.
pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<SharedStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url, options)?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::connect(url, options).await?))
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            "database URL must start with sqlite: or postgres:".into(),
        )))
    }
}
