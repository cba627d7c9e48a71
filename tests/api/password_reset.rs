//! POST /user/request-reset-password and /user/reset-password (contract section 4): the flow end
//! to end through the e-mail, single use, expiry, session revocation, and no account enumeration.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::{PASSWORD, PHISHING_NAME};
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body, unauthorized_body};
use crate::support::client::Answer;
use crate::support::password_reset::{
    nth_reset_email, request_reset, requested, reset_emails, reset_token, token_of, TOKEN_LINE,
};

const NEW_PASSWORD: &str = "Brand-new42";
const HOUR_MS: i64 = 60 * 60 * 1000;
fn reset_done() -> Value {
    json!({ "success": true, "message": "Password reset successfully" })
}

fn invalid_token() -> Value {
    error_body("Invalid or expired reset token", "INVALID_TOKEN")
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Answer {
    app.post(
        "/user/reset-password",
        None,
        json!({ "token": token, "newPassword": password }),
    )
    .await
}

async fn resets_of(app: &TestApp, user_id: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1";
    app.count(sql, &[user_id]).await
}

#[tokio::test]
async fn the_reset_flow_works_end_to_end_through_the_email() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;

    // The e-mail is found case-insensitively and sent to the stored address.
    let answer = request_reset(&app, "  ANN@Example.com ").await;
    assert_answer(&answer, StatusCode::OK, &requested());
    let email = nth_reset_email(&app, "ann@example.com", 1).await;
    let token = token_of(&email);
    assert_eq!(token.len(), 43, "{token}");
    assert!(!email.contains("/console/reset-password#token="), "{email}");

    let answer = reset(&app, &token, NEW_PASSWORD).await;

    assert_answer(&answer, StatusCode::OK, &reset_done());
    let login = app.login("ann@example.com", NEW_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let old = app.login("ann@example.com", PASSWORD).await;
    assert_answer(
        &old,
        StatusCode::UNAUTHORIZED,
        &error_body("Invalid password", "INVALID_PASSWORD"),
    );
    // Stored: the token only as its hash, used, living one hour; an Argon2id hash.
    let sql = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND used_at IS NOT NULL \
               AND expires_at - created_at = 3600000 AND LENGTH(token_hash) = 32";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 1);
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hashes = app.strings(sql, &[&account.user_id]).await;
    assert!(
        hashes[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hashes:?}"
    );
}

#[tokio::test]
async fn a_reset_ends_every_session_at_once() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let second = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let token = reset_token(&app, "ann@example.com").await;

    assert_answer(
        &reset(&app, &token, NEW_PASSWORD).await,
        StatusCode::OK,
        &reset_done(),
    );

    for access in [account.access_token.clone(), second.str("accessToken")] {
        let profile = app.get("/user/profile", Some(&access)).await;
        assert_answer(&profile, StatusCode::UNAUTHORIZED, &unauthorized_body());
    }
    let refresh = app
        .post(
            "/user/refresh",
            None,
            json!({ "refresh_token": account.refresh_token }),
        )
        .await;
    assert_answer(
        &refresh,
        StatusCode::UNAUTHORIZED,
        &error_body("Invalid or expired refresh token", "INVALID_REFRESH_TOKEN"),
    );
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 0);
    // A new login works and is not affected.
    let login = app.login("ann@example.com", NEW_PASSWORD).await;
    let profile = app
        .get("/user/profile", Some(&login.str("accessToken")))
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
}

#[tokio::test]
async fn a_reset_token_works_only_once_and_spends_older_ones() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let older = reset_token(&app, "ann@example.com").await;
    let token = reset_token(&app, "ann@example.com").await;
    assert_ne!(older, token);

    assert_answer(
        &reset(&app, &token, NEW_PASSWORD).await,
        StatusCode::OK,
        &reset_done(),
    );

    for used in [&token, &older] {
        let again = reset(&app, used, "Another-one7").await;
        assert_answer(&again, StatusCode::BAD_REQUEST, &invalid_token());
    }
    let login = app.login("ann@example.com", NEW_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let sql = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 0);
}

#[tokio::test]
async fn a_token_older_than_one_hour_answers_400_and_changes_nothing() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let token = reset_token(&app, "ann@example.com").await;
    let sql = format!(
        "UPDATE password_resets SET created_at = created_at - {ms}, expires_at = expires_at - {ms} \
         WHERE user_id = $1",
        ms = HOUR_MS + 1
    );
    assert_eq!(app.execute(&sql, &[&account.user_id]).await, 1);

    let answer = reset(&app, &token, NEW_PASSWORD).await;

    assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_token());
    let login = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let profile = app.get("/user/profile", Some(&account.access_token)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
}

