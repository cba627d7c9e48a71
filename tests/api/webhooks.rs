//! Managing webhooks (contract section 15): the routes, their roles, their checks, their events.
//! What is delivered is in `webhook_delivery.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification};
use crate::support::app::{spawn_app_with, TestApp};
use crate::support::assertions::{
    assert_answer, assert_unauthorized, error_body, not_validated_body,
};
use crate::support::faults::{answers_its_500_then_works, Call, Fault};
use crate::support::receiver::{create_webhook, webhook_app_with, Receiver};

const USER: i64 = 0;
const BILLING: i64 = 1;
const WORKSPACES: i64 = 2;
const ADMINISTRATORS: i64 = 254;

/// A server that allows loopback webhooks but delivers nothing: these tests look at the routes
/// alone, and a delivery would change the rows they compare.
async fn quiet_app() -> TestApp {
    webhook_app_with(|config| config.webhooks.enabled = false).await
}

fn not_found() -> Value {
    error_body("Webhook not found", "WEBHOOK_NOT_FOUND")
}

fn forbidden_url() -> Value {
    error_body("Webhook URL is not allowed", "WEBHOOK_URL_FORBIDDEN")
}

fn insufficient() -> Value {
    error_body(
        "Insufficient permissions to manage webhooks",
        "INSUFFICIENT_PERMISSIONS",
    )
}

/// The JSON of a webhook as the routes answer it, from what the test knows of it.
fn webhook_json(
    created: &Value,
    url: &str,
    events: Value,
    description: Value,
    enabled: bool,
) -> Value {
    json!({
        "id": created["id"],
        "url": url,
        "events": events,
        "description": description,
        "enabled": enabled,
        "createdAt": created["createdAt"],
        "disabledReason": null,
    })
}

async fn put(
    app: &TestApp,
    path: &str,
    by: &Account,
    body: Value,
) -> crate::support::client::Answer {
    app.request(Method::PUT, path, Some(&by.access_token), Some(body))
        .await
}

#[tokio::test]
async fn creating_a_webhook_answers_it_with_its_secret_once_and_records_an_org_updated_event() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let url = "http://127.0.0.1:9/hook/a?token=abc";
    let mark = app.event_mark().await;

    let body = json!({"url": url, "events": ["workspace.created", "user.*", "workspace.created"], "description": "  CI  "});
    let answer = app.post("/webhooks", Some(&owner.access_token), body).await;

    let created = &answer.body["webhook"];
    let secret = answer.str("secret");
    let events = json!(["workspace.created", "user.*"]);
    assert_answer(
        &answer,
        StatusCode::CREATED,
        &json!({
            "success": true,
            "webhook": webhook_json(created, url, events.clone(), json!("CI"), true),
            "secret": secret,
        }),
    );
    let key = secret.strip_prefix("whsec_").expect("a whsec_ secret");
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap();
    assert_eq!(key.len(), 32);
    // Stored sealed: neither the secret nor its key bytes are in the row.
    let row = app.dump("webhooks").await.join("\n");
    assert!(
        !row.contains(&secret) && !row.contains(&crate::support::database::hex(&key)),
        "{row}"
    );
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.events_since(&mark).await,
        [json!({
            "orgId": owner.org_id, "actorId": owner.user_id, "workspaceId": null,
            "context": 4, "event": 1, "contextId": owner.org_id,
            "jsonData": {"webhook": {"from": null, "to": {
                "id": id, "url": "http://127.0.0.1:9/hook/a", "events": events,
                "description": "CI", "enabled": true,
            }}},
        })]
    );
    // Never shown again.
    let read = app
        .get(&format!("/webhooks/{id}"), Some(&owner.access_token))
        .await;
    assert!(read.body.get("secret").is_none());
}

