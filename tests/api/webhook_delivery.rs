//! Delivering webhooks (contract section 15): what a receiver gets (Standard Webhooks headers
//! and signatures, the event as the audit trail shows it), in which order, how failures are
//! retried and held, what disables a webhook, secret rotation, test deliveries and retries,
//! and the addresses refused at delivery. Every request is checked by the test's receiver
//! with its own HMAC (`support::receiver`).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{spawn_app_with, TestApp};
use crate::support::assertions::assert_answer;
use crate::support::clock::now_ms;
use crate::support::faults::{install_fault, remove_fault};
use crate::support::receiver::{
    create_webhook, loopback_webhooks, webhook_app, Received, Receiver, DELIVERY_WAIT,
};

/// The audit trail's JSON of event `id`, as `by` reads it, without `showUnread`: what a
/// delivery's `data` must be.
async fn event_json(app: &TestApp, by: &Account, id: i64) -> Value {
    let answer = app
        .post("/systemevent", Some(&by.access_token), json!({"take": 100}))
        .await;
    let mut event = answer.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no event {id} in {}", answer.body))
        .clone();
    event.as_object_mut().unwrap().remove("showUnread");
    event
}

async fn newest_event_id(app: &TestApp) -> i64 {
    app.count("SELECT MAX(id) FROM system_events", &[]).await
}

