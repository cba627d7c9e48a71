//! The organization-user routes of contract section 5: create, list, read, update, delete,
//! activate and resend the invitation, with every refusal and the role rules of section 2.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::Verification::{Unverified, Verified};
use crate::support::accounts::{
    invitation_email_body, names_with_hidden_characters, Account, MEMBER_FIRST_NAME,
    MEMBER_LAST_NAME, PASSWORD, PHISHING_NAME,
};
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{
    assert_answer, error_body, not_validated_body, unauthorized_body,
};
use crate::support::org_cast::{
    account_of, create_user, create_user_with, data_id, db_deleted_at, delete_user,
    deleted_at_json, forbidden_body, invalid_role_body, last_owner_body, member_json,
    not_found_body, ok, org_path, org_user_json, refused, send, with_empty_data, OrgCast,
};

/// The ids of the workspace's listed members, sorted.
async fn member_ids(app: &TestApp, workspace: &str, by: &Account) -> Vec<String> {
    let answer = app.get(workspace, Some(&by.access_token)).await;
    let users = answer.body["workspace"]["users"].as_array().unwrap();
    let mut ids: Vec<String> = users
        .iter()
        .map(|u| u["userId"].as_str().unwrap().into())
        .collect();
    ids.sort();
    ids
}

/// The 201 answer of a creation.
fn created(user: &Account, role: i64) -> Value {
    let (name, last_name) = (&user.first_name, &user.last_name);
    let data = org_user_json(user, name, last_name, role, false, Value::Null);
    json!({ "success": true, "data": data, "message": "User created successfully" })
}

#[tokio::test]
async fn a_manager_creates_a_user_who_verifies_the_invitation_and_logs_in() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = create_user(&app, &owner, "new@example.com", 2).await;

    let id = data_id(&answer);
    assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let names = (MEMBER_FIRST_NAME, MEMBER_LAST_NAME);
    let new = account_of(&owner, "new@example.com", &id, names);
    assert_answer(&answer, 201, &created(&new, 2));
    let row = "SELECT email || '|' || first_name || '|' || last_name || '|' || org_role || '|' || \
               COALESCE(deleted_at, -1) FROM users WHERE id = $1 AND org_id = $2";
    let rows = app.strings(row, &[&id, &owner.org_id]).await;
    assert_eq!(rows, vec!["new@example.com|Mia|Stone|2|-1"]);
    assert!(!app.is_validated(&id).await);
    assert_eq!(app.mailer.to("new@example.com").len(), 1);

    app.verify("new@example.com").await;

    assert!(app.is_validated(&id).await);
    assert_eq!(app.log_in(&new).await.user_id, id);
}

#[tokio::test]
async fn an_invited_user_without_a_password_chooses_one_while_verifying() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({ "email": "invited@example.com", "firstName": "Ivy", "lastName": "Roe" });

    let answer = create_user_with(&app, &owner, body).await;

    let id = data_id(&answer);
    let invited = account_of(&owner, "invited@example.com", &id, ("Ivy", "Roe"));
    assert_answer(&answer, 201, &created(&invited, 0));
    let refused_login = app.login("invited@example.com", PASSWORD).await;
    let no_password = error_body("No password set for this account", "NO_PASSWORD_SET");
    assert_answer(&refused_login, 401, &no_password);
    let token = app.mailer.last_verification_token("invited@example.com");
    let verify = json!({ "token": token, "password": "Chosen123" });
    let verified = app.post("/user/verify-email", None, verify).await;
    assert_answer(&verified, 200, &ok("Email verified successfully"));
    let login = app.login("invited@example.com", "Chosen123").await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.body);
    assert!(app.is_validated(&invited.user_id).await);
}

#[tokio::test]
async fn no_invitation_is_mailed_when_send_invite_is_false() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({
        "email": "quiet@example.com", "password": PASSWORD, "firstName": "Q", "lastName": "T",
        "orgRole": 1, "sendInvite": false,
    });

    let answer = create_user_with(&app, &owner, body).await;

    let id = data_id(&answer);
    let quiet = account_of(&owner, "quiet@example.com", &id, ("Q", "T"));
    assert_answer(&answer, 201, &created(&quiet, 1));
    assert!(app.mailer.to("quiet@example.com").is_empty());
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&quiet.user_id]).await, 0);
}

