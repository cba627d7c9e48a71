//! A 2xx means the change is on disk.
//!
//! Killing the server with SIGKILL under a load of every kind of write (workspace create, member
//! add, settings write, MFA enable and disable, event read mark) loses no acknowledged write,
//! leaves no workspace without its ADMIN or its `created` event, no event of a workspace that does
//! not exist, no MFA change without its event, and the server restarts as it is; and no write is
//! answered before its commit ([`answers_wait_for_commits`]). A killed process's writes survive
//! in the operating system's page cache, so that alone would pass with `synchronous = OFF` too:
//! the settings that make a commit survive power loss are pinned separately, read from the
//! server's own connections.

mod load;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;
use workspaces::app::Application;
use workspaces::config::Config;

use self::load::{Load, Tally, Write};
use crate::support::accounts::PASSWORD;
use crate::support::app::{CapturingMailer, TestApp};
use crate::support::binary::{serve_pooled, workspaces};
use crate::support::database::fresh::FreshDatabase;
use crate::support::mfa::{steady_step, totp};

/// A server process, killed when dropped (a failing test leaves none behind).
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str) -> Server {
        let mut quiet = workspaces();
        quiet.stderr(Stdio::null());
        let unlimited = [
            "--rate-limit-per-ip",
            "0",
            "--rate-limit-per-account",
            "0",
            "--rate-limit-settings-writes-per-user",
            "0",
        ];
        // While the test holds the database's write lock, every writer's write holds a
        // connection waiting for it (PostgreSQL): room for all of them and the requests' reads.
        let (child, port) = serve_pooled(quiet, database_url, "127.0.0.1:0", 16, &unlimited);
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

/// Marks the account verified with `workspaces user verify`, as an operator would.
fn verify(database_url: &str, email: &str) {
    let verified = workspaces()
        .args(["--database-url", database_url, "user", "verify", email])
        .status()
        .unwrap();
    assert!(verified.success());
}

/// A password login through `server`: its access token.
async fn log_in(server: &Server, email: &str) -> String {
    let login = TestApp::send(
        reqwest::Client::new()
            .post(server.url("/user/login"))
            .json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    login.str("accessToken")
}

/// The people of the load, made through `server`; nothing here opens the database in the test
/// process.
struct Cast {
    owner_id: Uuid,
    owner_token: String,
    /// Two users of the organization, for the member writer to add.
    members: Vec<Uuid>,
    /// A USER of the organization with TOTP enabled, from the session that enrolled it.
    mfa_id: Uuid,
    mfa_token: String,
}

async fn cast(server: &Server, database_url: &str) -> Cast {
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
    let owner_id = Uuid::parse_str(registered.body["user"]["id"].as_str().unwrap()).unwrap();
    verify(database_url, email);
    let owner_token = log_in(server, email).await;

    let mut users = Vec::new();
    for name in ["mia", "max", "mfa"] {
        let created = TestApp::send(
            client
                .post(server.url("/organization/users"))
                .bearer_auth(&owner_token)
                .json(&json!({
                    "email": format!("{name}@example.com"),
                    "password": PASSWORD,
                    "firstName": "Mia",
                    "lastName": "Stone",
                    "orgRole": 0,
                })),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        users.push(Uuid::parse_str(created.body["data"]["id"].as_str().unwrap()).unwrap());
    }
    let mfa_id = users.pop().unwrap();
    verify(database_url, "mfa@example.com");
    let mfa_token = log_in(server, "mfa@example.com").await;
    let setup = TestApp::send(
        client
            .post(server.url("/mfa/setup"))
            .bearer_auth(&mfa_token)
            .json(&json!({ "mfaType": "GOOGLE_AUTH" })),
    )
    .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();
    let code = totp(&secret, steady_step().await);
    let enrolled = TestApp::send(
        client
            .post(server.url("/mfa/verify-setup"))
            .bearer_auth(&mfa_token)
            .json(&json!({ "mfaType": "GOOGLE_AUTH", "code": code })),
    )
    .await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    Cast {
        owner_id,
        owner_token,
        members: users,
        mfa_id,
        mfa_token,
    }
}

/// `user updated` events about the MFA user, which every change of their methods writes, as
/// `server` counts them.
async fn mfa_events(server: &Server, cast: &Cast) -> u64 {
    let query = json!({ "context": 3, "event": 1, "contextId": cast.mfa_id, "take": 1 });
    let answer = TestApp::send(
        reqwest::Client::new()
            .post(server.url("/systemevent"))
            .bearer_auth(&cast.owner_token)
            .json(&query),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["total"].as_u64().unwrap()
}

/// No write is answered before its commit. A kill lands at a moment of its own, which a write
/// answered a millisecond before its commit would mostly survive: so the test also holds every
/// write up with the database's write lock for a while in the middle of the load. Every writer's
/// write then waits, and none may be answered until the lock goes (a server that answered first
/// and committed after would lose those writes to a kill at that moment).
async fn answers_wait_for_commits(database: &FreshDatabase, load: &Load, writers: usize) {
    // Taken between two requests of every writer, so that it need not win a race for the lock
    // against a busy writer (SQLite's would keep it).
    load.pause(true);
    let started = Instant::now();
    while load.parked.load(Ordering::SeqCst) < writers {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the writers pause"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Every write of the load inserts into one of these (an event, a read mark).
    let lock = database
        .lock_writes("system_events, system_event_reads")
        .await;
    load.locked.store(true, Ordering::SeqCst);
    load.pause(false);
    let started = Instant::now();
    while load.writes_in_flight.load(Ordering::SeqCst) < writers
        && load.answered_while_locked.lock().unwrap().is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "every writer's write waits for the lock"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Not synchronisation: every writer now waits for the lock, and a correct server answers
    // none of them before it goes; this is the time a server that answers without the commit
    // has to show it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    load.locked.store(false, Ordering::SeqCst);
    let answered = load.answered_while_locked.lock().unwrap().clone();
    lock.release().await;
    assert!(
        answered.is_empty(),
        "writes answered while the database was locked, so before their commit: {answered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_write_load_loses_no_acknowledged_write_of_any_kind() {
    let database = FreshDatabase::create().await;
    let mut server = Server::start(&database.url);
    let cast = cast(&server, &database.url).await;
    let mfa_events_before = mfa_events(&server, &cast).await;

    let load = Load::new(server.base.clone());
    let token = &cast.owner_token;
    let mut writers: Vec<_> = (0..4)
        .map(|writer| {
            let task = load::create_workspaces(load.clone(), token.clone(), writer);
            ("workspace", tokio::spawn(task))
        })
        .collect();
    let members = load::add_members(load.clone(), token.clone(), cast.members.clone());
    writers.push(("member", tokio::spawn(members)));
    let settings = load::write_settings(load.clone(), token.clone());
    writers.push(("settings", tokio::spawn(settings)));
    let mfa = load::switch_mfa(load.clone(), cast.mfa_token.clone());
    writers.push(("mfa", tokio::spawn(mfa)));
    let marks = load::mark_events_read(load.clone(), token.clone());
    writers.push(("read mark", tokio::spawn(marks)));

    tokio::time::sleep(Duration::from_millis(1000)).await;
    answers_wait_for_commits(&database, &load, writers.len()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    load.killed.store(true, Ordering::SeqCst);
    // Read before the signal: once it lands, the cut-off requests leave the count at once (on a
    // loaded machine, before a read after `kill` returns).
    let in_flight_at_kill = load.in_flight.load(Ordering::SeqCst);
    server.child.kill().unwrap(); // SIGKILL, mid-flight
    server.child.wait().unwrap();
    drop(server);

    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for (kind, writer) in writers {
        let tally = tokio::time::timeout(Duration::from_secs(30), writer)
            .await
            .expect("every writer sees the server go")
            .expect("every writer saw only 2xx until the kill");
        let sum = tallies.entry(kind).or_default();
        sum.acknowledged.extend(tally.acknowledged);
        sum.interrupted += tally.interrupted;
    }
    let interrupted: usize = tallies.values().map(|tally| tally.interrupted).sum();
    let seen = format!(
        "{in_flight_at_kill} in flight at the kill, {interrupted} never answered; acknowledged: {:?}",
        tallies
            .iter()
            .map(|(kind, tally)| (kind, tally.acknowledged.len()))
            .collect::<Vec<_>>()
    );
    assert!(in_flight_at_kill > 0, "the kill struck under load: {seen}");
    assert!(interrupted > 0, "some request was cut off: {seen}");
    let acknowledged: Vec<&Write> = tallies
        .values()
        .flat_map(|tally| &tally.acknowledged)
        .collect();

    // The test process holds nothing open now (no client, no connection, no server of its own):
    // the restarted server recovers the database from what is on disk.
    let server = Server::start(&database.url);
    let client = reqwest::Client::new();
    let ready = TestApp::send(client.get(server.url("/ready"))).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    let workspaces: BTreeSet<Uuid> = acknowledged
        .iter()
        .filter_map(|write| match write {
            Write::Workspace(id) => Some(*id),
            _ => None,
        })
        .collect();
    let creators = tallies["workspace"].interrupted + tallies["member"].interrupted;
    check_workspaces(&database, &server, &cast, &workspaces, creators, &seen).await;

    let members: BTreeSet<(Uuid, Uuid)> = acknowledged
        .iter()
        .filter_map(|write| match write {
            Write::Member(workspace, user) => Some((*workspace, *user)),
            _ => None,
        })
        .collect();
    let stored_members: BTreeSet<(Uuid, Uuid)> = database
        .id_pairs("SELECT workspace_id, user_id FROM workspace_members WHERE role = 'READ'")
        .await
        .into_iter()
        .map(|(workspace, user)| (workspace, user.expect("a member")))
        .collect();
    let lost: Vec<_> = members.difference(&stored_members).collect();
    assert!(
        lost.is_empty(),
        "acknowledged members lost: {lost:?} ({seen})"
    );
    assert!(
        stored_members.len() - members.len() <= tallies["member"].interrupted,
        "members nobody was told of ({seen})"
    );

    let settings = TestApp::send(
        client
            .get(server.url("/settings/user"))
            .bearer_auth(&cast.owner_token),
    )
    .await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    let stored = settings.body["settings"].as_object().unwrap();
    let mut written = 0;
    for write in &acknowledged {
        if let Write::Setting(key, value) = write {
            assert_eq!(
                stored.get(key),
                Some(&json!(value)),
                "setting {key} ({seen})"
            );
            written += 1;
        }
    }
    assert!(
        stored.len() - written <= tallies["settings"].interrupted,
        "settings nobody was told of ({seen})"
    );

    // Each change wrote its event in its transaction: as many changes stored as events, at
    // least every acknowledged one, and the method's state is where that many switches from
    // enabled leave it.
    let changed = mfa_events(&server, &cast).await - mfa_events_before;
    let acknowledged_changes = tallies["mfa"].acknowledged.len() as u64;
    assert!(
        changed >= acknowledged_changes,
        "{changed} MFA changes stored, {acknowledged_changes} acknowledged ({seen})"
    );
    assert!(changed <= acknowledged_changes + tallies["mfa"].interrupted as u64);
    let status = TestApp::send(
        client
            .get(server.url("/mfa/status"))
            .bearer_auth(&cast.mfa_token),
    )
    .await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert_eq!(
        status.body["data"]["isEnabled"],
        json!(changed % 2 == 0),
        "after {changed} switches from enabled ({seen})"
    );

    let marked: BTreeSet<i64> = acknowledged
        .iter()
        .filter_map(|write| match write {
            Write::ReadMark(id) => Some(*id),
            _ => None,
        })
        .collect();
    let stored_marks: BTreeSet<i64> = database
        .strings("SELECT CAST(event_id AS TEXT) FROM system_event_reads")
        .await
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    let lost: Vec<_> = marked.difference(&stored_marks).collect();
    assert!(
        lost.is_empty(),
        "acknowledged read marks lost: {lost:?} ({seen})"
    );
    assert!(
        stored_marks.len() - marked.len() <= tallies["read mark"].interrupted,
        "read marks nobody was told of ({seen})"
    );
    // Last, so that a lost write is what a failing run reports first: each kind ran.
    for (kind, tally) in &tallies {
        assert!(tally.acknowledged.len() >= 2, "the {kind} load ran: {seen}");
    }
}

/// Every acknowledged workspace is stored with its owner as its one ADMIN and its one `created`
/// event; no workspace event names a workspace that is not stored; at most `interrupted`
/// workspaces are stored that nobody was told of; the listing shows them all.
async fn check_workspaces(
    database: &FreshDatabase,
    server: &Server,
    cast: &Cast,
    acknowledged: &BTreeSet<Uuid>,
    interrupted: usize,
    seen: &str,
) {
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
    let owner_only = BTreeSet::from([cast.owner_id]);
    for id in acknowledged {
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

    let listed = TestApp::send(
        reqwest::Client::new()
            .get(server.url("/workspace"))
            .bearer_auth(&cast.owner_token),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed: BTreeSet<Uuid> = listed.body["workspaces"]
        .as_array()
        .expect("a workspaces array")
        .iter()
        .map(|w| Uuid::parse_str(w["id"].as_str().unwrap()).unwrap())
        .collect();
    let stored: BTreeSet<Uuid> = admins.into_keys().collect();
    assert_eq!(&listed, &stored, "the listing shows every stored workspace");
}

/// The settings, as the server's own writes have them: the SQLite writer commits in WAL mode
/// with `synchronous = FULL` (2), so every commit is fsynced before its 2xx; PostgreSQL reports
/// a commit only once its WAL is flushed (`synchronous_commit = on`, read inside a write
/// transaction), also when the database's default says otherwise.
#[tokio::test]
async fn the_servers_own_connections_commit_durably() {
    let database = FreshDatabase::create().await;
    if !database.is_sqlite() {
        // An operator's default (or a bulk load's leftover) that would let PostgreSQL answer a
        // commit before its WAL is on disk: every new session of the database starts with it.
        database
            .set_database_default("synchronous_commit", "off")
            .await;
        let default = database
            .strings("SELECT current_setting('synchronous_commit')")
            .await;
        assert_eq!(default, ["off"], "a new session has it off");
    }
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
