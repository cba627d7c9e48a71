//! Webhooks' management (contract section 15): an organization's webhooks, their delivery log,
//! test deliveries and manual retries. What the dispatcher does with them is in
//! [`super::webhook_dispatch`].
//!
//! Changes are `org` updated events in the organization, `{"webhook": {"from": WebhookFields |
//! null, "to": WebhookFields | null}}`, in the change's transaction; a rotated secret shows only
//! as `"secret": "changed"`. The URL in an event loses its query and user info, which may hold
//! a receiver's token.
//!
//! A new webhook, and one enabled again, starts at the present: its cursor is set past every
//! event committed before (on PostgreSQL, past its own transaction: `webhook_dispatch` explains
//! the (transaction, id) cursor), so it receives what happens from then on.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::events::{append_event, Actor, Changes, NewEvent};
use super::tx::{args, for_update, PerDialect, Row, Tx};
use super::{Store, StoreError, StoreResult};
use crate::domain::{EventKind, OrgId, MAX_WEBHOOKS_PER_ORG};

/// How long the secret before a rotation keeps signing beside the new one.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;

impl Store {
    /// Stores a new webhook `by` an administrator of its organization, unless the organization
    /// has [`MAX_WEBHOOKS_PER_ORG`] already (counted under a lock of the organization's row on
    /// PostgreSQL, so concurrent creates cannot pass it together).
    pub async fn create_webhook(&self, by: Actor, new: NewWebhook) -> StoreResult<WebhookCreate> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute_per_dialect(&LOCK_ORG, args![by.org_id]).await?;
                let count = tx.count(COUNT_WEBHOOKS, args![by.org_id]).await?;
                if count >= MAX_WEBHOOKS_PER_ORG {
                    return Ok(WebhookCreate::LimitReached);
                }
                tx.execute(
                    INSERT_WEBHOOK,
                    args![
                        new.id,
                        by.org_id,
                        &new.url,
                        &new.events,
                        &new.description,
                        &new.secret,
                        by.at
                    ],
                )
                .await?;
                let webhook = Webhook {
                    id: new.id,
                    org_id: by.org_id,
                    url: new.url,
                    events: new.events,
                    description: new.description,
                    enabled: true,
                    created_at: by.at,
                    disabled_reason: None,
                };
                append_webhook_event(tx, by, None, Some(&webhook), false).await?;
                start_at_present(tx, webhook.id).await?;
                Ok(WebhookCreate::Created(webhook))
            })
        })
        .await
    }

    /// The organization's webhooks, oldest first.
    pub async fn webhooks(&self, org_id: OrgId) -> StoreResult<Vec<Webhook>> {
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_all(LIST_WEBHOOKS, args![org_id], Webhook::from_row)
                    .await
            })
        })
        .await
    }

    /// One webhook of the organization; None when it has no such webhook.
    pub async fn webhook(&self, org_id: OrgId, id: Uuid) -> StoreResult<Option<Webhook>> {
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_opt(WEBHOOK, args![id, org_id], Webhook::from_row)
                    .await
            })
        })
        .await
    }

    /// Applies `patch` to a webhook of `by`'s organization; None when there is none. Enabling a
    /// disabled webhook clears its `disabledReason` and its failures, and starts it at the
    /// present (what happened while it was off is not sent); its queued deliveries resume.
    pub async fn update_webhook(
        &self,
        by: Actor,
        id: Uuid,
        patch: WebhookPatch,
    ) -> StoreResult<Option<Webhook>> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(before) = tx
                    .query_opt_per_dialect(&LOCKED_WEBHOOK, args![id, by.org_id], Webhook::from_row)
                    .await?
                else {
                    return Ok(None);
                };
                let enabled = patch.enabled.unwrap_or(before.enabled);
                let after = Webhook {
                    url: patch.url.unwrap_or_else(|| before.url.clone()),
                    events: patch.events.unwrap_or_else(|| before.events.clone()),
                    description: patch
                        .description
                        .unwrap_or_else(|| before.description.clone()),
                    enabled,
                    disabled_reason: if enabled && !before.enabled {
                        None
                    } else {
                        before.disabled_reason.clone()
                    },
                    ..before.clone()
                };
                if after == before {
                    return Ok(Some(after));
                }
                let enabling = after.enabled && !before.enabled;
                tx.execute(
                    UPDATE_WEBHOOK,
                    args![
                        id,
                        &after.url,
                        &after.events,
                        &after.description,
                        after.enabled,
                        enabling
                    ],
                )
                .await?;
                append_webhook_event(tx, by, Some(&before), Some(&after), false).await?;
                if enabling {
                    start_at_present(tx, id).await?;
                }
                Ok(Some(after))
            })
        })
        .await
    }

    /// Deletes a webhook of `by`'s organization with its deliveries and their attempts; false
    /// when there is none.
    pub async fn delete_webhook(&self, by: Actor, id: Uuid) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(before) = tx
                    .query_opt_per_dialect(&LOCKED_WEBHOOK, args![id, by.org_id], Webhook::from_row)
                    .await?
                else {
                    return Ok(false);
                };
                tx.execute(DELETE_WEBHOOK, args![id]).await?;
                append_webhook_event(tx, by, Some(&before), None, false).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Replaces a webhook's secret with `sealed`; the current one keeps signing beside it until
    /// `by.at` + [`ROTATION_OVERLAP_MS`]. None when the organization has no such webhook.
    pub async fn rotate_webhook_secret(
        &self,
        by: Actor,
        id: Uuid,
        sealed: Vec<u8>,
    ) -> StoreResult<Option<Webhook>> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(webhook) = tx
                    .query_opt_per_dialect(&LOCKED_WEBHOOK, args![id, by.org_id], Webhook::from_row)
                    .await?
                else {
                    return Ok(None);
                };
                let until = by.at.saturating_add(ROTATION_OVERLAP_MS);
                tx.execute(ROTATE_SECRET, args![id, &sealed, until]).await?;
                append_webhook_event(tx, by, Some(&webhook), Some(&webhook), true).await?;
                Ok(Some(webhook))
            })
        })
        .await
    }

    /// Queues a `webhook.test` delivery at the end of a webhook's queue, unless one is pending
    /// already (each is retried for days: one at a time keeps what tests can queue bounded);
    /// None when the organization has no such webhook. Checked under a lock of the webhook's
    /// row on PostgreSQL, so concurrent tests on any number of instances queue one.
    pub async fn queue_test_delivery(
        &self,
        org_id: OrgId,
        id: Uuid,
        delivery_id: Uuid,
        at: i64,
    ) -> StoreResult<Option<TestDelivery>> {
        self.write(move |tx| {
            Box::pin(async move {
                // The webhook's row lock serialises its tests (on SQLite the one writer does).
                let locked = tx
                    .query_opt_per_dialect(&LOCKED_WEBHOOK, args![id, org_id], |_| Ok(()))
                    .await?;
                if locked.is_none() {
                    return Ok(None);
                }
                if tx.count(COUNT_PENDING_TESTS, args![id, TEST_TYPE]).await? > 0 {
                    return Ok(Some(TestDelivery::StillPending));
                }
                let Some(seq) = tx
                    .query_opt(TAKE_SEQ, args![id, org_id], |row| {
                        row.get::<i64>("next_seq")
                    })
                    .await?
                else {
                    return Ok(None);
                };
                tx.execute(
                    INSERT_TEST_DELIVERY,
                    args![delivery_id, id, seq - 1, TEST_TYPE, at],
                )
                .await?;
                let delivery = tx
                    .query_opt(DELIVERY, args![delivery_id, id], Delivery::from_row)
                    .await?;
                Ok(delivery.map(TestDelivery::Queued))
            })
        })
        .await
    }

    /// A page of a webhook's deliveries, newest first, and how many match; None when the
    /// organization has no such webhook.
    pub async fn deliveries(
        &self,
        org_id: OrgId,
        id: Uuid,
        filter: DeliveryFilter,
    ) -> StoreResult<Option<(Vec<Delivery>, i64)>> {
        self.read_snapshot(move |tx| {
            Box::pin(async move {
                if tx.count(WEBHOOK_EXISTS, args![id, org_id]).await? == 0 {
                    return Ok(None);
                }
                let status = filter.status.map(|s| s as i16);
                let total = tx.count(COUNT_DELIVERIES, args![id, status]).await?;
                let page = tx
                    .query_all(
                        LIST_DELIVERIES,
                        args![id, status, filter.take, filter.skip],
                        Delivery::from_row,
                    )
                    .await?;
                Ok(Some((page, total)))
            })
        })
        .await
    }

    /// Queues delivery `delivery_id` of a webhook of the organization for an attempt now,
    /// whatever its state (a delivered one is sent again); None when there is no such delivery.
    pub async fn retry_delivery(
        &self,
        org_id: OrgId,
        id: Uuid,
        delivery_id: Uuid,
        at: i64,
    ) -> StoreResult<Option<Delivery>> {
        self.write(move |tx| {
            Box::pin(async move {
                if tx.count(WEBHOOK_EXISTS, args![id, org_id]).await? == 0 {
                    return Ok(None);
                }
                let changed = tx
                    .execute(RETRY_DELIVERY, args![delivery_id, id, at])
                    .await?;
                if changed == 0 {
                    return Ok(None);
                }
                tx.execute(RUN_NOW, args![id, at]).await?;
                tx.query_opt(DELIVERY, args![delivery_id, id], Delivery::from_row)
                    .await
            })
        })
        .await
    }

    /// The sealed secrets of a webhook, current first, the previous one while it still signs
    /// at `now`.
    pub async fn webhook_secrets(
        &self,
        org_id: OrgId,
        id: Uuid,
    ) -> StoreResult<Option<SealedSecrets>> {
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_opt(SECRETS, args![id, org_id], SealedSecrets::from_row)
                    .await
            })
        })
        .await
    }
}

