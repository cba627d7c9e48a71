//! A webhook receiver on loopback: it checks every request's Standard Webhooks signature with its
//! own HMAC (never the server's signing code), answers what the test scripted, and keeps what it
//! got; it also notices two requests of one webhook (or one message) in flight at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::watch;

/// How long a test waits for deliveries before failing.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(20);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path's last segment (`/hook/{name}`): which webhook it was for.
    pub hook: String,
    pub id: String,
    pub timestamp: i64,
    /// The `v1,` signatures of the header, in order.
    pub signatures: Vec<String>,
    /// For each signature, the index of the secret it verified with (None: no secret did).
    pub verified_with: Vec<Option<usize>>,
    pub content_type: String,
    pub body: Value,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    /// Every signature verified with one of the secrets.
    pub fn all_signatures_valid(&self) -> bool {
        !self.verified_with.is_empty() && self.verified_with.iter().all(Option::is_some)
    }
}

#[derive(Default)]
struct Flight {
    /// Requests in flight per webhook, per message id.
    per_hook: HashMap<String, usize>,
    per_message: HashMap<(String, String), usize>,
    /// A webhook had two requests in flight at once / a message did.
    hook_overlap: bool,
    message_overlap: bool,
}

struct Inner {
    /// The secrets' key bytes, by webhook name; the signatures of a webhook's requests are
    /// checked against its secrets.
    secrets: Mutex<HashMap<String, Vec<Vec<u8>>>>,
    script: Mutex<HashMap<String, VecDeque<u16>>>,
    delay: Mutex<Duration>,
    received: watch::Sender<Vec<Received>>,
    flight: Mutex<Flight>,
}

/// The receiver; dropping it leaves its server running until the test's runtime ends.
#[derive(Clone)]
pub struct Receiver {
    base: String,
    inner: Arc<Inner>,
}

impl Receiver {
    /// A receiver on 127.0.0.1, port chosen by the system.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Inner {
            secrets: Mutex::default(),
            script: Mutex::default(),
            delay: Mutex::new(Duration::ZERO),
            received: watch::Sender::new(Vec::new()),
            flight: Mutex::default(),
        });
        let app = Router::new()
            .route("/hook/{name}", post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            inner,
        }
    }

    /// The URL of webhook `name` at this receiver.
    pub fn url(&self, name: &str) -> String {
        format!("{}/hook/{name}", self.base)
    }

    /// The same URL with `host` for the address (e.g. `localhost`).
    pub fn url_on(&self, host: &str, name: &str) -> String {
        self.url(name).replace("127.0.0.1", host)
    }

    /// Checks webhook `name`'s signatures against `secrets` (`whsec_...`) from now on.
    pub fn expect_secrets(&self, name: &str, secrets: &[&str]) {
        let keys = secrets
            .iter()
            .map(|s| {
                STANDARD
                    .decode(s.strip_prefix("whsec_").expect("a whsec_ secret"))
                    .unwrap()
            })
            .collect();
        self.inner
            .secrets
            .lock()
            .unwrap()
            .insert(name.to_owned(), keys);
    }

    /// Answers webhook `name`'s next requests with `statuses`, then 200.
    pub fn script(&self, name: &str, statuses: &[u16]) {
        self.inner
            .script
            .lock()
            .unwrap()
            .insert(name.to_owned(), statuses.iter().copied().collect());
    }

    /// Holds every request this long before answering.
    pub fn delay(&self, delay: Duration) {
        *self.inner.delay.lock().unwrap() = delay;
    }

    /// Everything received so far, in arrival order.
    pub fn all(&self) -> Vec<Received> {
        self.inner.received.borrow().clone()
    }

    /// What webhook `name` received, in arrival order.
    pub fn of(&self, name: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.hook == name).collect()
    }

    /// Waits until what was received satisfies `done`; fails the test after `wait`.
    pub async fn wait_until(&self, what: &str, wait: Duration, done: impl Fn(&[Received]) -> bool) {
        let mut received = self.inner.received.subscribe();
        let waited = tokio::time::timeout(wait, received.wait_for(|r| done(r))).await;
        if waited.is_err() {
            let got: Vec<_> = self
                .all()
                .iter()
                .map(|r| (r.hook.clone(), r.id.clone(), r.answered))
                .collect();
            panic!("{what}: not within {wait:?}; received {got:?}");
        }
    }

    /// Waits until webhook `name` has received `n` requests.
    pub async fn wait_for(&self, name: &str, n: usize) -> Vec<Received> {
        self.wait_until(&format!("{n} requests for {name}"), DELIVERY_WAIT, |r| {
            r.iter().filter(|r| r.hook == name).count() >= n
        })
        .await;
        self.of(name)
    }

    /// Whether a webhook ever had two requests in flight at once, and whether a message did.
    pub fn overlaps(&self) -> (bool, bool) {
        let flight = self.inner.flight.lock().unwrap();
        (flight.hook_overlap, flight.message_overlap)
    }
}

