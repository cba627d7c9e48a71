//! Logging in with a second factor: the pending session, `POST /mfa/verify-login` with TOTP
//! codes (drift, replay), backup codes and sign-in links, and the lockout. Races between
//! verifications are in `mfa_races.rs`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{second_instance, spawn_app, TestApp};
use crate::support::assertions::{assert_answer, assert_error};
use crate::support::client::Answer;
use crate::support::clock::now_ms;
use crate::support::mfa::{forget_spent_steps, mfa_error, totp, within_one_step};

fn invalid_code() -> Value {
    mfa_error("Invalid verification code", "INVALID_MFA_CODE")
}

#[tokio::test]
async fn a_password_alone_opens_only_a_pending_session_which_totp_then_verifies() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let mark = app.event_mark().await;

    let login = app.login(&owner.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["mfaRequired"], json!(true));
    assert_eq!(login.body["user"]["id"], json!(owner.user_id));
    let pending = app.log_in_pending(&owner).await;
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND mfa_pending AND NOT mfa_verified";
    assert_eq!(app.count(sql, &[&pending.token_id]).await, 1);

    // The profile answers, the rest of the API does not, and the session cannot refresh.
    let profile = app.get("/user/profile", Some(&pending.access_token)).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(profile.body["data"]["mfaRequired"], json!(true));
    let workspaces = app.get("/workspace", Some(&pending.access_token)).await;
    assert_error(
        &workspaces,
        403,
        "MFA verification required",
        "MFA_REQUIRED",
    );
    let created = app.create_workspace(&pending.access_token, "Not yet").await;
    assert_error(&created, 403, "MFA verification required", "MFA_REQUIRED");
    let refresh = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": pending.refresh_token }),
        )
        .await;
    assert_error(
        &refresh,
        401,
        "Invalid or expired refresh token",
        "INVALID_REFRESH_TOKEN",
    );
    let status = app.get("/mfa/status", Some(&pending.access_token)).await;
    assert_eq!(status.body["data"]["sessionVerified"], json!(false));

    let code = enrolled.fresh_code(enrolled.enrolled_step);
    let verified = app.verify_login(&pending, &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let access = verified.str("accessToken");
    let expected = json!({
        "success": true,
        "message": "MFA verification successful",
        "fullAccessToken": access,
        "accessToken": access,
        "refreshToken": verified.str("refreshToken"),
        "tokenId": pending.token_id,
        "expiresAt": verified.body["expiresAt"],
    });
    assert_answer(&verified, StatusCode::OK, &expected);
    let expires_at = verified.body["expiresAt"].as_i64().unwrap();
    assert!((expires_at - now_ms() - 3_600_000).abs() < 60_000);
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND NOT mfa_pending AND mfa_verified";
    assert_eq!(app.count(sql, &[&pending.token_id]).await, 1);

    // The same session now has full access, with the old access token too.
    for token in [&pending.access_token, &access] {
        let listed = app.get("/workspace", Some(token)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    }
    let status = app.get("/mfa/status", Some(&access)).await;
    assert_eq!(status.body["data"]["sessionVerified"], json!(true));
    // The login's refresh token was replaced; the new one refreshes (and keeps the session).
    let old = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": pending.refresh_token }),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let refreshed = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": verified.str("refreshToken") }),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    // A verification is a login, not a change: no event.
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
}

#[tokio::test]
async fn one_step_of_drift_is_accepted_two_are_not_and_a_code_works_once() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let secret = app.enrol_totp(&owner).await.secret;
    // Each code is of a step counted from the one the server checks it in (`within_one_step`);
    // a request that straddled a step boundary proves nothing and, as it may have passed or
    // failed, is made again from a clean slate: a new pending session, no step spent, no
    // failure counted.
    let clean_slate = async || {
        forget_spent_steps(&app, &owner.user_id).await;
        app.execute("DELETE FROM mfa_failures", &[]).await;
        app.log_in_pending(&owner).await
    };

    let mut pending = clean_slate().await;
    for offset in [-2, 2, -40, 40] {
        let answer = loop {
            let verify = async |code: String| app.verify_login(&pending, &code).await;
            match within_one_step(&secret, offset, verify).await {
                Some((_, answer)) => break answer,
                None => pending = clean_slate().await,
            }
        };
        assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_code());
    }
    // Those were 4 failures: clear them so that this test is not about the lockout.
    app.execute("DELETE FROM mfa_failures", &[]).await;
    for malformed in ["12345", "1234567", "abcdef", "12 34 56x"] {
        let answer = app.verify_login(&pending, malformed).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_code());
    }
    app.execute("DELETE FROM mfa_failures", &[]).await;

    let (step, behind) = loop {
        let verify = async |code: String| app.verify_login(&pending, &code).await;
        match within_one_step(&secret, -1, verify).await {
            Some(checked) => break checked,
            None => pending = clean_slate().await,
        }
    };
    assert_eq!(behind.status, StatusCode::OK, "{}", behind.body);

    // Replay: the code just used, and any older one, are refused to a second session.
    let mut second = app.log_in_pending(&owner).await;
    for spent in [step - 1, step - 2] {
        let replayed = app.verify_login(&second, &totp(&secret, spent)).await;
        assert_answer(&replayed, StatusCode::BAD_REQUEST, &invalid_code());
    }
    let (step, ahead) = loop {
        let verify = async |code: String| app.verify_login(&second, &code).await;
        match within_one_step(&secret, 1, verify).await {
            Some(checked) => break checked,
            None => second = clean_slate().await,
        }
    };
    assert_eq!(ahead.status, StatusCode::OK, "{}", ahead.body);
    // The step of now is older than the one just spent: refused, whenever it is presented.
    let third = app.log_in_pending(&owner).await;
    let now_code = app.verify_login(&third, &totp(&secret, step)).await;
    assert_answer(&now_code, StatusCode::BAD_REQUEST, &invalid_code());
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND mfa_pending";
    assert_eq!(app.count(sql, &[&third.token_id]).await, 1);
}

