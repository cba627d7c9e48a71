//! `/sessions` (contract section 9): where the caller is signed in, and ending it. A session here
//! is a login's session, the one `GET /token` lists; revocation acts at once.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use workspaces::config::RateLimitConfig;

use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::assert_answer;
use crate::support::client::Answer;
use crate::support::clock::{now_ms, rfc3339};
use crate::support::sessions::works;
use crate::support::signed_in::{
    assert_text_error, entry, login_from, revoked, session_from, sorted, FIREFOX_LINUX,
    SAFARI_IPHONE,
};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn revoke(app: &TestApp, token: &str, session_id: &str) -> Answer {
    let path = format!("/sessions/{session_id}/revoke");
    app.request(Method::POST, &path, Some(token), None).await
}

async fn heartbeat(app: &TestApp, token: &str, session_id: &str) -> Answer {
    let path = format!("/sessions/{session_id}/heartbeat");
    app.request(Method::POST, &path, Some(token), None).await
}

#[tokio::test]
async fn listing_sessions_shows_each_live_session_with_its_device_and_address() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (firefox, token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let (iphone, _) = session_from(&app, &ann, SAFARI_IPHONE).await;
    let no_agent = app.log_in(&ann).await;

    let answer = app.get("/sessions", Some(&token)).await;

    let expected = json!({ "success": true, "sessions": [
        entry(&app, &firefox, "Firefox on Linux").await,
        entry(&app, &iphone, "Safari on iPhone").await,
        entry(&app, &no_agent.token_id, "Unknown on Unknown").await,
        entry(&app, &ann.token_id, "Unknown on Unknown").await,
    ]});
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        sorted(&answer.body, "sessions"),
        sorted(&expected, "sessions")
    );
    // Newest first; the same sessions, by the same ids, as GET /token.
    let ids: Vec<&str> = answer.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [no_agent.token_id.as_str(), &iphone, &firefox, &ann.token_id]
    );
    let tokens = app.get("/token", Some(&token)).await;
    let mut token_ids: Vec<&str> = tokens.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    token_ids.sort_unstable();
    let mut listed = ids.clone();
    listed.sort_unstable();
    assert_eq!(token_ids, listed);
}

#[tokio::test]
async fn the_session_address_is_the_forwarded_one_only_behind_a_trusted_proxy() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            trust_forwarded_for: true,
            ..RateLimitConfig::OFF
        }
    })
    .await;
    let ann = app.register_verified("ann@example.com").await;
    let request = app
        .client
        .post(app.url("/user/login"))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
        .json(&json!({ "email": ann.email, "password": crate::support::accounts::PASSWORD }));
    let login = TestApp::send(request).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);

    let answer = app.get("/sessions", Some(&login.str("accessToken"))).await;

    let session = answer.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == login.body["tokenId"])
        .cloned()
        .unwrap();
    assert_eq!(session["ipAddress"], "203.0.113.7");

    // Without the trust, the header is the client's word and proves nothing.
    let direct = spawn_app().await;
    let bob = direct.register_verified("bob@example.com").await;
    let request = direct
        .client
        .post(direct.url("/user/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({ "email": bob.email, "password": crate::support::accounts::PASSWORD }));
    let login = TestApp::send(request).await;
    let answer = direct
        .get("/sessions", Some(&login.str("accessToken")))
        .await;
    for session in answer.body["sessions"].as_array().unwrap() {
        assert_eq!(session["ipAddress"], "127.0.0.1");
    }
}

#[tokio::test]
async fn sessions_of_two_users_never_cross() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let bob = app.register_verified("bob@example.com").await;
    let (ann_session, ann_token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let (bob_session, bob_token) = session_from(&app, &bob, FIREFOX_LINUX).await;

    let ann_list = app.get("/sessions", Some(&ann_token)).await;
    let bob_list = app.get("/sessions", Some(&bob_token)).await;

    let ids = |answer: &Answer| -> Vec<String> {
        let sessions = answer.body["sessions"].as_array().unwrap();
        sessions
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&ann_list), [ann_session.clone(), ann.token_id.clone()]);
    assert_eq!(ids(&bob_list), [bob_session.clone(), bob.token_id.clone()]);

    // Another user's session is "not found", exactly as an unknown or malformed id.
    let before = app.snapshot().await;
    for id in [
        bob_session.as_str(),
        &uuid::Uuid::now_v7().to_string(),
        "nope",
    ] {
        let answer = revoke(&app, &ann_token, id).await;
        assert_text_error(&answer, 404, "Session not found", "SESSION_NOT_FOUND");
        let answer = heartbeat(&app, &ann_token, id).await;
        let message = "Session not found or expired";
        assert_text_error(&answer, 404, message, "SESSION_NOT_FOUND");
    }
    app.assert_unchanged(&before).await;
    assert!(works(&app, &bob_token).await);
}