#[tokio::test]
async fn an_unknown_token_answers_400_invalid_token() {
    let app = spawn_app().await;
    app.register_verified("ann@example.com").await;

    for token in ["A".repeat(43), "not a token".to_owned()] {
        let answer = reset(&app, &token, NEW_PASSWORD).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_token());
    }
}

#[tokio::test]
async fn a_weak_password_answers_400_and_keeps_the_token_usable() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let token = reset_token(&app, "ann@example.com").await;
    let weak = "Password must be at least 8 characters long and contain an upper-case letter, \
                a lower-case letter and a digit";
    let too_long = format!("Aa1{}", "x".repeat(126));
    let cases = [
        ("short1A", weak),
        ("alllowercase1", weak),
        (
            too_long.as_str(),
            "Password must be at most 128 characters long",
        ),
    ];

    for (password, message) in cases {
        let answer = reset(&app, &token, password).await;
        assert_answer(
            &answer,
            StatusCode::BAD_REQUEST,
            &error_body(message, "WEAK_PASSWORD"),
        );
    }

    let sql = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 1);
    assert_answer(
        &reset(&app, &token, NEW_PASSWORD).await,
        StatusCode::OK,
        &reset_done(),
    );
}

#[tokio::test]
async fn missing_fields_answer_400_missing_field() {
    let app = spawn_app().await;
    let missing =
        |field: &str| error_body(&format!("Missing required field: {field}"), "MISSING_FIELD");

    let cases = [
        ("/user/request-reset-password", Some(json!({})), "email"),
        (
            "/user/request-reset-password",
            Some(json!({ "email": "  " })),
            "email",
        ),
        ("/user/request-reset-password", None, "email"),
        (
            "/user/reset-password",
            Some(json!({ "newPassword": NEW_PASSWORD })),
            "token",
        ),
        (
            "/user/reset-password",
            Some(json!({ "token": "", "newPassword": "x" })),
            "token",
        ),
        (
            "/user/reset-password",
            Some(json!({ "token": "abc" })),
            "newPassword",
        ),
        ("/user/reset-password", None, "token"),
    ];
    for (path, body, field) in cases {
        let answer = app.request(Method::POST, path, None, body).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &missing(field));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM password_resets", &[]).await,
        0
    );
}

/// Nothing is sent for these e-mails, proven without a fixed wait: after them comes a request
/// that does send, and once its e-mail has arrived, the earlier ones have had their turn.
///
/// That holds because the work is ordered: each request spawns its task before answering, on the
/// test's single-threaded runtime, so the tasks start in request order; each makes one store call
/// before mailing, and with a single database connection (SQLite's writer, or a pool of one on
/// PostgreSQL) those calls run one after the other in that order. A task that mailed after its
/// lookup would have mailed before the marker's lookup even began.
#[tokio::test]
async fn an_unknown_malformed_or_deleted_email_answers_the_same_200_and_sends_nothing() {
    let app = spawn_app_with(|config| config.db_max_connections = 1).await;
    let deleted = app.register_verified("gone@example.com").await;
    let sql = "UPDATE users SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&deleted.user_id]).await, 1);
    let marker = app.register_verified("marker@example.com").await;
    let mails_before = app.mailer.count();

    for email in ["nobody@example.com", "not-an-email", "gone@example.com"] {
        let answer = request_reset(&app, email).await;
        assert_answer(&answer, StatusCode::OK, &requested());
    }
    assert_answer(
        &request_reset(&app, &marker.email).await,
        StatusCode::OK,
        &requested(),
    );
    nth_reset_email(&app, &marker.email, 1).await;

    let sent: Vec<String> = app.mailer.all()[mails_before..]
        .iter()
        .map(|mail| mail.to.clone())
        .collect();
    let marker_only = vec![marker.email.clone()];
    assert_eq!(sent, marker_only, "only the marker's e-mail was sent");
    let resets = "SELECT COUNT(*) FROM password_resets WHERE user_id <> $1";
    assert_eq!(app.count(resets, &[&marker.user_id]).await, 0);
    assert_eq!(resets_of(&app, &marker.user_id).await, 1);
}

