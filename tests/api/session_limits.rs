//! The limits of contract section 8 on what logins leave behind: a pending session ends 15
//! minutes after its login unless it passes MFA, a user has at most 10 pending sessions (a new
//! one ends the oldest), and a user keeps at most 100 devices (the least recently seen go).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::assert_unauthorized;
use crate::support::clock::now_ms;
use crate::support::sessions::works;
use crate::support::signed_in::{assert_text_error, login_from, revoked};

const MINUTE_MS: i64 = 60 * 1000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

async fn live_pending(app: &TestApp, user_id: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND mfa_pending \
               AND revoked_at IS NULL";
    app.count(sql, &[user_id]).await
}

async fn column(app: &TestApp, name: &str, session_id: &str) -> i64 {
    let sql = format!("SELECT {name} FROM sessions WHERE id = $1");
    app.count(&sql, &[session_id]).await
}

/// Moves session `session_id`'s login `ms` into the past, as if that much time had passed.
async fn age_session(app: &TestApp, session_id: &str, ms: i64) {
    let sql = format!(
        "UPDATE sessions SET created_at = created_at - {ms}, last_used_at = last_used_at - {ms}, \
         expires_at = expires_at - {ms} WHERE id = $1"
    );
    assert_eq!(app.execute(&sql, &[session_id]).await, 1);
}

#[tokio::test]
async fn twelve_pending_logins_leave_the_ten_newest_and_end_the_two_oldest() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;

    let mut pending: Vec<Account> = Vec::new();
    for _ in 0..10 {
        pending.push(app.log_in_pending(&owner).await);
    }
    // Ten are allowed: none has ended yet.
    assert_eq!(live_pending(&app, &owner.user_id).await, 10);
    for session in &pending {
        assert!(!revoked(&app, &session.token_id).await);
    }
    for _ in 0..2 {
        pending.push(app.log_in_pending(&owner).await);
    }

    assert_eq!(live_pending(&app, &owner.user_id).await, 10);
    for (i, session) in pending.iter().enumerate() {
        let ended = i < 2;
        assert_eq!(revoked(&app, &session.token_id).await, ended, "login {i}");
        let profile = app.get("/user/profile", Some(&session.access_token)).await;
        if ended {
            assert_unauthorized(&profile);
        } else {
            assert_eq!(
                profile.status,
                StatusCode::OK,
                "login {i}: {}",
                profile.body
            );
        }
    }
    // The verified session of the enrolment is no pending session: untouched.
    assert!(works(&app, &owner.access_token).await);
    assert!(!revoked(&app, &owner.token_id).await);
}

#[tokio::test]
async fn a_pending_session_not_verified_within_fifteen_minutes_ends() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;

    let created_at = column(&app, "created_at", &pending.token_id).await;
    let expires_at = column(&app, "expires_at", &pending.token_id).await;
    assert_eq!(expires_at, created_at + 15 * MINUTE_MS);
    // Its refresh token keeps a session's full expiry (a pending session cannot refresh).
    let sql = "SELECT expires_at FROM refresh_tokens WHERE session_id = $1";
    let refresh_expiry = app.count(sql, &[&pending.token_id]).await;
    assert_eq!(refresh_expiry, created_at + 30 * DAY_MS);

    // 14 minutes on, it still answers; at 15 minutes it has ended, a right code comes too late.
    age_session(&app, &pending.token_id, 14 * MINUTE_MS).await;
    assert!(works(&app, &pending.access_token).await);
    age_session(&app, &pending.token_id, MINUTE_MS).await;
    let profile = app.get("/user/profile", Some(&pending.access_token)).await;
    assert_unauthorized(&profile);
    let code = enrolled.fresh_code(enrolled.enrolled_step);
    let late = app.verify_login(&pending, &code).await;
    assert_eq!(late.status, StatusCode::UNAUTHORIZED, "{}", late.body);
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND mfa_pending";
    assert_eq!(app.count(sql, &[&pending.token_id]).await, 1);
}

