//! `GET /metrics`: what it counts, labels that clients cannot grow, and a listener of its own.

use std::net::SocketAddr;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};

async fn metrics_text(address: &str) -> String {
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
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
async fn requests_with_custom_methods_are_counted_as_other_and_metrics_stay_small() {
    let app = spawn_app().await;
    let before = metrics_text(&app.address).await.len();
    for i in 0..20 {
        // Each method is new and 20 KB long: one label each would add 400 KB.
        let method = Method::from_bytes(format!("M{i}{}", "X".repeat(20_000)).as_bytes()).unwrap();
        let answer = TestApp::send(app.client.request(method, app.url("/health"))).await;
        let not_allowed = error_body("Method not allowed", "METHOD_NOT_ALLOWED");
        assert_answer(&answer, StatusCode::METHOD_NOT_ALLOWED, &not_allowed);
    }
    app.request(Method::PATCH, "/health", None, None).await;

    let text = metrics_text(&app.address).await;
    let counted = r#"http_requests_total{method="OTHER",route="/health",status="405"} 20"#;
    assert!(text.contains(counted), "missing {counted} in:\n{text}");
    let patch = r#"http_requests_total{method="PATCH",route="/health",status="405"} 1"#;
    assert!(text.contains(patch), "missing {patch} in:\n{text}");
    assert!(!text.contains("XXXX"), "a raw method became a label");
    // Two series more (each a counter and a histogram), whatever the methods were.
    assert!(
        text.len() < before + 8_000,
        "{before} -> {} bytes",
        text.len()
    );
}

#[tokio::test]
async fn with_a_metrics_listener_metrics_are_served_there_and_not_on_the_public_port() {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let app = spawn_app_with(|config| config.metrics_listen = Some(loopback)).await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    assert_ne!(metrics, app.address);

    let answer = app.get("/metrics", None).await;
    assert_answer(
        &answer,
        StatusCode::NOT_FOUND,
        &error_body("Route not found", "NOT_FOUND"),
    );
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);

    let text = metrics_text(&metrics).await;
    // The public port's requests are counted; the metrics listener serves nothing else.
    for expected in [
        r#"http_requests_total{method="GET",route="/health",status="200"} 1"#,
        r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    let elsewhere = TestApp::send(app.client.get(format!("{metrics}/no/such/route"))).await;
    assert_answer(
        &elsewhere,
        StatusCode::NOT_FOUND,
        &error_body("Route not found", "NOT_FOUND"),
    );
}

#[tokio::test]
async fn without_a_metrics_listener_the_public_port_serves_metrics() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    assert!(metrics_text(&app.address)
        .await
        .contains("workspaces_db_pool_connections{state=\"idle\"}"));
}
