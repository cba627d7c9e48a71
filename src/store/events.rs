//! The write half of the audit trail (contract section 7): every store operation that changes
//! something appends its event here, on the [`Tx`] of the change itself, so the event commits or
//! rolls back with it. Nothing else writes `system_events`.
//!
//! `json_data` is built from typed values with serde, never by pasting strings: `created` and
//! `deleted` events carry the entity's public fields ([`WorkspaceFields`], [`MemberFields`],
//! [`UserFields`], [`OrgFields`]); `updated` events carry [`Changes`], `{"field": {"from": a,
//! "to": b}}` for each field that changed, a password only ever as `"changed"`.

use serde::ser::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use super::tx::{args, Tx};
use super::{StoreError, StoreResult, User};
use crate::domain::{EventContext, EventKind, OrgId, OrgRole, UserId, WorkspaceId, WorkspaceRole};

/// Who makes a change, in which organization, when (Unix ms): what its event records as the
/// actor. For a registration, a verification or a password reset, the user themself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub at: i64,
}

/// One row of `system_events`, before the database numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NewEvent {
    pub org_id: OrgId,
    pub actor_id: UserId,
    pub workspace_id: Option<WorkspaceId>,
    pub context: EventContext,
    pub kind: EventKind,
    pub context_id: Uuid,
    pub json_data: Option<String>,
    pub at: i64,
}

impl NewEvent {
    fn new(by: Actor, context: EventContext, kind: EventKind, context_id: Uuid) -> NewEvent {
        NewEvent {
            org_id: by.org_id,
            actor_id: by.user_id,
            workspace_id: None,
            context,
            kind,
            context_id,
            json_data: None,
            at: by.at,
        }
    }

    /// `workspace` created / updated / deleted.
    pub fn workspace(by: Actor, kind: EventKind, id: WorkspaceId, data: String) -> NewEvent {
        NewEvent {
            workspace_id: Some(id),
            json_data: Some(data),
            ..NewEvent::new(by, EventContext::Workspace, kind, id.uuid())
        }
    }

    /// `workspaceuser` created / updated / deleted: about the member, in their workspace.
    pub fn member(
        by: Actor,
        kind: EventKind,
        workspace_id: WorkspaceId,
        user_id: UserId,
        data: String,
    ) -> NewEvent {
        NewEvent {
            workspace_id: Some(workspace_id),
            json_data: Some(data),
            ..NewEvent::new(by, EventContext::WorkspaceUser, kind, user_id.uuid())
        }
    }

    /// `user` created / updated / deleted.
    pub fn user(by: Actor, kind: EventKind, user_id: UserId, data: String) -> NewEvent {
        NewEvent {
            json_data: Some(data),
            ..NewEvent::new(by, EventContext::User, kind, user_id.uuid())
        }
    }

    /// `usersettings` / `orgsettings` updated (`context`): about the settings' owner, the user
    /// or the organization `owner_id`.
    pub fn settings(by: Actor, context: EventContext, owner_id: Uuid, data: String) -> NewEvent {
        NewEvent {
            json_data: Some(data),
            ..NewEvent::new(by, context, EventKind::Updated, owner_id)
        }
    }

    /// `org` created / updated: about the actor's organization.
    pub fn org(by: Actor, kind: EventKind, data: String) -> NewEvent {
        NewEvent {
            json_data: Some(data),
            ..NewEvent::new(by, EventContext::Org, kind, by.org_id.uuid())
        }
    }
}

/// The most bytes of `jsonData` an event keeps (contract section 7), so that no request can make
/// an event much larger than itself.
pub const MAX_EVENT_DATA_BYTES: usize = 16 * 1024;

/// Appends `event`, in the caller's transaction, its `jsonData` within [`MAX_EVENT_DATA_BYTES`].
pub(super) async fn append_event(tx: &mut Tx<'_>, event: &NewEvent) -> StoreResult<()> {
    let json_data = event.json_data.as_deref().map(bounded_data);
    tx.execute(
        INSERT_EVENT,
        args![
            event.org_id,
            event.actor_id,
            event.workspace_id,
            event.context,
            event.kind,
            event.context_id,
            json_data.as_deref(),
            event.at,
        ],
    )
    .await?;
    Ok(())
}

/// `data` when it is within [`MAX_EVENT_DATA_BYTES`]; otherwise the fields of its object that fit,
/// in order, plus `"truncated": true` and `"changedCount"`, the number of fields it had. The
/// builders of large data bound it themselves (settings events name what fits of their keys):
/// this is the rule every event obeys whatever its builder did.
fn bounded_data(data: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if data.len() <= MAX_EVENT_DATA_BYTES {
        return Cow::Borrowed(data);
    }
    // Room for the trailer: `,"truncated":true,"changedCount":` and a count.
    const TRAILER: usize = 64;
    let fields = match serde_json::from_str::<Value>(data) {
        Ok(Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    let count = fields.len();
    let mut kept = serde_json::Map::new();
    let mut used: usize = 2;
    for (name, value) in fields {
        let len = serde_json::to_string(&name).map_or(usize::MAX, |t| t.len())
            + serde_json::to_string(&value).map_or(usize::MAX, |t| t.len())
            + 2;
        if used.saturating_add(len) <= MAX_EVENT_DATA_BYTES - TRAILER {
            used += len;
            kept.insert(name, value);
        }
    }
    kept.insert("truncated".to_owned(), Value::Bool(true));
    kept.insert("changedCount".to_owned(), Value::from(count));
    Cow::Owned(Value::Object(kept).to_string())
}

/// `value` as JSON text.
pub(super) fn json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::Encoding)
}

