//! CORS: preflights are answered for the configured origins only.

use reqwest::{Method, StatusCode};

use crate::support::app::{spawn_app, spawn_app_with, TestApp};

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
