//! Persistence. One [`Store`] trait, implemented for SQLite (embedded) and PostgreSQL (scaled out)
//! by [`sql::SqlStore`]. Every rule that must hold across processes (unique names, unique e-mails,
//! a workspace always created with its ADMIN) is enforced here by constraints and transactions.

mod identity;
mod organizations;
mod sql;
mod users;
mod workspaces;

use std::sync::Arc;

use async_trait::async_trait;

pub use identity::{
    Credentials, IdentityStore, NewOrganization, NewRefreshToken, NewSession, NewUser,
    NewVerification, RefreshOutcome, SessionInfo, User,
};
pub use organizations::{
    NewPasswordReset, Organization, OrganizationPatch, OrganizationStore, ResetRecipient,
};
pub use sql::{connect, StoreOptions};
pub use users::{OrgUser, UserChange, UserChangeOutcome, UserStore, UserUpdate};
pub use workspaces::{
    AddMemberOutcome, DeleteOutcome, Member, MemberChangeOutcome, NewMember, NewWorkspace,
    Selection, Workspace, WorkspaceAccess, WorkspaceQuery, WorkspaceRename, WorkspaceStore,
    WorkspaceWithMembers,
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
    Migration(#[from] sqlx::migrate::MigrateError),
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

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    /// Returns the stored value of `key`, storing `candidate` first if there is none. Concurrent
    /// callers (several instances starting at once) all get the same winning value.
    async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String>;
}

/// The store as the application holds it.
pub type SharedStore = Arc<dyn Store>;
