//! A 2xx means the change is on disk.
//!
//! Killing the server with SIGKILL under write load loses no acknowledged workspace, leaves none
//! without its ADMIN or its `created` event, leaves no event of a workspace that does not exist,
//! and the server restarts as it is. A killed process's writes survive in the
//! operating system's page cache, so that alone would pass with `synchronous = OFF` too: the
//! settings that make a commit survive power loss are pinned separately, read from the server's
//! own connections.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use workspaces::app::Application;
use workspaces::config::Config;

use crate::support::accounts::PASSWORD;
use crate::support::app::{CapturingMailer, TestApp};
use crate::support::binary::{serve, workspaces};
use crate::support::database::fresh::FreshDatabase;

/// A server process, killed when dropped (a failing test leaves none behind).
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str) -> Server {
        let mut quiet = workspaces();
        quiet.stderr(Stdio::null());
        let unlimited = ["--rate-limit-per-ip", "0", "--rate-limit-per-account", "0"];
        let (child, port) = serve(quiet, database_url, &unlimited);
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers the owner through `server`, verifies them with `workspaces user verify` and logs
/// them in: (user id, access token). Nothing here opens the database in the test process.
async fn verified_owner(server: &Server, database_url: &str) -> (Uuid, String) {
    let client = reqwest::Client::new();
    let email = "owner@example.com";
    let registered = TestApp::send(
        client
            .post(server.url("/user/register"))
            .json(&TestApp::registration_body(email)),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let user_id = Uuid::parse_str(registered.body["user"]["id"].as_str().unwrap()).unwrap();
    let verified = workspaces()
        .args(["--database-url", database_url, "user", "verify", email])
        .status()
        .unwrap();
    assert!(verified.success());
    let login = TestApp::send(
        client
            .post(server.url("/user/login"))
            .json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    (user_id, login.str("accessToken"))
}

/// What one writer saw.
#[derive(Default)]
struct Tally {
    /// Ids of the workspaces whose 201 arrived.
    acknowledged: Vec<Uuid>,
    /// Requests that never got an answer (the writer's last one).
    interrupted: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_write_load_loses_no_acknowledged_workspace() {
    let database = FreshDatabase::create().await;
    let mut server = Server::start(&database.url);
    let (owner_id, token) = verified_owner(&server, &database.url).await;

    let killed = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let url = server.url("/workspace");
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (url, token) = (url.clone(), token.clone());
            let (killed, in_flight) = (killed.clone(), in_flight.clone());
            tokio::spawn(async move {
                // A client (so a connection) per writer, dropped with the task.
                let client = reqwest::Client::new();
                let mut tally = Tally::default();
                for i in 0.. {
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let outcome = async {
                        let response = client
                            .post(&url)
                            .bearer_auth(&token)
                            .json(&json!({ "name": format!("w{writer}-{i}") }))
                            .send()
                            .await?;
                        let status = response.status();
                        Ok::<_, reqwest::Error>((status, response.text().await?))
                    }
                    .await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    match outcome {
                        Ok((StatusCode::CREATED, text)) => {
                            let body: Value = serde_json::from_str(&text).unwrap();
                            let id = body["workspace"]["id"].as_str().unwrap();
                            tally.acknowledged.push(Uuid::parse_str(id).unwrap());
                        }
                        Ok((status, text)) => panic!("writer {writer} got {status} {text}"),
                        Err(error) => {
                            assert!(
                                killed.load(Ordering::SeqCst),
                                "writer {writer}: transport error before the kill: {error:?}"
                            );
                            // Cut off by the kill, whenever it was sent: one sent just
                            // after `killed` was set may still have reached the server and
                            // committed before the signal landed.
                            tally.interrupted += 1;
                            return tally;
                        }
                    }
                }
                unreachable!()
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    killed.store(true, Ordering::SeqCst);
    // Read before the signal: once it lands, the cut-off requests leave the count at once (on a
    // loaded machine, before a read after `kill` returns).
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    server.child.kill().unwrap(); // SIGKILL, mid-flight
    server.child.wait().unwrap();
    drop(server);

    let mut acknowledged = Vec::new();
    let mut interrupted = 0;
    for writer in writers {
        let tally = tokio::time::timeout(Duration::from_secs(30), writer)
            .await
            .expect("every writer sees the server go")
            .expect("every writer saw only 201s until the kill");
        acknowledged.extend(tally.acknowledged);
        interrupted += tally.interrupted;
    }
    let seen = format!(
        "{} acknowledged, {in_flight_at_kill} in flight at the kill, {interrupted} never answered",
        acknowledged.len()
    );
    assert!(acknowledged.len() > 10, "the load ran: {seen}");
    assert!(in_flight_at_kill > 0, "the kill struck under load: {seen}");
    assert!(interrupted > 0, "some request was cut off: {seen}");
    let acknowledged: BTreeSet<Uuid> = acknowledged.into_iter().collect();

    // The test process holds nothing open now (no client, no connection, no server of its own):
    // the restarted server recovers the database from what is on disk.
    let server = Server::start(&database.url);
    let client = reqwest::Client::new();
    let ready = TestApp::send(client.get(server.url("/ready"))).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    let rows = database
        .id_pairs(
            "SELECT w.id, m.user_id FROM workspaces w LEFT JOIN workspace_members m \
             ON m.workspace_id = w.id AND m.role = 'ADMIN'",
        )
        .await;
    let mut admins: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for (workspace, admin) in rows {
        admins.entry(workspace).or_default().extend(admin);
    }
    let owner_only = BTreeSet::from([owner_id]);
    for id in &acknowledged {
        let stored = admins.get(id);
        assert!(
            stored.is_some(),
            "acknowledged workspace {id} was lost ({seen})"
        );
        assert_eq!(stored, Some(&owner_only), "workspace {id} has its ADMIN");
    }
    for (id, its_admins) in &admins {
        assert_eq!(its_admins, &owner_only, "workspace {id} has its ADMIN");
    }
    // Every stored workspace (so every acknowledged one) has exactly one `created` event...
    let created_events = database
        .id_pairs(
            "SELECT w.id, e.context_id FROM workspaces w LEFT JOIN system_events e \
             ON e.context_id = w.id AND e.workspace_id = w.id AND e.context = 0 AND e.event = 0",
        )
        .await;
    let mut events_of: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (workspace, event) in created_events {
        events_of.entry(workspace).or_default().extend(event);
    }
    for (id, events) in &events_of {
        assert_eq!(
            events,
            &[*id],
            "workspace {id} has its one created event ({seen})"
        );
    }
    // ...and no workspace event names a workspace that is not stored.
    let pointed = database
        .id_pairs(
            "SELECT e.context_id, w.id FROM system_events e LEFT JOIN workspaces w \
             ON w.id = e.context_id WHERE e.context = 0",
        )
        .await;
    assert_eq!(
        pointed.len(),
        events_of.len(),
        "one event per workspace ({seen})"
    );
    for (event, workspace) in pointed {
        assert_eq!(
            workspace,
            Some(event),
            "event of workspace {event} ({seen})"
        );
    }
    // Only a request cut off by the kill can have committed without its 201 arriving.
    let unacknowledged = admins.len() - acknowledged.len();
    assert!(
        unacknowledged <= interrupted,
        "{unacknowledged} stored workspaces nobody was told of ({seen})"
    );

    let listed = TestApp::send(client.get(server.url("/workspace")).bearer_auth(&token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed: BTreeSet<Uuid> = listed.body["workspaces"]
        .as_array()
        .expect("a workspaces array")
        .iter()
        .map(|w| Uuid::parse_str(w["id"].as_str().unwrap()).unwrap())
        .collect();
    let stored: BTreeSet<Uuid> = admins.into_keys().collect();
    assert_eq!(listed, stored, "the listing shows every stored workspace");
}

/// The settings, as the server's own connections have them: the SQLite writer commits in WAL
/// mode with `synchronous = FULL` (2), so every commit is fsynced before its 2xx; PostgreSQL
/// reports a commit only once its WAL is flushed (`synchronous_commit = on`).
#[tokio::test]
async fn the_servers_own_connections_commit_durably() {
    let database = FreshDatabase::create().await;
    let app = Application::build_with_mailer(
        Config::for_database(database.url.clone()),
        Arc::new(CapturingMailer::default()),
    )
    .await
    .expect("server builds");

    let settings = app
        .store()
        .durability_settings()
        .await
        .expect("the store reads its settings");

    let expected: &[(&str, &str)] = if database.is_sqlite() {
        &[("journal_mode", "wal"), ("synchronous", "2")]
    } else {
        &[("synchronous_commit", "on")]
    };
    for (name, value) in expected {
        let setting = ((*name).to_owned(), (*value).to_owned());
        assert!(
            settings.contains(&setting),
            "{name} = {value}: {settings:?}"
        );
    }
}
