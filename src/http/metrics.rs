//! Prometheus metrics (`GET /metrics`): requests by method, matched route and status, their
//! latency, database pool use, logins, and the event retention's work. Each application owns
//! its registry (no globals), so several servers in one process (the tests) keep separate counts.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::SharedStore;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// One of the standard methods, or `OTHER`: a label per raw method would let clients grow
    /// the registry without bound (any token is a valid method, and series are never evicted).
    method: &'static str,
    /// The route template (`/workspace/{id}/users/{userId}`), never the raw path: ids would explode cardinality.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

impl OutcomeLabels {
    /// `success` or `failure`: the one spelling of an outcome on every counter that has one.
    fn of(succeeded: bool) -> OutcomeLabels {
        let outcome = if succeeded { "success" } else { "failure" };
        OutcomeLabels { outcome }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    logins: Family<OutcomeLabels, Counter>,
    pool_connections: Family<PoolLabels, Gauge>,
    write_batches: Counter,
    writes: Counter,
    retention_passes: Family<OutcomeLabels, Counter>,
    retention_batches: Counter,
    retention_deleted: Counter,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    webhook_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~4 s: covers a cached read and an Argon2 login alike.
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let logins = Family::<OutcomeLabels, Counter>::default();
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        registry.register(
            "workspaces_logins",
            "Login attempts by outcome",
            logins.clone(),
        );
        registry.register(
            "workspaces_db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            pool_connections.clone(),
        );
        let write_batches = Counter::default();
        let writes = Counter::default();
        registry.register(
            "workspaces_sqlite_write_batches",
            "SQLite transactions committed by the writer (group commits)",
            write_batches.clone(),
        );
        registry.register(
            "workspaces_sqlite_writes",
            "SQLite writes committed in those transactions",
            writes.clone(),
        );
        let retention_passes = Family::<OutcomeLabels, Counter>::default();
        let retention_batches = Counter::default();
        let retention_deleted = Counter::default();
        registry.register(
            "workspaces_event_retention_passes",
            "Event retention passes by outcome (success, failure)",
            retention_passes.clone(),
        );
        registry.register(
            "workspaces_event_retention_batches",
            "Event retention delete statements that deleted events",
            retention_batches.clone(),
        );
        registry.register(
            "workspaces_event_retention_deleted_events",
            "Events the retention deleted",
            retention_deleted.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        let webhook_lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "workspaces_webhook_deliveries",
            "Webhook delivery attempts by outcome (success, failure)",
            webhook_deliveries.clone(),
        );
        registry.register(
            "workspaces_webhook_lag_seconds",
            "Age of the oldest event queued for a webhook and not yet delivered (0: none)",
            webhook_lag.clone(),
        );
        // Shown from the start, so that a failure is a change of a series, not a new one.
        for succeeded in [true, false] {
            drop(retention_passes.get_or_create(&OutcomeLabels::of(succeeded)));
            drop(webhook_deliveries.get_or_create(&OutcomeLabels::of(succeeded)));
        }
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            logins,
            pool_connections,
            write_batches,
            writes,
            retention_passes,
            retention_batches,
            retention_deleted,
            webhook_deliveries,
            webhook_lag,
        })
    }

    pub fn login(&self, succeeded: bool) {
        self.logins
            .get_or_create(&OutcomeLabels::of(succeeded))
            .inc();
    }

    /// A retention pass ended (`crate::cleanup::prune_events`).
    pub fn retention_pass(&self, succeeded: bool) {
        self.retention_passes
            .get_or_create(&OutcomeLabels::of(succeeded))
            .inc();
    }

    /// A webhook delivery attempt ended (`crate::webhooks`).
    pub fn webhook_attempt(&self, succeeded: bool) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels::of(succeeded))
            .inc();
    }

    /// The age of the oldest undelivered event queued for a webhook, in seconds.
    pub fn webhook_lag(&self, seconds: f64) {
        self.webhook_lag.set(seconds);
    }

    /// A retention delete statement removed `deleted` events.
    pub fn retention_batch(&self, deleted: u64) {
        self.retention_batches.inc();
        self.retention_deleted.inc_by(deleted);
    }
}

/// Middleware: counts and times every request under its matched route.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The `method` label: the methods of RFC 9110 and PATCH by name, any other as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    STANDARD
        .into_iter()
        .find(|standard| *standard == method.as_str())
        .unwrap_or("OTHER")
}

impl Metrics {
    /// Every metric in the OpenMetrics text format, the pool and writer gauges read from `store`
    /// first.
    pub fn encode(&self, store: &SharedStore) -> Result<String, std::fmt::Error> {
        let (size, idle) = store.pool_connections();
        self.pool_connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle.into());
        self.pool_connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(size.saturating_sub(idle)));
        if let Some((batches, writes)) = store.write_batches() {
            // Counters that the store keeps: catch up with its totals.
            self.write_batches
                .inc_by(batches.saturating_sub(self.write_batches.get()));
            self.writes.inc_by(writes.saturating_sub(self.writes.get()));
        }
        let mut body = String::new();
        encode(&mut body, &self.registry)?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::method_label;

    #[test]
    fn standard_methods_keep_their_name_and_others_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for other in ["PURGE", "get", "X".repeat(20_000).as_str()] {
            let method = Method::from_bytes(other.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "OTHER", "{other}");
        }
    }
}
