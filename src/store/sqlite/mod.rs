//! The embedded backend: one SQLite file, through rusqlite.
//!
//! Reads run on pooled read-only connections in the requesting task ([`pool`]); writes go to one
//! connection on a thread of its own that commits them in groups ([`writer`]). The SQL is the
//! text shared with PostgreSQL (`store::queries`), bound by parameter number ([`exec`]).
//!
//! Migrations go through sqlx's migrator, as on PostgreSQL, so both backends keep their history
//! in the same `_sqlx_migrations` table and databases made by earlier versions open unchanged.

pub(super) mod exec;
mod migrate;
mod pool;
mod writer;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use self::pool::ReadPool;
use self::writer::Writer;
use super::tx::Tx;
use super::{StoreError, StoreOptions, StoreResult, TxFuture};

/// How long a connection waits for a lock held by another process (e.g. `workspaces user
/// verify` writing while the server runs) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteDb {
    url: String,
    reads: ReadPool,
    writer: Writer,
}

/// Opens the database file of `url` (created if missing), in WAL mode.
pub fn connect(url: &str, options: &StoreOptions) -> StoreResult<SqliteDb> {
    let path = database_path(url)?;
    let conn = open_connection(&path, false)?;
    // Persistent in the file: readers never block the writer nor the writer the readers.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(
            "SQLite refused WAL mode for this database",
        ));
    }
    Ok(SqliteDb {
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
        return Err(StoreError::Configuration(
            "in-memory SQLite databases are not supported: name a file, e.g. sqlite://workspaces.db"
                .into(),
        ));
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

impl SqliteDb {
    pub async fn migrate(&self) -> StoreResult<()> {
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

    pub fn connections(&self) -> (u32, u32) {
        let (open, idle) = self.reads.connections();
        let writer_idle = u32::from(!self.writer.is_busy());
        (open + 1, idle + writer_idle)
    }

    pub fn write_batches(&self) -> (u64, u64) {
        let stats = self.writer.stats();
        (
            stats.batches.load(Ordering::Relaxed),
            stats.jobs.load(Ordering::Relaxed),
        )
    }

    /// Reads run inline: see [`pool`].
    pub async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        let mut lease = self.reads.lease().await?;
        op(&mut Tx::Sqlite(lease.conn_mut())).await
    }

    /// A read transaction: one snapshot for every statement of `op`. (A lease dropped halfway
    /// rolls its transaction back.)
    pub async fn read_snapshot<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        let mut lease = self.reads.lease().await?;
        lease.conn_mut().execute_batch("BEGIN")?;
        let out = op(&mut Tx::Sqlite(lease.conn_mut())).await?;
        lease.conn_mut().execute_batch("COMMIT")?;
        Ok(out)
    }

    /// A job of the writer thread, which drives `op` to completion there: every call of a
    /// SQLite [`Tx`] returns at once, so the future is ready on its first poll.
    pub async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send + 'static,
    {
        self.writer
            .write(move |conn| run_ready(op(&mut Tx::Sqlite(conn))))
            .await
    }
}

/// Polls a future that never waits once, without a runtime.
fn run_ready<T>(future: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let future = pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::Unavailable(
            "a SQLite write waited on something other than SQLite",
        )),
    }
}
