//! POST /user/register, /user/verify-email and /user/resend-verification/{id} (contract
//! section 4): every answer whole, and what each one writes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::accounts::{
    names_with_hidden_characters, verification_email_body, PASSWORD, PHISHING_NAME,
};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_error, assert_unauthorized};
use crate::support::client::Answer;
use crate::support::sessions::{assert_session_id, assert_uuid, profile, token_fields};

const WEAK: &str = "Password must be at least 8 characters long and contain an upper-case letter, \
                    a lower-case letter and a digit";
const INVALID_TOKEN: &str = "Invalid or expired verification token";
const NOT_FOUND: &str = "Verification token not found";
/// Verification tokens live 24 hours.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Rows in every table a registration writes to (its events too), then the number of e-mails
/// sent.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in
        "organizations users sessions refresh_tokens email_verifications system_events".split(' ')
    {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        counts.push(app.count(&sql, &[]).await);
    }
    counts.push(app.mailer.count() as i64);
    counts
}

/// The whole 201 answer registering `email` (with `TestApp::registration_body`) should give,
/// its generated values checked.
fn registered_body(answer: &Answer, email: &str) -> Value {
    let user_id = assert_uuid(&answer.body["user"]["id"]);
    let org_id = assert_uuid(&answer.body["user"]["orgId"]);
    let session_id = assert_session_id(&answer.body["tokenId"]);
    let verification_id = assert_uuid(&answer.body["verificationTokenId"]);
    let tokens = token_fields(&answer.body, &session_id, &user_id, email, &org_id);
    let user =
        json!({ "id": user_id, "email": email, "name": "Ann", "orgId": org_id, "orgRole": 255 });
    let mut expected = json!({
        "success": true, "tokenId": session_id, "verificationTokenId": verification_id, "user": user,
    });
    expected.as_object_mut().unwrap().extend(tokens);
    expected
}

async fn register_with(app: &TestApp, body: Value) -> Answer {
    app.post("/user/register", None, body).await
}

async fn verify_with(app: &TestApp, body: Value) -> Answer {
    app.post("/user/verify-email", None, body).await
}

async fn resend(app: &TestApp, id: &str) -> Answer {
    let path = format!("/user/resend-verification/{id}");
    app.request(Method::POST, &path, None, None).await
}

fn verified() -> Value {
    json!({ "success": true, "message": "Email verified successfully" })
}

#[tokio::test]
async fn registering_creates_an_unvalidated_owner_with_a_hashed_password_and_answers_201() {
    let app = spawn_app().await;
    let mut body = TestApp::registration_body("ann@example.com");
    body["companyWebsite"] = json!("https://acme.example");
    body["deviceInfo"] = json!({ "os": "linux" });

    let answer = register_with(&app, body).await;

    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body, registered_body(&answer, "ann@example.com"));
    let user_id = answer.body["user"]["id"].as_str().unwrap();
    let org_id = answer.body["user"]["orgId"].as_str().unwrap();
    let sql = "SELECT name FROM organizations WHERE id = $1 AND is_business \
               AND website = 'https://acme.example'";
    assert_eq!(app.strings(sql, &[org_id]).await, vec!["Acme"]);
    let sql = "SELECT email FROM users WHERE id = $1 AND org_id = $2 AND org_role = 255 \
               AND NOT validated AND first_name = 'Ann' AND last_name = 'Lee' AND deleted_at IS NULL";
    let emails = app.strings(sql, &[user_id, org_id]).await;
    assert_eq!(emails, ["ann@example.com"]);
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&answer.str("tokenId"), user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE id = $1 AND user_id = $2 \
               AND used_at IS NULL";
    let verification_id = answer.str("verificationTokenId");
    assert_eq!(app.count(sql, &[&verification_id, user_id]).await, 1);
    let sql = "SELECT expires_at - created_at FROM email_verifications WHERE id = $1";
    assert_eq!(app.count(sql, &[&verification_id]).await, DAY_MS);
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hashes = app.strings(sql, &[user_id]).await;
    assert!(
        hashes[0].starts_with("$argon2id$") && !hashes[0].contains(PASSWORD),
        "{hashes:?}"
    );
    assert_eq!(footprint(&app).await, vec![1, 1, 1, 1, 1, 2, 1]);
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
    let sql = if app.database_url.starts_with("sqlite") {
        "SELECT lower(hex(token_hash)) FROM email_verifications"
    } else {
        "SELECT encode(token_hash, 'hex') FROM email_verifications"
    };
    let digest = Sha256::digest(token.as_bytes());
    let digest: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(app.strings(sql, &[]).await, vec![digest]);
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

            let answer = register_with(&app, body).await;

            let message = format!("Missing required field: {field}");
            assert_error(&answer, 400, &message, "MISSING_FIELD");
        }
    }
    let answer = app
        .request(Method::POST, "/user/register", None, None)
        .await;
    assert_error(
        &answer,
        400,
        "Missing required field: email",
        "MISSING_FIELD",
    );
    assert_eq!(footprint(&app).await, vec![0; 7]);
}

