//! `/devices` (contract section 9): the devices a user signed in from, recorded by each login
//! (from its `deviceInfo`, else its `User-Agent`), trusted, untrusted and removed. Untrusting and
//! removing end the device's sessions at once, and nothing else.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::assert_answer;
use crate::support::client::Answer;
use crate::support::clock::{now_ms, rfc3339};
use crate::support::sessions::works;
use crate::support::signed_in::{
    assert_text_error, entry, login_from, revoked, session_from, sorted, FIREFOX_LINUX,
    SAFARI_IPHONE,
};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const NOT_FOUND: &str = "Device not found";

/// What the official client sends as `deviceInfo`.
fn device_info() -> Value {
    json!({ "deviceInfo": {
        "userAgent": FIREFOX_LINUX, "deviceType": "DESKTOP", "os": "Ubuntu", "browser": "Firefox",
        "screenResolution": "1920x1080", "timezone": "Europe/Paris", "language": "fr-FR",
        "platform": "Linux x86_64", "hardwareConcurrency": 8, "deviceMemory": 16,
    }})
}

/// The device a session points at.
async fn device_of(app: &TestApp, session_id: &str) -> String {
    let sql = "SELECT d.id FROM sessions s JOIN devices d ON d.id = s.device_id WHERE s.id = $1";
    let ids = uuid_strings(app, sql, session_id).await;
    assert_eq!(ids.len(), 1, "session {session_id} has no device");
    ids[0].clone()
}

/// Ids as text on both backends (a UUID column reads as a BLOB on SQLite, a uuid on PostgreSQL).
async fn uuid_strings(app: &TestApp, sql: &str, id: &str) -> Vec<String> {
    if app.is_sqlite() {
        let sql = sql.replacen("SELECT d.id", "SELECT lower(hex(d.id))", 1);
        app.strings(&sql, &[id])
            .await
            .into_iter()
            .map(|hex| uuid::Uuid::parse_str(&hex).unwrap().to_string())
            .collect()
    } else {
        let sql = sql.replacen("SELECT d.id", "SELECT d.id::text", 1);
        app.strings(&sql, &[id]).await
    }
}

async fn text(app: &TestApp, column: &str, device: &str) -> String {
    let sql = format!("SELECT {column} FROM devices WHERE id = $1");
    app.strings(&sql, &[device]).await.remove(0)
}

async fn number(app: &TestApp, column: &str, device: &str) -> i64 {
    app.count(
        &format!("SELECT {column} FROM devices WHERE id = $1"),
        &[device],
    )
    .await
}

/// The `/devices` entry a device should have, from its row, untrusted.
async fn listed(app: &TestApp, device: &str, level: &str) -> Value {
    json!({
        "id": device,
        "deviceName": text(app, "device_name", device).await,
        "deviceType": text(app, "device_type", device).await,
        "os": text(app, "os", device).await,
        "browser": text(app, "browser", device).await,
        "ipAddress": "127.0.0.1",
        "country": null,
        "city": null,
        "isTrusted": false,
        "trustLevel": level,
        "lastSeen": rfc3339(number(app, "last_seen", device).await),
        "createdAt": rfc3339(number(app, "created_at", device).await),
    })
}

async fn details(app: &TestApp, token: &str, device: &str) -> Answer {
    app.get(&format!("/devices/{device}"), Some(token)).await
}

async fn trust(app: &TestApp, token: &str, fingerprint: &str) -> Answer {
    let body = json!({ "fingerprint": fingerprint });
    app.post("/devices/trust", Some(token), body).await
}

async fn untrust(app: &TestApp, token: &str, device: &str) -> Answer {
    let path = format!("/devices/{device}/untrust");
    app.request(Method::POST, &path, Some(token), None).await
}

async fn remove(app: &TestApp, token: &str, device: &str) -> Answer {
    app.delete(&format!("/devices/{device}"), Some(token)).await
}

