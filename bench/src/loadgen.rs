//! The load generator: closed-loop workers, one keep-alive connection each and one request in
//! flight per connection, for a fixed window of time. Latencies go to one HDR histogram per
//! group of workers (microseconds).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::StatusCode;

use crate::client::{Conn, Req};

/// No request (nor connection attempt) may take longer; it then counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Error messages kept per group, for the report.
const ERROR_SAMPLES: usize = 5;

/// What one connection sends, request after request.
pub trait Workload: Send {
    fn next_request(&mut self) -> Req;
    /// Sees every answer (e.g. to follow `nextCursor`).
    fn on_response(&mut self, _status: StatusCode, _body: &Bytes) {}
}

/// Builds the workload of worker number `n` of a group.
pub type Factory = Box<dyn Fn(usize) -> Box<dyn Workload> + Send + Sync>;

/// Workers that share a histogram: e.g. the readers, and separately the logins.
pub struct Group {
    pub label: &'static str,
    pub connections: usize,
    pub factory: Factory,
}

/// Warm-up from the start to `measure_from`; measured from `measure_from` to `until`. No request
/// starts at or after `until`.
#[derive(Clone, Copy)]
pub struct Window {
    pub measure_from: Instant,
    pub until: Instant,
    /// Each connection sends at most one request per this long (`--rate`).
    pub pace: Option<Duration>,
}

impl Window {
    pub fn starting_now(warmup: Duration, duration: Duration) -> Window {
        let measure_from = Instant::now() + warmup;
        Window {
            measure_from,
            until: measure_from + duration,
            pace: None,
        }
    }

    pub fn measured(&self) -> Duration {
        self.until - self.measure_from
    }
}

/// What a group did in the measured window (errors: in the whole run, warm-up included).
pub struct GroupOutcome {
    pub label: &'static str,
    pub connections: usize,
    /// Successful (2xx) requests started in the measured window.
    pub requests: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub latency_us: Histogram<u64>,
}

pub fn new_histogram() -> Histogram<u64> {
    // 1 us to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Runs every group's workers until `window.until`, then merges their results per group.
pub async fn run(addr: SocketAddr, groups: Vec<Group>, window: Window) -> Vec<GroupOutcome> {
    let mut handles = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        for n in 0..group.connections {
            let workload = (group.factory)(n);
            handles.push((index, tokio::spawn(worker(addr, workload, window))));
        }
    }
    let mut outcomes: Vec<GroupOutcome> = groups
        .iter()
        .map(|group| GroupOutcome {
            label: group.label,
            connections: group.connections,
            requests: 0,
            errors: 0,
            error_samples: Vec::new(),
            latency_us: new_histogram(),
        })
        .collect();
    for (index, handle) in handles {
        let outcome = &mut outcomes[index];
        // Every worker ends by itself (its loop stops at `until`, each await is bounded by
        // REQUEST_TIMEOUT); a worker that panicked counts as an error.
        match handle.await {
            Ok(done) => {
                outcome.requests += done.requests;
                outcome.errors += done.errors;
                outcome
                    .latency_us
                    .add(&done.latency_us)
                    .expect("histograms of equal bounds");
                for sample in done.error_samples {
                    if outcome.error_samples.len() < ERROR_SAMPLES {
                        outcome.error_samples.push(sample);
                    }
                }
            }
            Err(error) => {
                outcome.errors += 1;
                outcome
                    .error_samples
                    .push(format!("worker failed: {error}"));
            }
        }
    }
    outcomes
}

struct WorkerOutcome {
    requests: u64,
    errors: u64,
    error_samples: Vec<String>,
    latency_us: Histogram<u64>,
}

impl WorkerOutcome {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(message);
        }
    }
}

async fn worker(
    addr: SocketAddr,
    mut workload: Box<dyn Workload>,
    window: Window,
) -> WorkerOutcome {
    let mut done = WorkerOutcome {
        requests: 0,
        errors: 0,
        error_samples: Vec::new(),
        latency_us: new_histogram(),
    };
    while Instant::now() < window.until {
        match tokio::time::timeout(REQUEST_TIMEOUT, Conn::open(addr)).await {
            Ok(Ok((conn, connection))) => {
                // The connection's I/O is polled in this task, beside the requests. The session
                // ends at `until` or when the connection fails (then a new one is opened); its
                // end also drops the connection, even with an answer still due.
                let (ended, end) = tokio::sync::oneshot::channel::<()>();
                let requests = async {
                    session(conn, workload.as_mut(), &mut done, window).await;
                    let _ = ended.send(());
                };
                let io = async {
                    tokio::select! {
                        _ = connection => {}
                        _ = end => {}
                    }
                };
                tokio::join!(requests, io);
            }
            Ok(Err(error)) => {
                done.error(format!("connect: {error:#}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => done.error("connect: timed out".to_owned()),
        }
    }
    done
}

/// Requests on one connection until `window.until`, or until the connection fails.
async fn session(
    mut conn: Conn,
    workload: &mut dyn Workload,
    done: &mut WorkerOutcome,
    window: Window,
) {
    let mut next = Instant::now();
    while Instant::now() < window.until {
        if let Some(pace) = window.pace {
            next += pace;
            tokio::time::sleep_until(next.into()).await;
        }
        let req = workload.next_request();
        let started = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, conn.send(&req)).await;
        let took = started.elapsed();
        match result {
            Ok(Ok((status, body))) => {
                if status.is_success() {
                    if started >= window.measure_from {
                        done.requests += 1;
                        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                        done.latency_us.saturating_record(micros.max(1));
                    }
                } else {
                    let text = String::from_utf8_lossy(&body);
                    let text: String = text.chars().take(200).collect();
                    done.error(format!("{} {} -> {status}: {text}", req.method, req.path));
                }
                workload.on_response(status, &body);
            }
            Ok(Err(error)) => {
                done.error(format!("{} {}: {error:#}", req.method, req.path));
                return;
            }
            Err(_) => {
                done.error(format!(
                    "{} {}: no answer in {REQUEST_TIMEOUT:?}",
                    req.method, req.path
                ));
                return;
            }
        }
    }
}