async fn deliveries(app: &TestApp, by: &Account, webhook: &Value) -> Value {
    let id = webhook["id"].as_str().unwrap();
    let answer = app
        .get(
            &format!("/webhooks/{id}/deliveries?take=100"),
            Some(&by.access_token),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

/// Waits until the webhook's deliveries satisfy `done`.
async fn wait_for_log(
    app: &TestApp,
    by: &Account,
    webhook: &Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let log = deliveries(app, by, webhook).await;
        if done(&log) {
            return log;
        }
        assert!(
            started.elapsed() < DELIVERY_WAIT,
            "the delivery log never got there: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(received: &[Received]) -> Vec<i64> {
    received.iter().map(|r| r.id.parse().unwrap()).collect()
}

#[tokio::test]
async fn one_change_is_one_signed_delivery_of_its_event() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    // Made first: the second one's creation is an event, which "a" (every event) would get.
    let (_, other) =
        create_webhook(&app, &owner, &receiver.url("b"), Some(json!(["user.*"]))).await;
    receiver.expect_secrets("b", &[&other]);
    let (webhook, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);

    let created = app.create_workspace(&owner.access_token, "Alpha").await;
    assert_eq!(created.status, StatusCode::CREATED);
    let event_id = newest_event_id(&app).await;

    let got = receiver.wait_for("a", 1).await;
    let r = &got[0];
    assert_eq!(r.id, event_id.to_string());
    assert!(r.all_signatures_valid(), "{r:?}");
    assert_eq!(r.signatures.len(), 1);
    assert!(
        (r.timestamp - now_ms() / 1000).abs() <= 5,
        "{}",
        r.timestamp
    );
    assert_eq!(r.content_type, "application/json");
    let event = event_json(&app, &owner, event_id).await;
    assert_eq!(
        r.body,
        json!({"type": "workspace.created", "timestamp": event["timestamp"], "data": event})
    );
    assert_eq!(event["context"], "workspace");
    // Nothing more: not the webhooks' own creation, and nothing for the user.* webhook.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 1, "{:?}", receiver.all());
    let log = deliveries(&app, &owner, &webhook).await;
    let delivery = &log["deliveries"][0];
    assert_eq!(
        log,
        json!({"success": true, "total": 1, "skip": 0, "take": 100, "deliveries": [{
            "id": delivery["id"], "eventId": event_id, "type": "workspace.created",
            "status": "delivered", "attempts": 1, "lastAttemptAt": delivery["lastAttemptAt"],
            "nextAttemptAt": null, "responseStatus": 200, "responseBody": "",
            "durationMs": delivery["durationMs"],
        }]})
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM webhook_attempts WHERE response_status = 200",
            &[]
        )
        .await,
        1
    );
    // The user.* webhook gets a user change.
    let path = format!("/user/{}", owner.user_id);
    let renamed = app
        .request(
            Method::PUT,
            &path,
            Some(&owner.access_token),
            Some(json!({"name": "Anna"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let got = receiver.wait_for("b", 1).await;
    assert_eq!(got[0].body["type"], "user.updated");
    assert!(got[0].all_signatures_valid());
}

#[tokio::test]
async fn a_change_that_rolls_back_is_never_delivered() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (_, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);

    install_fault(&app, "workspace_members", "INSERT").await;
    let refused = app.create_workspace(&owner.access_token, "Doomed").await;
    assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
    remove_fault(&app, "workspace_members").await;
    let created = app.create_workspace(&owner.access_token, "Kept").await;
    assert_eq!(created.status, StatusCode::CREATED);

    let got = receiver.wait_for("a", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_all = receiver.of("a");
    assert_eq!(got_all.len(), 1, "{got_all:?}");
    assert!(got[0].body["data"]["jsonData"]
        .as_str()
        .unwrap()
        .contains("Kept"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries", &[])
            .await,
        1
    );
}

/// The order events are delivered in: id order on SQLite; (transaction, id) on PostgreSQL,
/// which is id order for changes that do not overlap (`store::webhook_dispatch`).
async fn event_order(app: &TestApp, org_id: &str) -> Vec<i64> {
    let order = if app.is_sqlite() { "id" } else { "xid, id" };
    let sql = format!(
        "SELECT CAST(id AS TEXT) FROM system_events WHERE org_id = $1 AND context = 0 ORDER BY {order}"
    );
    app.strings(&sql, &[org_id])
        .await
        .iter()
        .map(|id| id.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn order_is_kept_per_webhook_across_200_changes() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let events = Some(json!(["workspace.*"]));
    let (_, a) = create_webhook(&app, &owner, &receiver.url("a"), events.clone()).await;
    let (_, b) = create_webhook(&app, &owner, &receiver.url("b"), events).await;
    receiver.expect_secrets("a", &[&a]);
    receiver.expect_secrets("b", &[&b]);
    receiver.delay(Duration::from_millis(1));

    // Four at a time: changes that overlap, and PostgreSQL's ids drawn out of commit order.
    let names: Vec<String> = (0..200).map(|n| format!("W{n:03}")).collect();
    for chunk in names.chunks(4) {
        let creates = chunk
            .iter()
            .map(|name| app.create_workspace(&owner.access_token, name));
        for created in futures::future::join_all(creates).await {
            assert_eq!(created.status, StatusCode::CREATED);
        }
    }

    let expected = event_order(&app, &owner.org_id).await;
    assert_eq!(expected.len(), 200);
    for hook in ["a", "b"] {
        let got = receiver.wait_for(hook, 200).await;
        assert!(got.iter().all(Received::all_signatures_valid));
        assert_eq!(ids(&got), expected, "{hook}");
    }
    assert_eq!(receiver.overlaps(), (false, false));
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_same_message_once_more_and_later_ones_wait() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);
    receiver.script("a", &[500, 503, 404]);

    app.create_workspace(&owner.access_token, "First").await;
    let first = newest_event_id(&app).await;
    app.create_workspace(&owner.access_token, "Second").await;
    let second = newest_event_id(&app).await;

    let got = receiver.wait_for("a", 5).await;
    assert_eq!(ids(&got), [first, first, first, first, second]);
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 503, 404, 200, 200]
    );
    assert!(got.iter().all(Received::all_signatures_valid));
    let log = wait_for_log(&app, &owner, &webhook, |log| {
        log["total"] == 2
            && log["deliveries"][0]["status"] == "delivered"
            && log["deliveries"][1]["status"] == "delivered"
    })
    .await;
    let head = &log["deliveries"][1];
    assert_eq!(
        (
            head["eventId"].as_i64(),
            head["status"].as_str(),
            head["attempts"].as_i64()
        ),
        (Some(first), Some("delivered"), Some(4))
    );
    let statuses = app
        .strings(
            "SELECT CAST(response_status AS TEXT) FROM webhook_attempts ORDER BY id",
            &[],
        )
        .await;
    assert_eq!(statuses, ["500", "503", "404", "200", "200"]);
}

#[tokio::test]
async fn a_delivery_is_given_up_after_nine_attempts_and_the_next_one_goes() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);
    receiver.script("a", &[500; 9]);

    app.create_workspace(&owner.access_token, "First").await;
    app.create_workspace(&owner.access_token, "Second").await;

    let got = receiver.wait_for("a", 10).await;
    assert_eq!(got[9].answered, 200);
    assert_ne!(got[9].id, got[8].id);
    let log = wait_for_log(&app, &owner, &webhook, |log| {
        log["deliveries"][0]["status"] == "delivered"
    })
    .await;
    let failed = &log["deliveries"][1];
    assert_eq!(
        (
            failed["status"].as_str(),
            failed["attempts"].as_i64(),
            failed["responseStatus"].as_i64()
        ),
        (Some("failed"), Some(9), Some(500))
    );
    assert_eq!(failed["nextAttemptAt"], Value::Null);
    let failed_only = app
        .get(
            &format!(
                "/webhooks/{}/deliveries?status=failed",
                webhook["id"].as_str().unwrap()
            ),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(failed_only.body["total"], 1);
}

async fn webhook_state(app: &TestApp, by: &Account, webhook: &Value) -> Value {
    let id = webhook["id"].as_str().unwrap();
    app.get(&format!("/webhooks/{id}"), Some(&by.access_token))
        .await
        .body["webhook"]
        .clone()
}

#[tokio::test]
async fn a_410_disables_the_webhook_and_enabling_it_resumes_from_the_present() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, secret) = create_webhook(
        &app,
        &owner,
        &receiver.url("a"),
        Some(json!(["workspace.*"])),
    )
    .await;
    receiver.expect_secrets("a", &[&secret]);
    receiver.script("a", &[410]);

    app.create_workspace(&owner.access_token, "First").await;
    receiver.wait_for("a", 1).await;
    let log = wait_for_log(&app, &owner, &webhook, |log| {
        log["deliveries"][0]["status"] == "failed"
    })
    .await;
    assert_eq!(log["deliveries"][0]["responseStatus"], 410);
    let state = webhook_state(&app, &owner, &webhook).await;
    assert_eq!(
        (state["enabled"].clone(), state["disabledReason"].clone()),
        (json!(false), json!("The receiver answered 410 Gone"))
    );

    app.create_workspace(&owner.access_token, "While off").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.of("a").len(), 1);

    let path = format!("/webhooks/{}", webhook["id"].as_str().unwrap());
    let on = app
        .request(
            Method::PUT,
            &path,
            Some(&owner.access_token),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        (
            on.body["webhook"]["enabled"].clone(),
            on.body["webhook"]["disabledReason"].clone()
        ),
        (json!(true), Value::Null)
    );
    app.create_workspace(&owner.access_token, "After").await;
    let got = receiver.wait_for("a", 2).await;
    assert!(got[1].body["data"]["jsonData"]
        .as_str()
        .unwrap()
        .contains("After"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.of("a").len(), 2);
}

#[tokio::test]
async fn three_days_of_failures_disable_the_webhook() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);
    receiver.script("a", &[500]);
    let three_days_ago = now_ms() - 3 * 24 * 3_600_000 - 1000;
    let sql = format!("UPDATE webhooks SET failing_since = {three_days_ago}");
    app.execute(&sql, &[]).await;

    app.create_workspace(&owner.access_token, "First").await;
    receiver.wait_for("a", 1).await;
    let started = Instant::now();
    while webhook_state(&app, &owner, &webhook).await["enabled"] == true {
        assert!(started.elapsed() < DELIVERY_WAIT);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        webhook_state(&app, &owner, &webhook).await["disabledReason"],
        "Deliveries failed for 3 days"
    );
    // The delivery stays pending: enabled again, it goes.
    let path = format!("/webhooks/{}", webhook["id"].as_str().unwrap());
    app.request(
        Method::PUT,
        &path,
        Some(&owner.access_token),
        Some(json!({"enabled": true})),
    )
    .await;
    let got = receiver.wait_for("a", 2).await;
    assert_eq!(
        (got[1].id.clone(), got[1].answered),
        (got[0].id.clone(), 200)
    );
}

