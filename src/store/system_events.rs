//! Reading the audit trail (contract section 7): a page of the events a caller may see, marking
//! them read or unread, the operators' export and the retention pass. Events are written by the
//! changes themselves, in their transactions.
//!
//! The access scope is part of every statement's `WHERE`, never a filter over rows in Rust.

use std::time::Duration;

use uuid::Uuid;

use super::tx::{args, Arg, PerDialect, Row};
use super::{Store, StoreResult};
use crate::domain::{EventContext, EventKind, OrgId, UserId, WorkspaceId};

/// Who asks, and how far they see.
#[derive(Debug, Clone, Copy)]
pub struct EventReader {
    pub org_id: OrgId,
    pub user_id: UserId,
    /// OWNER and ADMINISTRATORS see the whole organization; everyone else what they caused and
    /// what happened in their workspaces.
    pub org_wide: bool,
}

/// The filters of a query, each optional; times are Unix ms, both bounds inclusive.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub context_id: Option<Uuid>,
    pub context: Option<EventContext>,
    pub event: Option<EventKind>,
    pub actor: Option<UserId>,
    pub workspace: Option<WorkspaceId>,
    /// Only the events the reader has not marked read.
    pub unread_only: bool,
}

/// One event, with its actor's name and e-mail (empty when the account is gone).
#[derive(Debug, Clone)]
pub struct SystemEvent {
    pub id: i64,
    pub created_at: i64,
    pub context_id: Uuid,
    pub context: EventContext,
    pub event: EventKind,
    pub org_id: OrgId,
    pub actor_id: UserId,
    pub actor_first_name: String,
    pub actor_last_name: String,
    pub actor_email: String,
    pub workspace_id: Option<WorkspaceId>,
    pub json_data: Option<String>,
    /// Whether the reader has not marked it read (always true in the export, which has none).
    pub unread: bool,
}

/// A page of events and how many match in all.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<SystemEvent>,
    pub total: i64,
}

/// Conditions joined by `AND`, each fragment's `$?` numbered as its parameter.
struct Conditions {
    sql: String,
    args: Vec<Arg<'static>>,
}

impl Conditions {
    /// Parameter `$1` is kept for the reader's id, which the page's `unread` column uses.
    fn new(reader: UserId) -> Conditions {
        Conditions {
            sql: String::new(),
            args: vec![Arg::from(reader)],
        }
    }

    fn and(&mut self, fragment: &str, arg: Arg<'static>) {
        self.args.push(arg);
        let number = format!("${}", self.args.len());
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&fragment.replace("$?", &number));
    }

    fn of(reader: &EventReader, filter: &EventFilter) -> Conditions {
        let mut conditions = Conditions::new(reader.user_id);
        conditions.and(EVENTS_IN_ORG, reader.org_id.into());
        if !reader.org_wide {
            conditions.and(EVENTS_OF_MEMBER, reader.user_id.into());
        }
        if let Some(from) = filter.from {
            conditions.and(EVENTS_FROM, from.into());
        }
        if let Some(to) = filter.to {
            conditions.and(EVENTS_TO, to.into());
        }
        if let Some(id) = filter.context_id {
            conditions.and(EVENTS_CONTEXT_ID, id.into());
        }
        if let Some(context) = filter.context {
            conditions.and(EVENTS_CONTEXT, context.index().into());
        }
        if let Some(event) = filter.event {
            conditions.and(EVENTS_KIND, event.index().into());
        }
        if let Some(actor) = filter.actor {
            conditions.and(EVENTS_ACTOR, actor.into());
        }
        if let Some(workspace) = filter.workspace {
            conditions.and(EVENTS_WORKSPACE, workspace.into());
        }
        if filter.unread_only {
            conditions.and(EVENTS_UNREAD, reader.user_id.into());
        }
        conditions
    }
}

/// The page statement and its arguments (the count reuses the conditions).
fn page_sql(conditions: &Conditions, skip: i64, take: i64) -> (String, Vec<Arg<'static>>) {
    let mut args = conditions.args.clone();
    args.push(take.into());
    let limit = args.len();
    args.push(skip.into());
    let offset = args.len();
    let sql = format!(
        "{}{}{} LIMIT ${limit} OFFSET ${offset}",
        EVENTS_PAGE_HEAD, conditions.sql, EVENTS_PAGE_ORDER
    );
    (sql, args)
}

