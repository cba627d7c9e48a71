//! GET /workspace and GET /workspace/{id} (contract section 3): who sees what, the member lists,
//! the order, one 404 for everything invisible, and pagination.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::{Account, Verification};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{error_body, unauthorized_body};
use crate::support::cast::{
    self, create, delete_user, member_json, normalized, workspace_json, Cast,
};

fn hidden_body() -> Value {
    error_body(
        "Workspace not found or access denied",
        "WORKSPACE_NOT_FOUND",
    )
}

fn list_body(workspaces: &[Value]) -> Value {
    json!({ "success": true, "workspaces": workspaces })
}

fn one_body(workspace: &Value) -> Value {
    json!({ "success": true, "workspace": workspace })
}

/// Five workspaces of `owner` (its only member), in the order the list must give them.
async fn five_workspaces(app: &TestApp, owner: &Account) -> Vec<Value> {
    let mut created = Vec::new();
    for name in ["banana", "Apple", "cherry", "apricot", "Blueberry"] {
        let id = create(app, owner, name).await;
        let users = vec![member_json(owner, "ADMIN", 255)];
        created.push(workspace_json(&id, name, &owner.org_id, users));
    }
    let by_name = |name: &str| created.iter().find(|w| w["name"] == name).unwrap().clone();
    ["Apple", "apricot", "banana", "Blueberry", "cherry"]
        .into_iter()
        .map(by_name)
        .collect()
}

#[tokio::test]
async fn every_actor_lists_exactly_the_workspaces_it_may_see() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let second = create(&app, &cast.owner, "Second").await;
    let outside = create(&app, &cast.outsider, "Outside").await;
    let owner_only = vec![member_json(&cast.owner, "ADMIN", 255)];
    let second = workspace_json(&second, "Second", cast.org_id(), owner_only);
    let outsider_only = vec![member_json(&cast.outsider, "ADMIN", 255)];
    let outside = workspace_json(&outside, "Outside", &cast.outsider.org_id, outsider_only);
    let everything = vec![cast.workspace_json(), second];
    let only_cast = vec![cast.workspace_json()];

    for (account, expected) in [
        (&cast.owner, &everything),
        (&cast.administrator, &everything),
        (&cast.admin, &only_cast),
        (&cast.writer, &only_cast),
        (&cast.reader, &only_cast),
        (&cast.unvalidated, &only_cast),
        (&cast.manager, &vec![]),
        (&cast.plain, &vec![]),
        (&cast.outsider, &vec![outside.clone()]),
    ] {
        let answer = app.get("/workspace", Some(&account.access_token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", account.email);
        assert_eq!(
            normalized(answer.body),
            normalized(list_body(expected)),
            "{}",
            account.email
        );
    }
}

#[tokio::test]
async fn members_and_organization_administrators_read_the_workspace_and_others_get_404() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let expected = normalized(one_body(&cast.workspace_json()));

    for account in [
        &cast.owner,
        &cast.administrator,
        &cast.admin,
        &cast.writer,
        &cast.reader,
        &cast.unvalidated,
    ] {
        let answer = app.get(&cast.path(""), Some(&account.access_token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", account.email);
        assert_eq!(normalized(answer.body), expected, "{}", account.email);
    }
    for account in [&cast.manager, &cast.plain, &cast.outsider] {
        let answer = app.get(&cast.path(""), Some(&account.access_token)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", account.email);
        assert_eq!(answer.body, hidden_body(), "{}", account.email);
    }
}

#[tokio::test]
async fn a_workspace_user_has_exactly_the_documented_shape() {
    let app = spawn_app().await;
    let owner = app.register_verified("solo@example.com").await;
    let id = create(&app, &owner, "Solo").await;

    let answer = app
        .get(&format!("/workspace/{id}"), Some(&owner.access_token))
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({
            "success": true,
            "workspace": {
                "id": id,
                "name": "Solo",
                "orgId": owner.org_id,
                "users": [{
                    "userId": owner.user_id,
                    "role": "ADMIN",
                    "user": {
                        "id": owner.user_id,
                        "name": "Ann",
                        "lastName": "Lee",
                        "email": "solo@example.com",
                        "orgRole": 255,
                    },
                }],
            },
        })
    );
}

#[tokio::test]
async fn a_deleted_user_disappears_from_the_member_lists() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    delete_user(&app, &cast.writer).await;
    let mut expected = cast.workspace_json();
    expected["users"]
        .as_array_mut()
        .unwrap()
        .retain(|u| u["userId"] != json!(cast.writer.user_id));
    assert_eq!(expected["users"].as_array().unwrap().len(), 4);

    let listed = app.get("/workspace", Some(&cast.owner.access_token)).await;
    let one = app
        .get(&cast.path(""), Some(&cast.reader.access_token))
        .await;

    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        normalized(listed.body),
        normalized(list_body(&[expected.clone()]))
    );
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(normalized(one.body), normalized(one_body(&expected)));
    // The membership row itself stays.
    assert_eq!(
        cast::role_of(&app, &cast.workspace, &cast.writer).await,
        ["WRITE"]
    );
}

