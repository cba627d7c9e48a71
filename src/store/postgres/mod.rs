//! The scaled-out backend: PostgreSQL through a sqlx pool.
//!
//! Several server processes may share the database, so every rule that spans rows is held by the
//! database: constraints, and row locks (`FOR UPDATE`) inside transactions where a check precedes
//! a write. The SQL is the text shared with SQLite, written in each store module, except for the
//! statements that differ (`PerDialect`, `store::tx`): those locks, and statements PostgreSQL can
//! do in one round trip.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Acquire as _, Connection as _, PgPool};

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
/// (BENCHMARKS.md).
pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<PgDb> {
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
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
