//! Signing in with a passkey alone (contract section 14): `POST /auth/passkey/options` and
//! `POST /auth/passkey/verify`, with the software authenticator of `support::passkey` answering
//! as a discoverable credential (with its user handle). The sign-in and its session, each
//! refusal (whole answer, nothing written, the ceremony left live), the rate limit, and one
//! assertion sent to two instances at once.

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use workspaces::config::RateLimitConfig;

use crate::support::accounts::Account;
use crate::support::app::{second_instance_with, spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body};
use crate::support::at_once::{at_once, Side};
use crate::support::client::Answer;
use crate::support::clock::now_ms;
use crate::support::passkey::{b64, user_handle, Claim, SoftPasskey, UP};

fn invalid_passkey(answer: &Answer) {
    assert_answer(
        answer,
        StatusCode::UNAUTHORIZED,
        &error_body("Invalid passkey", "INVALID_PASSKEY"),
    );
}

/// A verified owner with one passkey (registered from their MFA-less session: `PASSKEY` is
/// now their method).
async fn owner_with_passkey(app: &TestApp, passkey: &SoftPasskey) -> (Account, Claim) {
    let owner = app.register_verified("owner@example.com").await;
    let claim = app.register_passkey(&owner, passkey, "Laptop").await;
    (owner, claim)
}

/// Sign-in ceremonies still live and unspent.
async fn live_sign_in_ceremonies(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM passkey_challenges WHERE purpose = 'sign_in' \
               AND used_at IS NULL";
    app.count(sql, &[]).await
}

/// Asserts the sign-in's 200, whole, for `owner`; the session's access token.
#[track_caller]
fn assert_signed_in(answer: &Answer, owner: &Account) -> String {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let expected = json!({
        "success": true,
        "accessToken": answer.body["accessToken"],
        "refreshToken": answer.body["refreshToken"],
        "tokenId": answer.body["tokenId"],
        "expiresAt": answer.body["expiresAt"],
        "user": {
            "id": owner.user_id,
            "email": owner.email,
            "name": owner.first_name,
            "orgId": owner.org_id,
            "orgRole": 255,
        },
    });
    assert_answer(answer, StatusCode::OK, &expected);
    for field in ["accessToken", "refreshToken", "tokenId"] {
        assert!(answer.body[field].as_str().is_some_and(|t| !t.is_empty()));
    }
    let expires_at = answer.body["expiresAt"].as_i64().unwrap();
    let hour = now_ms() + 3_600_000;
    assert!((hour - 60_000..=hour).contains(&expires_at), "{expires_at}");
    answer.str("accessToken")
}

#[tokio::test]
async fn options_answer_a_challenge_for_any_discoverable_credential_bound_to_no_session() {
    let app = spawn_app().await;

    // Public: no token needed, and a stale one is ignored.
    let answer = app
        .request(Method::POST, "/auth/passkey/options", Some("stale"), None)
        .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let challenge = answer.body["data"]["challenge"].as_str().unwrap();
    assert_eq!(
        answer.body,
        json!({
            "success": true,
            "data": {
                "challenge": challenge,
                "rpId": "localhost",
                "userVerification": "required",
                "timeout": 300000,
                "allowCredentials": [],
            }
        })
    );
    assert!(
        challenge.len() >= 43 && !challenge.contains('='),
        "{challenge}"
    );
    let sql = "SELECT COUNT(*) FROM passkey_challenges WHERE purpose = 'sign_in' \
               AND user_id IS NULL AND session_id IS NULL AND used_at IS NULL \
               AND expires_at - created_at = 300000";
    assert_eq!(app.count(sql, &[]).await, 1);
    // Each call is a ceremony of its own.
    let again = app.passkey_sign_in_options().await;
    assert_ne!(again, challenge);
    assert_eq!(live_sign_in_ceremonies(&app).await, 2);
}

#[tokio::test]
async fn a_passkey_that_verifies_its_user_signs_in_with_an_mfa_verified_session() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let challenge = app.passkey_sign_in_options().await;
    let credential = passkey.assert_as(&challenge, &claim, &user_handle(&owner));
    let mark = app.event_mark().await;

    let answer = app.passkey_sign_in(credential).await;

    let access = assert_signed_in(&answer, &owner);
    // The session is verified: it reaches everything, and says so.
    let workspaces = app.get("/workspace", Some(&access)).await;
    assert_eq!(workspaces.status, StatusCode::OK, "{}", workspaces.body);
    let status = app.get("/mfa/status", Some(&access)).await;
    assert_eq!(status.body["data"]["sessionVerified"], json!(true));
    let sessions = app.get("/sessions", Some(&access)).await;
    let current = sessions.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == answer.body["tokenId"])
        .cloned()
        .unwrap();
    assert_eq!(current["loginMethod"], json!("PASSKEY"));
    let token_id = answer.str("tokenId");
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND user_id = $2 \
               AND login_method = 'PASSKEY' AND mfa_verified AND NOT mfa_pending \
               AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&token_id, &owner.user_id]).await, 1);
    // The refresh token works (a pending session's would not).
    let refreshed = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": answer.str("refreshToken") }),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    // A login writes no event (contract section 7); the ceremony is spent, the counter and
    // the last use stored.
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    assert_eq!(live_sign_in_ceremonies(&app).await, 0);
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND counter = 2 \
               AND last_used_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
}

