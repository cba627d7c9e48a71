//! What the webhook dispatcher (`crate::webhooks`) reads and writes.
//!
//! **The cursor.** Each webhook keeps the last event it looked at; the dispatcher reads the
//! organization's events after it, queues a delivery (the event's id, never a copy of it) for
//! each that its patterns select, and moves the cursor past them, in one transaction. On SQLite
//! the cursor is an event id: the one writer commits events in id order, so no event can appear
//! behind a cursor. On PostgreSQL it cannot be: ids come from a sequence, and a transaction that
//! drew a lower id may commit after one that drew a higher id was read. Nor is "ids whose
//! transaction is older than every running one" enough in id order: a transaction that took its
//! xid early may draw its event id after a younger one drew a lower id, finish first, and be
//! stepped over while the younger is still running. So on PostgreSQL the order is
//! (transaction id, event id): `system_events.xid` (xid8, `pg_current_xact_id()` by default)
//! and only events whose transaction is older than the oldest running one
//! (`xid < pg_snapshot_xmin(pg_current_snapshot())`) are read. Every such transaction has
//! ended, and any transaction still to commit has a larger xid, so nothing can appear behind the
//! cursor. Changes that do not overlap in time are in id order either way; of two that overlap,
//! the one whose transaction began writing first comes first (their id order means no more). The
//! price: an event waits for the transactions that were running when it committed to end
//! (milliseconds for this server's own writes).
//!
//! **Leases.** A webhook's deliveries go out one at a time, in its order, by whoever holds its
//! lease (`lease_owner`, `lease_expires_at`): a dispatcher claims a webhook with one `UPDATE`
//! whose condition is "enabled, and no live lease", on PostgreSQL over `FOR UPDATE SKIP LOCKED`
//! (instances skip the rows another is claiming instead of queueing on them, and the condition
//! is checked again on the locked row). Every later write of the run names the owner, and the
//! run ends well before the lease would (`crate::webhooks`), so two instances never attempt
//! one delivery at once. A dispatcher that dies leaves its lease to expire; then another takes
//! the webhook from what the database says.

use serde::Serialize;
use uuid::Uuid;

use super::tx::{args, Dialect, PerDialect, Row, Tx};
use super::{Delivery, Store, StoreError, StoreResult, SystemEvent};
use crate::domain::{EventContext, EventKind, OrgId};

impl Store {
    /// Enabled webhooks with no live lease, due at `now`, that have work: a queued delivery or
    /// events after their cursor. At most `limit`, the longest due first.
    pub async fn due_webhooks(&self, now: i64, limit: i64) -> StoreResult<Vec<Uuid>> {
        self.read(move |tx| {
            Box::pin(async move {
                let sql = DUE_WEBHOOKS.sql(tx.dialect()).unwrap_or_default();
                tx.query_all(sql, args![now, limit], |row| row.get("id"))
                    .await
            })
        })
        .await
    }

    /// Claims webhook `id` for `owner` until `until`, when it is enabled and nobody holds a
    /// live lease at `now`; what the run needs of it, or None.
    pub async fn claim_webhook(
        &self,
        id: Uuid,
        owner: Uuid,
        now: i64,
        until: i64,
    ) -> StoreResult<Option<ClaimedWebhook>> {
        self.write_single(move |tx| {
            Box::pin(async move {
                tx.query_opt_per_dialect(
                    &CLAIM_WEBHOOK,
                    args![id, owner, until, now],
                    ClaimedWebhook::from_row,
                )
                .await
            })
        })
        .await
    }

    /// Gives back every lease `owner` holds (a dispatcher that stops); how many.
    pub async fn release_webhook_leases(&self, owner: Uuid) -> StoreResult<u64> {
        self.write_single(move |tx| {
            Box::pin(async move { tx.execute(RELEASE_LEASES, args![owner]).await })
        })
        .await
    }

    /// Up to `limit` events of `org_id` after a webhook's cursor, in cursor order (see the module).
    pub async fn webhook_events_after(
        &self,
        org_id: OrgId,
        cursor: Cursor,
        limit: i64,
    ) -> StoreResult<Vec<ScannedEvent>> {
        self.read(move |tx| {
            Box::pin(async move {
                let sql = EVENTS_AFTER.sql(tx.dialect()).unwrap_or_default();
                tx.query_all(
                    sql,
                    args![org_id, cursor.xid, cursor.id, limit],
                    ScannedEvent::from_row,
                )
                .await
            })
        })
        .await
    }

