//! Concurrent partial updates of one settings object (contract section 10): 20 PUTs of
//! different keys, released together on warm connections and split over two server instances
//! on one database, all survive, each with its own event.
//!
//! What makes them take turns differs by backend, and so does what this can catch. On
//! PostgreSQL the instances have pools of their own, and the row lock (`FOR UPDATE`) of the
//! read-modify-write does it: without it, updates are lost. On SQLite there is no row lock to
//! remove (the statement is the same without `FOR UPDATE`): each instance has one writer, whose
//! transaction takes the file's write lock before it reads (`BEGIN IMMEDIATE`). So here the
//! race fails when that order breaks: a read made before the write (on a pooled connection, or
//! in a deferred transaction that another instance's commit then makes stale: `SQLITE_BUSY`, a
//! 500) loses updates or answers 500.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::support::accounts::Account;
use crate::support::accounts::Verification::Verified;
use crate::support::app::{second_instance, spawn_app};
use crate::support::assertions::assert_answer;
use crate::support::at_once::{all_at_once, Side};
use crate::support::client::Answer;
use crate::support::settings::{read, settings_body, Scope, SCOPES};

const WRITES: usize = 20;

/// `WRITES` PUTs of `{"keyNN": NN}` on `scope`, alternately through each base URL and by each
/// writer, each on a warm connection of its own, all released at once; every answer.
async fn concurrent_puts(scope: &Scope, bases: [&str; 2], writers: [&Account; 2]) -> Vec<Answer> {
    let sides: Vec<Side> = (0..WRITES).map(|n| Side::new(bases[n % 2])).collect();
    let puts = sides
        .iter()
        .enumerate()
        .map(|(n, side)| {
            let body = json!({ format!("key{n:02}"): n });
            let token = &writers[n / 2 % 2].access_token;
            (
                side,
                side.request(Method::PUT, scope.path, token, Some(body)),
            )
        })
        .collect();
    all_at_once(puts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_puts_of_different_keys_over_two_instances_all_survive() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let administrator = app
        .member(&owner, "administrator@example.com", 254, Verified)
        .await;
    let other_session = app.log_in(&owner).await;
    let second = second_instance(&app).await;
    for scope in SCOPES {
        // User settings: one user's object from two sessions; the organization's: two writers.
        let writers = if scope.path == "/settings/user" {
            [&owner, &other_session]
        } else {
            [&owner, &administrator]
        };
        let mark = app.event_mark().await;

        let answers = concurrent_puts(scope, [&app.address, &second], writers).await;

        let done = format!(
            "{} settings partially updated successfully",
            if scope.path == "/settings/user" {
                "User"
            } else {
                "Organization"
            }
        );
        for answer in &answers {
            assert_answer(
                answer,
                StatusCode::OK,
                &json!({ "success": true, "message": done }),
            );
        }
        let all: Map<String, Value> = (0..WRITES)
            .map(|n| (format!("key{n:02}"), json!(n)))
            .collect();
        let answer = read(&app, scope, &owner).await;
        assert_answer(&answer, StatusCode::OK, &settings_body(Value::Object(all)));
        // One event per write, each naming its own key.
        let events = app.events_since(&mark).await;
        let named: BTreeSet<String> = events.iter().map(|e| e["jsonData"].to_string()).collect();
        let expected: BTreeSet<String> = (0..WRITES)
            .map(|n| json!({ "keys": [format!("key{n:02}")] }).to_string())
            .collect();
        assert_eq!((events.len(), named), (WRITES, expected));
    }
}
