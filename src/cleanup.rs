//! The background clean-up: a pass of `Store::clean_up` every `--cleanup-interval-secs`, the
//! first at start-up. A failed pass is logged and the next one tries again (every delete is
//! idempotent); several instances on one database may run it at once.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::config::{CleanupConfig, RetentionConfig};
use crate::http::Metrics;
use crate::store::{CleanupPolicy, SharedStore};

/// Rows per delete statement: big enough that a pass over a large backlog takes few
/// statements, small enough that each holds SQLite's writer or PostgreSQL's row locks for
/// milliseconds.
const BATCH: i64 = 1000;
/// The pause between two full batches, for requests' writes to go first.
const PAUSE: Duration = Duration::from_millis(50);

pub fn policy(config: &CleanupConfig) -> CleanupPolicy {
    CleanupPolicy {
        grace_ms: millis(config.grace),
        unverified_account_ttl_ms: config.unverified_account_ttl.map(millis),
        batch: BATCH,
        pause: PAUSE,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Runs passes until the task is aborted (when the server stops).
pub async fn run(store: SharedStore, config: CleanupConfig) {
    let policy = policy(&config);
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.clean_up(&policy, now_ms()).await {
            Ok(report) if report.is_empty() => tracing::debug!("clean-up: nothing to delete"),
            Ok(report) => tracing::info!(?report, "clean-up deleted what had ended"),
            Err(error) => tracing::error!(%error, "clean-up pass failed; the next one retries"),
        }
    }
}

/// Runs retention passes until the task is aborted: each deletes the events older than
/// `config.keep`, `config.batch` per statement (`Store::prune_events`). Several instances may run
/// it at once. Each batch and pass is counted in `metrics` (and each batch logged at debug level),
/// so an operator sees a long pass progress and a failing one repeat.
pub async fn prune_events(store: SharedStore, config: RetentionConfig, metrics: Arc<Metrics>) {
    let keep = millis(config.keep);
    let batch = i64::from(config.batch.max(1));
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let pruned = store
            .prune_events(now_ms().saturating_sub(keep), batch, PAUSE, |deleted| {
                tracing::debug!(deleted, "event retention: a batch deleted");
                metrics.retention_batch(deleted);
            })
            .await;
        metrics.retention_pass(pruned.is_ok());
        match pruned {
            Ok(0) => tracing::debug!("event retention: nothing to delete"),
            Ok(deleted) => tracing::info!(deleted, "event retention deleted old events"),
            Err(error) => {
                tracing::error!(%error, "event retention pass failed; the next one retries")
            }
        }
    }
}
