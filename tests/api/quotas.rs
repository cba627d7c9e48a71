//! Quotas (contract section 13): `GET /user/quota` shows the operator's plan and what the
//! caller's organization uses of its limits; `--max-workspaces-per-org` and `--max-users-per-org`
//! hold inside the creating transaction, so they hold under concurrency and across instances.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use workspaces::config::{Config, Quotas};

use crate::support::accounts::{Account, Verification, PASSWORD};
use crate::support::app::{second_instance_with, spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_unauthorized, error_body};
use crate::support::at_once::{all_at_once, Side};
use crate::support::cast::create;
use crate::support::client::Answer;

const LIVE_WORKSPACES: &str =
    "SELECT COUNT(*) FROM workspaces WHERE org_id = $1 AND deleted_at IS NULL";
const ACTIVE_USERS: &str = "SELECT COUNT(*) FROM users WHERE org_id = $1 AND deleted_at IS NULL";

/// A server whose organizations may hold `workspaces` live workspaces and `users` active users.
fn limits(workspaces: Option<u32>, users: Option<u32>) -> impl FnOnce(&mut Config) {
    move |config| {
        config.quotas = Quotas {
            max_workspaces_per_org: workspaces,
            max_users_per_org: users,
            ..Quotas::default()
        }
    }
}

/// The body of `GET /user/quota` under the plan `plan`, each capability's usage as
/// `(current, max, percentage)`.
fn quota_body(plan: &str, workspaces: (i64, i64, i64), users: (i64, i64, i64)) -> Value {
    let item = |id: &str, code: &str, description: &str, (current, max, percentage)| {
        json!({
            "capability": {
                "id": id, "code": code, "description": description, "type": "LIMIT",
                "periodType": "ALL_TIME",
            },
            "usage": { "current": current, "max": max, "percentage": percentage },
        })
    };
    json!({
        "success": true,
        "subscription": {
            "id": "self-hosted",
            "name": plan,
            "description": "The limits this server's operator sets for every organization",
        },
        "quotaUsage": [
            item("workspaces", "WORKSPACES", "Live workspaces of the organization", workspaces),
            item("users", "USERS", "Active users of the organization", users),
        ],
    })
}

fn workspace_limit_body() -> Value {
    error_body(
        "Workspace limit reached for this organization",
        "QUOTA_EXCEEDED",
    )
}

fn user_limit_body() -> Value {
    error_body("User limit reached for this organization", "QUOTA_EXCEEDED")
}

/// `POST /organization/users` of a user without a password (nothing to hash) and without an
/// invitation e-mail.
fn new_user(email: &str) -> Value {
    json!({
        "email": email, "firstName": "Noa", "lastName": "Park", "orgRole": 0,
        "sendInvite": false,
    })
}

async fn quota_of(app: &TestApp, account: &Account) -> Answer {
    app.get("/user/quota", Some(&account.access_token)).await
}

