//! The two scopes of settings, `/settings/user` and `/settings/organization`, as the settings
//! tests see them: their routes, texts, tables and events, and the requests that read and write
//! them.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::TestApp;
use crate::support::assertions::assert_answer;
use crate::support::client::Answer;

/// One scope of settings: its route, its texts, its table and its event context.
pub struct Scope {
    pub path: &'static str,
    /// How its messages name it: `User`, `Organization`.
    name: &'static str,
    pub table: &'static str,
    pub owner_column: &'static str,
    /// `usersettings` (7) or `orgsettings` (8).
    pub context: i64,
}

pub const USER: Scope = Scope {
    path: "/settings/user",
    name: "User",
    table: "user_settings",
    owner_column: "user_id",
    context: 7,
};

pub const ORGANIZATION: Scope = Scope {
    path: "/settings/organization",
    name: "Organization",
    table: "org_settings",
    owner_column: "org_id",
    context: 8,
};

pub const SCOPES: [&Scope; 2] = [&USER, &ORGANIZATION];

const UPDATED: i64 = 1;

impl Scope {
    /// Whose object `account` reaches: their own, or their organization's.
    pub fn owner_id<'a>(&self, account: &'a Account) -> &'a str {
        if self.context == USER.context {
            &account.user_id
        } else {
            &account.org_id
        }
    }

    /// The success message of a write with `method`.
    pub fn done(&self, method: &Method) -> String {
        let what = match method.as_str() {
            "POST" => "updated",
            "PUT" => "partially updated",
            _ => "keys deleted",
        };
        format!("{} settings {what} successfully", self.name)
    }

    /// The message of a body of the wrong shape (and of a failure) of a write with `method`.
    pub fn failed(&self, method: &Method) -> String {
        let lower = self.name.to_lowercase();
        match method.as_str() {
            "GET" => format!("Failed to get {lower} settings"),
            "POST" => format!("Failed to update {lower} settings"),
            "PUT" => format!("Failed to partially update {lower} settings"),
            _ => format!("Failed to delete {lower} settings keys"),
        }
    }

    /// The stored text of `account`'s object of this scope, if a row exists.
    pub async fn stored(&self, app: &TestApp, account: &Account) -> Vec<String> {
        let sql = format!(
            "SELECT settings FROM {} WHERE {} = $1",
            self.table, self.owner_column
        );
        app.strings(&sql, &[self.owner_id(account)]).await
    }

    /// The event a write by `actor` that changed `keys` records.
    pub fn event(&self, actor: &Account, keys: &[&str]) -> Value {
        json!({
            "orgId": actor.org_id,
            "actorId": actor.user_id,
            "workspaceId": null,
            "context": self.context,
            "event": UPDATED,
            "contextId": self.owner_id(actor),
            "jsonData": { "keys": keys },
        })
    }
}

pub async fn read(app: &TestApp, scope: &Scope, by: &Account) -> Answer {
    app.get(scope.path, Some(&by.access_token)).await
}

pub async fn write(
    app: &TestApp,
    scope: &Scope,
    by: &Account,
    method: Method,
    body: Value,
) -> Answer {
    app.request(method, scope.path, Some(&by.access_token), Some(body))
        .await
}

pub fn settings_body(settings: Value) -> Value {
    json!({ "success": true, "settings": settings })
}

pub fn done_body(scope: &Scope, method: &Method) -> Value {
    json!({ "success": true, "message": scope.done(method) })
}

/// Writes `body` with `method` as `by` and asserts the whole 200.
pub async fn write_ok(app: &TestApp, scope: &Scope, by: &Account, method: Method, body: Value) {
    let answer = write(app, scope, by, method.clone(), body).await;
    assert_answer(&answer, StatusCode::OK, &done_body(scope, &method));
}

/// Replaces `by`'s object of `scope` by `settings` (`POST`) and asserts the whole 200.
pub async fn replace_ok(app: &TestApp, scope: &Scope, by: &Account, settings: Value) {
    let body = json!({ "settings": settings });
    write_ok(app, scope, by, Method::POST, body).await;
}

/// Asserts that `by` reads `settings` and that the database holds exactly that text.
pub async fn assert_settings(app: &TestApp, scope: &Scope, by: &Account, settings: Value) {
    let answer = read(app, scope, by).await;
    assert_answer(&answer, StatusCode::OK, &settings_body(settings.clone()));
    assert_eq!(scope.stored(app, by).await, [settings.to_string()]);
}
