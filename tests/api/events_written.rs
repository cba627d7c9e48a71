//! The audit trail's write half (contract section 7): every change of the mapping writes exactly
//! its event, in its transaction, with the actor, the organization, the workspace when there is
//! one, the context id and a `jsonData` compared whole; a refused change writes none.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::{
    Account,
    Verification::{Unverified, Verified},
    MEMBER_FIRST_NAME, MEMBER_LAST_NAME, PASSWORD,
};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, assert_error};
use crate::support::client::Answer;
use crate::support::clock::rfc3339;
use crate::support::password_reset::reset_token;

// The contract's indices.
const WORKSPACE: i64 = 0;
const USER: i64 = 3;
const ORG: i64 = 4;
const WORKSPACE_USER: i64 = 5;
const CREATED: i64 = 0;
const UPDATED: i64 = 1;
const DELETED: i64 = 2;

/// One stored event as `TestApp::events_since` shows it: `actor` acted in their organization.
fn event(
    actor: &Account,
    (context, kind): (i64, i64),
    workspace: Option<&str>,
    context_id: &str,
    data: Value,
) -> Value {
    json!({
        "orgId": actor.org_id,
        "actorId": actor.user_id,
        "workspaceId": workspace,
        "context": context,
        "event": kind,
        "contextId": context_id,
        "jsonData": data,
    })
}

fn user_fields(account: &Account, org_role: i64, validated: bool) -> Value {
    json!({
        "id": account.user_id,
        "email": account.email,
        "name": account.first_name,
        "lastName": account.last_name,
        "orgId": account.org_id,
        "orgRole": org_role,
        "validated": validated,
    })
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> Answer {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

async fn workspace_of(app: &TestApp, owner: &Account, name: &str) -> String {
    let created = app.create_workspace(&owner.access_token, name).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.str_at("/workspace/id")
}

trait At {
    fn str_at(&self, pointer: &str) -> String;
}

impl At for Answer {
    fn str_at(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} in {}", self.body))
            .to_owned()
    }
}

#[tokio::test]
async fn creating_a_workspace_writes_workspace_created_with_its_public_fields() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mark = app.event_mark().await;

    let id = workspace_of(&app, &ann, "  Design ").await;

    let fields = json!({ "id": id, "name": "Design", "orgId": ann.org_id });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (WORKSPACE, CREATED), Some(&id), &id, fields)]
    );
}

#[tokio::test]
async fn renaming_a_workspace_writes_the_names_from_and_to_and_the_same_name_writes_nothing() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let id = workspace_of(&app, &ann, "Design").await;
    let path = format!("/workspace/{id}");
    let mark = app.event_mark().await;

    let renamed = put(
        &app,
        &ann.access_token,
        &path,
        json!({ "name": "Design 2" }),
    )
    .await;

    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let change = json!({ "name": { "from": "Design", "to": "Design 2" } });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (WORKSPACE, UPDATED), Some(&id), &id, change)]
    );
    // Nothing changes: no event (nor any other write).
    let before = app.snapshot().await;
    for body in [json!({ "name": "Design 2" }), json!({})] {
        let same = put(&app, &ann.access_token, &path, body).await;
        let expected = json!({
            "success": true,
            "workspace": { "id": id, "name": "Design 2", "orgId": ann.org_id },
        });
        assert_answer(&same, StatusCode::OK, &expected);
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn deleting_a_workspace_writes_workspace_deleted_with_its_fields_at_deletion() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let id = workspace_of(&app, &ann, "Design").await;
    let mark = app.event_mark().await;

    let path = format!("/workspace/{id}");
    let deleted = app.delete(&path, Some(&ann.access_token)).await;

    assert_answer(&deleted, StatusCode::OK, &json!({ "success": true }));
    let fields = json!({ "id": id, "name": "Design", "orgId": ann.org_id });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (WORKSPACE, DELETED), Some(&id), &id, fields)]
    );
}