/// Sends `credential` (answering a live ceremony) and asserts the 401, that nothing changed,
/// and that the ceremony is still live.
async fn refused(app: &TestApp, credential: Value) {
    let before = app.snapshot().await;
    let live = live_sign_in_ceremonies(app).await;

    let answer = app.passkey_sign_in(credential).await;

    invalid_passkey(&answer);
    app.assert_unchanged(&before).await;
    assert_eq!(live_sign_in_ceremonies(app).await, live);
}

#[tokio::test]
async fn an_assertion_without_user_verification_is_refused() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let challenge = app.passkey_sign_in_options().await;
    // The same passkey, its user present but not verified: one factor, not two.
    passkey.flags = UP;
    let credential = passkey.assert_as(&challenge, &claim, &user_handle(&owner));

    refused(&app, credential).await;

    // Verified, the same ceremony still signs in.
    passkey.flags |= crate::support::passkey::UV;
    let credential = passkey.assert_as(&challenge, &claim, &user_handle(&owner));
    assert_signed_in(&app.passkey_sign_in(credential).await, &owner);
}

#[tokio::test]
async fn an_unknown_credential_and_another_users_handle_are_refused() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let other = app.register_verified("other@example.com").await;
    let challenge = app.passkey_sign_in_options().await;

    // A passkey this server never registered.
    let mut stranger = SoftPasskey::new();
    refused(
        &app,
        stranger.assert_as(&challenge, &claim, &user_handle(&owner)),
    )
    .await;
    // The owner's passkey saying it is another user's, or no one's.
    refused(
        &app,
        passkey.assert_as(&challenge, &claim, &user_handle(&other)),
    )
    .await;
    refused(&app, passkey.assert(&challenge, &claim)).await;
    // Something that is no assertion at all.
    refused(&app, json!({ "id": "x", "type": "public-key" })).await;
}

#[tokio::test]
async fn a_spent_an_expired_and_another_ceremonys_challenge_are_refused() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);

    // Spent: the same assertion again, or a new one answering the same challenge.
    let challenge = app.passkey_sign_in_options().await;
    let credential = passkey.assert_as(&challenge, &claim, &handle);
    assert_signed_in(&app.passkey_sign_in(credential.clone()).await, &owner);
    refused(&app, credential).await;
    refused(&app, passkey.assert_as(&challenge, &claim, &handle)).await;

    // Expired: its 5 minutes are over.
    let challenge = app.passkey_sign_in_options().await;
    let back_dated = app
        .execute(
            &format!(
                "UPDATE passkey_challenges SET expires_at = {} WHERE purpose = 'sign_in' \
                 AND used_at IS NULL",
                now_ms() - 1
            ),
            &[],
        )
        .await;
    assert_eq!(back_dated, 1);
    refused(&app, passkey.assert_as(&challenge, &claim, &handle)).await;

    // Unknown, and a second factor's ceremony (bound to a session) used to sign in.
    refused(
        &app,
        passkey.assert_as("AAAAAAAAAAAAAAAAAAAAAA", &claim, &handle),
    )
    .await;
    let pending = app.log_in_pending(&owner).await;
    let second_factor = app.passkey_auth_options(&pending).await;
    refused(&app, passkey.assert_as(&second_factor, &claim, &handle)).await;
}

#[tokio::test]
async fn a_counter_that_does_not_increase_is_refused() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);
    passkey.counter = 9;
    let challenge = app.passkey_sign_in_options().await;
    assert_signed_in(
        &app.passkey_sign_in(passkey.assert_as(&challenge, &claim, &handle))
            .await,
        &owner,
    );

    // A clone of the authenticator, behind it: 10 again, then 6.
    let challenge = app.passkey_sign_in_options().await;
    passkey.counter = 9;
    refused(&app, passkey.assert_as(&challenge, &claim, &handle)).await;
    passkey.counter = 5;
    refused(&app, passkey.assert_as(&challenge, &claim, &handle)).await;
    let sql = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND counter = 10";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
}

