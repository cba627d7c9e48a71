//! PUT /workspace/{id} (rename) and DELETE /workspace/{id} (soft delete), contract section 3.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::{names_with_hidden_characters, Account};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{
    assert_answer, error_body, not_validated_body, unauthorized_body,
};
use crate::support::cast::{create, normalized, taken_body, Cast, WORKSPACE_NAME};
use crate::support::client::Answer;

fn not_found_body() -> Value {
    error_body("Workspace not found", "WORKSPACE_NOT_FOUND")
}

fn renamed_body(id: &str, name: &str, org_id: &str) -> Value {
    json!({ "success": true, "workspace": { "id": id, "name": name, "orgId": org_id } })
}

async fn rename(app: &TestApp, by: &Account, id: &str, body: Option<Value>) -> Answer {
    let path = format!("/workspace/{id}");
    app.request(Method::PUT, &path, Some(&by.access_token), body)
        .await
}

async fn delete(app: &TestApp, by: &Account, id: &str) -> Answer {
    app.delete(&format!("/workspace/{id}"), Some(&by.access_token))
        .await
}

async fn stored_name(app: &TestApp, id: &str) -> Vec<String> {
    let sql = "SELECT name || '|' || name_key FROM workspaces WHERE id = $1";
    app.strings(sql, &[id]).await
}

#[tokio::test]
async fn a_workspace_admin_renames_it_with_the_name_trimmed() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    let answer = rename(
        &app,
        &cast.admin,
        &cast.workspace,
        Some(json!({ "name": "  Renamed\t" })),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        renamed_body(&cast.workspace, "Renamed", cast.org_id())
    );
    assert_eq!(
        stored_name(&app, &cast.workspace).await,
        ["Renamed|renamed"]
    );
    let read = app
        .get(&cast.path(""), Some(&cast.reader.access_token))
        .await;
    let mut expected = cast.workspace_json();
    expected["name"] = json!("Renamed");
    assert_eq!(read.status, StatusCode::OK);
    let expected = json!({ "success": true, "workspace": expected });
    assert_eq!(normalized(read.body), normalized(expected));
}

#[tokio::test]
async fn organization_owners_and_administrators_rename_without_being_members() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let managed = create(&app, &cast.manager, "Managed").await;

    for (account, name) in [
        (&cast.owner, "By Owner"),
        (&cast.administrator, "By Administrator"),
    ] {
        let answer = rename(&app, account, &managed, Some(json!({ "name": name }))).await;
        assert_answer(
            &answer,
            StatusCode::OK,
            &renamed_body(&managed, name, cast.org_id()),
        );
        assert_eq!(
            stored_name(&app, &managed).await,
            [format!("{name}|{}", name.to_lowercase())]
        );
    }
}

#[tokio::test]
async fn a_workspace_may_change_the_case_of_its_own_name() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    let answer = rename(
        &app,
        &cast.owner,
        &cast.workspace,
        Some(json!({ "name": " CAST workspace " })),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body,
        renamed_body(&cast.workspace, "CAST workspace", cast.org_id())
    );
    assert_eq!(
        stored_name(&app, &cast.workspace).await,
        ["CAST workspace|cast workspace"]
    );
}