fn count_sql(conditions: &Conditions) -> String {
    // `$1` (the reader) is bound for the numbering's sake even where no condition uses it.
    format!("{}{}", EVENTS_COUNT_HEAD, conditions.sql)
}

fn decode(row: &Row<'_>, unread: bool) -> StoreResult<SystemEvent> {
    let context: i16 = row.get("context")?;
    let event: i16 = row.get("event")?;
    let invalid = || super::StoreError::Unavailable("an event row with an unknown index");
    Ok(SystemEvent {
        id: row.get("id")?,
        created_at: row.get("created_at")?,
        context_id: row.get("context_id")?,
        context: EventContext::from_index(context.into()).ok_or_else(invalid)?,
        event: EventKind::from_index(event.into()).ok_or_else(invalid)?,
        org_id: row.get("org_id")?,
        actor_id: row.get("actor_id")?,
        actor_first_name: row.get("first_name")?,
        actor_last_name: row.get("last_name")?,
        actor_email: row.get("email")?,
        workspace_id: row.get("workspace_id")?,
        json_data: row.get("json_data")?,
        unread: if unread { row.get("unread")? } else { true },
    })
}

impl Store {
    /// A page of the events `reader` may see that match `filter`, newest first (time, then id),
    /// and how many match in all, read in one snapshot.
    pub async fn system_events(
        &self,
        reader: EventReader,
        filter: EventFilter,
        skip: i64,
        take: i64,
    ) -> StoreResult<EventPage> {
        let conditions = Conditions::of(&reader, &filter);
        self.read_snapshot(move |tx| {
            Box::pin(async move {
                let (sql, args) = page_sql(&conditions, skip, take);
                let events = tx.query_all(&sql, &args, |row| decode(row, true)).await?;
                let total = tx.count(&count_sql(&conditions), &conditions.args).await?;
                Ok(EventPage { events, total })
            })
        })
        .await
    }

    /// Marks the events `ids` read (or unread) for `reader` alone, in one statement. Ids the
    /// reader may not see, or that do not exist, are skipped; marking twice changes nothing.
    pub async fn mark_events(
        &self,
        reader: EventReader,
        ids: Vec<i64>,
        read: bool,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                let EventReader {
                    org_id,
                    user_id,
                    org_wide,
                } = reader;
                let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned());
                if read {
                    let args = args![user_id, &ids, org_id, org_wide];
                    tx.execute_per_dialect(&MARK_EVENTS_READ, args).await?;
                } else {
                    let args = args![user_id, &ids];
                    tx.execute_per_dialect(&MARK_EVENTS_UNREAD, args).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Up to `limit` events after id `after`, oldest first, of `org` (or every organization) and
    /// created at `since` or later: one keyset batch of the export.
    pub async fn events_after(
        &self,
        after: i64,
        limit: i64,
        org: Option<OrgId>,
        since: Option<i64>,
    ) -> StoreResult<Vec<SystemEvent>> {
        self.read(move |tx| {
            Box::pin(async move {
                let args = args![after, limit, org, since];
                tx.query_all(EXPORT_EVENTS, args, |row| decode(row, false))
                    .await
            })
        })
        .await
    }

    /// Deletes the events created before `before` (Unix ms), `batch` at a time, pausing between
    /// full batches so that requests' writes go first; how many it deleted. `deleted_batch` hears
    /// of each statement that deleted events, once it is committed (so also of those before an
    /// error).
    pub async fn prune_events(
        &self,
        before: i64,
        batch: i64,
        pause: Duration,
        mut deleted_batch: impl FnMut(u64) + Send,
    ) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let n = self
                .write_single(move |tx| {
                    Box::pin(async move {
                        tx.execute_per_dialect(&DELETE_OLD_EVENTS, args![before, batch])
                            .await
                    })
                })
                .await?;
            if n > 0 {
                deleted_batch(n);
            }
            deleted += n;
            // A short batch met the young events (or rows another instance holds): done for now.
            if n < batch.unsigned_abs() {
                return Ok(deleted);
            }
            tokio::time::sleep(pause).await;
        }
    }
}

