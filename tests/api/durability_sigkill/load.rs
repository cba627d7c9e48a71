//! The write load of the SIGKILL test: a task per writer, each making one kind of write in a
//! loop over a client (so a connection) of its own until the kill cuts it off, and telling what
//! was acknowledged.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

/// A write whose 2xx arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// `POST /workspace`: the new workspace's id.
    Workspace(Uuid),
    /// `POST /workspace/{id}/users` as READ: (workspace, user).
    Member(Uuid, Uuid),
    /// `PUT /settings/user` of `{key: value}`.
    Setting(String, u64),
    /// `POST /mfa/disable` or `/mfa/enable`: each one changes the method's state.
    MfaChange,
    /// `POST /systemevent/read` of this event id.
    ReadMark(i64),
}

/// What one writer saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub acknowledged: Vec<Write>,
    /// Requests that never got an answer (the writer's last one).
    pub interrupted: usize,
}

impl Tally {
    fn cut_off(mut self) -> Tally {
        self.interrupted += 1;
        self
    }
}

/// What the writers share: the server, whether the kill has been sent, how many requests are on
/// their way, and the test's write lock on the database ([`Load::locked`]).
#[derive(Clone)]
pub struct Load {
    pub base: String,
    pub killed: Arc<AtomicBool>,
    pub in_flight: Arc<AtomicUsize>,
    /// Set while the test holds the database's write lock: no write sent meanwhile can commit,
    /// so none may be answered.
    pub locked: Arc<AtomicBool>,
    /// Writes on their way (the event reader's reads left out).
    pub writes_in_flight: Arc<AtomicUsize>,
    /// Writes sent and answered while locked, by whom: each one answered without its commit.
    pub answered_while_locked: Arc<Mutex<Vec<String>>>,
    /// While true, writers send nothing new.
    paused: Arc<watch::Sender<bool>>,
    /// Writers waiting for the pause to end.
    pub parked: Arc<AtomicUsize>,
}

impl Load {
    pub fn new(base: String) -> Load {
        Load {
            base,
            killed: Arc::default(),
            in_flight: Arc::default(),
            locked: Arc::default(),
            writes_in_flight: Arc::default(),
            answered_while_locked: Arc::default(),
            paused: Arc::new(watch::Sender::new(false)),
            parked: Arc::default(),
        }
    }

    /// Holds the writers before their next request ([`Load::parked`] counts those held), or lets
    /// them go on.
    pub fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one write of the load: its answer's body, which must come with `expected`, or None
    /// when the kill cut it off, whenever it was sent (one sent just after `killed` was set may
    /// still have reached the server and committed before the signal landed). A transport error
    /// before the kill fails the test.
    async fn write(
        &self,
        request: RequestBuilder,
        expected: StatusCode,
        who: &str,
    ) -> Option<Value> {
        self.unpaused().await;
        self.write_through_pause(request, expected, who).await
    }

    /// [`Load::write`], sent also while the writers are paused: the first step of a writer whose
    /// cycle has several, so that it pauses before the next step alone.
    async fn write_through_pause(
        &self,
        request: RequestBuilder,
        expected: StatusCode,
        who: &str,
    ) -> Option<Value> {
        let while_locked = self.locked.load(Ordering::SeqCst);
        self.writes_in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = self.send(request, expected, who).await;
        if while_locked && answer.is_some() && self.locked.load(Ordering::SeqCst) {
            self.answered_while_locked
                .lock()
                .unwrap()
                .push(who.to_owned());
        }
        self.writes_in_flight.fetch_sub(1, Ordering::SeqCst);
        answer
    }

    /// [`Load::write`] for a read, which the test's lock does not hold up.
    async fn read(&self, request: RequestBuilder, who: &str) -> Option<Value> {
        self.unpaused().await;
        self.send(request, StatusCode::OK, who).await
    }

    async fn unpaused(&self) {
        let mut paused = self.paused.subscribe();
        if *paused.borrow_and_update() {
            self.parked.fetch_add(1, Ordering::SeqCst);
            let _ = paused.wait_for(|paused| !paused).await;
            self.parked.fetch_sub(1, Ordering::SeqCst);
        }
    }