#[tokio::test]
async fn invalid_creation_bodies_answer_400_and_create_nobody() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let valid = json!({ "email": "x@example.com", "password": PASSWORD, "firstName": "X",
                        "lastName": "Y" });
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        Some(body)
    };
    let without = |key: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(key);
        Some(body)
    };
    let missing =
        |field: &str| error_body(&format!("Missing required field: {field}"), "MISSING_FIELD");
    let (no_email, no_first, no_last) =
        (missing("email"), missing("firstName"), missing("lastName"));
    let bad_email = error_body("Invalid email address", "INVALID_EMAIL");
    let weak = error_body(
        "Password must be at least 8 characters long and contain an upper-case letter, \
         a lower-case letter and a digit",
        "WEAK_PASSWORD",
    );
    let taken = error_body(
        "An account with this email already exists",
        "EMAIL_ALREADY_EXISTS",
    );
    let role = invalid_role_body();
    let o = &owner;
    let p = "/organization/users";
    let rows = vec![
        (o, p, without("email"), 400, &no_email),
        (o, p, without("firstName"), 400, &no_first),
        (o, p, without("lastName"), 400, &no_last),
        (o, p, with("email", json!("not-an-email")), 400, &bad_email),
        (o, p, with("password", json!("weak")), 400, &weak),
        (o, p, with("email", json!("OWNER@Example.com")), 400, &taken),
        (o, p, with("orgRole", json!(3)), 400, &role),
        (o, p, with("orgRole", json!(100)), 400, &role),
        (o, p, with("orgRole", json!(253)), 400, &role),
    ];
    refused(&app, Method::POST, rows).await;
}

#[tokio::test]
async fn names_with_a_format_or_separator_character_create_and_change_nobody() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let invalid = |field: &str| {
        let message = format!("{field} must be 1 to 100 characters without control characters");
        error_body(&message, "INVALID_FIELD")
    };
    let (first, last) = (invalid("firstName"), invalid("lastName"));
    let (name, last_name) = (
        with_empty_data(invalid("name")),
        with_empty_data(invalid("lastName")),
    );
    let owner = &cast.owner;
    let target = org_path(&cast.user, "");
    let mut posts = Vec::new();
    let mut puts = Vec::new();
    for hidden in names_with_hidden_characters() {
        let create = |first_name: &str, last_name: &str| {
            Some(json!({ "email": "x@example.com", "password": PASSWORD,
                         "firstName": first_name, "lastName": last_name }))
        };
        posts.push((
            owner,
            "/organization/users",
            create(&hidden, "Y"),
            400,
            &first,
        ));
        posts.push((
            owner,
            "/organization/users",
            create("X", &hidden),
            400,
            &last,
        ));
        puts.push((
            owner,
            target.as_str(),
            Some(json!({ "name": hidden })),
            400,
            &name,
        ));
        let body = Some(json!({ "lastName": hidden, "orgRole": 1 }));
        puts.push((owner, target.as_str(), body, 400, &last_name));
    }
    refused(&app, Method::POST, posts).await;
    refused(&app, Method::PUT, puts).await;
}

#[tokio::test]
async fn the_invitation_greets_no_one_by_name() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({ "email": "new@example.com", "firstName": PHISHING_NAME, "lastName": "Y" });

    let created = send(
        &app,
        &owner,
        Method::POST,
        "/organization/users",
        Some(body),
    )
    .await;

    assert_eq!(created.status, 201, "{}", created.body);
    let mails = app.mailer.to("new@example.com");
    assert_eq!(mails.len(), 1);
    let token = app.mailer.last_verification_token("new@example.com");
    assert_eq!(
        mails[0].subject,
        "You are invited to a workspace organization"
    );
    assert_eq!(mails[0].body, invitation_email_body(&token, 7));
}

