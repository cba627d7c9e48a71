//! `--registration open|invite-only|closed` (contract section 13): who may create an
//! organization with `POST /user/register`. Adding users to an existing organization works under
//! every policy.

use serde_json::{json, Value};
use workspaces::config::RegistrationPolicy;

use crate::support::accounts::PASSWORD;
use crate::support::app::{second_instance_with, spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};
use crate::support::client::Answer;
use crate::support::org_cast::data_id;

fn registration(email: &str) -> Value {
    json!({
        "email": email, "password": PASSWORD, "firstName": "Ann", "lastName": "Lee",
        "companyName": "Acme",
    })
}

fn refusal(policy: RegistrationPolicy) -> Value {
    match policy {
        RegistrationPolicy::InviteOnly => error_body(
            "Registration requires an activation link",
            "REGISTRATION_INVITE_ONLY",
        ),
        RegistrationPolicy::Closed => error_body("Registration is closed", "REGISTRATION_CLOSED"),
        RegistrationPolicy::Open => unreachable!("open refuses nothing"),
    }
}

async fn post(app: &TestApp, base: &str, path: &str, token: Option<&str>, body: Value) -> Answer {
    let mut request = app.client.post(format!("{base}{path}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::send(request).await
}

#[tokio::test]
async fn an_open_server_takes_registrations() {
    let app = spawn_app().await;

    let answer = app
        .post("/user/register", None, registration("ann@example.com"))
        .await;

    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
}

#[tokio::test]
async fn invite_only_and_closed_servers_refuse_registration_and_write_nothing() {
    for policy in [RegistrationPolicy::InviteOnly, RegistrationPolicy::Closed] {
        let app = spawn_app_with(|config| config.registration = policy).await;
        let before = app.snapshot().await;

        // Refused whatever the body holds: the policy is checked first.
        for body in [registration("ann@example.com"), json!({})] {
            let answer = app.post("/user/register", None, body).await;
            assert_answer(&answer, 403, &refusal(policy));
        }

        app.assert_unchanged(&before).await;
        assert_eq!(app.mailer.count(), 0);
    }
}

#[tokio::test]
async fn under_every_policy_an_organization_still_adds_its_users() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for (at, policy) in [RegistrationPolicy::InviteOnly, RegistrationPolicy::Closed]
        .into_iter()
        .enumerate()
    {
        // Another instance on the same database, with the policy.
        let base = second_instance_with(&app, |config| config.registration = policy).await;
        let refused = post(
            &app,
            &base,
            "/user/register",
            None,
            registration("x@example.com"),
        );
        assert_answer(&refused.await, 403, &refusal(policy));

        let email = format!("member{at}@example.com");
        let body = json!({
            "email": email, "password": PASSWORD, "firstName": "Mia", "lastName": "Roe",
            "orgRole": 0,
        });
        let token = Some(owner.access_token.as_str());
        let added = post(&app, &base, "/organization/users", token, body).await;
        assert_eq!(added.status.as_u16(), 201, "{}", added.body);
        let sql = "SELECT COUNT(*) FROM users WHERE id = $1 AND deleted_at IS NULL";
        assert_eq!(app.count(sql, &[&data_id(&added)]).await, 1);
    }
}
