//! Verifications of one user that race (contract section 8): one code presented twice at once
//! succeeds once, and a burst of wrong codes is evaluated no more often than the lockout allows.
//! Each race runs over two server instances on one database, with requests released together
//! on warm connections ([`all_at_once`]) on a multi-threaded runtime.
//!
//! What keeps them apart: on PostgreSQL, the user's row lock (`FOR UPDATE`) that every
//! verification takes first, and the conditional update that spends a code. On SQLite there is
//! no row lock (the statement runs without `FOR UPDATE`): each instance's one writer takes the
//! file's write lock, which serialises them only while the lockout count, the check and the
//! spend are made inside that write. A check made before it (a read on a pooled connection,
//! then the write) lets the requests overlap on both backends: both sides spend one code, or
//! more wrong codes than the lockout allows are evaluated.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{second_instance, spawn_app};
use crate::support::assertions::{assert_answer, error_body, unauthorized_body};
use crate::support::at_once::{all_at_once, at_once, Side};
use crate::support::client::Answer;
use crate::support::mfa::{forget_spent_steps, mfa_error, step_now, totp};

/// Failures from one client that lock it out of a user's verification (contract section 8).
const LOCKOUT_FAILURES: i64 = 5;
const BURST: usize = 20;

fn invalid_code() -> Value {
    mfa_error("Invalid verification code", "INVALID_MFA_CODE")
}

fn locked() -> Value {
    mfa_error("Too many failed attempts", "MFA_LOCKED")
}

/// `verify-login` of `session` with `code`, through `side`.
fn verify(side: &Side, session: &Account, code: &str) -> reqwest::Request {
    side.request(
        Method::POST,
        "/mfa/verify-login",
        &session.access_token,
        Some(json!({ "mfaType": "GOOGLE_AUTH", "code": code })),
    )
}

