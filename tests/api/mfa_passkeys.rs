//! Passkeys as a second factor (contract section 14), with a software authenticator
//! (`support::passkey`): registration and each of its refusals, several passkeys, the
//! authentication options, `verify-login` with an assertion (and its refusals, the lockout and
//! the counter rule), and managing them, with whole answers and what each did to the database.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{second_instance_with, spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::assert_answer;
use crate::support::at_once::{at_once, Side};
use crate::support::client::Answer;
use crate::support::mfa::{email_code_of, mfa_error, SETUP_CODE_SUBJECT};
use crate::support::passkey::{b64, Claim, SoftPasskey, BE, BS, UP, UV};

const CHANGED_SUBJECT: &str = "A sign-in method of your account changed";

fn message(text: &str) -> Value {
    json!({ "success": true, "message": text })
}

fn registration_failed(answer: &Answer) {
    assert_answer(
        answer,
        StatusCode::BAD_REQUEST,
        &mfa_error("Passkey registration failed", "PASSKEY_REGISTRATION_FAILED"),
    );
}

fn invalid_code(answer: &Answer) {
    assert_answer(
        answer,
        StatusCode::BAD_REQUEST,
        &mfa_error("Invalid verification code", "INVALID_MFA_CODE"),
    );
}

async fn passkey_count(app: &TestApp, account: &Account) -> i64 {
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
    app.count(sql, &[&account.user_id]).await
}

/// `owner` with one passkey registered from their (MFA-less) session, then a pending login.
async fn owner_with_passkey(app: &TestApp) -> (Account, SoftPasskey, Claim, Account) {
    let owner = app.register_verified("owner@example.com").await;
    let passkey = SoftPasskey::new();
    let claim = app.register_passkey(&owner, &passkey, "Laptop").await;
    let pending = app.log_in_pending(&owner).await;
    (owner, passkey, claim, pending)
}

#[tokio::test]
async fn setup_answers_the_creation_options_of_the_public_urls_relying_party() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let setup = app.passkey_setup(&owner).await;

    let port = app.address.rsplit(':').next().unwrap();
    let origin = format!("http://localhost:{port}");
    let user_handle = b64(uuid::Uuid::parse_str(&owner.user_id).unwrap().as_bytes());
    let data = &setup.answer.body["data"];
    let options = &data["options"];
    assert_eq!(
        json!({
            "success": true,
            "data": {
                "challenge": setup.challenge,
                "rpName": "Workspaces",
                "userName": "owner@example.com",
                "rpID": "localhost",
                "origin": origin,
                "userId": user_handle,
                "options": options,
            }
        }),
        setup.answer.body
    );
    assert_eq!(options["challenge"], json!(setup.challenge));
    assert_eq!(
        options["rp"],
        json!({ "id": "localhost", "name": "Workspaces" })
    );
    assert_eq!(options["user"]["id"], json!(user_handle));
    assert_eq!(options["user"]["name"], json!("owner@example.com"));
    assert_eq!(options["timeout"], json!(300000));
    assert_eq!(
        options["pubKeyCredParams"],
        json!([
            { "type": "public-key", "alg": -7 },
            { "type": "public-key", "alg": -257 },
            { "type": "public-key", "alg": -8 },
        ])
    );
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(options["excludeCredentials"], json!([]));
    // Nothing usable changed yet: the method is not on, and no event was written.
    let methods = app.get("/mfa/methods", Some(&owner.access_token)).await;
    assert_eq!(
        methods.body["data"][2],
        json!({
            "type": "PASSKEY",
            "name": "Passkey",
            "description": "WebAuthn security keys and platform authenticators",
            "isAvailable": true,
            "isConfigured": false,
            "isEnabled": false,
        })
    );
    let sql =
        "SELECT COUNT(*) FROM passkey_challenges WHERE user_id = $1 AND purpose = 'register' \
               AND used_at IS NULL";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
}