#[tokio::test]
async fn during_a_rotation_deliveries_carry_both_signatures_then_only_the_new_one() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, old) = create_webhook(
        &app,
        &owner,
        &receiver.url("a"),
        Some(json!(["workspace.*"])),
    )
    .await;
    let id = webhook["id"].as_str().unwrap();
    let rotated = app
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            Some(&owner.access_token),
            Value::Null,
        )
        .await;
    let new = rotated.str("secret");
    receiver.expect_secrets("a", &[&new, &old]);

    app.create_workspace(&owner.access_token, "During").await;
    let got = receiver.wait_for("a", 1).await;
    assert_eq!(got[0].verified_with, [Some(0), Some(1)], "{:?}", got[0]);

    // The overlap ends. A run signs with the keys it read when it claimed the webhook (each
    // checked against the clock as it signs), so the clock is moved in the database only once
    // that run has given its lease back.
    let released = "SELECT COUNT(*) FROM webhooks WHERE lease_owner IS NULL";
    for _ in 0..100 {
        if app.count(released, &[]).await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.count(released, &[]).await,
        1,
        "the run gave its lease back"
    );
    app.execute("UPDATE webhooks SET previous_expires_at = 1", &[])
        .await;
    app.create_workspace(&owner.access_token, "After").await;
    let got = receiver.wait_for("a", 2).await;
    assert_eq!(got[1].verified_with, [Some(0)], "{:?}", got[1]);
}