#[tokio::test]
async fn a_backup_code_works_once_in_place_of_a_totp_code() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let code = &enrolled.backup_codes[3];

    let pending = app.log_in_pending(&owner).await;
    // Case and dashes do not matter.
    let typed = code.to_uppercase().replace('-', "");
    let verified = app.verify_login(&pending, &typed).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let sql = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NOT NULL";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);

    let again = app.log_in_pending(&owner).await;
    let reused = app.verify_login(&again, code).await;
    assert_answer(&reused, StatusCode::BAD_REQUEST, &invalid_code());
    let other = app.verify_login(&again, &enrolled.backup_codes[4]).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 2);
}

#[tokio::test]
async fn five_failures_lock_verification_for_fifteen_minutes_even_for_a_right_code_and_a_new_login()
{
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    for _ in 0..5 {
        let answer = app.verify_login(&pending, "000000").await;
        // (One in a million: 000000 is the right code.)
        assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_code());
    }
    let sql = "SELECT COUNT(*) FROM mfa_failures WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 5);

    let fresh_login = app.log_in_pending(&owner).await;
    // Five minutes on, ten are left.
    app.execute(
        "UPDATE mfa_failures SET failed_at = failed_at - 300000 WHERE user_id = $1",
        &[&owner.user_id],
    )
    .await;
    let newest = "SELECT MAX(failed_at) FROM mfa_failures WHERE user_id = $1";
    let unlocked_at = app.count(newest, &[&owner.user_id]).await + 900_000;
    let before = app.snapshot().await;
    for session in [&pending, &fresh_login] {
        let sent = now_ms();
        let right = app.verify_login(session, &enrolled.backup_codes[0]).await;
        let answered = now_ms();
        assert_answer(
            &right,
            StatusCode::TOO_MANY_REQUESTS,
            &mfa_error("Too many failed attempts", "MFA_LOCKED"),
        );
        assert_retry_after(&right, unlocked_at, (sent, answered));
    }
    // Locked out, nothing is checked or spent.
    app.assert_unchanged(&before).await;

    // Once the 15 minutes since the last failure have passed, the right code works.
    app.execute(
        "UPDATE mfa_failures SET failed_at = failed_at - 600000 WHERE user_id = $1",
        &[&owner.user_id],
    )
    .await;
    let later = app
        .verify_login(&fresh_login, &enrolled.backup_codes[0])
        .await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 0);
}

/// Failures made over the window lock only while five of them are in it: the lock lifts, and
/// `Retry-After` says so, when the oldest of the last five leaves the window, not 15 minutes
/// after the newest.
#[tokio::test]
async fn retry_after_counts_to_when_the_fifth_newest_failure_leaves_the_window() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    for _ in 0..5 {
        let answer = app.verify_login(&pending, "000000").await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_code());
    }
    // Spread over the window: 14, 13, 12, 11 and 1 minute(s) ago.
    let now = now_ms();
    let ages = [14, 13, 12, 11, 1].map(|minutes| now - minutes * 60_000);
    // Rewritten as such rows, from the client that made them.
    let client = app
        .strings(
            "SELECT DISTINCT client FROM mfa_failures WHERE user_id = $1",
            &[&owner.user_id],
        )
        .await;
    assert_eq!(client.len(), 1, "{client:?}");
    let user = &owner.user_id;
    app.execute("DELETE FROM mfa_failures WHERE user_id = $1", &[user])
        .await;
    for at in ages {
        let sql = format!(
            "INSERT INTO mfa_failures (user_id, failed_at, client) VALUES ($1, {at}, '{}')",
            client[0]
        );
        app.execute(&sql, &[user]).await;
    }
    let sent = now_ms();
    let locked = app.verify_login(&pending, &enrolled.backup_codes[0]).await;
    let answered = now_ms();
    assert_answer(
        &locked,
        StatusCode::TOO_MANY_REQUESTS,
        &mfa_error("Too many failed attempts", "MFA_LOCKED"),
    );
    assert_retry_after(&locked, ages[0] + 900_000, (sent, answered));

    // Once the oldest has left the window, four remain: the right code works.
    app.execute(
        "UPDATE mfa_failures SET failed_at = failed_at - 60000 WHERE user_id = $1",
        &[&owner.user_id],
    )
    .await;
    let later = app.verify_login(&pending, &enrolled.backup_codes[0]).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.body);
}

