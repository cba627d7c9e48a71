//! The people of one organization, one per organization role, created through
//! `POST /organization/users` (`TestApp::member`), shared by the organization-user and user-role
//! tests, and the JSON those routes answer.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::accounts::{
    Account, Verification, MEMBER_FIRST_NAME, MEMBER_LAST_NAME, PASSWORD,
};
use crate::support::app::TestApp;
use crate::support::assertions::{assert_answer, error_body};
use crate::support::client::Answer;
use crate::support::clock::rfc3339;

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
        let member = |email: &'static str, role: i64| {
            app.member(&owner, email, role, Verification::Verified)
        };
        let administrator = member("administrator@example.com", 254).await;
        let manager = member("manager@example.com", 2).await;
        let billing = member("billing@example.com", 1).await;
        let user = member("user@example.com", 0).await;
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
        "firstName": MEMBER_FIRST_NAME,
        "lastName": MEMBER_LAST_NAME,
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

/// A user of `like`'s organization created with `email` and names, under the id its creation
/// answered: what the tests expect to see of it (it has no tokens).
pub fn account_of(
    like: &Account,
    email: &str,
    user_id: &str,
    (first_name, last_name): (&str, &str),
) -> Account {
    Account {
        email: email.to_owned(),
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        user_id: user_id.to_owned(),
        org_id: like.org_id.clone(),
        access_token: String::new(),
        refresh_token: String::new(),
        token_id: String::new(),
        verification_token_id: String::new(),
    }
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

/// A validated, live user under its own names.
pub fn member_json(account: &Account, role: i64) -> Value {
    let (first, last) = (&account.first_name, &account.last_name);
    org_user_json(account, first, last, role, true, Value::Null)
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
    json!(rfc3339(ms))
}

/// Number of active OWNERs of an organization.
pub async fn active_owners(app: &TestApp, org_id: &str) -> i64 {
    app.count(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND org_role = 255 AND deleted_at IS NULL",
        &[org_id],
    )
    .await
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
    assert_answer(&answer, 200, &ok("User deleted successfully"));
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

/// A refused request: actor, path, body, expected status and whole body.
pub type Row<'a> = (&'a Account, &'a str, Option<Value>, u16, &'a Value);

/// Sends every row as `method`, asserts each status and whole body, then that nothing changed.
pub async fn refused(app: &TestApp, method: Method, rows: Vec<Row<'_>>) {
    let before = app.snapshot().await;
    for (actor, path, body, status, expected) in rows {
        let context = format!("{} {method} {path} {body:?}", actor.email);
        let answer = send(app, actor, method.clone(), path, body).await;
        assert_eq!(answer.status.as_u16(), status, "{context}: {}", answer.body);
        assert_eq!(&answer.body, expected, "{context}");
    }
    app.assert_unchanged(&before).await;
}