/// An invitation lives `--invitation-days` (default 7), its resend too; a self-registration's
/// verification keeps its 24 hours.
#[tokio::test]
async fn invitations_live_the_configured_days() {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    let sql = "SELECT CAST(v.expires_at - v.created_at AS TEXT) FROM email_verifications v \
               JOIN users u ON u.id = v.user_id WHERE u.email = $1 ORDER BY v.created_at";
    for (days, configured) in [(7, None), (2, Some(2))] {
        let app = spawn_app_with(|config| {
            if let Some(days) = configured {
                config.invitation_lifetime = std::time::Duration::from_secs(days * 24 * 60 * 60);
            }
        })
        .await;
        let owner = app.register_verified("owner@example.com").await;
        let body = json!({ "email": "new@example.com", "firstName": "New", "lastName": "Y" });
        let path = "/organization/users";
        let created = send(&app, &owner, Method::POST, path, Some(body)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["data"]["id"].as_str().unwrap().to_owned();
        let resend = format!("/organization/users/{id}/resend-invitation");
        let resent = send(&app, &owner, Method::POST, &resend, None).await;
        assert_eq!(resent.status, 200, "{}", resent.body);

        let ttl = |email: &'static str| {
            let sql = sql.replace("$1", &format!("'{email}'"));
            let app = &app;
            async move { app.strings(&sql, &[]).await }
        };
        let day = (days * DAY_MS).to_string();
        assert_eq!(ttl("new@example.com").await, [day.clone(), day]);
        assert_eq!(ttl("owner@example.com").await, [DAY_MS.to_string()]);
        let token = app.mailer.last_verification_token("new@example.com");
        let mails = app.mailer.to("new@example.com");
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[1].body, invitation_email_body(&token, days));

        // Past its lifetime, the invitation opens nothing.
        let expire = "UPDATE email_verifications SET expires_at = 1 WHERE user_id = $1";
        app.execute(expire, &[&id]).await;
        let late = app
            .post("/user/verify-email", None, json!({ "token": token }))
            .await;
        assert_eq!(late.status, 400, "{}", late.body);
    }
}

#[tokio::test]
async fn creating_users_is_refused_below_workspaces_and_above_the_creators_role() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let denied = forbidden_body("Insufficient permissions to create users");
    let above = forbidden_body("Cannot assign a role above your own");
    let body = |role: i64| {
        let body = json!({ "email": "x@example.com", "password": PASSWORD, "firstName": "X",
                           "lastName": "Y", "orgRole": role });
        Some(body)
    };
    let p = "/organization/users";
    let (admin, manager) = (&cast.administrator, &cast.manager);
    let rows = vec![
        (&cast.user, p, body(0), 403, &denied),
        (&cast.billing, p, body(0), 403, &denied),
        (manager, p, body(254), 403, &above),
        (manager, p, body(255), 403, &above),
        (admin, p, body(255), 403, &above),
    ];
    refused(&app, Method::POST, rows).await;

    // A role at one's own is allowed.
    let answer = create_user(&app, manager, "peer@example.com", 2).await;

    let id = data_id(&answer);
    let names = (MEMBER_FIRST_NAME, MEMBER_LAST_NAME);
    let peer = account_of(manager, "peer@example.com", &id, names);
    assert_answer(&answer, 201, &created(&peer, 2));
    let row = "SELECT email || '|' || first_name || '|' || last_name || '|' || org_role || '|' || \
               COALESCE(deleted_at, -1) FROM users WHERE id = $1 AND org_id = $2 AND NOT validated";
    let rows = app.strings(row, &[&id, cast.org_id()]).await;
    assert_eq!(rows, vec!["peer@example.com|Mia|Stone|2|-1"]);
}

#[tokio::test]
async fn an_unvalidated_owner_may_not_create_users() {
    let app = spawn_app().await;
    let owner = app.register("owner@example.com").await;

    let answer = create_user(&app, &owner, "x@example.com", 0).await;

    assert_answer(&answer, 400, &not_validated_body());
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 1);
}

/// Contract section 4: until validated, every write answers 400, whatever the caller's role.
#[tokio::test]
async fn an_unvalidated_caller_may_not_update_delete_activate_or_invite() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let caller = app
        .member(&cast.owner, "unvalidated@example.com", 255, Unverified)
        .await;
    let gone = app
        .member(&cast.owner, "gone@example.com", 0, Verified)
        .await;
    delete_user(&app, &cast.owner, &gone).await;
    let pending = create_user(&app, &cast.owner, "pending@example.com", 0).await;
    let resend = format!(
        "/organization/users/{}/resend-invitation",
        data_id(&pending)
    );
    let (not_validated, with_data) = (not_validated_body(), with_empty_data(not_validated_body()));
    let (pu, activate) = (org_path(&cast.user, ""), org_path(&gone, "/activate"));
    let (c, name) = (&caller, || Some(json!({ "name": "Z" })));

    let puts = vec![
        (c, pu.as_str(), name(), 400, &with_data),
        (c, &pu, Some(json!({ "orgRole": 1 })), 400, &with_data),
    ];
    refused(&app, Method::PUT, puts).await;
    refused(
        &app,
        Method::DELETE,
        vec![(c, &pu, None, 400, &not_validated)],
    )
    .await;
    let posts = vec![
        (c, activate.as_str(), None, 400, &not_validated),
        (c, &resend, None, 400, &not_validated),
    ];
    refused(&app, Method::POST, posts).await;
}

