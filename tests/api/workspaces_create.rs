//! POST /workspace: every status of contract section 3, the check order, and uniqueness under
//! concurrency.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_body, spawn_app, unauthorized_body, Account, TestApp, PASSWORD};

fn taken_body() -> Value {
    error_body(
        "A workspace with this name already exists in the organization",
        "WORKSPACE_NAME_TAKEN",
    )
}

fn not_validated_body() -> Value {
    error_body(
        "User not found or account is not validated",
        "USER_NOT_VALIDATED",
    )
}

fn forbidden_body() -> Value {
    error_body(
        "Insufficient permissions to create workspaces",
        "INSUFFICIENT_PERMISSIONS",
    )
}

/// Sets the account's organization role directly (the role routes belong to another issue).
async fn set_org_role(app: &TestApp, account: &Account, role: i64) {
    let sql = format!("UPDATE users SET org_role = {role} WHERE id = $1");
    assert_eq!(app.execute(&sql, &[&account.user_id]).await, 1);
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

    assert_eq!(answer.status, StatusCode::CREATED);
    let id = answer.body["workspace"]["id"].as_str().unwrap().to_owned();
    assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    assert_eq!(
        answer.body,
        json!({
            "success": true,
            "workspace": { "id": id, "name": "Development Workspace", "orgId": owner.org_id },
        })
    );
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

    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.body["workspace"]["name"], "Équipe Rouge");
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
    assert_eq!(
        app.create_workspace(&owner.access_token, "Équipe Rouge")
            .await
            .status,
        StatusCode::CREATED
    );

    for name in ["Équipe Rouge", "équipe rouge", "  ÉQUIPE ROUGE  "] {
        let answer = app.create_workspace(&owner.access_token, name).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{name}");
        assert_eq!(answer.body, taken_body());
    }
    assert_eq!(live_workspaces(&app, &owner.org_id).await, 1);
}

#[tokio::test]
async fn the_same_name_is_free_in_another_organization() {
    let app = spawn_app().await;
    let first = app.register_verified("first@example.com").await;
    let second = app.register_verified("second@example.com").await;

    assert_eq!(
        app.create_workspace(&first.access_token, "Shared")
            .await
            .status,
        StatusCode::CREATED
    );
    let answer = app.create_workspace(&second.access_token, "Shared").await;

    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.body["workspace"]["orgId"], json!(second.org_id));
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

    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = $1",
            &[&owner.org_id]
        )
        .await,
        2
    );
}

#[tokio::test]
async fn before_verification_it_answers_400_and_after_it_201() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let login = app.login("ann@example.com", PASSWORD).await;
    let token = login.str("accessToken");

    let answer = app.create_workspace(&token, "Early").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body, not_validated_body());
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);

    app.verify("ann@example.com").await;
    let answer = app.create_workspace(&token, "Early").await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
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
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body, unauthorized_body());
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}

#[tokio::test]
async fn a_deleted_users_token_answers_401_at_once() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.execute(
        "UPDATE users SET deleted_at = 1 WHERE id = $1",
        &[&owner.user_id],
    )
    .await;

    let answer = app.create_workspace(&owner.access_token, "Ghost").await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body, unauthorized_body());
}

#[tokio::test]
async fn only_workspaces_administrators_and_owner_roles_may_create() {
    let app = spawn_app().await;
    let account = app.register_verified("member@example.com").await;

    for (role, expected) in [
        (0, StatusCode::FORBIDDEN),
        (1, StatusCode::FORBIDDEN),
        (2, StatusCode::CREATED),
        (254, StatusCode::CREATED),
        (255, StatusCode::CREATED),
    ] {
        set_org_role(&app, &account, role).await;
        let answer = app
            .create_workspace(&account.access_token, &format!("Role {role}"))
            .await;
        assert_eq!(answer.status, expected, "role {role}: {}", answer.body);
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(answer.body, forbidden_body());
        }
    }
    assert_eq!(live_workspaces(&app, &account.org_id).await, 3);
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
    ] {
        let answer = app
            .request(
                Method::POST,
                "/workspace",
                Some(&owner.access_token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(&answer.body, expected, "{body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);

    let longest = "ü".repeat(100);
    let answer = app.create_workspace(&owner.access_token, &longest).await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "100 characters are allowed"
    );
}

#[tokio::test]
async fn a_request_without_body_or_content_type_is_a_missing_name() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = app
        .request(Method::POST, "/workspace", Some(&owner.access_token), None)
        .await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        error_body("Workspace name is required", "WORKSPACE_NAME_REQUIRED")
    );
}

#[tokio::test]
async fn checks_run_in_the_documented_order() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    assert_eq!(
        app.create_workspace(&owner.access_token, "Taken")
            .await
            .status,
        StatusCode::CREATED
    );

    // Token before body.
    let answer = app
        .request(
            Method::POST,
            "/workspace",
            None,
            Some(json!({ "name": "" })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    // Body before the caller's validation.
    let unverified = app.register("late@example.com").await;
    let answer = app.create_workspace(&unverified.access_token, "").await;
    assert_eq!(
        answer.body,
        error_body("Workspace name is required", "WORKSPACE_NAME_REQUIRED")
    );

    // Validation before role.
    set_org_role(&app, &unverified, 0).await;
    let answer = app.create_workspace(&unverified.access_token, "Fine").await;
    assert_eq!(answer.body, not_validated_body());

    // Role before name.
    set_org_role(&app, &owner, 0).await;
    let answer = app.create_workspace(&owner.access_token, "Taken").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body, forbidden_body());
}

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
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(answer.body, unauthorized_body(), "{body}");
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

    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        answer.body,
        error_body("Failed to create workspace", "INTERNAL_ERROR")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces", &[]).await, 0);
}