#[tokio::test]
async fn registering_with_an_invalid_email_answers_400_invalid_email_and_writes_nothing() {
    let app = spawn_app().await;
    let emails = [
        "ann",
        "ann@",
        "@example.com",
        "ann@localhost",
        "a b@example.com",
        "a@@b.com",
    ];
    for email in emails {
        let answer = register_with(&app, TestApp::registration_body(email)).await;

        assert_error(&answer, 400, "Invalid email address", "INVALID_EMAIL");
    }
    assert_eq!(footprint(&app).await, vec![0; 7]);
}

#[tokio::test]
async fn registering_with_a_weak_or_over_long_password_answers_400_weak_password() {
    let app = spawn_app().await;
    let too_long = format!("Aa1{}", "x".repeat(126));
    let long_message = "Password must be at most 128 characters long";
    let cases = [
        ("Sec123", WEAK),
        ("secret123", WEAK),
        ("SECRET123", WEAK),
        ("SecretSecret", WEAK),
        (too_long.as_str(), long_message),
    ];
    for (password, message) in cases {
        let mut body = TestApp::registration_body("ann@example.com");
        body["password"] = json!(password);

        let answer = register_with(&app, body).await;

        assert_error(&answer, 400, message, "WEAK_PASSWORD");
    }
    assert_eq!(footprint(&app).await, vec![0; 7]);

    let mut body = TestApp::registration_body("ann@example.com");
    body["password"] = json!(&too_long[..128]);
    let answer = register_with(&app, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
}

#[tokio::test]
async fn registering_a_name_with_a_format_or_separator_character_answers_400_and_writes_nothing() {
    let app = spawn_app().await;
    let person =
        |field: &str| format!("{field} must be 1 to 100 characters without control characters");
    let company = "companyName must be at most 200 characters without control characters";
    for name in names_with_hidden_characters() {
        for (field, message) in [
            ("firstName", person("firstName")),
            ("lastName", person("lastName")),
            ("companyName", company.to_owned()),
        ] {
            let mut body = TestApp::registration_body("ann@example.com");
            body[field] = json!(name);

            let answer = register_with(&app, body).await;

            assert_error(&answer, 400, &message, "INVALID_FIELD");
        }
    }
    assert_eq!(footprint(&app).await, vec![0; 7]);
}

#[tokio::test]
async fn verification_emails_greet_no_one_by_name() {
    let app = spawn_app().await;
    let mut body = TestApp::registration_body("ann@example.com");
    body["firstName"] = json!(PHISHING_NAME);
    let answer = register_with(&app, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let resent = resend(&app, &answer.str("verificationTokenId")).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);

    let mails = app.mailer.to("ann@example.com");

    assert_eq!(mails.len(), 2);
    for mail in mails {
        let token = mail
            .body
            .lines()
            .find_map(|line| line.strip_prefix("Verification token: "))
            .expect("a verification token")
            .to_owned();
        assert_eq!(mail.body, verification_email_body(&token));
    }
    let sql = "SELECT first_name FROM users";
    assert_eq!(app.strings(sql, &[]).await, [PHISHING_NAME]);
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
        let answer = register_with(&app, TestApp::registration_body(email)).await;

        let message = "An account with this email already exists";
        assert_error(&answer, 400, message, "EMAIL_ALREADY_EXISTS");
    }
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn registering_ignores_a_stale_or_garbage_authorization_header() {
    let app = spawn_app().await;
    let stale = app.register("old@example.com").await;
    let logout = json!({ "refreshToken": stale.refresh_token });
    assert_eq!(
        app.post("/user/logout", None, logout).await.status,
        StatusCode::OK
    );

    for (i, token) in [stale.access_token.as_str(), "garbage"]
        .into_iter()
        .enumerate()
    {
        let email = format!("new{i}@example.com");
        let body = Some(TestApp::registration_body(&email));

        let answer = app
            .request(Method::POST, "/user/register", Some(token), body)
            .await;

        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        assert_eq!(answer.body, registered_body(&answer, &email));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 3);
}

#[tokio::test]
async fn verifying_an_email_validates_the_user() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");

    // The client keeps sending an old Authorization header on public routes: it is ignored.
    let body = Some(json!({ "token": token }));
    let answer = app
        .request(Method::POST, "/user/verify-email", Some("stale"), body)
        .await;

    assert_eq!((answer.status, answer.body), (StatusCode::OK, verified()));
    assert!(app.is_validated(&account.user_id).await);
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE id = $1 AND used_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&account.verification_token_id]).await, 1);
}

