//! The settings routes (contract section 10), `/settings/user` and `/settings/organization`:
//! reading, replacing, deep merge, dot-path removal, bodies of the wrong shape, each with its
//! whole answer, what it stores and the event it records. Each test runs over both scopes
//! (`support::settings::SCOPES`); the bounds, roles and failures are in `settings_limits.rs`.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, assert_error, assert_unauthorized};
use crate::support::settings::{
    assert_settings, read, replace_ok, settings_body, write, write_ok, SCOPES,
};

#[tokio::test]
async fn settings_never_written_read_as_an_empty_object_and_a_token_is_required() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        let answer = read(&app, scope, &owner).await;
        assert_answer(&answer, StatusCode::OK, &settings_body(json!({})));
        assert!(scope.stored(&app, &owner).await.is_empty());
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            let answer = app.request(method.clone(), scope.path, None, None).await;
            assert_unauthorized(&answer);
            let answer = app
                .request(method, scope.path, Some("not-a-token"), None)
                .await;
            assert_unauthorized(&answer);
        }
    }
}

#[tokio::test]
async fn post_replaces_the_whole_object_and_records_the_keys_it_changed() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        let first = json!({ "theme": "dark", "notifications": { "email": true, "push": false } });
        let mark = app.event_mark().await;
        replace_ok(&app, scope, &owner, first.clone()).await;
        assert_settings(&app, scope, &owner, first).await;
        let keys = ["notifications", "theme"];
        assert_eq!(app.events_since(&mark).await, [scope.event(&owner, &keys)]);

        // Extra keys beside `settings` are ignored; what is not in the new object is gone.
        let second = json!({ "notifications": { "email": true, "push": true }, "lang": "fr" });
        let mark = app.event_mark().await;
        let body = json!({ "settings": second, "deviceInfo": { "os": "x" } });
        write_ok(&app, scope, &owner, Method::POST, body).await;
        assert_settings(&app, scope, &owner, second).await;
        let keys = ["lang", "notifications.push", "theme"];
        assert_eq!(app.events_since(&mark).await, [scope.event(&owner, &keys)]);

        // Replacing with {} empties it.
        replace_ok(&app, scope, &owner, json!({})).await;
        assert_settings(&app, scope, &owner, json!({})).await;
    }
}

#[tokio::test]
async fn put_deep_merges_nested_objects_and_replaces_every_other_value() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        let stored = json!({
            "theme": "dark",
            "notifications": { "email": true, "push": { "sound": "ping", "badge": true } },
            "tags": ["a", "b"],
            "layout": { "columns": 3 },
        });
        replace_ok(&app, scope, &owner, stored).await;
        let patch = json!({
            "notifications": { "push": { "sound": "bell" }, "sms": false },
            "tags": ["c"],
            "layout": null,
            "lang": "fr",
        });
        let mark = app.event_mark().await;

        write_ok(&app, scope, &owner, Method::PUT, patch).await;

        let merged = json!({
            "theme": "dark",
            "notifications": { "email": true, "push": { "sound": "bell", "badge": true },
                "sms": false },
            "tags": ["c"],
            "layout": null,
            "lang": "fr",
        });
        assert_settings(&app, scope, &owner, merged).await;
        let keys = [
            "lang",
            "layout",
            "notifications.push.sound",
            "notifications.sms",
            "tags",
        ];
        assert_eq!(app.events_since(&mark).await, [scope.event(&owner, &keys)]);
    }
}

#[tokio::test]
async fn a_first_put_creates_the_object() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        let mark = app.event_mark().await;
        write_ok(&app, scope, &owner, Method::PUT, json!({ "a": { "b": 1 } })).await;
        assert_settings(&app, scope, &owner, json!({ "a": { "b": 1 } })).await;
        assert_eq!(app.events_since(&mark).await, [scope.event(&owner, &["a"])]);
    }
}