async fn fingerprint(app: &TestApp, token: &str, device: &str) -> String {
    details(app, token, device).await.body["device"]["deviceFingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Ann with sessions on two devices (Firefox twice, an iPhone once) and Bob with one on his own
/// Firefox: (ann, bob, [firefox sessions], iphone session, tokens by session).
struct Scene {
    ann: Account,
    bob: Account,
    firefox: Vec<(String, String)>,
    iphone: (String, String),
    bob_firefox: (String, String),
}

async fn scene(app: &TestApp) -> Scene {
    let ann = app.register_verified("ann@example.com").await;
    let bob = app.register_verified("bob@example.com").await;
    let firefox = vec![
        session_from(app, &ann, FIREFOX_LINUX).await,
        session_from(app, &ann, FIREFOX_LINUX).await,
    ];
    let iphone = session_from(app, &ann, SAFARI_IPHONE).await;
    let bob_firefox = session_from(app, &bob, FIREFOX_LINUX).await;
    Scene {
        ann,
        bob,
        firefox,
        iphone,
        bob_firefox,
    }
}

/// Ann's two Firefox sessions have ended, at once; her other sessions and Bob's have not.
async fn assert_only_firefox_ended(app: &TestApp, s: &Scene) {
    for (session, token) in &s.firefox {
        assert!(revoked(app, session).await);
        assert!(!works(app, token).await);
    }
    for (session, token) in [&s.iphone, &s.bob_firefox] {
        assert!(!revoked(app, session).await);
        assert!(works(app, token).await);
    }
    assert!(works(app, &s.ann.access_token).await);
    assert!(works(app, &s.bob.access_token).await);
}

#[tokio::test]
async fn a_login_records_its_device_from_the_user_agent_once_per_device() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (first, token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let device = device_of(&app, &first).await;
    let seen_first = number(&app, "last_seen", &device).await;
    let (second, _) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let (phone, _) = session_from(&app, &ann, SAFARI_IPHONE).await;

    // The same browser on the same system is one device, seen again; the phone is another.
    assert_eq!(device_of(&app, &second).await, device);
    let iphone = device_of(&app, &phone).await;
    assert_ne!(iphone, device);
    assert!(number(&app, "last_seen", &device).await >= seen_first);
    assert_eq!(number(&app, "created_at", &device).await, seen_first);

    let answer = app.get("/devices", Some(&token)).await;

    // The registration's session (no User-Agent) has a device of its own.
    let unknown = device_of(&app, &ann.token_id).await;
    let expected = json!({ "success": true, "devices": [
        listed(&app, &device, "LOW").await,
        listed(&app, &iphone, "LOW").await,
        listed(&app, &unknown, "LOW").await,
    ]});
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        sorted(&answer.body, "devices"),
        sorted(&expected, "devices")
    );
    let firefox = &listed(&app, &device, "LOW").await;
    assert_eq!(
        (&firefox["deviceName"], &firefox["deviceType"]),
        (&json!("Firefox on Linux"), &json!("DESKTOP"))
    );
    let phone_entry = listed(&app, &iphone, "LOW").await;
    assert_eq!(phone_entry["deviceType"], "MOBILE");
    // Last seen first.
    assert_eq!(answer.body["devices"][0]["id"], json!(iphone));
}

#[tokio::test]
async fn a_login_with_device_info_records_a_medium_device_described_by_the_client() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let login = login_from(&app, &ann, Some(SAFARI_IPHONE), device_info()).await;
    let (session, token) = (login.str("tokenId"), login.str("accessToken"));
    let device = device_of(&app, &session).await;

    let answer = details(&app, &token, &device).await;

    let fingerprint = answer.body["device"]["deviceFingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fingerprint.len(), 64);
    assert!(fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
    let mut expected = listed(&app, &device, "MEDIUM").await;
    let fields = expected.as_object_mut().unwrap();
    fields.insert("userAgent".into(), json!(FIREFOX_LINUX));
    fields.insert("deviceFingerprint".into(), json!(fingerprint));
    fields.insert(
        "sessions".into(),
        json!([entry(&app, &session, "Firefox on Ubuntu").await]),
    );
    assert_answer(
        &answer,
        200,
        &json!({ "success": true, "device": expected }),
    );
    assert_eq!(expected["deviceType"], "DESKTOP");
    assert_eq!(expected["os"], "Ubuntu");
    // The same description again is the same device; the address the client claims is ignored.
    let mut again = device_info();
    again["deviceInfo"]["ipAddress"] = json!("192.0.2.1");
    again["deviceInfo"]["timezone"] = json!("Asia/Tokyo");
    let second = login_from(&app, &ann, Some(SAFARI_IPHONE), again).await;
    assert_eq!(device_of(&app, &second.str("tokenId")).await, device);
    assert_eq!(text(&app, "ip_address", &device).await, "127.0.0.1");
}

#[tokio::test]
async fn a_malformed_device_info_never_fails_a_login_and_the_user_agent_describes_the_device() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (plain, _) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let device = device_of(&app, &plain).await;

    for bad in [
        json!("a string"),
        json!([1, 2]),
        json!({ "os": 7, "browser": "Chrome" }),
        json!({ "os": "", "browser": " " }),
        json!({ "deviceType": "FRIDGE" }),
        json!(null),
    ] {
        let login = login_from(
            &app,
            &ann,
            Some(FIREFOX_LINUX),
            json!({ "deviceInfo": bad }),
        )
        .await;
        assert_eq!(
            device_of(&app, &login.str("tokenId")).await,
            device,
            "{bad}"
        );
    }
    assert_eq!(text(&app, "seen_level", &device).await, "LOW");
    // Overlong fields are cut, not refused.
    let long = json!({ "deviceInfo": { "os": "o".repeat(5000), "browser": "b", "userAgent": "u".repeat(5000) } });
    let login = login_from(&app, &ann, None, long).await;
    let long_device = device_of(&app, &login.str("tokenId")).await;
    assert_eq!(text(&app, "os", &long_device).await, "o".repeat(100));
    assert_eq!(
        text(&app, "user_agent", &long_device).await,
        "u".repeat(512)
    );
}

#[tokio::test]
async fn registering_records_the_device_of_its_session_too() {
    let app = spawn_app().await;
    let mut body = TestApp::registration_body("ann@example.com");
    body["deviceInfo"] = device_info()["deviceInfo"].clone();
    let request = app.client.post(app.url("/user/register")).json(&body);
    let answer = TestApp::send(request).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);

    let device = device_of(&app, &answer.str("tokenId")).await;

    assert_eq!(
        text(&app, "device_name", &device).await,
        "Firefox on Ubuntu"
    );
    assert_eq!(text(&app, "seen_level", &device).await, "MEDIUM");
}

