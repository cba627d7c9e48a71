//! E-mail keys (issue 15): an address is one account under every spelling that reads the same
//! (compatibility caseless matching, not plain lower case), and accounts stored under the old
//! lower-case keys are re-keyed when a server starts.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use workspaces::app::Application;

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app, test_config, CapturingMailer, TestApp};
use crate::support::assertions::assert_error;
use crate::support::client::Answer;

const TAKEN: &str = "An account with this email already exists";

async fn login(app: &TestApp, email: &str) -> Answer {
    app.login(email, PASSWORD).await
}

/// Asserts a login as `email` succeeds as the user `user_id`.
#[track_caller]
fn assert_logged_in_as(answer: &Answer, user_id: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["user"]["id"], json!(user_id), "{}", answer.body);
}

#[tokio::test]
async fn every_spelling_that_reads_as_a_registered_address_is_that_account() {
    let app = spawn_app().await;
    let cases = [
        // Kelvin sign, long s, full-width letters, sharp s, a ligature.
        ("kate@example.com", "\u{212A}ate@example.com"),
        ("sam@example.com", "\u{17F}am@example.com"),
        ("ann@example.com", "\u{FF41}nn@example.com"),
        ("Strasse@example.com", "STRA\u{DF}E@example.com"),
        ("finn@example.com", "\u{FB01}nn@example.com"),
    ];
    let mut accounts = Vec::new();
    for (registered, _) in cases {
        accounts.push(app.register(registered).await);
    }

    for ((registered, spelling), account) in cases.iter().zip(&accounts) {
        let answer = app
            .post("/user/register", None, TestApp::registration_body(spelling))
            .await;
        assert_error(&answer, 400, TAKEN, "EMAIL_ALREADY_EXISTS");

        assert_logged_in_as(&login(&app, spelling).await, &account.user_id);
        assert_logged_in_as(&login(&app, registered).await, &account.user_id);
    }
    let stored = app
        .strings("SELECT email FROM users ORDER BY created_at", &[])
        .await;
    let registered: Vec<&str> = cases.iter().map(|(registered, _)| *registered).collect();
    assert_eq!(stored, registered);
}

#[tokio::test]
async fn a_reset_asked_for_under_another_spelling_goes_to_the_stored_address() {
    let app = spawn_app().await;
    app.register_verified("sam@example.com").await;
    let before = app.mailer.count();

    let answer = app
        .post(
            "/user/request-reset-password",
            None,
            json!({ "email": "\u{17F}am@EXAMPLE.com" }),
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    app.mailer
        .wait_for("the reset e-mail", |sent| sent.len() > before)
        .await;
    let recipients: Vec<String> = app.mailer.all()[before..]
        .iter()
        .map(|mail| mail.to.clone())
        .collect();
    assert_eq!(recipients, ["sam@example.com"]);
}

/// Accounts made by an earlier version carry the plain lower case of their address as key. A
/// server that starts on their database re-keys them, except where two accounts that were
/// distinct become one address: the one already under the new key keeps it, the other keeps its
/// old key (and the server logs a warning naming it).
#[tokio::test]
async fn keys_stored_in_plain_lower_case_are_updated_when_a_server_starts() {
    let app = spawn_app().await;
    let gross = app.register("Gro\u{DF}@example.com").await;
    let older = app.register("Stra\u{DF}e@example.com").await;
    for (key, account) in [
        ("gro\u{DF}@example.com", &gross),
        ("stra\u{DF}e@example.com", &older),
    ] {
        let old_key = format!("UPDATE users SET email_key = '{key}' WHERE id = $1");
        app.execute(&old_key, &[&account.user_id]).await;
    }
    // Only possible while the older account's key was the old one.
    let newer = app.register("strasse@example.com").await;
    let ascii = app.register("Ann@Example.com").await;
    let keys = "SELECT email_key FROM users ORDER BY created_at";
    let before = app.strings(keys, &[]).await;
    assert_eq!(
        before,
        [
            "gro\u{DF}@example.com",
            "stra\u{DF}e@example.com",
            "strasse@example.com",
            "ann@example.com"
        ]
    );
    assert_eq!(
        login(&app, "GROSS@example.com").await.status,
        StatusCode::UNAUTHORIZED
    );

    let restarted = Application::build_with_mailer(
        test_config(&app.database_url),
        Arc::new(CapturingMailer::default()),
    )
    .await
    .expect("the server starts");
    drop(restarted);

    assert_eq!(
        app.strings(keys, &[]).await,
        [
            "gross@example.com",
            "stra\u{DF}e@example.com",
            "strasse@example.com",
            "ann@example.com"
        ]
    );
    assert_logged_in_as(&login(&app, "GROSS@example.com").await, &gross.user_id);
    assert_logged_in_as(&login(&app, "Gro\u{DF}@example.com").await, &gross.user_id);
    assert_logged_in_as(&login(&app, "STRASSE@example.com").await, &newer.user_id);
    assert_logged_in_as(&login(&app, "ann@example.com").await, &ascii.user_id);
}
