//! The embedded backend: one SQLite file, through rusqlite.
//!
//! Reads run on pooled read-only connections in the requesting task ([`pool`]); writes go to one
//! connection on a thread of its own that commits them in groups ([`writer`]). The SQL is the
//! text shared with PostgreSQL (in each store module), bound by parameter number ([`exec`]).
//!
//! Migrations run through rusqlite too ([`migrate`]), booked in sqlx's `_sqlx_migrations` table as
//! on PostgreSQL, so databases made by earlier versions open unchanged.

pub(super) mod exec;
#[cfg(test)]
pub(crate) mod explain;
mod migrate;
mod pool;
mod writer;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use self::migrate::MigrateError;
use self::pool::ReadPool;
use self::writer::Writer;
use super::tx::Tx;
use super::{StoreError, StoreOptions, StoreResult, TxFuture};

/// How long a connection waits for a lock held by another process (e.g. `workspaces user
/// verify` writing while the server runs) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteDb {
    path: PathBuf,
    reads: ReadPool,
    writer: Writer,
}

/// Opens the database file of `url` (created if missing), in WAL mode.
pub fn connect(url: &str, options: &StoreOptions) -> StoreResult<SqliteDb> {
    let path = database_path(url)?;
    owner_only(&path);
    let conn = open_connection(&path, false)?;
    // Persistent in the file: readers never block the writer nor the writer the readers.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get("journal_mode")
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(
            "SQLite refused WAL mode for this database",
        ));
    }
    Ok(SqliteDb {
        path: path.clone(),
        reads: ReadPool::new(path, options.max_connections),
        writer: Writer::start(conn)
            .map_err(|_| StoreError::Unavailable("cannot start a thread"))?,
    })
}

/// The file a `sqlite:` URL names: `sqlite://FILE` or `sqlite:FILE` (`sqlite:///abs/path` for an
/// absolute one), percent-decoded, any `?query` ignored. In-memory databases are refused: the
/// writer and the readers are separate connections, which would each see a database of their own.
fn database_path(url: &str) -> StoreResult<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Configuration("a SQLite URL starts with sqlite:".into()))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = percent_decode(path)?;
    if path.is_empty() || path.contains(":memory:") || query.contains("mode=memory") {
        return Err(StoreError::Configuration(
            "in-memory SQLite databases are not supported: name a file, e.g. sqlite://workspaces.db"
                .into(),
        ));
    }
    Ok(PathBuf::from(path))
}

/// The database holds password hashes, token hashes and perhaps the generated JWT key: it is
/// created readable by its owner alone (SQLite gives its `-wal` and `-shm` files the main file's
/// mode), and an existing file open to its group or others is tightened, with a warning. Any
/// failure here is left to SQLite's own open to report, or logged.
#[cfg(unix)]
fn owner_only(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    // An empty file is an empty database to SQLite.
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    if created.is_ok() {
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        let Ok(metadata) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            continue;
        }
        let tightened = std::fs::Permissions::from_mode(mode & 0o700);
        match std::fs::set_permissions(&file, tightened) {
            Ok(()) => tracing::warn!(
                file = %file.display(),
                "the database file was open to its group or others (mode {mode:o}); now {:o}",
                mode & 0o700
            ),
            Err(error) => tracing::warn!(
                file = %file.display(),
                %error,
                "the database file is open to its group or others (mode {mode:o}) and could not be tightened"
            ),
        }
    }
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) {}

/// `%XX` escapes of a URL path, decoded.
fn percent_decode(text: &str) -> StoreResult<String> {
    let bad = || StoreError::Configuration(format!("bad escape in the SQLite URL path {text:?}"));
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| bad())
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
    /// Applies pending migrations on a connection of its own (see [`migrate`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = open_connection(&path, false)?;
            Ok(migrate::run(&mut conn)?)
        })
        .await
        .map_err(|_| StoreError::Unavailable("the migration thread panicked"))?
    }

    /// `synchronous` and `journal_mode` as the writer's connection has them: what a commit's
    /// durability rests on.
    pub async fn durability_settings(&self) -> StoreResult<Vec<(String, String)>> {
        self.writer
            .write(|conn| {
                let mut settings = Vec::new();
                for pragma in ["synchronous", "journal_mode"] {
                    let value: rusqlite::types::Value =
                        conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(pragma))?;
                    let text = match value {
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Text(text) => text,
                        other => format!("{other:?}"),
                    };
                    settings.push((pragma.to_owned(), text));
                }
                Ok(settings)
            })
            .await
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

    /// Ready when the database file is still where it was opened (a connection keeps reading a
    /// deleted file through its open descriptor, so a query alone would not notice) and a
    /// connection answers.
    pub async fn ping(&self) -> StoreResult<()> {
        if !self.path.exists() {
            return Err(StoreError::Unavailable("the database file is gone"));
        }
        let mut lease = self.reads.lease().await?;
        lease
            .conn_mut()
            .query_row("SELECT 1 AS one", [], |_| Ok(()))?;
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::database_path;

    #[test]
    fn urls_name_files_relative_absolute_and_escaped_and_never_memory() {
        let path = |url: &str| database_path(url).ok();
        assert_eq!(
            path("sqlite://workspaces.db"),
            Some(PathBuf::from("workspaces.db"))
        );
        assert_eq!(
            path("sqlite:workspaces.db?mode=rwc"),
            Some(PathBuf::from("workspaces.db"))
        );
        assert_eq!(
            path("sqlite:///tmp/a%20b.db"),
            Some(PathBuf::from("/tmp/a b.db"))
        );
        assert_eq!(path("sqlite::memory:"), None);
        assert_eq!(path("sqlite://x.db?mode=memory"), None);
        assert_eq!(path("sqlite://"), None);
        assert_eq!(path("sqlite://bad%2"), None);
    }
}
