//! The tokens of magic links at rest (contract section 8): an activation link (`setup` of
//! `MAGIC_LINK`) and a sign-in link (`magic-link/send`) each e-mail a token that lives 10
//! minutes from when it was sent, and `mfa_link_tokens` keeps only a hash of it, so a copy of
//! the database holds no link that works.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{spawn_app, TestApp};
use crate::support::clock::now_ms;
use crate::support::database::hex;

const TEN_MINUTES_MS: i64 = 10 * 60 * 1000;

/// Asserts that the one `purpose` row of `mfa_link_tokens` was made between `sent` and
/// `answered` (the request that asked for it) and expires exactly 10 minutes after.
async fn assert_lives_ten_minutes(app: &TestApp, purpose: &str, (sent, answered): (i64, i64)) {
    let row = format!("FROM mfa_link_tokens WHERE purpose = '{purpose}'");
    assert_eq!(app.count(&format!("SELECT COUNT(*) {row}"), &[]).await, 1);
    let created_at = app.count(&format!("SELECT created_at {row}"), &[]).await;
    assert!(
        (sent..=answered).contains(&created_at),
        "{purpose}: made at {created_at}, outside {sent}..={answered}"
    );
    let lifetime = app
        .count(&format!("SELECT expires_at - created_at {row}"), &[])
        .await;
    assert_eq!(lifetime, TEN_MINUTES_MS, "{purpose}");
}

/// Asserts that `stored` (a table's rows as text, bytes as hex) holds `token` neither as text
/// nor as the hex of its text or of the bytes it encodes.
#[track_caller]
fn assert_holds_no(stored: &str, token: &str) {
    let bytes = URL_SAFE_NO_PAD.decode(token).expect("a token is base64url");
    let lower = stored.to_lowercase();
    assert!(!stored.contains(token), "{token} as text: {stored}");
    assert!(
        !lower.contains(&hex(token.as_bytes())),
        "{token}'s hex: {stored}"
    );
    assert!(!lower.contains(&hex(&bytes)), "{token}'s bytes: {stored}");
}

#[tokio::test]
async fn link_tokens_are_stored_only_as_hashes_and_live_exactly_ten_minutes() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let sent = now_ms();
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "MAGIC_LINK" }),
        )
        .await;
    let asked = (sent, now_ms());
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let activation = app.mailer.last_token(&owner.email, "Activation token");
    assert_lives_ten_minutes(&app, "activate", asked).await;
    let activated = app
        .post(
            "/mfa/magic-link/activate",
            None,
            json!({ "token": activation }),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);

    let pending = app.log_in_pending(&owner).await;
    let sent = now_ms();
    let link = app
        .mfa_post("/mfa/magic-link/send", &pending.access_token, json!({}))
        .await;
    let asked = (sent, now_ms());
    assert_eq!(link.status, StatusCode::OK, "{}", link.body);
    let sign_in = app.mailer.last_token(&owner.email, "Sign-in token");
    assert_lives_ten_minutes(&app, "login", asked).await;

    // Neither token, used or not, is in the table in any form; each row holds a 32-byte hash.
    let stored = app.dump("mfa_link_tokens").await.join("\n");
    for token in [&activation, &sign_in] {
        assert_holds_no(&stored, token);
    }
    let hashed = "SELECT COUNT(*) FROM mfa_link_tokens WHERE LENGTH(token_hash) = 32";
    assert_eq!(app.count(hashed, &[]).await, 2);
    // The sign-in token still works: what was checked is what the server keeps.
    let verified = app
        .mfa_post(
            "/mfa/verify-login",
            &pending.access_token,
            json!({ "mfaType": "MAGIC_LINK", "token": sign_in }),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
}