#[tokio::test]
async fn the_public_url_sets_the_relying_party() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://work.example.com".into());
        config.mfa_issuer = "Acme".into();
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;

    let setup = app.passkey_setup(&owner).await;

    let data = &setup.answer.body["data"];
    assert_eq!(data["rpID"], "work.example.com");
    assert_eq!(data["origin"], "https://work.example.com");
    assert_eq!(data["rpName"], "Acme");
    let passkey = SoftPasskey::new();
    let credential = passkey.register(&setup.challenge, &setup.claim);
    let done = app
        .complete_registration(&owner, json!({ "credential": credential }))
        .await;
    assert_answer(
        &done,
        StatusCode::OK,
        &message("Passkey registration completed"),
    );
}

#[tokio::test]
async fn registering_a_passkey_turns_the_method_on_writes_its_event_and_mails_the_owner() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.log_in(&owner).await;
    let setup = app.passkey_setup(&owner).await;
    let passkey = SoftPasskey::new();
    let credential = passkey.register(&setup.challenge, &setup.claim);
    let mark = app.event_mark().await;

    let body =
        json!({ "credential": credential, "challenge": setup.challenge, "name": " Laptop " });
    let done = app.complete_registration(&owner, body).await;

    assert_answer(
        &done,
        StatusCode::OK,
        &message("Passkey registration completed"),
    );
    let list = app.get("/mfa/passkeys", Some(&owner.access_token)).await;
    let item = &list.body["passkeys"][0];
    assert_eq!(
        list.body,
        json!({
            "success": true,
            "passkeys": [{
                "id": item["id"],
                "name": "Laptop",
                "createdAt": item["createdAt"],
                "backedUp": false,
            }]
        })
    );
    let status = app.get("/mfa/status", Some(&owner.access_token)).await;
    assert_eq!(status.body["data"]["enabledMethods"], json!(["PASSKEY"]));
    assert_eq!(status.body["data"]["primaryMethod"], json!("PASSKEY"));
    assert_eq!(status.body["data"]["sessionVerified"], json!(true));
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["contextId"], json!(owner.user_id));
    assert_eq!(
        events[0]["jsonData"],
        json!({
            "mfaEnabledMethods": { "from": [], "to": ["PASSKEY"] },
            "mfaPrimaryMethod": { "from": null, "to": "PASSKEY" },
            "mfaPasskeys": "changed",
        })
    );
    let mails = app.mailer.to("owner@example.com");
    let notice = mails.last().unwrap();
    assert_eq!(notice.subject, CHANGED_SUBJECT);
    assert!(
        notice.body.contains("A passkey was added"),
        "{}",
        notice.body
    );
    // The stored credential is webauthn-rs's passkey (a public key, no secret), its id the
    // authenticator's, the challenge spent.
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND counter = 1 AND NOT backed_up";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM passkey_challenges WHERE user_id = $1 AND used_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    // The first method ended the other session that never passed MFA.
    let profile = app.get("/user/profile", Some(&other.access_token)).await;
    assert_eq!(profile.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn verify_setup_and_the_alias_register_passkeys_too_and_several_are_kept() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let first = SoftPasskey::new();
    let setup = app.passkey_setup(&owner).await;
    let credential = first.register(&setup.challenge, &setup.claim);
    let body = json!({ "mfaType": "PASSKEY", "credential": credential });
    let done = app
        .post("/mfa/verify-setup", Some(&owner.access_token), body)
        .await;
    assert_answer(
        &done,
        StatusCode::OK,
        &message("Passkey registration completed"),
    );

    // The next setup excludes the passkey registered.
    let setup = app.passkey_setup(&owner).await;
    let excluded = &setup.answer.body["data"]["options"]["excludeCredentials"];
    assert_eq!(excluded[0]["id"], json!(b64(&first.credential_id)));
    // A synchronised passkey (backup eligible, backed up).
    let mut second = SoftPasskey::new();
    second.flags = UP | UV | BE | BS;
    let credential = second.register(&setup.challenge, &setup.claim);
    let done = app
        .post(
            "/mfa/passkey/complete-registration-1",
            Some(&owner.access_token),
            json!({ "credential": credential, "name": "Phone" }),
        )
        .await;
    assert_answer(
        &done,
        StatusCode::OK,
        &message("Passkey registration completed"),
    );

    let list = app.get("/mfa/passkeys", Some(&owner.access_token)).await;
    let names: Vec<&str> = list.body["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Passkey", "Phone"]);
    assert_eq!(list.body["passkeys"][0]["backedUp"], json!(false));
    assert_eq!(list.body["passkeys"][1]["backedUp"], json!(true));
    // Registering the same credential again is refused, and the second user cannot take it.
    let setup = app.passkey_setup(&owner).await;
    let again = second.register(&setup.challenge, &setup.claim);
    registration_failed(
        &app.complete_registration(&owner, json!({ "credential": again }))
            .await,
    );
    assert_eq!(passkey_count(&app, &owner).await, 2);
}

