//! Contract section 1: every answer is JSON in our envelope, including the framework's own
//! rejections.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, error_body};

#[tokio::test]
async fn an_unknown_route_answers_404_in_the_envelope() {
    let app = spawn_app().await;
    let answer = app.get("/no/such/route", None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body, error_body("Route not found", "NOT_FOUND"));
}

#[tokio::test]
async fn a_wrong_method_answers_405_in_the_envelope_with_allow() {
    let app = spawn_app().await;
    let answer = app.request(Method::PATCH, "/user/login", None, None).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        answer.body,
        error_body("Method not allowed", "METHOD_NOT_ALLOWED")
    );
    assert_eq!(answer.headers["allow"], "POST");
}

#[tokio::test]
async fn malformed_json_answers_400() {
    let app = spawn_app().await;
    let request = app
        .client
        .post(app.url("/user/login"))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"email\": ");
    let answer = TestApp::send(request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        error_body("Request body is not valid JSON", "INVALID_JSON")
    );
}

#[tokio::test]
async fn a_body_that_is_not_an_object_answers_400() {
    let app = spawn_app().await;
    let answer = app.post("/user/login", None, json!(["a", "b"])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        error_body("Request body must be a JSON object", "INVALID_BODY")
    );
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_named() {
    let app = spawn_app().await;
    let answer = app
        .post("/user/login", None, json!({ "email": 5, "password": "x" }))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        error_body("Invalid value for field 'email'", "INVALID_FIELD")
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_answers_415() {
    let app = spawn_app().await;
    let request = app
        .client
        .post(app.url("/user/login"))
        .header(CONTENT_TYPE, "text/plain")
        .body("{\"email\":\"a@example.com\",\"password\":\"Secret123\"}");
    let answer = TestApp::send(request).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        answer.body,
        error_body(
            "Content-Type must be application/json",
            "UNSUPPORTED_MEDIA_TYPE"
        )
    );
}

#[tokio::test]
async fn a_json_content_type_with_parameters_is_accepted() {
    let app = spawn_app().await;
    let request = app
        .client
        .post(app.url("/user/login"))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body("{\"email\":\"nobody@example.com\",\"password\":\"Secret123\"}");
    let answer = TestApp::send(request).await;
    // Parsed, then refused as an unknown user.
    let unknown = error_body("User not found", "USER_NOT_FOUND");
    assert_answer(&answer, StatusCode::UNAUTHORIZED, &unknown);
}

#[tokio::test]
async fn a_body_over_64_kib_answers_413_and_registers_nothing() {
    let app = spawn_app().await;
    let mut body = TestApp::registration_body("big@example.com");
    body["padding"] = json!("x".repeat(70 * 1024));
    let answer = app.post("/user/register", None, body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        answer.body,
        error_body("Request body is too large", "PAYLOAD_TOO_LARGE")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);
}