#[tokio::test]
async fn webhooks_are_listed_read_changed_and_deleted_with_their_events() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let admin = app
        .member(
            &owner,
            "mia@example.com",
            ADMINISTRATORS,
            Verification::Verified,
        )
        .await;
    let (first, _) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let (second, _) = create_webhook(
        &app,
        &admin,
        "http://127.0.0.1:9/hook/2",
        Some(json!(["*.deleted"])),
    )
    .await;
    let (id1, id2) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );

    let list = app.get("/webhooks", Some(&admin.access_token)).await;
    let one = webhook_json(
        &first,
        "http://127.0.0.1:9/hook/1",
        json!(["*"]),
        Value::Null,
        true,
    );
    let two = webhook_json(
        &second,
        "http://127.0.0.1:9/hook/2",
        json!(["*.deleted"]),
        Value::Null,
        true,
    );
    assert_answer(
        &list,
        StatusCode::OK,
        &json!({"success": true, "webhooks": [one, two.clone()]}),
    );
    let read = app
        .get(&format!("/webhooks/{id2}"), Some(&owner.access_token))
        .await;
    assert_answer(
        &read,
        StatusCode::OK,
        &json!({"success": true, "webhook": two}),
    );

    let mark = app.event_mark().await;
    let path = format!("/webhooks/{id1}");
    let changed = put(&app, &path, &admin, json!({"url": "http://127.0.0.1:9/hook/x", "events": ["org.updated"], "description": "ops", "enabled": false})).await;
    let after = webhook_json(
        &first,
        "http://127.0.0.1:9/hook/x",
        json!(["org.updated"]),
        json!("ops"),
        false,
    );
    assert_answer(
        &changed,
        StatusCode::OK,
        &json!({"success": true, "webhook": after}),
    );
    let cleared = put(&app, &path, &admin, json!({"description": null})).await;
    assert_eq!(cleared.body["webhook"]["description"], Value::Null);
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["jsonData"]["webhook"]["to"],
        json!({"id": id1, "url": "http://127.0.0.1:9/hook/x", "events": ["org.updated"], "description": "ops", "enabled": false})
    );
    // The same values again: no change, no event.
    let same = put(&app, &path, &admin, json!({"enabled": false})).await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(app.events_since(&mark).await.len(), 2);

    let deleted = app.delete(&path, Some(&owner.access_token)).await;
    assert_answer(
        &deleted,
        StatusCode::OK,
        &json!({"success": true, "message": "Webhook deleted successfully"}),
    );
    let events = app.events_since(&mark).await;
    assert_eq!(events[2]["jsonData"]["webhook"]["to"], Value::Null);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhooks", &[]).await, 1);
    for (method, route) in [(Method::GET, ""), (Method::DELETE, "")] {
        let answer = app
            .request(
                method,
                &format!("{path}{route}"),
                Some(&owner.access_token),
                None,
            )
            .await;
        assert_answer(&answer, StatusCode::NOT_FOUND, &not_found());
    }
}

/// Every route that names a webhook, as `by`, for `id`.
fn id_routes(id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/webhooks/{id}"), None),
        (
            Method::PUT,
            format!("/webhooks/{id}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/webhooks/{id}"), None),
        (Method::POST, format!("/webhooks/{id}/rotate-secret"), None),
        (Method::POST, format!("/webhooks/{id}/test"), None),
        (Method::GET, format!("/webhooks/{id}/deliveries"), None),
        (
            Method::POST,
            format!("/webhooks/{id}/deliveries/{}/retry", uuid::Uuid::now_v7()),
            None,
        ),
    ]
}

fn all_routes(id: &str) -> Vec<(Method, String, Option<Value>)> {
    let mut routes = vec![
        (Method::GET, "/webhooks".to_owned(), None),
        (
            Method::POST,
            "/webhooks".to_owned(),
            Some(json!({"url": "http://127.0.0.1:9/hook/z"})),
        ),
    ];
    routes.extend(id_routes(id));
    routes
}

