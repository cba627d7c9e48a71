//! The rate limits: logins beyond the limit per client address or per account get 429 with
//! `Retry-After`; and what the limits key on: the client address behind trusted proxies (the entry
//! the proxy appended, not the client's own), the value each handler actually reads (refresh token
//! field, verification id), and for logins the failures only, per account and client address.

use futures::future::join_all;
use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use serde_json::{json, Value};
use workspaces::config::{Config, RateLimitConfig};

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_error, error_body, healthy};
use crate::support::client::Answer;
use crate::support::receiver::create_webhook;

fn with_limits(limits: RateLimitConfig) -> impl FnOnce(&mut Config) {
    move |config| config.rate_limits = limits
}

fn limited() -> Value {
    error_body("Too many requests, try again later", "RATE_LIMITED")
}

/// A login whose client address, for a server trusting one proxy, is the last entry of
/// `forwarded_for`.
async fn login_via(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> Answer {
    TestApp::send(
        app.client
            .post(app.url("/user/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

fn assert_wrong_password(answer: &Answer) {
    assert_error(answer, 401, "Invalid password", "INVALID_PASSWORD");
}

fn assert_unknown_user(answer: &Answer) {
    assert_error(answer, 401, "User not found", "USER_NOT_FOUND");
}

fn assert_rate_limited(answer: &Answer) {
    assert_answer(answer, StatusCode::TOO_MANY_REQUESTS, &limited());
    let retry_after: u64 = answer.headers[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

fn limits(per_ip: u32, per_account: u32, trust_forwarded_for: bool) -> RateLimitConfig {
    RateLimitConfig {
        per_ip_per_minute: per_ip,
        per_account_per_minute: per_account,
        trust_forwarded_for,
        ..RateLimitConfig::OFF
    }
}

#[tokio::test]
async fn logins_from_one_address_beyond_the_limit_get_429_with_retry_after() {
    let app = spawn_app_with(|config| config.rate_limits = limits(3, 0, false)).await;
    let emails: Vec<String> = (0..4).map(|i| format!("user{i}@example.com")).collect();
    let answers = join_all(emails.iter().map(|email| app.login(email, PASSWORD))).await;

    let (limited, passed): (Vec<_>, Vec<_>) = answers
        .iter()
        .partition(|a| a.status == StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.len(), 1);
    assert_rate_limited(limited[0]);
    passed.into_iter().for_each(assert_unknown_user);
    // Other routes are not limited.
    assert_answer(&app.get("/health", None).await, StatusCode::OK, &healthy());
}

#[tokio::test]
async fn logins_for_one_account_beyond_the_limit_get_429_while_other_accounts_pass() {
    let app = spawn_app_with(|config| config.rate_limits = limits(0, 2, false)).await;
    for _ in 0..2 {
        assert_unknown_user(&app.login("target@example.com", "Wrong1234").await);
    }
    // E-mails compare case-insensitively.
    assert_rate_limited(&app.login("TARGET@example.com", "Wrong1234").await);
    assert_unknown_user(&app.login("other@example.com", "Wrong1234").await);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_limited() {
    let app = &spawn_app_with(|config| config.rate_limits = limits(1, 0, true)).await;
    let login = |ip: &'static str| {
        TestApp::send(
            app.client
                .post(app.url("/user/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({ "email": "a@example.com", "password": PASSWORD })),
        )
    };
    assert_unknown_user(&login("203.0.113.1").await);
    assert_rate_limited(&login("203.0.113.1").await);
    assert_unknown_user(&login("203.0.113.2").await);
}

#[tokio::test]
async fn varying_the_leftmost_forwarded_entries_does_not_bypass_the_per_address_limit() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_ip_per_minute: 2,
        trust_forwarded_for: true,
        ..RateLimitConfig::OFF
    }))
    .await;
    let unknown = error_body("User not found", "USER_NOT_FOUND");

    for (i, expected) in [(1, &unknown), (2, &unknown), (3, &limited())] {
        // The client writes the first entries; the proxy appends the address it saw.
        let forwarded = format!("198.51.100.{i}, 10.9.8.{i}, 203.0.113.7");
        let answer = login_via(&app, &forwarded, "nobody@example.com", PASSWORD).await;
        let status = if i < 3 { 401 } else { 429 };
        assert_answer(&answer, status, expected);
    }
    // Another client behind the same proxy has its own limit.
    let other = login_via(
        &app,
        "198.51.100.1, 203.0.113.8",
        "nobody@example.com",
        PASSWORD,
    );
    assert_answer(&other.await, 401, &unknown);
}

#[tokio::test]
async fn behind_two_proxies_the_client_is_the_second_entry_from_the_right() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_ip_per_minute: 1,
        trust_forwarded_for: true,
        trusted_proxy_hops: 2,
        ..RateLimitConfig::OFF
    }))
    .await;

    let first = login_via(
        &app,
        "1.1.1.1, 203.0.113.7, 10.0.0.1",
        "a@example.com",
        PASSWORD,
    );
    assert_eq!(first.await.status, StatusCode::UNAUTHORIZED);
    let again = login_via(
        &app,
        "2.2.2.2, 203.0.113.7, 10.0.0.2",
        "a@example.com",
        PASSWORD,
    );
    assert_answer(&again.await, 429, &limited());
}

#[tokio::test]
async fn decoy_refresh_fields_do_not_bypass_the_per_token_limit() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 2,
        ..RateLimitConfig::OFF
    }))
    .await;
    let invalid = error_body("Invalid or expired refresh token", "INVALID_REFRESH_TOKEN");

    // The handler reads `refresh_token` when both are present; a fresh `refreshToken` decoy on
    // each try must not make each try a new key.
    for i in 0..3 {
        let body =
            json!({ "refresh_token": "guessed-token", "refreshToken": format!("decoy-{i}") });
        let answer = app.post("/user/refresh", None, body).await;
        if i < 2 {
            assert_answer(&answer, 401, &invalid);
        } else {
            assert_answer(&answer, 429, &limited());
        }
    }
    // The decoy's own key is untouched: it is a different token.
    let decoy = app
        .post("/user/refresh", None, json!({ "refreshToken": "decoy-0" }))
        .await;
    assert_answer(&decoy, 401, &invalid);
}

