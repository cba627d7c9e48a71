//! POST /workspace: every status of contract section 3, the check order, and uniqueness under
//! concurrency.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::Verification::{Unverified, Verified};
use crate::support::accounts::{names_with_hidden_characters, Account, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{
    assert_answer, assert_unauthorized, error_body, not_validated_body,
};
use crate::support::cast::taken_body;
use crate::support::client::Answer;

fn forbidden_body() -> Value {
    error_body(
        "Insufficient permissions to create workspaces",
        "INSUFFICIENT_PERMISSIONS",
    )
}

/// The 201 answer creating `name` (as stored) in `by`'s organization gives, its id taken from
/// the answer after checking it is a UUIDv7.
fn created(answer: &Answer, by: &Account, name: &str) -> Value {
    let id = answer.body["workspace"]["id"].as_str().unwrap_or_default();
    let version = Uuid::parse_str(id).map(|id| id.get_version_num());
    assert_eq!(version, Ok(7), "{}", answer.body);
    json!({ "success": true, "workspace": { "id": id, "name": name, "orgId": by.org_id } })
}

/// The workspaces of an organization as stored: name and its one ADMIN member's e-mail.
async fn stored(app: &TestApp, org_id: &str) -> Vec<String> {
    let sql = "SELECT w.name || '|' || u.email FROM workspaces w \
               JOIN workspace_members m ON m.workspace_id = w.id AND m.role = 'ADMIN' \
               JOIN users u ON u.id = m.user_id WHERE w.org_id = $1 AND w.deleted_at IS NULL \
               ORDER BY w.name";
    app.strings(sql, &[org_id]).await
}

async fn live_workspaces(app: &TestApp, org_id: &str) -> i64 {
    app.count(
        "SELECT COUNT(*) FROM workspaces WHERE org_id = $1 AND deleted_at IS NULL",
        &[org_id],
    )
    .await
}

#[tokio::test]
async fn an_owner_creates_a_workspace_and_becomes_its_admin() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = app
        .create_workspace(&owner.access_token, "Development Workspace")
        .await;

    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &owner, "Development Workspace"),
    );
    let id = answer.body["workspace"]["id"].as_str().unwrap().to_owned();
    let names = app
        .strings(
            "SELECT name FROM workspaces WHERE id = $1 AND org_id = $2",
            &[&id, &owner.org_id],
        )
        .await;
    assert_eq!(names, vec!["Development Workspace"]);
    let roles = app
        .strings(
            "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2",
            &[&id, &owner.user_id],
        )
        .await;
    assert_eq!(roles, vec!["ADMIN"]);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1",
            &[&id]
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_name_is_trimmed_and_stored_as_sent() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = app
        .create_workspace(&owner.access_token, "  Équipe Rouge\t")
        .await;

    let expected = created(&answer, &owner, "Équipe Rouge");
    assert_answer(&answer, StatusCode::CREATED, &expected);
    let names = app
        .strings(
            "SELECT name FROM workspaces WHERE org_id = $1",
            &[&owner.org_id],
        )
        .await;
    assert_eq!(names, vec!["Équipe Rouge"]);
}

#[tokio::test]
async fn a_taken_name_answers_409_whatever_its_case_and_surrounding_space() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let first = app
        .create_workspace(&owner.access_token, "Équipe Rouge")
        .await;
    let expected = created(&first, &owner, "Équipe Rouge");
    assert_answer(&first, StatusCode::CREATED, &expected);

    for name in ["Équipe Rouge", "équipe rouge", "  ÉQUIPE ROUGE  "] {
        let answer = app.create_workspace(&owner.access_token, name).await;
        assert_answer(&answer, StatusCode::CONFLICT, &taken_body());
    }
    assert_eq!(live_workspaces(&app, &owner.org_id).await, 1);
}

#[tokio::test]
async fn the_same_name_is_free_in_another_organization() {
    let app = spawn_app().await;
    let first = app.register_verified("first@example.com").await;
    let second = app.register_verified("second@example.com").await;

    let answer = app.create_workspace(&first.access_token, "Shared").await;
    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &first, "Shared"),
    );
    let answer = app.create_workspace(&second.access_token, "Shared").await;

    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &second, "Shared"),
    );
    assert_eq!(answer.body["workspace"]["orgId"], json!(second.org_id));
    assert_eq!(
        stored(&app, &first.org_id).await,
        ["Shared|first@example.com"]
    );
    assert_eq!(
        stored(&app, &second.org_id).await,
        ["Shared|second@example.com"]
    );
}