#[tokio::test]
async fn only_owners_and_administrators_manage_webhooks_and_nobody_without_a_token() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let id = webhook["id"].as_str().unwrap();
    for (n, role) in [USER, BILLING, WORKSPACES].into_iter().enumerate() {
        let member = app
            .member(
                &owner,
                &format!("m{n}@example.com"),
                role,
                Verification::Verified,
            )
            .await;
        let before = app.snapshot().await;
        for (method, path, body) in all_routes(id) {
            let answer = app
                .request(method.clone(), &path, Some(&member.access_token), body)
                .await;
            assert_answer(&answer, StatusCode::FORBIDDEN, &insufficient());
        }
        app.assert_unchanged(&before).await;
    }
    for (method, path, body) in all_routes(id) {
        let answer = app.request(method, &path, None, body).await;
        assert_unauthorized(&answer);
    }
}

#[tokio::test]
async fn another_organizations_webhook_is_not_found() {
    let app = quiet_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let bob = app.register_verified("bob@example.com").await;
    let (webhook, _) = create_webhook(&app, &ann, "http://127.0.0.1:9/hook/1", None).await;
    let before = app.snapshot().await;
    for id in [
        webhook["id"].as_str().unwrap(),
        "not-a-uuid",
        &uuid::Uuid::now_v7().to_string(),
    ] {
        for (method, path, body) in id_routes(id) {
            let answer = app
                .request(method, &path, Some(&bob.access_token), body)
                .await;
            assert_answer(&answer, StatusCode::NOT_FOUND, &not_found());
        }
    }
    app.assert_unchanged(&before).await;
    let list = app.get("/webhooks", Some(&bob.access_token)).await;
    assert_answer(
        &list,
        StatusCode::OK,
        &json!({"success": true, "webhooks": []}),
    );
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_changes_nothing() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let path = format!("/webhooks/{}", webhook["id"].as_str().unwrap());
    let url_message = "url must be an absolute https URL of at most 2048 characters";
    let events_message = "events must be a list of at most 50 patterns such as \"workspace.created\", \"user.*\" or \"*\"";
    let description_message =
        "description must be at most 500 characters without control characters";
    let long_url = format!("http://127.0.0.1:9/{}", "a".repeat(2048));
    let many: Vec<String> = (0..51).map(|_| "user.*".to_owned()).collect();
    let cases = [
        (json!({}), "Missing required field: url", "MISSING_FIELD"),
        (
            json!({"url": "  "}),
            "Missing required field: url",
            "MISSING_FIELD",
        ),
        (json!({"url": "not a url"}), url_message, "INVALID_FIELD"),
        (
            json!({"url": "ftp://example.com/"}),
            url_message,
            "INVALID_FIELD",
        ),
        (json!({"url": long_url}), url_message, "INVALID_FIELD"),
        (
            json!({"url": "http://127.0.0.1:9/", "events": []}),
            events_message,
            "INVALID_FIELD",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["workspace.made"]}),
            events_message,
            "INVALID_FIELD",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": many}),
            events_message,
            "INVALID_FIELD",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "description": "x".repeat(501)}),
            description_message,
            "INVALID_FIELD",
        ),
        (
            json!({"url": 5}),
            "Invalid value for field 'url'",
            "INVALID_FIELD",
        ),
    ];
    let before = app.snapshot().await;
    for (body, message, code) in &cases {
        let answer = app
            .post("/webhooks", Some(&owner.access_token), body.clone())
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &error_body(message, code));
    }
    let updates = [
        (json!({}), "No valid fields to update", "NO_VALID_FIELDS"),
        (json!({"url": "nope"}), url_message, "INVALID_FIELD"),
        (
            json!({"events": ["*.*.*"]}),
            events_message,
            "INVALID_FIELD",
        ),
        (
            json!({"enabled": "yes"}),
            "Invalid value for field 'enabled'",
            "INVALID_FIELD",
        ),
    ];
    for (body, message, code) in &updates {
        let answer = put(&app, &path, &owner, body.clone()).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &error_body(message, code));
    }
    for query in ["status=sent", "take=0", "take=101", "skip=-1", "take=x"] {
        let answer = app
            .get(
                &format!("{path}/deliveries?{query}"),
                Some(&owner.access_token),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            answer.body
        );
        assert_eq!(answer.body["error_code"], "INVALID_QUERY");
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn an_unverified_administrator_changes_nothing() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let id = webhook["id"].as_str().unwrap();
    let admin = app
        .member(
            &owner,
            "mia@example.com",
            ADMINISTRATORS,
            Verification::Unverified,
        )
        .await;
    let before = app.snapshot().await;
    for (method, path, body) in all_routes(id) {
        if method == Method::GET {
            continue;
        }
        let answer = app
            .request(method, &path, Some(&admin.access_token), body)
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &not_validated_body());
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn private_addresses_and_plain_http_are_refused_without_the_flags() {
    let app = spawn_app_with(|_| {}).await;
    let owner = app.register_verified("ann@example.com").await;
    let receiver = Receiver::start().await;
    let refused = [
        "http://example.com/hook".to_owned(),
        "https://127.0.0.1/hook".to_owned(),
        "https://[::1]/hook".to_owned(),
        "https://10.0.0.7/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://[::ffff:192.168.0.1]/".to_owned(),
        // A host name that resolves to 127.0.0.1.
        "https://localhost/hook".to_owned(),
        receiver.url_on("localhost", "a").replace("http:", "https:"),
    ];
    let before = app.snapshot().await;
    for url in &refused {
        let answer = app
            .post("/webhooks", Some(&owner.access_token), json!({"url": url}))
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &forbidden_url());
    }
    app.assert_unchanged(&before).await;
    // A public address literal is accepted (nothing is sent at creation).
    let (webhook, _) = create_webhook(&app, &owner, "https://93.184.215.14/hook", None).await;
    let path = format!("/webhooks/{}", webhook["id"].as_str().unwrap());
    let moved = put(
        &app,
        &path,
        &owner,
        json!({"url": "https://localhost/hook"}),
    )
    .await;
    assert_answer(&moved, StatusCode::BAD_REQUEST, &forbidden_url());

    // With the flags, the same URLs are allowed.
    let open = quiet_app().await;
    let owner = open.register_verified("ann@example.com").await;
    for url in [
        "http://localhost/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
    ] {
        create_webhook(&open, &owner, url, None).await;
    }
}