/// `credential` with its client data replaced by `edit` of it (the signature unchanged).
fn with_client_data(credential: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let encoded = credential["response"]["clientDataJSON"].as_str().unwrap();
    let mut data: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    edit(&mut data);
    let mut tampered = credential.clone();
    tampered["response"]["clientDataJSON"] = json!(b64(&serde_json::to_vec(&data).unwrap()));
    tampered
}

#[tokio::test]
async fn tampered_client_data_a_bad_signature_another_origin_or_rp_id_are_refused() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);
    let challenge = app.passkey_sign_in_options().await;
    let credential = passkey.assert_as(&challenge, &claim, &handle);

    // The client data changed after signing (another origin, another type).
    let moved = with_client_data(&credential, |d| d["origin"] = json!("https://evil.example"));
    refused(&app, moved).await;
    let retyped = with_client_data(&credential, |d| d["type"] = json!("webauthn.create"));
    refused(&app, retyped).await;
    // The signature of other bytes.
    let mut forged = credential.clone();
    let other = passkey.assert_as(&challenge, &claim, &handle);
    forged["response"]["signature"] = other["response"]["signature"].clone();
    refused(&app, forged).await;
    // Signed honestly, but in another origin's page, or for another relying party.
    let elsewhere = Claim {
        origin: "https://evil.example".into(),
        rp_id: claim.rp_id.clone(),
    };
    refused(&app, passkey.assert_as(&challenge, &elsewhere, &handle)).await;
    let other_rp = Claim {
        origin: claim.origin.clone(),
        rp_id: "evil.example".into(),
    };
    refused(&app, passkey.assert_as(&challenge, &other_rp, &handle)).await;

    // None of these spent the ceremony: the honest assertion still signs in.
    assert_signed_in(&app.passkey_sign_in(credential).await, &owner);
}

#[tokio::test]
async fn a_deleted_user_or_one_whose_passkeys_are_off_cannot_sign_in() {
    let app = spawn_app().await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);
    let challenge = app.passkey_sign_in_options().await;

    let disabled = app
        .post(
            "/mfa/disable",
            Some(&owner.access_token),
            json!({ "mfaType": "PASSKEY" }),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    refused(&app, passkey.assert_as(&challenge, &claim, &handle)).await;

    let enabled = app
        .post(
            "/mfa/enable",
            Some(&owner.access_token),
            json!({ "mfaType": "PASSKEY" }),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    let deleted = app
        .execute(
            &format!("UPDATE users SET deleted_at = {} WHERE id = $1", now_ms()),
            &[&owner.user_id],
        )
        .await;
    assert_eq!(deleted, 1);
    refused(&app, passkey.assert_as(&challenge, &claim, &handle)).await;
}

#[tokio::test]
async fn a_missing_credential_is_400() {
    let app = spawn_app().await;

    let answer = app.post("/auth/passkey/verify", None, json!({})).await;

    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &error_body("Missing required field: credential", "MISSING_FIELD"),
    );
}

#[tokio::test]
async fn both_routes_are_rate_limited_per_address_like_login() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            per_ip_per_minute: 2,
            ..RateLimitConfig::OFF
        }
    })
    .await;

    app.passkey_sign_in_options().await;
    invalid_passkey(&app.passkey_sign_in(json!({ "id": "x" })).await);
    let options = app
        .request(Method::POST, "/auth/passkey/options", None, None)
        .await;
    let verify = app.passkey_sign_in(json!({ "id": "x" })).await;

    for limited in [&options, &verify] {
        assert_answer(
            limited,
            StatusCode::TOO_MANY_REQUESTS,
            &error_body("Too many requests, try again later", "RATE_LIMITED"),
        );
        let retry_after: u64 = limited.headers[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
}

#[tokio::test]
async fn failed_sign_ins_of_one_credential_lock_it_out_for_that_address() {
    let app = spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            per_account_per_minute: 2,
            ..RateLimitConfig::OFF
        }
    })
    .await;
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);
    let challenge = app.passkey_sign_in_options().await;
    let mut unverified = passkey.clone();
    unverified.flags = UP;

    for _ in 0..2 {
        let credential = unverified.assert_as(&challenge, &claim, &handle);
        invalid_passkey(&app.passkey_sign_in(credential).await);
    }
    let credential = passkey.assert_as(&challenge, &claim, &handle);
    let locked = app.passkey_sign_in(credential).await;

    assert_answer(
        &locked,
        StatusCode::TOO_MANY_REQUESTS,
        &error_body("Too many requests, try again later", "RATE_LIMITED"),
    );
    assert_eq!(live_sign_in_ceremonies(&app).await, 1);
}