#[tokio::test]
async fn verifying_a_pending_session_gives_it_a_verified_sessions_expiry() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    // Verified 10 minutes after its login.
    age_session(&app, &pending.token_id, 10 * MINUTE_MS).await;

    let before = now_ms();
    let code = enrolled.fresh_code(enrolled.enrolled_step);
    let verified = app.verify_login(&pending, &code).await;
    let after = now_ms();
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);

    // 30 days from the verification, as a refresh would slide it.
    let expires_at = column(&app, "expires_at", &pending.token_id).await;
    assert!(
        (before + 30 * DAY_MS..=after + 30 * DAY_MS).contains(&expires_at),
        "{expires_at}"
    );
    // Well past the pending session's 15 minutes, it still works and refreshes.
    age_session(&app, &pending.token_id, 20 * MINUTE_MS).await;
    let token = verified.str("accessToken");
    let listed = app.get("/workspace", Some(&token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let refreshed = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": verified.str("refreshToken") }),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
}

#[tokio::test]
async fn enrolling_from_a_pending_session_gives_it_a_verified_sessions_expiry() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enforce_mfa(&owner).await;
    // Enforced, without a method: the login is pending, and enrols from there.
    let pending = app.log_in_pending(&owner).await;
    let created_at = column(&app, "created_at", &pending.token_id).await;
    let expires_at = column(&app, "expires_at", &pending.token_id).await;
    assert_eq!(expires_at, created_at + 15 * MINUTE_MS);

    let before = now_ms();
    app.enrol_totp(&pending).await;
    let after = now_ms();

    let expires_at = column(&app, "expires_at", &pending.token_id).await;
    assert!(
        (before + 30 * DAY_MS..=after + 30 * DAY_MS).contains(&expires_at),
        "{expires_at}"
    );
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND NOT mfa_pending AND mfa_verified";
    assert_eq!(app.count(sql, &[&pending.token_id]).await, 1);
    // Past the pending session's 15 minutes, it still works and refreshes with the login's
    // refresh token.
    age_session(&app, &pending.token_id, 20 * MINUTE_MS).await;
    let listed = app.get("/workspace", Some(&pending.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let refreshed = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": pending.refresh_token }),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
}

#[tokio::test]
async fn a_heartbeat_does_not_keep_a_pending_session_alive() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    let expires_at = column(&app, "expires_at", &pending.token_id).await;

    // The owner's verified session may heartbeat its own sessions, but not this one.
    let path = format!("/sessions/{}/heartbeat", pending.token_id);
    let answer = app
        .request(Method::POST, &path, Some(&owner.access_token), None)
        .await;
    assert_text_error(
        &answer,
        404,
        "Session not found or expired",
        "SESSION_NOT_FOUND",
    );
    assert_eq!(
        column(&app, "expires_at", &pending.token_id).await,
        expires_at
    );
    let path = format!("/sessions/{}/heartbeat", owner.token_id);
    let own = app
        .request(Method::POST, &path, Some(&owner.access_token), None)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}

/// `deviceInfo` of a device of its own.
fn device_info(n: usize) -> serde_json::Value {
    json!({ "deviceInfo": {
        "deviceType": "DESKTOP", "os": format!("Test OS {n}"), "browser": "Firefox",
    }})
}

async fn fingerprints(app: &TestApp, user_id: &str) -> Vec<String> {
    let sql = "SELECT fingerprint FROM devices WHERE user_id = $1 ORDER BY fingerprint";
    app.strings(sql, &[user_id]).await
}

#[tokio::test]
async fn a_user_keeps_the_hundred_most_recently_seen_devices() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    // The device of the registration and of the login since: the least recently seen of all.
    let first = fingerprints(&app, &ann.user_id).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let sql = "UPDATE devices SET last_seen = 1000 WHERE user_id = $1";
    assert_eq!(app.execute(sql, &[&ann.user_id]).await, 1);
    // 99 more, `seed-0` seen a minute ago ... `seed-98` 99 minutes ago (written directly: 99
    // logins would spend most of the test hashing passwords).
    let now = now_ms();
    let id = if app.is_sqlite() {
        "randomblob(16)"
    } else {
        "gen_random_uuid()"
    };
    let sql = format!(
        "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < 98) \
         INSERT INTO devices (id, user_id, fingerprint, device_name, device_type, os, browser, \
         user_agent, ip_address, seen_level, created_at, last_seen) \
         SELECT {id}, $1, 'seed-' || n, 'Firefox on Linux', 'DESKTOP', 'Linux', 'Firefox', '', \
         NULL, 'MEDIUM', {now} - (n + 1) * {MINUTE_MS}, {now} - (n + 1) * {MINUTE_MS} FROM seq"
    );
    assert_eq!(app.execute(&sql, &[&ann.user_id]).await, 99);

    // Three logins from new devices: each drops the least recently seen.
    let mut logins = Vec::new();
    for n in 0..3 {
        let login = login_from(&app, &ann, None, device_info(n)).await;
        logins.push(login.str("tokenId"));
        let sql = "SELECT COUNT(*) FROM devices WHERE user_id = $1";
        assert_eq!(app.count(sql, &[&ann.user_id]).await, 100, "login {n}");
    }
    let kept = fingerprints(&app, &ann.user_id).await;
    for gone in [first[0].as_str(), "seed-98", "seed-97"] {
        assert!(!kept.iter().any(|f| f == gone), "{gone} is still there");
    }
    for seeded in (0..=96).map(|n| format!("seed-{n}")) {
        assert!(kept.contains(&seeded), "{seeded} was dropped");
    }
    for session in &logins {
        let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND device_id IS NOT NULL";
        assert_eq!(app.count(sql, &[session]).await, 1);
    }
    // The session on the dropped device lives on, pointing at no device.
    assert!(works(&app, &ann.access_token).await);
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND device_id IS NULL \
               AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&ann.token_id]).await, 1);

    // A login from a device already kept drops nothing.
    login_from(&app, &ann, None, device_info(0)).await;
    assert_eq!(fingerprints(&app, &ann.user_id).await, kept);
}
