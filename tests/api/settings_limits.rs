//! The settings routes' limits (contract section 10): the size and depth bounds, who may write
//! which object, unverified callers, the documented 500s, and the OpenAPI document of the eight
//! routes. The routes' behaviour is in `settings.rs`.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Verification::Unverified;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, assert_error, error_body, not_validated_body};
use crate::support::faults::{install_fault, remove_fault};
use crate::support::org_cast::OrgCast;
use crate::support::settings::{
    assert_settings, done_body, read, replace_ok, settings_body, write, write_ok, ORGANIZATION,
    SCOPES, USER,
};

/// `{"k": {"k": ... {"k": 1}}}`, `levels` objects deep.
fn nested(levels: usize) -> Value {
    (1..levels).fold(json!({ "k": 1 }), |inner, _| json!({ "k": inner }))
}

/// An object of one string under `key` whose compact JSON is `bytes` long.
fn of_size(key: &str, bytes: usize) -> Value {
    json!({ key: "x".repeat(bytes - 7 - key.len()) })
}

#[tokio::test]
async fn the_object_is_at_most_64_kib_and_16_levels_after_merging_else_400_and_nothing_stored() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let too_large = error_body(
        "Settings must be at most 65536 bytes as JSON",
        "SETTINGS_TOO_LARGE",
    );
    let too_deep = error_body(
        "Settings must be at most 16 levels deep",
        "SETTINGS_TOO_DEEP",
    );
    for scope in SCOPES {
        // Exactly the bound, sent indented (a body over 64 KiB: these routes take up to 128).
        let at_bound = of_size("a", 64 * 1024);
        let body = serde_json::to_string_pretty(&json!({ "settings": at_bound })).unwrap();
        let answer = TestApp::send(
            app.client
                .post(app.url(scope.path))
                .bearer_auth(&owner.access_token)
                .header(CONTENT_TYPE, "application/json")
                .body(body),
        )
        .await;
        assert_answer(&answer, StatusCode::OK, &done_body(scope, &Method::POST));
        assert_settings(&app, scope, &owner, at_bound).await;

        // One byte over, by replacing or by merging halves that each fit.
        let half = of_size("a", 40 * 1024);
        replace_ok(&app, scope, &owner, half).await;
        let before = app.snapshot().await;
        let over = json!({ "settings": of_size("a", 64 * 1024 + 1) });
        let answer = write(&app, scope, &owner, Method::POST, over).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &too_large);
        let other_half = of_size("b", 40 * 1024);
        let answer = write(&app, scope, &owner, Method::PUT, other_half.clone()).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &too_large);
        app.assert_unchanged(&before).await;
        // The same half alone fits: only the merged size broke the bound.
        replace_ok(&app, scope, &owner, json!({})).await;
        write_ok(&app, scope, &owner, Method::PUT, other_half.clone()).await;
        assert_settings(&app, scope, &owner, other_half).await;

        // 16 levels are stored; 17 refused, replaced or merged in.
        replace_ok(&app, scope, &owner, nested(16)).await;
        assert_settings(&app, scope, &owner, nested(16)).await;
        let before = app.snapshot().await;
        let answer = write(
            &app,
            scope,
            &owner,
            Method::POST,
            json!({ "settings": nested(17) }),
        )
        .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &too_deep);
        let one_more = (1..16).fold(
            json!({ "k": { "new": 1 } }),
            |inner, _| json!({ "k": inner }),
        );
        let answer = write(&app, scope, &owner, Method::PUT, one_more).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &too_deep);
        let deep_array = json!({ "a": nested(15), "b": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]] });
        let answer = write(&app, scope, &owner, Method::PUT, deep_array).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &too_deep);
        app.assert_unchanged(&before).await;

        // A body over 128 KiB is refused before the handler.
        let huge = json!({ "settings": of_size("a", 128 * 1024 + 1) });
        let answer = write(&app, scope, &owner, Method::POST, huge).await;
        assert_error(
            &answer,
            413,
            "Request body is too large",
            "PAYLOAD_TOO_LARGE",
        );
        app.assert_unchanged(&before).await;
    }
}

