//! The SQL implementation of [`Store`], compiled once for SQLite and once for PostgreSQL.
//!
//! Both backends run the very same SQL text: positional `$N` parameters work on both, ids bind as
//! `uuid::Uuid` (a BLOB on SQLite, a native uuid on PostgreSQL) and timestamps as `i64`
//! milliseconds. The only differences live outside the queries: connection set-up, migrations, and
//! how a write transaction begins (SQLite takes the write lock up front with `BEGIN IMMEDIATE`).
//! The `impl_*!` macros here and in the submodules stamp the one implementation out for each
//! backend, so a query is
//! written once and the same test suite exercises it on both.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, Pool, Postgres, Sqlite};

use super::{SharedStore, Store, StoreError, StoreResult};

#[macro_use]
mod inserts;
mod identity;
mod organizations;
mod users;
mod workspaces;

/// Connection settings that do not come from the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Upper bound of pooled connections (readers, on SQLite).
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before failing.
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
        Ok(std::sync::Arc::new(connect_sqlite(url, options).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(connect_postgres(url, options).await?))
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            "database URL must start with sqlite: or postgres:".into(),
        )))
    }
}

/// A pool for reads and a pool for write transactions. On PostgreSQL they are the same pool; on
/// SQLite, writes go through a single connection so in-process writers queue in the pool instead
/// of spinning on SQLite's busy handler (SQLite admits one writer at a time anyway).
pub struct SqlStore<DB: Database> {
    read: Pool<DB>,
    write: Pool<DB>,
    begin_write: &'static str,
    /// Appended to a SELECT that must lock its rows until commit: ` FOR UPDATE` on PostgreSQL;
    /// empty on SQLite, where `BEGIN IMMEDIATE` already holds the database's one write lock.
    lock_rows: &'static str,
    /// True when `read` and `write` are the same pool (PostgreSQL, in-memory SQLite).
    single_pool: bool,
}

async fn connect_sqlite(url: &str, options: &StoreOptions) -> StoreResult<SqlStore<Sqlite>> {
    let base = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is fsynced before it is acknowledged, so every 2xx survives power loss.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5));
    let in_memory = base.get_filename().to_string_lossy().contains(":memory:");
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(base.clone())
        .await?;
    // An in-memory database exists only inside its one connection: share it.
    let read = if in_memory {
        write.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.read_only(true))
            .await?
    };
    Ok(SqlStore {
        read,
        write,
        begin_write: "BEGIN IMMEDIATE",
        lock_rows: "",
        single_pool: in_memory,
    })
}

async fn connect_postgres(url: &str, options: &StoreOptions) -> StoreResult<SqlStore<Postgres>> {
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(PgConnectOptions::from_str(url)?)
        .await?;
    Ok(SqlStore {
        read: pool.clone(),
        write: pool,
        begin_write: "BEGIN",
        lock_rows: " FOR UPDATE",
        single_pool: true,
    })
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
pub(crate) fn classify(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(error),
    }
}

/// Columns of [`User`], read from `users u JOIN organizations o`.
pub(crate) const USER_COLUMNS: &str =
    "u.id, u.org_id, u.email, u.first_name, u.last_name, u.org_role, \
     u.validated, o.is_business, u.deleted_at";

macro_rules! impl_store {
    ($db:ty, $name:literal, $migrations:literal) => {
        #[async_trait]
        impl Store for SqlStore<$db> {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn migrate(&self) -> StoreResult<()> {
                sqlx::migrate!($migrations).run(&self.write).await?;
                Ok(())
            }

            fn pool_connections(&self) -> (u32, u32) {
                let (read_size, read_idle) = (self.read.size(), self.read.num_idle() as u32);
                if self.single_pool {
                    return (read_size, read_idle);
                }
                (read_size + self.write.size(), read_idle + self.write.num_idle() as u32)
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }

            async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(candidate)
                .execute(&self.write)
                .await?;
                let value = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_one(&self.write)
                    .await?;
                Ok(value)
            }
        }
    };
}

impl_store!(Sqlite, "sqlite", "migrations/sqlite");
impl_store!(Postgres, "postgres", "migrations/postgres");
