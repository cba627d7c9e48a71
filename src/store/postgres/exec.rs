//! [`Tx`](crate::store::tx::Tx) on a PostgreSQL connection through sqlx.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres};

use crate::store::tx::{Arg, Row};
use crate::store::{StoreError, StoreResult};

fn bind<'q>(sql: &'q str, args: &[Arg<'q>]) -> Query<'q, Postgres, PgArguments> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match *arg {
            Arg::Uuid(value) => query.bind(value),
            Arg::BigInt(value) => query.bind(value),
            Arg::SmallInt(value) => query.bind(value),
            Arg::Bool(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
            Arg::Bytes(value) => query.bind(value),
        };
    }
    query
}

pub async fn execute(conn: &mut PgConnection, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
    let done = bind(sql, args).execute(conn).await.map_err(classify)?;
    Ok(done.rows_affected())
}

pub async fn query_opt<T>(
    conn: &mut PgConnection,
    sql: &str,
    args: &[Arg<'_>],
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let row = bind(sql, args)
        .fetch_optional(conn)
        .await
        .map_err(classify)?;
    row.as_ref()
        .map(|row| decode(&Row::Postgres(row)))
        .transpose()
}

pub async fn for_each(
    conn: &mut PgConnection,
    sql: &str,
    args: &[Arg<'_>],
    mut each: impl FnMut(&Row<'_>) -> StoreResult<()>,
) -> StoreResult<bool> {
    let rows: Vec<PgRow> = bind(sql, args).fetch_all(conn).await.map_err(classify)?;
    for row in &rows {
        each(&Row::Postgres(row))?;
    }
    Ok(!rows.is_empty())
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
pub fn classify(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Postgres(error),
    }
}