#[tokio::test]
async fn two_spellings_of_one_verification_id_share_the_resend_limit() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 2,
        ..RateLimitConfig::OFF
    }))
    .await;
    let ann = app.register("ann@example.com").await;
    let id = ann.verification_token_id.clone();
    let upper = id.to_uppercase();
    let simple = id.replace('-', "");

    for spelling in [&id, &upper] {
        let path = format!("/user/resend-verification/{spelling}");
        let answer = app.post(&path, None, json!({})).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let path = format!("/user/resend-verification/{simple}");
    assert_answer(&app.post(&path, None, json!({})).await, 429, &limited());

    let sql = "SELECT COUNT(*) FROM email_verifications WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&ann.user_id]).await, 3);
}

#[tokio::test]
async fn an_attacker_locked_out_of_an_account_does_not_lock_out_its_owner_elsewhere() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 3,
        login_failures_per_account_per_minute: 20,
        trust_forwarded_for: true,
        ..RateLimitConfig::OFF
    }))
    .await;
    let ann = app.register_verified("ann@example.com").await;
    let attacker = "198.51.100.66";

    for _ in 0..3 {
        assert_wrong_password(&login_via(&app, attacker, &ann.email, "Wrong1234").await);
    }
    for password in ["Wrong1234", PASSWORD] {
        let answer = login_via(&app, attacker, &ann.email, password).await;
        assert_answer(&answer, 429, &limited());
    }

    let owner = login_via(&app, "203.0.113.5", &ann.email, PASSWORD).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.body);
    // The e-mail's case does not make it another account.
    let shouting = login_via(&app, attacker, "ANN@EXAMPLE.COM", "Wrong1234").await;
    assert_answer(&shouting, 429, &limited());
}