    /// How many deliveries of the webhook are pending.
    pub async fn pending_deliveries(&self, id: Uuid) -> StoreResult<i64> {
        self.read(move |tx| Box::pin(async move { tx.count(COUNT_PENDING, args![id]).await }))
            .await
    }

    /// Queues `deliveries` (in order) at the end of the webhook's queue and moves its cursor
    /// to `cursor`, while `owner` holds its lease; false (nothing written) when it does not.
    pub async fn fan_out(
        &self,
        id: Uuid,
        owner: Uuid,
        cursor: Cursor,
        deliveries: Vec<NewDelivery>,
        now: i64,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                let count = i64::try_from(deliveries.len()).unwrap_or(i64::MAX);
                let Some(next) = tx
                    .query_opt(
                        ADVANCE_CURSOR,
                        args![id, owner, cursor.xid, cursor.id, count],
                        |row| row.get::<i64>("next_seq"),
                    )
                    .await?
                else {
                    return Ok(false);
                };
                let first = next - count;
                insert_deliveries(tx, id, first, &deliveries, now).await?;
                Ok(true)
            })
        })
        .await
    }

    /// The first `limit` pending deliveries of the webhook in its order, each with its event
    /// (None for a test, or an event the retention deleted).
    pub async fn queue_head(&self, id: Uuid, limit: i64) -> StoreResult<Vec<QueuedDelivery>> {
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_all(QUEUE_HEAD, args![id, limit], QueuedDelivery::from_row)
                    .await
            })
        })
        .await
    }

    /// Records the attempts of a run and the webhook's state after them, while `owner` holds
    /// its lease (released when `end.release`); false when it no longer does (then nothing is
    /// written: whoever holds it now delivers from the database's state).
    pub async fn record_run(
        &self,
        id: Uuid,
        owner: Uuid,
        attempts: Vec<RecordedAttempt>,
        end: RunEnd,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                let held = tx
                    .execute(
                        END_RUN,
                        args![
                            id,
                            owner,
                            end.release,
                            end.next_run_at,
                            end.failing_since,
                            end.disable.is_some(),
                            end.disable.as_deref()
                        ],
                    )
                    .await?;
                if held == 0 {
                    return Ok(false);
                }
                record_attempts(tx, &attempts).await?;
                Ok(true)
            })
        })
        .await
    }

    /// When the oldest event queued and not yet delivered was written (ms); None when there is
    /// none.
    pub async fn oldest_undelivered_event(&self) -> StoreResult<Option<i64>> {
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_opt(OLDEST_UNDELIVERED, args![], |row| {
                    row.get::<Option<i64>>("t")
                })
                .await
                .map(Option::flatten)
            })
        })
        .await
    }
}