#[tokio::test]
async fn trusting_a_device_makes_it_high_for_30_days() {
    let app = spawn_app().await;
    let s = scene(&app).await;
    let (firefox, token) = &s.firefox[0];
    let device = device_of(&app, firefox).await;
    let print = fingerprint(&app, token, &device).await;

    let before = now_ms();
    let answer = trust(&app, token, &print).await;
    let after = now_ms();

    let until = number(&app, "trusted_until", &device).await;
    assert!((before + 30 * DAY_MS..=after + 30 * DAY_MS).contains(&until));
    let expected = json!({
        "success": true,
        "message": "Device trusted successfully",
        "trustExpiresAt": rfc3339(until),
    });
    assert_answer(&answer, 200, &expected);
    let listed_now = details(&app, token, &device).await.body["device"].clone();
    assert_eq!(
        (
            &listed_now["isTrusted"],
            &listed_now["trustLevel"],
            &listed_now["trustExpiresAt"]
        ),
        (&json!(true), &json!("HIGH"), &json!(rfc3339(until)))
    );
    // Trusting ends no session; the other devices stay as they were.
    for (session, token) in s.firefox.iter().chain([&s.iphone, &s.bob_firefox]) {
        assert!(!revoked(&app, session).await);
        assert!(works(&app, token).await);
    }
    let phone = device_of(&app, &s.iphone.0).await;
    assert_eq!(listed(&app, &phone, "LOW").await["isTrusted"], false);

    // A trust that has passed reads as none.
    app.execute(
        "UPDATE devices SET trusted_until = 5 WHERE id = $1",
        &[&device],
    )
    .await;
    let expired = details(&app, token, &device).await.body["device"].clone();
    assert_eq!(
        (
            &expired["isTrusted"],
            &expired["trustLevel"],
            expired.get("trustExpiresAt")
        ),
        (&json!(false), &json!("LOW"), None)
    );
}