/// A registration answer altered by `alter`, refused with 400 and nothing written.
async fn refused_registration(
    alter: impl FnOnce(&SoftPasskey, &crate::support::passkey::Setup) -> Value,
) {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let setup = app.passkey_setup(&owner).await;
    let passkey = SoftPasskey::new();
    let credential = alter(&passkey, &setup);
    let before = app.snapshot().await;
    let mark = app.event_mark().await;

    let refused = app
        .complete_registration(
            &owner,
            json!({ "credential": credential, "challenge": setup.challenge }),
        )
        .await;

    registration_failed(&refused);
    app.assert_unchanged(&before).await;
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    assert_eq!(passkey_count(&app, &owner).await, 0);
    // The challenge was not spent by the refusal: the right answer still registers.
    let credential = passkey.register(&setup.challenge, &setup.claim);
    let done = app
        .complete_registration(&owner, json!({ "credential": credential }))
        .await;
    assert_answer(
        &done,
        StatusCode::OK,
        &message("Passkey registration completed"),
    );
}

#[tokio::test]
async fn a_registration_from_another_origin_is_refused() {
    refused_registration(|passkey, setup| {
        let claim = Claim {
            origin: "https://evil.example.com".into(),
            ..setup.claim.clone()
        };
        passkey.register(&setup.challenge, &claim)
    })
    .await;
}

#[tokio::test]
async fn a_registration_for_another_rp_id_is_refused() {
    refused_registration(|passkey, setup| {
        let claim = Claim {
            rp_id: "evil.example.com".into(),
            ..setup.claim.clone()
        };
        passkey.register(&setup.challenge, &claim)
    })
    .await;
}

#[tokio::test]
async fn a_tampered_attestation_is_refused() {
    refused_registration(|passkey, setup| {
        let mut credential = passkey.register(&setup.challenge, &setup.claim);
        let object = credential["response"]["attestationObject"]
            .as_str()
            .unwrap()
            .to_owned();
        // Cut the COSE key short.
        credential["response"]["attestationObject"] = json!(object[..object.len() - 12]);
        credential
    })
    .await;
}

#[tokio::test]
async fn a_registration_without_user_presence_or_verification_is_refused() {
    refused_registration(|passkey, setup| {
        let mut lazy = passkey.clone();
        lazy.flags = UP;
        lazy.register(&setup.challenge, &setup.claim)
    })
    .await;
}

