//! Webhooks across processes (contract section 15): several instances on one database share the
//! deliveries under leases, none attempting one twice at once and none lost; a server killed
//! mid-delivery loses nothing (it resumes from the database once the dead one's lease expires).

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::accounts::PASSWORD;
use crate::support::app::{second_instance_with, TestApp};
use crate::support::binary::{serve, workspaces};
use crate::support::database::fresh::FreshDatabase;
use crate::support::receiver::{
    create_webhook, loopback_webhooks, webhook_app, Received, Receiver,
};

fn ids(received: &[Received]) -> Vec<i64> {
    received.iter().map(|r| r.id.parse().unwrap()).collect()
}

/// Three instances on one database, five webhooks, changes made through all three: every event
/// reaches every webhook exactly once, in order, and no webhook ever has two requests in flight.
/// (On SQLite too: three processes' dispatchers would share one file the same way.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_deliver_every_event_once_and_never_one_attempt_twice_at_once() {
    let app = webhook_app().await;
    let second = second_instance_with(&app, |c| c.webhooks = loopback_webhooks()).await;
    let third = second_instance_with(&app, |c| c.webhooks = loopback_webhooks()).await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(5));
    let owner = app.register_verified("ann@example.com").await;
    let hooks = ["a", "b", "c", "d", "e"];
    for hook in hooks {
        let (_, secret) = create_webhook(
            &app,
            &owner,
            &receiver.url(hook),
            Some(json!(["workspace.*"])),
        )
        .await;
        receiver.expect_secrets(hook, &[&secret]);
    }

    let bases = [app.address.clone(), second, third];
    for n in 0..60 {
        let base = &bases[n % 3];
        let created = TestApp::send(
            app.client
                .post(format!("{base}/workspace"))
                .bearer_auth(&owner.access_token)
                .json(&json!({"name": format!("W{n:02}")})),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }

    let order = if app.is_sqlite() { "id" } else { "xid, id" };
    let sql =
        format!("SELECT CAST(id AS TEXT) FROM system_events WHERE context = 0 ORDER BY {order}");
    let expected: Vec<i64> = app
        .strings(&sql, &[])
        .await
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    assert_eq!(expected.len(), 60);
    for hook in hooks {
        let got = receiver.wait_for(hook, 60).await;
        assert!(got.iter().all(Received::all_signatures_valid));
        assert_eq!(ids(&got), expected, "{hook}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 300, "a delivery was sent twice");
    assert_eq!(
        receiver.overlaps(),
        (false, false),
        "two requests of a webhook at once"
    );
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str) -> Server {
        let mut quiet = workspaces();
        quiet.stderr(Stdio::null());
        let flags = [
            "--rate-limit-per-ip",
            "0",
            "--rate-limit-per-account",
            "0",
            "--webhooks-allow-private",
            "--webhooks-allow-http",
            "--webhooks-poll-ms",
            "50",
        ];
        let (child, port) = serve(quiet, database_url, &flags);
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_delivery_delivers_every_event_after_its_restart() {
    let database = FreshDatabase::create().await;
    let server = Server::start(&database.url);
    let client = reqwest::Client::new();
    let email = "owner@example.com";
    let registered = TestApp::send(
        client
            .post(format!("{}/user/register", server.base))
            .json(&TestApp::registration_body(email)),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let verified = workspaces()
        .args(["--database-url", &database.url, "user", "verify", email])
        .status()
        .unwrap();
    assert!(verified.success());
    let login = TestApp::send(
        client
            .post(format!("{}/user/login", server.base))
            .json(&json!({"email": email, "password": PASSWORD})),
    )
    .await;
    let token = login.str("accessToken");
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(100));
    let created = TestApp::send(
        client
            .post(format!("{}/webhooks", server.base))
            .bearer_auth(&token)
            .json(&json!({"url": receiver.url("a"), "events": ["workspace.created"]})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    receiver.expect_secrets("a", &[&created.str("secret")]);
    let mut workspaces_made = Vec::new();
    for n in 0..30 {
        let made = TestApp::send(
            client
                .post(format!("{}/workspace", server.base))
                .bearer_auth(&token)
                .json(&json!({"name": format!("W{n:02}")})),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED);
        workspaces_made.push(made.body["workspace"]["id"].as_str().unwrap().to_owned());
    }
    receiver
        .wait_until("a few deliveries", Duration::from_secs(20), |r| {
            r.len() >= 3
        })
        .await;

    drop(server); // SIGKILL, mid-delivery: the receiver holds each request 100 ms.
    let delivered_before = receiver.all().len();
    assert!(
        delivered_before < 30,
        "all delivered before the kill: {delivered_before}"
    );
    let _restarted = Server::start(&database.url);

    // The dead process's lease (30 s) expires, then the new one resumes.
    receiver
        .wait_until("every workspace's event", Duration::from_secs(60), |r| {
            r.iter()
                .map(|r| r.id.clone())
                .collect::<BTreeSet<_>>()
                .len()
                >= 30
        })
        .await;
    let got = receiver.all();
    assert!(got.iter().all(Received::all_signatures_valid));
    // In order, at least once: the first arrival of each message, in event order.
    let mut first_seen = Vec::new();
    for id in ids(&got) {
        if !first_seen.contains(&id) {
            first_seen.push(id);
        }
    }
    let mut sorted = first_seen.clone();
    sorted.sort_unstable();
    assert_eq!(first_seen, sorted);
    let named: BTreeSet<String> = got
        .iter()
        .map(|r| r.body["data"]["contextId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(named, workspaces_made.into_iter().collect::<BTreeSet<_>>());
}

/// An instance stopped gracefully in the middle of a delivery hands its lease back: another
/// instance sends the interrupted delivery again at once, not when the lease would have run out
/// (30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_graceful_stop_hands_the_leases_back_and_another_instance_resumes_at_once() {
    use std::sync::Arc;
    use workspaces::app::Application;

    // The first instance only answers requests; the one stopped below delivers.
    let app = crate::support::receiver::webhook_app_with(|c| c.webhooks.enabled = false).await;
    let mut config = crate::support::app::test_config(&app.database_url);
    config.webhooks = loopback_webhooks();
    let mailer = Arc::new(crate::support::app::CapturingMailer::default());
    let stopping = Application::build_with_mailer(config, mailer)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(stopping.run_until(async {
        let _ = stopped.await;
    }));

    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_secs(20));
    let owner = app.register_verified("ann@example.com").await;
    let (_, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);
    app.create_workspace(&owner.access_token, "Interrupted")
        .await;

    // The delivery is under way: the stopping instance holds the webhook's lease.
    let leased = "SELECT COUNT(*) FROM webhooks WHERE lease_owner IS NOT NULL";
    for _ in 0..100 {
        if app.count(leased, &[]).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count(leased, &[]).await, 1, "the delivery started");
    tokio::time::sleep(Duration::from_millis(300)).await;

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(app.count(leased, &[]).await, 0, "the lease was handed back");

    // Another instance delivers it within seconds.
    receiver.delay(Duration::ZERO);
    second_instance_with(&app, |c| c.webhooks = loopback_webhooks()).await;
    receiver
        .wait_until("the interrupted delivery", Duration::from_secs(10), |r| {
            r.iter().any(|r| r.hook == "a" && r.answered == 200)
        })
        .await;
}
