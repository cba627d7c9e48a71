//! The webhook dispatcher (contract section 15): a background task of `serve`, never on a
//! request's path. Every few hundred milliseconds (or when a route wakes it) it asks the
//! database which webhooks have work, claims each under a lease (`store::webhook_dispatch`
//! explains the cursor and the leases) and runs it: queue the events after its cursor that its
//! patterns select, then send its queued deliveries one at a time, in order, until one fails
//! (the later ones wait for it), none is left or the run's time is up; then record every
//! attempt and give the lease back.
//!
//! Failures wait 5 s, 1 min, 5 min, 30 min, 2 h, 8 h, 24 h, 36 h (a tenth of jitter) before the
//! next attempt; after the ninth the delivery is `failed` and the next one goes. A 410 answer
//! disables the webhook, and so do 3 days of failures without a success.
//!
//! A run's attempts are written after it, so a process killed mid-run sends them again when the
//! lease has expired: deliveries are at least once, and receivers deduplicate by `webhook-id`.
//! A server that stops gracefully hands its leases back as it exits (`app.rs`), so the
//! interrupted deliveries go again at once, from another instance or the restarted one.

mod client;
pub mod signing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use tokio::sync::Notify;
use uuid::Uuid;

pub use client::{http_client, Safety, DELIVERY_TIMEOUT};

use crate::auth::mfa::SecretBox;
use crate::clock::{now_ms, rfc3339};
use crate::domain::{event_type, retry_delay_ms, selects, EventPattern, FAILING_DISABLE_MS};
use crate::http::{EventFields, Metrics};
use crate::store::{
    ClaimedWebhook, DeliveryStatus, NewDelivery, QueuedDelivery, RecordedAttempt, RunEnd,
    SharedStore,
};

/// How long a claimed webhook is ours. A run starts no attempt later than [`RUN_BUDGET`] after
/// its claim, and an attempt lasts at most [`DELIVERY_TIMEOUT`] (plus the writes after it), so
/// the run ends well before the lease does.
const LEASE: Duration = Duration::from_secs(30);
const RUN_BUDGET: Duration = Duration::from_secs(12);
/// Deliveries read (and at most sent) per step of a run.
const HEAD_BATCH: i64 = 64;
/// Events read per step of a run.
const SCAN_BATCH: i64 = 256;
/// A webhook's queue stops taking events at this many pending deliveries: the rest wait in the
/// event log, behind its cursor (a receiver down for days costs no unbounded queue).
const MAX_PENDING: i64 = 1000;
/// Webhooks run at once by one dispatcher.
const MAX_RUNS: usize = 16;

/// How the dispatcher runs (`--webhooks-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Whether this instance delivers at all (`--webhooks-dispatch false` leaves it to others).
    pub enabled: bool,
    pub safety: Safety,
    /// Time between two looks at the database when nothing wakes it.
    pub poll: Duration,
    /// Every retry waits this long instead of the schedule (tests).
    pub retry_delay_override: Option<Duration>,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            enabled: true,
            safety: Safety::default(),
            poll: Duration::from_millis(200),
            retry_delay_override: None,
        }
    }
}

/// What the routes and the dispatcher share: the key of the secrets, the wake-up, the checks.
pub struct Webhooks {
    pub secret_box: SecretBox,
    pub config: DispatchConfig,
    wake: Notify,
}

impl Webhooks {
    pub fn new(secret_box: SecretBox, config: DispatchConfig) -> Arc<Webhooks> {
        Arc::new(Webhooks {
            secret_box,
            config,
            wake: Notify::new(),
        })
    }

    /// Sealed for webhook `id` (its id is the associated data, so a secret copied onto another
    /// row opens nothing; the prefix keeps it apart from the TOTP secrets under the same key).
    pub fn seal(&self, id: Uuid, key: &[u8]) -> Vec<u8> {
        self.secret_box.seal(key, &aad(id))
    }

    fn open(&self, id: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        self.secret_box.open(sealed, &aad(id))
    }

