//! `POST /user/deactivate` (contract section 13): one's own account deleted as an
//! administrator's delete would, every session ended at once, restorable by an administrator;
//! the last owner refused; an older session proves the password first.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, error_body, unauthorized_body};
use crate::support::client::Answer;
use crate::support::org_cast::{db_deleted_at, ok, org_path, send};

const DEACTIVATED: &str = "Account deactivated successfully";

async fn deactivate(app: &TestApp, account: &Account, body: Option<Value>) -> Answer {
    app.request(
        Method::POST,
        "/user/deactivate",
        Some(&account.access_token),
        body,
    )
    .await
}

/// Moves the start of every session of `account` back by `minutes`.
async fn age_sessions(app: &TestApp, account: &Account, minutes: i64) {
    let sql = format!(
        "UPDATE sessions SET created_at = created_at - {} WHERE user_id = $1",
        minutes * 60 * 1000
    );
    assert!(app.execute(&sql, &[&account.user_id]).await >= 1);
}

async fn live_sessions(app: &TestApp, account: &Account) -> i64 {
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    app.count(sql, &[&account.user_id]).await
}

/// An owner and a USER member (verified, with the shared password) of one organization.
async fn owner_and_member(app: &TestApp) -> (Account, Account) {
    let owner = app.register_verified("owner@example.com").await;
    let member = app
        .member(&owner, "mia@example.com", 0, Verification::Verified)
        .await;
    (owner, member)
}

#[tokio::test]
async fn a_member_deactivates_their_account_ending_every_session_and_an_admin_restores_it() {
    let app = spawn_app().await;
    let (owner, mia) = owner_and_member(&app).await;
    let second = app.log_in(&mia).await;
    let mark = app.event_mark().await;

    // No body, as the official client sends it, from a fresh session.
    let answer = deactivate(&app, &mia, None).await;

    assert_answer(&answer, 200, &ok(DEACTIVATED));
    assert!(db_deleted_at(&app, &mia.user_id).await > 0);
    assert_eq!(live_sessions(&app, &mia).await, 0);
    for token in [&mia.access_token, &second.access_token] {
        let profile = app.get("/user/profile", Some(token)).await;
        assert_answer(&profile, 401, &unauthorized_body());
    }
    let inactive = error_body("User account is inactive", "USER_INACTIVE");
    assert_answer(&app.login(&mia.email, PASSWORD).await, 401, &inactive);
    let fields = json!({
        "id": mia.user_id, "email": mia.email, "name": mia.first_name,
        "lastName": mia.last_name, "orgId": mia.org_id, "orgRole": 0, "validated": true,
    });
    let deleted = json!({
        "orgId": mia.org_id, "actorId": mia.user_id, "workspaceId": null, "context": 3,
        "event": 2, "contextId": mia.user_id, "jsonData": fields,
    });
    assert_eq!(app.events_since(&mark).await, [deleted]);

    let activate = org_path(&mia, "/activate");
    let restored = send(&app, &owner, Method::POST, &activate, None).await;
    assert_answer(&restored, 200, &ok("User activated successfully"));
    let login = app.login(&mia.email, PASSWORD).await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.body);
}

#[tokio::test]
async fn the_last_owner_is_refused_and_a_second_owner_may_leave() {
    let app = spawn_app().await;
    let (owner, _) = owner_and_member(&app).await;
    let before = app.snapshot().await;

    let answer = deactivate(&app, &owner, Some(json!({}))).await;

    let last = error_body(
        "The last owner of an organization cannot be deactivated",
        "LAST_OWNER",
    );
    assert_answer(&answer, 400, &last);
    app.assert_unchanged(&before).await;
    // -1: NULL, not deleted.
    assert_eq!(db_deleted_at(&app, &owner.user_id).await, -1);

    let other = app
        .member(&owner, "olga@example.com", 255, Verification::Verified)
        .await;
    let answer = deactivate(&app, &owner, None).await;
    assert_answer(&answer, 200, &ok(DEACTIVATED));
    let profile = app.get("/user/profile", Some(&other.access_token)).await;
    assert_eq!(profile.status.as_u16(), 200, "{}", profile.body);
}

#[tokio::test]
async fn an_older_session_proves_the_password_first() {
    let app = spawn_app().await;
    let (_, mia) = owner_and_member(&app).await;
    age_sessions(&app, &mia, 11).await;
    let before = app.snapshot().await;

    let required = error_body("Current password is required", "CURRENT_PASSWORD_REQUIRED");
    assert_answer(&deactivate(&app, &mia, None).await, 403, &required);
    let wrong = json!({ "currentPassword": "Wrong1234" });
    let incorrect = error_body(
        "Current password is incorrect",
        "CURRENT_PASSWORD_INCORRECT",
    );
    assert_answer(&deactivate(&app, &mia, Some(wrong)).await, 403, &incorrect);
    app.assert_unchanged(&before).await;

    let right = json!({ "currentPassword": PASSWORD });
    let answer = deactivate(&app, &mia, Some(right)).await;
    assert_answer(&answer, 200, &ok(DEACTIVATED));
    assert!(db_deleted_at(&app, &mia.user_id).await > 0);
}

#[tokio::test]
async fn an_account_without_a_password_has_nothing_more_to_prove() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let ivy = app
        .member(&owner, "ivy@example.com", 0, Verification::Verified)
        .await;
    let sql = "UPDATE users SET password_hash = NULL WHERE id = $1";
    assert_eq!(app.execute(sql, &[&ivy.user_id]).await, 1);
    age_sessions(&app, &ivy, 60).await;

    let answer = deactivate(&app, &ivy, None).await;

    assert_answer(&answer, 200, &ok(DEACTIVATED));
}

#[tokio::test]
async fn without_a_live_session_it_answers_401_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, mia) = owner_and_member(&app).await;

    let no_token = app
        .request(Method::POST, "/user/deactivate", None, None)
        .await;
    assert_answer(&no_token, 401, &unauthorized_body());
    let garbage = app
        .request(Method::POST, "/user/deactivate", Some("garbage"), None)
        .await;
    assert_answer(&garbage, 401, &unauthorized_body());
    let logout = json!({ "refreshToken": mia.refresh_token });
    let out = app.post("/user/logout", None, logout).await;
    assert_eq!(out.status.as_u16(), 200, "{}", out.body);
    let before = app.snapshot().await;
    assert_answer(
        &deactivate(&app, &mia, None).await,
        401,
        &unauthorized_body(),
    );

    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_malformed_body_answers_400_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, mia) = owner_and_member(&app).await;
    let before = app.snapshot().await;

    let request = app
        .client
        .post(app.url("/user/deactivate"))
        .bearer_auth(&mia.access_token)
        .header("content-type", "application/json")
        .body("{not json");
    let answer = TestApp::send(request).await;

    assert_eq!(answer.status.as_u16(), 400, "{}", answer.body);
    assert_eq!(answer.body["success"], false, "{}", answer.body);
    app.assert_unchanged(&before).await;
}