#[tokio::test]
async fn the_list_shows_the_organizations_users_oldest_first_deleted_ones_included() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let gone = app
        .member(&cast.owner, "gone@example.com", 0, Verified)
        .await;
    delete_user(&app, &cast.owner, &gone).await;
    let deleted_at = deleted_at_json(&app, &gone.user_id).await;
    let data = json!([
        org_user_json(&cast.owner, "Ann", "Lee", 255, true, Value::Null),
        member_json(&cast.administrator, 254),
        member_json(&cast.manager, 2),
        member_json(&cast.billing, 1),
        member_json(&cast.user, 0),
        org_user_json(
            &gone,
            MEMBER_FIRST_NAME,
            MEMBER_LAST_NAME,
            0,
            true,
            deleted_at
        ),
    ]);
    let expected = json!({ "success": true, "data": data, "total": 6 });

    for actor in [&cast.manager, &cast.administrator, &cast.owner] {
        let answer = send(&app, actor, Method::GET, "/organization/users", None).await;
        assert_answer(&answer, 200, &expected);
    }
    let other = send(
        &app,
        &cast.outsider,
        Method::GET,
        "/organization/users",
        None,
    )
    .await;
    let outsider = org_user_json(&cast.outsider, "Ann", "Lee", 255, true, Value::Null);
    let expected = json!({ "success": true, "data": [outsider], "total": 1 });
    assert_answer(&other, 200, &expected);
}

#[tokio::test]
async fn users_and_billing_may_not_list_or_read_users() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let list_denied = json!({
        "success": false,
        "message": "Insufficient permissions to view users",
        "error_code": "INSUFFICIENT_PERMISSIONS",
        "data": [],
        "total": 0,
    });
    let denied = forbidden_body("Insufficient permissions to view users");

    for actor in [&cast.user, &cast.billing] {
        let list = send(&app, actor, Method::GET, "/organization/users", None).await;
        assert_answer(&list, 403, &list_denied);
        let one = send(&app, actor, Method::GET, &org_path(&cast.user, ""), None).await;
        assert_answer(&one, 403, &denied);
    }
    let anonymous = app.get("/organization/users", None).await;
    assert_answer(&anonymous, 401, &unauthorized_body());
}

#[tokio::test]
async fn one_user_is_the_bare_org_user_object_and_404_outside_the_organization() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let token = Some(cast.manager.access_token.as_str());

    let answer = app.get(&org_path(&cast.administrator, ""), token).await;

    assert_answer(&answer, 200, &member_json(&cast.administrator, 254));
    let unknown = Uuid::now_v7().to_string();
    for id in [cast.outsider.user_id.as_str(), &unknown, "not-a-uuid"] {
        let answer = app.get(&format!("/organization/users/{id}"), token).await;
        assert_answer(&answer, 404, &not_found_body());
    }
}

#[tokio::test]
async fn a_manager_updates_names_and_role_of_a_user_below_them() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let body = json!({ "name": "Bea", "lastName": "Hart", "orgRole": 2 });

    let path = org_path(&cast.billing, "");
    let answer = send(&app, &cast.manager, Method::PUT, &path, Some(body)).await;

    let data = org_user_json(&cast.billing, "Bea", "Hart", 2, true, Value::Null);
    let expected = json!({ "success": true, "data": data, "message": "User updated successfully" });
    assert_answer(&answer, 200, &expected);
    let row = "SELECT first_name || '|' || last_name || '|' || org_role FROM users WHERE id = $1";
    let rows = app.strings(row, &[&cast.billing.user_id]).await;
    assert_eq!(rows, vec!["Bea|Hart|2"]);
}