    /// Asks the dispatcher to look at the database now (a test delivery, a retry).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

fn aad(id: Uuid) -> Vec<u8> {
    [b"webhook-secret:".as_slice(), id.as_bytes()].concat()
}

/// The dispatcher's loop; runs until the task is aborted.
pub async fn run(store: SharedStore, webhooks: Arc<Webhooks>, metrics: Arc<Metrics>, owner: Uuid) {
    let client = match http_client(webhooks.config.safety) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "the webhook client could not be built; no deliveries");
            return;
        }
    };
    let dispatcher = Arc::new(Dispatcher {
        owner,
        store,
        webhooks,
        metrics,
        client,
    });
    let mut runs = tokio::task::JoinSet::new();
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            () = dispatcher.webhooks.wake.notified() => {}
            () = tokio::time::sleep(dispatcher.webhooks.config.poll) => {}
        }
        while runs.try_join_next().is_some() {}
        if ticks % 10 == 0 {
            dispatcher.measure_lag().await;
        }
        ticks = ticks.wrapping_add(1);
        let free = MAX_RUNS.saturating_sub(runs.len());
        if free == 0 {
            continue;
        }
        let now = now_ms();
        let due = match dispatcher.store.due_webhooks(now, free as i64).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "reading the webhooks due failed");
                continue;
            }
        };
        for id in due {
            let until = now + LEASE.as_millis() as i64;
            match dispatcher
                .store
                .claim_webhook(id, dispatcher.owner, now, until)
                .await
            {
                Ok(Some(webhook)) => {
                    let dispatcher = dispatcher.clone();
                    runs.spawn(async move { dispatcher.run_webhook(webhook).await });
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "claiming a webhook failed"),
            }
        }
    }
}

struct Dispatcher {
    /// This dispatcher's lease owner id.
    owner: Uuid,
    store: SharedStore,
    webhooks: Arc<Webhooks>,
    metrics: Arc<Metrics>,
    client: reqwest::Client,
}

/// What a delivery's body says.
#[derive(Serialize)]
struct Payload<'a, D: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: D,
}

/// The data of a test delivery.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestData {
    webhook_id: Uuid,
    delivery_id: Uuid,
}

impl Dispatcher {
    async fn measure_lag(&self) {
        if let Ok(oldest) = self.store.oldest_undelivered_event().await {
            let seconds = oldest.map_or(0.0, |at| (now_ms() - at).max(0) as f64 / 1000.0);
            self.metrics.webhook_lag(seconds);
        }
    }

    /// Runs a claimed webhook until its queue is empty, its head fails or waits, or the run's
    /// time is up; then gives the lease back.
    async fn run_webhook(&self, webhook: ClaimedWebhook) {
        let id = webhook.id;
        if let Err(error) = self.try_run(webhook).await {
            tracing::warn!(webhook = %id, %error, "a webhook run failed; its lease will expire");
        }
    }