/// Contract section 4: "Consuming an e-mail verification ends every session opened before it".
#[tokio::test]
async fn verifying_an_email_ends_the_sessions_opened_before_it() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let login = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);

    app.verify("ann@example.com").await;

    for token in [account.access_token.clone(), login.str("accessToken")] {
        assert_unauthorized(&profile(&app, &token).await);
    }
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 0);
}

/// Issue 15: someone registers a victim's address first; the victim, who receives the e-mail,
/// verifies it choosing a password. Nothing the first registrant holds works any more.
#[tokio::test]
async fn a_pre_registration_keeps_nothing_once_the_owner_verifies_with_a_password() {
    let app = spawn_app().await;
    let squatter = app.register("victim@example.com").await;
    let token = app.mailer.last_verification_token("victim@example.com");

    let answer = verify_with(&app, json!({ "token": token, "password": "Victim789" })).await;

    assert_eq!((answer.status, answer.body), (StatusCode::OK, verified()));
    assert_unauthorized(&profile(&app, &squatter.access_token).await);
    let refresh = json!({ "refreshToken": squatter.refresh_token });
    let refreshed = app.post("/user/refresh", None, refresh).await;
    let message = "Invalid or expired refresh token";
    assert_error(&refreshed, 401, message, "INVALID_REFRESH_TOKEN");
    let old = app.login("victim@example.com", PASSWORD).await;
    assert_error(&old, 401, "Invalid password", "INVALID_PASSWORD");
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&squatter.user_id]).await, 0);
    let login = app.login("victim@example.com", "Victim789").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(
        profile(&app, &login.str("accessToken")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_verification_token_works_only_once() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    let first = verify_with(&app, json!({ "token": token })).await;
    assert_eq!((first.status, first.body), (StatusCode::OK, verified()));

    let again = verify_with(&app, json!({ "token": token })).await;

    assert_error(&again, 400, INVALID_TOKEN, "INVALID_TOKEN");
}

/// Checklist "Verification and reset tokens: ... single use": once the address is verified, the
/// other verification e-mails of the account (an earlier one, before a resend) are spent too, so
/// an old e-mail cannot set a new password (and end every session) days later.
#[tokio::test]
async fn verifying_spends_the_accounts_other_verification_tokens() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let first_token = app.mailer.last_verification_token("ann@example.com");
    let resent = resend(&app, &account.verification_token_id).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let new_token = app.mailer.last_verification_token("ann@example.com");
    let verify = verify_with(&app, json!({ "token": new_token })).await;
    assert_eq!((verify.status, verify.body), (StatusCode::OK, verified()));
    let login = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);

    let old = verify_with(
        &app,
        json!({ "token": first_token, "password": "Taken789x" }),
    )
    .await;

    assert_error(&old, 400, INVALID_TOKEN, "INVALID_TOKEN");
    let still = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.body);
    assert_eq!(
        profile(&app, &login.str("accessToken")).await.status,
        StatusCode::OK
    );
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE user_id = $1 AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&account.user_id]).await, 0);
}

#[tokio::test]
async fn verifying_with_an_unknown_token_answers_400_invalid_token() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = verify_with(&app, json!({ "token": "not-a-token-we-sent" })).await;

    assert_error(&answer, 400, INVALID_TOKEN, "INVALID_TOKEN");
    assert!(!app.is_validated(&account.user_id).await);
}

#[tokio::test]
async fn verifying_with_an_expired_token_answers_400_invalid_token() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    let sql = "UPDATE email_verifications SET expires_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&account.verification_token_id]).await, 1);

    let answer = verify_with(&app, json!({ "token": token })).await;

    assert_error(&answer, 400, INVALID_TOKEN, "INVALID_TOKEN");
    assert!(!app.is_validated(&account.user_id).await);
}

