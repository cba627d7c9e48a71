//! The pending session's allow-list (contract section 8), checked against every protected
//! route of the OpenAPI document (which the router is built from), so a route added later
//! cannot forget it: each answers a pending session 403 `MFA_REQUIRED`, but the few listed.

use reqwest::{Method, StatusCode};

use crate::support::accounts::{Account, Verification};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::error_body;
use crate::support::client::Answer;
use crate::support::mfa::mfa_error;
use crate::support::openapi::{concrete, document, operations};

/// What a pending session may call (besides the public routes, `POST /user/logout` among them).
const ALLOWED: [(&str, &str); 6] = [
    ("GET", "/user/profile"),
    ("GET", "/mfa/status"),
    ("GET", "/mfa/methods"),
    ("POST", "/mfa/magic-link/send"),
    ("POST", "/mfa/passkey/auth-options"),
    ("POST", "/mfa/verify-login"),
];

/// And only while the user has no method enabled: enrolling (a passkey's registration too).
const ENROLLING: [(&str, &str); 4] = [
    ("POST", "/mfa/setup"),
    ("POST", "/mfa/verify-setup"),
    ("POST", "/mfa/passkey/complete-registration"),
    ("POST", "/mfa/passkey/complete-registration-1"),
];

fn is_mfa_required(answer: &Answer) -> bool {
    let message = "MFA verification required";
    answer.status == StatusCode::FORBIDDEN
        && (answer.body == error_body(message, "MFA_REQUIRED")
            || answer.body == mfa_error(message, "MFA_REQUIRED"))
}

/// Calls every protected operation with `session`'s token (random ids, no body, as the client
/// sends when it has nothing to say) and checks which ones let it through.
async fn probe(app: &TestApp, session: &Account, allowed: &[(&str, &str)]) {
    let document = document(app).await;
    let mut probed = 0;
    for ((method, path), operation) in operations(&document) {
        if operation.get("security").is_none() {
            continue;
        }
        probed += 1;
        let request = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&concrete(&path)),
            )
            .bearer_auth(&session.access_token);
        let answer = TestApp::send(request).await;
        let listed = allowed.contains(&(method.as_str(), path.as_str()));
        assert_eq!(
            !is_mfa_required(&answer),
            listed,
            "{method} {path}: {} {}",
            answer.status,
            answer.body
        );
    }
    assert!(probed > 30, "only {probed} protected operations");
}

#[tokio::test]
async fn a_pending_session_of_a_user_with_mfa_reaches_only_its_allow_list() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    // Enrolling a second factor is not for a password alone when one is enabled.
    probe(&app, &pending, &ALLOWED).await;
    let sql = "SELECT COUNT(*) FROM mfa_methods WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NULL AND mfa_pending";
    assert_eq!(app.count(sql, &[&pending.token_id]).await, 1);
}

#[tokio::test]
async fn a_pending_session_of_a_member_who_must_enrol_may_also_enrol() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let member = app
        .member(&owner, "member@example.com", 0, Verification::Verified)
        .await;
    app.enforce_mfa(&owner).await;
    let pending = app.log_in_pending(&member).await;
    let allowed: Vec<_> = ALLOWED.iter().chain(&ENROLLING).copied().collect();
    probe(&app, &pending, &allowed).await;
}
