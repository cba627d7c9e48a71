//! Signing in from a device, as the `/sessions` and `/devices` tests do: browsers' user agents,
//! the entry a session should have, and the text errors of these routes.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::TestApp;
use crate::support::assertions::assert_answer;
use crate::support::client::Answer;
use crate::support::clock::rfc3339;

pub const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// The error of these routes: the documented `error` text next to our envelope.
pub fn text_error(message: &str, code: &str) -> Value {
    json!({ "success": false, "error": message, "message": message, "error_code": code })
}

#[track_caller]
pub fn assert_text_error(answer: &Answer, status: u16, message: &str, code: &str) {
    assert_answer(answer, status, &text_error(message, code));
}

/// A login of `account` with this `User-Agent` and body extras (`deviceInfo`).
pub async fn login_from(
    app: &TestApp,
    account: &Account,
    user_agent: Option<&str>,
    extra: Value,
) -> Answer {
    let mut body = json!({ "email": account.email, "password": PASSWORD });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let mut request = app.client.post(app.url("/user/login")).json(&body);
    if let Some(user_agent) = user_agent {
        request = request.header(reqwest::header::USER_AGENT, user_agent);
    }
    let answer = TestApp::send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer
}

/// A new session of `account` from this `User-Agent`: (session id, access token).
pub async fn session_from(app: &TestApp, account: &Account, user_agent: &str) -> (String, String) {
    let login = login_from(app, account, Some(user_agent), json!({})).await;
    (login.str("tokenId"), login.str("accessToken"))
}

/// The `/sessions` entry a session should have, from its row in the database.
pub async fn entry(app: &TestApp, session_id: &str, device_name: &str) -> Value {
    let column = |name: &str| format!("SELECT {name} FROM sessions WHERE id = $1");
    let created_at = app.count(&column("created_at"), &[session_id]).await;
    let last_used_at = app.count(&column("last_used_at"), &[session_id]).await;
    let expires_at = app.count(&column("expires_at"), &[session_id]).await;
    json!({
        "id": session_id,
        "deviceName": device_name,
        "ipAddress": "127.0.0.1",
        "location": null,
        "startedAt": rfc3339(created_at),
        "lastActivity": rfc3339(last_used_at),
        "expiresAt": expires_at,
        "loginMethod": "LOCAL",
    })
}

/// `body` with its list `key` sorted by id, so comparisons do not depend on the server's order.
pub fn sorted(body: &Value, key: &str) -> Value {
    let mut body = body.clone();
    if let Some(items) = body[key].as_array_mut() {
        items.sort_by_key(|item| item["id"].as_str().unwrap_or_default().to_owned());
    }
    body
}

pub async fn revoked(app: &TestApp, session_id: &str) -> bool {
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NOT NULL";
    app.count(sql, &[session_id]).await == 1
}
