//! `GET /openapi.json` (contract section 6): an OpenAPI 3.1 document generated from the code,
//! which documents every route the server has and no route it lacks.
//!
//! Drift is caught from both sides: the first test compares the documented operations with the
//! list below, written from the routers; the second fails when a documented operation is not
//! routed (the server answers its own "Route not found" 404 or a 405) or when a documented path
//! serves a method the document lacks. Beyond these, every answer any test reads is checked
//! against the document (`support/schema.rs`), so a route the tests reach but the document
//! lacks fails.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::app::{spawn_app, TestApp};
use crate::support::openapi::{concrete, document, operations};

/// Whether a route needs the bearer token.
const PUBLIC: bool = false;
const PROTECTED: bool = true;

/// Every route the server has, from the routers in `src/http/routes/` (`routes!(...)` in each
/// module's `router()`, and `/openapi.json` in `http::router`).
const ROUTES: &[(&str, &str, bool)] = &[
    // routes/ops.rs
    ("GET", "/health", PUBLIC),
    ("GET", "/ready", PUBLIC),
    ("GET", "/metrics", PUBLIC),
    // mod.rs
    ("GET", "/openapi.json", PUBLIC),
    // routes/registration.rs
    ("POST", "/user/register", PUBLIC),
    ("POST", "/user/activate", PUBLIC),
    ("POST", "/user/verify-email", PUBLIC),
    ("POST", "/user/pre-verify-email", PUBLIC),
    (
        "POST",
        "/user/resend-verification/{verificationTokenId}",
        PUBLIC,
    ),
    // routes/login.rs
    ("POST", "/user/login", PUBLIC),
    ("POST", "/user/refresh", PUBLIC),
    ("POST", "/user/logout", PUBLIC),
    // routes/auth.rs
    ("GET", "/auth/providers", PUBLIC),
    ("POST", "/auth/google", PUBLIC),
    ("POST", "/auth/microsoft", PUBLIC),
    ("POST", "/auth/github", PUBLIC),
    ("POST", "/auth/google/exchange", PUBLIC),
    ("POST", "/auth/microsoft/exchange", PUBLIC),
    ("POST", "/auth/google/refresh", PUBLIC),
    ("POST", "/auth/github/refresh", PUBLIC),
    ("POST", "/auth/microsoft/refresh", PUBLIC),
    ("POST", "/auth/web3", PUBLIC),
    // routes/auth_flow.rs
    ("GET", "/auth/oidc/{name}/start", PUBLIC),
    ("GET", "/auth/oidc/{name}/callback", PUBLIC),
    ("POST", "/auth/oidc/complete", PUBLIC),
    // routes/auth_passkey.rs
    ("POST", "/auth/passkey/options", PUBLIC),
    ("POST", "/auth/passkey/verify", PUBLIC),
    // routes/password_reset.rs
    ("POST", "/user/request-reset-password", PUBLIC),
    ("POST", "/user/reset-password", PUBLIC),
    // routes/sessions.rs
    ("GET", "/token", PROTECTED),
    ("DELETE", "/token/{tokenId}", PROTECTED),
    ("GET", "/sessions", PROTECTED),
    ("POST", "/sessions/{id}/revoke", PROTECTED),
    ("POST", "/sessions/revoke-all", PROTECTED),
    ("POST", "/sessions/{id}/heartbeat", PROTECTED),
    // routes/devices.rs
    ("GET", "/devices", PROTECTED),
    ("GET", "/devices/{id}", PROTECTED),
    ("POST", "/devices/trust", PROTECTED),
    ("POST", "/devices/{id}/untrust", PROTECTED),
    ("DELETE", "/devices/{id}", PROTECTED),
    // routes/users.rs
    ("GET", "/user/profile", PROTECTED),
    ("GET", "/user/{userId}", PROTECTED),
    ("PUT", "/user/{userId}", PROTECTED),
    ("PUT", "/user/{userId}/role", PROTECTED),
    ("POST", "/user/deactivate", PROTECTED),
    // routes/quota.rs
    ("GET", "/user/quota", PROTECTED),
    // routes/organizations.rs
    ("GET", "/organization/{orgId}", PROTECTED),
    ("PUT", "/organization/{orgId}", PROTECTED),
    // routes/organization_users.rs
    ("GET", "/organization/users", PROTECTED),
    ("POST", "/organization/users", PROTECTED),
    ("GET", "/organization/users/{userId}", PROTECTED),
    ("PUT", "/organization/users/{userId}", PROTECTED),
    ("DELETE", "/organization/users/{userId}", PROTECTED),
    ("POST", "/organization/users/{userId}/activate", PROTECTED),
    (
        "POST",
        "/organization/users/{userId}/resend-invitation",
        PROTECTED,
    ),
    // routes/workspaces.rs, routes/workspace_listing.rs
    ("POST", "/workspace", PROTECTED),
    ("GET", "/workspace", PROTECTED),
    ("GET", "/workspace/{id}", PROTECTED),
    ("PUT", "/workspace/{id}", PROTECTED),
    ("DELETE", "/workspace/{id}", PROTECTED),
    // routes/workspace_users.rs
    ("POST", "/workspace/{id}/users", PROTECTED),
    ("PUT", "/workspace/{id}/users/{userId}", PROTECTED),
    ("DELETE", "/workspace/{id}/users/{userId}", PROTECTED),
    // routes/system_events.rs
    ("POST", "/systemevent", PROTECTED),
    ("POST", "/systemevent/read", PROTECTED),
    ("DELETE", "/systemevent/read", PROTECTED),
    ("POST", "/systemevent/{id}/read", PROTECTED),
    ("DELETE", "/systemevent/{id}/read", PROTECTED),
    ("POST", "/mfa/setup", PROTECTED),
    ("POST", "/mfa/verify-setup", PROTECTED),
    ("POST", "/mfa/verify-login", PROTECTED),
    ("POST", "/mfa/magic-link/send", PROTECTED),
    ("POST", "/mfa/magic-link/activate", PUBLIC),
    ("GET", "/mfa/status", PROTECTED),
    ("GET", "/mfa/methods", PROTECTED),
    ("POST", "/mfa/enable", PROTECTED),
    ("POST", "/mfa/disable", PROTECTED),
    ("POST", "/mfa/primary", PROTECTED),
    ("POST", "/mfa/reset", PROTECTED),
    ("POST", "/mfa/organization/enforce", PROTECTED),
    ("POST", "/mfa/passkey/complete-registration", PROTECTED),
    ("POST", "/mfa/passkey/complete-registration-1", PROTECTED),
    ("POST", "/mfa/passkey/auth-options", PROTECTED),
    ("GET", "/mfa/passkeys", PROTECTED),
    ("PUT", "/mfa/passkeys/{id}", PROTECTED),
    ("DELETE", "/mfa/passkeys/{id}", PROTECTED),
    // routes/links.rs
    ("GET", "/links", PROTECTED),
    ("POST", "/links", PROTECTED),
    ("GET", "/links/{id}", PUBLIC),
    ("PUT", "/links/{id}", PROTECTED),
    ("DELETE", "/links/{id}", PROTECTED),
    // routes/webhooks.rs
    ("GET", "/webhooks", PROTECTED),
    ("POST", "/webhooks", PROTECTED),
    ("GET", "/webhooks/{id}", PROTECTED),
    ("PUT", "/webhooks/{id}", PROTECTED),
    ("DELETE", "/webhooks/{id}", PROTECTED),
    ("POST", "/webhooks/{id}/rotate-secret", PROTECTED),
    ("POST", "/webhooks/{id}/test", PROTECTED),
    ("GET", "/webhooks/{id}/deliveries", PROTECTED),
    (
        "POST",
        "/webhooks/{id}/deliveries/{deliveryId}/retry",
        PROTECTED,
    ),
    // routes/settings.rs
    ("GET", "/settings/user", PROTECTED),
    ("POST", "/settings/user", PROTECTED),
    ("PUT", "/settings/user", PROTECTED),
    ("DELETE", "/settings/user", PROTECTED),
    ("GET", "/settings/organization", PROTECTED),
    ("POST", "/settings/organization", PROTECTED),
    ("PUT", "/settings/organization", PROTECTED),
    ("DELETE", "/settings/organization", PROTECTED),
];

