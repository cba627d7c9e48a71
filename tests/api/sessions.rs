//! POST /user/login, /user/refresh and /user/logout (contract section 4).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, assert_error, assert_unauthorized};
use crate::support::client::Answer;
use crate::support::database::hex;
use crate::support::sessions::{assert_session_id, profile, token_fields, works, HOUR_MS};

async fn refresh(app: &TestApp, field: &str, token: &str) -> Answer {
    let body = json!({ field: token });
    app.post("/user/refresh", None, body).await
}

async fn logout(app: &TestApp, field: &str, token: &str) -> Answer {
    let body = json!({ field: token });
    app.post("/user/logout", None, body).await
}

/// The whole 200 answer a login of `account` should give, its generated values checked.
fn login_body(answer: &Answer, account: &Account) -> Value {
    let session_id = assert_session_id(&answer.body["tokenId"]);
    let (user_id, email, org_id) = (&account.user_id, &account.email, &account.org_id);
    let tokens = token_fields(&answer.body, &session_id, user_id, email, org_id);
    let user =
        json!({ "id": user_id, "email": email, "name": "Ann", "orgId": org_id, "orgRole": 255 });
    let mut expected = json!({ "success": true, "tokenId": session_id, "user": user });
    expected.as_object_mut().unwrap().extend(tokens);
    expected
}

/// The whole 200 answer a refresh of `account`'s session should give, its generated values
/// checked.
fn refreshed_body(answer: &Answer, session_id: &str, account: &Account) -> Value {
    let (user_id, email, org_id) = (&account.user_id, &account.email, &account.org_id);
    let tokens = token_fields(&answer.body, session_id, user_id, email, org_id);
    let mut expected = json!({ "success": true, "token": answer.body["accessToken"].clone() });
    expected.as_object_mut().unwrap().extend(tokens);
    expected
}

const REUSED: &str = "Refresh token was already used; the session has been revoked";
const INVALID_REFRESH: &str = "Invalid or expired refresh token";

async fn live_session(app: &TestApp, session_id: &str) -> bool {
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NULL";
    app.count(sql, &[session_id]).await == 1
}

#[tokio::test]
async fn logging_in_answers_200_with_tokens_and_the_user_summary_and_opens_a_session() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;

    let answer = app.login("ann@example.com", PASSWORD).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, login_body(&answer, &account));
    let session_id = answer.str("tokenId");
    assert_ne!(session_id, account.token_id);
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&session_id, &account.user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&session_id]).await, 1);
    assert!(works(&app, &answer.str("accessToken")).await);
}

#[tokio::test]
async fn an_unvalidated_user_can_log_in() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = app.login("ann@example.com", PASSWORD).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, login_body(&answer, &account));
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 2);
}

#[tokio::test]
async fn logging_in_with_an_unknown_email_answers_401_user_not_found() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;

    for email in ["bob@example.com", "not-an-email"] {
        let answer = app.login(email, PASSWORD).await;
        assert_error(&answer, 401, "User not found", "USER_NOT_FOUND");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions", &[]).await, 1);
}

#[tokio::test]
async fn logging_in_with_a_wrong_or_over_long_password_answers_401_invalid_password() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let too_long = format!("{PASSWORD}{}", "x".repeat(120));

    for password in ["Secret124", "secret123", too_long.as_str()] {
        let answer = app.login("ann@example.com", password).await;
        assert_error(&answer, 401, "Invalid password", "INVALID_PASSWORD");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions", &[]).await, 1);
}

#[tokio::test]
async fn logging_in_to_an_account_without_a_password_answers_401_no_password_set() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let sql = "UPDATE users SET password_hash = NULL WHERE id = $1";
    assert_eq!(app.execute(sql, &[&account.user_id]).await, 1);

    let answer = app.login("ann@example.com", PASSWORD).await;

    let message = "No password set for this account";
    assert_error(&answer, 401, message, "NO_PASSWORD_SET");
}

#[tokio::test]
async fn logging_in_to_a_deleted_account_answers_401_user_inactive() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let sql = "UPDATE users SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&account.user_id]).await, 1);
    let sessions = app.count("SELECT COUNT(*) FROM sessions", &[]).await;

    let answer = app.login("ann@example.com", PASSWORD).await;

    assert_error(&answer, 401, "User account is inactive", "USER_INACTIVE");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions", &[]).await,
        sessions
    );
}