#[tokio::test]
async fn verifying_without_a_token_answers_400_missing_field() {
    let app = spawn_app().await;
    for body in [Some(json!({})), Some(json!({ "token": "" })), None] {
        let answer = app
            .request(Method::POST, "/user/verify-email", None, body)
            .await;

        assert_error(
            &answer,
            400,
            "Missing required field: token",
            "MISSING_FIELD",
        );
    }
}

#[tokio::test]
async fn verifying_with_a_password_sets_the_password_used_at_login() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");

    let answer = verify_with(&app, json!({ "token": token, "password": "Another456" })).await;

    assert_eq!((answer.status, answer.body), (StatusCode::OK, verified()));
    assert!(app.is_validated(&account.user_id).await);
    let login = app.login("ann@example.com", "Another456").await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let old = app.login("ann@example.com", PASSWORD).await;
    assert_error(&old, 401, "Invalid password", "INVALID_PASSWORD");
}

#[tokio::test]
async fn verifying_with_a_weak_password_answers_400_and_changes_nothing() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let token = app.mailer.last_verification_token("ann@example.com");
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hash_before = app.strings(sql, &[&account.user_id]).await;

    let answer = verify_with(&app, json!({ "token": token, "password": "weak" })).await;

    assert_error(&answer, 400, WEAK, "WEAK_PASSWORD");
    assert!(!app.is_validated(&account.user_id).await);
    assert_eq!(app.strings(sql, &[&account.user_id]).await, hash_before);
    let retry = verify_with(&app, json!({ "token": token })).await;
    assert_eq!((retry.status, retry.body), (StatusCode::OK, verified()));
}

#[tokio::test]
async fn resending_verification_without_a_body_sends_a_new_token_that_verifies() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let first_token = app.mailer.last_verification_token("ann@example.com");

    let answer = resend(&app, &account.verification_token_id).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let new_id = assert_uuid(&answer.body["verificationTokenId"]);
    assert_ne!(new_id, account.verification_token_id);
    let expected = json!({
        "success": true, "message": "Verification email sent", "verificationTokenId": new_id,
    });
    assert_eq!(answer.body, expected);
    let sql = "SELECT COUNT(*) FROM email_verifications WHERE id = $1 AND user_id = $2 \
               AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&new_id, &account.user_id]).await, 1);
    assert_eq!(app.mailer.to("ann@example.com").len(), 2);
    let new_token = app.mailer.last_verification_token("ann@example.com");
    assert_ne!(new_token, first_token);
    let verify = verify_with(&app, json!({ "token": new_token })).await;
    assert_eq!((verify.status, verify.body), (StatusCode::OK, verified()));
    assert!(app.is_validated(&account.user_id).await);
}

#[tokio::test]
async fn resending_verification_for_an_unknown_or_malformed_id_answers_404() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    let unknown = uuid::Uuid::now_v7().to_string();

    for id in [unknown.as_str(), "not-a-uuid"] {
        let answer = resend(&app, id).await;

        assert_error(&answer, 404, NOT_FOUND, "VERIFICATION_NOT_FOUND");
    }
    assert_eq!(footprint(&app).await, vec![1, 1, 1, 1, 1, 2, 1]);
}

#[tokio::test]
async fn resending_verification_for_a_verified_account_answers_400_already_verified() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;

    let answer = resend(&app, &account.verification_token_id).await;

    assert_error(
        &answer,
        400,
        "Email is already verified",
        "ALREADY_VERIFIED",
    );
    // Two sessions with a refresh token each: the registration's, ended by the verification,
    // and the login after it; three events: org and user created, the user verified.
    assert_eq!(footprint(&app).await, vec![1, 1, 2, 2, 1, 3, 1]);
}

// A real race only on PostgreSQL: on SQLite the server's one writer thread runs these writes
// one after another, so there this checks the serial outcome (instances_race.rs races two
// server processes on one SQLite file).
// This runtime has one thread, which the in-process server shares: the requests interleave
// at their awaits rather than run side by side.
#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let app = spawn_app().await;
    let emails = [
        "ann@example.com",
        "ANN@example.com",
        "Ann@Example.com",
        "ann@EXAMPLE.com",
    ];
    let requests = emails.map(|email| register_with(&app, TestApp::registration_body(email)));

    let answers = futures::future::join_all(requests).await;

    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    let message = "An account with this email already exists";
    for answer in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        assert_error(answer, 400, message, "EMAIL_ALREADY_EXISTS");
    }
    assert_eq!(footprint(&app).await, vec![1, 1, 1, 1, 1, 2, 1]);
}
