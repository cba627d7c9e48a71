//! Users by id (contract section 4): `GET /user/{userId}`, `PUT /user/{userId}` and
//! `PUT /user/{userId}/role`, the role rules of section 2, the last OWNER under concurrency, and
//! other organizations' owners on every route that names a user.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::Verification::{Unverified, Verified};
use crate::support::accounts::{names_with_hidden_characters, Account, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{
    assert_answer, error_body, not_validated_body, unauthorized_body,
};
use crate::support::org_cast::{
    active_owners, create_user, data_id, db_role, delete_user, forbidden_body, invalid_role_body,
    last_owner_body, not_found_body, org_path, refused, role_summary, send, with_empty_data,
    OrgCast,
};

fn updated() -> Value {
    json!({ "success": true, "message": "User updated successfully" })
}

fn user_path(user: &Account) -> String {
    format!("/user/{}", user.user_id)
}

fn role_path(user: &Account) -> String {
    format!("/user/{}/role", user.user_id)
}

async fn put(app: &TestApp, actor: &Account, path: &str, body: Value) -> (StatusCode, Value) {
    let answer = send(app, actor, Method::PUT, path, Some(body)).await;
    (answer.status, answer.body)
}

async fn set_role(app: &TestApp, actor: &Account, target: &str, role: i64) -> (StatusCode, Value) {
    let path = format!("/user/{target}/role");
    put(app, actor, &path, json!({ "orgRole": role })).await
}

fn role_changed(user_id: &str, previous: i64, new: i64) -> (StatusCode, Value) {
    let message = "User role updated successfully";
    let data = json!({ "userId": user_id, "previousRole": previous, "newRole": new,
                       "message": message });
    (StatusCode::OK, json!({ "success": true, "data": data }))
}

async fn names(app: &TestApp, user: &Account) -> Vec<String> {
    let sql = "SELECT first_name || ' ' || last_name FROM users WHERE id = $1";
    app.strings(sql, &[&user.user_id]).await
}

#[tokio::test]
async fn every_member_reads_the_role_summary_of_every_colleague() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let everyone = [
        (&cast.user, 0),
        (&cast.billing, 1),
        (&cast.manager, 2),
        (&cast.administrator, 254),
        (&cast.owner, 255),
    ];

    for (actor, _) in everyone {
        for (target, role) in everyone {
            let answer = send(&app, actor, Method::GET, &user_path(target), None).await;
            let expected = json!({ "success": true, "data": role_summary(&target.user_id, role) });
            assert_answer(&answer, 200, &expected);
        }
    }
}

#[tokio::test]
async fn the_role_summary_is_404_for_other_organizations_deleted_unknown_and_malformed_ids() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let gone = app
        .member(&cast.owner, "gone@example.com", 0, Verified)
        .await;
    delete_user(&app, &cast.owner, &gone).await;

    let unknown = Uuid::now_v7().to_string();
    for id in [
        &cast.outsider.user_id,
        &gone.user_id,
        &unknown,
        "not-a-uuid",
    ] {
        let answer = send(&app, &cast.user, Method::GET, &format!("/user/{id}"), None).await;
        assert_answer(&answer, 404, &not_found_body());
    }
    let anonymous = app.get(&user_path(&cast.user), None).await;
    assert_answer(&anonymous, 401, &unauthorized_body());
}

#[tokio::test]
async fn a_user_changes_their_own_names() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let path = user_path(&cast.user);

    let answer = put(
        &app,
        &cast.user,
        &path,
        json!({ "name": "Una", "lastName": "Vale" }),
    )
    .await;

    assert_eq!(answer, (StatusCode::OK, updated()));
    assert_eq!(names(&app, &cast.user).await, vec!["Una Vale"]);
    let answer = put(&app, &cast.user, &path, json!({ "lastName": "Moss" })).await;
    assert_eq!(answer, (StatusCode::OK, updated()));
    assert_eq!(names(&app, &cast.user).await, vec!["Una Moss"]);
}