#[tokio::test]
async fn the_email_is_matched_case_insensitively_at_login() {
    let app = spawn_app().await;
    let account = app.register("Ann.Lee@Example.com").await;

    let answer = app.login("ann.lee@EXAMPLE.COM", PASSWORD).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, login_body(&answer, &account));
    assert_eq!(answer.body["user"]["email"], "Ann.Lee@Example.com");
}

#[tokio::test]
async fn logging_in_ignores_a_stale_authorization_header() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let body = json!({ "email": "ann@example.com", "password": PASSWORD });
    logout(&app, "refreshToken", &account.refresh_token).await;

    for stale in [account.access_token.as_str(), "garbage"] {
        let answer = app
            .request(Method::POST, "/user/login", Some(stale), Some(body.clone()))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body, login_body(&answer, &account));
    }
}

#[tokio::test]
async fn logging_in_without_email_or_password_answers_400_missing_field() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;

    let cases = [
        (json!({ "password": PASSWORD }), "email"),
        (json!({ "email": " ", "password": PASSWORD }), "email"),
        (json!({ "email": "ann@example.com" }), "password"),
        (
            json!({ "email": "ann@example.com", "password": "" }),
            "password",
        ),
    ];
    for (body, field) in cases {
        let answer = app.post("/user/login", None, body).await;
        let message = format!("Missing required field: {field}");
        assert_error(&answer, 400, &message, "MISSING_FIELD");
    }
}

#[tokio::test]
async fn refreshing_with_either_spelling_rotates_the_refresh_token() {
    let app = spawn_app().await;
    for (i, field) in ["refresh_token", "refreshToken"].into_iter().enumerate() {
        let account = app.register(&format!("user{i}@example.com")).await;

        let answer = refresh(&app, field, &account.refresh_token).await;

        let expected = refreshed_body(&answer, &account.token_id, &account);
        assert_answer(&answer, StatusCode::OK, &expected);
        assert_ne!(answer.str("refreshToken"), account.refresh_token);
        assert!(works(&app, &answer.str("accessToken")).await);
        let sql =
            "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1 AND used_at IS NOT NULL";
        assert_eq!(app.count(sql, &[&account.token_id]).await, 1);
        let sql = "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1 AND used_at IS NULL";
        assert_eq!(app.count(sql, &[&account.token_id]).await, 1);
    }
}

#[tokio::test]
async fn refreshing_and_logging_out_ignore_a_stale_authorization_header() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    logout(&app, "refreshToken", &account.refresh_token).await;
    let other = app.login("ann@example.com", PASSWORD).await;

    let body = Some(json!({ "refreshToken": other.str("refreshToken") }));
    let stale = Some(account.access_token.as_str());
    let refreshed = app
        .request(Method::POST, "/user/refresh", stale, body)
        .await;
    let expected = refreshed_body(&refreshed, &other.str("tokenId"), &account);
    assert_answer(&refreshed, StatusCode::OK, &expected);
    let body = Some(json!({ "refreshToken": refreshed.str("refreshToken") }));
    let answer = app
        .request(Method::POST, "/user/logout", Some("garbage"), body)
        .await;

    assert_eq!(
        (answer.status, answer.body),
        (StatusCode::OK, json!({ "success": true }))
    );
    assert!(!live_session(&app, &other.str("tokenId")).await);
}

#[tokio::test]
async fn refreshing_with_a_used_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let first = refresh(&app, "refresh_token", &account.refresh_token).await;
    let expected = refreshed_body(&first, &account.token_id, &account);
    assert_answer(&first, StatusCode::OK, &expected);
    let second = refresh(&app, "refresh_token", &first.str("refreshToken")).await;
    let expected = refreshed_body(&second, &account.token_id, &account);
    assert_answer(&second, StatusCode::OK, &expected);

    let reused = refresh(&app, "refresh_token", &account.refresh_token).await;

    assert_error(&reused, 401, REUSED, "REFRESH_TOKEN_REUSED");
    assert!(!live_session(&app, &account.token_id).await);
    let newest = refresh(&app, "refresh_token", &second.str("refreshToken")).await;
    assert_error(&newest, 401, INVALID_REFRESH, "INVALID_REFRESH_TOKEN");
    assert_unauthorized(&profile(&app, &second.str("accessToken")).await);
    assert_unauthorized(&profile(&app, &account.access_token).await);
}

