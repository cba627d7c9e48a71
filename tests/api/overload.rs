//! A server under too much load: beyond the concurrency cap a request gets 503 at once, and one
//! running past the request timeout gets 408.

use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::SinkExt;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;

use crate::support::app::{spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body, healthy};
use crate::support::client::Answer;

/// Starts a login whose body never finishes while `sender` lives: it holds a request slot.
async fn stalled_login(
    app: &TestApp,
) -> (
    mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    tokio::task::JoinHandle<Answer>,
) {
    let (mut sender, receiver) = mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    sender.send(Ok(b"{\"email\":".to_vec())).await.unwrap();
    let request = app
        .client
        .post(app.url("/user/login"))
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(receiver));
    let pending = tokio::spawn(TestApp::send(request));
    (sender, pending)
}

#[tokio::test]
async fn beyond_the_concurrency_cap_requests_get_503_at_once() {
    let app = spawn_app_with(|config| config.max_concurrent_requests = 1).await;
    let (sender, pending) = stalled_login(&app).await;

    // Once the server has taken the stalled login in (no fixed wait: the machine may be slow),
    // every other request is refused until it ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let answer = app.get("/health", None).await;
        if answer.status != StatusCode::OK || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let busy = error_body("Server is busy, try again shortly", "OVERLOADED");
    assert_answer(&answer, StatusCode::SERVICE_UNAVAILABLE, &busy);
    assert_eq!(answer.headers[RETRY_AFTER], "1");

    drop(sender);
    let stalled = pending.await.unwrap();
    let cut_short = error_body("Request body is not valid JSON", "INVALID_JSON");
    assert_answer(&stalled, StatusCode::BAD_REQUEST, &cut_short);
    // The slot is free again.
    assert_answer(&app.get("/health", None).await, StatusCode::OK, &healthy());
}

#[tokio::test]
async fn a_request_running_past_the_timeout_answers_408() {
    let app = spawn_app_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    let (_sender, pending) = stalled_login(&app).await;

    let answer = pending.await.unwrap();

    let timed_out = error_body("Request timed out", "REQUEST_TIMEOUT");
    assert_answer(&answer, StatusCode::REQUEST_TIMEOUT, &timed_out);
}
