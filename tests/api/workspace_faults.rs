//! The documented 500s of PUT and DELETE /workspace/{id} and of the three member routes, and
//! that a failing write leaves nothing behind.
//!
//! The fault is a trigger the test installs on the table the route writes, firing AFTER the
//! route's row change: the route's reads (and, where it has one, its transaction's earlier
//! statements) have run and its change is made when the database refuses, so the change must be
//! rolled back, on PostgreSQL (a plpgsql function raising an exception) as on SQLite
//! (`RAISE(ABORT)`, which also tells whether a trigger's abort is mistaken for a unique
//! violation). Once the trigger is gone, the very same request succeeds: the fault was the only
//! thing wrong with it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, error_body};
use crate::support::cast::{role_of, Cast};
use crate::support::client::Answer;
use crate::support::faults::{install_fault, remove_fault};

/// One route's request, sent as `by`.
struct Request<'a> {
    by: &'a Account,
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Request<'_> {
    async fn send(&self, app: &TestApp) -> Answer {
        let token = Some(self.by.access_token.as_str());
        app.request(self.method.clone(), &self.path, token, self.body.clone())
            .await
    }
}

/// With the fault on `table`'s `event`: the documented 500 and nothing changed. Without it: the
/// same request answers `expected`.
async fn fails_whole_then_succeeds(
    app: &TestApp,
    (table, event): (&str, &str),
    request: Request<'_>,
    message: &str,
    expected: (StatusCode, Value),
) {
    install_fault(app, table, event).await;
    let before = app.snapshot().await;

    let answer = request.send(app).await;

    assert_answer(
        &answer,
        StatusCode::INTERNAL_SERVER_ERROR,
        &error_body(message, "INTERNAL_ERROR"),
    );
    app.assert_unchanged(&before).await;
    remove_fault(app, table).await;
    let answer = request.send(app).await;
    assert_answer(&answer, expected.0, &expected.1);
    assert_ne!(app.snapshot().await, before, "without the fault it writes");
}

fn ok_body() -> Value {
    json!({ "success": true })
}

#[tokio::test]
async fn a_rename_that_fails_in_the_database_answers_500_and_keeps_the_name() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let request = Request {
        by: &cast.admin,
        method: Method::PUT,
        path: cast.path(""),
        body: Some(json!({ "name": "Renamed" })),
    };
    let renamed = json!({ "success": true, "workspace":
        { "id": cast.workspace, "name": "Renamed", "orgId": cast.org_id() } });

    fails_whole_then_succeeds(
        &app,
        ("workspaces", "UPDATE"),
        request,
        "Failed to update workspace",
        (StatusCode::OK, renamed),
    )
    .await;
}

#[tokio::test]
async fn a_delete_that_fails_in_the_database_answers_500_and_keeps_the_workspace() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let request = Request {
        by: &cast.admin,
        method: Method::DELETE,
        path: cast.path(""),
        body: None,
    };

    fails_whole_then_succeeds(
        &app,
        ("workspaces", "UPDATE"),
        request,
        "Failed to delete workspace",
        (StatusCode::OK, ok_body()),
    )
    .await;
    let gone = "SELECT COUNT(*) FROM workspaces WHERE id = $1 AND deleted_at IS NOT NULL";
    assert_eq!(app.count(gone, &[&cast.workspace]).await, 1);
}

#[tokio::test]
async fn adding_a_member_that_fails_in_the_database_answers_500_and_adds_nobody() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let request = Request {
        by: &cast.admin,
        method: Method::POST,
        path: cast.path("/users"),
        body: Some(json!({ "userId": cast.plain.user_id, "role": "WRITE" })),
    };

    fails_whole_then_succeeds(
        &app,
        ("workspace_members", "INSERT"),
        request,
        "Failed to add user to workspace",
        (StatusCode::OK, ok_body()),
    )
    .await;
    assert_eq!(role_of(&app, &cast.workspace, &cast.plain).await, ["WRITE"]);
}

#[tokio::test]
async fn a_role_change_that_fails_in_the_database_answers_500_and_keeps_the_role() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    // Demoting an ADMIN: the route's last-admin check runs (and passes) before the write.
    let request = Request {
        by: &cast.owner,
        method: Method::PUT,
        path: cast.path(&format!("/users/{}", cast.admin.user_id)),
        body: Some(json!({ "role": "READ" })),
    };

    fails_whole_then_succeeds(
        &app,
        ("workspace_members", "UPDATE"),
        request,
        "Failed to update user role",
        (StatusCode::OK, ok_body()),
    )
    .await;
    assert_eq!(role_of(&app, &cast.workspace, &cast.admin).await, ["READ"]);
}

#[tokio::test]
async fn a_removal_that_fails_in_the_database_answers_500_and_keeps_the_member() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let request = Request {
        by: &cast.owner,
        method: Method::DELETE,
        path: cast.path(&format!("/users/{}", cast.admin.user_id)),
        body: None,
    };

    fails_whole_then_succeeds(
        &app,
        ("workspace_members", "DELETE"),
        request,
        "Failed to remove user from workspace",
        (StatusCode::OK, ok_body()),
    )
    .await;
    assert!(role_of(&app, &cast.workspace, &cast.admin).await.is_empty());
}