#[tokio::test]
async fn workspaces_are_listed_by_name_ignoring_case() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let ordered = five_workspaces(&app, &owner).await;

    let answer = app.get("/workspace", Some(&owner.access_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, list_body(&ordered));
}

#[tokio::test]
async fn an_invisible_workspace_answers_the_same_404_whatever_the_reason() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let outside = create(&app, &cast.outsider, "Outside").await;
    let gone = create(&app, &cast.owner, "Gone").await;
    let second = create(&app, &cast.owner, "Second").await;
    let deleted = app
        .delete(
            &format!("/workspace/{gone}"),
            Some(&cast.owner.access_token),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let unknown = Uuid::now_v7().to_string();

    for (account, id) in [
        (&cast.owner, outside.as_str()),
        (&cast.owner, gone.as_str()),
        (&cast.owner, unknown.as_str()),
        (&cast.owner, "not-a-uuid"),
        (&cast.owner, "42"),
        (&cast.reader, second.as_str()),
        (&cast.plain, cast.workspace.as_str()),
        (&cast.manager, cast.workspace.as_str()),
        (&cast.outsider, cast.workspace.as_str()),
    ] {
        let answer = app
            .get(&format!("/workspace/{id}"), Some(&account.access_token))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{} {id}",
            account.email
        );
        assert_eq!(answer.body, hidden_body(), "{} {id}", account.email);
    }
    // The deleted one is gone from the list too.
    let listed = app.get("/workspace", Some(&cast.owner.access_token)).await;
    let owner_only = vec![member_json(&cast.owner, "ADMIN", 255)];
    let second = workspace_json(&second, "Second", cast.org_id(), owner_only);
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(
        normalized(listed.body),
        normalized(list_body(&[cast.workspace_json(), second]))
    );
}

#[tokio::test]
async fn limit_two_walks_five_workspaces_page_by_page() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let all = five_workspaces(&app, &owner).await;
    let token = Some(owner.access_token.as_str());

    let first = app.get("/workspace?limit=2", token).await;
    assert_eq!(first.status, StatusCode::OK);
    let cursor = first.str("nextCursor");
    assert_eq!(
        first.body,
        json!({ "success": true, "workspaces": all[0..2], "nextCursor": cursor })
    );

    let second = app
        .get(&format!("/workspace?limit=2&cursor={cursor}"), token)
        .await;
    assert_eq!(second.status, StatusCode::OK);
    let cursor = second.str("nextCursor");
    assert_eq!(
        second.body,
        json!({ "success": true, "workspaces": all[2..4], "nextCursor": cursor })
    );

    let last = app
        .get(&format!("/workspace?limit=2&cursor={cursor}"), token)
        .await;
    assert_eq!(last.status, StatusCode::OK);
    // Whole-body equality: the last page has no nextCursor key at all.
    assert_eq!(last.body, list_body(&all[4..]));
}

#[tokio::test]
async fn a_member_pages_through_only_the_workspaces_it_belongs_to() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let reader = app
        .member(&owner, "reader@example.com", 0, Verification::Verified)
        .await;
    let mut mine = Vec::new();
    for mut workspace in five_workspaces(&app, &owner).await {
        if ["Apple", "banana", "cherry"].contains(&workspace["name"].as_str().unwrap()) {
            let id = workspace["id"].as_str().unwrap().to_owned();
            cast::add_member(&app, &owner, &id, &reader, "READ").await;
            let users = workspace["users"].as_array_mut().unwrap();
            users.push(member_json(&reader, "READ", 0));
            mine.push(workspace);
        }
    }
    let token = Some(reader.access_token.as_str());

    let first = app.get("/workspace?limit=2", token).await;
    let cursor = first.str("nextCursor");
    let expected = json!({ "success": true, "workspaces": mine[0..2], "nextCursor": cursor });
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(normalized(first.body), normalized(expected));
    let last = app
        .get(&format!("/workspace?limit=2&cursor={cursor}"), token)
        .await;
    assert_eq!(last.status, StatusCode::OK);
    assert_eq!(normalized(last.body), normalized(list_body(&mine[2..])));
}