#[tokio::test]
async fn unknown_spent_expired_and_other_sessions_challenges_are_refused() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let passkey = SoftPasskey::new();

    // Unknown: a challenge the server never made.
    let setup = app.passkey_setup(&owner).await;
    let unknown = b64(&[7; 32]);
    let credential = passkey.register(&unknown, &setup.claim);
    registration_failed(
        &app.complete_registration(&owner, json!({ "credential": credential }))
            .await,
    );

    // Another session's: the challenge of this one, answered from a second session.
    let second = app.log_in(&owner).await;
    let credential = passkey.register(&setup.challenge, &setup.claim);
    let body = json!({ "credential": credential, "challenge": setup.challenge });
    registration_failed(&app.complete_registration(&second, body).await);

    // Expired: 5 minutes.
    let sql = "UPDATE passkey_challenges SET expires_at = 0 WHERE user_id = $1";
    app.execute(sql, &[&owner.user_id]).await;
    let credential = passkey.register(&setup.challenge, &setup.claim);
    registration_failed(
        &app.complete_registration(&owner, json!({ "credential": credential }))
            .await,
    );
    assert_eq!(passkey_count(&app, &owner).await, 0);

    // Spent: the same answer twice.
    let setup = app.passkey_setup(&owner).await;
    let credential = passkey.register(&setup.challenge, &setup.claim);
    let body = json!({ "credential": credential });
    let done = app.complete_registration(&owner, body.clone()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let other = SoftPasskey::new();
    let replay = other.register(&setup.challenge, &setup.claim);
    registration_failed(
        &app.complete_registration(&owner, json!({ "credential": replay }))
            .await,
    );
    assert_eq!(passkey_count(&app, &owner).await, 1);

    // Missing credential: the field is named.
    let missing = app.complete_registration(&owner, json!({})).await;
    assert_answer(
        &missing,
        StatusCode::BAD_REQUEST,
        &mfa_error("Missing required field: credential", "MISSING_FIELD"),
    );
}

#[tokio::test]
async fn a_pending_session_registers_only_with_the_emailed_code() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enforce_mfa(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    let passkey = SoftPasskey::new();

    let setup = app.passkey_setup(&pending).await;
    let credential = passkey.register(&setup.challenge, &setup.claim);
    let without = app
        .complete_registration(&pending, json!({ "credential": credential }))
        .await;
    registration_failed(&without);
    let sql = "SELECT COUNT(*) FROM mfa_failures WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);

    let mails = app.mailer.to("owner@example.com");
    let mail = mails
        .iter()
        .rev()
        .find(|mail| mail.subject == SETUP_CODE_SUBJECT)
        .unwrap();
    let body = json!({ "credential": credential, "emailCode": email_code_of(mail) });
    let done = app.complete_registration(&pending, body).await;
    assert_answer(
        &done,
        StatusCode::OK,
        &message("Passkey registration completed"),
    );
    let status = app.get("/mfa/status", Some(&pending.access_token)).await;
    assert_eq!(status.body["data"]["sessionVerified"], json!(true));
}

#[tokio::test]
async fn auth_options_list_the_users_passkeys_for_a_pending_session() {
    let app = spawn_app().await;
    let (_, passkey, _, pending) = owner_with_passkey(&app).await;

    let options = app
        .request(
            Method::POST,
            "/mfa/passkey/auth-options",
            Some(&pending.access_token),
            None,
        )
        .await;

    let challenge = options.body["data"]["challenge"].clone();
    assert_eq!(
        options.body,
        json!({
            "success": true,
            "data": {
                "challenge": challenge,
                "rpId": "localhost",
                "userVerification": "preferred",
                "timeout": 300000,
                "allowCredentials": [{
                    "id": b64(&passkey.credential_id),
                    "type": "public-key",
                    "transports": ["internal"],
                }],
            }
        })
    );
    assert!(!challenge.as_str().unwrap().contains('='));
}

#[tokio::test]
async fn auth_options_without_a_passkey_answer_400() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let options = app
        .request(
            Method::POST,
            "/mfa/passkey/auth-options",
            Some(&owner.access_token),
            None,
        )
        .await;
    assert_answer(
        &options,
        StatusCode::BAD_REQUEST,
        &mfa_error("Passkey MFA is not enabled", "MFA_METHOD_NOT_ENABLED"),
    );
}

