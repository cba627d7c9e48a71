//! The assertions every test file shares, and the error bodies they expect.

use std::fmt::Debug;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::client::Answer;

/// Asserts an answer's status (a `StatusCode` or its number) and its whole body.
#[track_caller]
pub fn assert_answer<S>(answer: &Answer, status: S, body: &Value)
where
    StatusCode: PartialEq<S>,
    S: Debug,
{
    assert!(
        answer.status == status,
        "status {} where {status:?} was expected: {}",
        answer.status,
        answer.body
    );
    assert_eq!(&answer.body, body, "the body of a {} answer", answer.status);
}

/// Asserts an error answer whole: its status and the envelope with `message` and `code`.
#[track_caller]
pub fn assert_error(answer: &Answer, status: u16, message: &str, code: &str) {
    assert_answer(answer, status, &error_body(message, code));
}

/// A 401 in our envelope with `WWW-Authenticate: Bearer`.
#[track_caller]
pub fn assert_unauthorized(answer: &Answer) {
    assert_answer(answer, StatusCode::UNAUTHORIZED, &unauthorized_body());
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

/// The error envelope a test expects, whole.
pub fn error_body(message: &str, code: &str) -> Value {
    json!({ "success": false, "message": message, "error_code": code })
}

pub fn unauthorized_body() -> Value {
    error_body("Unauthorized", "UNAUTHORIZED")
}

/// What every write answers a caller whose e-mail is not verified (contract section 4).
pub fn not_validated_body() -> Value {
    error_body(
        "User not found or account is not validated",
        "USER_NOT_VALIDATED",
    )
}

/// The body of `GET /health`.
pub fn healthy() -> Value {
    json!({ "success": true, "status": "ok" })
}
