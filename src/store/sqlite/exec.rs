//! [`Tx`](crate::store::tx::Tx) on a rusqlite connection: binding by parameter number, cached
//! prepared statements, rows read by column name.

use rusqlite::{CachedStatement, Connection};

use crate::store::tx::{Arg, Row};
use crate::store::{StoreError, StoreResult};

/// Prepares `sql` (from the connection's statement cache) and binds each `$N` to `args[N - 1]`.
/// SQLite numbers named parameters in order of first appearance, not by their digits, so
/// positional binding would misplace `... SET a = $3 WHERE id = $1`.
fn prepare<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Arg<'_>],
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

pub fn execute(conn: &Connection, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
    let changed = prepare(conn, sql, args)
        .and_then(|mut statement| statement.raw_execute())
        .map_err(classify)?;
    Ok(changed as u64)
}

pub fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut decode = Some(decode);
    let mut found = None;
    for_each_until(conn, sql, args, |row| {
        if let Some(decode) = decode.take() {
            found = Some(decode(row)?);
        }
        Ok(false)
    })?;
    Ok(found)
}

pub fn for_each(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    mut each: impl FnMut(&Row<'_>) -> StoreResult<()>,
) -> StoreResult<bool> {
    let mut any = false;
    for_each_until(conn, sql, args, |row| {
        any = true;
        each(row)?;
        Ok(true)
    })?;
    Ok(any)
}

/// Steps the statement, handing each row to `each` until it answers false.
fn for_each_until(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    mut each: impl FnMut(&Row<'_>) -> StoreResult<bool>,
) -> StoreResult<()> {
    let mut statement = prepare(conn, sql, args).map_err(classify)?;
    // Owned copies: the names borrow the statement, which stepping borrows mutably.
    let owned: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next().map_err(classify)? {
        if !each(&Row::Sqlite { row, names: &names })? {
            break;
        }
    }
    Ok(())
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`].
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

    use super::{execute, for_each, query_opt};
    use crate::store::tx::args;
    use crate::store::StoreError;

    #[test]
    fn binds_parameters_by_their_number_not_their_position() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT UNIQUE)")
            .unwrap();
        let changed = execute(
            &conn,
            "INSERT INTO t (b, a) VALUES ($2, $1)",
            args![7i64, "x"],
        );
        assert_eq!(changed.unwrap(), 1);
        let row = query_opt(
            &conn,
            "SELECT a, b FROM t WHERE b = $1",
            args!["x"],
            |row| Ok((row.get::<i64>("a")?, row.get::<String>("b")?)),
        )
        .unwrap();
        assert_eq!(row, Some((7, "x".to_owned())));
        let any = for_each(&conn, "SELECT a FROM t WHERE a > $1", args![100i64], |_| {
            Ok(())
        });
        assert!(!any.unwrap());
    }

    #[test]
    fn a_missing_argument_is_an_error_not_a_null() {
        let conn = Connection::open_in_memory().unwrap();
        let read = query_opt(&conn, "SELECT $2 AS v", args![1i64], |row| {
            row.get::<i64>("v")
        });
        assert!(read.is_err());
    }

    #[test]
    fn an_unknown_column_is_an_error() {
        let conn = Connection::open_in_memory().unwrap();
        let read = query_opt(&conn, "SELECT 1 AS v", args![], |row| row.get::<i64>("w"));
        assert!(read.is_err());
    }

    #[test]
    fn unique_violations_are_conflicts() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (b TEXT UNIQUE)")
            .unwrap();
        execute(&conn, "INSERT INTO t (b) VALUES ($1)", args!["x"]).unwrap();
        let again = execute(&conn, "INSERT INTO t (b) VALUES ($1)", args!["x"]);
        assert!(matches!(again, Err(StoreError::Conflict)));
        let other = execute(&conn, "INSERT INTO nowhere VALUES ($1)", args![1i64]);
        assert!(matches!(other, Err(StoreError::Sqlite(_))));
    }
}