#[tokio::test]
async fn a_passkey_assertion_verifies_the_pending_session_once() {
    let app = spawn_app().await;
    let (owner, mut passkey, claim, pending) = owner_with_passkey(&app).await;
    let challenge = app.passkey_auth_options(&pending).await;
    let credential = passkey.assert(&challenge, &claim);
    let mark = app.event_mark().await;

    let verified = app
        .verify_login_with_passkey(&pending, credential.clone())
        .await;

    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(
        verified.body["message"],
        json!("MFA verification successful")
    );
    assert_eq!(verified.body["tokenId"], json!(pending.token_id));
    let full = verified.str("accessToken");
    assert_eq!(verified.str("fullAccessToken"), full);
    let workspaces = app.get("/workspace", Some(&full)).await;
    assert_eq!(workspaces.status, StatusCode::OK, "{}", workspaces.body);
    let status = app.get("/mfa/status", Some(&full)).await;
    assert_eq!(status.body["data"]["sessionVerified"], json!(true));
    // Verifying writes no event; the counter and the last use are stored.
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND counter = 2 \
               AND last_used_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    let list = app.get("/mfa/passkeys", Some(&full)).await;
    assert!(
        list.body["passkeys"][0]["lastUsedAt"].is_string(),
        "{}",
        list.body
    );

    // The same assertion again: its challenge is spent.
    let again = app.log_in_pending(&owner).await;
    invalid_code(&app.verify_login_with_passkey(&again, credential).await);
}