#[tokio::test]
async fn successful_logins_do_not_count_toward_the_lock() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 2,
        login_failures_per_account_per_minute: 2,
        ..RateLimitConfig::OFF
    }))
    .await;
    let ann = app.register_verified("ann@example.com").await;
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1";
    let sessions_before = app.count(sql, &[&ann.user_id]).await;

    for _ in 0..5 {
        let answer = app.login(&ann.email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    for _ in 0..2 {
        assert_wrong_password(&app.login(&ann.email, "Wrong1234").await);
    }
    assert_answer(&app.login(&ann.email, PASSWORD).await, 429, &limited());
    // The five logins opened a session each; the refused one none.
    assert_eq!(app.count(sql, &[&ann.user_id]).await, sessions_before + 5);
}

#[tokio::test]
async fn failures_from_many_addresses_reach_the_per_account_ceiling() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 10,
        login_failures_per_account_per_minute: 3,
        trust_forwarded_for: true,
        ..RateLimitConfig::OFF
    }))
    .await;
    let ann = app.register_verified("ann@example.com").await;

    for i in 1..=3 {
        let address = format!("198.51.100.{i}");
        assert_wrong_password(&login_via(&app, &address, &ann.email, "Wrong1234").await);
    }
    let next = login_via(&app, "198.51.100.4", &ann.email, PASSWORD).await;
    assert_answer(&next, 429, &limited());
    // Other accounts are not affected.
    let other = login_via(&app, "198.51.100.4", "bob@example.com", PASSWORD).await;
    assert_error(&other, 401, "User not found", "USER_NOT_FOUND");
}

#[tokio::test]
async fn resending_one_invitation_is_limited_per_invited_user() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 2,
        ..RateLimitConfig::OFF
    }))
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({"email": "vic@example.com", "firstName": "Vic", "lastName": "Tim"});
    let created = app
        .post("/organization/users", Some(&owner.access_token), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/organization/users/{id}/resend-invitation");

    // Each resend is an e-mail to an address that never asked for one, and a row kept.
    let sent = json!({"success": true, "message": "Invitation sent successfully"});
    for _ in 0..2 {
        let answer = app.post(&path, Some(&owner.access_token), json!({})).await;
        assert_answer(&answer, StatusCode::OK, &sent);
    }
    assert_rate_limited(&app.post(&path, Some(&owner.access_token), json!({})).await);
    assert_eq!(
        app.mailer.to("vic@example.com").len(),
        3,
        "the invitation and two resends"
    );
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&id]).await, 3);
}

#[tokio::test]
async fn test_deliveries_are_limited_per_webhook() {
    let app = spawn_app_with(with_limits(RateLimitConfig {
        per_account_per_minute: 2,
        ..RateLimitConfig::OFF
    }))
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "https://93.184.215.14/hook", None).await;
    let path = format!("/webhooks/{}/test", webhook["id"].as_str().unwrap());

    // Each test delivery is kept and retried for 3 days against a receiver that may be down;
    // one may be pending at a time (webhook_test_deliveries), and each try counts.
    let first = app.post(&path, Some(&owner.access_token), json!({})).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let second = app.post(&path, Some(&owner.access_token), json!({})).await;
    assert_error(
        &second,
        409,
        "A test delivery of this webhook is still pending",
        "WEBHOOK_TEST_PENDING",
    );
    assert_rate_limited(&app.post(&path, Some(&owner.access_token), json!({})).await);
    let sql = "SELECT COUNT(*) FROM webhook_deliveries WHERE type = 'webhook.test'";
    assert_eq!(app.count(sql, &[]).await, 1);
}