#[tokio::test]
async fn delete_removes_dot_paths_and_ignores_keys_that_name_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        let stored = json!({
            "theme": "dark",
            "notifications": { "email": true, "push": false },
            "tags": ["a"],
        });
        replace_ok(&app, scope, &owner, stored).await;
        let mark = app.event_mark().await;

        let keys = json!({ "keys": ["notifications.push", "theme", "missing", "tags.0",
            "theme.deeper", "notifications.none.deeper"] });
        write_ok(&app, scope, &owner, Method::DELETE, keys).await;

        let left = json!({ "notifications": { "email": true }, "tags": ["a"] });
        assert_settings(&app, scope, &owner, left).await;
        let keys = ["notifications.push", "theme"];
        assert_eq!(app.events_since(&mark).await, [scope.event(&owner, &keys)]);
    }
}

#[tokio::test]
async fn a_write_that_changes_nothing_answers_200_and_stores_and_records_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        // Before any write: no row is made for nothing.
        let before = app.snapshot().await;
        write_ok(
            &app,
            scope,
            &owner,
            Method::DELETE,
            json!({ "keys": ["a"] }),
        )
        .await;
        write_ok(&app, scope, &owner, Method::PUT, json!({})).await;
        replace_ok(&app, scope, &owner, json!({})).await;
        app.assert_unchanged(&before).await;
        assert!(scope.stored(&app, &owner).await.is_empty());

        let stored = json!({ "a": { "b": [1, 2] }, "c": null });
        replace_ok(&app, scope, &owner, stored.clone()).await;
        let before = app.snapshot().await;
        replace_ok(&app, scope, &owner, stored).await;
        write_ok(
            &app,
            scope,
            &owner,
            Method::PUT,
            json!({ "a": { "b": [1, 2] } }),
        )
        .await;
        write_ok(
            &app,
            scope,
            &owner,
            Method::DELETE,
            json!({ "keys": ["x", "a.x"] }),
        )
        .await;
        app.assert_unchanged(&before).await;
    }
}

#[tokio::test]
async fn bodies_of_the_wrong_shape_answer_the_routes_messages_and_change_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for scope in SCOPES {
        replace_ok(&app, scope, &owner, json!({ "a": 1 })).await;
        let before = app.snapshot().await;
        let wrong_shape = [
            (Method::POST, json!({})),
            (Method::POST, json!({ "settings": null })),
            (Method::POST, json!({ "settings": [1] })),
            (Method::POST, json!({ "settings": "dark" })),
            (Method::POST, json!([{ "settings": {} }])),
            (Method::PUT, json!([1])),
            (Method::PUT, json!("theme")),
            (Method::DELETE, json!({ "keys": ["a", 1] })),
            (Method::DELETE, json!({ "keys": [null] })),
        ];
        for (method, body) in wrong_shape {
            let answer = write(&app, scope, &owner, method.clone(), body).await;
            assert_error(&answer, 400, &scope.failed(&method), "INVALID_BODY");
        }
        let keys_required = "Keys array is required and must not be empty";
        for body in [
            json!({}),
            json!({ "keys": [] }),
            json!({ "keys": "a" }),
            json!({ "keys": null }),
        ] {
            let answer = write(&app, scope, &owner, Method::DELETE, body).await;
            assert_error(&answer, 400, keys_required, "KEYS_REQUIRED");
        }
        // As the client sends a DELETE with nothing to say: no body, no Content-Type.
        let answer = app
            .request(Method::DELETE, scope.path, Some(&owner.access_token), None)
            .await;
        assert_error(&answer, 400, keys_required, "KEYS_REQUIRED");
        // And a POST without a body.
        let answer = app
            .request(Method::POST, scope.path, Some(&owner.access_token), None)
            .await;
        assert_error(&answer, 400, &scope.failed(&Method::POST), "INVALID_BODY");
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let raw = |content_type: &str, text: &str| {
                app.client
                    .request(method.clone(), app.url(scope.path))
                    .bearer_auth(&owner.access_token)
                    .header(CONTENT_TYPE, content_type)
                    .body(text.to_owned())
            };
            let answer = TestApp::send(raw("application/json", "{\"settings\": {")).await;
            assert_error(
                &answer,
                400,
                "Request body is not valid JSON",
                "INVALID_JSON",
            );
            let answer = TestApp::send(raw("text/plain", "{\"keys\": [\"a\"]}")).await;
            assert_error(
                &answer,
                415,
                "Content-Type must be application/json",
                "UNSUPPORTED_MEDIA_TYPE",
            );
        }
        app.assert_unchanged(&before).await;
    }
}