#[tokio::test]
async fn refused_assertions_answer_400_count_for_the_lockout_and_change_nothing_else() {
    let app = spawn_app().await;
    let (owner, mut passkey, claim, pending) = owner_with_passkey(&app).await;
    let challenge = app.passkey_auth_options(&pending).await;
    let wrong_origin = Claim {
        origin: "https://evil.example.com".into(),
        ..claim.clone()
    };
    let wrong_rp = Claim {
        rp_id: "evil.example.com".into(),
        ..claim.clone()
    };
    let stranger = SoftPasskey::new();
    let mut tampered = passkey.assert(&challenge, &claim);
    tampered["response"]["signature"] = json!(b64(&[1; 70]));
    let refused = [
        passkey.assert(&challenge, &wrong_origin),
        passkey.assert(&challenge, &wrong_rp),
        passkey.assert(&b64(&[9; 32]), &claim),
        stranger.clone().assert(&challenge, &claim),
        tampered,
    ];
    let before = app.snapshot().await;
    for credential in refused {
        invalid_code(&app.verify_login_with_passkey(&pending, credential).await);
    }
    let sql = "SELECT COUNT(*) FROM mfa_failures WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 5);
    // Five failures lock this client out, even for a right assertion.
    let right = passkey.assert(&challenge, &claim);
    let locked = app.verify_login_with_passkey(&pending, right).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert_eq!(locked.body["error_code"], json!("MFA_LOCKED"));
    // Nothing but the failures changed: the session is still pending, the passkey as it was.
    app.execute(
        "DELETE FROM mfa_failures WHERE user_id = $1",
        &[&owner.user_id],
    )
    .await;
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_counter_that_does_not_increase_is_refused_but_one_that_stays_0_is_not() {
    let app = spawn_app().await;
    let (owner, mut passkey, claim, _) = owner_with_passkey(&app).await;
    let pending = app.log_in_pending(&owner).await;
    passkey.counter = 4;
    let challenge = app.passkey_auth_options(&pending).await;
    let ok = app
        .verify_login_with_passkey(&pending, passkey.assert(&challenge, &claim))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    // A clone saying 3, then one saying 5 again: both refused.
    for counter in [2, 4] {
        let pending = app.log_in_pending(&owner).await;
        let challenge = app.passkey_auth_options(&pending).await;
        let mut clone = passkey.clone();
        clone.counter = counter;
        let refused = app
            .verify_login_with_passkey(&pending, clone.assert(&challenge, &claim))
            .await;
        invalid_code(&refused);
    }
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND counter = 5";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);

    // An authenticator that keeps no counter says 0 every time, and is accepted every time.
    let other = app.register_verified("other@example.com").await;
    let mut counterless = SoftPasskey::without_counter();
    let claim = app.register_passkey(&other, &counterless, "Key").await;
    for _ in 0..2 {
        let pending = app.log_in_pending(&other).await;
        let challenge = app.passkey_auth_options(&pending).await;
        let ok = app
            .verify_login_with_passkey(&pending, counterless.assert(&challenge, &claim))
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
}

#[tokio::test]
async fn another_users_passkey_does_not_pass_a_users_second_factor() {
    let app = spawn_app().await;
    let (_, _, claim, pending) = owner_with_passkey(&app).await;
    let mallory = app.register_verified("mallory@example.com").await;
    let mut hers = SoftPasskey::new();
    app.register_passkey(&mallory, &hers, "Mine").await;

    let challenge = app.passkey_auth_options(&pending).await;
    let refused = app
        .verify_login_with_passkey(&pending, hers.assert(&challenge, &claim))
        .await;

    invalid_code(&refused);
}

#[tokio::test]
async fn passkeys_are_renamed_and_removed_the_last_one_with_the_method() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let session = app.log_in(&owner).await;
    app.register_passkey(&session, &SoftPasskey::new(), "Laptop")
        .await;
    app.register_passkey(&session, &SoftPasskey::new(), "Phone")
        .await;
    let list = app.get("/mfa/passkeys", Some(&session.access_token)).await;
    let first = list.body["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let second = list.body["passkeys"][1]["id"].as_str().unwrap().to_owned();

    let mark = app.event_mark().await;
    let renamed = app
        .request(
            Method::PUT,
            &format!("/mfa/passkeys/{first}"),
            Some(&session.access_token),
            Some(json!({ "name": "Work laptop" })),
        )
        .await;
    assert_answer(&renamed, StatusCode::OK, &message("Passkey renamed"));
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND name = 'Work laptop'";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["jsonData"], json!({ "mfaPasskeys": "changed" }));

    // Someone else's passkey, an unknown id and a malformed one are not found.
    let mallory = app.register_verified("mallory@example.com").await;
    let before = app.snapshot().await;
    for id in [
        first.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "nope",
    ] {
        let answer = app
            .request(
                Method::PUT,
                &format!("/mfa/passkeys/{id}"),
                Some(&mallory.access_token),
                Some(json!({ "name": "Mine" })),
            )
            .await;
        assert_answer(
            &answer,
            StatusCode::NOT_FOUND,
            &mfa_error("Passkey not found", "PASSKEY_NOT_FOUND"),
        );
        let answer = app
            .delete(&format!("/mfa/passkeys/{id}"), Some(&mallory.access_token))
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    }
    let blank = app
        .request(
            Method::PUT,
            &format!("/mfa/passkeys/{first}"),
            Some(&session.access_token),
            Some(json!({ "name": "  " })),
        )
        .await;
    assert_answer(
        &blank,
        StatusCode::BAD_REQUEST,
        &mfa_error("Passkey name is required", "INVALID_FIELD"),
    );
    app.assert_unchanged(&before).await;

    let removed = app
        .delete(
            &format!("/mfa/passkeys/{first}"),
            Some(&session.access_token),
        )
        .await;
    assert_answer(&removed, StatusCode::OK, &message("Passkey removed"));
    let status = app.get("/mfa/status", Some(&session.access_token)).await;
    assert_eq!(status.body["data"]["enabledMethods"], json!(["PASSKEY"]));

    let mark = app.event_mark().await;
    let last = app
        .delete(
            &format!("/mfa/passkeys/{second}"),
            Some(&session.access_token),
        )
        .await;
    assert_answer(&last, StatusCode::OK, &message("Passkey removed"));
    assert_eq!(passkey_count(&app, &owner).await, 0);
    let status = app.get("/mfa/status", Some(&session.access_token)).await;
    assert_eq!(status.body["data"]["enabledMethods"], json!([]));
    let events = app.events_since(&mark).await;
    assert_eq!(
        events[0]["jsonData"],
        json!({
            "mfaEnabledMethods": { "from": ["PASSKEY"], "to": [] },
            "mfaPrimaryMethod": { "from": "PASSKEY", "to": null },
            "mfaPasskeys": "changed",
        })
    );
    let notice = app.mailer.to("owner@example.com").pop().unwrap();
    assert!(
        notice.body.contains("A passkey was removed"),
        "{}",
        notice.body
    );
}

#[tokio::test]
async fn the_last_passkey_stays_while_the_organization_enforces_mfa() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let session = app.log_in(&owner).await;
    app.register_passkey(&session, &SoftPasskey::new(), "Laptop")
        .await;
    app.enforce_mfa(&session).await;
    let list = app.get("/mfa/passkeys", Some(&session.access_token)).await;
    let id = list.body["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;
    let mark = app.event_mark().await;

    let refused = app
        .delete(&format!("/mfa/passkeys/{id}"), Some(&session.access_token))
        .await;

    assert_answer(
        &refused,
        StatusCode::FORBIDDEN,
        &mfa_error(
            "Cannot disable MFA when enforced by organization",
            "MFA_ENFORCED",
        ),
    );
    app.assert_unchanged(&before).await;
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    // With another method on, it may go.
    app.enrol_totp(&session).await;
    let removed = app
        .delete(&format!("/mfa/passkeys/{id}"), Some(&session.access_token))
        .await;
    assert_answer(&removed, StatusCode::OK, &message("Passkey removed"));
}

#[tokio::test]
async fn a_pending_session_cannot_list_or_change_passkeys_and_a_reset_removes_them() {
    let app = spawn_app().await;
    let (owner, _, _, pending) = owner_with_passkey(&app).await;
    let list = app.get("/mfa/passkeys", Some(&pending.access_token)).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN, "{}", list.body);
    let setup = app
        .post(
            "/mfa/setup",
            Some(&pending.access_token),
            json!({ "mfaType": "PASSKEY" }),
        )
        .await;
    assert_eq!(setup.status, StatusCode::FORBIDDEN, "{}", setup.body);

    // The owner's own reset (from the session that registered, verified) removes them.
    let reset = app
        .post("/mfa/reset", Some(&owner.access_token), json!({}))
        .await;
    assert_answer(&reset, StatusCode::OK, &message("MFA reset successfully"));
    assert_eq!(passkey_count(&app, &owner).await, 0);
    let sql = "SELECT COUNT(*) FROM passkey_challenges WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 0);
}

/// The public URL both instances of a race share.
const SHARED_ORIGIN: &str = "https://work.example.com";

/// `verify-login` of `session` with a passkey's `credential`, through `side`.
fn verify_through(side: &Side, session: &Account, credential: &Value) -> reqwest::Request {
    side.request(
        Method::POST,
        "/mfa/verify-login",
        &session.access_token,
        Some(json!({ "mfaType": "PASSKEY", "credential": credential })),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_assertion_sent_to_two_instances_at_once_passes_once() {
    // One relying party for both (by default each names its own port as its origin, and the
    // second would refuse every assertion made for the first).
    let app = spawn_app_with(|config| config.public_url = Some(SHARED_ORIGIN.into())).await;
    let second = second_instance_with(&app, |config| {
        config.public_url = Some(SHARED_ORIGIN.into());
    })
    .await;
    let (one, two) = (Side::new(&app.address), Side::new(second));
    let owner = app.register_verified("owner@example.com").await;
    // Its counter stays 0, so only the single use of the challenge stands between the two.
    let mut passkey = SoftPasskey::without_counter();
    let claim = app.register_passkey(&owner, &passkey, "Key").await;
    for round in 0..4 {
        let pending = app.log_in_pending(&owner).await;
        let challenge = app.passkey_auth_options(&pending).await;
        let credential = passkey.assert(&challenge, &claim);

        let (a, b) = at_once(
            (&one, verify_through(&one, &pending, &credential)),
            (&two, verify_through(&two, &pending, &credential)),
        )
        .await;

        let statuses = [a.status, b.status];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::BAD_REQUEST),
            "round {round}: {} {} / {} {}",
            a.status,
            a.body,
            b.status,
            b.body
        );
        app.execute("DELETE FROM mfa_failures", &[]).await;
    }
}
