//! Reading the audit trail (contract section 7): a page of the events a caller may see, marking
//! them read or unread, the operators' export and the retention pass. Events are written by the
//! changes themselves, in their transactions.
//!
//! The access scope is part of every statement's `WHERE`, never a filter over rows in Rust.

use std::time::Duration;

use uuid::Uuid;

use super::tx::{args, Arg, Row};
use super::{queries, Store, StoreResult};
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
        conditions.and(queries::EVENTS_IN_ORG, reader.org_id.into());
        if !reader.org_wide {
            conditions.and(queries::EVENTS_OF_MEMBER, reader.user_id.into());
        }
        if let Some(from) = filter.from {
            conditions.and(queries::EVENTS_FROM, from.into());
        }
        if let Some(to) = filter.to {
            conditions.and(queries::EVENTS_TO, to.into());
        }
        if let Some(id) = filter.context_id {
            conditions.and(queries::EVENTS_CONTEXT_ID, id.into());
        }
        if let Some(context) = filter.context {
            conditions.and(queries::EVENTS_CONTEXT, context.index().into());
        }
        if let Some(event) = filter.event {
            conditions.and(queries::EVENTS_KIND, event.index().into());
        }
        if let Some(actor) = filter.actor {
            conditions.and(queries::EVENTS_ACTOR, actor.into());
        }
        if let Some(workspace) = filter.workspace {
            conditions.and(queries::EVENTS_WORKSPACE, workspace.into());
        }
        if filter.unread_only {
            conditions.and(queries::EVENTS_UNREAD, reader.user_id.into());
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
        queries::EVENTS_PAGE_HEAD,
        conditions.sql,
        queries::EVENTS_PAGE_ORDER
    );
    (sql, args)
}

fn count_sql(conditions: &Conditions) -> String {
    // `$1` (the reader) is bound for the numbering's sake even where no condition uses it.
    format!("{}{}", queries::EVENTS_COUNT_HEAD, conditions.sql)
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
                    tx.execute_per_dialect(&queries::MARK_EVENTS_READ, args)
                        .await?;
                } else {
                    let args = args![user_id, &ids];
                    tx.execute_per_dialect(&queries::MARK_EVENTS_UNREAD, args)
                        .await?;
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
                tx.query_all(queries::EXPORT_EVENTS, args, |row| decode(row, false))
                    .await
            })
        })
        .await
    }

    /// Deletes the events created before `before` (Unix ms), `batch` at a time, pausing between
    /// full batches so that requests' writes go first; how many it deleted.
    pub async fn prune_events(&self, before: i64, batch: i64, pause: Duration) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let n = self
                .write_single(move |tx| {
                    Box::pin(async move {
                        let args = args![before, batch];
                        tx.execute_per_dialect(&queries::DELETE_OLD_EVENTS, args)
                            .await
                    })
                })
                .await?;
            deleted += n;
            // A short batch met the young events (or rows another instance holds): done for now.
            if n < batch.unsigned_abs() {
                return Ok(deleted);
            }
            tokio::time::sleep(pause).await;
        }
    }
}

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