/// `answer`'s `Retry-After` is the seconds left (rounded up) until `unlocked_at` at the moment
/// the server checked, which lies between the request's sending and its answer, however long
/// either took.
#[track_caller]
fn assert_retry_after(answer: &Answer, unlocked_at: i64, (sent, answered): (i64, i64)) {
    let retry: i64 = answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = |at: i64| (unlocked_at - at + 999).div_euclid(1000);
    assert!(
        (left(answered)..=left(sent)).contains(&retry),
        "{retry} outside {}..={}",
        left(answered),
        left(sent)
    );
}

async fn verify_at(app: &TestApp, base: &str, session: &Account, code: &str) -> StatusCode {
    let request = app
        .client
        .post(format!("{base}/mfa/verify-login"))
        .bearer_auth(&session.access_token)
        .json(&json!({ "mfaType": "GOOGLE_AUTH", "code": code }));
    TestApp::send(request).await.status
}

#[tokio::test]
async fn the_lockout_counts_failures_made_through_every_instance() {
    let app = spawn_app().await;
    let second = second_instance(&app).await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    for (i, base) in [&app.address, &second, &app.address, &second, &app.address]
        .into_iter()
        .enumerate()
    {
        let status = verify_at(&app, base, &pending, "000000").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "attempt {i}");
    }
    for base in [&app.address, &second] {
        let status = verify_at(&app, base, &pending, &enrolled.backup_codes[1]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
}

#[tokio::test]
async fn a_sign_in_link_verifies_the_session_that_asked_for_it_once() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.mfa_post(
        "/mfa/setup",
        &owner.access_token,
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    let activation = app.mailer.last_token(&owner.email, "Activation token");
    let activated = app
        .post(
            "/mfa/magic-link/activate",
            None,
            json!({ "token": activation }),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK);

    let pending = app.log_in_pending(&owner).await;
    let other = app.log_in_pending(&owner).await;
    let sent = app
        .mfa_post("/mfa/magic-link/send", &pending.access_token, json!({}))
        .await;
    assert_answer(
        &sent,
        StatusCode::OK,
        &json!({ "success": true, "message": "Magic link sent" }),
    );
    let token = app.mailer.last_token(&owner.email, "Sign-in token");
    let link = |session: &Account, token: &str| {
        let body = json!({ "mfaType": "MAGIC_LINK", "token": token });
        let access = session.access_token.clone();
        let app = &app;
        async move { app.mfa_post("/mfa/verify-login", &access, body).await }
    };
    // Another session of the same user cannot use it.
    let elsewhere = link(&other, &token).await;
    assert_answer(&elsewhere, StatusCode::BAD_REQUEST, &invalid_code());
    let verified = link(&pending, &token).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(
        verified.body["message"],
        json!("MFA verification successful")
    );
    let third = app.log_in_pending(&owner).await;
    let reused = link(&third, &token).await;
    assert_answer(&reused, StatusCode::BAD_REQUEST, &invalid_code());
    let missing = app
        .mfa_post(
            "/mfa/verify-login",
            &third.access_token,
            json!({ "mfaType": "MAGIC_LINK" }),
        )
        .await;
    assert_answer(
        &missing,
        StatusCode::BAD_REQUEST,
        &mfa_error("Missing required field: token", "MISSING_FIELD"),
    );

    // Expired after 10 minutes.
    app.mfa_post("/mfa/magic-link/send", &third.access_token, json!({}))
        .await;
    let late = app.mailer.last_token(&owner.email, "Sign-in token");
    app.execute(
        "UPDATE mfa_link_tokens SET expires_at = created_at + 600000 - 700000",
        &[],
    )
    .await;
    let expired = link(&third, &late).await;
    assert_answer(&expired, StatusCode::BAD_REQUEST, &invalid_code());
}

#[tokio::test]
async fn a_sign_in_link_needs_magic_links_enabled() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    let before = app.snapshot().await;
    let sent = app
        .mfa_post("/mfa/magic-link/send", &pending.access_token, json!({}))
        .await;
    assert_answer(
        &sent,
        StatusCode::BAD_REQUEST,
        &mfa_error("Magic link MFA is not enabled", "MFA_METHOD_NOT_ENABLED"),
    );
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn users_without_mfa_log_in_as_before() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let login = app.login(&owner.email, PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.get("mfaRequired").is_none(), "{}", login.body);
    let sql =
        "SELECT COUNT(*) FROM sessions WHERE id = $1 AND NOT mfa_pending AND NOT mfa_verified";
    assert_eq!(app.count(sql, &[&login.str("tokenId")]).await, 1);
    // `verify-login` from a session that needs none: still a code check (nothing to verify).
    let answer = app
        .verify_login(
            &Account {
                access_token: login.str("accessToken"),
                ..owner.clone()
            },
            "123456",
        )
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid_code());
}