/// Sets the webhook's cursor past every event committed so far (and past its own transaction's
/// events, on PostgreSQL).
async fn start_at_present(tx: &mut Tx<'_>, id: Uuid) -> StoreResult<()> {
    tx.execute_per_dialect(&CURSOR_AT_PRESENT, args![id])
        .await?;
    Ok(())
}

/// The type of a test delivery.
pub const TEST_TYPE: &str = "webhook.test";

/// A webhook's public fields, as an event records them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookFields<'a> {
    id: Uuid,
    /// Without query or user info.
    url: String,
    events: Value,
    description: Option<&'a str>,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'static str>,
}

impl Webhook {
    fn fields(&self, secret_changed: bool) -> WebhookFields<'_> {
        let url = match url::Url::parse(&self.url) {
            Ok(mut url) => {
                url.set_query(None);
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            Err(_) => String::new(),
        };
        WebhookFields {
            id: self.id,
            url,
            events: serde_json::from_str(&self.events).unwrap_or(Value::Null),
            description: self.description.as_deref(),
            enabled: self.enabled,
            secret: secret_changed.then_some("changed"),
        }
    }
}

async fn append_webhook_event(
    tx: &mut Tx<'_>,
    by: Actor,
    from: Option<&Webhook>,
    to: Option<&Webhook>,
    secret_changed: bool,
) -> StoreResult<()> {
    let value = |webhook: Option<&Webhook>, secret: bool| {
        webhook.map_or(Ok(Value::Null), |w| {
            serde_json::to_value(w.fields(secret)).map_err(StoreError::Encoding)
        })
    };
    let changes =
        Changes::default().field("webhook", value(from, false)?, value(to, secret_changed)?);
    let Some(data) = changes.json()? else {
        return Ok(());
    };
    append_event(tx, &NewEvent::org(by, EventKind::Updated, data)).await
}

