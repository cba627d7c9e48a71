//! The scaled-out backend: PostgreSQL through a sqlx pool.
//!
//! Several server processes may share the database, so every rule that spans rows is held by the
//! database: constraints, and row locks (`FOR UPDATE`) inside transactions where a check precedes
//! a write. The SQL is the text shared with SQLite (`store::queries`) except for those locks and
//! for statements PostgreSQL can do in one round trip.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgPool};

use super::{queries, Store, StoreError, StoreOptions, StoreResult};

#[macro_use]
mod inserts;
mod identity;
mod organizations;
mod users;
mod workspaces;

/// A pooled connection that sat idle this long is pinged before use, so one that the server
/// closed meanwhile is replaced instead of failing a request. Busy connections are not pinged:
/// a ping before every query would cost a round trip per query.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(30);

pub struct PgStore {
    pool: PgPool,
}

/// Connects the pool. Every connection runs with `jit = off`: the server's queries take well
/// under a millisecond, and PostgreSQL compiled a listing whose cost it overestimated (its
/// prepared, generic plan cannot know the page size) at 14 ms of CPU per execution
/// (BENCHMARKS.md).
pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<PgStore> {
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
    Ok(PgStore { pool })
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
pub(crate) fn classify(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(error),
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    fn pool_connections(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn setting_or_insert(&self, key: &str, candidate: &str) -> StoreResult<String> {
        sqlx::query(queries::INSERT_SETTING)
            .bind(key)
            .bind(candidate)
            .execute(&self.pool)
            .await?;
        let value = sqlx::query_scalar(queries::SETTING)
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(value)
    }
}