/// Every `$ref` string in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_documents_exactly_the_routes_of_the_server() {
    let app = spawn_app().await;
    let answer = TestApp::send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(
        answer.headers[reqwest::header::CONTENT_TYPE],
        "application/json"
    );
    let document = document(&app).await;
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");

    let operations = operations(&document);
    let documented: BTreeSet<(String, String)> = operations.keys().cloned().collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(
        documented.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in the list of routes"
    );
    assert_eq!(
        expected.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes the document lacks"
    );

    // The bearer scheme, required exactly by the protected routes.
    let scheme = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"], &scheme["bearerFormat"]),
        (&"http".into(), &"bearer".into(), &"JWT".into()),
        "{scheme}"
    );
    for (method, path, protected) in ROUTES {
        let operation = &operations[&(method.to_string(), path.to_string())];
        let security = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let bearer = security.iter().any(|s| s.get("bearerAuth").is_some());
        assert_eq!(bearer, *protected, "{method} {path}: security {security:?}");
        let responses = operation["responses"].as_object().unwrap();
        // `POST /auth/web3` is out of scope: it always answers 400 `PROVIDER_NOT_CONFIGURED`.
        let never_succeeds = *path == "/auth/web3";
        // The browser flow's start and callback answer redirects.
        let redirects = responses.contains_key("302");
        assert!(
            never_succeeds || redirects || responses.keys().any(|status| status.starts_with('2')),
            "{method} {path} documents no success"
        );
        if *protected {
            assert!(responses.contains_key("401"), "{method} {path} lacks 401");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }

    // Operation ids are unique, and every reference resolves.
    let mut ids = BTreeSet::new();
    for ((method, path), operation) in &operations {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id} twice"
        );
    }
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
    }
}