#[tokio::test]
async fn a_deleted_workspace_frees_its_name() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let first = app.create_workspace(&owner.access_token, "Reused").await;
    let first_id = first.body["workspace"]["id"].as_str().unwrap().to_owned();
    app.execute(
        "UPDATE workspaces SET deleted_at = 1 WHERE id = $1",
        &[&first_id],
    )
    .await;

    let answer = app.create_workspace(&owner.access_token, "reused").await;

    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &owner, "reused"),
    );
    assert_ne!(answer.body["workspace"]["id"], json!(first_id));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = $1",
            &[&owner.org_id]
        )
        .await,
        2
    );
    assert_eq!(
        stored(&app, &owner.org_id).await,
        ["reused|owner@example.com"]
    );
}

#[tokio::test]
async fn before_verification_it_answers_400_and_after_it_201() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let login = app.login("ann@example.com", PASSWORD).await;
    let token = login.str("accessToken");

    let answer = app.create_workspace(&token, "Early").await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &not_validated_body());
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);

    app.verify("ann@example.com").await;
    // Verifying ended the sessions opened before it: the same person logs in again.
    let token = app.log_in(&account).await.access_token;
    let answer = app.create_workspace(&token, "Early").await;
    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &account, "Early"),
    );
    assert_eq!(
        stored(&app, &account.org_id).await,
        ["Early|ann@example.com"]
    );
}

#[tokio::test]
async fn an_unverified_member_with_a_creating_role_answers_400_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    for (i, role) in [2, 254, 255].into_iter().enumerate() {
        let email = format!("unverified{i}@example.com");
        let member = app.member(&owner, &email, role, Unverified).await;

        let answer = app.create_workspace(&member.access_token, "Early").await;

        assert_answer(&answer, StatusCode::BAD_REQUEST, &not_validated_body());
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}

#[tokio::test]
async fn without_a_valid_token_it_answers_401() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({ "name": "Nope" });

    for token in [None, Some("garbage"), Some(&owner.refresh_token[..])] {
        let answer = app
            .request(Method::POST, "/workspace", token, Some(body.clone()))
            .await;
        assert_unauthorized(&answer);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}

/// Contract section 3: a deleted caller's session is dead, so it gets the 401 of a dead token,
/// not the 400 of an unvalidated caller; whether the user was deleted in the database or through
/// `DELETE /organization/users/{id}`.
#[tokio::test]
async fn a_deleted_users_token_answers_401_at_once() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let manager = app.member(&owner, "manager@example.com", 2, Verified).await;
    app.execute(
        "UPDATE users SET deleted_at = 1 WHERE id = $1",
        &[&owner.user_id],
    )
    .await;
    let other = app.register_verified("other@example.com").await;
    let removed = app
        .member(&other, "removed@example.com", 254, Verified)
        .await;
    let path = format!("/organization/users/{}", removed.user_id);
    let deleted = app.delete(&path, Some(&other.access_token)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);

    for token in [&owner.access_token, &removed.access_token] {
        let answer = app.create_workspace(token, "Ghost").await;
        assert_unauthorized(&answer);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
    // The session itself was live: the deleted user is what ends it.
    let answer = app.create_workspace(&manager.access_token, "Alive").await;
    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &manager, "Alive"),
    );
}

#[tokio::test]
async fn only_workspaces_administrators_and_owner_roles_may_create() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    for (role, expected) in [
        (0, StatusCode::FORBIDDEN),
        (1, StatusCode::FORBIDDEN),
        (2, StatusCode::CREATED),
        (254, StatusCode::CREATED),
        (255, StatusCode::CREATED),
    ] {
        let email = format!("role{role}@example.com");
        let account = app.member(&owner, &email, role, Verified).await;
        let name = format!("Role {role}");
        let answer = app.create_workspace(&account.access_token, &name).await;
        let body = if expected == StatusCode::FORBIDDEN {
            forbidden_body()
        } else {
            created(&answer, &account, &name)
        };
        assert_answer(&answer, expected, &body);
    }
    assert_eq!(live_workspaces(&app, &owner.org_id).await, 3);
    assert_eq!(
        stored(&app, &owner.org_id).await,
        [
            "Role 2|role2@example.com",
            "Role 254|role254@example.com",
            "Role 255|role255@example.com",
        ]
    );
}

