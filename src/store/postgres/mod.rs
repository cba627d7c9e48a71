//! The scaled-out backend: PostgreSQL through a sqlx pool.
//!
//! Several server processes may share the database, so every rule that spans rows is held by the
//! database: constraints, and row locks (`FOR UPDATE`) inside transactions where a check precedes
//! a write. The SQL is the text shared with SQLite, written in each store module, except for the
//! statements that differ (`PerDialect`, `store::tx`): those locks, and statements PostgreSQL can
//! do in one round trip.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Acquire as _, Connection as _, PgConnection, PgPool};

use super::tx::{args, Tx};
use super::{StoreOptions, StoreResult, TxFuture};

pub(super) mod exec;

/// A pooled connection that sat idle this long is pinged before use, so one that the server
/// closed meanwhile is replaced instead of failing a request. Busy connections are not pinged:
/// a ping before every query would cost a round trip per query.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(30);

pub struct PgDb {
    pool: PgPool,
}

/// Connects the pool. Every connection runs with `jit = off`: the server's queries take well
/// under a millisecond, and PostgreSQL compiled a listing whose cost it overestimated (its
/// prepared, generic plan cannot know the page size) at 14 ms of CPU per execution
/// (BENCHMARKS.md). And every connection commits durably ([`commit_durably`]).
pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<PgDb> {
    let warned = Arc::new(AtomicBool::new(false));
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            let warned = warned.clone();
            Box::pin(async move { commit_durably(conn, &warned).await })
        })
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(PgConnectOptions::from_str(url)?.options([("jit", "off")]))
        .await?;
    Ok(PgDb { pool })
}

/// A 2xx means the change is on disk, so a commit must wait for its WAL to be flushed. Every
/// value of `synchronous_commit` but `off` does (`local`, `on`, `remote_write`, `remote_apply`
/// differ only in what they also wait for from standbys: the operator's choice, kept). `off`
/// can come from outside the server: a database's or role's default (`ALTER DATABASE ... SET
/// synchronous_commit = off`, perhaps for a bulk load), or the URL's `options`. The
/// server then turns it on for its own connection (logged once per pool), rather than refusing to
/// start over a setting it can fix for itself alone.
async fn commit_durably(conn: &mut PgConnection, warned: &AtomicBool) -> sqlx::Result<()> {
    let turned_on: Option<String> = sqlx::query_scalar(SYNCHRONOUS_COMMIT_ON)
        .fetch_one(conn)
        .await?;
    if turned_on.is_some() && !warned.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "synchronous_commit is off for this database or role; the server's connections set it \
             on for themselves, so that every acknowledged write survives a crash"
        );
    }
    Ok(())
}

impl PgDb {
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    pub fn connections(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    /// Statements on a pooled connection, each committed on its own.
    pub async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        let mut conn = self.pool.acquire().await?;
        op(&mut Tx::Postgres(&mut conn)).await
    }

    /// A read-only REPEATABLE READ transaction: one snapshot for every statement of `op`.
    pub async fn read_snapshot<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let mut inner = Tx::Postgres(&mut tx);
        inner
            .execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                args![],
            )
            .await?;
        let out = op(&mut inner).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A transaction: committed when `op` succeeds, rolled back (dropped) when it fails.
    pub async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, T> + Send,
    {
        let mut tx = self.pool.begin().await?;
        let out = op(&mut Tx::Postgres(&mut tx)).await?;
        tx.commit().await?;
        Ok(out)
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// `synchronous_commit = on` for this session if it is `off`, else unchanged: non-NULL when it
/// was turned on.
const SYNCHRONOUS_COMMIT_ON: &str =
    "SELECT CASE WHEN current_setting('synchronous_commit') = 'off' \
     THEN set_config('synchronous_commit', 'on', false) END AS turned_on";
