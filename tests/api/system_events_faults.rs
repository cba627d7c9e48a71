//! The documented 500 of every `/systemevent` route (contract section 7): a failure in the
//! database answers "Failed to fetch system events" or "Failed to update system events", changes
//! nothing (read marks included), and once the fault is gone the same request succeeds.
//!
//! Marks meet a trigger on `system_event_reads` for the row they add or remove (so the event is
//! unread before each marking and read before each unmarking: a mark that changes no row fires no
//! trigger); the query meets that table's `event_id` renamed away, which its unread flag reads.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::app::spawn_app;
use crate::support::assertions::error_body;
use crate::support::faults::{answers_its_500_then_works, Call, Fault};

fn failed(message: &str) -> Value {
    error_body(message, "INTERNAL_ERROR")
}

#[tokio::test]
async fn every_system_event_route_answers_its_500_when_the_database_fails() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let query = json!({ "skip": 0, "take": 20 });

    let listed = answers_its_500_then_works(
        &app,
        Fault::Read("system_event_reads", "event_id"),
        &Call::new(Method::POST, "/systemevent", Some(&owner), query),
        &failed("Failed to fetch system events"),
        StatusCode::OK,
    )
    .await;
    let event = listed.body["events"][0]["id"].as_i64().unwrap();
    let add = Fault::Write("system_event_reads", "INSERT");
    let remove = Fault::Write("system_event_reads", "DELETE");
    let ids = json!({ "ids": [event] });
    let by_path = format!("/systemevent/{event}/read");

    for (fault, call) in [
        (
            add,
            Call::new(Method::POST, "/systemevent/read", Some(&owner), ids.clone()),
        ),
        (
            remove,
            Call::new(Method::DELETE, "/systemevent/read", Some(&owner), ids),
        ),
        (add, Call::bare(Method::POST, &by_path, &owner)),
        (remove, Call::bare(Method::DELETE, &by_path, &owner)),
    ] {
        let done = answers_its_500_then_works(
            &app,
            fault,
            &call,
            &failed("Failed to update system events"),
            StatusCode::OK,
        )
        .await;
        assert_eq!(done.body, json!({ "success": true }), "{}", call.describe());
        let marked = "SELECT COUNT(*) FROM system_event_reads WHERE user_id = $1";
        let expected = i64::from(call.method == Method::POST);
        let count = app.count(marked, &[&owner.user_id]).await;
        assert_eq!(count, expected, "{}", call.describe());
    }
}