/// Every method the router could route, for probing.
const PROBED_METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// Whether the operation's success answers are JSON.
fn answers_json(operation: &Value) -> bool {
    operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        // Successes, and the redirects of the browser sign-in (no body: a browser follows them).
        .filter(|(status, _)| status.starts_with('2') || status.starts_with('3'))
        .all(|(_, response)| response["content"].get("application/json").is_some())
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_nothing_else_is_on_its_paths() {
    // Without a token and with random ids, every documented operation answers: never the
    // server's own "Route not found" 404 nor a 405, and 401 exactly on the protected routes.
    // `TestApp::send` checks each answer against the document (`schema::check`), so its status
    // is one the operation documents and its body matches. Undocumented methods on a documented
    // path answer 405: the router serves nothing on these paths that the document lacks. (Any
    // route the tests reach elsewhere is held to the document the same way.)
    let app = spawn_app().await;
    let document = document(&app).await;
    for ((method, path), operation) in operations(&document) {
        let concrete = concrete(&path);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let request = app.client.request(method.clone(), app.url(&concrete));
        if !answers_json(&operation) {
            // `/metrics`: text, so not read as JSON; its status is still documented.
            let status = request.send().await.unwrap().status();
            assert!(
                operation["responses"].get(status.as_str()).is_some(),
                "{method} {path}: {status} not documented"
            );
            continue;
        }
        let answer = TestApp::send(request).await;
        let (status, body) = (answer.status, &answer.body);
        let what = format!("{method} {concrete} ({path}): {status} {body}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        assert!(
            !(status == StatusCode::NOT_FOUND
                && body["error_code"] == "NOT_FOUND"
                && body["message"] == "Route not found"),
            "{what}: documented but not routed"
        );
        let protected = operation.get("security").is_some();
        assert_eq!(status == StatusCode::UNAUTHORIZED, protected, "{what}");
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in PROBED_METHODS {
            if item.get(method.as_str().to_lowercase()).is_some() {
                continue;
            }
            let answer =
                TestApp::send(app.client.request(method.clone(), app.url(&concrete(path)))).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {}",
                answer.body
            );
        }
    }
}