/// A webhook about to be stored.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: Uuid,
    pub url: String,
    /// The patterns, a JSON array of strings.
    pub events: String,
    pub description: Option<String>,
    /// The secret's key, sealed (`SecretBox`, the webhook's id as associated data).
    pub secret: Vec<u8>,
}

#[derive(Debug)]
pub enum WebhookCreate {
    Created(Webhook),
    /// The organization has [`MAX_WEBHOOKS_PER_ORG`] webhooks already.
    LimitReached,
}

/// What `POST /webhooks/{id}/test` led to.
#[derive(Debug)]
pub enum TestDelivery {
    /// A `webhook.test` delivery, queued.
    Queued(Delivery),
    /// The webhook has a pending `webhook.test` delivery already: nothing was queued.
    StillPending,
}

/// What `PUT /webhooks/{id}` changes; None leaves a field as it is (a description of
/// `Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<String>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// A stored webhook (its secrets apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub org_id: OrgId,
    pub url: String,
    /// The patterns, a JSON array of strings.
    pub events: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub disabled_reason: Option<String>,
}

impl Webhook {
    fn from_row(row: &Row<'_>) -> StoreResult<Webhook> {
        Ok(Webhook {
            id: row.get("id")?,
            org_id: row.get("org_id")?,
            url: row.get("url")?,
            events: row.get("events")?,
            description: row.get("description")?,
            enabled: row.get("enabled")?,
            created_at: row.get("created_at")?,
            disabled_reason: row.get("disabled_reason")?,
        })
    }
}