// ---- SQL ----------------------------------------------------------------------------------------
//
// The event query is put together from the fragments below, only the filters given (so every
// shape is a plain indexed statement: no `$n IS NULL OR ...`, which defeats PostgreSQL's
// generic plans). `$?` stands for the fragment's own parameter, numbered when it is added
// (`Conditions::and`).

/// Every event query starts from the caller's organization (never another's).
const EVENTS_IN_ORG: &str = "e.org_id = $?";

/// The member scope: the events the caller caused, and those of the workspaces they are a
/// member of now. An `IN` over a union rather than an `OR`, so each half reads its own index
/// (actor, workspace) instead of the whole organization's window being filtered row by row.
const EVENTS_OF_MEMBER: &str = "e.id IN (\
     SELECT a.id FROM system_events a WHERE a.actor_id = $? \
     UNION ALL \
     SELECT w.id FROM workspace_members m JOIN system_events w ON w.workspace_id = m.workspace_id \
     WHERE m.user_id = $?)";

const EVENTS_FROM: &str = "e.created_at >= $?";

const EVENTS_TO: &str = "e.created_at <= $?";

const EVENTS_CONTEXT_ID: &str = "e.context_id = $?";

const EVENTS_CONTEXT: &str = "e.context = $?";

const EVENTS_KIND: &str = "e.event = $?";

const EVENTS_ACTOR: &str = "e.actor_id = $?";

const EVENTS_WORKSPACE: &str = "e.workspace_id = $?";

const EVENTS_UNREAD: &str =
    "NOT EXISTS (SELECT 1 FROM system_event_reads r WHERE r.user_id = $? AND r.event_id = e.id)";

/// The columns of `SystemEvent`, read from `system_events e LEFT JOIN users u` (an event outlives
/// its actor's account).
macro_rules! event_columns {
    () => {
        "e.id, e.created_at, e.context_id, e.context, e.event, e.org_id, e.actor_id, \
         e.workspace_id, e.json_data, COALESCE(u.first_name, '') AS first_name, \
         COALESCE(u.last_name, '') AS last_name, COALESCE(u.email, '') AS email"
    };
}

/// `SELECT` of a page: then `WHERE <conditions>`, [`EVENTS_PAGE_ORDER`], then `LIMIT`/`OFFSET`.
const EVENTS_PAGE_HEAD: &str = concat!(
    "SELECT ",
    event_columns!(),
    ", NOT EXISTS (SELECT 1 FROM system_event_reads r WHERE r.user_id = $1 AND r.event_id = e.id) \
     AS unread FROM system_events e LEFT JOIN users u ON u.id = e.actor_id WHERE "
);

/// Newest first; the page's limit and offset are the last two parameters.
const EVENTS_PAGE_ORDER: &str = " ORDER BY e.created_at DESC, e.id DESC";

const EVENTS_COUNT_HEAD: &str = "SELECT COUNT(*) AS n FROM system_events e WHERE ";

/// The export: events after id $1, oldest first, $2 at a time (keyset by id), optionally of one
/// organization ($3) and from a time on ($4).
const EXPORT_EVENTS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM system_events e LEFT JOIN users u ON u.id = e.actor_id \
     WHERE e.id > $1 AND ($3 IS NULL OR e.org_id = $3) AND ($4 IS NULL OR e.created_at >= $4) \
     ORDER BY e.id LIMIT $2"
);

/// `mark_events!(head, ids, tail)`: a mark statement over the ids of the JSON array $2, in one
/// statement (up to 1,000 ids): SQLite reads the array with `json_each`, PostgreSQL with
/// `jsonb_array_elements_text`; the rest is the same text.
macro_rules! mark_events {
    ($head:literal, $tail:literal) => {
        PerDialect::new(
            concat!($head, "SELECT value FROM json_each($2)", $tail),
            concat!(
                $head,
                "SELECT t.value::bigint FROM jsonb_array_elements_text($2::jsonb) AS t(value)",
                $tail
            ),
        )
    };
}