#[tokio::test]
async fn refused_updates_answer_their_error_with_empty_data_and_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let denied = with_empty_data(forbidden_body("Insufficient permissions to update users"));
    let empty = with_empty_data(error_body("No valid fields to update", "NO_VALID_FIELDS"));
    let role = with_empty_data(invalid_role_body());
    let missing = with_empty_data(not_found_body());
    let last = with_empty_data(last_owner_body());
    let (user, admin, owner, manager) =
        (&cast.user, &cast.administrator, &cast.owner, &cast.manager);
    let (pu, pa) = (org_path(user, ""), org_path(admin, ""));
    let (po, pm) = (org_path(owner, ""), org_path(manager, ""));
    let unknown = format!("/organization/users/{}", Uuid::now_v7());
    let name = || Some(json!({ "name": "Z" }));
    let to = |role: i64| Some(json!({ "orgRole": role }));
    let rows = vec![
        (owner, pu.as_str(), Some(json!({})), 400, &empty),
        (owner, &pu, to(3), 400, &role),
        (owner, &pu, to(253), 400, &role),
        (&cast.billing, &pu, name(), 403, &denied),
        (manager, &pa, name(), 403, &denied),
        (manager, &pm, to(0), 403, &denied),
        (manager, &pu, to(254), 403, &denied),
        (admin, &po, to(0), 403, &denied),
        (owner, &unknown, name(), 404, &missing),
        (owner, "/organization/users/nope", name(), 404, &missing),
        (owner, &po, to(254), 403, &last),
    ];
    refused(&app, Method::PUT, rows).await;
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions_and_hides_them_from_workspaces_until_activated() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let (owner, user) = (&cast.owner, &cast.user);
    let created = app.create_workspace(&owner.access_token, "Team").await;
    let workspace = created.body["workspace"]["id"].as_str().unwrap();
    let workspace = format!("/workspace/{workspace}");
    let add = json!({ "userId": user.user_id, "role": "WRITE" });
    let members = format!("{workspace}/users");
    let added = send(&app, owner, Method::POST, &members, Some(add)).await;
    assert_eq!(added.status.as_u16(), 200, "{}", added.body);
    let both = member_ids(&app, &workspace, owner).await;
    assert_eq!(both.len(), 2);

    delete_user(&app, &cast.manager, user).await;

    assert!(db_deleted_at(&app, &user.user_id).await > 0);
    let live = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(live, &[&user.user_id]).await, 0);
    let profile = app.get("/user/profile", Some(&user.access_token)).await;
    assert_answer(&profile, 401, &unauthorized_body());
    let inactive = error_body("User account is inactive", "USER_INACTIVE");
    assert_answer(&app.login(&user.email, PASSWORD).await, 401, &inactive);
    let only_owner = vec![owner.user_id.clone()];
    assert_eq!(member_ids(&app, &workspace, owner).await, only_owner);
    let deleted_at = deleted_at_json(&app, &user.user_id).await;
    let one = app
        .get(&org_path(user, ""), Some(&owner.access_token))
        .await;
    let expected = org_user_json(
        user,
        MEMBER_FIRST_NAME,
        MEMBER_LAST_NAME,
        0,
        true,
        deleted_at,
    );
    assert_answer(&one, 200, &expected);

    let path = org_path(user, "/activate");
    let answer = send(&app, &cast.manager, Method::POST, &path, None).await;

    assert_answer(&answer, 200, &ok("User activated successfully"));
    assert_eq!(db_deleted_at(&app, &user.user_id).await, -1);
    let back = app.log_in(user).await;
    let profile = app.get("/user/profile", Some(&back.access_token)).await;
    assert_eq!(profile.status.as_u16(), 200, "{}", profile.body);
    assert_eq!(member_ids(&app, &workspace, owner).await, both);
}