#[tokio::test]
async fn member_add_role_change_and_removal_write_workspaceuser_events_about_the_member() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mia = app.member(&ann, "mia@example.com", 0, Verified).await;
    let id = workspace_of(&app, &ann, "Design").await;
    let members = format!("/workspace/{id}/users");
    let member = format!("/workspace/{id}/users/{}", mia.user_id);
    let ws = Some(id.as_str());
    let mia_id = mia.user_id.as_str();
    let ok = json!({ "success": true });

    let mark = app.event_mark().await;
    let body = json!({ "userId": mia.user_id, "role": "READ" });
    let added = app.post(&members, Some(&ann.access_token), body).await;
    assert_answer(&added, StatusCode::OK, &ok);
    let fields = json!({ "workspaceId": id, "userId": mia.user_id, "role": "READ" });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (WORKSPACE_USER, CREATED), ws, mia_id, fields)]
    );

    let mark = app.event_mark().await;
    let changed = put(&app, &ann.access_token, &member, json!({ "role": "WRITE" })).await;
    assert_answer(&changed, StatusCode::OK, &ok);
    let change = json!({ "role": { "from": "READ", "to": "WRITE" } });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (WORKSPACE_USER, UPDATED), ws, mia_id, change)]
    );
    // The role they already have: nothing changes, nothing is written.
    let before = app.snapshot().await;
    let same = put(&app, &ann.access_token, &member, json!({ "role": "WRITE" })).await;
    assert_answer(&same, StatusCode::OK, &ok);
    app.assert_unchanged(&before).await;

    let mark = app.event_mark().await;
    let removed = app.delete(&member, Some(&ann.access_token)).await;
    assert_answer(&removed, StatusCode::OK, &ok);
    let fields = json!({ "workspaceId": id, "userId": mia.user_id, "role": "WRITE" });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (WORKSPACE_USER, DELETED), ws, mia_id, fields)]
    );
}

#[tokio::test]
async fn registration_writes_org_created_and_user_created_by_the_new_user() {
    let app = spawn_app().await;
    let mark = app.event_mark().await;

    let ann = app.register("ann@example.com").await;

    let org = json!({
        "id": ann.org_id, "name": "Acme", "website": null, "is_business": true,
    });
    assert_eq!(
        app.events_since(&mark).await,
        [
            event(&ann, (ORG, CREATED), None, &ann.org_id, org),
            event(
                &ann,
                (USER, CREATED),
                None,
                &ann.user_id,
                user_fields(&ann, 255, false)
            ),
        ]
    );
}

#[tokio::test]
async fn verifying_an_email_writes_user_updated_and_a_password_set_with_it_only_as_changed() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let mark = app.event_mark().await;

    app.verify("ann@example.com").await;

    let validated = json!({ "validated": { "from": false, "to": true } });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (USER, UPDATED), None, &ann.user_id, validated)]
    );

    // An invited user choosing their password as they verify: the actor is themself.
    let ann = app.log_in(&ann).await;
    let body = json!({
        "email": "mia@example.com", "firstName": "Mia", "lastName": "Stone", "orgRole": 0,
    });
    let created = app
        .post("/organization/users", Some(&ann.access_token), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mia = Account {
        email: "mia@example.com".into(),
        user_id: created.str_at("/data/id"),
        ..ann.clone()
    };
    let token = app.mailer.last_verification_token("mia@example.com");
    let mark = app.event_mark().await;
    let verify = json!({ "token": token, "password": PASSWORD });
    let answer = app.post("/user/verify-email", None, verify).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let change = json!({ "validated": { "from": false, "to": true }, "password": "changed" });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&mia, (USER, UPDATED), None, &mia.user_id, change)]
    );
}