#[tokio::test]
async fn a_new_password_keeps_the_callers_session_and_ends_the_others() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let other = app.log_in(&cast.user).await;
    let path = user_path(&cast.user);

    let answer = put(&app, &cast.user, &path, json!({ "password": "Changed123" })).await;

    assert_eq!(answer, (StatusCode::OK, updated()));
    let own = app
        .get("/user/profile", Some(&cast.user.access_token))
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let ended = app.get("/user/profile", Some(&other.access_token)).await;
    assert_answer(&ended, 401, &unauthorized_body());
    let old = app.login(&cast.user.email, PASSWORD).await;
    assert_answer(
        &old,
        401,
        &error_body("Invalid password", "INVALID_PASSWORD"),
    );
    let new = app.login(&cast.user.email, "Changed123").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
}

#[tokio::test]
async fn a_manager_renames_users_below_them() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;

    for (actor, target) in [
        (&cast.manager, &cast.billing),
        (&cast.administrator, &cast.manager),
        (&cast.owner, &cast.administrator),
    ] {
        let body = json!({ "name": "Kim", "lastName": "Park" });
        let answer = put(&app, actor, &user_path(target), body).await;
        assert_eq!(answer, (StatusCode::OK, updated()), "{}", actor.email);
        assert_eq!(names(&app, target).await, vec!["Kim Park"]);
    }
}

#[tokio::test]
async fn refused_user_updates_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let peer = app
        .member(&cast.owner, "peer@example.com", 2, Verified)
        .await;
    let denied = forbidden_body("Insufficient permissions to update user");
    let theirs = error_body(
        "A password can only be changed by its owner",
        "PASSWORD_SELF_ONLY",
    );
    let empty = error_body("No valid fields to update", "NO_VALID_FIELDS");
    let missing = not_found_body();
    let (owner, manager, admin) = (&cast.owner, &cast.manager, &cast.administrator);
    let (pu, pb, pp) = (
        user_path(&cast.user),
        user_path(&cast.billing),
        user_path(&peer),
    );
    let (pa, po) = (user_path(admin), user_path(owner));
    let (unknown, malformed) = (format!("/user/{}", Uuid::now_v7()), "/user/not-a-uuid");
    let name = || Some(json!({ "name": "Zed" }));
    let password = Some(json!({ "password": "Other1234" }));
    let rows = vec![
        (&cast.user, pb.as_str(), name(), 403, &denied),
        (&cast.billing, &pu, name(), 403, &denied),
        (manager, &pp, name(), 403, &denied),
        (manager, &pa, name(), 403, &denied),
        (admin, &po, name(), 403, &denied),
        (owner, &pu, password, 403, &theirs),
        (owner, &po, Some(json!({})), 400, &empty),
        (owner, &unknown, name(), 404, &missing),
        (owner, malformed, name(), 404, &missing),
    ];
    refused(&app, Method::PUT, rows).await;
}

#[tokio::test]
async fn names_with_a_format_or_separator_character_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let invalid = |field: &str| {
        let message = format!("{field} must be 1 to 100 characters without control characters");
        error_body(&message, "INVALID_FIELD")
    };
    let (bad_name, bad_last_name) = (invalid("name"), invalid("lastName"));
    let (own, theirs) = (user_path(&cast.owner), user_path(&cast.user));
    let mut rows = Vec::new();
    for name in names_with_hidden_characters() {
        for path in [&own, &theirs] {
            rows.push((
                &cast.owner,
                path.as_str(),
                Some(json!({ "name": name })),
                400,
                &bad_name,
            ));
            let body = Some(json!({ "name": "Zed", "lastName": name }));
            rows.push((&cast.owner, path.as_str(), body, 400, &bad_last_name));
        }
    }
    refused(&app, Method::PUT, rows).await;
}

/// Contract section 4: until validated, every write answers 400, even one's own names and even
/// for an OWNER.
#[tokio::test]
async fn an_unvalidated_caller_may_change_neither_names_nor_passwords_nor_roles() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let caller = app
        .member(&cast.owner, "unvalidated@example.com", 255, Unverified)
        .await;
    let not_validated = not_validated_body();
    let (own, theirs) = (user_path(&caller), user_path(&cast.user));
    let (own_role, their_role) = (role_path(&caller), role_path(&cast.user));
    let (c, name) = (&caller, || Some(json!({ "name": "Zed" })));
    let rows = vec![
        (c, own.as_str(), name(), 400, &not_validated),
        (
            c,
            &own,
            Some(json!({ "password": "Other1234" })),
            400,
            &not_validated,
        ),
        (c, &theirs, name(), 400, &not_validated),
        (
            c,
            &their_role,
            Some(json!({ "orgRole": 1 })),
            400,
            &not_validated,
        ),
        (
            c,
            &own_role,
            Some(json!({ "orgRole": 0 })),
            400,
            &not_validated,
        ),
    ];
    refused(&app, Method::PUT, rows).await;
}

