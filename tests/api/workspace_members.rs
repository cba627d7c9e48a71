//! POST /workspace/{id}/users, PUT and DELETE /workspace/{id}/users/{userId} (contract section
//! 3): who may manage members, every refusal, and the last ADMIN under concurrency.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{
    assert_answer, error_body, not_validated_body, unauthorized_body,
};
use crate::support::cast::{create, delete_user, member_json, normalized, role_of, Cast};
use crate::support::client::Answer;

fn ok_body() -> Value {
    json!({ "success": true })
}

fn last_admin_body() -> Value {
    error_body("Workspace must keep at least one admin", "LAST_ADMIN")
}

fn member_not_found_body() -> Value {
    error_body("User not found in workspace", "MEMBER_NOT_FOUND")
}

async fn add(app: &TestApp, by: &Account, workspace: &str, body: Option<Value>) -> Answer {
    let path = format!("/workspace/{workspace}/users");
    app.request(Method::POST, &path, Some(&by.access_token), body)
        .await
}

async fn change(app: &TestApp, by: &Account, workspace: &str, user: &str, role: &str) -> Answer {
    let path = format!("/workspace/{workspace}/users/{user}");
    let body = Some(json!({ "role": role }));
    app.request(Method::PUT, &path, Some(&by.access_token), body)
        .await
}

async fn remove(app: &TestApp, by: &Account, workspace: &str, user: &str) -> Answer {
    let path = format!("/workspace/{workspace}/users/{user}");
    app.delete(&path, Some(&by.access_token)).await
}

#[tokio::test]
async fn a_workspace_admin_adds_members_with_each_role() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    for (account, role) in [
        (&cast.plain, "READ"),
        (&cast.manager, "WRITE"),
        (&cast.administrator, "ADMIN"),
    ] {
        let body = Some(json!({ "userId": account.user_id, "role": role }));
        let answer = add(&app, &cast.admin, &cast.workspace, body).await;
        assert_answer(&answer, StatusCode::OK, &ok_body());
        assert_eq!(role_of(&app, &cast.workspace, account).await, [role]);
    }
    let mut expected = cast.workspace_json();
    let users = expected["users"].as_array_mut().unwrap();
    users.push(member_json(&cast.plain, "READ", 0));
    users.push(member_json(&cast.manager, "WRITE", 2));
    users.push(member_json(&cast.administrator, "ADMIN", 254));
    let read = app
        .get(&cast.path(""), Some(&cast.plain.access_token))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let expected = json!({ "success": true, "workspace": expected });
    assert_eq!(normalized(read.body), normalized(expected));
}