#[tokio::test]
async fn updating_names_and_password_writes_only_the_changed_fields_and_no_password() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mia = app.member(&ann, "mia@example.com", 0, Verified).await;
    let mark = app.event_mark().await;

    // Her own first name (the last name sent is the one she has) and password.
    let path = format!("/user/{}", ann.user_id);
    let body = json!({ "name": "Anna", "lastName": "Lee", "password": "Another123" });
    let answer = put(&app, &ann.access_token, &path, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // An OWNER renames Mia.
    let path = format!("/user/{}", mia.user_id);
    let answer = put(
        &app,
        &ann.access_token,
        &path,
        json!({ "lastName": "Stein" }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let own = json!({ "name": { "from": "Ann", "to": "Anna" }, "password": "changed" });
    let hers = json!({ "lastName": { "from": MEMBER_LAST_NAME, "to": "Stein" } });
    let events = app.events_since(&mark).await;
    assert_eq!(
        events,
        [
            event(&ann, (USER, UPDATED), None, &ann.user_id, own),
            event(&ann, (USER, UPDATED), None, &mia.user_id, hers),
        ]
    );
    let hash = app
        .strings(
            "SELECT password_hash FROM users WHERE id = $1",
            &[&ann.user_id],
        )
        .await;
    let texts = app
        .strings("SELECT json_data FROM system_events", &[])
        .await;
    assert!(texts.iter().all(|text| !text.contains(&hash[0])));
    assert!(texts.iter().all(|text| !text.contains("Another123")));
}

#[tokio::test]
async fn role_changes_through_either_route_write_the_org_role_from_and_to() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mia = app.member(&ann, "mia@example.com", 0, Verified).await;
    let mark = app.event_mark().await;

    let path = format!("/user/{}/role", mia.user_id);
    let answer = put(&app, &ann.access_token, &path, json!({ "orgRole": 2 })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let path = format!("/organization/users/{}", mia.user_id);
    let body = json!({ "name": "Maria", "orgRole": 254 });
    let answer = put(&app, &ann.access_token, &path, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let first = json!({ "orgRole": { "from": 0, "to": 2 } });
    let second = json!({
        "name": { "from": MEMBER_FIRST_NAME, "to": "Maria" },
        "orgRole": { "from": 2, "to": 254 },
    });
    assert_eq!(
        app.events_since(&mark).await,
        [
            event(&ann, (USER, UPDATED), None, &mia.user_id, first),
            event(&ann, (USER, UPDATED), None, &mia.user_id, second),
        ]
    );
}

#[tokio::test]
async fn organization_user_create_delete_and_reactivation_write_their_user_events() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mark = app.event_mark().await;

    let body = json!({
        "email": "mia@example.com", "password": PASSWORD, "firstName": "Mia",
        "lastName": "Stone", "orgRole": 2, "sendInvite": false,
    });
    let created = app
        .post("/organization/users", Some(&ann.access_token), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let mia = Account {
        email: "mia@example.com".into(),
        first_name: "Mia".into(),
        last_name: "Stone".into(),
        user_id: created.str_at("/data/id"),
        ..ann.clone()
    };
    let path = format!("/organization/users/{}", mia.user_id);
    let deleted = app.delete(&path, Some(&ann.access_token)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let deleted_at = app
        .count(
            "SELECT deleted_at FROM users WHERE id = $1",
            &[&mia.user_id],
        )
        .await;
    let activate = format!("{path}/activate");
    let activated = app
        .request(Method::POST, &activate, Some(&ann.access_token), None)
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);

    let fields = user_fields(&mia, 2, false);
    let restored = json!({ "deletedAt": { "from": rfc3339(deleted_at), "to": null } });
    assert_eq!(
        app.events_since(&mark).await,
        [
            event(&ann, (USER, CREATED), None, &mia.user_id, fields.clone()),
            event(&ann, (USER, DELETED), None, &mia.user_id, fields),
            event(&ann, (USER, UPDATED), None, &mia.user_id, restored),
        ]
    );
}

#[tokio::test]
async fn updating_the_organization_writes_org_updated_with_each_changed_field() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mark = app.event_mark().await;

    let path = format!("/organization/{}", ann.org_id);
    let body = json!({ "name": "Acme Corp", "city": "Springfield", "is_business": true });
    let answer = put(&app, &ann.access_token, &path, body).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let change = json!({
        "name": { "from": "Acme", "to": "Acme Corp" },
        "city": { "from": null, "to": "Springfield" },
    });
    assert_eq!(
        app.events_since(&mark).await,
        [event(&ann, (ORG, UPDATED), None, &ann.org_id, change)]
    );
}

#[tokio::test]
async fn a_password_reset_writes_user_updated_by_the_user_and_validates_an_unverified_one() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let eve = app.register("eve@example.com").await;
    let mark = app.event_mark().await;

    for email in ["ann@example.com", "eve@example.com"] {
        let token = reset_token(&app, email).await;
        let body = json!({ "token": token, "newPassword": "Another123" });
        let answer = app.post("/user/reset-password", None, body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    let anns = json!({ "password": "changed" });
    let eves = json!({ "password": "changed", "validated": { "from": false, "to": true } });
    assert_eq!(
        app.events_since(&mark).await,
        [
            event(&ann, (USER, UPDATED), None, &ann.user_id, anns),
            event(&eve, (USER, UPDATED), None, &eve.user_id, eves),
        ]
    );
}

#[tokio::test]
async fn refused_changes_write_no_event() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let id = workspace_of(&app, &ann, "Design").await;
    workspace_of(&app, &ann, "Taken").await;
    let reader = app.member(&ann, "mia@example.com", 0, Verified).await;
    let unverified = app.member(&ann, "ned@example.com", 2, Unverified).await;
    let before = app.snapshot().await;
    let mark = app.event_mark().await;

    let taken = app.create_workspace(&ann.access_token, "taken").await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let denied = app.create_workspace(&reader.access_token, "Mine").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let not_validated = app.create_workspace(&unverified.access_token, "Mine").await;
    assert_eq!(not_validated.status, StatusCode::BAD_REQUEST);
    let path = format!("/workspace/{id}");
    let rename = put(&app, &ann.access_token, &path, json!({ "name": "Taken" })).await;
    assert_eq!(rename.status, StatusCode::CONFLICT);
    let last_admin = format!("/workspace/{id}/users/{}", ann.user_id);
    let demote = put(
        &app,
        &ann.access_token,
        &last_admin,
        json!({ "role": "READ" }),
    )
    .await;
    assert_error(
        &demote,
        400,
        "Workspace must keep at least one admin",
        "LAST_ADMIN",
    );
    let path = format!("/user/{}/role", ann.user_id);
    let last_owner = put(&app, &ann.access_token, &path, json!({ "orgRole": 0 })).await;
    assert_eq!(last_owner.status, StatusCode::FORBIDDEN);
    let body = json!({ "email": "ann@example.com", "firstName": "A", "lastName": "B" });
    let duplicate = app
        .post("/organization/users", Some(&ann.access_token), body)
        .await;
    assert_eq!(duplicate.status, StatusCode::BAD_REQUEST);
    let registered = app
        .post(
            "/user/register",
            None,
            TestApp::registration_body("ann@example.com"),
        )
        .await;
    assert_eq!(registered.status, StatusCode::BAD_REQUEST);

    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn fifty_concurrent_creates_write_fifty_events_one_per_workspace() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    let mark = app.event_mark().await;

    let names: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
    let answers = join_all(
        names
            .iter()
            .map(|name| app.create_workspace(&ann.access_token, name)),
    )
    .await;

    let mut expected = Vec::new();
    for (answer, name) in answers.iter().zip(&names) {
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        let id = answer.str_at("/workspace/id");
        let fields = json!({ "id": id, "name": name, "orgId": ann.org_id });
        expected.push(event(&ann, (WORKSPACE, CREATED), Some(&id), &id, fields));
    }
    let mut stored = app.events_since(&mark).await;
    let by_id = |event: &Value| event["contextId"].as_str().unwrap().to_owned();
    stored.sort_by_key(by_id);
    expected.sort_by_key(by_id);
    assert_eq!(stored, expected);
}
