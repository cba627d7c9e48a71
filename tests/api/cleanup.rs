//! What has ended goes (issue 15, item 14): a session's absolute lifetime, and the clean-up of
//! expired sessions, tokens and abandoned accounts, driven here one pass at a time through
//! `Store::clean_up` on a store of its own (as a second instance on the same database would be),
//! and once through the background task.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use workspaces::config::CleanupConfig;
use workspaces::store::{connect, CleanupPolicy, CleanupReport, StoreOptions};

use crate::support::accounts::{Account, Verification::Unverified};
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_error};
use crate::support::client::Answer;
use crate::support::clock::now_ms;
use crate::support::sessions::{claims_of, profile};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const LIFETIME_MS: i64 = 90 * DAY_MS;
const INVALID_REFRESH: &str = "Invalid or expired refresh token";

async fn refresh(app: &TestApp, token: &str) -> Answer {
    app.post("/user/refresh", None, json!({ "refreshToken": token }))
        .await
}

/// Moves the login of `account`'s session `age_ms` into the past.
async fn age_session(app: &TestApp, account: &Account, age_ms: i64) {
    let sql = format!("UPDATE sessions SET created_at = created_at - {age_ms} WHERE id = $1");
    assert_eq!(app.execute(&sql, &[&account.token_id]).await, 1);
}

#[tokio::test]
async fn a_session_older_than_its_lifetime_cannot_refresh() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    age_session(&app, &account, LIFETIME_MS + 60_000).await;

    let answer = refresh(&app, &account.refresh_token).await;

    assert_error(&answer, 401, INVALID_REFRESH, "INVALID_REFRESH_TOKEN");
    let sql = "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.token_id]).await, 1, "not spent");
}

#[tokio::test]
async fn a_refresh_slides_a_session_to_its_lifetime_and_no_further() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    age_session(&app, &account, LIFETIME_MS - DAY_MS).await;

    let answer = refresh(&app, &account.refresh_token).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let sql = "SELECT expires_at - created_at FROM sessions WHERE id = $1";
    assert_eq!(app.count(sql, &[&account.token_id]).await, LIFETIME_MS);
    let sql = "SELECT s.expires_at - t.expires_at FROM sessions s \
               JOIN refresh_tokens t ON t.session_id = s.id \
               WHERE s.id = $1 AND t.used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.token_id]).await, 0);
    let listed = app.get("/token", Some(&answer.str("accessToken"))).await;
    let sql = "SELECT created_at FROM sessions WHERE id = $1";
    let created_at = app.count(sql, &[&account.token_id]).await;
    assert_eq!(
        listed.body["tokens"][0]["expiresAt"],
        json!(created_at + LIFETIME_MS)
    );
}

#[tokio::test]
async fn the_session_lifetime_is_configurable() {
    let app = spawn_app_with(|config| config.session_lifetime = Duration::from_secs(3600)).await;
    let account = app.register_verified("ann@example.com").await;

    let sql = "SELECT expires_at - created_at FROM sessions WHERE id = $1";
    assert_eq!(app.count(sql, &[&account.token_id]).await, 3600 * 1000);
    let sql = "SELECT expires_at - created_at FROM refresh_tokens WHERE session_id = $1";
    assert_eq!(app.count(sql, &[&account.token_id]).await, 3600 * 1000);
}

/// Sets `column` of the rows of `table` matching `filter` ($1 bound to `id`) to `value`.
async fn set(app: &TestApp, table: &str, column: &str, value: i64, filter: &str, id: &str) {
    let sql = format!("UPDATE {table} SET {column} = {value} WHERE {filter}");
    assert!(app.execute(&sql, &[id]).await > 0, "{sql}");
}

/// Rows per table, in this order.
const TABLES: [&str; 7] = [
    "sessions",
    "refresh_tokens",
    "email_verifications",
    "password_resets",
    "users",
    "organizations",
    "system_events",
];

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(
            app.count(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await,
        );
    }
    counts
}

async fn exists(app: &TestApp, table: &str, column: &str, id: &str) -> bool {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    app.count(&sql, &[id]).await > 0
}