/// A workspace's public fields, as its JSON on the wire: `{"id","name","orgId"}`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WorkspaceFields<'a> {
    pub id: WorkspaceId,
    pub name: &'a str,
    pub org_id: OrgId,
}

/// A membership's public fields: `{"workspaceId","userId","role"}`.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MemberFields {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: &'static str,
}

impl MemberFields {
    pub fn new(workspace_id: WorkspaceId, user_id: UserId, role: WorkspaceRole) -> MemberFields {
        MemberFields {
            workspace_id,
            user_id,
            role: role.as_str(),
        }
    }
}

/// A user's public fields, named as the organization's user JSON names them:
/// `{"id","email","name","lastName","orgId","orgRole","validated"}` (`name` is the first name).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserFields<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub name: &'a str,
    pub last_name: &'a str,
    pub org_id: OrgId,
    pub org_role: u8,
    pub validated: bool,
}

impl<'a> From<&'a User> for UserFields<'a> {
    fn from(user: &'a User) -> Self {
        let names = (
            user.email.as_str(),
            user.first_name.as_str(),
            user.last_name.as_str(),
        );
        UserFields::of(user.id, user.org_id, names, user.org_role, user.validated)
    }
}

impl<'a> UserFields<'a> {
    /// The fields of a user, from their parts (a `User`, or a `NewUser` being inserted).
    pub(super) fn of(
        id: UserId,
        org_id: OrgId,
        (email, name, last_name): (&'a str, &'a str, &'a str),
        org_role: OrgRole,
        validated: bool,
    ) -> Self {
        UserFields {
            id,
            email,
            name,
            last_name,
            org_id,
            org_role: org_role.value(),
            validated,
        }
    }
}

/// A new organization's public fields, named as the organization JSON names them:
/// `{"id","name","website","is_business"}` (all a registration sets).
#[derive(Debug, serde::Serialize)]
pub(super) struct OrgFields<'a> {
    pub id: OrgId,
    pub name: &'a str,
    pub website: Option<&'a str>,
    pub is_business: bool,
}

/// The fields an update changed, in the order they were compared: the `jsonData` of `updated`
/// events. Fields whose value stayed the same are left out.
#[derive(Debug, Default)]
pub(super) struct Changes(Vec<(&'static str, Change)>);

#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
enum Change {
    FromTo {
        from: Value,
        to: Value,
    },
    /// A secret: only that it changed, never a value or a hash.
    Changed(&'static str),
}

impl Changes {
    /// Records `field` when `from` and `to` differ.
    pub fn field<T: PartialEq + Into<Value>>(
        mut self,
        field: &'static str,
        from: T,
        to: T,
    ) -> Self {
        if from != to {
            let (from, to) = (from.into(), to.into());
            self.0.push((field, Change::FromTo { from, to }));
        }
        self
    }

    /// Records that the secret `field` was replaced, when `changed`.
    pub fn secret(mut self, field: &'static str, changed: bool) -> Self {
        if changed {
            self.0.push((field, Change::Changed("changed")));
        }
        self
    }

    /// The JSON of the changes; None when nothing changed (then there is no event either).
    pub fn json(&self) -> StoreResult<Option<String>> {
        if self.0.is_empty() {
            return Ok(None);
        }
        json(self).map(Some)
    }
}

impl Serialize for Changes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(field, change)| (field, change)))
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Binds: org_id, actor_id, workspace_id, context, event, context_id, json_data, created_at.
pub(super) const INSERT_EVENT: &str =
    "INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, \
     json_data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{bounded_data, Changes, MAX_EVENT_DATA_BYTES};

    #[test]
    fn changes_name_each_changed_field_in_order_and_secrets_only_as_changed() {
        let changes = Changes::default()
            .field("name", "Ann", "Anna")
            .field("lastName", "Lee", "Lee")
            .field("orgRole", 255_u8, 2)
            .field("website", Some("a"), None)
            .secret("password", true);
        let text = changes.json().unwrap().unwrap();
        assert_eq!(
            text,
            r#"{"name":{"from":"Ann","to":"Anna"},"orgRole":{"from":255,"to":2},"website":{"from":"a","to":null},"password":"changed"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["password"], json!("changed"));
    }

    #[test]
    fn data_over_the_bound_keeps_the_fields_that_fit_and_says_how_many_there_were() {
        let small = r#"{"name":{"from":"a","to":"b"}}"#;
        assert_eq!(bounded_data(small), small);
        let big = "x".repeat(MAX_EVENT_DATA_BYTES);
        let data = json!({ "a": 1, "b": big, "c": "short" }).to_string();
        let bounded = bounded_data(&data);
        assert!(bounded.len() <= MAX_EVENT_DATA_BYTES);
        let parsed: serde_json::Value = serde_json::from_str(&bounded).unwrap();
        assert_eq!(
            parsed,
            json!({ "a": 1, "c": "short", "truncated": true, "changedCount": 3 })
        );
        // Not an object: only the marks.
        let list = serde_json::Value::from(vec![big.clone(), big]).to_string();
        let parsed: serde_json::Value = serde_json::from_str(&bounded_data(&list)).unwrap();
        assert_eq!(parsed, json!({ "truncated": true, "changedCount": 0 }));
    }

    #[test]
    fn no_change_is_no_data() {
        let changes = Changes::default()
            .field("name", "Ann", "Ann")
            .secret("password", false);
        assert_eq!(changes.json().unwrap(), None);
    }
}
