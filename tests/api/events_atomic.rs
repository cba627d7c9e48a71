//! No change without its event (contract section 7): for every row of the section's mapping, a
//! failure of the event's own insert answers the route's documented 500 and leaves the database
//! as it was, change included.
//!
//! The other fault tests break the change's own statement, which runs before the event, so they
//! would still pass if the event were written in a second transaction after the change committed.
//! Here the fault is a trigger on `system_events` INSERT: the change has been made in the
//! transaction when its event is refused, so the change must roll back with it. Once the trigger
//! is gone, the very same request succeeds and writes exactly the events its row names: the fault
//! was the only thing wrong with it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::error_body;
use crate::support::cast::Cast;
use crate::support::faults::{answers_its_500_then_works, Call, Fault};
use crate::support::mfa::{mfa_error, steady_step, totp};
use crate::support::password_reset::reset_token;
use crate::support::settings::SCOPES;

// Contexts and events of section 7, as stored.
const WORKSPACE: i64 = 0;
const USER_CONTEXT: i64 = 3;
const ORG: i64 = 4;
const WORKSPACE_USER: i64 = 5;
const CREATED: i64 = 0;
const UPDATED: i64 = 1;
const DELETED: i64 = 2;

/// The documented 500 of a route in the plain envelope.
fn failed(message: &str) -> Value {
    error_body(message, "INTERNAL_ERROR")
}

