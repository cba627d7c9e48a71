//! The audit trail (contract section 7): `POST /systemevent` (the query, in the body), marking
//! events read and unread (`/systemevent/read`, and the older `/systemevent/{id}/read`).

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::clock::{now_ms, parse_rfc3339};
use crate::domain::{EventContext, EventKind, UserId, WorkspaceId};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::system_events::EventFields;
use crate::http::bodies::SuccessResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, JsonBody};
use crate::http::AppState;
use crate::store::{EventFilter, EventReader, SystemEvent};

/// Without either timestamp, the query covers the last 24 hours (contract section 7).
const DEFAULT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
const DEFAULT_TAKE: i64 = 20;
const MAX_TAKE: i64 = 100;
/// Most ids one mark request takes.
const MAX_IDS: usize = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query_events))
        .routes(routes!(mark_read, mark_unread))
        .routes(routes!(mark_one_read, mark_one_unread))
}

/// The query. Every field is optional; `null` reads as absent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EventQueryBody {
    /// Events at or after this time (RFC 3339).
    #[serde(rename = "from_timestamp")]
    #[schema(value_type = Option<String>, format = DateTime)]
    from_timestamp: Option<Value>,
    /// Events at or before this time (RFC 3339).
    #[serde(rename = "to_timestamp")]
    #[schema(value_type = Option<String>, format = DateTime)]
    to_timestamp: Option<Value>,
    #[schema(value_type = Option<Uuid>)]
    context_id: Option<Value>,
    /// A context index, 0 to 13.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 13)]
    context: Option<Value>,
    /// An event index: 0 created, 1 updated, 2 deleted.
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 2)]
    event: Option<Value>,
    /// The actor.
    #[schema(value_type = Option<Uuid>)]
    user_id: Option<Value>,
    #[schema(value_type = Option<Uuid>)]
    workspace_id: Option<Value>,
    /// Only the events the caller has not marked read.
    #[schema(value_type = Option<bool>)]
    show_unread: Option<Value>,
    #[schema(value_type = Option<i64>, minimum = 0, default = 0)]
    skip: Option<Value>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100, default = 20)]
    take: Option<Value>,
}

/// A field, unless absent or `null`.
fn given(value: &Option<Value>) -> Option<&Value> {
    value.as_ref().filter(|v| !v.is_null())
}

fn integer_in(
    value: &Option<Value>,
    range: std::ops::RangeInclusive<i64>,
    message: &'static str,
) -> Result<Option<i64>, ApiError> {
    given(value)
        .map(|v| {
            v.as_i64()
                .filter(|n| range.contains(n))
                .ok_or_else(|| ApiError::invalid_field(message))
        })
        .transpose()
}

fn timestamp(value: &Option<Value>, message: &'static str) -> Result<Option<i64>, ApiError> {
    given(value)
        .map(|v| {
            v.as_str()
                .and_then(parse_rfc3339)
                .ok_or_else(|| ApiError::invalid_field(message))
        })
        .transpose()
}

fn uuid(value: &Option<Value>, message: &'static str) -> Result<Option<Uuid>, ApiError> {
    given(value)
        .map(|v| {
            v.as_str()
                .and_then(|text| Uuid::try_parse(text).ok())
                .ok_or_else(|| ApiError::invalid_field(message))
        })
        .transpose()
}

/// A parsed query: its filters and its page.
struct Query {
    filter: EventFilter,
    skip: i64,
    take: i64,
}

