//! Control characters in text the API takes: a NUL, which PostgreSQL's `text` cannot hold, is
//! refused with the route's 4xx before it reaches a query, on both backends (it was a 500 on
//! PostgreSQL and stored as given on SQLite); so are the control characters a URL parser would
//! silently drop (the stored text must be the address used).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::app::{spawn_app, spawn_app_with};
use crate::support::assertions::{assert_answer, error_body};
use crate::support::mfa::mfa_error;
use crate::support::passkey::SoftPasskey;
use crate::support::receiver::create_webhook;
use crate::support::signed_in::assert_text_error;

/// A NUL between letters: valid JSON (`\u0000`), valid UTF-8, refused by PostgreSQL's `text`.
const NUL: &str = "a\u{0}b";

fn client_data(kind: &str, challenge: &str) -> String {
    let data = json!({"type": kind, "challenge": challenge, "origin": "http://localhost"});
    URL_SAFE_NO_PAD.encode(data.to_string())
}

/// An assertion whose client data names the challenge `challenge` (nothing else about it is
/// right: it must be refused as any other bad assertion is).
fn assertion_answering(challenge: &str) -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "clientDataJSON": client_data("webauthn.get", challenge),
            "authenticatorData": "AAAA", "signature": "AAAA", "userHandle": "AAAA",
        },
        "clientExtensionResults": {},
    })
}

#[tokio::test]
async fn a_passkey_sign_in_whose_challenge_holds_a_nul_is_an_invalid_passkey() {
    let app = spawn_app().await;
    app.passkey_sign_in_options().await;

    let answer = app.passkey_sign_in(assertion_answering(NUL)).await;

    assert_answer(
        &answer,
        StatusCode::UNAUTHORIZED,
        &error_body("Invalid passkey", "INVALID_PASSKEY"),
    );
}

#[tokio::test]
async fn a_passkey_registration_or_login_naming_a_nul_challenge_fails_as_a_wrong_one() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let setup = app.passkey_setup(&owner).await;
    let credential = SoftPasskey::new().register(&setup.challenge, &setup.claim);
    let failed = json!({
        "error": "Passkey registration failed", "success": false,
        "message": "Passkey registration failed", "error_code": "PASSKEY_REGISTRATION_FAILED",
    });

    // The challenge named in the body, then read from the client data.
    let named = json!({"credential": credential, "challenge": NUL});
    let answer = app.complete_registration(&owner, named).await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &failed);
    let mut from_client_data = credential.clone();
    from_client_data["response"]["clientDataJSON"] = json!(client_data("webauthn.create", NUL));
    let answer = app
        .complete_registration(&owner, json!({"credential": from_client_data}))
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &failed);

    // The ceremony is still live: the right answer registers.
    let right = json!({"credential": credential, "challenge": setup.challenge});
    let done = app.complete_registration(&owner, right).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // As a second factor: a wrong code (400), not a 500.
    let pending = app.log_in(&owner).await;
    app.passkey_auth_options(&pending).await;
    let answer = app
        .verify_login_with_passkey(&pending, assertion_answering(NUL))
        .await;
    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &mfa_error("Invalid verification code", "INVALID_MFA_CODE"),
    );
}

#[tokio::test]
async fn a_workspace_cursor_holding_a_nul_is_an_invalid_query() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let id = "01a24d2b-13a8-758f-8f29-78f7dd2a3c3b";
    let cursor = URL_SAFE_NO_PAD.encode(format!("{id}{NUL}"));

    let path = format!("/workspace?limit=5&cursor={cursor}");
    let answer = app.get(&path, Some(&owner.access_token)).await;

    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &error_body("Invalid cursor", "INVALID_QUERY"),
    );
}

#[tokio::test]
async fn a_webhook_url_holding_a_control_character_is_malformed() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let message = "url must be an absolute https URL of at most 2048 characters";
    let malformed = error_body(message, "INVALID_FIELD");
    let before = app.snapshot().await;

    // The URL parser would drop a tab or a line break and percent-encode a NUL: the stored text
    // would not be the address used.
    for url in [
        format!("https://93.184.215.14/{NUL}"),
        "https://93.184.215.14/a\tb".to_owned(),
        "https://93.184.215.14/a\nb".to_owned(),
    ] {
        let answer = app
            .post("/webhooks", Some(&owner.access_token), json!({"url": url}))
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &malformed);
    }
    app.assert_unchanged(&before).await;

    let (webhook, _) = create_webhook(&app, &owner, "https://93.184.215.14/hook", None).await;
    let path = format!("/webhooks/{}", webhook["id"].as_str().unwrap());
    let url = format!("https://93.184.215.14/{NUL}");
    let answer = app
        .request(
            Method::PUT,
            &path,
            Some(&owner.access_token),
            Some(json!({"url": url})),
        )
        .await;
    assert_answer(&answer, StatusCode::BAD_REQUEST, &malformed);
}

#[tokio::test]
async fn trusting_a_fingerprint_holding_a_nul_finds_no_device() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let body = json!({"fingerprint": NUL});
    let answer = app
        .post("/devices/trust", Some(&owner.access_token), body)
        .await;

    assert_text_error(&answer, 404, "Device not found", "DEVICE_NOT_FOUND");
}

#[tokio::test]
async fn a_company_website_with_control_characters_is_refused_at_registration() {
    let app = spawn_app().await;
    let before = app.snapshot().await;

    for website in [
        format!("https://{NUL}.example"),
        "https://a\u{202E}b.example".to_owned(),
    ] {
        let mut body = crate::support::app::TestApp::registration_body("new@example.com");
        body["companyWebsite"] = json!(website);
        let answer = app.post("/user/register", None, body).await;
        assert_answer(
            &answer,
            StatusCode::BAD_REQUEST,
            &error_body(
                "companyWebsite contains invalid characters",
                "INVALID_FIELD",
            ),
        );
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_links_text_filter_holding_a_nul_is_an_invalid_query() {
    let app = spawn_app_with(|config| {
        config.jwt_secret = Some("an audit secret of at least 32 bytes!!".to_owned());
    })
    .await;
    let admin = app.register_verified("admin@example.com").await;
    let sql = "UPDATE users SET instance_admin = TRUE WHERE id = $1";
    assert_eq!(app.execute(sql, &[&admin.user_id]).await, 1);

    let answer = app
        .get("/links?text=a%00b", Some(&admin.access_token))
        .await;

    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &error_body("text must not contain control characters", "INVALID_QUERY"),
    );
}