#[tokio::test]
async fn only_owners_and_administrators_write_organization_settings_and_every_member_reads_them() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let shared = json!({ "brand": { "color": "blue" } });
    replace_ok(&app, &ORGANIZATION, &cast.owner, shared.clone()).await;

    let denied = error_body(
        "Insufficient permissions to modify organization settings",
        "INSUFFICIENT_PERMISSIONS",
    );
    for member in [&cast.manager, &cast.billing, &cast.user] {
        let answer = read(&app, &ORGANIZATION, member).await;
        assert_answer(&answer, StatusCode::OK, &settings_body(shared.clone()));
        let before = app.snapshot().await;
        let writes = [
            (Method::POST, json!({ "settings": {} })),
            (Method::PUT, json!({ "brand": { "color": "red" } })),
            (Method::DELETE, json!({ "keys": ["brand"] })),
        ];
        for (method, body) in writes {
            let answer = write(&app, &ORGANIZATION, member, method, body).await;
            assert_answer(&answer, StatusCode::FORBIDDEN, &denied);
        }
        app.assert_unchanged(&before).await;
        // Their own settings they write.
        write_ok(&app, &USER, member, Method::PUT, json!({ "mine": true })).await;
    }

    let mark = app.event_mark().await;
    let patch = json!({ "brand": { "logo": "acme.png" } });
    write_ok(&app, &ORGANIZATION, &cast.administrator, Method::PUT, patch).await;
    let merged = json!({ "brand": { "color": "blue", "logo": "acme.png" } });
    assert_settings(&app, &ORGANIZATION, &cast.user, merged).await;
    let event = ORGANIZATION.event(&cast.administrator, &["brand.logo"]);
    assert_eq!(app.events_since(&mark).await, [event]);

    // Another organization's OWNER reads and writes only their own organization's object.
    let answer = read(&app, &ORGANIZATION, &cast.outsider).await;
    assert_answer(&answer, StatusCode::OK, &settings_body(json!({})));
    write_ok(
        &app,
        &ORGANIZATION,
        &cast.outsider,
        Method::PUT,
        json!({ "x": 1 }),
    )
    .await;
    assert_settings(
        &app,
        &ORGANIZATION,
        &cast.owner,
        json!({ "brand": {
        "color": "blue", "logo": "acme.png" } }),
    )
    .await;
}

#[tokio::test]
async fn user_settings_belong_to_each_user_alone() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    replace_ok(&app, &USER, &cast.owner, json!({ "theme": "dark" })).await;
    write_ok(
        &app,
        &USER,
        &cast.user,
        Method::PUT,
        json!({ "theme": "light" }),
    )
    .await;
    assert_settings(&app, &USER, &cast.owner, json!({ "theme": "dark" })).await;
    assert_settings(&app, &USER, &cast.user, json!({ "theme": "light" })).await;
    let answer = read(&app, &USER, &cast.manager).await;
    assert_answer(&answer, StatusCode::OK, &settings_body(json!({})));
}