/// The HMAC-SHA256 signature of `id.timestamp.body` under `key`, base64: computed here, as a
/// receiver would.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or(-1);
    let signatures: Vec<String> = header("webhook-signature")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let keys = inner
        .secrets
        .lock()
        .unwrap()
        .get(&name)
        .cloned()
        .unwrap_or_default();
    let verified_with = signatures
        .iter()
        .map(|signature| {
            let value = signature.strip_prefix("v1,")?;
            keys.iter()
                .position(|key| sign(key, &id, timestamp, &body) == value)
        })
        .collect();
    {
        let mut flight = inner.flight.lock().unwrap();
        let in_hook = flight.per_hook.entry(name.clone()).or_default();
        *in_hook += 1;
        if *in_hook > 1 {
            flight.hook_overlap = true;
        }
        let in_message = flight
            .per_message
            .entry((name.clone(), id.clone()))
            .or_default();
        *in_message += 1;
        if *in_message > 1 {
            flight.message_overlap = true;
        }
    }
    let delay = *inner.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answered = inner
        .script
        .lock()
        .unwrap()
        .get_mut(&name)
        .and_then(VecDeque::pop_front)
        .unwrap_or(200);
    {
        let mut flight = inner.flight.lock().unwrap();
        if let Some(n) = flight.per_hook.get_mut(&name) {
            *n -= 1;
        }
        if let Some(n) = flight.per_message.get_mut(&(name.clone(), id.clone())) {
            *n -= 1;
        }
    }
    let received = Received {
        hook: name,
        id,
        timestamp,
        signatures,
        verified_with,
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered,
    };
    inner.received.send_modify(|all| all.push(received));
    StatusCode::from_u16(answered).unwrap()
}

/// A server whose webhooks may reach this machine over plain HTTP (`--webhooks-allow-private
/// --webhooks-allow-http`), looking at its queue every 50 ms, retrying after 100 ms.
pub async fn webhook_app() -> crate::support::app::TestApp {
    webhook_app_with(|_| {}).await
}

pub async fn webhook_app_with(
    configure: impl FnOnce(&mut workspaces::config::Config),
) -> crate::support::app::TestApp {
    crate::support::app::spawn_app_with(|config| {
        config.webhooks = loopback_webhooks();
        configure(config);
    })
    .await
}

/// The dispatcher settings of [`webhook_app`].
pub fn loopback_webhooks() -> workspaces::webhooks::DispatchConfig {
    workspaces::webhooks::DispatchConfig {
        enabled: true,
        safety: workspaces::webhooks::Safety {
            allow_http: true,
            allow_private: true,
        },
        poll: Duration::from_millis(50),
        retry_delay_override: Some(Duration::from_millis(100)),
    }
}

/// Creates a webhook for `url` by `by` (201); its JSON and its secret.
pub async fn create_webhook(
    app: &crate::support::app::TestApp,
    by: &crate::support::accounts::Account,
    url: &str,
    events: Option<Value>,
) -> (Value, String) {
    let mut body = serde_json::json!({ "url": url });
    if let Some(events) = events {
        body["events"] = events;
    }
    let answer = app.post("/webhooks", Some(&by.access_token), body).await;
    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    (answer.body["webhook"].clone(), answer.str("secret"))
}
