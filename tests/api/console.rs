//! The web console's files (contract section 16): served under `/console/` with the security
//! headers, `GET /` redirecting there, pages of the console answered with `index.html`, files
//! compressed and revalidated by `ETag`; `--no-console` turns it all off. What the pages do is
//! the browser journeys' to show (tests/browser).

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    no_redirects().get(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn the_root_redirects_to_the_console_whose_pages_carry_the_security_headers() {
    let app = spawn_app().await;

    for path in ["/", "/console"] {
        let moved = get(&app, path).await;
        assert_eq!(moved.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(moved.headers()[LOCATION], "/console/");
    }
    // The console's root, a page opened from an e-mail and a deep page all get index.html.
    let index = get(&app, "/console/").await;
    let index_etag = index.headers()[ETAG].clone();
    for path in [
        "/console/",
        "/console/verify",
        "/console/workspaces/0190a2b4-0000-7000-8000-000000000000",
    ] {
        let page = get(&app, path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers["content-security-policy"], CSP, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
        assert_eq!(headers[ETAG], index_etag);
        assert!(headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = page.text().await.unwrap();
        assert!(body.contains(r#"<script type="module" src="/console/js/main.js">"#));
        // No inline script or style: the policy would refuse them.
        assert!(
            !body.contains("<script>") && !body.contains("style="),
            "{body}"
        );
    }
    let script = get(&app, "/console/js/main.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(script.headers()["content-security-policy"], CSP);
}

#[tokio::test]
async fn files_are_compressed_and_revalidated_and_a_missing_one_is_a_json_404() {
    let app = spawn_app().await;
    let client = no_redirects();

    let plain = get(&app, "/console/css/base.css").await;
    let etag = plain.headers()[ETAG].clone();
    let size = plain.bytes().await.unwrap().len();
    for encoding in ["gzip", "br"] {
        let packed = client
            .get(app.url("/console/css/base.css"))
            .header(ACCEPT_ENCODING, encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(packed.headers()[CONTENT_ENCODING], encoding);
        assert_eq!(packed.headers()[ETAG], etag);
        let packed_size = packed.bytes().await.unwrap().len();
        assert!(
            packed_size * 2 < size,
            "{encoding}: {packed_size} of {size} bytes"
        );
    }
    // Unchanged: 304 without a body, with the headers.
    let again = client
        .get(app.url("/console/css/base.css"))
        .header(IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[ETAG], etag);
    assert_eq!(again.headers()["content-security-policy"], CSP);
    assert!(again.bytes().await.unwrap().is_empty());
    // A file that is not there (it has an extension, so it is not a page).
    let missing = TestApp::send(app.client.get(app.url("/console/js/nothing.js"))).await;
    assert_answer(&missing, 404, &error_body("Route not found", "NOT_FOUND"));
}

#[tokio::test]
async fn without_the_console_its_paths_are_unknown_routes() {
    let app = spawn_app_with(|config| config.console = false).await;
    for path in ["/", "/console/", "/console/signin", "/console/js/main.js"] {
        let answer = TestApp::send(app.client.get(app.url(path))).await;
        assert_answer(
            &answer,
            404,
            &json!({"success": false, "message": "Route not found", "error_code": "NOT_FOUND"}),
        );
    }
    // The API is still there.
    let health = TestApp::send(app.client.get(app.url("/health"))).await;
    assert_eq!(health.status, StatusCode::OK);
}
