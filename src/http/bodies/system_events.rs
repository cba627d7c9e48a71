//! What an event says, the same for every reader: `POST /systemevent` answers it (with whether
//! the caller has read it) and `workspaces events export` writes it, one line per event.

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::domain::{EventContext, EventKind, OrgId, UserId, WorkspaceId};
use crate::store::SystemEvent;

/// What an event says, whoever reads it: also one line of `workspaces events export`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventFields {
    /// Increasing with each event written.
    id: i64,
    /// When the change was made (RFC 3339, UTC).
    timestamp: String,
    /// The id of what changed (a workspace, a user, an organization; for `workspaceuser`, the
    /// member's user id).
    context_id: Uuid,
    #[schema(schema_with = context_names)]
    context: &'static str,
    #[schema(schema_with = event_names)]
    event: &'static str,
    org_id: OrgId,
    /// Who made the change.
    user_id: UserId,
    /// The actor's first and last name.
    user_name: String,
    user_email: String,
    #[schema(required = true)]
    workspace_id: Option<WorkspaceId>,
    /// What changed, as a JSON text: the new entity's public fields (`created`),
    /// `{"field":{"from":a,"to":b}}` (`updated`), the fields at deletion (`deleted`); for
    /// `usersettings` and `orgsettings`, `{"keys":[...]}`, the dot paths that changed.
    #[schema(required = true)]
    json_data: Option<String>,
}

fn names(values: impl Iterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .into()
}

fn context_names() -> RefOr<Schema> {
    names(
        (0..=13)
            .filter_map(EventContext::from_index)
            .map(EventContext::as_str),
    )
}

fn event_names() -> RefOr<Schema> {
    names(
        (0..=2)
            .filter_map(EventKind::from_index)
            .map(EventKind::as_str),
    )
}

impl From<SystemEvent> for EventFields {
    fn from(e: SystemEvent) -> Self {
        let user_name = match (e.actor_first_name.is_empty(), e.actor_last_name.is_empty()) {
            (false, false) => format!("{} {}", e.actor_first_name, e.actor_last_name),
            _ => e.actor_first_name + &e.actor_last_name,
        };
        EventFields {
            id: e.id,
            timestamp: rfc3339(e.created_at),
            context_id: e.context_id,
            context: e.context.as_str(),
            event: e.event.as_str(),
            org_id: e.org_id,
            user_id: e.actor_id,
            user_name,
            user_email: e.actor_email,
            workspace_id: e.workspace_id,
            json_data: e.json_data,
        }
    }
}
