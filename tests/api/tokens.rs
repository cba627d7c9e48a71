//! GET /token and DELETE /token/{tokenId}: the caller's own sessions (contract section 4).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{
    assert_answer, assert_error, assert_unauthorized, not_validated_body,
};
use crate::support::clock::rfc3339;
use crate::support::sessions::{profile, works};

const NOT_FOUND: &str = "Token not found";

/// The list entry a session should have, from its row in the database.
async fn entry(app: &TestApp, session_id: &str, current: bool) -> Value {
    let column = |name: &str| format!("SELECT {name} FROM sessions WHERE id = $1");
    let created_at = app.count(&column("created_at"), &[session_id]).await;
    let last_used_at = app.count(&column("last_used_at"), &[session_id]).await;
    let expires_at = app.count(&column("expires_at"), &[session_id]).await;
    json!({
        "id": session_id,
        "createdAt": rfc3339(created_at),
        "lastUsedAt": rfc3339(last_used_at),
        "expiresAt": expires_at,
        "current": current,
    })
}

/// The `tokens` of a GET /token answer (or of the expected one) sorted by id, so the comparison
/// does not depend on the order the server picks.
fn sorted_by_id(body: &Value) -> Value {
    let mut body = body.clone();
    let tokens = body["tokens"].as_array_mut().unwrap();
    tokens.sort_by_key(|t| t["id"].as_str().unwrap().to_owned());
    body
}

/// A second session of the same user: (session id, access token).
async fn second_session(app: &TestApp, account: &Account) -> (String, String) {
    let login = app.login(&account.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    (login.str("tokenId"), login.str("accessToken"))
}

async fn revoked(app: &TestApp, session_id: &str) -> bool {
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NOT NULL";
    app.count(sql, &[session_id]).await == 1
}

#[tokio::test]
async fn listing_tokens_shows_each_live_session_and_marks_the_current_one() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = app.get("/token", Some(&account.access_token)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let only = entry(&app, &account.token_id, true).await;
    assert_eq!(
        answer.body,
        json!({ "success": true, "tokens": [only.clone()] })
    );
    assert_eq!(only["createdAt"], only["lastUsedAt"]);
    let sql = "SELECT expires_at - created_at FROM sessions WHERE id = $1";
    assert_eq!(
        app.count(sql, &[&account.token_id]).await,
        30 * 24 * 60 * 60 * 1000
    );

    let (second_id, second_token) = second_session(&app, &account).await;
    let answer = app.get("/token", Some(&second_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    let first = entry(&app, &account.token_id, false).await;
    let second = entry(&app, &second_id, true).await;
    assert_eq!(
        sorted_by_id(&answer.body),
        sorted_by_id(&json!({ "success": true, "tokens": [first, second] }))
    );
    let first = entry(&app, &account.token_id, true).await;
    let second = entry(&app, &second_id, false).await;
    let answer = app.get("/token", Some(&account.access_token)).await;
    assert_eq!(
        sorted_by_id(&answer.body),
        sorted_by_id(&json!({ "success": true, "tokens": [first, second] }))
    );
}

#[tokio::test]
async fn listing_tokens_shows_only_the_callers_sessions() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    app.register("bob@example.com").await;

    let answer = app.get("/token", Some(&ann.access_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    let only = entry(&app, &ann.token_id, true).await;
    assert_eq!(answer.body, json!({ "success": true, "tokens": [only] }));
}

#[tokio::test]
async fn revoked_sessions_are_absent_from_the_list() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let (revoked_by_delete, _) = second_session(&app, &account).await;
    let logged_out = app.login(&account.email, PASSWORD).await;
    let path = format!("/token/{revoked_by_delete}");
    assert_eq!(
        app.delete(&path, Some(&account.access_token)).await.status,
        StatusCode::OK
    );
    let body = json!({ "refreshToken": logged_out.str("refreshToken") });
    assert_eq!(
        app.post("/user/logout", None, body).await.status,
        StatusCode::OK
    );

    let answer = app.get("/token", Some(&account.access_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    let only = entry(&app, &account.token_id, true).await;
    assert_eq!(answer.body, json!({ "success": true, "tokens": [only] }));
}

#[tokio::test]
async fn revoking_a_session_ends_it_at_once() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let (other_id, other_token) = second_session(&app, &account).await;

    let answer = app
        .delete(&format!("/token/{other_id}"), Some(&account.access_token))
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "success": true }));
    assert!(revoked(&app, &other_id).await);
    assert!(!revoked(&app, &account.token_id).await);
    assert_unauthorized(&profile(&app, &other_token).await);
    assert!(works(&app, &account.access_token).await);
    let again = app
        .delete(&format!("/token/{other_id}"), Some(&account.access_token))
        .await;
    assert_error(&again, 404, NOT_FOUND, "TOKEN_NOT_FOUND");
}

#[tokio::test]
async fn revoking_the_current_session_ends_it_too() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;

    let answer = app
        .delete(
            &format!("/token/{}", account.token_id),
            Some(&account.access_token),
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "success": true }));
    assert!(revoked(&app, &account.token_id).await);
    assert_unauthorized(&app.get("/token", Some(&account.access_token)).await);
}

#[tokio::test]
async fn revoking_another_users_session_answers_404_and_leaves_it_working() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let bob = app.register_verified("bob@example.com").await;

    let answer = app
        .delete(&format!("/token/{}", bob.token_id), Some(&ann.access_token))
        .await;

    assert_error(&answer, 404, NOT_FOUND, "TOKEN_NOT_FOUND");
    assert!(!revoked(&app, &bob.token_id).await);
    assert!(works(&app, &bob.access_token).await);
}

#[tokio::test]
async fn revoking_an_unknown_or_malformed_id_answers_404() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let unknown = uuid::Uuid::now_v7().to_string();

    for id in [unknown.as_str(), "not-a-uuid", "123"] {
        let answer = app
            .delete(&format!("/token/{id}"), Some(&account.access_token))
            .await;

        assert_error(&answer, 404, NOT_FOUND, "TOKEN_NOT_FOUND");
    }
    // Only the registration's session, which the verification ended, is revoked.
    let sql = "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL AND id <> $1";
    assert_eq!(app.count(sql, &[&account.token_id]).await, 1);
    assert!(!revoked(&app, &account.token_id).await);
}

#[tokio::test]
async fn the_token_routes_answer_401_without_a_valid_token() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let path = format!("/token/{}", account.token_id);

    assert_unauthorized(&app.get("/token", None).await);
    assert_unauthorized(&app.get("/token", Some("garbage")).await);
    assert_unauthorized(&app.delete(&path, None).await);
    assert_unauthorized(&app.delete(&path, Some("garbage")).await);
    assert!(!revoked(&app, &account.token_id).await);
}

/// Contract section 4: until validated, every write answers 400, revoking a session included.
#[tokio::test]
async fn an_unvalidated_caller_may_not_revoke_a_session() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let (other_id, other_token) = second_session(&app, &account).await;
    let before = app.snapshot().await;

    for id in [&other_id, &account.token_id] {
        let answer = app
            .delete(&format!("/token/{id}"), Some(&account.access_token))
            .await;
        assert_answer(&answer, 400, &not_validated_body());
    }

    app.assert_unchanged(&before).await;
    assert!(works(&app, &other_token).await);
    assert!(works(&app, &account.access_token).await);
}