#[tokio::test]
async fn a_role_change_answers_both_roles_and_is_stored() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let (owner, admin) = (&cast.owner, &cast.administrator);

    let answer = set_role(&app, owner, &cast.user.user_id, 254).await;

    assert_eq!(answer, role_changed(&cast.user.user_id, 0, 254));
    assert_eq!(db_role(&app, &cast.user.user_id).await, 254);
    let answer = set_role(&app, admin, &cast.billing.user_id, 2).await;
    assert_eq!(answer, role_changed(&cast.billing.user_id, 1, 2));
    assert_eq!(db_role(&app, &cast.billing.user_id).await, 2);
    let answer = set_role(&app, owner, &admin.user_id, 255).await;
    assert_eq!(answer, role_changed(&admin.user_id, 254, 255));
    let profile = app.get("/user/profile", Some(&admin.access_token)).await;
    assert_eq!(profile.body["data"]["orgRole"], 255);
    assert_eq!(active_owners(&app, cast.org_id()).await, 2);
}

#[tokio::test]
async fn role_changes_breaking_a_rule_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let peer = app
        .member(&cast.owner, "peer@example.com", 2, Verified)
        .await;
    let to = |n: i64| Some(json!({ "orgRole": n }));
    let (owner, admin, manager, user) =
        (&cast.owner, &cast.administrator, &cast.manager, &cast.user);
    let no_roles = forbidden_body("Insufficient permissions to change user roles");
    let not_this = forbidden_body("Insufficient permissions to change this user's role");
    let above = forbidden_body("Cannot assign a role above your own");
    let missing_role = error_body("Missing required field: orgRole", "MISSING_FIELD");
    let (reserved, missing) = (invalid_role_body(), not_found_body());
    let (pu, pb, pp) = (role_path(user), role_path(&cast.billing), role_path(&peer));
    let (pa, pm, po) = (role_path(admin), role_path(manager), role_path(owner));
    let (unknown, malformed) = (format!("/user/{}/role", Uuid::now_v7()), "/user/nope/role");
    let rows = vec![
        (owner, pu.as_str(), Some(json!({})), 400, &missing_role),
        (owner, &pu, to(3), 400, &reserved),
        (owner, &pu, to(100), 400, &reserved),
        (owner, &pu, to(253), 400, &reserved),
        (user, &pb, to(0), 403, &no_roles),
        (&cast.billing, &pu, to(1), 403, &no_roles),
        (user, &pu, to(255), 403, &no_roles),
        (manager, &pa, to(0), 403, &not_this),
        (manager, &pp, to(0), 403, &not_this),
        (manager, &pm, to(0), 403, &not_this),
        (admin, &po, to(0), 403, &not_this),
        (admin, &pa, to(255), 403, &not_this),
        (manager, &pu, to(254), 403, &above),
        (admin, &pu, to(255), 403, &above),
        (owner, &unknown, to(0), 404, &missing),
        (owner, malformed, to(0), 404, &missing),
    ];
    refused(&app, Method::PUT, rows).await;
}

#[tokio::test]
async fn the_last_active_owner_can_never_lose_the_role() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let owner = &cast.owner;
    let last = last_owner_body();
    let po = role_path(owner);
    let to = |n: i64| Some(json!({ "orgRole": n }));
    let rows = vec![
        (owner, po.as_str(), to(0), 403, &last),
        (owner, &po, to(254), 403, &last),
    ];
    refused(&app, Method::PUT, rows).await;

    let second = app.member(owner, "second@example.com", 255, Verified).await;
    let answer = set_role(&app, &second, &owner.user_id, 254).await;
    assert_eq!(answer, role_changed(&owner.user_id, 255, 254));
    let answer = set_role(&app, &second, &second.user_id, 0).await;
    assert_eq!(answer, (StatusCode::FORBIDDEN, last.clone()));
    assert_eq!(db_role(&app, &second.user_id).await, 255);
    let answer = set_role(&app, &second, &owner.user_id, 255).await;
    assert_eq!(answer, role_changed(&owner.user_id, 254, 255));
    let answer = set_role(&app, &second, &second.user_id, 2).await;
    assert_eq!(answer, role_changed(&second.user_id, 255, 2));
    assert_eq!(active_owners(&app, cast.org_id()).await, 1);
}

