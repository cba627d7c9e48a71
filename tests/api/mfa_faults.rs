//! The documented 500 of each MFA route that writes: a failure in the database answers the
//! route's message in the `/mfa/*` envelope and changes nothing; a right code that met one is
//! not spent.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::assert_answer;
use crate::support::faults::{
    answers_its_500_then_works, install_fault, remove_fault, Call, Fault,
};
use crate::support::mfa::{mfa_error, step_now, totp};

/// With a fault on `table`'s `event`, `path` with `body` answers its 500 `message` and changes
/// nothing.
async fn fails_whole(
    app: &TestApp,
    (table, event): (&str, &str),
    (session, path, body): (&Account, &str, Value),
    message: &str,
) {
    install_fault(app, table, event).await;
    let before = app.snapshot().await;
    let answer = app.mfa_post(path, &session.access_token, body).await;
    assert_answer(
        &answer,
        StatusCode::INTERNAL_SERVER_ERROR,
        &mfa_error(message, "INTERNAL_ERROR"),
    );
    app.assert_unchanged(&before).await;
    remove_fault(app, table).await;
}

#[tokio::test]
async fn every_mfa_write_that_fails_in_the_database_answers_its_500_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let totp_type = || json!({ "mfaType": "GOOGLE_AUTH" });
    let setup = (&owner, "/mfa/setup", totp_type());
    fails_whole(&app, ("mfa_methods", "INSERT"), setup, "MFA setup failed").await;

    let answer = app
        .mfa_post("/mfa/setup", &owner.access_token, totp_type())
        .await;
    let secret = answer.body["data"]["secret"].as_str().unwrap().to_owned();
    // A code of this step passes in it and in the next: no need to wait for a steady one.
    let code = totp(&secret, step_now());
    let verify = (
        &owner,
        "/mfa/verify-setup",
        json!({ "mfaType": "GOOGLE_AUTH", "code": code }),
    );
    fails_whole(
        &app,
        ("mfa_methods", "UPDATE"),
        verify,
        "MFA setup verification failed",
    )
    .await;
    let verified = app
        .mfa_post(
            "/mfa/verify-setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": code }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);

    let disable = (&owner, "/mfa/disable", totp_type());
    fails_whole(
        &app,
        ("mfa_methods", "UPDATE"),
        disable,
        "Failed to disable MFA method",
    )
    .await;
    let primary = (&owner, "/mfa/primary", totp_type());
    fails_whole(
        &app,
        ("mfa_methods", "UPDATE"),
        primary,
        "Failed to update primary MFA method",
    )
    .await;
    let reset = (&owner, "/mfa/reset", json!({}));
    fails_whole(
        &app,
        ("mfa_methods", "DELETE"),
        reset,
        "Failed to reset MFA",
    )
    .await;
    let enforce = (
        &owner,
        "/mfa/organization/enforce",
        json!({ "enforced": true }),
    );
    fails_whole(
        &app,
        ("organizations", "UPDATE"),
        enforce,
        "Failed to update MFA enforcement",
    )
    .await;

    let pending = app.log_in_pending(&owner).await;
    let login = (
        &pending,
        "/mfa/verify-login",
        json!({ "mfaType": "GOOGLE_AUTH", "code": "000000" }),
    );
    fails_whole(
        &app,
        ("mfa_failures", "INSERT"),
        login,
        "MFA verification failed",
    )
    .await;
}

/// The documented 500s of the MFA routes that read, mail a link, or enable a configured method:
/// each answers its text in the `/mfa/*` envelope, changes nothing, and works once the fault is
/// gone.
#[tokio::test]
async fn the_mfa_reads_links_and_enable_answer_their_500_when_the_database_fails() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let internal = mfa_error("Internal server error", "INTERNAL_ERROR");
    let methods_read = Fault::Read("mfa_methods", "is_primary");
    for path in ["/mfa/status", "/mfa/methods"] {
        let call = Call::bare(Method::GET, path, &owner);
        answers_its_500_then_works(&app, methods_read, &call, &internal, StatusCode::OK).await;
    }

    // A magic link as the only method: activated from the e-mailed token.
    let link = json!({ "mfaType": "MAGIC_LINK" });
    let setup = app.mfa_post("/mfa/setup", &owner.access_token, link).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let token = app.mailer.last_token(&owner.email, "Activation token");
    let activate = Call::new(
        Method::POST,
        "/mfa/magic-link/activate",
        None,
        json!({ "token": token }),
    );
    answers_its_500_then_works(
        &app,
        Fault::Write("mfa_methods", "UPDATE"),
        &activate,
        &mfa_error("Failed to activate magic link", "INTERNAL_ERROR"),
        StatusCode::OK,
    )
    .await;

    // A pending session asks for its sign-in link: the link's row cannot be written.
    let pending = app.log_in_pending(&owner).await;
    let send = Call::new(
        Method::POST,
        "/mfa/magic-link/send",
        Some(&pending),
        json!({}),
    )
    .control("/user/profile");
    answers_its_500_then_works(
        &app,
        Fault::Write("mfa_link_tokens", "INSERT"),
        &send,
        &mfa_error("Failed to send magic link", "INTERNAL_ERROR"),
        StatusCode::OK,
    )
    .await;

    // Signed in with the link, disabled, then enabled again.
    let magic = || json!({ "mfaType": "MAGIC_LINK" });
    let link_token = app.mailer.last_token(&owner.email, "Sign-in token");
    let verified = app
        .mfa_post(
            "/mfa/verify-login",
            &pending.access_token,
            json!({ "mfaType": "MAGIC_LINK", "token": link_token }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let full = Account {
        access_token: verified.str("accessToken"),
        ..pending
    };
    let disabled = app
        .mfa_post("/mfa/disable", &full.access_token, magic())
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    answers_its_500_then_works(
        &app,
        Fault::Write("mfa_methods", "UPDATE"),
        &Call::new(Method::POST, "/mfa/enable", Some(&full), magic()),
        &mfa_error("Failed to enable MFA method", "INTERNAL_ERROR"),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_right_code_whose_verification_fails_in_the_database_answers_500_and_stays_unspent() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    // A TOTP code meets a fault on the last write of the success path (the session's new
    // refresh token), a backup code one on the write right after its spend (the session's
    // verification): either way the spend must go with the rest.
    let rounds = [
        (
            enrolled.fresh_code(enrolled.enrolled_step),
            ("refresh_tokens", "INSERT"),
        ),
        (enrolled.backup_codes[0].clone(), ("sessions", "UPDATE")),
    ];
    for (code, (table, event)) in rounds {
        let pending = app.log_in_pending(&owner).await;
        install_fault(&app, table, event).await;
        let before = app.snapshot().await;
        let failed = app.verify_login(&pending, &code).await;
        assert_answer(
            &failed,
            StatusCode::INTERNAL_SERVER_ERROR,
            &mfa_error("MFA verification failed", "INTERNAL_ERROR"),
        );
        // Nothing spent, verified or counted as a failure.
        app.assert_unchanged(&before).await;
        remove_fault(&app, table).await;

        let verified = app.verify_login(&pending, &code).await;
        assert_eq!(verified.status, StatusCode::OK, "{code}: {}", verified.body);
        assert_eq!(
            verified.body["message"],
            json!("MFA verification successful")
        );
    }
}