#[tokio::test]
async fn refreshing_with_an_unknown_or_expired_token_answers_401() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let unknown = refresh(&app, "refreshToken", &"A".repeat(43)).await;
    assert_error(&unknown, 401, INVALID_REFRESH, "INVALID_REFRESH_TOKEN");

    let sql = "UPDATE refresh_tokens SET expires_at = 1 WHERE session_id = $1";
    assert_eq!(app.execute(sql, &[&account.token_id]).await, 1);
    let expired = refresh(&app, "refreshToken", &account.refresh_token).await;
    assert_error(&expired, 401, INVALID_REFRESH, "INVALID_REFRESH_TOKEN");
    let sql = "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1";
    assert_eq!(app.count(sql, &[&account.token_id]).await, 1);
}

#[tokio::test]
async fn refreshing_or_logging_out_without_a_token_answers_400() {
    let app = spawn_app().await;
    for path in ["/user/refresh", "/user/logout"] {
        for body in [Some(json!({})), Some(json!({ "refreshToken": "  " })), None] {
            let answer = app.request(Method::POST, path, None, body).await;
            let message = "Missing required field: refreshToken";
            assert_error(&answer, 400, message, "MISSING_FIELD");
        }
    }
}

#[tokio::test]
async fn logging_out_ends_that_session_at_once_and_only_that_one() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let other = app.login("ann@example.com", PASSWORD).await;

    let answer = logout(&app, "refresh_token", &other.str("refreshToken")).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "success": true }));
    assert_unauthorized(&profile(&app, &other.str("accessToken")).await);
    assert!(!live_session(&app, &other.str("tokenId")).await);
    assert!(live_session(&app, &account.token_id).await);
    assert!(works(&app, &account.access_token).await);
    let refreshed = refresh(&app, "refreshToken", &other.str("refreshToken")).await;
    assert_error(&refreshed, 401, INVALID_REFRESH, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn logging_out_with_an_unknown_token_still_answers_200() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = logout(&app, "refreshToken", "unknown-token").await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "success": true }));
    assert!(live_session(&app, &account.token_id).await);
}

/// The median of `samples`, which it sorts.
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Contract section 4: an unknown e-mail costs what a wrong password costs, so login timing does
/// not tell which addresses have accounts. A regression guard, not a benchmark: the medians of a
/// few logins each must lie within a factor of two (without a password hash for unknown e-mails,
/// they differ by far more).
#[tokio::test]
async fn an_unknown_email_takes_as_long_as_a_wrong_password() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let app = &app;
    let timed = |email: &'static str| async move {
        let started = Instant::now();
        let answer = app.login(email, "Wrong-passw0rd").await;
        (started.elapsed(), answer)
    };
    // Warms up the connection and the hashing threads.
    timed("ann@example.com").await;

    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let (elapsed, answer) = timed("bob@example.com").await;
        assert_error(&answer, 401, "User not found", "USER_NOT_FOUND");
        unknown.push(elapsed);
        let (elapsed, answer) = timed("ann@example.com").await;
        assert_error(&answer, 401, "Invalid password", "INVALID_PASSWORD");
        wrong.push(elapsed);
    }

    let (unknown, wrong) = (median(&mut unknown), median(&mut wrong));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "unknown e-mail {unknown:?}, wrong password {wrong:?} (median of 7 each)"
    );
}

/// Contract section 4: refresh tokens are opaque, stored only as a hash, and live 30 days.
#[tokio::test]
async fn refresh_tokens_are_stored_only_as_hashes_and_live_thirty_days() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let login = app.login("ann@example.com", PASSWORD).await;
    let refreshed = refresh(&app, "refreshToken", &login.str("refreshToken")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let tokens = [
        account.refresh_token.clone(),
        login.str("refreshToken"),
        refreshed.str("refreshToken"),
    ];

    let rows = app.dump("refresh_tokens").await;

    assert_eq!(rows.len(), 3, "{rows:?}");
    for token in &tokens {
        // The text itself, and its bytes in every encoding a column could show them in.
        let decoded = URL_SAFE_NO_PAD.decode(token).unwrap();
        let forms = [token.clone(), hex(token.as_bytes()), hex(&decoded)];
        for row in &rows {
            for form in &forms {
                assert!(
                    !row.to_lowercase().contains(&form.to_lowercase()),
                    "{row} holds {form}"
                );
            }
        }
    }
    let thirty_days = 30 * 24 * HOUR_MS;
    let sql = format!(
        "SELECT COUNT(*) FROM refresh_tokens WHERE expires_at - created_at = {thirty_days}"
    );
    assert_eq!(app.count(&sql, &[]).await, 3);
}
