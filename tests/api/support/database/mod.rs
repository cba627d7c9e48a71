//! The test's own connection to the server's database ([`Db`]), and the queries tests run on it
//! to set things up and to assert effects. [`fresh`] makes a database per test on either
//! backend; [`leftovers`] drops the ones aborted runs left behind.

pub mod fresh;
pub mod leftovers;

use std::sync::{Arc, Mutex};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Statement};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::app::TestApp;

/// The test's own connection to the server's database, for asserting effects.
pub enum Db {
    /// rusqlite, as the server uses it: ids bind as 16-byte BLOBs. Queries run on the blocking
    /// pool, so waiting for the server's write lock never stalls the test's runtime.
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(PgPool),
}

/// The database, read and written the way the tests need: SQL text with `$N` parameters (both
/// backends accept it), UUID strings bound as ids.
impl TestApp {
    /// Runs a query that returns one integer.
    pub async fn count(&self, sql: &str, ids: &[&str]) -> i64 {
        match &self.db {
            Db::Sqlite(conn) => {
                let rows = on_sqlite(conn, sql, ids, |statement| {
                    let mut rows = statement.raw_query();
                    let row = rows.next()?.expect("the query returns a row");
                    row.get::<_, i64>(0)
                });
                rows.await
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query_scalar::<_, i64>(sql);
                for id in uuids(ids) {
                    query = query.bind(id);
                }
                query.fetch_one(pool).await.unwrap()
            }
        }
    }

    /// Runs a query that returns text rows.
    pub async fn strings(&self, sql: &str, ids: &[&str]) -> Vec<String> {
        match &self.db {
            Db::Sqlite(conn) => {
                let rows = on_sqlite(conn, sql, ids, |statement| {
                    let mut rows = statement.raw_query();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next()? {
                        out.push(row.get::<_, String>(0)?);
                    }
                    Ok(out)
                });
                rows.await
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for id in uuids(ids) {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await.unwrap()
            }
        }
    }

    /// Runs a statement (test set-up such as back-dating a token) and answers the rows it
    /// changed.
    pub async fn execute(&self, sql: &str, ids: &[&str]) -> u64 {
        match &self.db {
            Db::Sqlite(conn) => {
                let changed = on_sqlite(conn, sql, ids, |statement| statement.raw_execute());
                changed.await as u64
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for id in uuids(ids) {
                    query = query.bind(id);
                }
                query.execute(pool).await.unwrap().rows_affected()
            }
        }
    }

    /// Every row of `table`, every column, as text (BLOBs and bytea as lower-case hex): to show
    /// what a table holds, including columns added after the test was written.
    pub async fn dump(&self, table: &str) -> Vec<String> {
        match &self.db {
            Db::Sqlite(conn) => {
                let sql = format!("SELECT * FROM {table}");
                let rows = on_sqlite(conn, &sql, &[], |statement| {
                    let columns = statement.column_count();
                    let mut rows = statement.raw_query();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next()? {
                        let mut fields = Vec::new();
                        for column in 0..columns {
                            fields.push(match row.get_ref(column)? {
                                ValueRef::Null => "NULL".to_owned(),
                                ValueRef::Integer(n) => n.to_string(),
                                ValueRef::Real(x) => x.to_string(),
                                ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                                ValueRef::Blob(bytes) => hex(bytes),
                            });
                        }
                        out.push(fields.join("|"));
                    }
                    Ok(out)
                });
                rows.await
            }
            // bytea renders as \x followed by hex in JSON.
            Db::Postgres(_) => {
                let sql = format!("SELECT row_to_json(t)::text FROM {table} t");
                self.strings(&sql, &[]).await
            }
        }
    }
}

impl TestApp {
    /// Whether the user's e-mail is verified, in the database.
    pub async fn is_validated(&self, user_id: &str) -> bool {
        let sql = "SELECT COUNT(*) FROM users WHERE id = $1 AND validated";
        self.count(sql, &[user_id]).await == 1
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn uuids(ids: &[&str]) -> Vec<Uuid> {
    ids.iter()
        .map(|id| Uuid::parse_str(id).unwrap_or_else(|_| panic!("{id} is not a UUID")))
        .collect()
}

/// Prepares `sql` on the test's SQLite connection, binds each `$N` to the N-th id, and runs
/// `run` on the statement, on the blocking pool. SQLite numbers named parameters in order of
/// first appearance, not by their digits, so ids are bound by the digits of each name.
pub(crate) async fn on_sqlite<T: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    sql: &str,
    ids: &[&str],
    run: impl FnOnce(&mut Statement<'_>) -> rusqlite::Result<T> + Send + 'static,
) -> T {
    let (conn, text, ids) = (conn.clone(), sql.to_owned(), uuids(ids));
    let result = tokio::task::spawn_blocking(move || {
        let conn = conn.lock().unwrap();
        let mut statement = conn.prepare(&text)?;
        for index in 1..=statement.parameter_count() {
            let id = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|digits| digits.parse::<usize>().ok())
                .and_then(|n| ids.get(n.checked_sub(1)?))
                .ok_or(rusqlite::Error::InvalidParameterCount(index, ids.len()))?;
            statement.raw_bind_parameter(index, id)?;
        }
        run(&mut statement)
    })
    .await
    .expect("the SQLite query ran");
    result.unwrap_or_else(|error| panic!("{sql}: {error}"))
}
