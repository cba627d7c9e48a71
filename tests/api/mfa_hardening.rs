//! MFA after the second review (contract section 8, issue 20): a pending session enrols only
//! with the mailbox too, every MFA change is e-mailed to the account, enabling the first method
//! ends the password-only sessions, the lockout counts per client under a per-user ceiling, and
//! `setup` is rate-limited per user.

use reqwest::StatusCode;
use serde_json::{json, Value};
use workspaces::config::RateLimitConfig;
use workspaces::mail::OutgoingEmail;

use crate::support::accounts::{Account, Verification};
use crate::support::app::{spawn_app, spawn_app_with, spawn_app_with_smtp, TestApp};
use crate::support::assertions::{assert_answer, assert_unauthorized};
use crate::support::client::Answer;
use crate::support::fake_smtp::FakeSmtp;
use crate::support::mfa::{
    email_code_of, mfa_error, setup_verified, steady_step, totp, SETUP_CODE_SUBJECT,
};

const NOTICE_SUBJECT: &str = "A sign-in method of your account changed";
const WORKSPACES: i64 = 2;

fn setup_failed() -> Value {
    mfa_error("MFA setup verification failed", "MFA_SETUP_FAILED")
}

fn locked() -> Value {
    mfa_error("Too many failed attempts", "MFA_LOCKED")
}

/// The MFA change notices sent to `address`, oldest first.
fn notices(app: &TestApp, address: &str) -> Vec<OutgoingEmail> {
    app.mailer
        .to(address)
        .into_iter()
        .filter(|mail| mail.subject == NOTICE_SUBJECT)
        .collect()
}

/// Asserts that the newest notice to `address` says `what`, and that there are `count`.
fn assert_notice(app: &TestApp, address: &str, count: usize, what: &str) {
    let sent = notices(app, address);
    assert_eq!(sent.len(), count, "{sent:?}");
    let body = &sent.last().unwrap().body;
    assert!(
        body.contains(&format!("A sign-in method of your account changed: {what}")),
        "{body}"
    );
    assert!(body.contains("If this was not you"), "{body}");
}

/// An organization that enforces MFA, and a member of it with no method, logged in: pending.
async fn enforced_member(app: &TestApp) -> (Account, Account) {
    let owner = app.register_verified("owner@example.com").await;
    let member = app
        .member(
            &owner,
            "member@example.com",
            WORKSPACES,
            Verification::Verified,
        )
        .await;
    app.enforce_mfa(&owner).await;
    let pending = app.log_in_pending(&member).await;
    (owner, pending)
}

/// `setup` of TOTP from `session`: the base32 secret.
async fn setup_totp(app: &TestApp, session: &Account) -> String {
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &session.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    setup.body["data"]["secret"].as_str().unwrap().to_owned()
}

fn setup_codes_to(app: &TestApp, address: &str) -> Vec<String> {
    app.mailer
        .to(address)
        .iter()
        .filter(|mail| mail.subject == SETUP_CODE_SUBJECT)
        .map(email_code_of)
        .collect()
}

/// A 6-digit code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_pending_session_enrols_only_with_the_code_emailed_to_the_account() {
    let app = spawn_app().await;
    let (_, pending) = enforced_member(&app).await;
    let secret = setup_totp(&app, &pending).await;
    let codes = setup_codes_to(&app, &pending.email);
    assert_eq!(codes.len(), 1);
    let email_code = codes[0].clone();
    assert_eq!(email_code.len(), 6);
    assert!(email_code.bytes().all(|b| b.is_ascii_digit()));
    // Stored hashed only.
    let stored = app.dump("mfa_email_codes").await.join("\n");
    assert!(!stored.contains(&email_code), "{stored}");

    let failures = "SELECT COUNT(*) FROM mfa_failures WHERE user_id = $1";
    let enabled = "SELECT COUNT(*) FROM mfa_methods WHERE user_id = $1 AND enabled";
    let step = steady_step().await;
    let code = totp(&secret, step);
    // The password and the authenticator alone: refused, and counted for the lockout.
    for (n, email) in [(1, None), (2, Some(other_than(&email_code)))] {
        let mut body = json!({ "mfaType": "GOOGLE_AUTH", "code": code });
        if let Some(email) = email {
            body["emailCode"] = json!(email);
        }
        let answer = app
            .mfa_post("/mfa/verify-setup", &pending.access_token, body)
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &setup_failed());
        assert_eq!(app.count(failures, &[&pending.user_id]).await, n);
        assert_eq!(app.count(enabled, &[&pending.user_id]).await, 0);
    }
    // A wrong TOTP code with the right e-mailed code counts too, and spends nothing.
    let answer = app
        .mfa_post(
            "/mfa/verify-setup",
            &pending.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": other_than(&code),
                    "emailCode": email_code }),
        )
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &setup_failed());
    assert_eq!(app.count(failures, &[&pending.user_id]).await, 3);
    // Both right: enabled, and the session passed MFA.
    let answer = app
        .mfa_post(
            "/mfa/verify-setup",
            &pending.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": code, "emailCode": email_code }),
        )
        .await;
    assert_answer(&answer, StatusCode::OK, &setup_verified());
    assert_eq!(app.count(enabled, &[&pending.user_id]).await, 1);
    let listed = app.get("/workspace", Some(&pending.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let used = "SELECT COUNT(*) FROM mfa_email_codes WHERE user_id = $1 AND used_at IS NOT NULL";
    assert_eq!(app.count(used, &[&pending.user_id]).await, 1);
    assert_notice(
        &app,
        &pending.email,
        1,
        "Signing in with an authenticator app was turned on.",
    );
}

#[tokio::test]
async fn guessing_the_emailed_code_meets_the_lockout() {
    let app = spawn_app().await;
    let (_, pending) = enforced_member(&app).await;
    let secret = setup_totp(&app, &pending).await;
    let email_code = setup_codes_to(&app, &pending.email).remove(0);
    let step = steady_step().await;
    let code = totp(&secret, step);
    for _ in 0..5 {
        let answer = app
            .mfa_post(
                "/mfa/verify-setup",
                &pending.access_token,
                json!({ "mfaType": "GOOGLE_AUTH", "code": code,
                        "emailCode": other_than(&email_code) }),
            )
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &setup_failed());
    }
    let before = app.snapshot().await;
    let right = app
        .mfa_post(
            "/mfa/verify-setup",
            &pending.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": code, "emailCode": email_code }),
        )
        .await;
    assert_answer(&right, StatusCode::TOO_MANY_REQUESTS, &locked());
    assert!(right.headers.contains_key("retry-after"));
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_verified_session_enrols_without_an_emailed_code() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    assert!(!enrolled.secret.is_empty());
    assert!(setup_codes_to(&app, &owner.email).is_empty());
}