#[tokio::test]
async fn trusting_needs_a_fingerprint_of_one_of_the_callers_devices() {
    let app = spawn_app().await;
    let s = scene(&app).await;
    let (_, token) = &s.firefox[0];
    let bob_device = device_of(&app, &s.bob_firefox.0).await;
    let bob_print = fingerprint(&app, &s.bob_firefox.1, &bob_device).await;
    let before = app.snapshot().await;

    for body in [
        json!({}),
        json!({ "fingerprint": "  " }),
        json!({ "fingerprint": null }),
    ] {
        let answer = app.post("/devices/trust", Some(token), body).await;
        let message = "Missing required field: fingerprint";
        assert_text_error(&answer, 400, message, "MISSING_FIELD");
    }
    let answer = app
        .post("/devices/trust", Some(token), json!({ "fingerprint": 7 }))
        .await;
    let message = "Invalid value for field 'fingerprint'";
    assert_text_error(&answer, 400, message, "INVALID_FIELD");
    let raw = app
        .client
        .post(app.url("/devices/trust"))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body("fingerprint");
    let answer = TestApp::send(raw).await;
    let message = "Content-Type must be application/json";
    assert_text_error(&answer, 415, message, "UNSUPPORTED_MEDIA_TYPE");
    // Bob's fingerprint, or none at all, is not a device of Ann's.
    for print in [bob_print.as_str(), &"0".repeat(64)] {
        let answer = trust(&app, token, print).await;
        assert_text_error(&answer, 404, NOT_FOUND, "DEVICE_NOT_FOUND");
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn untrusting_a_device_ends_its_sessions_and_nothing_else() {
    let app = spawn_app().await;
    let s = scene(&app).await;
    let (_, token) = &s.iphone;
    let device = device_of(&app, &s.firefox[0].0).await;
    assert_eq!(
        trust(&app, token, &fingerprint(&app, token, &device).await)
            .await
            .status,
        StatusCode::OK
    );

    let answer = untrust(&app, token, &device).await;

    let message = "Device untrusted successfully";
    assert_answer(
        &answer,
        200,
        &json!({ "success": true, "message": message }),
    );
    assert_only_firefox_ended(&app, &s).await;
    // Still listed, no longer trusted, with no live session.
    let shown = details(&app, token, &device).await;
    assert_eq!(shown.status, StatusCode::OK);
    let shown = &shown.body["device"];
    assert_eq!(
        (
            &shown["isTrusted"],
            &shown["trustLevel"],
            &shown["sessions"]
        ),
        (&json!(false), &json!("LOW"), &json!([]))
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM devices WHERE id = $1 AND trusted_until IS NULL",
            &[&device]
        )
        .await,
        1
    );
}

#[tokio::test]
async fn removing_a_device_ends_its_sessions_and_forgets_it() {
    let app = spawn_app().await;
    let s = scene(&app).await;
    let (_, token) = &s.iphone;
    let device = device_of(&app, &s.firefox[0].0).await;

    let answer = remove(&app, token, &device).await;

    let message = "Device removed successfully";
    assert_answer(
        &answer,
        200,
        &json!({ "success": true, "message": message }),
    );
    assert_only_firefox_ended(&app, &s).await;
    let count = "SELECT COUNT(*) FROM devices WHERE id = $1";
    assert_eq!(app.count(count, &[&device]).await, 0);
    let again = details(&app, token, &device).await;
    assert_text_error(&again, 404, NOT_FOUND, "DEVICE_NOT_FOUND");
    let listed_ids: Vec<Value> = app.get("/devices", Some(token)).await.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert!(!listed_ids.contains(&json!(device)));
    // Bob's Firefox is his own device, untouched.
    let bob_device = device_of(&app, &s.bob_firefox.0).await;
    assert_eq!(app.count(count, &[&bob_device]).await, 1);
    // Signing in from it again records it anew.
    let (fresh, _) = session_from(&app, &s.ann, FIREFOX_LINUX).await;
    assert_ne!(device_of(&app, &fresh).await, device);
}

#[tokio::test]
async fn devices_of_other_users_are_indistinguishable_from_unknown_ones() {
    let app = spawn_app().await;
    let s = scene(&app).await;
    let ann_device = device_of(&app, &s.firefox[0].0).await;
    let (_, bob_token) = &s.bob_firefox;
    let bob_list = app.get("/devices", Some(bob_token)).await;
    let bob_ids: Vec<Value> = bob_list.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(bob_ids.len(), 2, "{}", bob_list.body);
    assert!(!bob_ids.contains(&json!(ann_device)));
    let before = app.snapshot().await;

    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [ann_device.as_str(), &unknown, "not-a-uuid"] {
        for answer in [
            details(&app, bob_token, id).await,
            untrust(&app, bob_token, id).await,
            remove(&app, bob_token, id).await,
        ] {
            assert_text_error(&answer, 404, NOT_FOUND, "DEVICE_NOT_FOUND");
        }
    }
    app.assert_unchanged(&before).await;
    for (session, token) in &s.firefox {
        assert!(!revoked(&app, session).await);
        assert!(works(&app, token).await);
    }
}

#[tokio::test]
async fn an_unverified_caller_may_list_devices_but_not_change_them() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let device = device_of(&app, &ann.token_id).await;
    let print = fingerprint(&app, &ann.access_token, &device).await;
    let before = app.snapshot().await;

    let message = "User not found or account is not validated";
    for answer in [
        trust(&app, &ann.access_token, &print).await,
        untrust(&app, &ann.access_token, &device).await,
        remove(&app, &ann.access_token, &device).await,
    ] {
        assert_text_error(&answer, 400, message, "USER_NOT_VALIDATED");
    }
    app.assert_unchanged(&before).await;
    assert_eq!(
        app.get("/devices", Some(&ann.access_token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_device_route_refuses_a_missing_or_dead_token_with_401() {
    let app = spawn_app().await;
    let s = scene(&app).await;
    let device = device_of(&app, &s.firefox[0].0).await;
    let dead = &s.firefox[1].1;
    assert_eq!(
        app.request(
            Method::POST,
            &format!("/sessions/{}/revoke", s.firefox[1].0),
            Some(&s.iphone.1),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let routes = [
        (Method::GET, "/devices".to_owned(), None),
        (Method::GET, format!("/devices/{device}"), None),
        (
            Method::POST,
            "/devices/trust".to_owned(),
            Some(json!({ "fingerprint": "x" })),
        ),
        (Method::POST, format!("/devices/{device}/untrust"), None),
        (Method::DELETE, format!("/devices/{device}"), None),
    ];
    let before = app.snapshot().await;

    for (method, path, body) in routes {
        for token in [None, Some("not-a-jwt"), Some(dead.as_str())] {
            let answer = app
                .request(method.clone(), &path, token, body.clone())
                .await;
            assert_text_error(&answer, 401, "Unauthorized", "UNAUTHORIZED");
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn account_clean_up_and_session_clean_up_leave_devices_consistent() {
    use std::time::Duration;
    use workspaces::store::{connect, CleanupPolicy, StoreOptions};

    let app = spawn_app().await;
    let s = scene(&app).await;
    let device = device_of(&app, &s.firefox[0].0).await;
    assert_eq!(
        remove(&app, &s.iphone.1, &device).await.status,
        StatusCode::OK
    );
    // An abandoned account (never verified, long ago) goes with its devices.
    let dave = app.register("dave@example.com").await;
    let long_ago = now_ms() - 40 * DAY_MS;
    app.execute(
        &format!("UPDATE users SET created_at = {long_ago} WHERE id = $1"),
        &[&dave.user_id],
    )
    .await;
    app.execute(
        &format!("UPDATE email_verifications SET expires_at = {long_ago} WHERE user_id = $1"),
        &[&dave.user_id],
    )
    .await;
    // The removed device's sessions ended long ago.
    app.execute(
        &format!("UPDATE sessions SET revoked_at = {long_ago}, expires_at = {long_ago} WHERE user_id = $1 AND device_id IS NULL"),
        &[&s.ann.user_id],
    )
    .await;
    app.execute(
        &format!("UPDATE refresh_tokens SET expires_at = {long_ago} WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1 AND device_id IS NULL)"),
        &[&s.ann.user_id],
    )
    .await;

    let store = connect(&app.database_url, &StoreOptions::default())
        .await
        .unwrap();
    let policy = CleanupPolicy {
        grace_ms: 7 * DAY_MS,
        unverified_account_ttl_ms: Some(30 * DAY_MS),
        batch: 10,
        pause: Duration::ZERO,
    };
    let report = store.clean_up(&policy, now_ms()).await.unwrap();

    assert_eq!((report.sessions, report.accounts), (2, 1), "{report:?}");
    let devices_of = "SELECT COUNT(*) FROM devices WHERE user_id = $1";
    assert_eq!(app.count(devices_of, &[&dave.user_id]).await, 0);
    assert_eq!(app.count(devices_of, &[&s.ann.user_id]).await, 2);
    for (session, token) in [&s.iphone, &s.bob_firefox] {
        assert!(!revoked(&app, session).await);
        assert!(works(&app, token).await);
    }
}

#[tokio::test]
async fn a_user_with_a_hundred_sessions_gets_them_all_from_each_listing() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (first, token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let device = device_of(&app, &first).await;
    // 99 more sessions on the same device, a millisecond apart (copies of the first row).
    let copy = "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
                device_id, ip_address) SELECT $1, user_id, created_at - $3, last_used_at, \
                expires_at, device_id, ip_address FROM sessions WHERE id = $2";
    for i in 1..100 {
        let id = uuid::Uuid::now_v7().to_string();
        let sql = copy.replace("$3", &i.to_string());
        assert_eq!(app.execute(&sql, &[&id, &first]).await, 1);
    }

    let sessions = app.get("/sessions", Some(&token)).await;
    let shown = details(&app, &token, &device).await;
    let devices = app.get("/devices", Some(&token)).await;

    assert_eq!(sessions.status, StatusCode::OK);
    // The 100 on Firefox and the one the verified account logged in with.
    assert_eq!(sessions.body["sessions"].as_array().unwrap().len(), 101);
    let on_device = shown.body["device"]["sessions"].as_array().unwrap();
    assert_eq!(on_device.len(), 100);
    assert_eq!(on_device[0], entry(&app, &first, "Firefox on Linux").await);
    let starts: Vec<i64> = on_device
        .iter()
        .map(|s| workspaces::clock::parse_rfc3339(s["startedAt"].as_str().unwrap()).unwrap())
        .collect();
    let mut newest_first = starts.clone();
    newest_first.sort_by_key(|start| std::cmp::Reverse(*start));
    assert_eq!(starts, newest_first);
    assert_eq!(starts[0] - starts[99], 99);
    assert_eq!(devices.body["devices"].as_array().unwrap().len(), 2);
}
