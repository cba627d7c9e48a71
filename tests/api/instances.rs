//! Several instances on one database (the scaled-out mode): nothing depends on one process.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use workspaces::app::Application;
use workspaces::config::Config;

use crate::helpers::{spawn_app, CapturingMailer, TestApp};

#[tokio::test]
async fn a_second_instance_on_the_same_database_accepts_the_first_ones_tokens() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let second = Application::build_with_mailer(
        Config::for_database(app.database_url.clone()),
        Arc::new(CapturingMailer::default()),
    )
    .await
    .unwrap();
    let second_address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until(std::future::pending()));

    let answer = TestApp::send(
        app.client
            .post(format!("{second_address}/workspace"))
            .bearer_auth(&owner.access_token)
            .json(&json!({ "name": "Made elsewhere" })),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED);

    // The name is taken for the first instance too: uniqueness lives in the database.
    let again = app
        .create_workspace(&owner.access_token, "made ELSEWHERE")
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Logging out through the second instance ends the session on the first at once.
    let logout = TestApp::send(
        app.client
            .post(format!("{second_address}/user/logout"))
            .json(&json!({ "refreshToken": owner.refresh_token })),
    )
    .await;
    assert_eq!(logout.status, StatusCode::OK);
    let profile = app.get("/user/profile", Some(&owner.access_token)).await;
    assert_eq!(profile.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_jwt_secret_shorter_than_32_bytes_is_refused_at_start() {
    let app = spawn_app().await;
    let mut config = Config::for_database(app.database_url.clone());
    config.jwt_secret = Some("too-short".into());
    let refused =
        Application::build_with_mailer(config, Arc::new(CapturingMailer::default())).await;
    assert!(refused.is_err());
}