/// The public URL both instances of a race share.
const SHARED_ORIGIN: &str = "https://work.example.com";

/// `POST /auth/passkey/verify` of `credential` through `side` (with a stale token, which the
/// public route ignores).
fn sign_in_through(side: &Side, credential: &Value) -> reqwest::Request {
    side.request(
        Method::POST,
        "/auth/passkey/verify",
        "stale",
        Some(json!({ "credential": credential })),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_assertion_sent_to_two_instances_at_once_signs_in_once() {
    // One relying party for both (by default each names its own port as its origin, and the
    // second would refuse every assertion made for the first).
    let app = spawn_app_with(|config| config.public_url = Some(SHARED_ORIGIN.into())).await;
    let second = second_instance_with(&app, |config| {
        config.public_url = Some(SHARED_ORIGIN.into());
    })
    .await;
    let (one, two) = (Side::new(&app.address), Side::new(second));
    // Its counter stays 0, so only the single use of the ceremony stands between the two.
    let mut passkey = SoftPasskey::without_counter();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);
    for round in 0..20 {
        let challenge = app.passkey_sign_in_options().await;
        let credential = passkey.assert_as(&challenge, &claim, &handle);
        let sessions = "SELECT COUNT(*) FROM sessions WHERE login_method = 'PASSKEY'";
        let before = app.count(sessions, &[]).await;

        let (a, b) = at_once(
            (&one, sign_in_through(&one, &credential)),
            (&two, sign_in_through(&two, &credential)),
        )
        .await;

        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::UNAUTHORIZED],
            "round {round}: {} {} / {} {}",
            a.status,
            a.body,
            b.status,
            b.body
        );
        assert_eq!(app.count(sessions, &[]).await, before + 1, "round {round}");
    }
}

#[tokio::test]
async fn the_clean_up_deletes_sign_in_ceremonies_expired_past_its_grace_and_keeps_live_ones() {
    use std::time::Duration;
    use workspaces::store::{connect, CleanupPolicy, StoreOptions};
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    let app = spawn_app().await;
    let old = app.passkey_sign_in_options().await;
    let live = app.passkey_sign_in_options().await;
    let sql = format!(
        "UPDATE passkey_challenges SET expires_at = {} WHERE challenge = '{old}'",
        now_ms() - 8 * DAY_MS
    );
    assert_eq!(app.execute(&sql, &[]).await, 1);

    let store = connect(&app.database_url, &StoreOptions::default())
        .await
        .unwrap();
    let policy = CleanupPolicy {
        grace_ms: 7 * DAY_MS,
        unverified_account_ttl_ms: None,
        batch: 100,
        pause: Duration::ZERO,
    };
    let report = store.clean_up(&policy, now_ms()).await.unwrap();

    assert_eq!(report.passkey_challenges, 1);
    let sql = format!("SELECT COUNT(*) FROM passkey_challenges WHERE challenge = '{live}'");
    assert_eq!(app.count(&sql, &[]).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM passkey_challenges", &[])
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clones_with_one_counter_value_sign_in_once_and_the_loser_writes_nothing() {
    // Whether the loser is refused by webauthn-rs (it read the winner's counter) or by the
    // store's conditional counter update after it spent its own ceremony (both read the old
    // one), it is 401 and its ceremony stays live: the second path rolls the spend back.
    let app = spawn_app_with(|config| config.public_url = Some(SHARED_ORIGIN.into())).await;
    let second = second_instance_with(&app, |config| {
        config.public_url = Some(SHARED_ORIGIN.into());
    })
    .await;
    let (one, two) = (Side::new(&app.address), Side::new(second));
    let mut passkey = SoftPasskey::new();
    let (owner, claim) = owner_with_passkey(&app, &passkey).await;
    let handle = user_handle(&owner);
    for round in 0..10 {
        let mut clone = passkey.clone();
        let (first, other) = (
            app.passkey_sign_in_options().await,
            app.passkey_sign_in_options().await,
        );
        let a = passkey.assert_as(&first, &claim, &handle);
        let b = clone.assert_as(&other, &claim, &handle);
        assert_eq!(passkey.counter, clone.counter);

        let (a, b) = at_once(
            (&one, sign_in_through(&one, &a)),
            (&two, sign_in_through(&two, &b)),
        )
        .await;

        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::UNAUTHORIZED],
            "round {round}: {} / {}",
            a.body,
            b.body
        );
        assert_eq!(live_sign_in_ceremonies(&app).await, 1, "round {round}");
        app.execute("DELETE FROM passkey_challenges", &[]).await;
    }
}
