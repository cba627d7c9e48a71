//! `GET /health`, `GET /ready`, and the request id of every answer.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, error_body};

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let answer = app.get("/health", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "success": true, "status": "ok" }));
}

#[tokio::test]
async fn ready_answers_ok_when_the_database_answers() {
    let app = spawn_app().await;
    let answer = app.get("/ready", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let backend = if app.database_url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(
        answer.body,
        json!({ "success": true, "status": "ready", "database": backend })
    );
}

/// Takes the database away from a server that has used it (as one in production has, so its
/// pooled connections must notice, not only a new one) and asserts `/ready` says so: 503 when
/// the database does not answer (README, for load balancers).
async fn assert_ready_answers_503_once_the_database_is_gone(app: &TestApp) {
    app.register_verified("owner@example.com").await;
    assert_eq!(app.get("/ready", None).await.status, StatusCode::OK);

    app.remove_database().await;

    let answer = app.get("/ready", None).await;
    let unavailable = error_body("Database unavailable", "DATABASE_UNAVAILABLE");
    assert_answer(&answer, StatusCode::SERVICE_UNAVAILABLE, &unavailable);
}

#[tokio::test]
async fn ready_answers_503_once_the_postgresql_database_is_dropped() {
    let app = spawn_app().await;
    if app.is_sqlite() {
        return; // The SQLite case is the next test.
    }
    assert_ready_answers_503_once_the_database_is_gone(&app).await;
}

#[tokio::test]
async fn ready_answers_503_once_the_database_is_gone() {
    let app = spawn_app().await;
    assert_ready_answers_503_once_the_database_is_gone(&app).await;
}

#[tokio::test]
async fn requests_get_a_request_id_and_keep_the_one_they_send() {
    let app = spawn_app().await;
    let answer = TestApp::send(app.client.get(app.url("/health"))).await;
    assert!(answer.headers.get("x-request-id").is_some());
    let answer = TestApp::send(
        app.client
            .get(app.url("/health"))
            .header("x-request-id", "abc-123"),
    )
    .await;
    assert_eq!(answer.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn a_request_id_that_is_not_a_short_plain_token_is_replaced_by_a_fresh_one() {
    let app = spawn_app().await;
    let long = "x".repeat(65);
    for unsafe_id in ["fake id=1 status=200 user=admin", "a\"b", long.as_str()] {
        let answer = TestApp::send(
            app.client
                .get(app.url("/health"))
                .header("x-request-id", unsafe_id),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, json!({ "success": true, "status": "ok" }));
        let id = answer.headers["x-request-id"].to_str().unwrap();
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "{unsafe_id:?} answered id {id:?}"
        );
    }
    // Two ids at once: neither is taken.
    let answer = TestApp::send(
        app.client
            .get(app.url("/health"))
            .header("x-request-id", "first")
            .header("x-request-id", "second"),
    )
    .await;
    let ids: Vec<_> = answer.headers.get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(
        uuid::Uuid::parse_str(ids[0].to_str().unwrap()).is_ok(),
        "{ids:?}"
    );
}
