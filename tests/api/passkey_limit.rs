//! The cap on a user's passkeys (contract section 14; SECURITY.md, "Costs that a request may
//! cause"): 20, refused with 409 `PASSKEY_LIMIT_REACHED` by `POST /mfa/setup` (before a ceremony
//! is wasted) and by the registration itself, counted under the user's lock so that two
//! registrations on two instances cannot pass it together.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{second_instance_with, spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::assert_answer;
use crate::support::at_once::{at_once, Side};
use crate::support::mfa::mfa_error;
use crate::support::passkey::{Claim, SoftPasskey};

const CAP: usize = 20;

fn limit_reached() -> Value {
    mfa_error(
        "A user may keep at most 20 passkeys",
        "PASSKEY_LIMIT_REACHED",
    )
}

async fn passkey_count(app: &TestApp, account: &Account) -> i64 {
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
    app.count(sql, &[&account.user_id]).await
}

/// The registration ceremonies of `account` not yet answered.
async fn live_registrations(app: &TestApp, account: &Account) -> i64 {
    let sql = "SELECT COUNT(*) FROM passkey_challenges WHERE user_id = $1 \
               AND purpose = 'register' AND used_at IS NULL";
    app.count(sql, &[&account.user_id]).await
}

/// `owner`, registered, with `n` passkeys registered from their first session; the first
/// passkey and what its browser claims, to verify more sessions with.
async fn owner_with_passkeys(app: &TestApp, n: usize) -> (Account, SoftPasskey, Claim) {
    let owner = app.register_verified("owner@example.com").await;
    let first = SoftPasskey::new();
    let claim = app.register_passkey(&owner, &first, "Key 1").await;
    for k in 2..=n {
        app.register_passkey(&owner, &SoftPasskey::new(), &format!("Key {k}"))
            .await;
    }
    assert_eq!(passkey_count(app, &owner).await, n as i64);
    (owner, first, claim)
}

/// Another session of `owner`, past its second factor (`passkey`).
async fn verified_session(
    app: &TestApp,
    owner: &Account,
    passkey: &mut SoftPasskey,
    claim: &Claim,
) -> Account {
    let pending = app.log_in_pending(owner).await;
    let challenge = app.passkey_auth_options(&pending).await;
    let credential = passkey.assert(&challenge, claim);
    let verified = app.verify_login_with_passkey(&pending, credential).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    Account {
        access_token: verified.str("accessToken"),
        ..pending
    }
}

#[tokio::test]
async fn the_twentieth_passkey_registers_and_a_setup_for_a_twenty_first_is_refused() {
    let app = spawn_app().await;
    let (owner, _, _) = owner_with_passkeys(&app, CAP - 1).await;

    // Just below the cap: the twentieth registers.
    let twentieth = SoftPasskey::new();
    app.register_passkey(&owner, &twentieth, "Key 20").await;
    assert_eq!(passkey_count(&app, &owner).await, CAP as i64);
    let mark = app.event_mark().await;
    let mails = app.mailer.count();

    // At the cap: no ceremony is started for a passkey that could not be kept.
    let refused = app
        .post(
            "/mfa/setup",
            Some(&owner.access_token),
            json!({ "mfaType": "PASSKEY" }),
        )
        .await;

    assert_answer(&refused, StatusCode::CONFLICT, &limit_reached());
    assert_eq!(live_registrations(&app, &owner).await, 0);
    assert_eq!(passkey_count(&app, &owner).await, CAP as i64);
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    assert_eq!(app.mailer.count(), mails);
    let list = app.get("/mfa/passkeys", Some(&owner.access_token)).await;
    assert_eq!(list.body["passkeys"].as_array().unwrap().len(), CAP);
}

#[tokio::test]
async fn a_registration_started_below_the_cap_is_refused_once_the_cap_is_reached() {
    let app = spawn_app().await;
    let (owner, mut first, claim) = owner_with_passkeys(&app, CAP - 1).await;
    // One session starts a registration at 19 passkeys; another then registers the twentieth.
    let setup = app.passkey_setup(&owner).await;
    let late = SoftPasskey::new();
    let credential = late.register(&setup.challenge, &setup.claim);
    let other = verified_session(&app, &owner, &mut first, &claim).await;
    app.register_passkey(&other, &SoftPasskey::new(), "Key 20")
        .await;
    let mark = app.event_mark().await;
    let mails = app.mailer.count();

    let body = json!({ "credential": credential, "challenge": setup.challenge });
    let refused = app.complete_registration(&owner, body.clone()).await;
    let by_verify_setup = app
        .post(
            "/mfa/verify-setup",
            Some(&owner.access_token),
            json!({ "mfaType": "PASSKEY", "credential": credential }),
        )
        .await;

    let garbled = app
        .complete_registration(&owner, json!({ "credential": { "id": "x" } }))
        .await;

    assert_answer(&refused, StatusCode::CONFLICT, &limit_reached());
    assert_answer(&by_verify_setup, StatusCode::CONFLICT, &limit_reached());
    // A credential the relying party refuses is refused as such, at the cap too.
    assert_answer(
        &garbled,
        StatusCode::BAD_REQUEST,
        &mfa_error("Passkey registration failed", "PASSKEY_REGISTRATION_FAILED"),
    );
    assert_eq!(passkey_count(&app, &owner).await, CAP as i64);
    // Nothing was spent, written or mailed: the ceremony is still live.
    assert_eq!(live_registrations(&app, &owner).await, 1);
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    assert_eq!(app.mailer.count(), mails);

    // Once one is removed, the same answer registers.
    let list = app.get("/mfa/passkeys", Some(&owner.access_token)).await;
    let oldest = list.body["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let removed = app
        .request(
            Method::DELETE,
            &format!("/mfa/passkeys/{oldest}"),
            Some(&owner.access_token),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let done = app.complete_registration(&owner, body).await;
    assert_answer(
        &done,
        StatusCode::OK,
        &json!({ "success": true, "message": "Passkey registration completed" }),
    );
    assert_eq!(passkey_count(&app, &owner).await, CAP as i64);
}

/// A `complete-registration` of a new passkey by `session` through `side`, its setup done.
async fn completion(app: &TestApp, side: &Side, session: &Account) -> reqwest::Request {
    let setup = app.passkey_setup(session).await;
    let credential = SoftPasskey::new().register(&setup.challenge, &setup.claim);
    let body = json!({ "credential": credential, "challenge": setup.challenge });
    side.request(
        Method::POST,
        "/mfa/passkey/complete-registration",
        &session.access_token,
        Some(body),
    )
}

/// One relying party for both instances (each would name its own port as its origin).
const SHARED_ORIGIN: &str = "https://work.example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_registrations_at_once_on_two_instances_do_not_pass_the_cap_together() {
    let app = spawn_app_with(|config| config.public_url = Some(SHARED_ORIGIN.into())).await;
    let second = second_instance_with(&app, |config| {
        config.public_url = Some(SHARED_ORIGIN.into());
    })
    .await;
    let (one, two) = (Side::new(&app.address), Side::new(second));
    let (owner, mut first, claim) = owner_with_passkeys(&app, CAP - 1).await;
    let other = verified_session(&app, &owner, &mut first, &claim).await;
    let a = completion(&app, &one, &owner).await;
    let b = completion(&app, &two, &other).await;

    let (a, b) = at_once((&one, a), (&two, b)).await;

    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.body,
        b.body
    );
    let refused = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_answer(refused, StatusCode::CONFLICT, &limit_reached());
    assert_eq!(passkey_count(&app, &owner).await, CAP as i64);
}