#[tokio::test]
async fn a_page_that_holds_the_rest_has_no_next_cursor() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let all = five_workspaces(&app, &owner).await;
    let token = Some(owner.access_token.as_str());

    for query in ["", "?limit=5", "?limit=200"] {
        let answer = app.get(&format!("/workspace{query}"), token).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}");
        assert_eq!(answer.body, list_body(&all), "{query}");
    }
    let first = app.get("/workspace?limit=1", token).await;
    let cursor = first.str("nextCursor");
    assert_eq!(
        first.body,
        json!({ "success": true, "workspaces": all[0..1], "nextCursor": cursor })
    );
    // A cursor alone pages with the default size, here everything that is left.
    let rest = app.get(&format!("/workspace?cursor={cursor}"), token).await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_eq!(rest.body, list_body(&all[1..]));
}

#[tokio::test]
async fn bad_limits_and_cursors_answer_400_invalid_query() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    five_workspaces(&app, &owner).await;
    let bad_limit = error_body("limit must be an integer from 1 to 200", "INVALID_QUERY");
    let bad_cursor = error_body("Invalid cursor", "INVALID_QUERY");

    for (query, expected) in [
        ("limit=0", &bad_limit),
        ("limit=201", &bad_limit),
        ("limit=abc", &bad_limit),
        ("limit=-1", &bad_limit),
        ("limit=1.5", &bad_limit),
        ("cursor=garbage", &bad_cursor),
        ("limit=2&cursor=garbage", &bad_cursor),
        ("cursor=", &bad_cursor),
    ] {
        let answer = app
            .get(&format!("/workspace?{query}"), Some(&owner.access_token))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(&answer.body, expected, "{query}");
    }
}

#[tokio::test]
async fn without_a_valid_token_listing_and_reading_answer_401() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;

    for path in ["/workspace".to_owned(), cast.path("")] {
        for token in [
            None,
            Some("garbage"),
            Some(cast.owner.refresh_token.as_str()),
        ] {
            let answer = app.get(&path, token).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path} {token:?}");
            assert_eq!(answer.body, unauthorized_body());
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
    }
}

#[tokio::test]
async fn a_revoked_session_answers_401_before_a_bad_query_or_id() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    app.execute(
        "UPDATE sessions SET revoked_at = 1 WHERE user_id = $1",
        &[&cast.owner.user_id],
    )
    .await;

    for path in [
        "/workspace".to_owned(),
        "/workspace?limit=2".to_owned(),
        "/workspace?limit=0".to_owned(),
        "/workspace?cursor=garbage".to_owned(),
        cast.path(""),
        "/workspace/not-a-uuid".to_owned(),
    ] {
        let answer = app.get(&path, Some(&cast.owner.access_token)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.body, unauthorized_body(), "{path}");
    }
}

#[tokio::test]
async fn a_listing_longer_than_one_read_comes_whole_and_in_order() {
    // More workspaces than the SQLite store reads per statement (200), so the listing is read in
    // several chunks; the answer must be the same as in one.
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let names: Vec<String> = (0..450).map(|i| format!("Bulk {i:03}")).collect();
    let mut ids = Vec::new();
    for batch in names.chunks(50) {
        let created = join_all(batch.iter().map(|name| create(&app, &cast.owner, name))).await;
        ids.extend(created);
    }
    // The reader is a member of every tenth of them, and of the cast's workspace.
    for id in ids.iter().step_by(10) {
        crate::support::cast::add_member(&app, &cast.owner, id, &cast.reader, "READ").await;
    }

    let everything = app.get("/workspace", Some(&cast.owner.access_token)).await;
    assert_eq!(everything.status, StatusCode::OK);
    let listed: Vec<&str> = everything.body["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
    expected.push(cast::WORKSPACE_NAME);
    expected.sort_by_key(|name| name.to_lowercase());
    assert_eq!(listed, expected);
    assert!(everything.body.get("nextCursor").is_none());

    let mine = app.get("/workspace", Some(&cast.reader.access_token)).await;
    let mine = mine.body["workspaces"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 46);
    let bulk = mine.iter().find(|w| w["name"] == "Bulk 010").unwrap();
    // Members in the order they joined.
    assert_eq!(
        bulk["users"],
        json!([
            member_json(&cast.owner, "ADMIN", 255),
            member_json(&cast.reader, "READ", 0),
        ])
    );
}

#[tokio::test]
async fn a_database_failure_answers_the_routes_documented_500() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    app.execute(
        "ALTER TABLE workspace_members RENAME TO workspace_members_gone",
        &[],
    )
    .await;
    let token = Some(cast.owner.access_token.as_str());

    for (path, message) in [
        ("/workspace".to_owned(), "Failed to fetch workspaces"),
        (
            "/workspace?limit=2".to_owned(),
            "Failed to fetch workspaces",
        ),
        (cast.path(""), "Failed to fetch workspace"),
    ] {
        let answer = app.get(&path, token).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(answer.body, error_body(message, "INTERNAL_ERROR"), "{path}");
    }
}

