//! Faults a test puts in a route's way: a trigger that makes a write fail after its row changed,
//! so the write must be rolled back (a plpgsql exception on PostgreSQL, `RAISE(ABORT)` on SQLite),
//! or a column renamed away under a read; and the check every documented 500 gets.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::accounts::Account;
use crate::support::app::TestApp;
use crate::support::assertions::assert_answer;
use crate::support::client::Answer;

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

/// A fault a route meets in the database: a trigger that refuses a write (see [`install_fault`]),
/// or a column renamed away under a read.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every `event` (INSERT, UPDATE or DELETE) on the table fails.
    Write(&'static str, &'static str),
    /// The table's column is renamed, so every statement naming it fails.
    Read(&'static str, &'static str),
}

impl Fault {
    pub async fn install(self, app: &TestApp) {
        match self {
            Fault::Write(table, event) => install_fault(app, table, event).await,
            Fault::Read(table, column) => {
                let sql = format!("ALTER TABLE {table} RENAME COLUMN {column} TO {column}_gone");
                app.execute(&sql, &[]).await;
            }
        }
    }

    pub async fn remove(self, app: &TestApp) {
        match self {
            Fault::Write(table, _) => remove_fault(app, table).await,
            Fault::Read(table, column) => {
                let sql = format!("ALTER TABLE {table} RENAME COLUMN {column}_gone TO {column}");
                app.execute(&sql, &[]).await;
            }
        }
    }
}

/// One request as a route takes it, to send again after a fault is gone.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub token: Option<String>,
    pub body: Option<Value>,
    /// A route the same caller reaches while the fault is on (see [`answers_its_500_then_works`]).
    control: &'static str,
}

impl Call {
    /// A request with a JSON body, as `by` (or anonymous).
    pub fn new(method: Method, path: impl Into<String>, by: Option<&Account>, body: Value) -> Call {
        Call {
            method,
            path: path.into(),
            token: by.map(|account| account.access_token.clone()),
            body: Some(body),
            control: "/workspace",
        }
    }

    /// With `path` as the control: a pending session reaches `/user/profile`, not `/workspace`.
    pub fn control(self, path: &'static str) -> Call {
        Call {
            control: path,
            ..self
        }
    }

    /// A request without a body, as the client sends its GETs, DELETEs and `activate`.
    pub fn bare(method: Method, path: impl Into<String>, by: &Account) -> Call {
        Call {
            body: None,
            ..Call::new(method, path, Some(by), Value::Null)
        }
    }

    /// The same request without a body (a public GET).
    pub fn without_body(self) -> Call {
        Call { body: None, ..self }
    }

    pub async fn send(&self, app: &TestApp) -> Answer {
        let token = self.token.as_deref();
        app.request(self.method.clone(), &self.path, token, self.body.clone())
            .await
    }

    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Under `fault`: `call` answers `failure` (its route's documented 500, whole), the database is
/// as before, and the call's control route (`GET /workspace` unless set) by the same caller still
/// answers 200, so what failed is the route's own statement, not the session check every route
/// shares. Without the fault the same call answers `success`.
pub async fn answers_its_500_then_works(
    app: &TestApp,
    fault: Fault,
    call: &Call,
    failure: &Value,
    success: StatusCode,
) -> Answer {
    // Taken before the fault: a renamed column may be one the snapshot reads.
    let before = app.snapshot().await;
    fault.install(app).await;

    let refused = call.send(app).await;

    assert_answer(&refused, StatusCode::INTERNAL_SERVER_ERROR, failure);
    if let Some(token) = call.token.as_deref() {
        let control = app.get(call.control, Some(token)).await;
        assert_eq!(control.status, StatusCode::OK, "{}", control.body);
    }
    fault.remove(app).await;
    app.assert_unchanged(&before).await;
    let answer = call.send(app).await;
    assert_eq!(
        answer.status,
        success,
        "{}: {}",
        call.describe(),
        answer.body
    );
    answer
}