#[tokio::test]
async fn enabling_the_first_method_ends_the_sessions_that_never_passed_mfa() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.log_in(&owner).await;
    app.enrol_totp(&owner).await;
    assert_unauthorized(&app.get("/workspace", Some(&other.access_token)).await);
    let kept = app.get("/workspace", Some(&owner.access_token)).await;
    assert_eq!(kept.status, StatusCode::OK);

    // Magic links: the session that asked for the activation stays, the others end.
    let second = app.register_verified("second@example.com").await;
    let bystander = app.log_in(&second).await;
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &second.access_token,
            json!({ "mfaType": "MAGIC_LINK" }),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let token = app.mailer.last_token(&second.email, "Activation token");
    let activated = app
        .post("/mfa/magic-link/activate", None, json!({ "token": token }))
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    assert_unauthorized(&app.get("/workspace", Some(&bystander.access_token)).await);
    let kept = app.get("/workspace", Some(&second.access_token)).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_notice(
        &app,
        &second.email,
        1,
        "Signing in with a link sent by e-mail was turned on.",
    );
}

#[tokio::test]
async fn every_mfa_change_is_emailed_to_the_account() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let totp_name = "Signing in with an authenticator app";
    assert_notice(
        &app,
        &owner.email,
        1,
        &format!("{totp_name} was turned on."),
    );
    let change = |path: &'static str| {
        let token = owner.access_token.clone();
        let app = &app;
        async move {
            let answer = app
                .mfa_post(path, &token, json!({ "mfaType": "GOOGLE_AUTH" }))
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }
    };
    change("/mfa/disable").await;
    assert_notice(
        &app,
        &owner.email,
        2,
        &format!("{totp_name} was turned off."),
    );
    // Asking for what already is changes nothing and says nothing.
    change("/mfa/disable").await;
    assert_eq!(notices(&app, &owner.email).len(), 2);
    change("/mfa/enable").await;
    assert_notice(
        &app,
        &owner.email,
        3,
        &format!("{totp_name} was turned on."),
    );
    // The primary method is no new way in: no notice.
    change("/mfa/primary").await;
    assert_eq!(notices(&app, &owner.email).len(), 3);

    let pending = app.log_in_pending(&owner).await;
    let answer = app.verify_login(&pending, &enrolled.backup_codes[0]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_notice(
        &app,
        &owner.email,
        4,
        "A backup code was used to sign in. Each code works once.",
    );

    let reset = app
        .mfa_post("/mfa/reset", &pending.access_token, json!({}))
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let removed = "Every second sign-in step and backup code of your account was removed.";
    assert_notice(&app, &owner.email, 5, removed);

    // An administrator's reset of another user tells that user.
    let member = app
        .member(
            &owner,
            "member@example.com",
            WORKSPACES,
            Verification::Verified,
        )
        .await;
    app.enrol_totp(&member).await;
    let reset = app
        .mfa_post(
            "/mfa/reset",
            &owner.access_token,
            json!({ "resetUserId": member.user_id }),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_notice(&app, &member.email, 2, removed);
    // No notice carries a token, a code or a name.
    for mail in notices(&app, &owner.email) {
        assert!(mail.body.starts_with("Hello,\n"), "{}", mail.body);
        assert!(!mail.body.contains("token"), "{}", mail.body);
    }
}

/// `verify-login` with `code` from client address `ip` (the server trusts X-Forwarded-For).
async fn verify_from(app: &TestApp, session: &Account, ip: &str, code: &str) -> Answer {
    TestApp::send(
        app.client
            .post(app.url("/mfa/verify-login"))
            .bearer_auth(&session.access_token)
            .header("x-forwarded-for", ip)
            .json(&json!({ "mfaType": "GOOGLE_AUTH", "code": code })),
    )
    .await
}

#[tokio::test]
async fn the_lockout_counts_per_client_under_a_ceiling_per_user() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            trust_forwarded_for: true,
            ..RateLimitConfig::OFF
        }
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    // A wrong backup code (of the right form): never a right one by chance.
    let wrong = "0000-0000-0000-0000";
    let thief = app.log_in_pending(&owner).await;
    for _ in 0..5 {
        let answer = verify_from(&app, &thief, "203.0.113.66", wrong).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    }
    let refused = verify_from(&app, &thief, "203.0.113.66", &enrolled.backup_codes[0]).await;
    assert_answer(&refused, StatusCode::TOO_MANY_REQUESTS, &locked());
    // The owner, elsewhere, is not locked out by the thief's failures.
    let owner_login = app.log_in_pending(&owner).await;
    let passed = verify_from(
        &app,
        &owner_login,
        "198.51.100.7",
        &enrolled.backup_codes[1],
    )
    .await;
    assert_eq!(passed.status, StatusCode::OK, "{}", passed.body);
    // The owner's success forgets only the owner's client's failures.
    let sql = "SELECT COUNT(*) FROM mfa_failures WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 5);

    // From many clients, 20 failures lock the user everywhere.
    let guesser = app.log_in_pending(&owner).await;
    for client in 1..=3 {
        for _ in 0..5 {
            let ip = format!("192.0.2.{client}");
            let answer = verify_from(&app, &guesser, &ip, wrong).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        }
    }
    let last = app.log_in_pending(&owner).await;
    let refused = verify_from(&app, &last, "198.51.100.7", &enrolled.backup_codes[2]).await;
    assert_answer(&refused, StatusCode::TOO_MANY_REQUESTS, &locked());
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
}