/// PostgreSQL: a listing reads each page row's members by key, whatever the tables hold.
/// PostgreSQL plans the prepared listing once for any parameters (its generic plan), estimating
/// a page from the organizations' average size; once one organization held tens of thousands of
/// workspaces, a page of 201 was expected full and the members were hash-joined, the whole
/// `workspace_members` table read for every listing of every organization
/// (`store::listing`, `members_looked_up!`). Every page shape, generic plan, after ANALYZE.
#[tokio::test]
async fn a_listing_reads_members_by_key_after_one_organization_grew_large() {
    use workspaces::domain::WorkspaceId;
    use workspaces::store::{listing_sql, Dialect, Selection};
    let app = spawn_app().await;
    if app.is_sqlite() {
        return; // SQLite's planner joins by the keys whatever the sizes (plan tests in src).
    }
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO organizations (id, name, created_at, updated_at) \
         VALUES ('0190a0b0-0000-7000-8000-000000000001', 'Big', 0, 0); \
         INSERT INTO users (id, org_id, email, email_key, first_name, last_name, org_role, \
         validated, created_at, updated_at) VALUES ('0190a0b0-0000-7000-8000-000000000002', \
         '0190a0b0-0000-7000-8000-000000000001', 'big@example.com', 'big@example.com', 'B', 'G', \
         255, TRUE, 0, 0); \
         INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
         SELECT gen_random_uuid(), '0190a0b0-0000-7000-8000-000000000001', 'w' || i, 'w' || i, 0, 0 \
         FROM generate_series(1, 45000) i; \
         INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
         SELECT id, '0190a0b0-0000-7000-8000-000000000002', 'ADMIN', 0 FROM workspaces; \
         ANALYZE;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    let after = Some(("k".to_owned(), WorkspaceId::from_uuid(Uuid::nil())));
    let mut selections = Vec::new();
    for limit in [11, 51, 101, 201, i64::MAX] {
        selections.push(Selection::Page { after: None, limit });
        selections.push(Selection::Page {
            after: after.clone(),
            limit,
        });
    }
    for (n, selection) in selections.iter().enumerate() {
        let sql = listing_sql(selection).sql(Dialect::Postgres).unwrap();
        let keyset = sql.contains("$5");
        let types = if keyset {
            "uuid, uuid, bigint, smallint, text, uuid"
        } else {
            "uuid, uuid, bigint, smallint"
        };
        let values = if keyset {
            "gen_random_uuid(), gen_random_uuid(), 0, 254, 'k', gen_random_uuid()"
        } else {
            "gen_random_uuid(), gen_random_uuid(), 0, 254"
        };
        sqlx::raw_sql(&format!("PREPARE listing{n} ({types}) AS {sql}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        let plan: Vec<String> =
            sqlx::query_scalar(&format!("EXPLAIN EXECUTE listing{n} ({values})"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("(cost="), "{selection:?}: {plan}");
        // The page's outer joins are the members' (`m`) and their users'; the session's is
        // inner. (`x`, the member scope's test, reads the caller's memberships, not the page's:
        // here one user holds all 45,000, so PostgreSQL scans for them.)
        let whole = plan.contains("Seq Scan on workspace_members m ")
            || plan.contains("Hash Left Join")
            || plan.contains("Hash Right Join");
        assert!(
            !whole,
            "{selection:?} reads the members table whole:\n{plan}"
        );
    }
}
