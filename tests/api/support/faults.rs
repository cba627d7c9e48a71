//! A fault a test installs on a table: a trigger that makes a write fail after its row changed,
//! so the write must be rolled back (a plpgsql exception on PostgreSQL, `RAISE(ABORT)` on SQLite).

use crate::support::app::TestApp;

/// Makes every `event` (INSERT, UPDATE or DELETE) on `table` fail once its row has changed.
pub async fn install_fault(app: &TestApp, table: &str, event: &str) {
    if app.is_sqlite() {
        let sql = format!(
            "CREATE TRIGGER injected_fault AFTER {event} ON {table} \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        );
        app.execute(&sql, &[]).await;
    } else {
        app.execute(
            "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$",
            &[],
        )
        .await;
        let sql = format!(
            "CREATE TRIGGER injected_fault AFTER {event} ON {table} \
             FOR EACH ROW EXECUTE FUNCTION injected_fault()"
        );
        app.execute(&sql, &[]).await;
    }
}

pub async fn remove_fault(app: &TestApp, table: &str) {
    let sql = if app.is_sqlite() {
        "DROP TRIGGER injected_fault".to_owned()
    } else {
        format!("DROP TRIGGER injected_fault ON {table}")
    };
    app.execute(&sql, &[]).await;
}