/// Inserts `deliveries` at `first`, `first + 1`... of webhook `id`'s order. PostgreSQL: one
/// statement over a JSON array (one round trip for the batch); SQLite, where a statement costs
/// no round trip: one each.
async fn insert_deliveries(
    tx: &mut Tx<'_>,
    id: Uuid,
    first: i64,
    deliveries: &[NewDelivery],
    now: i64,
) -> StoreResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    match tx.dialect() {
        Dialect::Postgres => {
            #[derive(Serialize)]
            struct Row<'a> {
                id: Uuid,
                n: i64,
                event: i64,
                kind: &'a str,
            }
            let rows: Vec<Row<'_>> = (0..)
                .zip(deliveries)
                .map(|(n, d)| Row {
                    id: d.id,
                    n,
                    event: d.event_id,
                    kind: &d.kind,
                })
                .collect();
            let json = serde_json::to_string(&rows).map_err(StoreError::Encoding)?;
            tx.execute(INSERT_DELIVERIES_PG, args![id, first, now, &json])
                .await?;
        }
        Dialect::Sqlite => {
            for (at, delivery) in (first..).zip(deliveries) {
                let kind = delivery.kind.as_str();
                tx.execute(
                    INSERT_DELIVERY,
                    args![delivery.id, id, at, delivery.event_id, kind, now],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Records `attempts` and their deliveries' state: on PostgreSQL two statements over a JSON
/// array, on SQLite two per attempt (see [`insert_deliveries`]).
async fn record_attempts(tx: &mut Tx<'_>, attempts: &[RecordedAttempt]) -> StoreResult<()> {
    if attempts.is_empty() {
        return Ok(());
    }
    match tx.dialect() {
        Dialect::Postgres => {
            #[derive(Serialize)]
            struct Row<'a> {
                delivery: Uuid,
                at: i64,
                status: i16,
                next: Option<i64>,
                response_status: Option<i64>,
                response_body: Option<&'a str>,
                duration_ms: i64,
                error: Option<&'a str>,
            }
            let rows: Vec<Row<'_>> = attempts
                .iter()
                .map(|a| Row {
                    delivery: a.delivery_id,
                    at: a.at,
                    status: a.status as i16,
                    next: a.next_attempt_at,
                    response_status: a.response_status,
                    response_body: a.response_body.as_deref(),
                    duration_ms: a.duration_ms,
                    error: a.error.as_deref(),
                })
                .collect();
            let json = serde_json::to_string(&rows).map_err(StoreError::Encoding)?;
            tx.execute(INSERT_ATTEMPTS_PG, args![&json]).await?;
            tx.execute(UPDATE_DELIVERIES_PG, args![&json]).await?;
        }
        Dialect::Sqlite => {
            for attempt in attempts {
                let (body, error) = (attempt.response_body.as_deref(), attempt.error.as_deref());
                tx.execute(
                    INSERT_ATTEMPT,
                    args![
                        attempt.delivery_id,
                        attempt.at,
                        attempt.response_status,
                        body,
                        attempt.duration_ms,
                        error
                    ],
                )
                .await?;
                tx.execute(
                    UPDATE_DELIVERY,
                    args![
                        attempt.delivery_id,
                        attempt.status as i16,
                        attempt.at,
                        attempt.next_attempt_at,
                        attempt.response_status,
                        body,
                        attempt.duration_ms
                    ],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// A webhook's place in its organization's events: (transaction, id) on PostgreSQL, (0, id) on
/// SQLite (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub xid: i64,
    pub id: i64,
}

/// A claimed webhook: what a run needs.
#[derive(Debug, Clone)]
pub struct ClaimedWebhook {
    pub id: Uuid,
    pub org_id: OrgId,
    pub url: String,
    pub events: String,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_until: Option<i64>,
    pub cursor: Cursor,
    pub failing_since: Option<i64>,
}

impl ClaimedWebhook {
    fn from_row(row: &Row<'_>) -> StoreResult<ClaimedWebhook> {
        Ok(ClaimedWebhook {
            id: row.get("id")?,
            org_id: row.get("org_id")?,
            url: row.get("url")?,
            events: row.get("events")?,
            secret: row.get("secret")?,
            previous_secret: row.get("previous_secret")?,
            previous_until: row.get("previous_expires_at")?,
            cursor: Cursor {
                xid: row.get("cursor_xid")?,
                id: row.get("cursor_id")?,
            },
            failing_since: row.get("failing_since")?,
        })
    }
}

/// An event after a cursor: where it is, and what it is about.
#[derive(Debug, Clone, Copy)]
pub struct ScannedEvent {
    pub at: Cursor,
    pub context: EventContext,
    pub kind: EventKind,
}

impl ScannedEvent {
    fn from_row(row: &Row<'_>) -> StoreResult<ScannedEvent> {
        let invalid = || super::StoreError::Unavailable("an event row with an unknown index");
        let context: i16 = row.get("context")?;
        let kind: i16 = row.get("event")?;
        Ok(ScannedEvent {
            at: Cursor {
                xid: row.get("xid")?,
                id: row.get("id")?,
            },
            context: EventContext::from_index(context.into()).ok_or_else(invalid)?,
            kind: EventKind::from_index(kind.into()).ok_or_else(invalid)?,
        })
    }
}

/// A delivery to queue.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub event_id: i64,
    /// `workspace.created`...
    pub kind: String,
}

/// A pending delivery and its event.
#[derive(Debug, Clone)]
pub struct QueuedDelivery {
    pub delivery: Delivery,
    pub event: Option<SystemEvent>,
}

impl QueuedDelivery {
    fn from_row(row: &Row<'_>) -> StoreResult<QueuedDelivery> {
        let delivery = Delivery::from_row(row)?;
        let event = match row.get::<Option<i64>>("e_id")? {
            None => None,
            Some(id) => {
                let invalid = || StoreError::Unavailable("an event row with an unknown index");
                let context: i16 = row.get("e_context")?;
                let kind: i16 = row.get("e_event")?;
                Some(SystemEvent {
                    id,
                    created_at: row.get("e_created_at")?,
                    context_id: row.get("e_context_id")?,
                    context: EventContext::from_index(context.into()).ok_or_else(invalid)?,
                    event: EventKind::from_index(kind.into()).ok_or_else(invalid)?,
                    org_id: row.get("e_org_id")?,
                    actor_id: row.get("e_actor_id")?,
                    actor_first_name: row.get("first_name")?,
                    actor_last_name: row.get("last_name")?,
                    actor_email: row.get("email")?,
                    workspace_id: row.get("e_workspace_id")?,
                    json_data: row.get("e_json_data")?,
                    unread: true,
                })
            }
        };
        Ok(QueuedDelivery { delivery, event })
    }
}

/// One attempt and the delivery's state after it.
#[derive(Debug, Clone)]
pub struct RecordedAttempt {
    pub delivery_id: Uuid,
    pub at: i64,
    pub status: super::DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// The webhook's state at the end of (a step of) a run.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    /// Give the lease up (the run is over).
    pub release: bool,
    /// When to look at the webhook again (ms; 0: as soon as there is work).
    pub next_run_at: i64,
    pub failing_since: Option<i64>,
    /// Disable it, for this reason.
    pub disable: Option<String>,
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Binds: now, limit.
const DUE_WEBHOOKS: PerDialect = PerDialect::new(
    "SELECT w.id FROM webhooks w WHERE w.enabled AND w.next_run_at <= $1 \
     AND (w.lease_expires_at IS NULL OR w.lease_expires_at < $1) \
     AND (EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 0) \
          OR EXISTS (SELECT 1 FROM system_events e WHERE e.org_id = w.org_id \
                     AND e.id > w.cursor_id)) \
     ORDER BY w.next_run_at LIMIT $2",
    "SELECT w.id FROM webhooks w WHERE w.enabled AND w.next_run_at <= $1 \
     AND (w.lease_expires_at IS NULL OR w.lease_expires_at < $1) \
     AND (EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 0) \
          OR EXISTS (SELECT 1 FROM system_events e WHERE e.org_id = w.org_id \
                     AND e.xid >= w.cursor_xid::text::xid8 \
                     AND (e.xid > w.cursor_xid::text::xid8 OR e.id > w.cursor_id) \
                     AND e.xid < pg_snapshot_xmin(pg_current_snapshot()))) \
     ORDER BY w.next_run_at LIMIT $2",
);

/// Binds: id, owner, lease until, now. The lease condition is on the `UPDATE` itself too, so
/// PostgreSQL checks it again on the row it locked.
const CLAIM_WEBHOOK: PerDialect = PerDialect::new(
    "UPDATE webhooks SET lease_owner = $2, lease_expires_at = $3 \
     WHERE id = $1 AND enabled AND (lease_expires_at IS NULL OR lease_expires_at < $4) \
     RETURNING id, org_id, url, events, secret, previous_secret, previous_expires_at, \
     cursor_xid, cursor_id, failing_since",
    "UPDATE webhooks SET lease_owner = $2, lease_expires_at = $3 \
     WHERE id = $1 AND enabled AND (lease_expires_at IS NULL OR lease_expires_at < $4) \
     AND id IN (SELECT id FROM webhooks WHERE id = $1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, org_id, url, events, secret, previous_secret, previous_expires_at, \
     cursor_xid, cursor_id, failing_since",
);

/// Binds: org_id, cursor xid, cursor id, limit.
const EVENTS_AFTER: PerDialect = PerDialect::new(
    "SELECT 0 AS xid, id, context, event FROM system_events \
     WHERE org_id = $1 AND id > $3 AND $2 = $2 ORDER BY id LIMIT $4",
    "SELECT xid::text::bigint AS xid, id, context, event FROM system_events \
     WHERE org_id = $1 AND xid >= $2::bigint::text::xid8 \
     AND (xid > $2::bigint::text::xid8 OR id > $3) \
     AND xid < pg_snapshot_xmin(pg_current_snapshot()) \
     ORDER BY xid, id LIMIT $4",
);

const RELEASE_LEASES: &str =
    "UPDATE webhooks SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1";

const COUNT_PENDING: &str =
    "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = $1 AND status = 0";

/// Binds: id, owner, cursor xid, cursor id, deliveries queued. Returns the next place after
/// them.
const ADVANCE_CURSOR: &str = "UPDATE webhooks SET cursor_xid = $3, cursor_id = $4, \
     next_seq = next_seq + $5 WHERE id = $1 AND lease_owner = $2 RETURNING next_seq";

/// Binds: id, webhook_id, seq, event_id, type, created_at (also its first attempt's time).
const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, webhook_id, seq, event_id, \
     type, status, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $6)";

/// The head of the queue with each delivery's event and its actor (an event outlives its
/// actor's account; a test delivery has none), in one statement.
const QUEUE_HEAD: &str = "SELECT d.id, d.event_id, d.type, d.status, d.attempts, \
     d.last_attempt_at, d.next_attempt_at, d.response_status, d.response_body, d.duration_ms, \
     e.id AS e_id, e.created_at AS e_created_at, e.context_id AS e_context_id, \
     e.context AS e_context, e.event AS e_event, e.org_id AS e_org_id, \
     e.actor_id AS e_actor_id, e.workspace_id AS e_workspace_id, e.json_data AS e_json_data, \
     COALESCE(u.first_name, '') AS first_name, COALESCE(u.last_name, '') AS last_name, \
     COALESCE(u.email, '') AS email \
     FROM webhook_deliveries d LEFT JOIN system_events e ON e.id = d.event_id \
     LEFT JOIN users u ON u.id = e.actor_id \
     WHERE d.webhook_id = $1 AND d.status = 0 ORDER BY d.seq LIMIT $2";

/// Binds: webhook_id, the first seq, created_at, a JSON array of {id, n, event, kind}.
const INSERT_DELIVERIES_PG: &str = "INSERT INTO webhook_deliveries (id, webhook_id, seq, \
     event_id, type, status, created_at, next_attempt_at) \
     SELECT (x->>'id')::uuid, $1, $2 + (x->>'n')::bigint, (x->>'event')::bigint, x->>'kind', \
     0, $3, $3 FROM jsonb_array_elements($4::jsonb) AS x";

/// Binds: a JSON array of attempts (`record_attempts`).
const INSERT_ATTEMPTS_PG: &str = "INSERT INTO webhook_attempts (delivery_id, attempted_at, \
     response_status, response_body, duration_ms, error) \
     SELECT (a->>'delivery')::uuid, (a->>'at')::bigint, (a->>'response_status')::bigint, \
     a->>'response_body', (a->>'duration_ms')::bigint, a->>'error' \
     FROM jsonb_array_elements($1::jsonb) AS a";

/// Binds: a JSON array of attempts (`record_attempts`), each of a different delivery.
const UPDATE_DELIVERIES_PG: &str = "UPDATE webhook_deliveries d SET \
     status = (a->>'status')::smallint, attempts = d.attempts + 1, \
     last_attempt_at = (a->>'at')::bigint, next_attempt_at = (a->>'next')::bigint, \
     response_status = (a->>'response_status')::bigint, response_body = a->>'response_body', \
     duration_ms = (a->>'duration_ms')::bigint \
     FROM jsonb_array_elements($1::jsonb) AS a WHERE d.id = (a->>'delivery')::uuid";

/// Binds: id, owner, release, next_run_at, failing_since, disable, reason.
const END_RUN: &str = "UPDATE webhooks SET \
     lease_owner = CASE WHEN $3 THEN NULL ELSE lease_owner END, \
     lease_expires_at = CASE WHEN $3 THEN NULL ELSE lease_expires_at END, \
     next_run_at = $4, failing_since = $5, \
     enabled = enabled AND NOT $6, \
     disabled_reason = CASE WHEN $6 THEN $7 ELSE disabled_reason END \
     WHERE id = $1 AND lease_owner = $2";

/// Binds: delivery_id, attempted_at, response_status, response_body, duration_ms, error.
const INSERT_ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, attempted_at, \
     response_status, response_body, duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6)";

/// Binds: id, status, attempted_at, next_attempt_at, response_status, response_body,
/// duration_ms.
const UPDATE_DELIVERY: &str = "UPDATE webhook_deliveries SET status = $2, \
     attempts = attempts + 1, last_attempt_at = $3, next_attempt_at = $4, \
     response_status = $5, response_body = $6, duration_ms = $7 WHERE id = $1";

const OLDEST_UNDELIVERED: &str = "SELECT MIN(e.created_at) AS t FROM webhook_deliveries d \
     JOIN system_events e ON e.id = d.event_id WHERE d.status = 0";