    async fn send(
        &self,
        request: RequestBuilder,
        expected: StatusCode,
        who: &str,
    ) -> Option<Value> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let outcome = async {
            let response = request.send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        }
        .await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        match outcome {
            Ok((status, text)) => {
                assert_eq!(status, expected, "{who}: {text}");
                Some(serde_json::from_str(&text).unwrap())
            }
            Err(error) => {
                assert!(
                    self.killed.load(Ordering::SeqCst),
                    "{who}: transport error before the kill: {error:?}"
                );
                None
            }
        }
    }
}

fn id_of(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().expect("an id")).unwrap()
}

/// `POST /workspace` named `w{writer}-{i}`.
pub async fn create_workspaces(load: Load, token: String, writer: usize) -> Tally {
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    for i in 0.. {
        let request = client
            .post(load.url("/workspace"))
            .bearer_auth(&token)
            .json(&json!({ "name": format!("w{writer}-{i}") }));
        let who = "a workspace writer";
        let Some(body) = load.write(request, StatusCode::CREATED, who).await else {
            return tally.cut_off();
        };
        let id = id_of(&body["workspace"]["id"]);
        tally.acknowledged.push(Write::Workspace(id));
    }
    unreachable!()
}

/// A workspace `m-{i}`, then each of `members` added to it as READ. It pauses before an add
/// alone, so that the test's write lock finds it about to add a member.
pub async fn add_members(load: Load, token: String, members: Vec<Uuid>) -> Tally {
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    for i in 0.. {
        let request = client
            .post(load.url("/workspace"))
            .bearer_auth(&token)
            .json(&json!({ "name": format!("m-{i}") }));
        let who = "the member writer";
        let created = load.write_through_pause(request, StatusCode::CREATED, who);
        let Some(body) = created.await else {
            return tally.cut_off();
        };
        let workspace = id_of(&body["workspace"]["id"]);
        tally.acknowledged.push(Write::Workspace(workspace));
        for &member in &members {
            let request = client
                .post(load.url(&format!("/workspace/{workspace}/users")))
                .bearer_auth(&token)
                .json(&json!({ "userId": member, "role": "READ" }));
            if load.write(request, StatusCode::OK, who).await.is_none() {
                return tally.cut_off();
            }
            tally.acknowledged.push(Write::Member(workspace, member));
        }
    }
    unreachable!()
}

/// `PUT /settings/user` of `{"k{i}": i}`: each merges one more key into the object.
pub async fn write_settings(load: Load, token: String) -> Tally {
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    for i in 0.. {
        let key = format!("k{i}");
        let request = client
            .put(load.url("/settings/user"))
            .bearer_auth(&token)
            .json(&json!({ key.as_str(): i }));
        let who = "the settings writer";
        if load.write(request, StatusCode::OK, who).await.is_none() {
            return tally.cut_off();
        }
        tally.acknowledged.push(Write::Setting(key, i));
    }
    unreachable!()
}

/// `POST /mfa/disable`, then `/mfa/enable`, and so on, of an enabled TOTP method.
pub async fn switch_mfa(load: Load, token: String) -> Tally {
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    for i in 0.. {
        let path = if i % 2 == 0 {
            "/mfa/disable"
        } else {
            "/mfa/enable"
        };
        let request = client
            .post(load.url(path))
            .bearer_auth(&token)
            .json(&json!({ "mfaType": "GOOGLE_AUTH" }));
        if load.write(request, StatusCode::OK, path).await.is_none() {
            return tally.cut_off();
        }
        tally.acknowledged.push(Write::MfaChange);
    }
    unreachable!()
}

/// Reads the caller's unread events (the other writers keep making more) and marks each read
/// on its own.
pub async fn mark_events_read(load: Load, token: String) -> Tally {
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    loop {
        let request = client
            .post(load.url("/systemevent"))
            .bearer_auth(&token)
            .json(&json!({ "showUnread": true, "take": 100 }));
        let who = "the event reader";
        let Some(page) = load.read(request, who).await else {
            return tally.cut_off();
        };
        let ids: Vec<i64> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|event| event["id"].as_i64().expect("an event id"))
            .collect();
        if ids.is_empty() {
            // Pacing, not synchronisation: the other writers make the next events.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for id in ids {
            let request = client
                .post(load.url("/systemevent/read"))
                .bearer_auth(&token)
                .json(&json!({ "id": id }));
            if load.write(request, StatusCode::OK, who).await.is_none() {
                return tally.cut_off();
            }
            tally.acknowledged.push(Write::ReadMark(id));
        }
    }
}
