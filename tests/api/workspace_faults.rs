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

use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::error_body;
use crate::support::cast::{role_of, Cast};
use crate::support::faults::{answers_its_500_then_works, Call, Fault};

/// With the fault on `table`'s `event`: the documented 500 and nothing changed. Without it: the
/// same request answers `expected`, whole.
async fn fails_whole_then_succeeds(
    app: &TestApp,
    (table, event): (&'static str, &'static str),
    call: Call,
    message: &str,
    expected: (StatusCode, Value),
) {
    let failure = error_body(message, "INTERNAL_ERROR");
    let fault = Fault::Write(table, event);
    let answer = answers_its_500_then_works(app, fault, &call, &failure, expected.0).await;
    assert_eq!(answer.body, expected.1, "{}", call.describe());
}

fn ok_body() -> Value {
    json!({ "success": true })
}

#[tokio::test]
async fn a_rename_that_fails_in_the_database_answers_500_and_keeps_the_name() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let request = Call::new(
        Method::PUT,
        cast.path(""),
        Some(&cast.admin),
        json!({ "name": "Renamed" }),
    );
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
    let request = Call::bare(Method::DELETE, cast.path(""), &cast.admin);

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
    let request = Call::new(
        Method::POST,
        cast.path("/users"),
        Some(&cast.admin),
        json!({ "userId": cast.plain.user_id, "role": "WRITE" }),
    );

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
    let request = Call::new(
        Method::PUT,
        cast.path(&format!("/users/{}", cast.admin.user_id)),
        Some(&cast.owner),
        json!({ "role": "READ" }),
    );

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
    let request = Call::bare(
        Method::DELETE,
        cast.path(&format!("/users/{}", cast.admin.user_id)),
        &cast.owner,
    );

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