async fn delete_workspace(app: &TestApp, by: &Account, id: &str) {
    let answer = app
        .delete(&format!("/workspace/{id}"), Some(&by.access_token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

async fn delete_user(app: &TestApp, by: &Account, id: &str) {
    let answer = app
        .delete(&format!("/organization/users/{id}"), Some(&by.access_token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

async fn activate_user(app: &TestApp, by: &Account, id: &str) -> Answer {
    app.request(
        Method::POST,
        &format!("/organization/users/{id}/activate"),
        Some(&by.access_token),
        None,
    )
    .await
}

#[tokio::test]
async fn an_unlimited_server_counts_live_workspaces_and_active_users() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let member = app
        .member(&owner, "mia@example.com", 2, Verification::Verified)
        .await;
    let gone = app
        .member(&owner, "gone@example.com", 0, Verification::Unverified)
        .await;
    create(&app, &owner, "One").await;
    create(&app, &member, "Two").await;
    let deleted = create(&app, &owner, "Three").await;
    delete_workspace(&app, &owner, &deleted).await;
    delete_user(&app, &owner, &gone.user_id).await;
    // Another organization's count for nothing here.
    let outsider = app.register_verified("outsider@example.com").await;
    create(&app, &outsider, "Elsewhere").await;

    let expected = quota_body("Self-hosted", (2, -1, 0), (2, -1, 0));
    assert_answer(&quota_of(&app, &owner).await, 200, &expected);
    // Any user of the organization reads the same.
    assert_answer(&quota_of(&app, &member).await, 200, &expected);
    let theirs = quota_body("Self-hosted", (1, -1, 0), (1, -1, 0));
    assert_answer(&quota_of(&app, &outsider).await, 200, &theirs);
}

#[tokio::test]
async fn the_quota_shows_the_plan_and_the_limits_with_rounded_percentages() {
    let app = spawn_app_with(|config| {
        limits(Some(3), Some(3))(config);
        config.quotas.plan_name = "Team".to_owned();
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;

    let empty = quota_body("Team", (0, 3, 0), (1, 3, 33));
    assert_answer(&quota_of(&app, &owner).await, 200, &empty);

    create(&app, &owner, "One").await;
    let one = quota_body("Team", (1, 3, 33), (1, 3, 33));
    assert_answer(&quota_of(&app, &owner).await, 200, &one);

    create(&app, &owner, "Two").await;
    let created = app
        .post(
            "/organization/users",
            Some(&owner.access_token),
            new_user("noa@example.com"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let two = quota_body("Team", (2, 3, 67), (2, 3, 67));
    assert_answer(&quota_of(&app, &owner).await, 200, &two);

    create(&app, &owner, "Three").await;
    let full = quota_body("Team", (3, 3, 100), (2, 3, 67));
    assert_answer(&quota_of(&app, &owner).await, 200, &full);
}

#[tokio::test]
async fn the_quota_needs_a_live_session() {
    let app = spawn_app().await;
    assert_unauthorized(&app.get("/user/quota", None).await);
    assert_unauthorized(&app.get("/user/quota", Some("not-a-token")).await);
}

#[tokio::test]
async fn creating_a_workspace_past_the_limit_answers_403_and_writes_nothing() {
    let app = spawn_app_with(limits(Some(2), None)).await;
    let owner = app.register_verified("owner@example.com").await;
    let plain = app
        .member(&owner, "plain@example.com", 0, Verification::Verified)
        .await;
    let first = create(&app, &owner, "One").await;
    create(&app, &owner, "Two").await;
    let before = app.snapshot().await;

    let refused = app.create_workspace(&owner.access_token, "Three").await;
    assert_answer(&refused, 403, &workspace_limit_body());
    // The limit comes before the name's uniqueness...
    let taken = app.create_workspace(&owner.access_token, "one").await;
    assert_answer(&taken, 403, &workspace_limit_body());
    // ...and after the role: a USER learns only that they may not create workspaces.
    let not_allowed = app.create_workspace(&plain.access_token, "Three").await;
    let denied = error_body(
        "Insufficient permissions to create workspaces",
        "INSUFFICIENT_PERMISSIONS",
    );
    assert_answer(&not_allowed, 403, &denied);

    app.assert_unchanged(&before).await;
    assert_eq!(app.count(LIVE_WORKSPACES, &[&owner.org_id]).await, 2);

    // Deleting a workspace frees its place.
    delete_workspace(&app, &owner, &first).await;
    let created = app.create_workspace(&owner.access_token, "Three").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(app.count(LIVE_WORKSPACES, &[&owner.org_id]).await, 2);
    if app.is_sqlite() {
        // SQLite checks the count its triggers keep on the organization (creates and deletes
        // both moved it), not a count of the rows.
        let kept = "SELECT live_workspaces FROM organizations WHERE id = $1";
        assert_eq!(app.count(kept, &[&owner.org_id]).await, 2);
    }
    // Other organizations have places of their own.
    let outsider = app.register_verified("outsider@example.com").await;
    create(&app, &outsider, "One").await;
}

#[tokio::test]
async fn adding_a_user_past_the_limit_answers_403_and_writes_nothing() {
    let app = spawn_app_with(limits(None, Some(2))).await;
    let owner = app.register_verified("owner@example.com").await;
    let token = Some(owner.access_token.as_str());
    let added = app
        .post("/organization/users", token, new_user("one@example.com"))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let before = app.snapshot().await;

    let refused = app
        .post("/organization/users", token, new_user("two@example.com"))
        .await;
    assert_answer(&refused, 403, &user_limit_body());
    // With a password and an invitation alike.
    let mut invited = new_user("three@example.com");
    invited["password"] = json!(PASSWORD);
    invited["sendInvite"] = json!(true);
    let refused = app.post("/organization/users", token, invited).await;
    assert_answer(&refused, 403, &user_limit_body());

    app.assert_unchanged(&before).await;
    assert_eq!(app.count(ACTIVE_USERS, &[&owner.org_id]).await, 2);
}

#[tokio::test]
async fn re_activating_a_user_counts_against_the_limit() {
    let app = spawn_app_with(limits(None, Some(2))).await;
    let owner = app.register_verified("owner@example.com").await;
    let token = Some(owner.access_token.as_str());
    let first = app
        .post("/organization/users", token, new_user("one@example.com"))
        .await;
    let first = first.body["data"]["id"].as_str().unwrap().to_owned();
    delete_user(&app, &owner, &first).await;
    let second = app
        .post("/organization/users", token, new_user("two@example.com"))
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let second = second.body["data"]["id"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;

    assert_answer(
        &activate_user(&app, &owner, &first).await,
        403,
        &user_limit_body(),
    );
    app.assert_unchanged(&before).await;

    // A place freed, the same activation goes through.
    delete_user(&app, &owner, &second).await;
    let activated = activate_user(&app, &owner, &first).await;
    let done = json!({ "success": true, "message": "User activated successfully" });
    assert_answer(&activated, 200, &done);
    assert_eq!(app.count(ACTIVE_USERS, &[&owner.org_id]).await, 2);
}

/// `n` requests built by `request`, sent at once, alternately through the two instances, each on
/// a connection of its own.
async fn burst(
    bases: [&str; 2],
    n: usize,
    request: impl Fn(&Side, usize) -> reqwest::Request,
) -> Vec<Answer> {
    let sides: Vec<Side> = (0..n).map(|i| Side::new(bases[i % 2])).collect();
    let requests = sides
        .iter()
        .enumerate()
        .map(|(i, side)| (side, request(side, i)))
        .collect();
    all_at_once(requests).await
}

/// Every answer is a 201 or the refusal `refused`, never anything else (no 500, no 409); the
/// number of 201s.
#[track_caller]
fn created_or_refused(answers: &[Answer], refused: &Value) -> usize {
    let mut created = 0;
    for answer in answers {
        if answer.status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_answer(answer, 403, refused);
        }
    }
    created
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_creates_at_once_over_two_instances_leave_exactly_the_limit() {
    let app = spawn_app_with(limits(Some(10), None)).await;
    let second = second_instance_with(&app, limits(Some(10), None)).await;
    let owner = app.register_verified("owner@example.com").await;
    let token = owner.access_token.clone();

    let answers = burst([&app.address, &second], 50, |side, i| {
        let body = json!({ "name": format!("Race {i}") });
        side.request(Method::POST, "/workspace", &token, Some(body))
    })
    .await;

    assert_eq!(created_or_refused(&answers, &workspace_limit_body()), 10);
    assert_eq!(app.count(LIVE_WORKSPACES, &[&owner.org_id]).await, 10);
    let members = "SELECT COUNT(*) FROM workspace_members m JOIN workspaces w \
                   ON w.id = m.workspace_id WHERE w.org_id = $1";
    assert_eq!(app.count(members, &[&owner.org_id]).await, 10);
    let events = "SELECT COUNT(*) FROM system_events WHERE org_id = $1 AND context = 0";
    assert_eq!(app.count(events, &[&owner.org_id]).await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_added_at_once_over_two_instances_stop_at_the_limit() {
    let app = spawn_app_with(limits(None, Some(5))).await;
    let second = second_instance_with(&app, limits(None, Some(5))).await;
    let owner = app.register_verified("owner@example.com").await;
    let token = owner.access_token.clone();

    let answers = burst([&app.address, &second], 20, |side, i| {
        let body = new_user(&format!("user{i}@example.com"));
        side.request(Method::POST, "/organization/users", &token, Some(body))
    })
    .await;

    // The owner holds one of the five places.
    assert_eq!(created_or_refused(&answers, &user_limit_body()), 4);
    assert_eq!(app.count(ACTIVE_USERS, &[&owner.org_id]).await, 5);
}
