//! POST /user/register, /user/verify-email and /user/resend-verification/{id} (contract
//! section 4): every answer whole, and what each one writes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{error_body, spawn_app, Account, TestApp, PASSWORD};
use crate::sessions::{assert_uuid, token_fields};

const WEAK: &str = "Password must be at least 8 characters long and contain an upper-case letter, \
                    a lower-case letter and a digit";

fn invalid_token_body() -> Value {
    error_body("Invalid or expired verification token", "INVALID_TOKEN")
}

/// Rows in every table a registration writes to, and e-mails sent.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "organizations",
        "users",
        "sessions",
        "refresh_tokens",
        "email_verifications",
    ] {
        counts.push(
            app.count(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await,
        );
    }
    counts.push(app.mailer.sent.lock().unwrap().len() as i64);
    counts
}

async fn is_validated(app: &TestApp, account: &Account) -> bool {
    app.count(
        "SELECT COUNT(*) FROM users WHERE id = $1 AND validated",
        &[&account.user_id],
    )
    .await
        == 1
}

async fn verify_with(app: &TestApp, body: Value) -> crate::helpers::Answer {
    app.post("/user/verify-email", None, body).await
}

#[tokio::test]
async fn registering_creates_an_unvalidated_owner_and_answers_201_with_tokens() {
    let app = spawn_app().await;
    let mut body = TestApp::registration_body("ann@example.com");
    body["companyWebsite"] = json!("https://acme.example");
    body["deviceInfo"] = json!({ "os": "linux" });

    let answer = app.post("/user/register", None, body).await;

    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let user_id = assert_uuid(&answer.body["user"]["id"]);
    let org_id = assert_uuid(&answer.body["user"]["orgId"]);
    let session_id = assert_uuid(&answer.body["tokenId"]);
    let verification_id = assert_uuid(&answer.body["verificationTokenId"]);
    let tokens = token_fields(
        &answer.body,
        &session_id,
        &user_id,
        "ann@example.com",
        &org_id,
    );
    let mut expected = json!({
        "success": true,
        "tokenId": session_id,
        "verificationTokenId": verification_id,
        "user": { "id": user_id, "email": "ann@example.com", "name": "Ann", "orgId": org_id, "orgRole": 255 },
    });
    expected.as_object_mut().unwrap().extend(tokens);
    assert_eq!(answer.body, expected);

    let sql = "SELECT name FROM organizations WHERE id = $1 AND is_business AND website = 'https://acme.example'";
    assert_eq!(app.strings(sql, &[&org_id]).await, vec!["Acme"]);
    let sql = "SELECT email FROM users WHERE id = $1 AND org_id = $2 AND org_role = 255 AND NOT validated \
               AND first_name = 'Ann' AND last_name = 'Lee' AND deleted_at IS NULL";
    assert_eq!(
        app.strings(sql, &[&user_id, &org_id]).await,
        vec!["ann@example.com"]
    );
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&session_id, &user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE id = $1 AND user_id = $2 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&verification_id, &user_id]).await, 1);
    assert_eq!(footprint(&app).await, vec![1, 1, 1, 1, 1, 1]);
}

#[tokio::test]
async fn registering_stores_an_argon2id_hash_and_never_the_password() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let hashes = app
        .strings(
            "SELECT password_hash FROM users WHERE id = $1",
            &[&account.user_id],
        )
        .await;

    assert_eq!(hashes.len(), 1);
    assert!(hashes[0].starts_with("$argon2id$"), "{}", hashes[0]);
    assert!(!hashes[0].contains(PASSWORD));
}

#[tokio::test]
async fn registering_sends_a_verification_email_whose_token_is_stored_only_hashed() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;

    let mails = app.mailer.to("ann@example.com");

    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Verify your e-mail address");
    let token = app.mailer.last_verification_token("ann@example.com");
    assert_eq!(token.len(), 43, "{token}");
    let hex = if app.database_url.starts_with("sqlite") {
        "SELECT lower(hex(token_hash)) FROM email_verifications"
    } else {
        "SELECT encode(token_hash, 'hex') FROM email_verifications"
    };
    let digest: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(app.strings(hex, &[]).await, vec![digest]);
}