#[tokio::test]
async fn an_owner_of_another_organization_gets_404_for_every_route_naming_a_user_of_this_one() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let pending = create_user(&app, &cast.owner, "pending@example.com", 0).await;
    let pending_id = data_id(&pending);
    delete_user(&app, &cast.owner, &cast.billing).await;
    let x = &cast.outsider;
    let (missing, put_missing) = (not_found_body(), with_empty_data(not_found_body()));
    let (user, owner) = (&cast.user, &cast.owner);
    let (ou, oo) = (org_path(user, ""), org_path(owner, ""));
    let (ob, oua) = (
        org_path(&cast.billing, "/activate"),
        org_path(user, "/activate"),
    );
    let resend = format!("/organization/users/{pending_id}/resend-invitation");
    let (uu, uo, ru, ro) = (
        user_path(user),
        user_path(owner),
        role_path(user),
        role_path(owner),
    );
    let name = || Some(json!({ "name": "Z" }));
    let to = |n: i64| Some(json!({ "orgRole": n }));

    let gets = vec![
        (x, ou.as_str(), None, 404, &missing),
        (x, &uu, None, 404, &missing),
    ];
    refused(&app, Method::GET, gets).await;
    let puts = vec![
        (x, ou.as_str(), name(), 404, &put_missing),
        (x, &oo, to(0), 404, &put_missing),
        (x, &uu, name(), 404, &missing),
        (x, &uo, name(), 404, &missing),
        (x, &ru, to(255), 404, &missing),
        (x, &ro, to(0), 404, &missing),
    ];
    refused(&app, Method::PUT, puts).await;
    let deletes = vec![
        (x, ou.as_str(), None, 404, &missing),
        (x, &oo, None, 404, &missing),
    ];
    refused(&app, Method::DELETE, deletes).await;
    let posts = vec![
        (x, ob.as_str(), None, 404, &missing),
        (x, &oua, None, 404, &missing),
        (x, &resend, None, 404, &missing),
    ];
    refused(&app, Method::POST, posts).await;
}

/// Existence comes before the password rule, as it does before the role rules: another
/// organization's user is not found, whatever the body asks.
#[tokio::test]
async fn an_owner_of_another_organization_gets_404_for_a_password_change_of_this_one() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let (x, missing) = (&cast.outsider, not_found_body());
    let (uu, uo) = (user_path(&cast.user), user_path(&cast.owner));
    let password = || Some(json!({ "password": "Other1234" }));
    let rows = vec![
        (x, uu.as_str(), password(), 404, &missing),
        (x, &uo, password(), 404, &missing),
    ];
    refused(&app, Method::PUT, rows).await;
}

// A real race only on PostgreSQL: on SQLite the server's one writer thread runs these writes
// one after another, so there this checks the serial outcome (instances_race.rs races two
// server processes on one SQLite file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let refusals = [
        last_owner_body(),
        forbidden_body("Insufficient permissions to change user roles"),
        forbidden_body("Insufficient permissions to change this user's role"),
    ];

    for round in 0..10 {
        let first = app
            .register_verified(&format!("first{round}@example.com"))
            .await;
        let second = app
            .member(&first, &format!("second{round}@example.com"), 255, Verified)
            .await;

        let (a, b) = tokio::join!(
            set_role(&app, &first, &second.user_id, 0),
            set_role(&app, &second, &first.user_id, 0),
        );

        let (winner, loser, won, refusal) = match (a.0, b.0) {
            (StatusCode::OK, StatusCode::FORBIDDEN) => (&first, &second, a, b.1),
            (StatusCode::FORBIDDEN, StatusCode::OK) => (&second, &first, b, a.1),
            other => panic!("round {round}: expected one 200 and one 403, got {other:?}"),
        };
        assert!(refusals.contains(&refusal), "round {round}: {refusal}");
        assert_eq!(won, role_changed(&loser.user_id, 255, 0), "round {round}");
        assert_eq!(active_owners(&app, &first.org_id).await, 1, "round {round}");
        assert_eq!(db_role(&app, &winner.user_id).await, 255, "round {round}");
        assert_eq!(db_role(&app, &loser.user_id).await, 0, "round {round}");
    }
}