#[tokio::test]
async fn an_organization_has_at_most_20_webhooks() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    for n in 0..20 {
        create_webhook(&app, &owner, &format!("http://127.0.0.1:9/hook/{n}"), None).await;
    }
    let before = app.snapshot().await;
    let answer = app
        .post(
            "/webhooks",
            Some(&owner.access_token),
            json!({"url": "http://127.0.0.1:9/hook/x"}),
        )
        .await;
    assert_answer(
        &answer,
        StatusCode::CONFLICT,
        &error_body(
            "An organization may have at most 20 webhooks",
            "WEBHOOK_LIMIT_REACHED",
        ),
    );
    app.assert_unchanged(&before).await;
    // Another organization has its own 20.
    let bob = app.register_verified("bob@example.com").await;
    create_webhook(&app, &bob, "http://127.0.0.1:9/hook/b", None).await;
}

#[tokio::test]
async fn rotating_the_secret_answers_a_new_one_and_keeps_the_old_for_24_hours() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, secret) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let id = webhook["id"].as_str().unwrap();
    let mark = app.event_mark().await;
    let started = crate::support::clock::now_ms();

    let answer = app
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            Some(&owner.access_token),
            Value::Null,
        )
        .await;

    let new_secret = answer.str("secret");
    assert_ne!(new_secret, secret);
    assert!(new_secret.starts_with("whsec_"));
    let expected = webhook_json(
        &webhook,
        "http://127.0.0.1:9/hook/1",
        json!(["*"]),
        Value::Null,
        true,
    );
    assert_answer(
        &answer,
        StatusCode::OK,
        &json!({"success": true, "webhook": expected, "secret": new_secret}),
    );
    let until = app
        .count("SELECT previous_expires_at FROM webhooks", &[])
        .await;
    let day = 24 * 3_600_000;
    assert!((started + day..=crate::support::clock::now_ms() + day).contains(&until));
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["jsonData"]["webhook"]["to"]["secret"], "changed");
    assert!(!events[0]["jsonData"].to_string().contains(&new_secret));
}