#[tokio::test]
async fn registering_without_a_required_field_answers_400_missing_field_and_writes_nothing() {
    let app = spawn_app().await;
    for field in ["email", "password", "firstName", "lastName"] {
        for value in [None, Some(json!("")), Some(json!("   "))] {
            let mut body = TestApp::registration_body("ann@example.com");
            match value {
                Some(value) => body[field] = value,
                None => drop(body.as_object_mut().unwrap().remove(field)),
            }

            let answer = app.post("/user/register", None, body).await;

            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{field}");
            let message = format!("Missing required field: {field}");
            assert_eq!(answer.body, error_body(&message, "MISSING_FIELD"));
        }
    }
    let answer = app
        .request(Method::POST, "/user/register", None, None)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        error_body("Missing required field: email", "MISSING_FIELD")
    );
    assert_eq!(footprint(&app).await, vec![0; 6]);
}

#[tokio::test]
async fn registering_with_an_invalid_email_answers_400_invalid_email_and_writes_nothing() {
    let app = spawn_app().await;
    for email in [
        "ann",
        "ann@",
        "@example.com",
        "ann@localhost",
        "a b@example.com",
        "ann@@example.com",
    ] {
        let answer = app
            .post("/user/register", None, TestApp::registration_body(email))
            .await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{email}");
        assert_eq!(
            answer.body,
            error_body("Invalid email address", "INVALID_EMAIL")
        );
    }
    assert_eq!(footprint(&app).await, vec![0; 6]);
}

#[tokio::test]
async fn registering_with_a_weak_or_over_long_password_answers_400_weak_password() {
    let app = spawn_app().await;
    let too_long = format!("Aa1{}", "x".repeat(126));
    let cases = [
        ("Sec123", WEAK),
        ("secret123", WEAK),
        ("SECRET123", WEAK),
        ("SecretSecret", WEAK),
        (
            too_long.as_str(),
            "Password must be at most 128 characters long",
        ),
    ];
    for (password, message) in cases {
        let mut body = TestApp::registration_body("ann@example.com");
        body["password"] = json!(password);

        let answer = app.post("/user/register", None, body).await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{password}");
        assert_eq!(answer.body, error_body(message, "WEAK_PASSWORD"));
    }
    assert_eq!(footprint(&app).await, vec![0; 6]);

    let mut body = TestApp::registration_body("ann@example.com");
    body["password"] = json!(&too_long[..128]);
    assert_eq!(
        app.post("/user/register", None, body).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn registering_a_taken_email_answers_400_even_when_only_the_case_differs() {
    let app = spawn_app().await;
    app.register("Ann@Example.com").await;
    let before = footprint(&app).await;

    for email in [
        "Ann@Example.com",
        "ann@example.com",
        "ANN@EXAMPLE.COM",
        " ann@example.com ",
    ] {
        let answer = app
            .post("/user/register", None, TestApp::registration_body(email))
            .await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{email}");
        assert_eq!(
            answer.body,
            error_body(
                "An account with this email already exists",
                "EMAIL_ALREADY_EXISTS"
            )
        );
    }
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn registering_ignores_a_stale_or_garbage_authorization_header() {
    let app = spawn_app().await;
    let stale = app.register("old@example.com").await;
    app.post(
        "/user/logout",
        None,
        json!({ "refreshToken": stale.refresh_token }),
    )
    .await;

    for (i, token) in [stale.access_token.as_str(), "garbage"]
        .into_iter()
        .enumerate()
    {
        let email = format!("new{i}@example.com");
        let body = TestApp::registration_body(&email);

        let answer = app
            .request(Method::POST, "/user/register", Some(token), Some(body))
            .await;

        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        assert_eq!(answer.body["user"]["email"], email.as_str());
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 3);
}

#[tokio::test]
async fn verifying_an_email_validates_the_user() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");

    let answer = verify_with(&app, json!({ "token": token })).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({ "success": true, "message": "Email verified successfully" })
    );
    assert!(is_validated(&app, &account).await);
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE id = $1 AND used_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&account.verification_token_id]).await, 1);
}