#[tokio::test]
async fn a_test_delivery_and_a_manual_retry_reach_the_receiver() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, secret) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.expect_secrets("a", &[&secret]);
    let id = webhook["id"].as_str().unwrap();

    let queued = app
        .post(
            &format!("/webhooks/{id}/test"),
            Some(&owner.access_token),
            Value::Null,
        )
        .await;
    let delivery = &queued.body["delivery"];
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();
    assert_answer(
        &queued,
        StatusCode::ACCEPTED,
        &json!({"success": true, "delivery": {
            "id": delivery_id, "eventId": null, "type": "webhook.test", "status": "pending",
            "attempts": 0, "lastAttemptAt": null, "nextAttemptAt": delivery["nextAttemptAt"],
            "responseStatus": null, "responseBody": null, "durationMs": null,
        }}),
    );
    let got = receiver.wait_for("a", 1).await;
    assert_eq!(got[0].id, delivery_id);
    assert!(got[0].all_signatures_valid());
    assert_eq!(got[0].body["type"], "webhook.test");
    assert_eq!(
        got[0].body["data"],
        json!({"webhookId": id, "deliveryId": delivery_id})
    );

    wait_for_log(&app, &owner, &webhook, |log| {
        log["deliveries"][0]["status"] == "delivered"
    })
    .await;
    let retried = app
        .post(
            &format!("/webhooks/{id}/deliveries/{delivery_id}/retry"),
            Some(&owner.access_token),
            Value::Null,
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    assert_eq!(retried.body["delivery"]["status"], "pending");
    let got = receiver.wait_for("a", 2).await;
    assert_eq!(got[1].id, delivery_id);
    let log = wait_for_log(&app, &owner, &webhook, |log| {
        log["deliveries"][0]["attempts"] == 2
    })
    .await;
    assert_eq!(log["deliveries"][0]["status"], "delivered");
}