#[tokio::test]
async fn the_deliveries_of_an_unknown_webhook_or_delivery_are_not_found() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let id = webhook["id"].as_str().unwrap();
    let empty = app
        .get(
            &format!("/webhooks/{id}/deliveries"),
            Some(&owner.access_token),
        )
        .await;
    assert_answer(
        &empty,
        StatusCode::OK,
        &json!({"success": true, "deliveries": [], "total": 0, "skip": 0, "take": 20}),
    );
    for delivery in ["nope".to_owned(), uuid::Uuid::now_v7().to_string()] {
        let answer = app
            .post(
                &format!("/webhooks/{id}/deliveries/{delivery}/retry"),
                Some(&owner.access_token),
                Value::Null,
            )
            .await;
        assert_answer(
            &answer,
            StatusCode::NOT_FOUND,
            &error_body("Delivery not found", "DELIVERY_NOT_FOUND"),
        );
    }
}

#[tokio::test]
async fn each_route_answers_its_documented_500_and_then_works() {
    let app = quiet_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "http://127.0.0.1:9/hook/1", None).await;
    let id = webhook["id"].as_str().unwrap();
    let failure = |message: &str| error_body(message, "INTERNAL_ERROR");
    let create = Call::new(
        Method::POST,
        "/webhooks",
        Some(&owner),
        json!({"url": "http://127.0.0.1:9/hook/2"}),
    );
    answers_its_500_then_works(
        &app,
        Fault::Write("webhooks", "INSERT"),
        &create,
        &failure("Failed to create webhook"),
        StatusCode::CREATED,
    )
    .await;
    let update = Call::new(
        Method::PUT,
        format!("/webhooks/{id}"),
        Some(&owner),
        json!({"description": "x"}),
    );
    answers_its_500_then_works(
        &app,
        Fault::Write("webhooks", "UPDATE"),
        &update,
        &failure("Failed to update webhook"),
        StatusCode::OK,
    )
    .await;
    let rotate = Call::bare(
        Method::POST,
        format!("/webhooks/{id}/rotate-secret"),
        &owner,
    );
    answers_its_500_then_works(
        &app,
        Fault::Write("webhooks", "UPDATE"),
        &rotate,
        &failure("Failed to rotate webhook secret"),
        StatusCode::OK,
    )
    .await;
    let list = Call::bare(Method::GET, "/webhooks", &owner);
    answers_its_500_then_works(
        &app,
        Fault::Read("webhooks", "disabled_reason"),
        &list,
        &failure("Failed to fetch webhooks"),
        StatusCode::OK,
    )
    .await;
    let read = Call::bare(Method::GET, format!("/webhooks/{id}"), &owner);
    answers_its_500_then_works(
        &app,
        Fault::Read("webhooks", "disabled_reason"),
        &read,
        &failure("Failed to fetch webhook"),
        StatusCode::OK,
    )
    .await;
    let deliveries = Call::bare(Method::GET, format!("/webhooks/{id}/deliveries"), &owner);
    answers_its_500_then_works(
        &app,
        Fault::Read("webhook_deliveries", "duration_ms"),
        &deliveries,
        &failure("Failed to fetch deliveries"),
        StatusCode::OK,
    )
    .await;
    let delete = Call::bare(Method::DELETE, format!("/webhooks/{id}"), &owner);
    answers_its_500_then_works(
        &app,
        Fault::Write("webhooks", "DELETE"),
        &delete,
        &failure("Failed to delete webhook"),
        StatusCode::OK,
    )
    .await;
}