/// The whole reset e-mail carrying `token`, without a public URL, opening with `greeting`.
fn reset_email_body(greeting: &str, token: &str) -> String {
    format!(
        "{greeting}\n\nA password reset was requested for your account.\n\n\
         {TOKEN_LINE}{token}\n\n\
         The token is valid for 1 hour and works once. Resetting signs you out everywhere. If \
         you did not ask for this, ignore this message: your password stays unchanged.\n"
    )
}

#[tokio::test]
async fn the_reset_email_greets_by_name_only_a_verified_address() {
    let app = spawn_app().await;
    app.register_verified("ann@example.com").await;
    let mut body = TestApp::registration_body("eve@example.com");
    body["firstName"] = json!(PHISHING_NAME);
    let answer = app.post("/user/register", None, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);

    let verified = reset_token(&app, "ann@example.com").await;
    let unverified = reset_token(&app, "eve@example.com").await;

    let mails = [
        reset_emails(&app, "ann@example.com"),
        reset_emails(&app, "eve@example.com"),
    ];
    let expected = [
        vec![reset_email_body("Hello Ann,", &verified)],
        vec![reset_email_body("Hello,", &unverified)],
    ];
    assert_eq!(mails, expected);
}

#[tokio::test]
async fn a_reset_validates_an_unverified_account() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = reset_token(&app, "ann@example.com").await;

    assert_answer(
        &reset(&app, &token, NEW_PASSWORD).await,
        StatusCode::OK,
        &reset_done(),
    );

    let sql = "SELECT COUNT(*) FROM users WHERE id = $1 AND validated";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 1);
}

/// A reset proves the mailbox and validates the account, so the verification e-mail still
/// waiting in it is spent too: it would otherwise set yet another password (verify-email takes
/// one) after the reset, for a day.
#[tokio::test]
async fn a_reset_spends_the_accounts_verification_tokens() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let verification = app.mailer.last_verification_token("ann@example.com");
    let token = reset_token(&app, "ann@example.com").await;
    assert_answer(
        &reset(&app, &token, NEW_PASSWORD).await,
        StatusCode::OK,
        &reset_done(),
    );

    let body = json!({ "token": verification, "password": "Taken789x" });
    let answer = app.post("/user/verify-email", None, body).await;

    let expected = error_body("Invalid or expired verification token", "INVALID_TOKEN");
    assert_answer(&answer, StatusCode::BAD_REQUEST, &expected);
    let login = app.login("ann@example.com", NEW_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE user_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 0);
}

#[tokio::test]
async fn a_token_of_an_account_deleted_since_answers_400() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let token = reset_token(&app, "ann@example.com").await;
    let sql = "UPDATE users SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&account.user_id]).await, 1);

    let answer = reset(&app, &token, NEW_PASSWORD).await;

    assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_token());
    let sql = "SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 1);
}

#[tokio::test]
async fn both_routes_ignore_a_stale_authorization_header() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let body = Some(json!({ "email": "ann@example.com" }));
    let stale = Some("stale.garbage.token");

    let answer = app
        .request(Method::POST, "/user/request-reset-password", stale, body)
        .await;
    assert_answer(&answer, StatusCode::OK, &requested());
    let token = token_of(&nth_reset_email(&app, "ann@example.com", 1).await);

    let body = Some(json!({ "token": token, "newPassword": NEW_PASSWORD }));
    let answer = app
        .request(
            Method::POST,
            "/user/reset-password",
            Some(&account.access_token),
            body,
        )
        .await;
    assert_answer(&answer, StatusCode::OK, &reset_done());
    assert_eq!(resets_of(&app, &account.user_id).await, 1);
}

#[tokio::test]
async fn with_a_public_url_the_email_carries_a_reset_link() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://app.example.com/".to_owned());
    })
    .await;
    app.register_verified("ann@example.com").await;

    let token = reset_token(&app, "ann@example.com").await;

    let email = reset_emails(&app, "ann@example.com").remove(0);
    // The console's page, the token in the fragment (never in a query a server would log).
    let link = format!("Or open: https://app.example.com/console/reset-password#token={token}");
    assert!(email.lines().any(|line| line == link), "{email}");
    assert!(!email.contains('?'), "{email}");
    let mail = app.mailer.to("ann@example.com").pop().unwrap();
    assert_eq!(mail.subject, "Reset your password");
}
