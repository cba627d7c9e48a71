//! The documented 500 of every `/sessions` and `/devices` route (contract section 9): a failure in
//! the database answers the route's text in its envelope, changes nothing, and leaves the other
//! routes working; once the fault is gone the same request succeeds.
//!
//! Writes meet a trigger on the table they change; reads meet a column of theirs renamed away
//! (the session check that every route runs reads neither `devices` nor these columns, which the
//! control request of `answers_its_500_then_works` shows).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::faults::{answers_its_500_then_works, Call, Fault};
use crate::support::signed_in::{session_from, text_error, SAFARI_IPHONE};

fn failed(message: &str) -> serde_json::Value {
    text_error(message, "INTERNAL_ERROR")
}

/// A signed-in owner, and a second session of theirs from another device.
async fn owner_with_two_sessions(app: &TestApp) -> (Account, String) {
    let owner = app.register_verified("owner@example.com").await;
    let (other, _) = session_from(app, &owner, SAFARI_IPHONE).await;
    (owner, other)
}

#[tokio::test]
async fn every_sessions_route_answers_its_500_when_the_database_fails() {
    let app = spawn_app().await;
    let (owner, other) = owner_with_two_sessions(&app).await;
    let sessions_update = Fault::Write("sessions", "UPDATE");

    answers_its_500_then_works(
        &app,
        Fault::Read("sessions", "ip_address"),
        &Call::bare(Method::GET, "/sessions", &owner),
        &failed("Failed to fetch sessions"),
        StatusCode::OK,
    )
    .await;
    answers_its_500_then_works(
        &app,
        sessions_update,
        &Call::bare(
            Method::POST,
            format!("/sessions/{}/heartbeat", owner.token_id),
            &owner,
        ),
        &failed("Failed to update session"),
        StatusCode::OK,
    )
    .await;
    answers_its_500_then_works(
        &app,
        sessions_update,
        &Call::bare(Method::POST, format!("/sessions/{other}/revoke"), &owner),
        &failed("Failed to revoke session"),
        StatusCode::OK,
    )
    .await;
    // Last: it ends the caller's own session too, so the control request cannot follow it.
    let revoked_all = answers_its_500_then_works(
        &app,
        sessions_update,
        &Call::bare(Method::POST, "/sessions/revoke-all", &owner),
        &failed("Failed to revoke sessions"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        revoked_all.body,
        json!({ "success": true, "message": "All sessions revoked successfully" })
    );
}

#[tokio::test]
async fn every_devices_route_answers_its_500_when_the_database_fails() {
    let app = spawn_app().await;
    let (owner, _) = owner_with_two_sessions(&app).await;
    let listed = app.get("/devices", Some(&owner.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let device = listed.body["devices"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/devices/{device}");
    let read_fault = Fault::Read("devices", "browser");

    answers_its_500_then_works(
        &app,
        read_fault,
        &Call::bare(Method::GET, "/devices", &owner),
        &failed("Failed to fetch devices"),
        StatusCode::OK,
    )
    .await;
    let details = answers_its_500_then_works(
        &app,
        read_fault,
        &Call::bare(Method::GET, &path, &owner),
        &failed("Failed to fetch device"),
        StatusCode::OK,
    )
    .await;
    let fingerprint = details.body["device"]["deviceFingerprint"].clone();
    answers_its_500_then_works(
        &app,
        Fault::Write("devices", "UPDATE"),
        &Call::new(
            Method::POST,
            "/devices/trust",
            Some(&owner),
            json!({ "fingerprint": fingerprint }),
        ),
        &failed("Failed to trust device"),
        StatusCode::OK,
    )
    .await;
    answers_its_500_then_works(
        &app,
        Fault::Write("devices", "UPDATE"),
        &Call::bare(Method::POST, format!("{path}/untrust"), &owner),
        &failed("Failed to untrust device"),
        StatusCode::OK,
    )
    .await;
    answers_its_500_then_works(
        &app,
        Fault::Write("devices", "DELETE"),
        &Call::bare(Method::DELETE, &path, &owner),
        &failed("Failed to remove device"),
        StatusCode::OK,
    )
    .await;
}
