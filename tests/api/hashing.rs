//! The Argon2 queue: bounded (503 `OVERLOADED` beyond it, at once), and the signed-in routes that
//! hash a password rate limited per user.

use futures::future::join_all;
use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use serde_json::json;
use workspaces::config::RateLimitConfig;

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};

#[tokio::test]
async fn beyond_the_hashing_queue_registrations_get_503_overloaded_and_create_nothing() {
    let app = spawn_app_with(|config| {
        config.password_hash_threads = 1;
        config.password_hash_queue = 1;
    })
    .await;
    let emails: Vec<String> = (0..12).map(|i| format!("user{i}@example.com")).collect();

    let answers = join_all(
        emails
            .iter()
            .map(|email| app.post("/user/register", None, TestApp::registration_body(email))),
    )
    .await;

    let busy = error_body("Server is busy, try again shortly", "OVERLOADED");
    let mut created: i64 = 0;
    for answer in &answers {
        if answer.status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_answer(answer, StatusCode::SERVICE_UNAVAILABLE, &busy);
            assert_eq!(answer.headers[RETRY_AFTER], "1");
        }
    }
    // One hashing and one waiting at a time: some of twelve at once were refused (how many
    // depends on how fast the first hashes finish).
    assert!((1..12).contains(&created), "{created} created");
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, created);
    // Once the queue has drained, hashing works again.
    let later = app
        .post(
            "/user/register",
            None,
            TestApp::registration_body("later@example.com"),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.body);
}

#[tokio::test]
async fn beyond_the_hashing_queue_logins_get_503_overloaded() {
    let app = spawn_app_with(|config| {
        config.password_hash_threads = 1;
        config.password_hash_queue = 1;
    })
    .await;

    let emails: Vec<String> = (0..12).map(|i| format!("nobody{i}@example.com")).collect();
    let answers = join_all(emails.iter().map(|email| app.login(email, PASSWORD))).await;

    let busy = error_body("Server is busy, try again shortly", "OVERLOADED");
    let unknown = error_body("User not found", "USER_NOT_FOUND");
    let mut refused = 0;
    for answer in &answers {
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            assert_answer(answer, StatusCode::SERVICE_UNAVAILABLE, &busy);
            refused += 1;
        } else {
            assert_answer(answer, StatusCode::UNAUTHORIZED, &unknown);
        }
    }
    assert!((1..12).contains(&refused), "{refused} refused");
}

#[tokio::test]
async fn creating_users_with_a_password_is_rate_limited_per_caller() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            per_account_per_minute: 2,
            ..RateLimitConfig::OFF
        }
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let create = |email: String, password: Option<&'static str>| {
        let mut body = json!({ "email": email, "firstName": "Bo", "lastName": "Li" });
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        app.post("/organization/users", Some(&owner.access_token), body)
    };

    for i in 0..2 {
        let answer = create(format!("with{i}@example.com"), Some(PASSWORD)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
    let limited = create("with2@example.com".into(), Some(PASSWORD)).await;
    assert_answer(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        &error_body("Too many requests, try again later", "RATE_LIMITED"),
    );
    // Without a password nothing is hashed, and nothing is limited.
    let invited = create("invited@example.com".into(), None).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.body);
    let sql = "SELECT COUNT(*) FROM users WHERE email = 'with2@example.com'";
    assert_eq!(app.count(sql, &[]).await, 0);
}
