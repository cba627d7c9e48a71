//! For the plan tests of the store's statements: a database migrated as the server migrates
//! one, and SQLite's query plan of a statement, one step per line.

use rusqlite::Connection;

/// An in-memory database with every migration applied (by the server's own migrator).
pub fn migrated() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    super::migrate::run(&mut conn).unwrap();
    conn
}

/// The steps of `EXPLAIN QUERY PLAN sql`, joined by newlines. Parameters are left unbound: the
/// plan does not depend on their values.
pub fn plan(conn: &Connection, sql: &str) -> String {
    let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let mut rows = plan.raw_query();
    let mut steps: Vec<String> = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        steps.push(row.get("detail").unwrap());
    }
    steps.join("\n")
}

/// The opcodes of `EXPLAIN sql` (SQLite's bytecode), one per instruction, in order.
pub fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
    let mut program = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
    let mut rows = program.raw_query();
    let mut opcodes = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        opcodes.push(row.get("opcode").unwrap());
    }
    opcodes
}
