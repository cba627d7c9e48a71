//! The people of one organization, one per organization role, created through
//! `POST /organization/users`, shared by the organization-user and user-role tests, and the JSON
//! those routes answer.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_body, Account, Answer, TestApp, PASSWORD};

/// The names every member created through the API gets (registrations are named Ann Lee).
pub const FIRST: &str = "Mia";
pub const LAST: &str = "Stone";

pub struct OrgCast {
    /// OWNER (255); registered the organization.
    pub owner: Account,
    /// ADMINISTRATORS (254).
    pub administrator: Account,
    /// WORKSPACES (2).
    pub manager: Account,
    /// BILLING (1).
    pub billing: Account,
    /// USER (0).
    pub user: Account,
    /// OWNER of another organization.
    pub outsider: Account,
}

impl OrgCast {
    pub async fn seed(app: &TestApp) -> OrgCast {
        let owner = app.register_verified("owner@example.com").await;
        let administrator = member(app, &owner, "administrator@example.com", 254).await;
        let manager = member(app, &owner, "manager@example.com", 2).await;
        let billing = member(app, &owner, "billing@example.com", 1).await;
        let user = member(app, &owner, "user@example.com", 0).await;
        let outsider = app.register_verified("outsider@example.com").await;
        OrgCast {
            owner,
            administrator,
            manager,
            billing,
            user,
            outsider,
        }
    }

    pub fn org_id(&self) -> &str {
        &self.owner.org_id
    }
}

/// `POST /organization/users` as `by`, with the shared password and names.
pub async fn create_user(app: &TestApp, by: &Account, email: &str, role: i64) -> Answer {
    let body = json!({
        "email": email,
        "password": PASSWORD,
        "firstName": FIRST,
        "lastName": LAST,
        "orgRole": role,
    });
    app.post("/organization/users", Some(&by.access_token), body)
        .await
}

/// `POST /organization/users` as `by` with any body.
pub async fn create_user_with(app: &TestApp, by: &Account, body: Value) -> Answer {
    app.post("/organization/users", Some(&by.access_token), body)
        .await
}

/// The id of the user a creation answer carries.
pub fn data_id(answer: &Answer) -> String {
    answer.body["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no data.id in {}", answer.body))
        .to_owned()
}

/// An account of `like`'s organization with another e-mail and id, to describe a created user.
pub fn account_of(like: &Account, email: &str, user_id: &str) -> Account {
    Account {
        email: email.to_owned(),
        user_id: user_id.to_owned(),
        ..like.clone()
    }
}

/// Marks a user's e-mail as verified, in SQL that both backends accept.
pub async fn validate(app: &TestApp, user_id: &str) {
    let sql = "UPDATE users SET validated = (1 = 1) WHERE id = $1";
    assert_eq!(app.execute(sql, &[user_id]).await, 1);
}

/// Logs in with the shared password and returns the account's tokens.
pub async fn log_in(app: &TestApp, email: &str) -> Account {
    let answer = app.login(email, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    Account {
        email: email.to_owned(),
        user_id: answer.body["user"]["id"].as_str().unwrap().to_owned(),
        org_id: answer.body["user"]["orgId"].as_str().unwrap().to_owned(),
        access_token: answer.str("accessToken"),
        refresh_token: answer.str("refreshToken"),
        token_id: answer.str("tokenId"),
        verification_token_id: String::new(),
    }
}

/// A validated, logged-in member of `by`'s organization with organization role `role`.
pub async fn member(app: &TestApp, by: &Account, email: &str, role: i64) -> Account {
    let answer = create_user(app, by, email, role).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    validate(app, answer.body["data"]["id"].as_str().unwrap()).await;
    log_in(app, email).await
}

pub fn role_description(role: i64) -> &'static str {
    match role {
        0 => "USER",
        1 => "BILLING",
        2 => "WORKSPACES",
        254 => "ADMINISTRATORS",
        255 => "OWNER",
        other => panic!("no role {other}"),
    }
}

/// The defined roles up to `role`.
pub fn org_roles(role: i64) -> Vec<i64> {
    [0, 1, 2, 254, 255]
        .into_iter()
        .filter(|r| *r <= role)
        .collect()
}

/// An OrgUser of contract section 5.
pub fn org_user_json(
    account: &Account,
    name: &str,
    last_name: &str,
    role: i64,
    validated: bool,
    deleted_at: Value,
) -> Value {
    json!({
        "id": account.user_id,
        "email": account.email,
        "name": name,
        "lastName": last_name,
        "orgId": account.org_id,
        "orgRole": role,
        "validated": validated,
        "deletedAt": deleted_at,
        "orgRoleDescription": role_description(role),
        "orgRoles": org_roles(role),
    })
}

/// A validated, live member created through the API (named Mia Stone).
pub fn member_json(account: &Account, role: i64) -> Value {
    org_user_json(account, FIRST, LAST, role, true, Value::Null)
}