#[tokio::test]
async fn a_verification_token_works_only_once() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    assert_eq!(
        verify_with(&app, json!({ "token": token })).await.status,
        StatusCode::OK
    );

    let again = verify_with(&app, json!({ "token": token })).await;

    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body, invalid_token_body());
}

#[tokio::test]
async fn verifying_with_an_unknown_token_answers_400_invalid_token() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = verify_with(&app, json!({ "token": "not-a-token-we-sent" })).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body, invalid_token_body());
    assert!(!is_validated(&app, &account).await);
}

#[tokio::test]
async fn verifying_with_an_expired_token_answers_400_invalid_token() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    let sql = "UPDATE email_verifications SET expires_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&account.verification_token_id]).await, 1);

    let answer = verify_with(&app, json!({ "token": token })).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body, invalid_token_body());
    assert!(!is_validated(&app, &account).await);
}

#[tokio::test]
async fn verifying_without_a_token_answers_400_missing_field() {
    let app = spawn_app().await;
    for body in [Some(json!({})), Some(json!({ "token": "" })), None] {
        let answer = app
            .request(Method::POST, "/user/verify-email", None, body)
            .await;

        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.body,
            error_body("Missing required field: token", "MISSING_FIELD")
        );
    }
}

#[tokio::test]
async fn verifying_with_a_password_sets_the_password_used_at_login() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");

    let answer = verify_with(&app, json!({ "token": token, "password": "Another456" })).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({ "success": true, "message": "Email verified successfully" })
    );
    assert!(is_validated(&app, &account).await);
    assert_eq!(
        app.login("ann@example.com", "Another456").await.status,
        StatusCode::OK
    );
    let old = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    assert_eq!(old.body, error_body("Invalid password", "INVALID_PASSWORD"));
}

#[tokio::test]
async fn verifying_with_a_weak_password_answers_400_and_changes_nothing() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hash_before = app.strings(sql, &[&account.user_id]).await;

    let answer = verify_with(&app, json!({ "token": token, "password": "weak" })).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body, error_body(WEAK, "WEAK_PASSWORD"));
    assert!(!is_validated(&app, &account).await);
    assert_eq!(app.strings(sql, &[&account.user_id]).await, hash_before);
    assert_eq!(
        verify_with(&app, json!({ "token": token })).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn resending_verification_without_a_body_sends_a_new_token_that_verifies() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let first_token = app.mailer.last_verification_token("ann@example.com");
    let path = format!(
        "/user/resend-verification/{}",
        account.verification_token_id
    );

    let answer = app.request(Method::POST, &path, None, None).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let new_id = assert_uuid(&answer.body["verificationTokenId"]);
    assert_ne!(new_id, account.verification_token_id);
    assert_eq!(
        answer.body,
        json!({ "success": true, "message": "Verification email sent", "verificationTokenId": new_id })
    );
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE id = $1 AND user_id = $2 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&new_id, &account.user_id]).await, 1);
    assert_eq!(app.mailer.to("ann@example.com").len(), 2);
    let new_token = app.mailer.last_verification_token("ann@example.com");
    assert_ne!(new_token, first_token);
    assert_eq!(
        verify_with(&app, json!({ "token": new_token }))
            .await
            .status,
        StatusCode::OK
    );
    assert!(is_validated(&app, &account).await);
}

#[tokio::test]
async fn resending_verification_for_an_unknown_or_malformed_id_answers_404() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let unknown = uuid::Uuid::now_v7().to_string();

    for id in [unknown.as_str(), "not-a-uuid"] {
        let path = format!("/user/resend-verification/{id}");
        let answer = app.request(Method::POST, &path, None, None).await;

        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(
            answer.body,
            error_body("Verification token not found", "VERIFICATION_NOT_FOUND")
        );
    }
    assert_eq!(app.mailer.sent.lock().unwrap().len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_verifications", &[])
            .await,
        1
    );
}

#[tokio::test]
async fn resending_verification_for_a_verified_account_answers_400_already_verified() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let path = format!(
        "/user/resend-verification/{}",
        account.verification_token_id
    );

    let answer = app.request(Method::POST, &path, None, None).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        error_body("Email is already verified", "ALREADY_VERIFIED")
    );
    assert_eq!(app.mailer.to("ann@example.com").len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM email_verifications", &[])
            .await,
        1
    );
}