#[tokio::test]
async fn an_unverified_caller_reads_settings_but_every_write_answers_400() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let unverified = app.member(&owner, "new@example.com", 255, Unverified).await;
    replace_ok(&app, &ORGANIZATION, &owner, json!({ "a": 1 })).await;
    let before = app.snapshot().await;
    for scope in SCOPES {
        let answer = read(&app, scope, &unverified).await;
        let expected = if scope.context == USER.context {
            json!({})
        } else {
            json!({ "a": 1 })
        };
        assert_answer(&answer, StatusCode::OK, &settings_body(expected));
        let writes = [
            (Method::POST, json!({ "settings": { "b": 2 } })),
            (Method::PUT, json!({ "b": 2 })),
            (Method::DELETE, json!({ "keys": ["a"] })),
        ];
        for (method, body) in writes {
            let answer = write(&app, scope, &unverified, method, body).await;
            assert_answer(&answer, StatusCode::BAD_REQUEST, &not_validated_body());
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_write_that_fails_in_the_database_answers_its_500_and_stores_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        // The first write inserts the row; later ones update it.
        for (event, method, body) in [
            ("INSERT", Method::PUT, json!({ "a": 1, "b": 2 })),
            (
                "UPDATE",
                Method::POST,
                json!({ "settings": { "a": 1, "b": 3 } }),
            ),
            ("UPDATE", Method::PUT, json!({ "c": 4 })),
            ("UPDATE", Method::DELETE, json!({ "keys": ["a"] })),
        ] {
            install_fault(&app, scope.table, event).await;
            let before = app.snapshot().await;
            let answer = write(&app, scope, &owner, method.clone(), body.clone()).await;
            assert_error(&answer, 500, &scope.failed(&method), "INTERNAL_ERROR");
            app.assert_unchanged(&before).await;
            remove_fault(&app, scope.table).await;
            write_ok(&app, scope, &owner, method, body).await;
        }
        assert_settings(&app, scope, &owner, json!({ "b": 3, "c": 4 })).await;
    }
}

#[tokio::test]
async fn a_stored_object_that_cannot_be_read_answers_the_reads_500() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        write_ok(&app, scope, &owner, Method::PUT, json!({ "a": 1 })).await;
        let sql = format!(
            "UPDATE {} SET settings = 'not json' WHERE {} = $1",
            scope.table, scope.owner_column
        );
        assert_eq!(app.execute(&sql, &[scope.owner_id(&owner)]).await, 1);
        let answer = read(&app, scope, &owner).await;
        assert_error(&answer, 500, &scope.failed(&Method::GET), "INTERNAL_ERROR");
    }
}

#[test]
fn the_document_types_every_body_of_the_eight_routes() {
    let document = workspaces::http::openapi_document();
    let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let body_of = |operation: &Value, status: &str| {
        operation["responses"][status]["content"]["application/json"]["schema"].clone()
    };
    for scope in SCOPES {
        let item = &document["paths"][scope.path];
        let get = &item["get"];
        assert_eq!(body_of(get, "200"), schema("SettingsResponse"));
        assert_eq!(get.get("requestBody"), None);
        let writes = [
            ("post", "ReplaceSettingsBody"),
            ("put", "SettingsObject"),
            ("delete", "DeleteSettingsKeysBody"),
        ];
        for (method, request) in writes {
            let operation = &item[method];
            let sent = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(sent, &schema(request), "{method} {}", scope.path);
            assert_eq!(body_of(operation, "200"), schema("MessageResponse"));
            for status in ["400", "401", "413", "415", "500"] {
                assert_eq!(
                    body_of(operation, status),
                    schema("ErrorResponse"),
                    "{status}"
                );
            }
            // Only the organization's object has writers and non-writers. (Every protected
            // route documents the 403 `MFA_REQUIRED` of a pending session.)
            let forbidden = operation["responses"]["403"]["description"].as_str();
            assert!(forbidden.unwrap_or_default().contains("MFA_REQUIRED"));
            let denies = forbidden
                .unwrap_or_default()
                .contains("Insufficient permissions");
            assert_eq!(
                denies,
                scope.context == ORGANIZATION.context,
                "{method} {}",
                scope.path
            );
        }
    }
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["SettingsObject"]["type"], "object");
    assert_eq!(schemas["SettingsObject"]["additionalProperties"], true);
    assert_eq!(
        schemas["ReplaceSettingsBody"]["required"],
        json!(["settings"])
    );
    assert_eq!(
        schemas["DeleteSettingsKeysBody"]["required"],
        json!(["keys"])
    );
    assert_eq!(
        schemas["DeleteSettingsKeysBody"]["properties"]["keys"]["minItems"],
        1
    );
}