#[tokio::test]
async fn addresses_refused_at_delivery_are_never_connected_to() {
    // Private addresses refused, plain HTTP allowed (so the only refusal is the address).
    let app = spawn_app_with(|config| {
        config.webhooks = loopback_webhooks();
        config.webhooks.safety.allow_private = false;
    })
    .await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, "http://93.184.215.14/hook/a", None).await;
    let id = webhook["id"].as_str().unwrap();
    // The name now resolves to 127.0.0.1 (as a DNS rebinding would make it), then an IP literal.
    for url in [receiver.url_on("localhost", "a"), receiver.url("a")] {
        let sql = format!("UPDATE webhooks SET url = '{url}'");
        app.execute(&sql, &[]).await;
        let before = app
            .count("SELECT COUNT(*) FROM webhook_attempts", &[])
            .await;
        app.post(
            &format!("/webhooks/{id}/test"),
            Some(&owner.access_token),
            Value::Null,
        )
        .await;
        let started = Instant::now();
        while app
            .count("SELECT COUNT(*) FROM webhook_attempts", &[])
            .await
            == before
        {
            assert!(started.elapsed() < DELIVERY_WAIT);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let errors = app
            .strings("SELECT COALESCE(error, '') FROM webhook_attempts WHERE response_status IS NULL ORDER BY id", &[])
            .await;
        assert_eq!(errors.len() as i64, before + 1, "{errors:?}");
        app.execute("DELETE FROM webhook_deliveries", &[]).await;
    }
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());
}

#[tokio::test]
async fn a_change_answers_as_fast_with_a_slow_receiver() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_secs(3));
    let owner = app.register_verified("ann@example.com").await;
    for n in 0..20 {
        create_webhook(&app, &owner, &receiver.url(&format!("h{n}")), None).await;
    }
    let started = Instant::now();
    let created = app.create_workspace(&owner.access_token, "Quick").await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn deliveries_are_counted_in_the_metrics() {
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.script("a", &[500]);
    app.create_workspace(&owner.access_token, "Counted").await;
    receiver.wait_for("a", 2).await;
    wait_for_log(&app, &owner, &webhook, |log| {
        log["deliveries"][0]["status"] == "delivered"
    })
    .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("workspaces_webhook_deliveries_total{outcome=\"success\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("workspaces_webhook_deliveries_total{outcome=\"failure\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("workspaces_webhook_lag_seconds"),
        "{metrics}"
    );
}

/// PostgreSQL: an event whose transaction is still open when later ones commit is neither
/// skipped nor overtaken (the cursor's reason to be (transaction, id), `store::webhook_dispatch`).
#[tokio::test]
async fn an_event_committed_late_is_delivered_before_the_ones_that_waited_for_it() {
    let app = webhook_app().await;
    if app.is_sqlite() {
        return; // One writer: events commit in id order; nothing can commit late.
    }
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (_, secret) = create_webhook(
        &app,
        &owner,
        &receiver.url("a"),
        Some(json!(["workspace.*"])),
    )
    .await;
    receiver.expect_secrets("a", &[&secret]);
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let mut slow = pool.begin().await.unwrap();
    let late: i64 = sqlx::query_scalar(
        "INSERT INTO system_events (org_id, actor_id, context, event, context_id, created_at) \
         VALUES ($1::uuid, $2::uuid, 0, 1, $1::uuid, $3) RETURNING id",
    )
    .bind(&owner.org_id)
    .bind(&owner.user_id)
    .bind(now_ms())
    .fetch_one(&mut *slow)
    .await
    .unwrap();
    app.create_workspace(&owner.access_token, "After").await;
    let after = newest_event_id(&app).await;
    assert!(after > late);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        receiver.all().is_empty(),
        "delivered while an earlier event was uncommitted"
    );
    slow.commit().await.unwrap();
    let got = receiver.wait_for("a", 2).await;
    assert_eq!(ids(&got), [late, after]);
}