#[tokio::test]
async fn refused_deletions_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let gone = app
        .member(&cast.owner, "gone@example.com", 0, Verified)
        .await;
    delete_user(&app, &cast.owner, &gone).await;
    let denied = forbidden_body("Insufficient permissions to delete users");
    let myself = error_body("Cannot delete yourself", "CANNOT_DELETE_SELF");
    let missing = not_found_body();
    let (owner, manager, admin) = (&cast.owner, &cast.manager, &cast.administrator);
    let (po, pm, pa) = (
        org_path(owner, ""),
        org_path(manager, ""),
        org_path(admin, ""),
    );
    let (pu, pb) = (org_path(&cast.user, ""), org_path(&cast.billing, ""));
    let (px, pg) = (org_path(&cast.outsider, ""), org_path(&gone, ""));
    let unknown = format!("/organization/users/{}", Uuid::now_v7());
    let rows = vec![
        (owner, po.as_str(), None, 400, &myself),
        (manager, &pm, None, 400, &myself),
        (&cast.user, &pb, None, 403, &denied),
        (&cast.billing, &pu, None, 403, &denied),
        (manager, &pa, None, 403, &denied),
        (admin, &po, None, 403, &denied),
        (owner, &px, None, 404, &missing),
        (owner, &unknown, None, 404, &missing),
        (owner, "/organization/users/nope", None, 404, &missing),
        (owner, &pg, None, 404, &missing),
    ];
    refused(&app, Method::DELETE, rows).await;
}

#[tokio::test]
async fn refused_activations_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let gone_admin = app
        .member(&cast.owner, "admin2@example.com", 254, Verified)
        .await;
    delete_user(&app, &cast.owner, &gone_admin).await;
    let denied = forbidden_body("Insufficient permissions to activate users");
    let live = error_body("User is not deleted", "USER_NOT_DELETED");
    let missing = not_found_body();
    let owner = &cast.owner;
    let activate = |id: &str| format!("/organization/users/{id}/activate");
    let (pu, pg) = (activate(&cast.user.user_id), activate(&gone_admin.user_id));
    let (px, unknown) = (
        activate(&cast.outsider.user_id),
        activate(&Uuid::now_v7().to_string()),
    );
    let malformed = activate("nope");
    let rows = vec![
        (owner, pu.as_str(), None, 400, &live),
        (&cast.user, &pg, None, 403, &denied),
        (&cast.billing, &pg, None, 403, &denied),
        (&cast.manager, &pg, None, 403, &denied),
        (owner, &px, None, 404, &missing),
        (owner, &unknown, None, 404, &missing),
        (owner, &malformed, None, 404, &missing),
    ];
    refused(&app, Method::POST, rows).await;
}

#[tokio::test]
async fn resending_the_invitation_mails_a_fresh_token_that_verifies() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let created = create_user(&app, &owner, "late@example.com", 0).await;
    let id = data_id(&created);
    let first = app.mailer.last_verification_token("late@example.com");

    let path = format!("/organization/users/{id}/resend-invitation");
    let answer = send(&app, &owner, Method::POST, &path, None).await;

    assert_answer(&answer, 200, &ok("Invitation sent successfully"));
    assert_eq!(app.mailer.to("late@example.com").len(), 2);
    let second = app.mailer.last_verification_token("late@example.com");
    assert_ne!(second, first);
    app.verify("late@example.com").await;
    assert!(app.is_validated(&id).await);
}

#[tokio::test]
async fn refused_invitations_change_nothing() {
    let app = spawn_app().await;
    let cast = OrgCast::seed(&app).await;
    let pending = create_user(&app, &cast.owner, "pending@example.com", 0).await;
    let pending_id = data_id(&pending);
    let gone = app
        .member(&cast.owner, "gone@example.com", 0, Verified)
        .await;
    let sql = "UPDATE users SET validated = (1 = 0) WHERE id = $1";
    assert_eq!(app.execute(sql, &[&gone.user_id]).await, 1);
    delete_user(&app, &cast.owner, &gone).await;
    let denied = forbidden_body("Insufficient permissions to resend invitations");
    let validated = error_body("User is already validated", "ALREADY_VERIFIED");
    let missing = not_found_body();
    let owner = &cast.owner;
    let resend = |id: &str| format!("/organization/users/{id}/resend-invitation");
    let (pp, pu) = (resend(&pending_id), resend(&cast.user.user_id));
    let (px, pg) = (resend(&cast.outsider.user_id), resend(&gone.user_id));
    let (unknown, malformed) = (resend(&Uuid::now_v7().to_string()), resend("nope"));
    let rows = vec![
        (owner, pu.as_str(), None, 400, &validated),
        (&cast.user, &pp, None, 403, &denied),
        (&cast.billing, &pp, None, 403, &denied),
        (owner, &px, None, 404, &missing),
        (owner, &pg, None, 404, &missing),
        (owner, &unknown, None, 404, &missing),
        (owner, &malformed, None, 404, &missing),
    ];
    refused(&app, Method::POST, rows).await;
}
