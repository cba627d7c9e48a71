//! `POST /webhooks/{id}/test` (contract section 15) queues one test delivery at a time: each is
//! retried for about 3 days, and test deliveries do not wait behind the cap of pending
//! deliveries that events respect, so a second test while one is still pending is refused with
//! 409 `WEBHOOK_TEST_PENDING` and queues nothing; the pending one can be retried at once instead.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{second_instance_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};
use crate::support::at_once::{at_once, Side};
use crate::support::receiver::{create_webhook, webhook_app_with, Receiver, DELIVERY_WAIT};

fn still_pending() -> Value {
    error_body(
        "A test delivery of this webhook is still pending",
        "WEBHOOK_TEST_PENDING",
    )
}

async fn test_rows(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM webhook_deliveries WHERE type = 'webhook.test'";
    app.count(sql, &[]).await
}

async fn queue_test(app: &TestApp, by: &Account, id: &str) -> crate::support::client::Answer {
    app.post(
        &format!("/webhooks/{id}/test"),
        Some(&by.access_token),
        Value::Null,
    )
    .await
}

/// Waits until the webhook's newest delivery satisfies `done`; that delivery.
async fn wait_for_newest(
    app: &TestApp,
    by: &Account,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let log = app
            .get(
                &format!("/webhooks/{id}/deliveries"),
                Some(&by.access_token),
            )
            .await;
        let newest = &log.body["deliveries"][0];
        if done(newest) {
            return newest.clone();
        }
        assert!(
            started.elapsed() < DELIVERY_WAIT,
            "never got there: {}",
            log.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_second_test_while_the_first_is_still_retrying_is_refused_and_queues_nothing() {
    // A failed attempt waits 10 minutes for its next one: the test delivery stays pending.
    let app = webhook_app_with(|config| {
        config.webhooks.retry_delay_override = Some(Duration::from_secs(600));
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.script("a", &[500]);
    let owner = app.register_verified("ann@example.com").await;
    let (webhook, _) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    let id = webhook["id"].as_str().unwrap();
    let first = queue_test(&app, &owner, id).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let delivery_id = first.body["delivery"]["id"].as_str().unwrap().to_owned();
    receiver.wait_for("a", 1).await;
    let retrying = wait_for_newest(&app, &owner, id, |d| d["attempts"] == 1).await;
    assert_eq!(retrying["status"], "pending", "{retrying}");

    let second = queue_test(&app, &owner, id).await;

    assert_answer(&second, StatusCode::CONFLICT, &still_pending());
    assert_eq!(test_rows(&app).await, 1);
    assert_eq!(receiver.all().len(), 1);

    // The pending one retried at once and delivered, the next test is queued.
    let retried = app
        .post(
            &format!("/webhooks/{id}/deliveries/{delivery_id}/retry"),
            Some(&owner.access_token),
            Value::Null,
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    wait_for_newest(&app, &owner, id, |d| d["status"] == "delivered").await;
    let third = queue_test(&app, &owner, id).await;
    assert_eq!(third.status, StatusCode::ACCEPTED, "{}", third.body);
    assert_ne!(third.body["delivery"]["id"], json!(delivery_id));
    assert_eq!(test_rows(&app).await, 2);
    let got = receiver.wait_for("a", 3).await;
    assert_eq!(got[2].body["type"], "webhook.test");
}

#[tokio::test]
async fn a_test_of_another_webhook_is_not_held_by_a_pending_one() {
    // No dispatcher: every delivery stays pending.
    let app = webhook_app_with(|config| config.webhooks.enabled = false).await;
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    let (a, _) = create_webhook(&app, &owner, &receiver.url("a"), None).await;
    let (b, _) = create_webhook(&app, &owner, &receiver.url("b"), None).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_eq!(
        queue_test(&app, &owner, a).await.status,
        StatusCode::ACCEPTED
    );

    let other = queue_test(&app, &owner, b).await;

    assert_eq!(other.status, StatusCode::ACCEPTED, "{}", other.body);
    assert_answer(
        &queue_test(&app, &owner, a).await,
        StatusCode::CONFLICT,
        &still_pending(),
    );
    let sql = "SELECT COUNT(*) FROM webhook_deliveries WHERE type = 'webhook.test' \
               AND status = 0 AND webhook_id = $1";
    assert_eq!(app.count(sql, &[a]).await, 1);
    assert_eq!(app.count(sql, &[b]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tests_at_once_on_two_instances_queue_one_delivery() {
    let app = webhook_app_with(|config| config.webhooks.enabled = false).await;
    let second = second_instance_with(&app, |config| {
        config.webhooks = crate::support::receiver::loopback_webhooks();
        config.webhooks.enabled = false;
    })
    .await;
    let (one, two) = (Side::new(&app.address), Side::new(second));
    let receiver = Receiver::start().await;
    let owner = app.register_verified("ann@example.com").await;
    for round in 0..4 {
        let (webhook, _) =
            create_webhook(&app, &owner, &receiver.url(&format!("h{round}")), None).await;
        let path = format!("/webhooks/{}/test", webhook["id"].as_str().unwrap());
        let request = |side: &Side| side.request(Method::POST, &path, &owner.access_token, None);

        let (a, b) = at_once((&one, request(&one)), (&two, request(&two))).await;

        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::ACCEPTED, StatusCode::CONFLICT],
            "round {round}: {} / {}",
            a.body,
            b.body
        );
        let refused = if a.status == StatusCode::CONFLICT {
            &a
        } else {
            &b
        };
        assert_answer(refused, StatusCode::CONFLICT, &still_pending());
        assert_eq!(test_rows(&app).await, round + 1);
    }
}
