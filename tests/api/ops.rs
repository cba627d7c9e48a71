use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

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