/// PostgreSQL: the case a cursor over ids with "transaction older than every running one" would
/// get wrong. A transaction that took its xid first draws the higher event id and commits first,
/// while the younger one, holding the lower id, is still open: both are delivered, in
/// transaction order, the lower id not stepped over.
#[tokio::test]
async fn an_older_transaction_with_the_higher_event_id_does_not_make_the_lower_one_skipped() {
    let app = webhook_app().await;
    if app.is_sqlite() {
        return; // One writer: events commit in id order.
    }
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (_, secret) = create_webhook(
        &app,
        &owner,
        &receiver.url("a"),
        Some(json!(["workspace.*"])),
    )
    .await;
    receiver.expect_secrets("a", &[&secret]);
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let insert =
        "INSERT INTO system_events (org_id, actor_id, context, event, context_id, created_at) \
                  VALUES ($1::uuid, $2::uuid, 0, 1, $1::uuid, $3) RETURNING id";
    let mut older = pool.begin().await.unwrap();
    let mut younger = pool.begin().await.unwrap();
    let xid = "SELECT pg_current_xact_id()::text";
    let _: String = sqlx::query_scalar(xid)
        .fetch_one(&mut *older)
        .await
        .unwrap();
    let _: String = sqlx::query_scalar(xid)
        .fetch_one(&mut *younger)
        .await
        .unwrap();
    let event = |tx| {
        sqlx::query_scalar::<_, i64>(insert)
            .bind(owner.org_id.clone())
            .bind(owner.user_id.clone())
            .bind(now_ms())
            .fetch_one(tx)
    };
    let lower: i64 = event(&mut *younger).await.unwrap();
    let higher: i64 = event(&mut *older).await.unwrap();
    assert!(lower < higher);
    older.commit().await.unwrap();
    receiver.wait_for("a", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    younger.commit().await.unwrap();
    let got = receiver.wait_for("a", 2).await;
    assert_eq!(ids(&got), [higher, lower]);
}

#[tokio::test]
async fn the_clean_up_deletes_attempts_and_finished_deliveries_after_30_days() {
    use workspaces::store::{connect, CleanupPolicy, StoreOptions};
    let app = webhook_app().await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    receiver.script("a", &[500]);
    app.create_workspace(&owner.access_token, "Old").await;
    app.create_workspace(&owner.access_token, "Recent").await;
    receiver.wait_for("a", 3).await;
    wait_for_log(&app, &owner, &webhook, |log| {
        log["deliveries"][0]["status"] == "delivered"
            && log["deliveries"][1]["status"] == "delivered"
    })
    .await;
    // The first delivery (two attempts) is 31 days old; a pending one that old stays.
    let old = now_ms() - 31 * 24 * 3_600_000;
    let first = app
        .strings(
            "SELECT CAST(event_id AS TEXT) FROM webhook_deliveries ORDER BY seq LIMIT 1",
            &[],
        )
        .await;
    let first = &first[0];
    app.execute(&format!("UPDATE webhook_deliveries SET last_attempt_at = {old}, created_at = {old} WHERE event_id = {first}"), &[]).await;
    app.execute(&format!("UPDATE webhook_attempts SET attempted_at = {old} WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE event_id = {first})"), &[]).await;
    app.post(
        &format!("/webhooks/{}/test", webhook["id"].as_str().unwrap()),
        Some(&owner.access_token),
        Value::Null,
    )
    .await;
    app.execute(&format!("UPDATE webhook_deliveries SET created_at = {old}, next_attempt_at = {} WHERE event_id IS NULL", now_ms() + 3_600_000), &[]).await;

    let store = connect(&app.database_url, &StoreOptions::default())
        .await
        .unwrap();
    let policy = CleanupPolicy {
        grace_ms: 0,
        unverified_account_ttl_ms: None,
        batch: 1,
        pause: Duration::ZERO,
    };
    let report = store.clean_up(&policy, now_ms()).await.unwrap();

    assert_eq!((report.webhook_attempts, report.webhook_deliveries), (2, 1));
    let old_attempts = format!("SELECT COUNT(*) FROM webhook_attempts WHERE attempted_at <= {old}");
    assert_eq!(app.count(&old_attempts, &[]).await, 0);
    // The recent delivery's attempt, and the test delivery (recently attempted, or pending).
    let recent = "SELECT COUNT(*) FROM webhook_attempts a JOIN webhook_deliveries d \
                  ON d.id = a.delivery_id WHERE d.event_id IS NOT NULL";
    assert_eq!(app.count(recent, &[]).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_deliveries", &[])
            .await,
        2
    );
}