impl EventQueryBody {
    fn parse(&self, now: i64) -> Result<Query, ApiError> {
        let skip = integer_in(
            &self.skip,
            0..=i64::MAX,
            "skip must be an integer of at least 0",
        )?;
        let take = integer_in(
            &self.take,
            1..=MAX_TAKE,
            "take must be an integer from 1 to 100",
        )?;
        let from = timestamp(
            &self.from_timestamp,
            "from_timestamp must be an RFC 3339 timestamp",
        )?;
        let to = timestamp(
            &self.to_timestamp,
            "to_timestamp must be an RFC 3339 timestamp",
        )?;
        let context = integer_in(
            &self.context,
            0..=13,
            "context must be an integer from 0 to 13",
        )?;
        let event = integer_in(&self.event, 0..=2, "event must be an integer from 0 to 2")?;
        let context_id = uuid(&self.context_id, "contextId must be a UUID")?;
        let actor = uuid(&self.user_id, "userId must be a UUID")?.map(UserId::from_uuid);
        let workspace =
            uuid(&self.workspace_id, "workspaceId must be a UUID")?.map(WorkspaceId::from_uuid);
        let unread_only = given(&self.show_unread)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| ApiError::invalid_field("showUnread must be a boolean"))
            })
            .transpose()?
            .unwrap_or(false);
        // With neither bound, the last 24 hours; with one, the other side is open.
        let from = match (from, to) {
            (None, None) => Some(now.saturating_sub(DEFAULT_WINDOW_MS)),
            _ => from,
        };
        Ok(Query {
            filter: EventFilter {
                from,
                to,
                context_id,
                context: context.and_then(EventContext::from_index),
                event: event.and_then(EventKind::from_index),
                actor,
                workspace,
                unread_only,
            },
            skip: skip.unwrap_or(0),
            take: take.unwrap_or(DEFAULT_TAKE),
        })
    }
}

fn reader(auth: &AuthUser) -> EventReader {
    EventReader {
        org_id: auth.user.org_id,
        user_id: auth.user.id,
        org_wide: auth.user.org_role.sees_all_events(),
    }
}

/// An event on the wire, as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SystemEvent)]
#[serde(rename_all = "camelCase")]
struct EventJson {
    #[serde(flatten)]
    fields: EventFields,
    /// True when the caller has not marked the event read.
    show_unread: bool,
}

impl From<SystemEvent> for EventJson {
    fn from(e: SystemEvent) -> Self {
        EventJson {
            show_unread: e.unread,
            fields: e.into(),
        }
    }
}

/// `POST /systemevent`: a page of events, newest first, and how many match in all.
#[derive(Debug, Serialize, ToSchema)]
struct SystemEventsResponse {
    success: SuccessTrue,
    events: Vec<EventJson>,
    /// Every event matching the filters, over all pages.
    total: i64,
    skip: i64,
    take: i64,
}

impl SystemEventsResponse {
    fn new(events: Vec<SystemEvent>, total: i64, skip: i64, take: i64) -> Self {
        SystemEventsResponse {
            success: SuccessTrue,
            events: events.into_iter().map(EventJson::from).collect(),
            total,
            skip,
            take,
        }
    }
}

/// The events the caller may see, newest first (time, then id), one page at a time. OWNER and
/// ADMINISTRATORS see their whole organization; everyone else the events they caused and those
/// of the workspaces they are a member of. Without timestamps, the last 24 hours.
#[utoipa::path(
    post,
    path = "/systemevent",
    tag = "events",
    security(("bearerAuth" = [])),
    request_body = EventQueryBody,
    responses(
        (status = 200, description = "A page of events and how many match", body = SystemEventsResponse),
        (status = 400, description = "`INVALID_FIELD`: a value out of range, a malformed timestamp or id, an unknown index; the message names the field", body = ErrorResponse),
        Unauthorized,
        BodyRejected,
        (status = 500, description = "Failed to fetch system events", body = ErrorResponse),
    )
)]
async fn query_events(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<EventQueryBody>,
) -> Result<Json<SystemEventsResponse>, ApiError> {
    let Query { filter, skip, take } = body.parse(now_ms())?;
    let page = state
        .store
        .system_events(reader(&auth), filter, skip, take)
        .await
        .or_500("Failed to fetch system events")?;
    Ok(Json(SystemEventsResponse::new(
        page.events,
        page.total,
        skip,
        take,
    )))
}

/// The events to mark: `id`, `ids`, or both.
#[derive(Deserialize, ToSchema)]
struct MarkBody {
    #[schema(value_type = Option<i64>)]
    id: Option<Value>,
    /// At most 1,000.
    #[schema(value_type = Option<Vec<i64>>, max_items = 1000)]
    ids: Option<Value>,
}

fn no_valid_id() -> ApiError {
    ApiError::bad_request(
        ErrorCode::EventIdRequired,
        "At least one valid event id is required",
    )
}

/// An event id: a positive integer (ids start at 1).
fn event_id(value: &Value) -> Option<i64> {
    value.as_i64().filter(|n| *n > 0)
}

