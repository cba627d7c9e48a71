//! `POST /user/pre-verify-email` (contract section 13): a verification or invitation token is
//! checked without being used, so that a page can ask for a password first when the account has
//! none.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use workspaces::config::{Config, RateLimitConfig};

use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_error, error_body};
use crate::support::client::Answer;
use crate::support::faults::{answers_its_500_then_works, Call, Fault};
use crate::support::org_cast::{account_of, create_user_with, data_id, delete_user};

const INVALID: &str = "Invalid or expired token";

async fn pre_verify(app: &TestApp, token: &str) -> Answer {
    app.post("/user/pre-verify-email", None, json!({ "token": token }))
        .await
}

fn valid(has_password: bool) -> Value {
    json!({
        "success": true, "message": "Token is valid", "authMethod": "LOCAL",
        "hasPassword": has_password,
    })
}

/// Whether the token's verification row is still unused, and its user still unverified.
async fn untouched(app: &TestApp, user_id: &str) -> bool {
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE user_id = $1 AND used_at IS NULL";
    app.count(sql, &[user_id]).await == 1 && !app.is_validated(user_id).await
}

#[tokio::test]
async fn a_live_token_is_valid_and_stays_usable() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");

    for _ in 0..2 {
        assert_answer(&pre_verify(&app, &token).await, 200, &valid(true));
    }

    assert!(untouched(&app, &ann.user_id).await);
    let verified = app
        .post("/user/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert!(app.is_validated(&ann.user_id).await);
}

#[tokio::test]
async fn an_invited_user_without_a_password_has_none() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({ "email": "ivy@example.com", "firstName": "Ivy", "lastName": "Roe" });
    let invited = create_user_with(&app, &owner, body).await;
    let id = data_id(&invited);
    let token = app.mailer.last_verification_token("ivy@example.com");

    assert_answer(&pre_verify(&app, &token).await, 200, &valid(false));

    assert!(untouched(&app, &id).await);
}

#[tokio::test]
async fn unknown_used_expired_and_deleted_users_tokens_answer_400() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let invalid = |answer: &Answer| assert_error(answer, 400, INVALID, "INVALID_TOKEN");

    invalid(&pre_verify(&app, "not-a-token-we-sent").await);

    // Used: verify-email spent it.
    let ann = app.register("ann@example.com").await;
    let used = app.mailer.last_verification_token("ann@example.com");
    app.verify("ann@example.com").await;
    invalid(&pre_verify(&app, &used).await);

    // Expired.
    let bob = app.register("bob@example.com").await;
    let expired = app.mailer.last_verification_token("bob@example.com");
    let sql = "UPDATE email_verifications SET expires_at = 1 WHERE user_id = $1";
    assert_eq!(app.execute(sql, &[&bob.user_id]).await, 1);
    invalid(&pre_verify(&app, &expired).await);

    // The invited user was deleted before using it.
    let body = json!({ "email": "ivy@example.com", "firstName": "Ivy", "lastName": "Roe" });
    let id = data_id(&create_user_with(&app, &owner, body).await);
    let ivy = account_of(&owner, "ivy@example.com", &id, ("Ivy", "Roe"));
    let token = app.mailer.last_verification_token("ivy@example.com");
    assert_answer(&pre_verify(&app, &token).await, 200, &valid(false));
    delete_user(&app, &owner, &ivy).await;
    invalid(&pre_verify(&app, &token).await);

    assert!(app.is_validated(&ann.user_id).await);
    assert!(!app.is_validated(&bob.user_id).await);
}

#[tokio::test]
async fn a_missing_or_blank_token_answers_400_missing_field() {
    let app = spawn_app().await;
    for body in [Some(json!({})), Some(json!({ "token": "  " })), None] {
        let answer = app
            .request(Method::POST, "/user/pre-verify-email", None, body)
            .await;

        assert_error(
            &answer,
            400,
            "Missing required field: token",
            "MISSING_FIELD",
        );
    }
}

/// Checking a token counts against the same per-token limit as using it: the two routes do not
/// give a guesser twice the tries.
#[tokio::test]
async fn pre_verifying_shares_verify_emails_limit() {
    let limits = RateLimitConfig {
        per_account_per_minute: 2,
        ..RateLimitConfig::OFF
    };
    let app = spawn_app_with(move |config: &mut Config| config.rate_limits = limits).await;
    let ann = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");

    assert_answer(&pre_verify(&app, &token).await, 200, &valid(true));
    assert_answer(&pre_verify(&app, &token).await, 200, &valid(true));
    let limited = error_body("Too many requests, try again later", "RATE_LIMITED");
    assert_answer(&pre_verify(&app, &token).await, 429, &limited);
    let verify = app
        .post("/user/verify-email", None, json!({ "token": token }))
        .await;
    assert_answer(&verify, 429, &limited);

    assert!(untouched(&app, &ann.user_id).await);
}

/// A database that cannot be read answers the documented 500, then the token is still good.
#[tokio::test]
async fn a_failed_read_answers_500_and_the_token_still_works_after() {
    let app = spawn_app().await;
    let ann = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    let call = Call::new(
        Method::POST,
        "/user/pre-verify-email",
        None,
        json!({ "token": token }),
    );
    let failed = error_body("Failed to check the token", "INTERNAL_ERROR");

    let answer = answers_its_500_then_works(
        &app,
        Fault::Read("email_verifications", "used_at"),
        &call,
        &failed,
        StatusCode::OK,
    )
    .await;

    assert_answer(&answer, 200, &valid(true));
    assert!(untouched(&app, &ann.user_id).await);
}
