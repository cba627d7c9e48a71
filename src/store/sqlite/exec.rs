//! Running the shared `$N` SQL text on a rusqlite connection: binding by parameter number,
//! cached prepared statements, and the few result shapes the store needs.

use rusqlite::{CachedStatement, Connection, Row, ToSql};

use crate::store::StoreError;

/// Arguments of a statement: `args[N - 1]` binds to `$N`.
pub type Args<'a> = &'a [&'a dyn ToSql];

/// Prepares `sql` (from the connection's statement cache) and binds each `$N` to `args[N - 1]`.
/// SQLite numbers named parameters in order of first appearance, not by their digits, so
/// positional binding would misplace `... SET a = $3 WHERE id = $1`.
fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    args: Args<'_>,
) -> rusqlite::Result<CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|digits| digits.parse::<usize>().ok());
        let arg = number
            .and_then(|n| n.checked_sub(1))
            .and_then(|at| args.get(at))
            .ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        statement.raw_bind_parameter(index, arg)?;
    }
    Ok(statement)
}

/// The first row, mapped; None when there is none.
pub fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    args: Args<'_>,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = prepare(conn, sql, args)?;
    let mut rows = statement.raw_query();
    match rows.next()? {
        Some(row) => Ok(Some(map(row)?)),
        None => Ok(None),
    }
}

/// Every row, mapped.
pub fn query_all<T>(
    conn: &Connection,
    sql: &str,
    args: Args<'_>,
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = prepare(conn, sql, args)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// Calls `each` on every row, as it is stepped.
pub fn for_each_row(
    conn: &Connection,
    sql: &str,
    args: Args<'_>,
    mut each: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut statement = prepare(conn, sql, args)?;
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        each(row)?;
    }
    Ok(())
}

/// A `SELECT COUNT(*)`.
pub fn count(conn: &Connection, sql: &str, args: Args<'_>) -> rusqlite::Result<i64> {
    Ok(query_opt(conn, sql, args, |row| row.get(0))?.unwrap_or(0))
}

/// A statement without result rows; the number of rows it changed.
pub fn execute(conn: &Connection, sql: &str, args: Args<'_>) -> rusqlite::Result<usize> {
    prepare(conn, sql, args)?.raw_execute()
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`] (used where a conflict has a
/// meaning for the caller: a taken name or e-mail).
pub fn classify(error: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    match &error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict
        }
        _ => StoreError::Sqlite(error),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::{classify, execute, query_all, query_opt};
    use crate::store::StoreError;

    #[test]
    fn binds_parameters_by_their_number_not_their_position() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT UNIQUE)")
            .unwrap();
        let changed = execute(&conn, "INSERT INTO t (b, a) VALUES ($2, $1)", &[&7, &"x"]).unwrap();
        assert_eq!(changed, 1);
        let row = query_opt(&conn, "SELECT a, b FROM t WHERE b = $1", &[&"x"], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .unwrap();
        assert_eq!(row, Some((7, "x".to_owned())));
        let all = query_all(&conn, "SELECT a FROM t WHERE a > $1", &[&100], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap();
        assert!(all.is_empty());
    }

    #[test]
    fn a_missing_argument_is_an_error_not_a_null() {
        let conn = Connection::open_in_memory().unwrap();
        assert!(query_opt(&conn, "SELECT $2", &[&1], |row| row.get::<_, i64>(0)).is_err());
    }

    #[test]
    fn unique_violations_are_conflicts() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (b TEXT UNIQUE)")
            .unwrap();
        execute(&conn, "INSERT INTO t (b) VALUES ($1)", &[&"x"]).unwrap();
        let error = execute(&conn, "INSERT INTO t (b) VALUES ($1)", &[&"x"]).unwrap_err();
        assert!(matches!(classify(error), StoreError::Conflict));
        let other = execute(&conn, "INSERT INTO nowhere VALUES ($1)", &[&1]).unwrap_err();
        assert!(matches!(classify(other), StoreError::Sqlite(_)));
    }
}
