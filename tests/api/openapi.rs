//! `GET /openapi.json` (contract section 6): an OpenAPI 3.1 document generated from the code,
//! which documents every route the server has and no route it lacks.
//!
//! Drift is caught from both sides: the first test compares the documented operations with the
//! list below, written from the routers; the second fails when a route could exist outside the
//! document (a router built in `src/http/` without utoipa-axum's `routes!`, which registers a
//! route from the very annotation that documents it) or when a documented operation is not
//! routed (the server answers its own "Route not found" 404 or a 405).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp};

/// Whether a route needs the bearer token.
const PUBLIC: bool = false;
const PROTECTED: bool = true;

/// Every route the server has, from the routers in `src/http/` (`routes!(...)` in each module's
/// `router()`, and `/openapi.json` in `http::router`).
const ROUTES: &[(&str, &str, bool)] = &[
    // ops.rs
    ("GET", "/health", PUBLIC),
    ("GET", "/ready", PUBLIC),
    ("GET", "/metrics", PUBLIC),
    // mod.rs
    ("GET", "/openapi.json", PUBLIC),
    // registration.rs
    ("POST", "/user/register", PUBLIC),
    ("POST", "/user/verify-email", PUBLIC),
    (
        "POST",
        "/user/resend-verification/{verificationTokenId}",
        PUBLIC,
    ),
    // sessions.rs
    ("POST", "/user/login", PUBLIC),
    ("POST", "/user/refresh", PUBLIC),
    ("POST", "/user/logout", PUBLIC),
    // password_reset.rs
    ("POST", "/user/request-reset-password", PUBLIC),
    ("POST", "/user/reset-password", PUBLIC),
    // tokens.rs
    ("GET", "/token", PROTECTED),
    ("DELETE", "/token/{tokenId}", PROTECTED),
    // users.rs
    ("GET", "/user/profile", PROTECTED),
    ("GET", "/user/{userId}", PROTECTED),
    ("PUT", "/user/{userId}", PROTECTED),
    ("PUT", "/user/{userId}/role", PROTECTED),
    // organizations.rs
    ("GET", "/organization/{orgId}", PROTECTED),
    ("PUT", "/organization/{orgId}", PROTECTED),
    // org_users.rs
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
    // workspaces.rs
    ("POST", "/workspace", PROTECTED),
    ("GET", "/workspace", PROTECTED),
    ("GET", "/workspace/{id}", PROTECTED),
    ("PUT", "/workspace/{id}", PROTECTED),
    ("DELETE", "/workspace/{id}", PROTECTED),
    // workspace_members.rs
    ("POST", "/workspace/{id}/users", PROTECTED),
    ("PUT", "/workspace/{id}/users/{userId}", PROTECTED),
    ("DELETE", "/workspace/{id}/users/{userId}", PROTECTED),
];

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let answer = app.get("/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

/// The documented operations: (METHOD, path) -> operation object.
fn operations(document: &Value) -> BTreeMap<(String, String), Value> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    let mut operations = BTreeMap::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get(method) {
                operations.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    operations
}

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
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
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
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
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

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The file's code without its comment lines.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offsets where `text` occurs as whole identifiers: when it starts with an identifier
/// character, not preceded by one (so `Router::new(` does not match inside
/// `OpenApiRouter::new(`), and when it ends with one, not followed by one (so `Router` does not
/// match `RouterExt`).
fn occurrences(code: &str, text: &str) -> Vec<usize> {
    let starts_in_ident = text.chars().next().is_some_and(is_ident);
    let ends_in_ident = text.chars().next_back().is_some_and(is_ident);
    code.match_indices(text)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = code[..at].chars().next_back();
            let after = code[at + text.len()..].chars().next();
            let joined_before = starts_in_ident && before.is_some_and(is_ident);
            let joined_after = ends_in_ident && after.is_some_and(is_ident);
            !(joined_before || joined_after)
        })
        .collect()
}

/// Ways to add a route that the document would not know about.
const UNDOCUMENTED_ROUTING: [&str; 12] = [
    "axum::routing",
    "routing::",
    "MethodRouter",
    "Router::new(",
    "Router::from(",
    "OpenApiRouter::from(",
    ".route(",
    ".route_service(",
    ".nest(",
    ".nest_service(",
    ".fallback(",
    ".fallback_service(",
];

#[tokio::test]
async fn no_route_exists_that_the_document_lacks() {
    // 1. Outside `http/mod.rs`, routes are only registered with `routes!`, from the annotation
    //    that documents them: no axum router or method router is built by hand.
    let http = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("http");
    let mut files = Vec::new();
    rust_files(&http, &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let assembly = http.join("mod.rs");
    for file in files.iter().filter(|file| **file != assembly) {
        let code = code(file);
        for pattern in UNDOCUMENTED_ROUTING {
            assert!(
                occurrences(&code, pattern).is_empty(),
                "{} uses `{pattern}`: register routes with utoipa-axum's routes! instead",
                file.display()
            );
        }
        assert_eq!(
            occurrences(&code, "Router"),
            Vec::<usize>::new(),
            "{} names axum's Router: build an OpenApiRouter with routes! instead",
            file.display()
        );
    }
    //    `http/mod.rs` assembles the modules' OpenApiRouters, splits them into the axum router and
    //    the document, and adds the one route that serves the document.
    let code = code(&assembly);
    for pattern in UNDOCUMENTED_ROUTING
        .into_iter()
        .filter(|pattern| !pattern.contains("routing") && *pattern != ".route(")
    {
        assert!(
            occurrences(&code, pattern).is_empty(),
            "http/mod.rs uses `{pattern}`"
        );
    }
    let routes: Vec<_> = code.match_indices(".route(").collect();
    assert_eq!(
        routes.len(),
        1,
        "http/mod.rs adds routes beyond /openapi.json"
    );
    assert!(code[routes[0].0..].starts_with(".route(\"/openapi.json\""));
    assert!(code.contains("split_for_parts()"));
    for (at, _) in code.match_indices(".merge(") {
        let merged = code[at + ".merge(".len()..]
            .split(')')
            .next()
            .unwrap_or_default();
        assert!(
            merged.ends_with("::router("),
            "http/mod.rs merges `{merged}`, not a module's OpenApiRouter"
        );
    }

    // 2. Every documented operation is routed: without a token and with random ids, the server
    //    never answers its own "Route not found" 404 nor a 405, and answers a documented status
    //    (401 exactly on the protected routes).
    let app = spawn_app().await;
    let document = document(&app).await;
    for ((method, path), operation) in operations(&document) {
        let concrete: String = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    Uuid::new_v4().to_string()
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let response = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&concrete),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let what = format!("{method} {concrete} ({path}): {status} {body}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        assert_ne!(body["error_code"], "METHOD_NOT_ALLOWED", "{what}");
        assert!(
            !(status == StatusCode::NOT_FOUND
                && body["error_code"] == "NOT_FOUND"
                && body["message"] == "Route not found"),
            "{what}: documented but not routed"
        );
        assert!(
            operation["responses"].get(status.as_str()).is_some(),
            "{what}: status not documented"
        );
        let protected = operation.get("security").is_some();
        assert_eq!(status == StatusCode::UNAUTHORIZED, protected, "{what}");
    }
}