#[tokio::test]
async fn invalid_names_answer_400_and_write_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let required = error_body("Workspace name is required", "WORKSPACE_NAME_REQUIRED");
    let too_long = error_body(
        "Workspace name must be at most 100 characters",
        "WORKSPACE_NAME_TOO_LONG",
    );
    let invalid = error_body(
        "Workspace name contains invalid characters",
        "WORKSPACE_NAME_INVALID",
    );
    let wrong_type = error_body("Invalid value for field 'name'", "INVALID_FIELD");

    let hidden = names_with_hidden_characters()
        .into_iter()
        .map(|name| (json!({ "name": name }), &invalid));
    for (body, expected) in [
        (json!({}), &required),
        (json!({ "name": null }), &required),
        (json!({ "name": "" }), &required),
        (json!({ "name": "   \n" }), &required),
        (json!({ "name": "x".repeat(101) }), &too_long),
        (json!({ "name": "bad\u{0007}name" }), &invalid),
        (json!({ "name": "line\nbreak" }), &invalid),
        (json!({ "name": 42 }), &wrong_type),
        (json!({ "name": ["a"] }), &wrong_type),
    ]
    .into_iter()
    .chain(hidden)
    {
        let answer = app
            .request(
                Method::POST,
                "/workspace",
                Some(&owner.access_token),
                Some(body.clone()),
            )
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, expected);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);

    // 100 characters are allowed.
    let longest = "ü".repeat(100);
    let answer = app.create_workspace(&owner.access_token, &longest).await;
    assert_answer(
        &answer,
        StatusCode::CREATED,
        &created(&answer, &owner, &longest),
    );
    assert_eq!(
        stored(&app, &owner.org_id).await,
        [format!("{longest}|owner@example.com")]
    );
}

#[tokio::test]
async fn a_request_without_body_or_content_type_is_a_missing_name() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = app
        .request(Method::POST, "/workspace", Some(&owner.access_token), None)
        .await;

    let required = error_body("Workspace name is required", "WORKSPACE_NAME_REQUIRED");
    assert_answer(&answer, StatusCode::BAD_REQUEST, &required);
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}

#[tokio::test]
async fn checks_run_in_the_documented_order() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let taken = app.create_workspace(&owner.access_token, "Taken").await;
    assert_answer(
        &taken,
        StatusCode::CREATED,
        &created(&taken, &owner, "Taken"),
    );
    let required = error_body("Workspace name is required", "WORKSPACE_NAME_REQUIRED");

    // Token before body.
    let answer = app
        .request(
            Method::POST,
            "/workspace",
            None,
            Some(json!({ "name": "" })),
        )
        .await;
    assert_unauthorized(&answer);

    // Body before the caller's validation.
    let unverified = app.register("late@example.com").await;
    let answer = app.create_workspace(&unverified.access_token, "").await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &required);

    // Validation before role.
    let unverified_user = app
        .member(&owner, "late-user@example.com", 0, Unverified)
        .await;
    let answer = app
        .create_workspace(&unverified_user.access_token, "Fine")
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &not_validated_body());

    // Role before name.
    let user = app.member(&owner, "user@example.com", 0, Verified).await;
    let answer = app.create_workspace(&user.access_token, "Taken").await;
    assert_answer(&answer, StatusCode::FORBIDDEN, &forbidden_body());
    assert_eq!(
        stored(&app, &owner.org_id).await,
        ["Taken|owner@example.com"]
    );
    assert_eq!(live_workspaces(&app, &unverified.org_id).await, 0);
}

// A real race only on PostgreSQL: on SQLite the server's one writer thread runs these writes
// one after another, so there this checks the serial outcome (instances_race.rs races two
// server processes on one SQLite file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_creates_of_one_name_give_one_201_and_31_409() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let attempts = (0..32).map(|i| {
        // Same name up to case and surrounding space.
        let name = if i % 2 == 0 {
            "Race".to_owned()
        } else {
            format!(" race{} ", " ".repeat(i % 3))
        };
        let app = &app;
        let token = owner.access_token.clone();
        async move { app.create_workspace(&token, &name).await }
    });
    let answers = join_all(attempts).await;

    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    let conflicts: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CONFLICT)
        .collect();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(conflicts.len(), 31);
    assert!(conflicts.iter().all(|a| a.body == taken_body()));
    assert_eq!(live_workspaces(&app, &owner.org_id).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM workspace_members", &[])
            .await,
        1
    );
}

#[tokio::test]
async fn a_revoked_session_answers_401_before_a_bad_body() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.execute(
        "UPDATE sessions SET revoked_at = 1 WHERE user_id = $1",
        &[&owner.user_id],
    )
    .await;

    for body in [
        json!({ "name": "" }),
        json!({ "name": 5 }),
        json!({ "name": "Fine" }),
    ] {
        let answer = app
            .request(
                Method::POST,
                "/workspace",
                Some(&owner.access_token),
                Some(body.clone()),
            )
            .await;
        assert_unauthorized(&answer);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}

#[tokio::test]
async fn a_database_failure_answers_500_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    // The membership insert now fails: the workspace insert before it must not stay.
    app.execute(
        "ALTER TABLE workspace_members RENAME TO workspace_members_gone",
        &[],
    )
    .await;

    let answer = app.create_workspace(&owner.access_token, "Doomed").await;

    let failed = error_body("Failed to create workspace", "INTERNAL_ERROR");
    assert_answer(&answer, StatusCode::INTERNAL_SERVER_ERROR, &failed);
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}