    async fn try_run(&self, mut webhook: ClaimedWebhook) -> anyhow::Result<()> {
        let started = Instant::now();
        let patterns: Vec<EventPattern> = serde_json::from_str::<Vec<String>>(&webhook.events)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| EventPattern::parse(p))
            .collect();
        let keys = self.keys(&webhook);
        let mut failing_since = webhook.failing_since;
        loop {
            let scanned = self.fan_out(&mut webhook, &patterns).await?;
            let Some(scanned) = scanned else {
                return Ok(()); // the lease is gone
            };
            let head = self.store.queue_head(webhook.id, HEAD_BATCH).await?;
            let mut attempts = Vec::new();
            let mut end = RunEnd::default();
            let mut stop = false;
            for queued in head {
                let now = now_ms();
                let due = queued.delivery.next_attempt_at.unwrap_or(0);
                if due > now {
                    end.next_run_at = due;
                    stop = true;
                    break;
                }
                if started.elapsed() > RUN_BUDGET {
                    stop = true;
                    break;
                }
                let attempt = self.attempt(&webhook, &keys, &queued, now).await;
                self.metrics
                    .webhook_attempt(attempt.status == DeliveryStatus::Delivered);
                let gone = attempt.response_status == Some(410);
                let failed = attempt.status != DeliveryStatus::Delivered;
                if failed {
                    let since = *failing_since.get_or_insert(now);
                    if gone {
                        end.disable = Some("The receiver answered 410 Gone".to_owned());
                    } else if now - since >= FAILING_DISABLE_MS {
                        end.disable = Some("Deliveries failed for 3 days".to_owned());
                    }
                } else {
                    failing_since = None;
                }
                let waits = attempt.next_attempt_at;
                attempts.push(attempt);
                if end.disable.is_some() {
                    stop = true;
                    break;
                }
                if let Some(next) = waits.filter(|_| failed) {
                    end.next_run_at = next;
                    stop = true;
                    break;
                }
            }
            let idle = attempts.is_empty() && scanned == 0;
            end.release = stop || idle;
            end.failing_since = failing_since;
            if !self
                .store
                .record_run(webhook.id, self.owner, attempts, end.clone())
                .await?
                || end.release
            {
                return Ok(());
            }
            if started.elapsed() > RUN_BUDGET {
                let release = RunEnd {
                    release: true,
                    failing_since,
                    ..RunEnd::default()
                };
                self.store
                    .record_run(webhook.id, self.owner, Vec::new(), release)
                    .await?;
                return Ok(());
            }
        }
    }

    /// Queues deliveries for the events after the cursor its patterns select, when its queue
    /// has room: how many events it looked at; None when the lease is gone.
    async fn fan_out(
        &self,
        webhook: &mut ClaimedWebhook,
        patterns: &[EventPattern],
    ) -> anyhow::Result<Option<usize>> {
        if self.store.pending_deliveries(webhook.id).await? >= MAX_PENDING {
            return Ok(Some(0));
        }
        let events = self
            .store
            .webhook_events_after(webhook.org_id, webhook.cursor, SCAN_BATCH)
            .await?;
        let Some(last) = events.last() else {
            return Ok(Some(0));
        };
        let cursor = last.at;
        let deliveries = events
            .iter()
            .filter(|e| selects(patterns, e.context, e.kind))
            .map(|e| NewDelivery {
                id: Uuid::now_v7(),
                event_id: e.at.id,
                kind: event_type(e.context, e.kind),
            })
            .collect();
        let held = self
            .store
            .fan_out(webhook.id, self.owner, cursor, deliveries, now_ms())
            .await?;
        if !held {
            return Ok(None);
        }
        webhook.cursor = cursor;
        Ok(Some(events.len()))
    }

    /// The keys that sign now: the current one, and the previous one during its overlap.
    fn keys(&self, webhook: &ClaimedWebhook) -> Vec<Vec<u8>> {
        let mut keys = Vec::with_capacity(2);
        match self.webhooks.open(webhook.id, &webhook.secret) {
            Some(key) => keys.push(key),
            None => tracing::error!(webhook = %webhook.id, "a webhook secret does not open"),
        }
        let previous = webhook
            .previous_secret
            .as_deref()
            .filter(|_| webhook.previous_until.is_some_and(|until| until > now_ms()));
        if let Some(key) = previous.and_then(|sealed| self.webhooks.open(webhook.id, sealed)) {
            keys.push(key);
        }
        keys
    }

    /// One attempt of `queued`, and the delivery's state after it.
    async fn attempt(
        &self,
        webhook: &ClaimedWebhook,
        keys: &[Vec<u8>],
        queued: &QueuedDelivery,
        now: i64,
    ) -> RecordedAttempt {
        let delivery = &queued.delivery;
        let attempts = delivery.attempts + 1;
        let body = match (&queued.event, delivery.event_id) {
            (Some(event), _) => serde_json::to_vec(&Payload {
                kind: &delivery.kind,
                timestamp: rfc3339(event.created_at),
                data: EventFields::from(event.clone()),
            }),
            (None, None) => serde_json::to_vec(&Payload {
                kind: &delivery.kind,
                timestamp: rfc3339(now),
                data: TestData {
                    webhook_id: webhook.id,
                    delivery_id: delivery.id,
                },
            }),
            (None, Some(_)) => {
                return RecordedAttempt {
                    delivery_id: delivery.id,
                    at: now,
                    status: DeliveryStatus::Failed,
                    next_attempt_at: None,
                    response_status: None,
                    response_body: None,
                    duration_ms: 0,
                    error: Some("the event no longer exists (event retention)".to_owned()),
                }
            }
        };
        let body = body.unwrap_or_default();
        let message_id = match delivery.event_id {
            Some(event_id) => event_id.to_string(),
            None => delivery.id.to_string(),
        };
        let timestamp = now.div_euclid(1000);
        let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let signed = client::Signed {
            id: &message_id,
            timestamp,
            signature: signing::signature(&key_refs, &message_id, timestamp, &body),
        };
        let result = client::post(
            &self.client,
            self.webhooks.config.safety,
            &webhook.url,
            signed,
            body,
        )
        .await;
        let (status, next_attempt_at) = if result.succeeded() {
            (DeliveryStatus::Delivered, None)
        } else if result.status == Some(410) {
            (DeliveryStatus::Failed, None)
        } else {
            let jitter = rand::thread_rng().gen::<f64>();
            let base = self
                .webhooks
                .config
                .retry_delay_override
                .map(|d| d.as_millis() as i64);
            match retry_delay_ms(attempts, jitter, base) {
                Some(delay) => (DeliveryStatus::Pending, Some(now_ms() + delay)),
                None => (DeliveryStatus::Failed, None),
            }
        };
        RecordedAttempt {
            delivery_id: delivery.id,
            at: now,
            status,
            next_attempt_at,
            response_status: result.status.map(i64::from),
            response_body: result.body,
            duration_ms: result.duration_ms,
            error: result.error,
        }
    }
}
