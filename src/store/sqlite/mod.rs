//! The embedded backend: one SQLite file, through rusqlite.
//!
//! Reads run on pooled read-only connections in the requesting task ([`pool`]); writes go to one
//! connection on a thread of its own that commits them in groups ([`writer`]). The SQL is the
//! text shared with PostgreSQL (`store::queries`), bound by parameter number ([`exec`]).
//!
//! Migrations go through sqlx's migrator, as on PostgreSQL, so both backends keep their history
//! in the same `_sqlx_migrations` table and databases made by earlier versions open unchanged.

mod exec;
mod identity;
mod organizations;
mod pool;
mod rows;
mod users;
mod workspaces;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use self::exec::{execute, query_opt};
use self::pool::ReadPool;
use self::writer::Writer;
use super::{queries, Store, StoreError, StoreOptions, StoreResult};

/// How long a connection waits for a lock held by another process (e.g. `workspaces user
/// verify` writing while the server runs) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    url: String,
    reads: ReadPool,
    writer: Writer,
}

/// Opens the database file of `url` (created if missing), in WAL mode.
pub fn connect(url: &str, options: &StoreOptions) -> StoreResult<SqliteStore> {
    let path = database_path(url)?;
    let conn = open_connection(&path, false)?;
    // Persistent in the file: readers never block the writer nor the writer the readers.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(
            "SQLite refused WAL mode for this database",
        ));
    }
    Ok(SqliteStore {
        url: url.to_owned(),
        reads: ReadPool::new(path, options.max_connections),
        writer: Writer::start(conn)
            .map_err(|_| StoreError::Unavailable("cannot start a thread"))?,
    })
}

/// The file a `sqlite:` URL names, parsed as sqlx parses it (for the migrator). In-memory
/// databases are refused: the writer and the readers are separate connections, which would each
/// see a database of their own.
fn database_path(url: &str) -> StoreResult<PathBuf> {
    let options = SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename().to_path_buf();
    let name = path.to_string_lossy();
    if name.is_empty() || name.contains(":memory:") || url.contains("mode=memory") {
        return Err(StoreError::Database(sqlx::Error::Configuration(
            "in-memory SQLite databases are not supported: name a file, e.g. sqlite://workspaces.db"
                .into(),
        )));
    }
    Ok(path)
}

/// A connection with the settings every connection of the store has. `synchronous = FULL`: a
/// commit is fsynced before it returns, so every 2xx survives power loss.
fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    // NO_MUTEX: each connection is used by one thread at a time (the pool and the writer thread
    // make sure of it), so SQLite's own per-connection mutex is pure cost.
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Every statement the store runs stays prepared.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<()> {
        let options = SqliteConnectOptions::from_str(&self.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // A pool of one: the migrator takes an executor it can hold across its own awaits.
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let migrated = sqlx::migrate!("migrations/sqlite").run(&migrator).await;
        migrator.close().await;
        Ok(migrated?)
    }

    fn pool_connections(&self) -> (u32, u32) {
        let (open, idle) = self.reads.connections();
        let writer_idle = u32::from(!self.writer.is_busy());
        (open + 1, idle + writer_idle)
    }

    fn write_batches(&self) -> Option<(u64, u64)> {
        let stats = self.writer.stats();
        Some((
            stats.batches.load(Ordering::Relaxed),
            stats.jobs.load(Ordering::Relaxed),
        ))
    }

    async fn ping(&self) -> StoreResult<()> {
        self.reads
            .run(|conn| query_opt(conn, "SELECT 1", &[], |row| row.get::<_, i64>(0)))
            .await?;
        Ok(())
    }

    async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String> {
        let (key, candidate) = (key.to_owned(), candidate.to_owned());
        self.writer
            .write(move |conn| {
                execute(conn, queries::INSERT_SETTING, &[&key, &candidate])?;
                let value = query_opt(conn, queries::SETTING, &[&key], |row| row.get(0))?;
                value.ok_or(StoreError::Unavailable("the setting vanished"))
            })
            .await
    }
}