/// The one of two answers that is a 200, and the other.
#[track_caller]
fn winner(answers: (Answer, Answer), round: usize) -> (Answer, Answer) {
    match (answers.0.status, answers.1.status) {
        (StatusCode::OK, status) if status != StatusCode::OK => answers,
        (status, StatusCode::OK) if status != StatusCode::OK => (answers.1, answers.0),
        _ => panic!(
            "round {round}: expected exactly one 200, got {} {} and {} {}",
            answers.0.status,
            answers.0.body["message"],
            answers.1.status,
            answers.1.body["message"]
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_totp_code_or_backup_code_presented_twice_at_once_on_two_instances_succeeds_once() {
    let app = spawn_app().await;
    let second = second_instance(&app).await;
    let (one, two) = (Side::new(&app.address), Side::new(second));
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;
    let used = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NOT NULL";
    for round in 0..4 {
        let (a, b) = (
            app.log_in_pending(&owner).await,
            app.log_in_pending(&owner).await,
        );
        // A code of this step passes in it and in the next (one step of drift): no need to
        // wait for a steady one.
        let (code, step) = if round % 2 == 0 {
            forget_spent_steps(&app, &owner.user_id).await;
            let step = step_now();
            (totp(&enrolled.secret, step), Some(step))
        } else {
            (enrolled.backup_codes[round].clone(), None)
        };

        let answers = at_once(
            (&one, verify(&one, &a, &code)),
            (&two, verify(&two, &b, &code)),
        )
        .await;

        let (won, lost) = winner(answers, round);
        assert_eq!(won.body["message"], json!("MFA verification successful"));
        assert_answer(&lost, StatusCode::BAD_REQUEST, &invalid_code());
        let sql = "SELECT COUNT(*) FROM sessions WHERE id IN ($1, $2) AND mfa_verified";
        assert_eq!(app.count(sql, &[&a.token_id, &b.token_id]).await, 1);
        // Spent once: the step, or one more backup code.
        if let Some(step) = step {
            let sql = "SELECT last_step FROM mfa_methods WHERE user_id = $1";
            assert_eq!(
                app.count(sql, &[&owner.user_id]).await,
                step,
                "round {round}"
            );
        } else {
            let spent = i64::try_from(round / 2 + 1).unwrap();
            assert_eq!(app.count(used, &[&owner.user_id]).await, spent);
        }
        app.execute("DELETE FROM mfa_failures", &[]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_wrong_codes_at_once_are_evaluated_at_most_as_often_as_the_lockout_allows() {
    let app = spawn_app().await;
    let second = second_instance(&app).await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    let pending = app.log_in_pending(&owner).await;
    // A wrong backup code (of the right form): never a right one by chance. Half the burst
    // through each instance, each request on a connection of its own.
    let wrong = "0000-0000-0000-0000";
    let sides: Vec<Side> = (0..BURST)
        .map(|n| Side::new(if n % 2 == 0 { &app.address } else { &second }))
        .collect();
    let burst = sides
        .iter()
        .map(|side| (side, verify(side, &pending, wrong)))
        .collect();

    let answers = all_at_once(burst).await;

    // The first five are evaluated and refused; every later one finds the lockout.
    let mut refused = 0;
    for answer in &answers {
        if answer.status == StatusCode::BAD_REQUEST {
            assert_answer(answer, StatusCode::BAD_REQUEST, &invalid_code());
            refused += 1;
        } else {
            assert_answer(answer, StatusCode::TOO_MANY_REQUESTS, &locked());
            assert!(answer.headers.contains_key("retry-after"), "{answer:?}");
        }
    }
    assert_eq!(refused, LOCKOUT_FAILURES);
    let failures = "SELECT COUNT(*) FROM mfa_failures WHERE user_id = $1";
    let recorded = app.count(failures, &[&owner.user_id]).await;
    assert_eq!(recorded, LOCKOUT_FAILURES);
}

/// A password login that overlaps the user's first MFA method being switched on must not come
/// out with a full session: whether MFA is required is read in the transaction that opens the
/// session (under the user's MFA lock), not before the password's slow hash. The hash queue is
/// filled first (one hashing thread, a few unknown e-mails, which cost one hash each), so the
/// login has read the account long before its own hash runs, and the enrolment commits in
/// between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_login_overlapping_the_first_mfa_method_switched_on_stays_pending() {
    use std::time::Duration;

    use crate::support::accounts::PASSWORD;
    use crate::support::app::spawn_app_with;
    use crate::support::mfa::SETUP_CODE_SUBJECT;

    let app = spawn_app_with(|config| config.password_hash_threads = 1).await;
    let owner = app.register_verified("owner@example.com").await;
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(app
        .mailer
        .to(&owner.email)
        .iter()
        .all(|mail| mail.subject != SETUP_CODE_SUBJECT));
    let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();

    let queue_filler = fill_the_hash_queue(&app);
    let thief = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        app.login(&owner.email, PASSWORD).await
    };
    let enrolment = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let body = json!({ "mfaType": "GOOGLE_AUTH", "code": totp(&secret, step_now()) });
        app.mfa_post("/mfa/verify-setup", &owner.access_token, body)
            .await
    };
    let (_, thief, enrolled) = tokio::join!(queue_filler, thief, enrolment);

    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    assert_eq!(thief.status, StatusCode::OK, "{}", thief.body);
    // MFA is on now: the password's session waits for the second factor (or has ended).
    let token = thief.str("accessToken");
    let reached = app.get("/workspace", Some(&token)).await;
    let pending = (
        StatusCode::FORBIDDEN,
        error_body("MFA verification required", "MFA_REQUIRED"),
    );
    let ended = (StatusCode::UNAUTHORIZED, unauthorized_body());
    let answered = (reached.status, reached.body.clone());
    assert!(answered == pending || answered == ended, "{answered:?}");
    if answered == pending {
        assert_eq!(thief.body["mfaRequired"], json!(true), "{}", thief.body);
    }
    let sql = "SELECT COUNT(*) FROM sessions WHERE id = $1 AND NOT mfa_pending \
               AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&thief.str("tokenId")]).await, 0);
}

/// 20 logins for unknown e-mails (one hash each), so that a login sent after them waits for its
/// hash on a server with one hashing thread, having read the account long before.
async fn fill_the_hash_queue(app: &crate::support::app::TestApp) {
    futures::future::join_all((0..20).map(|n| {
        let email = format!("nobody{n}@example.com");
        async move { app.login(&email, crate::support::accounts::PASSWORD).await }
    }))
    .await;
}

/// A user deleted while their login's password is being hashed gets no session: the account is
/// read again in the transaction that opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_login_overlapping_the_users_deletion_opens_no_session() {
    use std::time::Duration;

    use crate::support::accounts::{Verification, PASSWORD};
    use crate::support::app::spawn_app_with;
    use crate::support::org_cast::delete_user;

    let app = spawn_app_with(|config| config.password_hash_threads = 1).await;
    let owner = app.register_verified("owner@example.com").await;
    let mia = app
        .member(&owner, "mia@example.com", 1, Verification::Verified)
        .await;

    let login = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        app.login(&mia.email, PASSWORD).await
    };
    let deletion = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        delete_user(&app, &owner, &mia).await;
    };
    let (_, login, _) = tokio::join!(fill_the_hash_queue(&app), login, deletion);

    assert_answer(
        &login,
        StatusCode::UNAUTHORIZED,
        &error_body("User account is inactive", "USER_INACTIVE"),
    );
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&mia.user_id]).await, 0);
}