#[tokio::test]
async fn the_clean_up_deletes_expired_links_and_failures_the_lockout_no_longer_counts() {
    use workspaces::store::{connect, CleanupPolicy, StoreOptions};
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.mfa_post(
        "/mfa/setup",
        &owner.access_token,
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    app.mfa_post(
        "/mfa/setup",
        &owner.access_token,
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    let pending = app.log_in(&owner).await;
    for _ in 0..3 {
        app.verify_login(&pending, "000000").await;
    }
    let now = now_ms();
    // One link expired long ago, one is live; two failures are older than the window (and the
    // grace), one is recent. The links may share their millisecond: one is picked by its hash
    // too, so exactly one is.
    app.execute(
        &format!(
            "UPDATE mfa_link_tokens SET expires_at = {} WHERE token_hash = \
             (SELECT token_hash FROM mfa_link_tokens ORDER BY created_at, token_hash LIMIT 1)",
            now - 30 * 86_400_000_i64
        ),
        &[],
    )
    .await;
    app.execute(
        &format!(
            "UPDATE mfa_failures SET failed_at = {} WHERE id IN \
             (SELECT id FROM mfa_failures ORDER BY id LIMIT 2)",
            now - 30 * 86_400_000_i64
        ),
        &[],
    )
    .await;
    let store = connect(&app.database_url, &StoreOptions::default())
        .await
        .unwrap();
    let policy = CleanupPolicy {
        grace_ms: 0,
        unverified_account_ttl_ms: None,
        batch: 1,
        pause: std::time::Duration::ZERO,
    };
    let report = store.clean_up(&policy, now_ms()).await.unwrap();
    assert_eq!((report.mfa_link_tokens, report.mfa_failures), (1, 2));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM mfa_link_tokens", &[]).await,
        1
    );
    // Even with no grace, a failure the lockout counts stays.
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_failures", &[]).await, 1);
}

#[tokio::test]
async fn sending_sign_in_links_and_activating_tokens_are_rate_limited_in_the_mfa_envelope() {
    use workspaces::config::RateLimitConfig;
    let app = crate::support::app::spawn_app_with(|config| {
        config.rate_limits = RateLimitConfig {
            per_ip_per_minute: 6,
            per_account_per_minute: 1,
            ..RateLimitConfig::OFF
        };
    })
    .await;
    let owner = app.register_verified("owner@example.com").await;
    let limited = || mfa_error("Too many requests, try again later", "RATE_LIMITED");
    // Per user: one sign-in e-mail a minute.
    let first = app
        .mfa_post("/mfa/magic-link/send", &owner.access_token, json!({}))
        .await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST, "{}", first.body);
    let second = app
        .mfa_post("/mfa/magic-link/send", &owner.access_token, json!({}))
        .await;
    assert_answer(&second, StatusCode::TOO_MANY_REQUESTS, &limited());
    assert!(second.headers.contains_key("retry-after"));
    // Per token, then per address (registering, verifying and logging in took 3 of its 6).
    let before = app.snapshot().await;
    let token = |t: &str| json!({ "token": t });
    let once = app.post("/mfa/magic-link/activate", None, token("a")).await;
    assert_eq!(once.status, StatusCode::BAD_REQUEST);
    let again = app.post("/mfa/magic-link/activate", None, token("a")).await;
    assert_answer(&again, StatusCode::TOO_MANY_REQUESTS, &limited());
    let other = app.post("/mfa/magic-link/activate", None, token("b")).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    let over = app.post("/mfa/magic-link/activate", None, token("c")).await;
    assert_answer(&over, StatusCode::TOO_MANY_REQUESTS, &limited());
    app.assert_unchanged(&before).await;
}