/// A webhook's sealed secrets.
#[derive(Debug, Clone)]
pub struct SealedSecrets {
    pub current: Vec<u8>,
    pub previous: Option<Vec<u8>>,
    /// Until when the previous one signs (ms).
    pub previous_until: Option<i64>,
}

impl SealedSecrets {
    fn from_row(row: &Row<'_>) -> StoreResult<SealedSecrets> {
        Ok(SealedSecrets {
            current: row.get("secret")?,
            previous: row.get("previous_secret")?,
            previous_until: row.get("previous_expires_at")?,
        })
    }
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending = 0,
    Delivered = 1,
    Failed = 2,
}

impl DeliveryStatus {
    fn from_index(index: i16) -> Option<DeliveryStatus> {
        match index {
            0 => Some(DeliveryStatus::Pending),
            1 => Some(DeliveryStatus::Delivered),
            2 => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// Which deliveries a page shows.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub skip: i64,
    pub take: i64,
}

/// One delivery as its log shows it: the last attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    /// None for a test delivery.
    pub event_id: Option<i64>,
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub duration_ms: Option<i64>,
}

impl Delivery {
    pub(super) fn from_row(row: &Row<'_>) -> StoreResult<Delivery> {
        let status: i16 = row.get("status")?;
        Ok(Delivery {
            id: row.get("id")?,
            event_id: row.get("event_id")?,
            kind: row.get("type")?,
            status: DeliveryStatus::from_index(status)
                .ok_or(StoreError::Unavailable("a delivery of an unknown status"))?,
            attempts: row.get("attempts")?,
            last_attempt_at: row.get("last_attempt_at")?,
            next_attempt_at: row.get("next_attempt_at")?,
            response_status: row.get("response_status")?,
            response_body: row.get("response_body")?,
            duration_ms: row.get("duration_ms")?,
        })
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

macro_rules! webhook_columns {
    () => {
        "id, org_id, url, events, description, enabled, created_at, disabled_reason"
    };
}

macro_rules! delivery_columns {
    () => {
        "id, event_id, type, status, attempts, last_attempt_at, next_attempt_at, \
         response_status, response_body, duration_ms"
    };
}

/// Serialises creates of one organization on PostgreSQL, so the count holds until commit.
const LOCK_ORG: PerDialect =
    PerDialect::postgres_only("SELECT id FROM organizations WHERE id = $1 FOR UPDATE");

const COUNT_WEBHOOKS: &str = "SELECT COUNT(*) AS n FROM webhooks WHERE org_id = $1";

/// Binds: id, org_id, url, events, description, secret, created_at.
const INSERT_WEBHOOK: &str = "INSERT INTO webhooks (id, org_id, url, events, description, \
     enabled, secret, created_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7)";

/// SQLite: past the newest event (its writer commits in id order). PostgreSQL: past this
/// transaction, every event of it included; transactions that began writing before it are the
/// past too.
const CURSOR_AT_PRESENT: PerDialect = PerDialect::new(
    "UPDATE webhooks SET cursor_xid = 0, \
     cursor_id = COALESCE((SELECT MAX(id) FROM system_events), 0) WHERE id = $1",
    "UPDATE webhooks SET cursor_xid = pg_current_xact_id()::text::bigint, \
     cursor_id = 9223372036854775807 WHERE id = $1",
);

const LIST_WEBHOOKS: &str = concat!(
    "SELECT ",
    webhook_columns!(),
    " FROM webhooks WHERE org_id = $1 ORDER BY created_at, id"
);

const WEBHOOK: &str = concat!(
    "SELECT ",
    webhook_columns!(),
    " FROM webhooks WHERE id = $1 AND org_id = $2"
);

const LOCKED_WEBHOOK: PerDialect = for_update!(concat!(
    "SELECT ",
    webhook_columns!(),
    " FROM webhooks WHERE id = $1 AND org_id = $2"
));

/// The pending deliveries of webhook $1 of type $2 (the test's).
const COUNT_PENDING_TESTS: &str = "SELECT COUNT(*) AS n FROM webhook_deliveries \
     WHERE webhook_id = $1 AND status = 0 AND type = $2";

const WEBHOOK_EXISTS: &str = "SELECT COUNT(*) AS n FROM webhooks WHERE id = $1 AND org_id = $2";

/// Binds: id, url, events, description, enabled, enabling (clears the reason and failures,
/// and lets the dispatcher look at it at once).
const UPDATE_WEBHOOK: &str = "UPDATE webhooks SET url = $2, events = $3, description = $4, \
     enabled = $5, \
     disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END, \
     failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END, \
     next_run_at = CASE WHEN $6 THEN 0 ELSE next_run_at END \
     WHERE id = $1";

const DELETE_WEBHOOK: &str = "DELETE FROM webhooks WHERE id = $1";

/// Binds: id, the new sealed secret, until when the current one keeps signing.
const ROTATE_SECRET: &str = "UPDATE webhooks SET previous_secret = secret, \
     previous_expires_at = $3, secret = $2 WHERE id = $1";

const SECRETS: &str = "SELECT secret, previous_secret, previous_expires_at FROM webhooks \
     WHERE id = $1 AND org_id = $2";

/// Takes the next place in a webhook's order (the row's lock serialises takers on PostgreSQL);
/// `next_seq` returned is one past it.
const TAKE_SEQ: &str = "UPDATE webhooks SET next_seq = next_seq + 1 WHERE id = $1 AND org_id = $2 \
     RETURNING next_seq";

/// Binds: id, webhook_id, seq, type, created_at.
const INSERT_TEST_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, webhook_id, seq, \
     event_id, type, status, created_at, next_attempt_at) VALUES ($1, $2, $3, NULL, $4, 0, $5, $5)";

const DELIVERY: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2"
);

const COUNT_DELIVERIES: &str = "SELECT COUNT(*) AS n FROM webhook_deliveries \
     WHERE webhook_id = $1 AND ($2 IS NULL OR status = $2)";

/// Newest first: the webhook's order, reversed.
const LIST_DELIVERIES: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM webhook_deliveries WHERE webhook_id = $1 AND ($2 IS NULL OR status = $2) \
     ORDER BY seq DESC LIMIT $3 OFFSET $4"
);

/// Binds: delivery id, webhook id, now.
const RETRY_DELIVERY: &str = "UPDATE webhook_deliveries SET status = 0, next_attempt_at = $3 \
     WHERE id = $1 AND webhook_id = $2";

/// Lets the dispatcher look at the webhook at once.
const RUN_NOW: &str = "UPDATE webhooks SET next_run_at = $2 WHERE id = $1";
