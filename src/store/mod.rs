//! Persistence: one [`Store`] over SQLite (embedded, [`sqlite`]) or PostgreSQL (scaled out,
//! [`postgres`]).
//!
//! Every operation is written once, as an async function over [`Tx`] in the module of what it
//! serves, with the SQL it runs at that module's end: [`accounts`] (and [`activation_links`],
//! [`identities`] for sign-in with identity providers),
//! [`sessions`], [`devices`], [`mfa`], [`password_resets`], [`organizations`], [`users`],
//! [`quotas`], [`workspaces`] (the listing's statement in [`listing`]), [`workspace_members`],
//! [`settings`], [`system_events`], [`webhooks`] (and what their dispatcher does,
//! [`webhook_dispatch`]), and the operators' [`cleanup`] and [`email_keys`]. [`sql`]
//! holds the fragments and the few statements
//! several of them share. The backend folders hold only what genuinely differs: connecting,
//! transactions, binding and decoding, the SQLite writer thread and read pool. Every rule that
//! must hold across processes (unique names and e-mails, a workspace always created with its
//! ADMIN, the last ADMIN and OWNER, the quotas) is enforced by constraints, and by checks inside
//! the transaction of the write they guard.
//!
//! A change and its audit event ([`events`]) are written on the same [`Tx`], so they commit or
//! roll back together. On SQLite, writes are group-committed: the one writer thread runs the
//! writes waiting at that moment (up to 256) in one shared transaction, each operation in a
//! savepoint of its own, so that a failing operation rolls back its own changes alone, and
//! commits once for all of them before answering any (a failed commit fails them all). On
//! PostgreSQL, a write runs in a transaction of its own, `BEGIN` ... `COMMIT` on a pooled
//! connection, or, when it is a single statement ([`Store::write_single`]), as that statement
//! alone.
//!
//! An operation decides before it writes: every refusal returns before its first write, so that
//! `Ok` always means "commit" and any error means "roll back" on both backends.

mod accounts;
mod activation_links;
mod cleanup;
mod devices;
mod email_keys;
mod events;
mod identities;
mod listing;
mod mfa;
mod oidc_flows;
mod organizations;
mod password_resets;
mod postgres;
mod quotas;
mod sessions;
mod settings;
mod sql;
mod sqlite;
mod system_events;
pub(crate) mod tx;
mod users;
mod webhook_dispatch;
mod webhooks;
mod workspace_members;
mod workspaces;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use accounts::{Credentials, NewOrganization, NewUser, NewVerification, User};
pub use activation_links::{
    Activation, ActivationLink, LinkChange, LinkFilter, LinkPatch, LinkStatus, NewLink,
};
pub use cleanup::{CleanupPolicy, CleanupReport};
pub use devices::{Device, DeviceDetails, NewDevice};
pub use email_keys::Rekeyed;
pub use events::Actor;
pub use identities::{ProviderSignIn, ProviderSignInOutcome};
/// The listing's statements and the dialects, public for the PostgreSQL plan test in tests/api
/// (`workspaces_read`): its plans can only be checked against a PostgreSQL server.
pub use listing::listing_sql;
pub use mfa::{
    ChallengePurpose, Factor, MailboxProof, MethodChange, MethodState, MfaState, NewEmailCode,
    NewLinkToken, NewPasskey, NewPasskeyChallenge, PasskeyRegistration, PasskeyRemoval,
    PasskeySignIn, PasskeySignInCandidate, PasskeySignInOutcome, ResetOutcome, ResetTarget,
    StoredPasskey, TotpSecrets, VerifyOutcome, LOCKOUT_FAILURES, LOCKOUT_USER_FAILURES,
    LOCKOUT_WINDOW_MS,
};
pub use oidc_flows::{NewOidcFlow, SpentOidcFlow};
pub use organizations::{Organization, OrganizationPatch};
pub use password_resets::{NewPasswordReset, ResetRecipient};
pub use quotas::QuotaUsage;
pub use sessions::{
    NewRefreshToken, NewSession, PasswordSession, RefreshOutcome, SessionInfo, SessionMfa,
    SessionUser,
};
pub use settings::{SettingsOutcome, SettingsOwner};
pub use system_events::{EventFilter, EventPage, EventReader, SystemEvent};
pub use tx::{Dialect, PerDialect};
pub use users::{CreateUserOutcome, UserChange, UserChangeOutcome, UserUpdate};
pub use webhook_dispatch::{
    ClaimedWebhook, Cursor, NewDelivery, QueuedDelivery, RecordedAttempt, RunEnd, ScannedEvent,
};
pub use webhooks::{
    Delivery, DeliveryFilter, DeliveryStatus, NewWebhook, SealedSecrets, TestDelivery, Webhook,
    WebhookCreate, WebhookPatch, ROTATION_OVERLAP_MS, TEST_TYPE,
};
pub use workspace_members::{AddMemberOutcome, MemberChangeOutcome, NewMember};
pub use workspaces::{
    CreateOutcome, DeleteOutcome, Member, MemberUser, NewWorkspace, Selection, SessionClaim,
    Workspace, WorkspaceAccess, WorkspaceRename, WorkspaceWithMembers,
};

use self::tx::{args, Tx};

