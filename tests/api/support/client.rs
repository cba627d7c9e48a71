//! Talking to the server under test: requests, and [`Answer`]s read and checked against the
//! OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::app::TestApp;
use crate::support::schema;

/// An answer: status, headers and the body parsed as JSON (every answer must be JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.body))
            .to_owned()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request; `body: None` sends no body and no Content-Type, as the client does.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::send(request).await
    }

    /// Sends a request built by hand (any server, any headers) and reads its answer.
    pub async fn send(request: reqwest::RequestBuilder) -> Answer {
        let (client, request) = request.build_split();
        let request = request.expect("the request builds");
        let method = request.method().clone();
        let response = client.execute(request).await.expect("request sent");
        Self::read(&method, response).await
    }

    /// Reads the answer to a `method` request: it must be JSON, and what the OpenAPI document
    /// says that route answers with that status (`schema::check`).
    pub async fn read(method: &Method, response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let path = response.url().path().to_owned();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{status}: content-type {content_type:?}"
        );
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
        schema::check(method, &path, status, &body);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::DELETE, path, token, None).await
    }

    pub async fn create_workspace(&self, token: &str, name: &str) -> Answer {
        self.post("/workspace", Some(token), json!({ "name": name }))
            .await
    }
}
