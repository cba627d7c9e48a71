//! The cast of the system event tests: an organization with one of each role, a workspace with
//! a USER member, another organization, and events inserted as rows (with ids of real users,
//! workspaces and memberships made through the API), so a test states exactly which events exist.

use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification};
use crate::support::app::{spawn_app, TestApp};
use crate::support::client::Answer;
use crate::support::clock::{now_ms, rfc3339};

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;

pub struct EventCast {
    pub app: TestApp,
    pub owner: Account,
    pub admin: Account,
    pub manager: Account,
    /// USER, a member of `workspace`.
    pub member: Account,
    /// USER, member of nothing.
    pub outsider: Account,
    /// OWNER of another organization.
    pub stranger: Account,
    pub workspace: String,
}

/// One row of `system_events`.
#[derive(Debug, Clone)]
pub struct Row {
    pub org: String,
    pub actor: String,
    pub workspace: Option<String>,
    pub context: i64,
    pub event: i64,
    pub context_id: String,
    pub json_data: Option<&'static str>,
    pub created_at: i64,
}

impl EventCast {
    pub async fn new() -> EventCast {
        let app = spawn_app().await;
        EventCast::with(app).await
    }

    pub async fn with(app: TestApp) -> EventCast {
        let owner = app.register_verified("owner@example.com").await;
        let v = Verification::Verified;
        let admin = app.member(&owner, "admin@example.com", 254, v).await;
        let manager = app.member(&owner, "manager@example.com", 2, v).await;
        let member = app.member(&owner, "member@example.com", 0, v).await;
        let outsider = app.member(&owner, "outsider@example.com", 0, v).await;
        let stranger = app.register_verified("stranger@example.org").await;
        let created = app.create_workspace(&owner.access_token, "Design").await;
        let workspace = created.body["workspace"]["id"].as_str().unwrap().to_owned();
        let added = app
            .post(
                &format!("/workspace/{workspace}/users"),
                Some(&owner.access_token),
                json!({ "userId": member.user_id, "role": "READ" }),
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
        // The set-up's own changes write events once every change does: start from none, so
        // that each test names every event there is.
        app.execute("DELETE FROM system_events", &[]).await;
        EventCast {
            app,
            owner,
            admin,
            manager,
            member,
            outsider,
            stranger,
            workspace,
        }
    }

    /// An event by `actor` in `actor`'s organization, `ago` ms before now, about `context_id`.
    pub fn row(actor: &Account, context: i64, event: i64, context_id: &str, ago: i64) -> Row {
        Row {
            org: actor.org_id.clone(),
            actor: actor.user_id.clone(),
            workspace: None,
            context,
            event,
            context_id: context_id.to_owned(),
            json_data: None,
            created_at: now_ms() - ago,
        }
    }

    /// Inserts the row; answers its id.
    pub async fn insert(&self, row: &Row) -> i64 {
        let json = row
            .json_data
            .map_or("NULL".to_owned(), |text| format!("'{text}'"));
        let (workspace, mut ids) = match &row.workspace {
            Some(id) => (
                "$4",
                vec![row.org.as_str(), &row.actor, &row.context_id, id],
            ),
            None => ("NULL", vec![row.org.as_str(), &row.actor, &row.context_id]),
        };
        let sql = format!(
            "INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, \
             context_id, json_data, created_at) VALUES ($1, $2, {workspace}, {}, {}, $3, {json}, {})",
            row.context, row.event, row.created_at
        );
        ids.truncate(4);
        assert_eq!(self.app.execute(&sql, &ids).await, 1);
        self.app
            .count("SELECT MAX(id) FROM system_events", &[])
            .await
    }

    /// The event JSON the API answers for `row` with id `id`.
    pub fn json(id: i64, row: &Row, by: &Account, unread: bool) -> Value {
        let context = [
            "workspace",
            "bucket",
            "repo",
            "user",
            "org",
            "workspaceuser",
            "apikey",
            "usersettings",
            "orgsettings",
            "flashbacknode",
            "orgkey",
            "aillm",
            "aillmapikey",
            "conversation",
        ][row.context as usize];
        let event = ["created", "updated", "deleted"][row.event as usize];
        json!({
            "id": id,
            "timestamp": rfc3339(row.created_at),
            "contextId": row.context_id,
            "context": context,
            "event": event,
            "orgId": row.org,
            "userId": row.actor,
            "userName": format!("{} {}", by.first_name, by.last_name),
            "userEmail": by.email,
            "workspaceId": row.workspace,
            "jsonData": row.json_data,
            "showUnread": unread,
        })
    }

    /// `POST /systemevent` as `by`.
    pub async fn query(&self, by: &Account, body: Value) -> Answer {
        self.app
            .post("/systemevent", Some(&by.access_token), body)
            .await
    }

    /// The ids `by` gets for `body` (asserting a 200), and the total.
    pub async fn ids(&self, by: &Account, body: Value) -> (Vec<i64>, i64) {
        let answer = self.query(by, body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let ids = answer.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["id"].as_i64().unwrap())
            .collect();
        (ids, answer.body["total"].as_i64().unwrap())
    }
}
