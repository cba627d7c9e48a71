//! The settings routes (contract section 10), `/settings/user` and `/settings/organization`:
//! every documented status of the eight routes with its whole body, what each write stores and
//! the event it records, deep merge, dot-path removal, the bounds, and who may write. Each test
//! runs over both scopes ([`SCOPES`]) where the rule is the same for both.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::Verification::Unverified;
use crate::helpers::{
    assert_answer, assert_error, assert_unauthorized, error_body, not_validated_body, spawn_app,
    Account, Answer, TestApp,
};
use crate::org_cast::OrgCast;
use crate::workspace_faults::{install_fault, remove_fault};

/// One scope of settings: its route, its texts, its table and its event context.
pub struct Scope {
    pub path: &'static str,
    /// How its messages name it: `User`, `Organization`.
    name: &'static str,
    table: &'static str,
    owner_column: &'static str,
    /// `usersettings` (7) or `orgsettings` (8).
    context: i64,
}

pub const USER: Scope = Scope {
    path: "/settings/user",
    name: "User",
    table: "user_settings",
    owner_column: "user_id",
    context: 7,
};

pub const ORGANIZATION: Scope = Scope {
    path: "/settings/organization",
    name: "Organization",
    table: "org_settings",
    owner_column: "org_id",
    context: 8,
};

pub const SCOPES: [&Scope; 2] = [&USER, &ORGANIZATION];

const UPDATED: i64 = 1;

impl Scope {
    /// Whose object `account` reaches: their own, or their organization's.
    pub fn owner_id<'a>(&self, account: &'a Account) -> &'a str {
        if self.context == USER.context {
            &account.user_id
        } else {
            &account.org_id
        }
    }

    /// The success message of a write with `method`.
    fn done(&self, method: &Method) -> String {
        let what = match method.as_str() {
            "POST" => "updated",
            "PUT" => "partially updated",
            _ => "keys deleted",
        };
        format!("{} settings {what} successfully", self.name)
    }

    /// The message of a body of the wrong shape (and of a failure) of a write with `method`.
    fn failed(&self, method: &Method) -> String {
        let lower = self.name.to_lowercase();
        match method.as_str() {
            "GET" => format!("Failed to get {lower} settings"),
            "POST" => format!("Failed to update {lower} settings"),
            "PUT" => format!("Failed to partially update {lower} settings"),
            _ => format!("Failed to delete {lower} settings keys"),
        }
    }

    /// The stored text of `account`'s object of this scope, if a row exists.
    async fn stored(&self, app: &TestApp, account: &Account) -> Vec<String> {
        let sql = format!(
            "SELECT settings FROM {} WHERE {} = $1",
            self.table, self.owner_column
        );
        app.strings(&sql, &[self.owner_id(account)]).await
    }

    /// The event a write by `actor` that changed `keys` records.
    fn event(&self, actor: &Account, keys: &[&str]) -> Value {
        json!({
            "orgId": actor.org_id,
            "actorId": actor.user_id,
            "workspaceId": null,
            "context": self.context,
            "event": UPDATED,
            "contextId": self.owner_id(actor),
            "jsonData": { "keys": keys },
        })
    }
}

pub async fn read(app: &TestApp, scope: &Scope, by: &Account) -> Answer {
    app.get(scope.path, Some(&by.access_token)).await
}

pub async fn write(
    app: &TestApp,
    scope: &Scope,
    by: &Account,
    method: Method,
    body: Value,
) -> Answer {
    app.request(method, scope.path, Some(&by.access_token), Some(body))
        .await
}

pub fn settings_body(settings: Value) -> Value {
    json!({ "success": true, "settings": settings })
}

fn done_body(scope: &Scope, method: &Method) -> Value {
    json!({ "success": true, "message": scope.done(method) })
}

/// Writes `body` with `method` as `by` and asserts the whole 200.
async fn write_ok(app: &TestApp, scope: &Scope, by: &Account, method: Method, body: Value) {
    let answer = write(app, scope, by, method.clone(), body).await;
    assert_answer(&answer, StatusCode::OK, &done_body(scope, &method));
}

/// Replaces `by`'s object of `scope` by `settings` (`POST`) and asserts the whole 200.
async fn replace_ok(app: &TestApp, scope: &Scope, by: &Account, settings: Value) {
    let body = json!({ "settings": settings });
    write_ok(app, scope, by, Method::POST, body).await;
}

/// Asserts that `by` reads `settings` and that the database holds exactly that text.
async fn assert_settings(app: &TestApp, scope: &Scope, by: &Account, settings: Value) {
    let answer = read(app, scope, by).await;
    assert_answer(&answer, StatusCode::OK, &settings_body(settings.clone()));
    assert_eq!(scope.stored(app, by).await, [settings.to_string()]);
}

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
            // Only the organization's object has writers and non-writers.
            let denies = operation["responses"].get("403").is_some();
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