#[tokio::test]
async fn revoking_a_session_ends_it_at_once_and_nothing_else() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let bob = app.register_verified("bob@example.com").await;
    let (kept, kept_token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let lost = login_from(&app, &ann, Some(SAFARI_IPHONE), json!({})).await;
    let (lost_id, lost_token) = (lost.str("tokenId"), lost.str("accessToken"));
    let bob_session = app.log_in(&bob).await;

    let answer = revoke(&app, &kept_token, &lost_id).await;

    assert_answer(
        &answer,
        200,
        &json!({ "success": true, "message": "Session revoked successfully" }),
    );
    assert!(revoked(&app, &lost_id).await);
    assert!(!works(&app, &lost_token).await);
    let refresh = json!({ "refreshToken": lost.str("refreshToken") });
    let refused = app.post("/user/refresh", None, refresh).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    for (session, token) in [
        (&kept, &kept_token),
        (&bob_session.token_id, &bob_session.access_token),
    ] {
        assert!(!revoked(&app, session).await);
        assert!(works(&app, token).await);
    }
    assert!(!revoked(&app, &ann.token_id).await);
    // It is gone from both views; revoking it again is "not found".
    let listed = app.get("/sessions", Some(&kept_token)).await;
    let ids: Vec<&Value> = listed.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert!(!ids.contains(&&json!(lost_id)));
    let again = revoke(&app, &kept_token, &lost_id).await;
    assert_text_error(&again, 404, "Session not found", "SESSION_NOT_FOUND");
    let by_token = app
        .delete(&format!("/token/{lost_id}"), Some(&kept_token))
        .await;
    assert_eq!(by_token.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_session_revoked_through_delete_token_is_gone_from_sessions_too() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (other, _) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let path = format!("/token/{other}");
    assert_eq!(
        app.delete(&path, Some(&ann.access_token)).await.status,
        StatusCode::OK
    );

    let answer = app.get("/sessions", Some(&ann.access_token)).await;

    let expected = json!({ "success": true, "sessions": [
        entry(&app, &ann.token_id, "Unknown on Unknown").await,
    ]});
    assert_answer(&answer, 200, &expected);
}

#[tokio::test]
async fn revoke_all_ends_every_session_of_the_caller_the_current_one_included() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let bob = app.register_verified("bob@example.com").await;
    let (_, firefox) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let (_, iphone) = session_from(&app, &ann, SAFARI_IPHONE).await;
    let bob_session = app.log_in(&bob).await;
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&ann.user_id]).await, 3);

    let answer = app
        .request(Method::POST, "/sessions/revoke-all", Some(&firefox), None)
        .await;

    let message = "All sessions revoked successfully";
    assert_answer(
        &answer,
        200,
        &json!({ "success": true, "message": message }),
    );
    assert_eq!(app.count(sql, &[&ann.user_id]).await, 0);
    for token in [&firefox, &iphone, &ann.access_token] {
        assert!(!works(&app, token).await);
    }
    assert_eq!(app.count(sql, &[&bob.user_id]).await, 2);
    assert!(works(&app, &bob_session.access_token).await);
    assert!(works(&app, &bob.access_token).await);
}