impl MarkBody {
    /// The integers of `id` and `ids` (other entries name no event and are skipped).
    fn ids(&self) -> Result<Vec<i64>, ApiError> {
        let listed = match given(&self.ids) {
            None => &[][..],
            Some(Value::Array(list)) => list.as_slice(),
            Some(_) => return Err(no_valid_id()),
        };
        if listed.len() > MAX_IDS {
            return Err(ApiError::bad_request(
                ErrorCode::TooManyEventIds,
                "At most 1000 event ids at once",
            ));
        }
        let mut ids: Vec<i64> = given(&self.id)
            .into_iter()
            .chain(listed)
            .filter_map(event_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Err(no_valid_id());
        }
        Ok(ids)
    }
}

/// Body 400, then the caller validated (marking is a write), then the marks.
async fn mark(
    state: &AppState,
    auth: &AuthUser,
    ids: Result<Vec<i64>, ApiError>,
    read: bool,
) -> Result<Json<SuccessResponse>, ApiError> {
    let ids = ids?;
    auth.require_validated()?;
    state
        .store
        .mark_events(reader(auth), ids, read)
        .await
        .or_500("Failed to update system events")?;
    Ok(Json(SuccessResponse::default()))
}

/// The id of the older one-event path; anything but a positive integer names no event.
fn path_id(raw: &str) -> Result<Vec<i64>, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|id| vec![id])
        .ok_or_else(no_valid_id)
}

/// The mark routes of one way of naming the events, over [`mark`]: `POST` marks them read and
/// `DELETE` unread, for the caller alone. `$ids` is the extractor the route reads the events
/// from (and `$parse` how), `$input` documents it, `$refused` its 400 and body refusals.
macro_rules! mark_routes {
    (
        $path:literal,
        [$(#[doc = $read_doc:literal])* $read:ident, $(#[doc = $unread_doc:literal])* $unread:ident],
        $ids:ident: $extractor:ty => $parse:expr,
        [$($input:tt)*],
        [$($refused:tt)*]
    ) => {
        mark_routes!(@route [$(#[doc = $read_doc])*] post $path, $read, "Marked", true,
            $ids: $extractor => $parse, [$($input)*], [$($refused)*]);
        mark_routes!(@route [$(#[doc = $unread_doc])*] delete $path, $unread, "Marked unread", false,
            $ids: $extractor => $parse, [$($input)*], [$($refused)*]);
    };
    (
        @route [$(#[doc = $doc:literal])*] $method:ident $path:literal, $handler:ident, $done:literal,
        $marks_read:literal, $ids:ident: $extractor:ty => $parse:expr,
        [$($input:tt)*], [$($refused:tt)*]
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            $method,
            path = $path,
            tag = "events",
            security(("bearerAuth" = [])),
            $($input)*
            responses(
                (status = 200, description = $done, body = SuccessResponse),
                $($refused)*
                Unauthorized,
                (status = 500, description = "Failed to update system events", body = ErrorResponse),
            )
        )]
        async fn $handler(
            State(state): State<AppState>,
            auth: AuthUser,
            $ids: $extractor,
        ) -> Result<Json<SuccessResponse>, ApiError> {
            mark(&state, &auth, $parse, $marks_read).await
        }
    };
}

mark_routes!(
    "/systemevent/read",
    [
        /// Marks events read for the caller alone; ids the caller cannot see are skipped; idempotent.
        mark_read,
        /// Marks events unread for the caller alone (a JSON body on DELETE); idempotent.
        mark_unread
    ],
    body: JsonBody<MarkBody> => body.0.ids(),
    [request_body = MarkBody,],
    [
        (status = 400, description = "At least one valid event id is required; at most 1000 event ids at once; User not found or account is not validated", body = ErrorResponse),
        BodyRejected,
    ]
);

mark_routes!(
    "/systemevent/{id}/read",
    [
        /// The older form of `POST /systemevent/read` for one event.
        mark_one_read,
        /// The older form of `DELETE /systemevent/read` for one event.
        mark_one_unread
    ],
    id: Path<String> => path_id(&id),
    [params(("id" = i64, Path, description = "An event id")),],
    [(status = 400, description = "At least one valid event id is required; User not found or account is not validated", body = ErrorResponse),]
);
