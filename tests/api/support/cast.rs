//! The people of one organization around one workspace, shared by the workspace tests, and the
//! JSON they expect to see. The owner registers; everyone else of the organization is created by
//! the owner through `POST /organization/users` (`TestApp::member`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification};
use crate::support::app::TestApp;
use crate::support::assertions::error_body;

pub const WORKSPACE_NAME: &str = "Cast Workspace";

pub struct Cast {
    /// Organization OWNER (255); created the workspace, so its ADMIN member.
    pub owner: Account,
    /// Organization ADMINISTRATORS (254); not a member.
    pub administrator: Account,
    /// Organization WORKSPACES (2); not a member.
    pub manager: Account,
    /// Organization USER (0); workspace ADMIN.
    pub admin: Account,
    /// Organization USER (0); workspace WRITE.
    pub writer: Account,
    /// Organization USER (0); workspace READ.
    pub reader: Account,
    /// Organization USER (0); no membership.
    pub plain: Account,
    /// OWNER of another organization.
    pub outsider: Account,
    /// Organization USER (0) whose e-mail is not verified; workspace READ.
    pub unvalidated: Account,
    /// The workspace's id.
    pub workspace: String,
}

impl Cast {
    pub async fn seed(app: &TestApp) -> Cast {
        use Verification::{Unverified, Verified};
        let owner = app.register_verified("owner@example.com").await;
        let member = |email: &'static str, role: i64, verification| {
            app.member(&owner, email, role, verification)
        };
        let administrator = member("administrator@example.com", 254, Verified).await;
        let manager = member("manager@example.com", 2, Verified).await;
        let admin = member("admin@example.com", 0, Verified).await;
        let writer = member("writer@example.com", 0, Verified).await;
        let reader = member("reader@example.com", 0, Verified).await;
        let plain = member("plain@example.com", 0, Verified).await;
        let unvalidated = member("unvalidated@example.com", 0, Unverified).await;
        let outsider = app.register_verified("outsider@example.com").await;
        let workspace = create(app, &owner, WORKSPACE_NAME).await;
        for (account, role) in [
            (&admin, "ADMIN"),
            (&writer, "WRITE"),
            (&reader, "READ"),
            (&unvalidated, "READ"),
        ] {
            add_member(app, &owner, &workspace, account, role).await;
        }
        Cast {
            owner,
            administrator,
            manager,
            admin,
            writer,
            reader,
            plain,
            outsider,
            unvalidated,
            workspace,
        }
    }

    pub fn org_id(&self) -> &str {
        &self.owner.org_id
    }

    /// The workspace as GET shows it: with its five members.
    pub fn workspace_json(&self) -> Value {
        workspace_json(
            &self.workspace,
            WORKSPACE_NAME,
            self.org_id(),
            vec![
                member_json(&self.owner, "ADMIN", 255),
                member_json(&self.admin, "ADMIN", 0),
                member_json(&self.writer, "WRITE", 0),
                member_json(&self.reader, "READ", 0),
                member_json(&self.unvalidated, "READ", 0),
            ],
        )
    }

    /// `/workspace/{id}` of the cast's workspace, plus `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/workspace/{}{rest}", self.workspace)
    }
}

/// The 409 of a create or rename to a name another live workspace of the organization holds.
pub fn taken_body() -> Value {
    error_body(
        "A workspace with this name already exists in the organization",
        "WORKSPACE_NAME_TAKEN",
    )
}

/// Creates a workspace through the API and returns its id.
pub async fn create(app: &TestApp, by: &Account, name: &str) -> String {
    let answer = app.create_workspace(&by.access_token, name).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["workspace"]["id"].as_str().unwrap().to_owned()
}

/// Adds a member through the API, as `by`.
pub async fn add_member(app: &TestApp, by: &Account, workspace: &str, who: &Account, role: &str) {
    let answer = app
        .request(
            Method::POST,
            &format!("/workspace/{workspace}/users"),
            Some(&by.access_token),
            Some(json!({ "userId": who.user_id, "role": role })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// A WorkspaceUser of contract section 3.
pub fn member_json(account: &Account, role: &str, org_role: i64) -> Value {
    json!({
        "userId": account.user_id,
        "role": role,
        "user": {
            "id": account.user_id,
            "name": account.first_name,
            "lastName": account.last_name,
            "email": account.email,
            "orgRole": org_role,
        },
    })
}

pub fn workspace_json(id: &str, name: &str, org_id: &str, users: Vec<Value>) -> Value {
    json!({ "id": id, "name": name, "orgId": org_id, "users": users })
}

/// The contract does not order members within a workspace: sorts every `users` array by
/// `userId` so whole bodies can be compared.
pub fn normalized(mut body: Value) -> Value {
    fn sort(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(users)) = map.get_mut("users") {
                    users.sort_by(|a, b| a["userId"].as_str().cmp(&b["userId"].as_str()));
                }
                map.values_mut().for_each(sort);
            }
            Value::Array(items) => items.iter_mut().for_each(sort),
            _ => {}
        }
    }
    sort(&mut body);
    body
}

/// The role `user` holds in `workspace`, if any.
pub async fn role_of(app: &TestApp, workspace: &str, user: &Account) -> Vec<String> {
    app.strings(
        "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2",
        &[workspace, &user.user_id],
    )
    .await
}

/// Soft-deletes a user in SQL.
pub async fn delete_user(app: &TestApp, user: &Account) {
    let sql = "UPDATE users SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&user.user_id]).await, 1);
}

pub fn last_admin_body() -> Value {
    error_body("Workspace must keep at least one admin", "LAST_ADMIN")
}

/// Active ADMIN members of a workspace.
pub async fn active_admins(app: &TestApp, workspace: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM workspace_members m JOIN users u ON u.id = m.user_id \
               WHERE m.workspace_id = $1 AND m.role = 'ADMIN' AND u.deleted_at IS NULL";
    app.count(sql, &[workspace]).await
}
