//! Several instances on one database (the scaled-out mode): nothing depends on one process.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use workspaces::app::Application;

use crate::support::app::{second_instance, spawn_app, test_config, CapturingMailer, TestApp};
use crate::support::assertions::{assert_answer, assert_unauthorized};
use crate::support::cast::taken_body;

#[tokio::test]
async fn a_second_instance_on_the_same_database_accepts_the_first_ones_tokens() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let second_address = second_instance(&app).await;

    let answer = TestApp::send(
        app.client
            .post(format!("{second_address}/workspace"))
            .bearer_auth(&owner.access_token)
            .json(&json!({ "name": "Made elsewhere" })),
    )
    .await;
    let id = answer.body["workspace"]["id"].as_str().unwrap_or_default();
    let expected = json!({
        "success": true,
        "workspace": { "id": id, "name": "Made elsewhere", "orgId": owner.org_id },
    });
    assert_answer(&answer, StatusCode::CREATED, &expected);
    let sql = "SELECT name FROM workspaces WHERE id = $1 AND org_id = $2";
    let stored = app.strings(sql, &[id, owner.org_id.as_str()]).await;
    assert_eq!(stored, ["Made elsewhere"]);

    // The name is taken for the first instance too: uniqueness lives in the database.
    let again = app
        .create_workspace(&owner.access_token, "made ELSEWHERE")
        .await;
    assert_answer(&again, StatusCode::CONFLICT, &taken_body());

    // Logging out through the second instance ends the session on the first at once.
    let logout = TestApp::send(
        app.client
            .post(format!("{second_address}/user/logout"))
            .json(&json!({ "refreshToken": owner.refresh_token })),
    )
    .await;
    assert_answer(&logout, StatusCode::OK, &json!({ "success": true }));
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&owner.token_id]).await, 1);
    let profile = app.get("/user/profile", Some(&owner.access_token)).await;
    assert_unauthorized(&profile);
}

#[tokio::test]
async fn a_jwt_secret_shorter_than_32_bytes_is_refused_at_start() {
    let app = spawn_app().await;
    let mut config = test_config(&app.database_url);
    config.jwt_secret = Some("too-short".into());
    let refused =
        Application::build_with_mailer(config, Arc::new(CapturingMailer::default())).await;
    let error = refused
        .err()
        .expect("the server refuses to start")
        .to_string();
    assert_eq!(error, "--jwt-secret must be at least 32 bytes");
}