#[tokio::test]
async fn a_name_held_by_another_workspace_answers_409_and_changes_nothing() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    create(&app, &cast.owner, "Other").await;
    let before = app.snapshot().await;

    for name in ["Other", " other ", "OTHER"] {
        let answer = rename(
            &app,
            &cast.admin,
            &cast.workspace,
            Some(json!({ "name": name })),
        )
        .await;
        assert_answer(&answer, StatusCode::CONFLICT, &taken_body());
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn invalid_names_answer_400_and_change_nothing() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
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
    let before = app.snapshot().await;

    let hidden = names_with_hidden_characters()
        .into_iter()
        .map(|name| (json!(name), &invalid));
    for (name, expected) in [
        (json!(""), &required),
        (json!("  \t "), &required),
        (json!("x".repeat(101)), &too_long),
        (json!("bad\u{0007}name"), &invalid),
        (json!("line\nbreak"), &invalid),
        (json!(42), &wrong_type),
        (json!(["a"]), &wrong_type),
    ]
    .into_iter()
    .chain(hidden)
    {
        let answer = rename(
            &app,
            &cast.owner,
            &cast.workspace,
            Some(json!({ "name": name })),
        )
        .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, expected);
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn an_empty_body_or_no_body_at_all_answers_200_and_changes_nothing() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let before = app.snapshot().await;

    for body in [Some(json!({})), None] {
        let answer = rename(&app, &cast.admin, &cast.workspace, body.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{body:?}");
        assert_eq!(
            answer.body,
            renamed_body(&cast.workspace, WORKSPACE_NAME, cast.org_id())
        );
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn write_and_read_members_may_neither_rename_nor_delete() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let before = app.snapshot().await;

    for account in [&cast.writer, &cast.reader] {
        let answer = rename(
            &app,
            account,
            &cast.workspace,
            Some(json!({ "name": "Mine" })),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", account.email);
        assert_eq!(
            answer.body,
            error_body(
                "Insufficient permissions to update workspace",
                "INSUFFICIENT_PERMISSIONS"
            )
        );
        let answer = delete(&app, account, &cast.workspace).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", account.email);
        assert_eq!(
            answer.body,
            error_body(
                "Insufficient permissions to delete workspace",
                "INSUFFICIENT_PERMISSIONS"
            )
        );
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn callers_who_cannot_see_the_workspace_get_404_on_rename_and_delete() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let gone = create(&app, &cast.owner, "Gone").await;
    assert_eq!(
        delete(&app, &cast.owner, &gone).await.status,
        StatusCode::OK
    );
    let unknown = Uuid::now_v7().to_string();
    let before = app.snapshot().await;

    for (account, id) in [
        (&cast.outsider, cast.workspace.as_str()),
        (&cast.plain, cast.workspace.as_str()),
        (&cast.manager, cast.workspace.as_str()),
        (&cast.owner, gone.as_str()),
        (&cast.owner, unknown.as_str()),
        (&cast.owner, "not-a-uuid"),
    ] {
        let renamed = rename(&app, account, id, Some(json!({ "name": "Found" }))).await;
        let deleted = delete(&app, account, id).await;
        for answer in [renamed, deleted] {
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{} {id}",
                account.email
            );
            assert_eq!(answer.body, not_found_body(), "{} {id}", account.email);
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn an_unvalidated_member_gets_400_on_rename_and_delete() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let before = app.snapshot().await;

    let renamed = rename(
        &app,
        &cast.unvalidated,
        &cast.workspace,
        Some(json!({ "name": "Early" })),
    )
    .await;
    let deleted = delete(&app, &cast.unvalidated, &cast.workspace).await;

    for answer in [renamed, deleted] {
        assert_answer(&answer, StatusCode::BAD_REQUEST, &not_validated_body());
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn without_a_valid_token_rename_and_delete_answer_401() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let before = app.snapshot().await;

    for token in [None, Some("garbage")] {
        let body = Some(json!({ "name": "Nope" }));
        let renamed = app.request(Method::PUT, &cast.path(""), token, body).await;
        let deleted = app.delete(&cast.path(""), token).await;
        for answer in [renamed, deleted] {
            assert_answer(&answer, StatusCode::UNAUTHORIZED, &unauthorized_body());
        }
    }
    app.assert_unchanged(&before).await;
}

// A real race only on PostgreSQL: on SQLite the server's one writer thread runs these writes
// one after another, so there this checks the serial outcome (instances_race.rs races two
// server processes on one SQLite file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_parallel_renames_of_two_workspaces_to_one_name_leave_it_on_exactly_one() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let ids = [
        create(&app, &owner, "First").await,
        create(&app, &owner, "Second").await,
    ];

    let attempts = (0..16).map(|i| {
        let (app, owner, id) = (&app, &owner, ids[i % 2].clone());
        async move {
            (
                id.clone(),
                rename(app, owner, &id, Some(json!({ "name": "Winner" }))).await,
            )
        }
    });
    let answers = join_all(attempts).await;

    // Once one workspace holds the name, renaming it to that name again is a rename of itself
    // (200), and every rename of the other one conflicts: all 200s go to one workspace.
    let (winner, _) = answers
        .iter()
        .find(|(_, answer)| answer.status == StatusCode::OK)
        .expect("one rename succeeds");
    for (id, answer) in &answers {
        let (status, body) = if id == winner {
            (StatusCode::OK, renamed_body(id, "Winner", &owner.org_id))
        } else {
            (StatusCode::CONFLICT, taken_body())
        };
        assert_answer(answer, status, &body);
    }
    let (loser, loser_name) = if *winner == ids[0] {
        (&ids[1], "Second|second")
    } else {
        (&ids[0], "First|first")
    };
    assert_eq!(stored_name(&app, winner).await, ["Winner|winner"]);
    assert_eq!(stored_name(&app, loser).await, [loser_name]);
}

#[tokio::test]
async fn an_admin_soft_deletes_the_workspace_and_frees_its_name() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    let answer = delete(&app, &cast.admin, &cast.workspace).await;

    assert_answer(&answer, StatusCode::OK, &json!({ "success": true }));
    let sql = "SELECT COUNT(*) FROM workspaces WHERE id = $1 AND deleted_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&cast.workspace]).await, 1);
    let sql = "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1";
    assert_eq!(app.count(sql, &[&cast.workspace]).await, 5);
    let listed = app.get("/workspace", Some(&cast.owner.access_token)).await;
    assert_eq!(listed.body, json!({ "success": true, "workspaces": [] }));
    let read = app
        .get(&cast.path(""), Some(&cast.admin.access_token))
        .await;
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(
        read.body,
        error_body(
            "Workspace not found or access denied",
            "WORKSPACE_NOT_FOUND"
        )
    );

    let again = app
        .create_workspace(&cast.owner.access_token, WORKSPACE_NAME)
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let id = again.body["workspace"]["id"].as_str().unwrap();
    assert_ne!(id, cast.workspace);
    assert_eq!(
        again.body,
        json!({ "success": true, "workspace": { "id": id, "name": WORKSPACE_NAME, "orgId": cast.org_id() } })
    );
}

#[tokio::test]
async fn organization_administrators_delete_a_workspace_they_are_not_members_of() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    let answer = delete(&app, &cast.administrator, &cast.workspace).await;

    assert_answer(&answer, StatusCode::OK, &json!({ "success": true }));
    let sql = "SELECT COUNT(*) FROM workspaces WHERE id = $1 AND deleted_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&cast.workspace]).await, 1);
}

#[tokio::test]
async fn a_workspace_holding_buckets_or_repos_cannot_be_deleted() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    for kind in ["bucket", "repo"] {
        let resource = Uuid::now_v7().to_string();
        app.execute(
            &format!(
                "INSERT INTO workspace_resources (id, workspace_id, kind, name, created_at) \
                 VALUES ($1, $2, '{kind}', 'thing', 1)"
            ),
            &[&resource, &cast.workspace],
        )
        .await;
        let before = app.snapshot().await;

        let answer = delete(&app, &cast.owner, &cast.workspace).await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{kind}");
        assert_eq!(
            answer.body,
            error_body(
                "Cannot delete workspace with existing buckets or repos",
                "WORKSPACE_NOT_EMPTY"
            )
        );
        app.assert_unchanged(&before).await;
        app.execute(
            "DELETE FROM workspace_resources WHERE id = $1",
            &[&resource],
        )
        .await;
    }
    let answer = delete(&app, &cast.owner, &cast.workspace).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "empty again: {}",
        answer.body
    );
}
