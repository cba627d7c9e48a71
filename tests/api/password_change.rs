//! `PUT /user/{userId}` with a password (contract section 4): a session younger than 10 minutes
//! changes it as the official client does, an older one must prove the current password, and
//! password changes are rate limited per user and like logins.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use workspaces::config::RateLimitConfig;

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_error, error_body};
use crate::support::client::Answer;

const NEW_PASSWORD: &str = "Changed123";

fn updated() -> Value {
    json!({ "success": true, "message": "User updated successfully" })
}

async fn change(app: &TestApp, account: &Account, body: Value) -> Answer {
    let path = format!("/user/{}", account.user_id);
    app.request(Method::PUT, &path, Some(&account.access_token), Some(body))
        .await
}

/// Moves the start of every session of `account` back by `minutes` (the access tokens stay valid).
async fn age_sessions(app: &TestApp, account: &Account, minutes: i64) {
    let sql = format!(
        "UPDATE sessions SET created_at = created_at - {} WHERE user_id = $1",
        minutes * 60 * 1000
    );
    assert!(app.execute(&sql, &[&account.user_id]).await >= 1);
}

async fn password_hash(app: &TestApp, account: &Account) -> Vec<String> {
    app.strings(
        "SELECT password_hash FROM users WHERE id = $1",
        &[&account.user_id],
    )
    .await
}

fn with_per_account_limit(per_minute: u32) -> impl FnOnce(&mut workspaces::config::Config) {
    move |config| {
        config.rate_limits = RateLimitConfig {
            per_account_per_minute: per_minute,
            ..RateLimitConfig::OFF
        }
    }
}

#[tokio::test]
async fn a_session_younger_than_ten_minutes_changes_the_password_without_the_current_one() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    age_sessions(&app, &ann, 9).await;

    let answer = change(&app, &ann, json!({ "password": NEW_PASSWORD })).await;

    assert_answer(&answer, StatusCode::OK, &updated());
    assert_eq!(
        app.login(&ann.email, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_older_session_without_the_current_password_gets_403_and_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let other = app.log_in(&ann).await;
    age_sessions(&app, &ann, 11).await;
    let before = password_hash(&app, &ann).await;

    for body in [
        json!({ "password": NEW_PASSWORD }),
        json!({ "password": NEW_PASSWORD, "currentPassword": "" }),
        json!({ "password": NEW_PASSWORD, "name": "Eve" }),
    ] {
        let answer = change(&app, &ann, body).await;
        assert_answer(
            &answer,
            StatusCode::FORBIDDEN,
            &error_body("Current password is required", "CURRENT_PASSWORD_REQUIRED"),
        );
    }

    assert_eq!(password_hash(&app, &ann).await, before);
    let names = "SELECT first_name FROM users WHERE id = $1";
    assert_eq!(app.strings(names, &[&ann.user_id]).await, vec!["Ann"]);
    // The other session was not ended.
    let profile = app.get("/user/profile", Some(&other.access_token)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    // A name alone still needs no proof.
    let renamed = change(&app, &ann, json!({ "name": "Anna" })).await;
    assert_answer(&renamed, StatusCode::OK, &updated());
}

#[tokio::test]
async fn an_older_session_with_the_current_password_changes_it() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    age_sessions(&app, &ann, 60).await;

    let body = json!({ "password": NEW_PASSWORD, "currentPassword": PASSWORD });
    let answer = change(&app, &ann, body).await;

    assert_answer(&answer, StatusCode::OK, &updated());
    assert_eq!(
        app.login(&ann.email, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
    assert_error(
        &app.login(&ann.email, PASSWORD).await,
        401,
        "Invalid password",
        "INVALID_PASSWORD",
    );
}

#[tokio::test]
async fn a_wrong_current_password_gets_403_also_from_a_young_session() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let before = password_hash(&app, &ann).await;
    let too_long = "x".repeat(200);

    for (minutes, wrong) in [(0, "Wrong1234"), (11, "Wrong1234"), (0, too_long.as_str())] {
        if minutes > 0 {
            age_sessions(&app, &ann, minutes).await;
        }
        let body = json!({ "password": NEW_PASSWORD, "currentPassword": wrong });
        let answer = change(&app, &ann, body).await;
        assert_answer(
            &answer,
            StatusCode::FORBIDDEN,
            &error_body(
                "Current password is incorrect",
                "CURRENT_PASSWORD_INCORRECT",
            ),
        );
    }

    assert_eq!(password_hash(&app, &ann).await, before);
}

#[tokio::test]
async fn wrong_current_passwords_are_limited_like_failed_logins_of_the_account() {
    let app = spawn_app_with(with_per_account_limit(2)).await;
    let ann = app.register_verified("ann@example.com").await;
    age_sessions(&app, &ann, 11).await;
    let before = password_hash(&app, &ann).await;
    let wrong = json!({ "password": NEW_PASSWORD, "currentPassword": "Wrong1234" });
    let incorrect = error_body(
        "Current password is incorrect",
        "CURRENT_PASSWORD_INCORRECT",
    );

    // One failed login and one wrong current password from this address...
    assert_eq!(
        app.login(&ann.email, "Wrong1234").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_answer(&change(&app, &ann, wrong).await, 403, &incorrect);

    // ...lock both for the account here, even with the right password.
    let right = json!({ "password": NEW_PASSWORD, "currentPassword": PASSWORD });
    let limited = change(&app, &ann, right).await;
    assert_answer(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        &error_body("Too many requests, try again later", "RATE_LIMITED"),
    );
    assert!(limited.headers.contains_key(reqwest::header::RETRY_AFTER));
    assert_eq!(
        app.login(&ann.email, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(password_hash(&app, &ann).await, before);
}

#[tokio::test]
async fn password_changes_are_rate_limited_per_user_and_name_changes_are_not() {
    let app = spawn_app_with(with_per_account_limit(2)).await;
    let ann = app.register_verified("ann@example.com").await;

    for password in ["Changed123", "Changed456"] {
        let answer = change(&app, &ann, json!({ "password": password })).await;
        assert_answer(&answer, StatusCode::OK, &updated());
    }
    let limited = change(&app, &ann, json!({ "password": "Changed789" })).await;

    assert_answer(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        &error_body("Too many requests, try again later", "RATE_LIMITED"),
    );
    assert_eq!(
        app.login(&ann.email, "Changed456").await.status,
        StatusCode::OK
    );
    for name in ["Anna", "Annie", "Ana"] {
        let answer = change(&app, &ann, json!({ "name": name })).await;
        assert_answer(&answer, StatusCode::OK, &updated());
    }
}
