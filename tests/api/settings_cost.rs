//! What a settings write may cost (contract sections 7 and 10, issue 20): its event stays within
//! 16 KiB whatever it changed, a refused write is refused before any work proportional to its
//! content (measured as the server process's peak memory), keys that JavaScript clients must
//! not merge are refused, and writes are rate-limited per user.

use std::process::{Child, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use workspaces::config::RateLimitConfig;

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};
use crate::support::binary::{serve, workspaces};
use crate::support::database::fresh::FreshDatabase;
use crate::support::settings::{replace_ok, write, write_ok, ORGANIZATION, SCOPES, USER};

/// The contract's bound on an event's `jsonData`.
const MAX_EVENT_DATA: usize = 16 * 1024;

/// `count` keys `k0`, `k1`, ... each holding 1.
fn small_keys(count: usize) -> Value {
    Value::Object(
        (0..count)
            .map(|i| (format!("k{i}"), json!(1)))
            .collect::<Map<_, _>>(),
    )
}

/// The review's key: 32 KB, so that every path under it repeats 32 KB.
fn long_key() -> String {
    "p".repeat(32 * 1024)
}

/// The newest event's stored `jsonData`, as text.
async fn newest_event_data(app: &TestApp) -> String {
    let sql = "SELECT json_data FROM system_events ORDER BY id DESC LIMIT 1";
    app.strings(sql, &[]).await.remove(0)
}

#[tokio::test]
async fn a_write_of_thousands_of_paths_under_a_long_key_records_a_bounded_event() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let long = long_key();
    for scope in SCOPES {
        replace_ok(&app, scope, &owner, json!({ &long: {} })).await;
        let mark = app.event_mark().await;
        // 3,000 paths, each `<32 KB>.kN`: spelled out, 96 MB; recorded, at most 16 KiB.
        write_ok(
            &app,
            scope,
            &owner,
            Method::PUT,
            json!({ &long: small_keys(3000) }),
        )
        .await;
        let events = app.events_since(&mark).await;
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0]["jsonData"],
            json!({ "keys": [], "truncated": true, "changedCount": 3000 })
        );
        assert!(newest_event_data(&app).await.len() <= MAX_EVENT_DATA);

        // Short paths: as many as fit are named, in order, and the rest counted.
        replace_ok(&app, scope, &owner, json!({})).await;
        let mark = app.event_mark().await;
        let many: Map<String, Value> = (0..3500)
            .map(|i| (format!("key{i:05}"), json!(i)))
            .collect();
        write_ok(&app, scope, &owner, Method::PUT, Value::Object(many)).await;
        let events = app.events_since(&mark).await;
        let data = &events[0]["jsonData"];
        assert_eq!(data["truncated"], json!(true));
        assert_eq!(data["changedCount"], json!(3500));
        let keys = data["keys"].as_array().unwrap();
        assert!(keys.len() > 1000 && keys.len() < 3500, "{}", keys.len());
        let expected: Vec<Value> = (0..keys.len())
            .map(|i| json!(format!("key{i:05}")))
            .collect();
        assert_eq!(keys, &expected);
        let stored = newest_event_data(&app).await;
        assert!(stored.len() <= MAX_EVENT_DATA, "{}", stored.len());
        assert!(stored.len() > MAX_EVENT_DATA - 1024, "{}", stored.len());
    }
    // Reading the events back costs what they hold: the whole page is small.
    let page = app
        .post(
            "/systemevent",
            Some(&owner.access_token),
            json!({ "take": 100 }),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.to_string().len() < 20 * MAX_EVENT_DATA);
}

#[tokio::test]
async fn forbidden_keys_are_refused_at_any_depth_with_the_routes_text() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        replace_ok(&app, scope, &owner, json!({ "kept": true })).await;
        let before = app.snapshot().await;
        let cases = [
            json!({ "__proto__": { "isAdmin": true } }),
            json!({ "a": { "b": { "constructor": { "prototype": 1 } } } }),
            json!({ "list": [1, { "prototype": null }] }),
        ];
        for case in cases {
            for (method, body) in [
                (Method::PUT, case.clone()),
                (Method::POST, json!({ "settings": case.clone() })),
            ] {
                let answer = write(&app, scope, &owner, method.clone(), body).await;
                let failed = scope.failed(&method);
                assert_answer(
                    &answer,
                    StatusCode::BAD_REQUEST,
                    &error_body(&failed, "SETTINGS_KEY_FORBIDDEN"),
                );
            }
        }
        app.assert_unchanged(&before).await;
        // The same words as values, or keys that merely resemble them, are fine.
        write_ok(
            &app,
            scope,
            &owner,
            Method::PUT,
            json!({ "Constructor": "__proto__", "prototypes": ["prototype"] }),
        )
        .await;
    }
}