/// The role summary of `GET /user/{userId}`.
pub fn role_summary(user_id: &str, role: i64) -> Value {
    json!({
        "userId": user_id,
        "orgRole": role,
        "orgRoleDescription": role_description(role),
        "orgRoles": org_roles(role),
    })
}

pub fn not_found_body() -> Value {
    error_body("User not found", "USER_NOT_FOUND")
}

pub fn forbidden_body(message: &str) -> Value {
    error_body(message, "INSUFFICIENT_PERMISSIONS")
}

pub fn invalid_role_body() -> Value {
    error_body("Invalid role combination", "INVALID_ROLE")
}

pub fn last_owner_body() -> Value {
    error_body(
        "The organization must keep at least one owner",
        "LAST_OWNER",
    )
}

pub fn not_validated_body() -> Value {
    error_body(
        "User not found or account is not validated",
        "USER_NOT_VALIDATED",
    )
}

/// `body` with `"data": {}` added, as every error of `PUT /organization/users/{id}` carries.
pub fn with_empty_data(mut body: Value) -> Value {
    body["data"] = json!({});
    body
}

/// The user's organization role in the database.
pub async fn db_role(app: &TestApp, user_id: &str) -> i64 {
    app.count(
        "SELECT CAST(org_role AS BIGINT) FROM users WHERE id = $1",
        &[user_id],
    )
    .await
}

/// The user's `deleted_at` in Unix milliseconds, -1 when live.
pub async fn db_deleted_at(app: &TestApp, user_id: &str) -> i64 {
    app.count(
        "SELECT COALESCE(deleted_at, -1) FROM users WHERE id = $1",
        &[user_id],
    )
    .await
}

/// `deletedAt` as the wire shows the database's value.
pub async fn deleted_at_json(app: &TestApp, user_id: &str) -> Value {
    let ms = db_deleted_at(app, user_id).await;
    assert!(ms > 0, "user {user_id} is not deleted");
    json!(workspaces::clock::rfc3339(ms))
}

/// Number of active OWNERs of an organization.
pub async fn active_owners(app: &TestApp, org_id: &str) -> i64 {
    app.count(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND org_role = 255 AND deleted_at IS NULL",
        &[org_id],
    )
    .await
}

/// Everything these routes can change, as text, to show a refused request changed nothing.
pub async fn snapshot(app: &TestApp) -> (Vec<String>, usize) {
    let mut rows = app
        .strings(
            "SELECT 'user|' || email || '|' || first_name || '|' || last_name || '|' || \
             org_role || '|' || validated || '|' || COALESCE(deleted_at, -1) || '|' || \
             COALESCE(password_hash, '') || '|' || updated_at FROM users ORDER BY 1",
            &[],
        )
        .await;
    rows.extend(
        app.strings(
            "SELECT 'session|' || u.email || '|' || COALESCE(s.revoked_at, -1) \
             FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY 1",
            &[],
        )
        .await,
    );
    rows.extend(
        app.strings(
            "SELECT 'verification|' || u.email || '|' || COALESCE(v.used_at, -1) \
             FROM email_verifications v JOIN users u ON u.id = v.user_id ORDER BY 1",
            &[],
        )
        .await,
    );
    let mails = app.mailer.sent.lock().unwrap().len();
    (rows, mails)
}

/// `/organization/users/{id}` of `user`, plus `rest`.
pub fn org_path(user: &Account, rest: &str) -> String {
    format!("/organization/users/{}{rest}", user.user_id)
}

/// A success that carries only a message.
pub fn ok(message: &str) -> Value {
    json!({ "success": true, "message": message })
}

/// Soft-deletes `user` through the API, as `by`.
pub async fn delete_user(app: &TestApp, by: &Account, user: &Account) {
    let answer = app
        .delete(&org_path(user, ""), Some(&by.access_token))
        .await;
    is(&answer, 200, &ok("User deleted successfully"));
}

/// Sends `method path` as `actor`; `body: None` sends no body and no Content-Type.
pub async fn send(
    app: &TestApp,
    actor: &Account,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    app.request(method, path, Some(&actor.access_token), body)
        .await
}

/// Asserts an answer's status and its whole body.
#[track_caller]
pub fn is(answer: &Answer, status: u16, body: &Value) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
    assert_eq!(&answer.body, body);
}

/// A refused request: actor, path, body, expected status and whole body.
pub type Row<'a> = (&'a Account, &'a str, Option<Value>, u16, &'a Value);

/// Sends every row as `method`, asserts each status and whole body, then that nothing changed.
pub async fn refused(app: &TestApp, method: Method, rows: Vec<Row<'_>>) {
    let before = snapshot(app).await;
    for (actor, path, body, status, expected) in rows {
        let context = format!("{} {method} {path} {body:?}", actor.email);
        let answer = send(app, actor, method.clone(), path, body).await;
        assert_eq!(answer.status.as_u16(), status, "{context}: {}", answer.body);
        assert_eq!(&answer.body, expected, "{context}");
    }
    assert_eq!(
        snapshot(app).await,
        before,
        "a refused request changed something"
    );
}