#[tokio::test]
async fn a_heartbeat_records_activity_and_slides_the_expiry_up_to_the_absolute_lifetime() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (session, token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    // A session opened 10 days ago, last active then.
    let sql = format!(
        "UPDATE sessions SET created_at = created_at - {d}, last_used_at = last_used_at - {d}, \
         expires_at = expires_at - {d} WHERE id = $1",
        d = 10 * DAY_MS
    );
    assert_eq!(app.execute(&sql, &[&session]).await, 1);

    let before = now_ms();
    let answer = heartbeat(&app, &token, &session).await;
    let after = now_ms();

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let new_expiry = answer.body["newExpiry"].as_i64().unwrap();
    assert_answer(
        &answer,
        200,
        &json!({ "success": true, "message": "Session updated successfully", "newExpiry": new_expiry }),
    );
    assert!((before + 30 * DAY_MS..=after + 30 * DAY_MS).contains(&new_expiry));
    let column = |name: &str| format!("SELECT {name} FROM sessions WHERE id = $1");
    assert_eq!(
        app.count(&column("expires_at"), &[&session]).await,
        new_expiry
    );
    let last = app.count(&column("last_used_at"), &[&session]).await;
    assert!((before..=after).contains(&last));
    // Its refresh token follows, so the session can refresh until its new expiry.
    let sql = "SELECT expires_at FROM refresh_tokens WHERE session_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&session]).await, new_expiry);
    let listed = app.get("/sessions", Some(&token)).await;
    let entry = listed.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(session))
        .cloned()
        .unwrap();
    assert_eq!(entry["lastActivity"], json!(rfc3339(last)));
    assert_eq!(entry["expiresAt"], json!(new_expiry));

    // Near the end of its 90 days, it slides no further than them.
    let created = app.count(&column("created_at"), &[&session]).await;
    let sql = format!(
        "UPDATE sessions SET created_at = created_at - {} WHERE id = $1",
        79 * DAY_MS
    );
    app.execute(&sql, &[&session]).await;
    let capped = heartbeat(&app, &token, &session).await;
    assert_eq!(
        capped.body["newExpiry"],
        json!(created - 79 * DAY_MS + 90 * DAY_MS)
    );
}

#[tokio::test]
async fn a_heartbeat_of_an_ended_session_is_not_found_or_expired() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (expired, _) = session_from(&app, &ann, FIREFOX_LINUX).await;
    let (revoked_id, _) = session_from(&app, &ann, FIREFOX_LINUX).await;
    app.execute(
        "UPDATE sessions SET expires_at = 1 WHERE id = $1",
        &[&expired],
    )
    .await;
    assert_eq!(
        revoke(&app, &ann.access_token, &revoked_id).await.status,
        StatusCode::OK
    );
    let before = app.snapshot().await;

    for id in [&expired, &revoked_id] {
        let answer = heartbeat(&app, &ann.access_token, id).await;
        let message = "Session not found or expired";
        assert_text_error(&answer, 404, message, "SESSION_NOT_FOUND");
    }
    app.assert_unchanged(&before).await;
    assert_eq!(
        app.count("SELECT expires_at FROM sessions WHERE id = $1", &[&expired])
            .await,
        1
    );
}

#[tokio::test]
async fn an_unverified_caller_may_list_and_heartbeat_but_not_revoke() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let before = app.snapshot().await;

    for path in [
        format!("/sessions/{}/revoke", ann.token_id),
        "/sessions/revoke-all".to_owned(),
    ] {
        let answer = app
            .request(Method::POST, &path, Some(&ann.access_token), None)
            .await;
        let message = "User not found or account is not validated";
        assert_text_error(&answer, 400, message, "USER_NOT_VALIDATED");
    }
    app.assert_unchanged(&before).await;
    let listed = app.get("/sessions", Some(&ann.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let beat = heartbeat(&app, &ann.access_token, &ann.token_id).await;
    assert_eq!(beat.status, StatusCode::OK, "{}", beat.body);
}

#[tokio::test]
async fn every_sessions_route_refuses_a_missing_or_dead_token_with_401() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let (dead, dead_token) = session_from(&app, &ann, FIREFOX_LINUX).await;
    assert_eq!(
        revoke(&app, &ann.access_token, &dead).await.status,
        StatusCode::OK
    );
    let routes = [
        (Method::GET, "/sessions".to_owned()),
        (Method::POST, format!("/sessions/{}/revoke", ann.token_id)),
        (Method::POST, "/sessions/revoke-all".to_owned()),
        (
            Method::POST,
            format!("/sessions/{}/heartbeat", ann.token_id),
        ),
    ];
    let before = app.snapshot().await;

    for (method, path) in routes {
        for token in [None, Some("not-a-jwt"), Some(dead_token.as_str())] {
            let answer = app.request(method.clone(), &path, token, None).await;
            assert_text_error(&answer, 401, "Unauthorized", "UNAUTHORIZED");
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
    }
    app.assert_unchanged(&before).await;
    assert!(works(&app, &ann.access_token).await);
}