/// A failure of the store, classified by kind so callers never parse error text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (taken name, taken e-mail).
    #[error("unique constraint violated")]
    Conflict,
    /// Anything else PostgreSQL or its driver reported: connection lost, pool timed out, a bug
    /// in a query.
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A SQLite group commit failed: none of its writes happened.
    #[error("commit failed: {0}")]
    Commit(Arc<rusqlite::Error>),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    SqliteMigration(#[from] sqlite::MigrateError),
    /// An event's `json_data` could not be written as JSON.
    #[error("encoding an event: {0}")]
    Encoding(serde_json::Error),
    /// The database URL or options are not usable.
    #[error("{0}")]
    Configuration(String),
    /// The store cannot serve (its writer thread stopped, a write panicked).
    #[error("store unavailable: {0}")]
    Unavailable(&'static str),
    /// An operation refused after it had begun writing (a conditional update that lost a race
    /// matched no row): returned as an error so that everything it wrote rolls back, and turned
    /// into the operation's own refusal by its public method.
    #[error("refused; rolled back")]
    Refused,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The future of an operation running on a [`Tx`] it borrows.
pub(crate) type TxFuture<'t, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 't>>;

/// The store as the application holds it.
pub type SharedStore = Arc<Store>;

/// The database, whichever backend it is. Its operations are the `impl Store` blocks of the
/// concern modules.
pub struct Store {
    backend: Backend,
}

enum Backend {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

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
    let backend = if url.starts_with("sqlite:") {
        Backend::Sqlite(sqlite::connect(url, options)?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Backend::Postgres(postgres::connect(url, options).await?)
    } else {
        return Err(StoreError::Configuration(
            "database URL must start with sqlite: or postgres:".into(),
        ));
    };
    Ok(Arc::new(Store { backend }))
}

impl Store {
    /// The backend's name, for logs: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The database file, on SQLite.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Sqlite(db) => Some(db.path()),
            Backend::Postgres(_) => None,
        }
    }

    /// Applies pending migrations (idempotent; safe to run from several instances at once).
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.migrate().await,
            Backend::Postgres(db) => db.migrate().await,
        }
    }

    /// Pooled connections: (open, idle). On SQLite, the read pool and the one writer together.
    pub fn pool_connections(&self) -> (u32, u32) {
        match &self.backend {
            Backend::Sqlite(db) => db.connections(),
            Backend::Postgres(db) => db.connections(),
        }
    }

    /// SQLite only: (transactions committed by the writer, writes in them). Their ratio is the
    /// average group-commit size.
    pub fn write_batches(&self) -> Option<(u64, u64)> {
        match &self.backend {
            Backend::Sqlite(db) => Some(db.write_batches()),
            Backend::Postgres(_) => None,
        }
    }

    /// The settings a commit's durability rests on, as the server's writes have them: SQLite's
    /// `synchronous` and `journal_mode` (of the writer), PostgreSQL's `synchronous_commit`, read
    /// inside a write transaction (where a `SET LOCAL` would show, and a database's or role's
    /// default as the pool's connections left it).
    pub async fn durability_settings(&self) -> StoreResult<Vec<(String, String)>> {
        match &self.backend {
            Backend::Sqlite(db) => db.durability_settings().await,
            Backend::Postgres(_) => {
                self.write(|tx| {
                    Box::pin(async move {
                        let value: Option<String> = tx
                            .query_opt("SHOW synchronous_commit", args![], |row| {
                                row.get("synchronous_commit")
                            })
                            .await?;
                        Ok(vec![(
                            "synchronous_commit".to_owned(),
                            value.unwrap_or_default(),
                        )])
                    })
                })
                .await
            }
        }
    }

    /// Succeeds when the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite(db) => db.ping().await,
            Backend::Postgres(_) => self
                .read(|tx| {
                    Box::pin(async move { tx.for_each("SELECT 1", args![], |_| Ok(())).await })
                })
                .await
                .map(drop),
        }
    }

    /// Returns the stored value of `key`, storing `candidate` first if there is none. Concurrent
    /// callers (several instances starting at once) all get the same winning value.
    pub async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String> {
        let (key, candidate) = (key.to_owned(), candidate.to_owned());
        self.write_single(move |tx| {
            Box::pin(async move {
                tx.execute(INSERT_SETTING, args![&key, &candidate]).await?;
                let value = tx
                    .query_opt(SETTING, args![&key], |row| row.get("value"))
                    .await?;
                value.ok_or(StoreError::Unavailable("the setting vanished"))
            })
        })
        .await
    }

    /// Runs a read. SQLite: on a pooled read-only connection, inline in the calling task (every
    /// read is a few indexed statements; handing it to another thread cost more than the read).
    /// PostgreSQL: on a pooled connection, each statement on its own.
    pub(crate) async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.read(op).await,
            Backend::Postgres(db) => db.read(op).await,
        }
    }

    /// Runs several reads in one snapshot (a read-only transaction).
    pub(crate) async fn read_snapshot<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.read_snapshot(op).await,
            Backend::Postgres(db) => db.read_snapshot(op).await,
        }
    }

    /// Runs a write in a transaction, answering once it is committed: `Ok` commits, an error
    /// rolls back everything the operation wrote. SQLite: a job of the writer thread (group
    /// commit, a savepoint per operation). PostgreSQL: BEGIN ... COMMIT on a pooled connection.
    pub(crate) async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.write(op).await,
            Backend::Postgres(db) => db.write(op).await,
        }
    }

    /// A write whose statements need no transaction around them on PostgreSQL: one statement,
    /// atomic by itself, perhaps followed by reads that only explain its outcome. It saves the
    /// BEGIN and COMMIT round trips. SQLite runs it as [`Store::write`].
    pub(crate) async fn write_single<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(db) => db.write(op).await,
            Backend::Postgres(db) => db.read(op).await,
        }
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

const INSERT_SETTING: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

const SETTING: &str = "SELECT value FROM settings WHERE key = $1";