#[tokio::test]
async fn setup_is_rate_limited_per_user_so_it_cannot_flood_a_mailbox() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            per_account_per_minute: 3,
            ..RateLimitConfig::OFF
        }
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;
    let mails_before = app.mailer.to(&owner.email).len();
    for _ in 0..3 {
        let answer = app
            .mfa_post(
                "/mfa/setup",
                &owner.access_token,
                json!({ "mfaType": "MAGIC_LINK" }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    for mfa_type in ["MAGIC_LINK", "GOOGLE_AUTH"] {
        let answer = app
            .mfa_post(
                "/mfa/setup",
                &owner.access_token,
                json!({ "mfaType": mfa_type }),
            )
            .await;
        assert_answer(
            &answer,
            StatusCode::TOO_MANY_REQUESTS,
            &mfa_error("Too many requests, try again later", "RATE_LIMITED"),
        );
        assert!(answer.headers.contains_key("retry-after"));
    }
    assert_eq!(app.mailer.to(&owner.email).len(), mails_before + 3);
    let answer = app
        .mfa_post(
            "/mfa/setup",
            &other.access_token,
            json!({ "mfaType": "MAGIC_LINK" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// The value on the `{label}: ` line of the newest message received with `subject`, waiting up
/// to 10 s for it.
async fn from_smtp(smtp: &FakeSmtp, subject: &str, label: &str) -> String {
    let prefix = format!("{label}: ");
    let started = std::time::Instant::now();
    loop {
        let found = smtp
            .received()
            .iter()
            .rev()
            .filter(|m| m.contains(&format!("Subject: {subject}")))
            .find_map(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_owned))
            });
        if let Some(found) = found {
            return found.trim().to_owned();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no e-mail {subject:?} with {label}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_whole_pending_enrolment_goes_through_smtp() {
    let smtp = FakeSmtp::start().await;
    let app = spawn_app_with_smtp(&smtp.url()).await;
    let registered = app.register("owner@example.com").await;
    let token = from_smtp(&smtp, "Verify your e-mail address", "Verification token").await;
    let verified = app
        .post("/user/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let owner = app.log_in(&registered).await;
    app.enforce_mfa(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    let secret = setup_totp(&app, &pending).await;
    let email_code = from_smtp(&smtp, SETUP_CODE_SUBJECT, "Setup code").await;
    let code = totp(&secret, steady_step().await);
    let without = app
        .mfa_post(
            "/mfa/verify-setup",
            &pending.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": code }),
        )
        .await;
    assert_answer(&without, StatusCode::BAD_REQUEST, &setup_failed());
    let answer = app
        .mfa_post(
            "/mfa/verify-setup",
            &pending.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": code, "emailCode": email_code }),
        )
        .await;
    assert_answer(&answer, StatusCode::OK, &setup_verified());
    let listed = app.get("/workspace", Some(&pending.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let notice = from_smtp(
        &smtp,
        NOTICE_SUBJECT,
        "A sign-in method of your account changed",
    )
    .await;
    assert_eq!(
        notice,
        "Signing in with an authenticator app was turned on."
    );
}
