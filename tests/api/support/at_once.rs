//! Requests that overlap for certain: each side has its own client whose connection is already
//! open (a warm-up request went through it), every request is built before the start, and a
//! barrier releases them together, on the runtime's threads: two at once ([`at_once`]), or a
//! burst ([`all_at_once`]).
//!
//! Run the test on a multi-threaded runtime (`flavor = "multi_thread"`), or the sends take turns
//! on one thread.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Barrier;

use crate::support::app::TestApp;
use crate::support::client::Answer;

/// One side of a race: a server (by its base URL) and a client of its own.
pub struct Side {
    base: String,
    client: reqwest::Client,
}

impl Side {
    /// `base` like `http://127.0.0.1:PORT`.
    pub fn new(base: impl Into<String>) -> Side {
        Side {
            base: base.into(),
            // One connection per side, so the warm one is the one the race uses.
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap(),
        }
    }

    /// A request as the test client sends it; `body: None` sends no body and no Content-Type.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Request {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.build().unwrap()
    }

    /// Opens the connection (or checks the open one still works) before a race.
    async fn warm(&self) {
        let health = self
            .client
            .get(format!("{}/health", self.base))
            .send()
            .await
            .expect("warm-up request");
        assert_eq!(health.status(), StatusCode::OK);
        // Read to the end, so the connection goes back to the pool.
        health.bytes().await.unwrap();
    }
}

/// Warms both sides, then sends `a` through `first` and `b` through `second` at the same moment.
pub async fn at_once(
    (first, a): (&Side, reqwest::Request),
    (second, b): (&Side, reqwest::Request),
) -> (Answer, Answer) {
    let mut answers = all_at_once(vec![(first, a), (second, b)]).await;
    let b = answers.pop().unwrap();
    let a = answers.pop().unwrap();
    (a, b)
}

/// [`at_once`] for a burst: warms every side, then sends each request through its side at the
/// same moment; the answers in the order of the requests. Give each request a side of its own,
/// or those that share one open a new connection when the burst starts.
pub async fn all_at_once(requests: Vec<(&Side, reqwest::Request)>) -> Vec<Answer> {
    for (side, _) in &requests {
        side.warm().await;
    }
    let start = Arc::new(Barrier::new(requests.len()));
    let sent: Vec<_> = requests
        .into_iter()
        .map(|(side, request)| {
            let (client, start) = (side.client.clone(), start.clone());
            tokio::spawn(async move {
                let method = request.method().clone();
                start.wait().await;
                let response = client.execute(request).await.expect("request sent");
                TestApp::read(&method, response).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(sent.len());
    for answer in sent {
        answers.push(answer.await.unwrap());
    }
    answers
}
