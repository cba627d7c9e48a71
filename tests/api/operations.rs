//! Running it in public: metrics, overload and timeout answers, rate limits, CORS.

use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::future::join_all;
use futures::SinkExt;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::json;
use workspaces::config::RateLimitConfig;

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_error, error_body};
use crate::support::client::Answer;

fn healthy() -> serde_json::Value {
    json!({ "success": true, "status": "ok" })
}

fn assert_unknown_user(answer: &Answer) {
    assert_error(answer, 401, "User not found", "USER_NOT_FOUND");
}

fn assert_rate_limited(answer: &Answer) {
    let limited = error_body("Too many requests, try again later", "RATE_LIMITED");
    assert_answer(answer, StatusCode::TOO_MANY_REQUESTS, &limited);
    let retry_after: u64 = answer.headers[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

/// Starts a login whose body never finishes while `sender` lives: it holds a request slot.
async fn stalled_login(
    app: &TestApp,
) -> (
    mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    tokio::task::JoinHandle<Answer>,
) {
    let (mut sender, receiver) = mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender.send(Ok(b"{\"email\":".to_vec())).await.unwrap();
    let request = app
        .client
        .post(app.url("/user/login"))
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(receiver));
    let pending = tokio::spawn(TestApp::send(request));
    (sender, pending)
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_logins_by_outcome() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    assert_eq!(
        app.login("ann@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.login("ann@example.com", "Wrong1234").await.status,
        StatusCode::UNAUTHORIZED
    );
    for _ in 0..3 {
        app.get("/health", None).await;
    }
    app.get("/workspace/0190a0a0-0000-7000-8000-000000000000", None)
        .await;

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    for expected in [
        r#"http_requests_total{method="GET",route="/health",status="200"} 3"#,
        r#"http_requests_total{method="POST",route="/user/login",status="401"} 1"#,
        r#"http_requests_total{method="GET",route="/workspace/{id}",status="401"} 1"#,
        r#"http_request_duration_seconds_count{method="GET",route="/health",status="200"} 3"#,
        r#"http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health",status="200"}"#,
        r#"workspaces_logins_total{outcome="success"} 1"#,
        r#"workspaces_logins_total{outcome="failure"} 1"#,
        r#"workspaces_db_pool_connections{state="idle"}"#,
        r#"workspaces_db_pool_connections{state="in_use"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    // SQLite's writer counts its group commits: the registration and the successful login each
    // wrote (one after the other, so at most one commit each).
    let counter = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("missing {name} in:\n{text}"))
    };
    if app.is_sqlite() {
        let (batches, writes) = (
            counter("workspaces_sqlite_write_batches_total"),
            counter("workspaces_sqlite_writes_total"),
        );
        assert!(writes >= 2, "{writes} writes");
        assert!(batches >= 1 && batches <= writes, "{batches} batches");
    }
}

#[tokio::test]
async fn beyond_the_concurrency_cap_requests_get_503_at_once() {
    let app = spawn_app_with(|config| config.max_concurrent_requests = 1).await;
    let (sender, pending) = stalled_login(&app).await;

    // Once the server has taken the stalled login in (no fixed wait: the machine may be slow),
    // every other request is refused until it ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let answer = app.get("/health", None).await;
        if answer.status != StatusCode::OK || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let busy = error_body("Server is busy, try again shortly", "OVERLOADED");
    assert_answer(&answer, StatusCode::SERVICE_UNAVAILABLE, &busy);
    assert_eq!(answer.headers[RETRY_AFTER], "1");

    drop(sender);
    let stalled = pending.await.unwrap();
    let cut_short = error_body("Request body is not valid JSON", "INVALID_JSON");
    assert_answer(&stalled, StatusCode::BAD_REQUEST, &cut_short);
    // The slot is free again.
    assert_answer(&app.get("/health", None).await, StatusCode::OK, &healthy());
}

#[tokio::test]
async fn a_request_running_past_the_timeout_answers_408() {
    let app = spawn_app_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    let (_sender, pending) = stalled_login(&app).await;

    let answer = pending.await.unwrap();

    let timed_out = error_body("Request timed out", "REQUEST_TIMEOUT");
    assert_answer(&answer, StatusCode::REQUEST_TIMEOUT, &timed_out);
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
async fn cors_answers_preflights_only_for_configured_origins() {
    let preflight = |app: &TestApp, origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/workspace"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let closed = spawn_app().await;
    let response = preflight(&closed, "https://app.example.com").await.unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let open =
        spawn_app_with(|config| config.cors_origins = vec!["https://app.example.com".into()]).await;
    let response = preflight(&open, "https://app.example.com").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    let response = preflight(&open, "https://evil.example.com").await.unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}