#[tokio::test]
async fn settings_writes_are_rate_limited_per_user() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            settings_writes_per_user_per_minute: 3,
            ..RateLimitConfig::OFF
        }
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;
    for i in 0..3 {
        let scope = if i == 1 { &ORGANIZATION } else { &USER };
        write_ok(&app, scope, &owner, Method::PUT, json!({ "n": i })).await;
    }
    let before = app.snapshot().await;
    for (scope, method, body) in [
        (&USER, Method::PUT, json!({ "n": 9 })),
        (&ORGANIZATION, Method::POST, json!({ "settings": {} })),
        (&USER, Method::DELETE, json!({ "keys": ["n"] })),
    ] {
        let answer = write(&app, scope, &owner, method, body).await;
        assert_answer(
            &answer,
            StatusCode::TOO_MANY_REQUESTS,
            &error_body("Too many requests, try again later", "RATE_LIMITED"),
        );
        let retry: u64 = answer.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    app.assert_unchanged(&before).await;
    // Reads are not limited, nor is another user.
    let read = app.get(USER.path, Some(&owner.access_token)).await;
    assert_eq!(read.status, StatusCode::OK);
    write_ok(&app, &USER, &other, Method::PUT, json!({ "n": 1 })).await;
}

/// The server process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_refused_write_costs_no_memory_beyond_its_size() {
    let database = FreshDatabase::create().await;
    let mut quiet = workspaces();
    quiet.stderr(Stdio::null());
    let (child, port) = serve(quiet, &database.url, &["--rate-limit-per-ip", "0"]);
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let email = "owner@example.com";
    let registered = TestApp::send(
        client
            .post(format!("{base}/user/register"))
            .json(&TestApp::registration_body(email)),
    )
    .await;
    assert_eq!(registered.status, StatusCode::CREATED);
    let verified = workspaces()
        .args(["--database-url", &database.url, "user", "verify", email])
        .status()
        .unwrap();
    assert!(verified.success());
    let login = TestApp::send(
        client
            .post(format!("{base}/user/login"))
            .json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    let token = login.str("accessToken");
    let send = |method: Method, body: Value| {
        TestApp::send(
            client
                .request(method, format!("{base}/settings/user"))
                .bearer_auth(&token)
                .json(&body),
        )
    };

    // Stored: the long key and 30 KB beside it (62 KB, within the bound).
    let long = long_key();
    let stored = json!({ "settings": { &long: {}, "q": "x".repeat(30_000) } });
    assert_eq!(send(Method::POST, stored).await.status, StatusCode::OK);
    // A warm-up write that is accepted, so the baseline includes what any write allocates.
    let warm = send(Method::PUT, json!({ "w": 1 })).await;
    assert_eq!(warm.status, StatusCode::OK);
    let baseline = peak_rss_kib(&server.0);

    let too_large = error_body(
        "Settings must be at most 65536 bytes as JSON",
        "SETTINGS_TOO_LARGE",
    );
    // 3,000 keys under the long key: the patch (62 KB) fits, the merged object does not. The
    // paths it changes would be 96 MB if spelled out before the bound was checked.
    let merged_over = send(Method::PUT, json!({ &long: small_keys(3000) })).await;
    assert_answer(&merged_over, StatusCode::BAD_REQUEST, &too_large);
    // The review's write: 114 KiB, over the bound on its own.
    let alone_over = send(Method::PUT, json!({ &long: small_keys(8000) })).await;
    assert_answer(&alone_over, StatusCode::BAD_REQUEST, &too_large);

    let grown_kib = peak_rss_kib(&server.0).saturating_sub(baseline);
    assert!(
        grown_kib < 16 * 1024,
        "two refused writes raised the server's peak memory by {grown_kib} KiB"
    );
}