async fn request_reset(app: &TestApp, email: &str) {
    let before = app.mailer.to(email).len();
    let answer = app
        .post(
            "/user/request-reset-password",
            None,
            json!({ "email": email }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let to = email.to_owned();
    app.mailer
        .wait_for("a reset e-mail", |sent| {
            sent.iter().filter(|m| m.to == to).count() > before
        })
        .await;
}

#[tokio::test]
async fn a_clean_up_pass_deletes_exactly_what_ended_and_nothing_live() {
    let app = spawn_app().await;
    let now = now_ms();
    let long_ago = now - 8 * DAY_MS; // past the 7-day grace
    let recently = now - DAY_MS; // within it

    // Ann, verified long ago (her registration's session ended when she verified: recently).
    let ann = app.register_verified("ann@example.com").await;
    set(
        &app,
        "users",
        "created_at",
        now - 31 * DAY_MS,
        "id = $1",
        &ann.user_id,
    )
    .await;
    // A live session that refreshed: its rotated token expired long ago.
    let refreshed = refresh(&app, &ann.refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let live_filter = "session_id = $1 AND used_at IS NOT NULL";
    set(
        &app,
        "refresh_tokens",
        "expires_at",
        long_ago,
        live_filter,
        &ann.token_id,
    )
    .await;
    // Logged out long ago.
    let logged_out = app.log_in(&ann).await;
    let logout = json!({ "refreshToken": logged_out.refresh_token });
    assert_eq!(
        app.post("/user/logout", None, logout).await.status,
        StatusCode::OK
    );
    set(
        &app,
        "sessions",
        "revoked_at",
        long_ago,
        "id = $1",
        &logged_out.token_id,
    )
    .await;
    // Expired long ago, and recently.
    let expired = app.log_in(&ann).await;
    let expired_recently = app.log_in(&ann).await;
    for (session, at) in [(&expired, long_ago), (&expired_recently, recently)] {
        set(
            &app,
            "sessions",
            "expires_at",
            at,
            "id = $1",
            &session.token_id,
        )
        .await;
        set(
            &app,
            "refresh_tokens",
            "expires_at",
            at,
            "session_id = $1",
            &session.token_id,
        )
        .await;
    }
    // Carol's used verification expired long ago; her reset token too; Ann's reset is live.
    let carol = app.register_verified("carol@example.com").await;
    set(
        &app,
        "email_verifications",
        "expires_at",
        long_ago,
        "user_id = $1",
        &carol.user_id,
    )
    .await;
    request_reset(&app, "carol@example.com").await;
    set(
        &app,
        "password_resets",
        "expires_at",
        long_ago,
        "user_id = $1",
        &carol.user_id,
    )
    .await;
    request_reset(&app, "ann@example.com").await;
    // Bob registered recently and has not verified: his expired verification stays (a resend
    // names it).
    let bob = app.register("bob@example.com").await;
    set(
        &app,
        "email_verifications",
        "expires_at",
        long_ago,
        "user_id = $1",
        &bob.user_id,
    )
    .await;
    // Dave registered 31 days ago and never verified: abandoned. Erin too, but she asked for a
    // new verification e-mail that is still live. Mia, invited by Ann 31 days ago, never
    // verified either: invitations are Ann's to withdraw.
    let dave = app.register("dave@example.com").await;
    let erin = app.register("erin@example.com").await;
    let mia = app.member(&ann, "mia@example.com", 0, Unverified).await;
    for user in [&dave, &erin, &mia] {
        set(
            &app,
            "users",
            "created_at",
            now - 31 * DAY_MS,
            "id = $1",
            &user.user_id,
        )
        .await;
    }
    for user in [&dave, &mia] {
        let filter = "user_id = $1";
        set(
            &app,
            "email_verifications",
            "expires_at",
            now - 30 * DAY_MS,
            filter,
            &user.user_id,
        )
        .await;
    }
    let before = counts(&app).await;

    let store = connect(&app.database_url, &StoreOptions::default())
        .await
        .unwrap();
    let policy = CleanupPolicy {
        grace_ms: 7 * DAY_MS,
        unverified_account_ttl_ms: Some(30 * DAY_MS),
        batch: 2,
        pause: Duration::ZERO,
    };
    let report = store.clean_up(&policy, now_ms()).await.unwrap();

    let expected = CleanupReport {
        refresh_tokens: 3,
        sessions: 2,
        verifications: 1,
        password_resets: 1,
        mfa_link_tokens: 0,
        mfa_email_codes: 0,
        passkey_challenges: 0,
        mfa_failures: 0,
        oidc_flows: 0,
        accounts: 1,
        webhook_attempts: 0,
        webhook_deliveries: 0,
    };
    assert_eq!(report, expected);
    // Dave's account took his session, refresh token, verification, user and organization, and
    // its two events (org and user created), which named what no longer exists.
    let gone = [3, 4, 2, 1, 1, 1, 2];
    let after: Vec<i64> = before.iter().zip(gone).map(|(b, g)| b - g).collect();
    assert_eq!(counts(&app).await, after, "{TABLES:?}");
    for session in [&logged_out, &expired] {
        assert!(!exists(&app, "sessions", "id", &session.token_id).await);
    }
    for session in [&ann, &expired_recently] {
        assert!(exists(&app, "sessions", "id", &session.token_id).await);
    }
    for user in [&bob, &erin, &mia] {
        assert!(exists(&app, "email_verifications", "user_id", &user.user_id).await);
    }
    assert!(!exists(&app, "users", "id", &dave.user_id).await);
    assert!(!exists(&app, "organizations", "id", &dave.org_id).await);
    assert!(!exists(&app, "system_events", "org_id", &dave.org_id).await);
    for user in [&ann, &bob, &erin] {
        assert!(exists(&app, "system_events", "org_id", &user.org_id).await);
    }
    assert!(!exists(&app, "password_resets", "user_id", &carol.user_id).await);
    assert!(exists(&app, "password_resets", "user_id", &ann.user_id).await);
    // The live session still works, and refreshes.
    let token = refreshed.str("accessToken");
    assert_eq!(profile(&app, &token).await.status, StatusCode::OK);
    let again = refresh(&app, &refreshed.str("refreshToken")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    // Dave can register again; his old token is dead.
    assert_eq!(
        profile(&app, &dave.access_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.register("dave@example.com").await;

    // A second pass (or another instance's) finds nothing more.
    let second = store.clean_up(&policy, now_ms()).await.unwrap();
    assert_eq!(second, CleanupReport::default());
}

#[tokio::test]
async fn the_background_clean_up_deletes_ended_sessions() {
    let config = CleanupConfig {
        interval: Duration::from_millis(50),
        grace: Duration::ZERO,
        unverified_account_ttl: None,
    };
    let app = spawn_app_with(|c| c.cleanup = Some(config)).await;
    let account = app.register_verified("ann@example.com").await;
    let logout = json!({ "refreshToken": account.refresh_token });
    assert_answer(
        &app.post("/user/logout", None, logout).await,
        StatusCode::OK,
        &json!({ "success": true }),
    );
    assert_eq!(claims_of(&account.access_token)["type"], "access");

    let deadline = Instant::now() + Duration::from_secs(10);
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1";
    while app.count(sql, &[&account.user_id]).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the ended sessions are still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens", &[]).await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 1);
}