/// With every event insert refused: `change` answers `failure` (its route's documented 500) and
/// the database, mail included, is as before. Without the fault: the same request answers
/// `success` and writes exactly `events` (context, event), in that order. Returns its body.
async fn no_change_without_its_event(
    app: &TestApp,
    change: Call,
    failure: Value,
    success: StatusCode,
    events: &[(i64, i64)],
) -> Value {
    // The refused attempt writes no event, so every event after the mark is the retry's.
    let mark = app.event_mark().await;
    let fault = Fault::Write("system_events", "INSERT");
    let answer = answers_its_500_then_works(app, fault, &change, &failure, success).await;
    let written: Vec<(i64, i64)> = app
        .events_since(&mark)
        .await
        .iter()
        .map(|event| {
            (
                event["context"].as_i64().unwrap(),
                event["event"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(written, events, "{}: its events", change.describe());
    answer.body
}

/// A verified owner and a verified USER of their organization, both signed in.
async fn owner_and_member(app: &TestApp) -> (Account, Account) {
    let owner = app.register_verified("owner@example.com").await;
    let mia = app
        .member(&owner, "mia@example.com", 0, Verification::Verified)
        .await;
    (owner, mia)
}

#[tokio::test]
async fn every_workspace_and_member_change_rolls_back_when_its_event_cannot_be_written() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let owner = Some(&cast.owner);

    let created = no_change_without_its_event(
        &app,
        Call::new(
            Method::POST,
            "/workspace",
            owner,
            json!({ "name": "Atomic" }),
        ),
        failed("Failed to create workspace"),
        StatusCode::CREATED,
        &[(WORKSPACE, CREATED)],
    )
    .await;
    let id = created["workspace"]["id"].as_str().unwrap();
    let path = |rest: &str| format!("/workspace/{id}{rest}");

    no_change_without_its_event(
        &app,
        Call::new(Method::PUT, path(""), owner, json!({ "name": "Renamed" })),
        failed("Failed to update workspace"),
        StatusCode::OK,
        &[(WORKSPACE, UPDATED)],
    )
    .await;
    let member = json!({ "userId": cast.plain.user_id, "role": "READ" });
    no_change_without_its_event(
        &app,
        Call::new(Method::POST, path("/users"), owner, member),
        failed("Failed to add user to workspace"),
        StatusCode::OK,
        &[(WORKSPACE_USER, CREATED)],
    )
    .await;
    let member_path = path(&format!("/users/{}", cast.plain.user_id));
    no_change_without_its_event(
        &app,
        Call::new(Method::PUT, &member_path, owner, json!({ "role": "WRITE" })),
        failed("Failed to update user role"),
        StatusCode::OK,
        &[(WORKSPACE_USER, UPDATED)],
    )
    .await;
    no_change_without_its_event(
        &app,
        Call::bare(Method::DELETE, &member_path, &cast.owner),
        failed("Failed to remove user from workspace"),
        StatusCode::OK,
        &[(WORKSPACE_USER, DELETED)],
    )
    .await;
    no_change_without_its_event(
        &app,
        Call::bare(Method::DELETE, path(""), &cast.owner),
        failed("Failed to delete workspace"),
        StatusCode::OK,
        &[(WORKSPACE, DELETED)],
    )
    .await;
}

#[tokio::test]
async fn registration_verification_and_password_reset_roll_back_when_their_event_cannot_be_written()
{
    let app = spawn_app().await;

    no_change_without_its_event(
        &app,
        Call::new(
            Method::POST,
            "/user/register",
            None,
            TestApp::registration_body("ann@example.com"),
        ),
        failed("Registration failed"),
        StatusCode::CREATED,
        &[(ORG, CREATED), (USER_CONTEXT, CREATED)],
    )
    .await;

    let token = app.mailer.last_verification_token("ann@example.com");
    no_change_without_its_event(
        &app,
        Call::new(
            Method::POST,
            "/user/verify-email",
            None,
            json!({ "token": token }),
        ),
        failed("Failed to verify email"),
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;

    // Requests the reset and waits for its e-mail (sent after the answer, from a task of its
    // own), so that nothing is still being written when the snapshot is taken.
    let token = reset_token(&app, "ann@example.com").await;
    let body = json!({ "token": token, "newPassword": "Another123" });
    no_change_without_its_event(
        &app,
        Call::new(Method::POST, "/user/reset-password", None, body),
        failed("Failed to reset password"),
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;
}

#[tokio::test]
async fn user_and_organization_changes_roll_back_when_their_event_cannot_be_written() {
    let app = spawn_app().await;
    let (owner, mia) = owner_and_member(&app).await;
    let by = Some(&owner);

    // Names (a password comes last: it may end the owner's other sessions).
    let own = format!("/user/{}", owner.user_id);
    no_change_without_its_event(
        &app,
        Call::new(Method::PUT, &own, by, json!({ "name": "Anna" })),
        failed("Failed to update user"),
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;

    // A role, through either route.
    let role = format!("/user/{}/role", mia.user_id);
    no_change_without_its_event(
        &app,
        Call::new(Method::PUT, role, by, json!({ "orgRole": 2 })),
        failed("Failed to update user role"),
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;
    let org_user = format!("/organization/users/{}", mia.user_id);
    let mut empty_data = failed("Failed to update user");
    empty_data["data"] = json!({});
    no_change_without_its_event(
        &app,
        Call::new(Method::PUT, &org_user, by, json!({ "orgRole": 254 })),
        empty_data,
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;

    // An organization user created, deleted and activated again.
    let body = json!({
        "email": "leo@example.com", "password": PASSWORD, "firstName": "Leo",
        "lastName": "Park", "orgRole": 0, "sendInvite": false,
    });
    let created = no_change_without_its_event(
        &app,
        Call::new(Method::POST, "/organization/users", by, body),
        failed("Failed to create user"),
        StatusCode::CREATED,
        &[(USER_CONTEXT, CREATED)],
    )
    .await;
    let leo = format!(
        "/organization/users/{}",
        created["data"]["id"].as_str().unwrap()
    );
    no_change_without_its_event(
        &app,
        Call::bare(Method::DELETE, &leo, &owner),
        failed("Failed to delete user"),
        StatusCode::OK,
        &[(USER_CONTEXT, DELETED)],
    )
    .await;
    no_change_without_its_event(
        &app,
        Call::bare(Method::POST, format!("{leo}/activate"), &owner),
        failed("Failed to activate user"),
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;

    // The organization itself.
    let mut null_data = failed("Failed to update organization");
    null_data["data"] = Value::Null;
    no_change_without_its_event(
        &app,
        Call::new(
            Method::PUT,
            format!("/organization/{}", owner.org_id),
            by,
            json!({ "city": "Lyon" }),
        ),
        null_data,
        StatusCode::OK,
        &[(ORG, UPDATED)],
    )
    .await;

    // A password, through the same route as names.
    no_change_without_its_event(
        &app,
        Call::new(Method::PUT, &own, by, json!({ "password": "Another123" })),
        failed("Failed to update user"),
        StatusCode::OK,
        &[(USER_CONTEXT, UPDATED)],
    )
    .await;
}

#[tokio::test]
async fn every_mfa_change_rolls_back_when_its_event_cannot_be_written() {
    let app = spawn_app().await;
    let (owner, mia) = owner_and_member(&app).await;
    let mfa = |method: Method, path: &str, body: Value| Call::new(method, path, Some(&owner), body);
    let totp_type = || json!({ "mfaType": "GOOGLE_AUTH" });
    let user_updated = &[(USER_CONTEXT, UPDATED)];

    // TOTP enrolled from a verified session (no e-mailed code needed): setup writes no event,
    // verify-setup enables the method.
    let setup = app
        .mfa_post("/mfa/setup", &owner.access_token, totp_type())
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();
    let code = totp(&secret, steady_step().await);
    let verify = json!({ "mfaType": "GOOGLE_AUTH", "code": code });
    no_change_without_its_event(
        &app,
        mfa(Method::POST, "/mfa/verify-setup", verify),
        mfa_error("MFA setup verification failed", "INTERNAL_ERROR"),
        StatusCode::OK,
        user_updated,
    )
    .await;

    for (path, message) in [
        ("/mfa/disable", "Failed to disable MFA method"),
        ("/mfa/enable", "Failed to enable MFA method"),
    ] {
        no_change_without_its_event(
            &app,
            mfa(Method::POST, path, totp_type()),
            mfa_error(message, "INTERNAL_ERROR"),
            StatusCode::OK,
            user_updated,
        )
        .await;
    }

    // A second method, by its e-mailed link, then made primary.
    let link = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "MAGIC_LINK" }),
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.body);
    let token = app.mailer.last_token(&owner.email, "Activation token");
    no_change_without_its_event(
        &app,
        Call::new(
            Method::POST,
            "/mfa/magic-link/activate",
            None,
            json!({ "token": token }),
        ),
        mfa_error("Failed to activate magic link", "INTERNAL_ERROR"),
        StatusCode::OK,
        user_updated,
    )
    .await;
    no_change_without_its_event(
        &app,
        mfa(
            Method::POST,
            "/mfa/primary",
            json!({ "mfaType": "MAGIC_LINK" }),
        ),
        mfa_error("Failed to update primary MFA method", "INTERNAL_ERROR"),
        StatusCode::OK,
        user_updated,
    )
    .await;

    // Enforcement is the organization's.
    no_change_without_its_event(
        &app,
        mfa(
            Method::POST,
            "/mfa/organization/enforce",
            json!({ "enforced": true }),
        ),
        mfa_error("Failed to update MFA enforcement", "INTERNAL_ERROR"),
        StatusCode::OK,
        &[(ORG, UPDATED)],
    )
    .await;

    // A reset of another user (made required at their next login), then of oneself.
    let other = json!({ "resetUserId": mia.user_id, "enable": true });
    no_change_without_its_event(
        &app,
        mfa(Method::POST, "/mfa/reset", other),
        mfa_error("Failed to reset MFA", "INTERNAL_ERROR"),
        StatusCode::OK,
        user_updated,
    )
    .await;
    no_change_without_its_event(
        &app,
        mfa(Method::POST, "/mfa/reset", json!({})),
        mfa_error("Failed to reset MFA", "INTERNAL_ERROR"),
        StatusCode::OK,
        user_updated,
    )
    .await;
}

#[tokio::test]
async fn every_settings_write_rolls_back_when_its_event_cannot_be_written() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    for scope in SCOPES {
        for (method, body) in [
            (
                Method::POST,
                json!({ "settings": { "theme": "dark", "lang": "fr" } }),
            ),
            (Method::PUT, json!({ "theme": "light" })),
            (Method::DELETE, json!({ "keys": ["lang"] })),
        ] {
            let change = Call::new(method.clone(), scope.path, Some(&owner), body);
            no_change_without_its_event(
                &app,
                change,
                failed(&scope.failed(&method)),
                StatusCode::OK,
                &[(scope.context, UPDATED)],
            )
            .await;
        }
    }
}

#[tokio::test]
async fn a_deactivation_rolls_back_when_its_event_cannot_be_written() {
    let app = spawn_app().await;
    let (_, mia) = owner_and_member(&app).await;

    no_change_without_its_event(
        &app,
        Call::bare(Method::POST, "/user/deactivate", &mia),
        failed("Failed to deactivate account"),
        StatusCode::OK,
        &[(USER_CONTEXT, DELETED)],
    )
    .await;
}