#[tokio::test]
async fn malformed_member_bodies_answer_400_and_change_nothing() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let invalid_role = error_body("Invalid role", "INVALID_ROLE");
    let missing =
        |field: &str| error_body(&format!("Missing required field: {field}"), "MISSING_FIELD");
    let (owner, ws, user) = (
        &cast.owner,
        cast.workspace.as_str(),
        cast.plain.user_id.as_str(),
    );
    let member = cast.reader.user_id.as_str();
    let before = app.snapshot().await;

    for role in ["OWNER", "admin", ""] {
        let added = add(
            &app,
            owner,
            ws,
            Some(json!({ "userId": user, "role": role })),
        )
        .await;
        assert_answer(&added, StatusCode::BAD_REQUEST, &invalid_role);
        let changed = change(&app, owner, ws, member, role).await;
        assert_answer(&changed, StatusCode::BAD_REQUEST, &invalid_role);
    }
    for (body, expected) in [
        (Some(json!({ "userId": user })), missing("role")),
        (Some(json!({ "role": "READ" })), missing("userId")),
        (Some(json!({})), missing("userId")),
        (None, missing("userId")),
        (
            Some(json!({ "userId": user, "role": 2 })),
            error_body("Invalid value for field 'role'", "INVALID_FIELD"),
        ),
    ] {
        let answer = add(&app, owner, ws, body.clone()).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &expected);
    }
    let path = cast.path(&format!("/users/{member}"));
    for body in [Some(json!({})), None] {
        let answer = app
            .request(Method::PUT, &path, Some(&owner.access_token), body.clone())
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &missing("role"));
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn write_and_read_members_may_not_manage_members() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let forbidden = error_body(
        "Insufficient permissions to manage workspace users",
        "INSUFFICIENT_PERMISSIONS",
    );
    let before = app.snapshot().await;

    for account in [&cast.writer, &cast.reader] {
        let body = Some(json!({ "userId": cast.plain.user_id, "role": "READ" }));
        let answers = [
            add(&app, account, &cast.workspace, body).await,
            change(&app, account, &cast.workspace, &account.user_id, "ADMIN").await,
            remove(&app, account, &cast.workspace, &cast.admin.user_id).await,
        ];
        for answer in &answers {
            assert_answer(answer, StatusCode::FORBIDDEN, &forbidden);
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn callers_who_cannot_see_the_workspace_get_404_on_every_member_route() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let gone = create(&app, &cast.owner, "Gone").await;
    assert_eq!(
        app.delete(
            &format!("/workspace/{gone}"),
            Some(&cast.owner.access_token)
        )
        .await
        .status,
        StatusCode::OK
    );
    let unknown = Uuid::now_v7().to_string();
    let not_found = error_body("Workspace not found", "WORKSPACE_NOT_FOUND");
    let before = app.snapshot().await;

    for (account, id) in [
        (&cast.outsider, cast.workspace.as_str()),
        (&cast.plain, cast.workspace.as_str()),
        (&cast.manager, cast.workspace.as_str()),
        (&cast.owner, gone.as_str()),
        (&cast.owner, unknown.as_str()),
        (&cast.owner, "not-a-uuid"),
    ] {
        let body = Some(json!({ "userId": cast.plain.user_id, "role": "READ" }));
        let answers = [
            add(&app, account, id, body).await,
            change(&app, account, id, &cast.owner.user_id, "READ").await,
            remove(&app, account, id, &cast.owner.user_id).await,
        ];
        for answer in &answers {
            assert_answer(answer, StatusCode::NOT_FOUND, &not_found);
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn an_unvalidated_caller_gets_400_on_every_member_route() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let sql = "UPDATE workspace_members SET role = 'ADMIN' WHERE user_id = $1";
    assert_eq!(app.execute(sql, &[&cast.unvalidated.user_id]).await, 1);
    let not_validated = not_validated_body();
    let before = app.snapshot().await;

    let (who, ws) = (&cast.unvalidated, cast.workspace.as_str());
    let body = Some(json!({ "userId": cast.plain.user_id, "role": "READ" }));
    let answers = [
        add(&app, who, ws, body).await,
        change(&app, who, ws, &cast.reader.user_id, "WRITE").await,
        remove(&app, who, ws, &cast.reader.user_id).await,
    ];

    for answer in &answers {
        assert_answer(answer, StatusCode::BAD_REQUEST, &not_validated);
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_target_who_is_no_active_user_of_the_organization_is_not_found() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    delete_user(&app, &cast.plain).await;
    let target_not_found = error_body("Target user not found", "TARGET_USER_NOT_FOUND");
    let unknown = Uuid::now_v7().to_string();
    let before = app.snapshot().await;

    for target in [
        cast.outsider.user_id.as_str(),
        cast.plain.user_id.as_str(),
        unknown.as_str(),
        "not-a-uuid",
    ] {
        let body = Some(json!({ "userId": target, "role": "READ" }));
        let answer = add(&app, &cast.owner, &cast.workspace, body).await;
        assert_answer(&answer, StatusCode::NOT_FOUND, &target_not_found);
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn adding_a_member_again_answers_409_and_keeps_the_role() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let before = app.snapshot().await;

    let body = Some(json!({ "userId": cast.reader.user_id, "role": "ADMIN" }));
    let answer = add(&app, &cast.owner, &cast.workspace, body).await;

    let expected = error_body(
        "User is already a member of this workspace",
        "ALREADY_MEMBER",
    );
    assert_answer(&answer, StatusCode::CONFLICT, &expected);
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_workspace_admin_changes_a_members_role() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    for role in ["WRITE", "ADMIN", "READ"] {
        let answer = change(
            &app,
            &cast.admin,
            &cast.workspace,
            &cast.reader.user_id,
            role,
        )
        .await;
        assert_answer(&answer, StatusCode::OK, &ok_body());
        assert_eq!(role_of(&app, &cast.workspace, &cast.reader).await, [role]);
    }
}

#[tokio::test]
async fn changing_or_removing_a_non_member_answers_404() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    delete_user(&app, &cast.writer).await;
    let unknown = Uuid::now_v7().to_string();
    let before = app.snapshot().await;

    for target in [
        cast.plain.user_id.as_str(),
        cast.outsider.user_id.as_str(),
        cast.writer.user_id.as_str(),
        unknown.as_str(),
        "not-a-uuid",
    ] {
        let changed = change(&app, &cast.admin, &cast.workspace, target, "READ").await;
        let removed = remove(&app, &cast.admin, &cast.workspace, target).await;
        for answer in [changed, removed] {
            assert_answer(&answer, StatusCode::NOT_FOUND, &member_not_found_body());
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_removed() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    // The manager created it, so is its only member and ADMIN; the owner is no member.
    let managed = create(&app, &cast.manager, "Managed").await;
    let manager = cast.manager.user_id.as_str();
    let before = app.snapshot().await;

    for role in ["WRITE", "READ"] {
        let answer = change(&app, &cast.owner, &managed, manager, role).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &last_admin_body());
    }
    let answer = remove(&app, &cast.owner, &managed, manager).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &last_admin_body());
    // Re-granting ADMIN to the last ADMIN takes nothing away.
    let answer = change(&app, &cast.owner, &managed, manager, "ADMIN").await;
    assert_answer(&answer, StatusCode::OK, &ok_body());
    app.assert_unchanged(&before).await;

    // The owner, acting as ADMIN without being a member, adds a second ADMIN: now it works.
    let body = Some(json!({ "userId": cast.plain.user_id, "role": "ADMIN" }));
    assert_answer(
        &add(&app, &cast.owner, &managed, body).await,
        StatusCode::OK,
        &ok_body(),
    );
    let answer = change(&app, &cast.owner, &managed, manager, "READ").await;
    assert_answer(&answer, StatusCode::OK, &ok_body());
    assert_eq!(role_of(&app, &managed, &cast.manager).await, ["READ"]);
    let answer = remove(&app, &cast.owner, &managed, &cast.plain.user_id).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &last_admin_body());
}

#[tokio::test]
async fn a_deleted_admin_does_not_count_as_the_remaining_admin() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    delete_user(&app, &cast.admin).await;
    let before = app.snapshot().await;

    let (owner, ws) = (&cast.owner, cast.workspace.as_str());
    let demoted = change(&app, owner, ws, &owner.user_id, "WRITE").await;
    let removed = remove(&app, owner, ws, &owner.user_id).await;

    for answer in [demoted, removed] {
        assert_answer(&answer, StatusCode::BAD_REQUEST, &last_admin_body());
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_workspace_admin_removes_a_member() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    let answer = remove(&app, &cast.admin, &cast.workspace, &cast.writer.user_id).await;

    assert_answer(&answer, StatusCode::OK, &ok_body());
    assert!(role_of(&app, &cast.workspace, &cast.writer)
        .await
        .is_empty());
    let sql = "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1";
    assert_eq!(app.count(sql, &[&cast.workspace]).await, 4);
    let read = app
        .get(&cast.path(""), Some(&cast.writer.access_token))
        .await;
    let hidden = error_body(
        "Workspace not found or access denied",
        "WORKSPACE_NOT_FOUND",
    );
    assert_answer(&read, StatusCode::NOT_FOUND, &hidden);
}

#[tokio::test]
async fn without_a_valid_token_member_routes_answer_401() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let member = cast.path(&format!("/users/{}", cast.reader.user_id));
    let before = app.snapshot().await;

    for token in [None, Some("garbage")] {
        let body = json!({ "userId": cast.plain.user_id, "role": "READ" });
        let answers = [
            app.request(Method::POST, &cast.path("/users"), token, Some(body))
                .await,
            app.request(
                Method::PUT,
                &member,
                token,
                Some(json!({ "role": "ADMIN" })),
            )
            .await,
            app.delete(&member, token).await,
        ];
        for answer in &answers {
            assert_answer(answer, StatusCode::UNAUTHORIZED, &unauthorized_body());
        }
    }
    app.assert_unchanged(&before).await;
}

// A real race only on PostgreSQL: on SQLite the server's one writer thread runs these writes
// one after another, so there this checks the serial outcome (instances_race.rs races two
// server processes on one SQLite file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removing_both_of_two_admins_in_parallel_leaves_exactly_one() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    for round in 0..10 {
        // Two ADMIN members: the manager (creator) and the admin; the owner removes both at once.
        let workspace = create(&app, &cast.manager, &format!("Race {round}")).await;
        let body = Some(json!({ "userId": cast.admin.user_id, "role": "ADMIN" }));
        assert_eq!(
            add(&app, &cast.manager, &workspace, body).await.status,
            StatusCode::OK
        );

        let targets = [&cast.manager, &cast.admin];
        let answers = join_all(
            targets
                .iter()
                .map(|t| remove(&app, &cast.owner, &workspace, &t.user_id)),
        )
        .await;

        let removed: Vec<usize> = (0..2)
            .filter(|i| answers[*i].status == StatusCode::OK)
            .collect();
        assert_eq!(removed.len(), 1, "round {round}: {answers:?}");
        let (gone, kept) = (removed[0], 1 - removed[0]);
        assert_eq!(answers[gone].body, ok_body(), "round {round}");
        assert_answer(&answers[kept], StatusCode::BAD_REQUEST, &last_admin_body());
        assert!(
            role_of(&app, &workspace, targets[gone]).await.is_empty(),
            "round {round}"
        );
        assert_eq!(
            role_of(&app, &workspace, targets[kept]).await,
            ["ADMIN"],
            "round {round}"
        );
        let sql = "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1";
        assert_eq!(app.count(sql, &[&workspace]).await, 1, "round {round}");
    }
}