/// Marks the events $2 read for user $1, those they may see: of their organization ($3) and,
/// unless $4 (organization-wide scope), caused by them or of one of their workspaces.
const MARK_EVENTS_READ: PerDialect = mark_events!(
    "INSERT INTO system_event_reads (user_id, event_id) \
     SELECT $1, e.id FROM system_events e WHERE e.id IN (",
    ") AND e.org_id = $3 AND ($4 OR e.actor_id = $1 OR EXISTS (SELECT 1 FROM workspace_members m \
     WHERE m.user_id = $1 AND m.workspace_id = e.workspace_id)) \
     ON CONFLICT (user_id, event_id) DO NOTHING"
);

/// Unread is the absence of the caller's row: deleting it needs no visibility check (a user only
/// ever has rows for events they could see).
const MARK_EVENTS_UNREAD: PerDialect = mark_events!(
    "DELETE FROM system_event_reads WHERE user_id = $1 AND event_id IN (",
    ")"
);

/// Retention: deletes, among the oldest $2 events by id, those created before $1. By id, not
/// through an index on `created_at` (which every write would pay for): ids increase with time,
/// so the oldest ids are the old events, and the batch stops at the first young ones instead of
/// searching the table for old rows that are not there. On PostgreSQL the batch's rows are
/// locked and those another instance's batch holds are skipped.
const DELETE_OLD_EVENTS: PerDialect = PerDialect::new(
    "DELETE FROM system_events WHERE id IN (SELECT b.id FROM \
     (SELECT id, created_at FROM system_events ORDER BY id LIMIT $2) b WHERE b.created_at < $1)",
    "DELETE FROM system_events WHERE id IN (SELECT b.id FROM \
     (SELECT id, created_at FROM system_events ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) b \
     WHERE b.created_at < $1)",
);

#[cfg(test)]
mod plan_tests {
    use crate::store::sqlite::explain::{migrated, plan};

    use super::{count_sql, page_sql, Conditions, EventFilter, EventReader};
    use crate::domain::{EventContext, OrgId, UserId, WorkspaceId};

    fn reader(org_wide: bool) -> EventReader {
        EventReader {
            org_id: OrgId::new(),
            user_id: UserId::new(),
            org_wide,
        }
    }

    /// The default query of an OWNER or ADMINISTRATORS (the last 24 hours, a page of 20) walks
    /// the organization's time index from the top of the window and stops after the page: no
    /// sort, no scan of the table, whatever it holds; its count reads that index alone.
    #[test]
    fn the_default_query_walks_the_organization_time_index_without_sorting() {
        let conn = migrated();
        let filter = EventFilter {
            from: Some(0),
            ..EventFilter::default()
        };
        let conditions = Conditions::of(&reader(true), &filter);
        let (page, _) = page_sql(&conditions, 0, 20);
        let plan_page = plan(&conn, &page);
        assert!(
            plan_page.contains(
                "SEARCH e USING INDEX system_events_org_time (org_id=? AND created_at>?)"
            ),
            "{plan_page}"
        );
        assert!(!plan_page.contains("TEMP B-TREE"), "{plan_page}");
        assert!(!plan_page.contains("SCAN"), "{plan_page}");
        let plan_count = plan(&conn, &count_sql(&conditions));
        assert!(
            plan_count.contains("USING COVERING INDEX system_events_org_time"),
            "{plan_count}"
        );
    }

    /// Every filter and the member scope read through an index, never a whole table.
    #[test]
    fn every_filter_and_the_member_scope_search_an_index() {
        let conn = migrated();
        let filters = [
            EventFilter {
                actor: Some(UserId::new()),
                ..EventFilter::default()
            },
            EventFilter {
                workspace: Some(WorkspaceId::new()),
                context: Some(EventContext::Workspace),
                ..EventFilter::default()
            },
            EventFilter {
                context_id: Some(uuid::Uuid::nil()),
                unread_only: true,
                to: Some(1),
                ..EventFilter::default()
            },
        ];
        for org_wide in [true, false] {
            for filter in &filters {
                let conditions = Conditions::of(&reader(org_wide), filter);
                let (page, _) = page_sql(&conditions, 0, 20);
                for sql in [page, count_sql(&conditions)] {
                    let plan = plan(&conn, &sql);
                    let scans = plan.lines().filter(|step| step.starts_with("SCAN")).count();
                    assert_eq!(scans, 0, "{sql}\n{plan}");
                }
            }
        }
    }
}
