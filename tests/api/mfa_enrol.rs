//! Enrolling a second factor: `POST /mfa/setup`, `POST /mfa/verify-setup`, magic-link
//! activation, and what `GET /mfa/status` and `GET /mfa/methods` then say.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::accounts::Verification;
use crate::support::app::spawn_app;
use crate::support::assertions::assert_answer;
use crate::support::mfa::{mfa_error, setup_verified, step_now, totp, within_one_step};

fn methods_body(totp: (bool, bool), link: (bool, bool)) -> Value {
    json!({ "success": true, "data": [
        { "type": "GOOGLE_AUTH", "name": "Authenticator app",
          "description": "Time-based one-time codes (TOTP) from an app such as Google Authenticator",
          "isAvailable": true, "isConfigured": totp.0, "isEnabled": totp.1 },
        { "type": "MAGIC_LINK", "name": "Magic link",
          "description": "A single-use sign-in link sent to your e-mail address",
          "isAvailable": true, "isConfigured": link.0, "isEnabled": link.1 },
        { "type": "PASSKEY", "name": "Passkey",
          "description": "WebAuthn security keys and platform authenticators",
          "isAvailable": true, "isConfigured": false, "isEnabled": false },
    ]})
}

fn status_body(enabled: &[&str], required: bool, enforced: bool, verified: bool) -> Value {
    let mut data = json!({
        "isEnabled": !enabled.is_empty(), "isRequired": required, "isEnforced": enforced,
        "enabledMethods": enabled, "sessionVerified": verified,
    });
    if let Some(first) = enabled.first() {
        data["primaryMethod"] = json!(first);
    }
    json!({ "success": true, "data": data })
}

#[tokio::test]
async fn a_new_user_has_no_mfa_and_every_method_listed() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let status = app.get("/mfa/status", Some(&owner.access_token)).await;
    assert_answer(
        &status,
        StatusCode::OK,
        &status_body(&[], false, false, false),
    );
    let methods = app.get("/mfa/methods", Some(&owner.access_token)).await;
    assert_answer(
        &methods,
        StatusCode::OK,
        &methods_body((false, false), (false, false)),
    );
    let profile = app.get("/user/profile", Some(&owner.access_token)).await;
    assert_eq!(profile.body["data"]["mfaRequired"], json!(false));
}

#[tokio::test]
async fn totp_setup_shows_the_secret_qr_code_uri_and_ten_backup_codes_and_enables_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let mark = app.event_mark().await;
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let data = &setup.body["data"];
    let secret = data["secret"].as_str().unwrap();
    // 160 bits in base32 without padding.
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(secret
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
    let url = data["otpauthUrl"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/Workspaces:owner%40example.com?"),
        "{url}"
    );
    for part in [
        &format!("secret={secret}"),
        "issuer=Workspaces",
        "algorithm=SHA1",
        "digits=6",
        "period=30",
    ] {
        assert!(url.contains(part), "{url} lacks {part}");
    }
    let png = data["qrCode"]
        .as_str()
        .unwrap()
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URL");
    let png = base64::engine::general_purpose::STANDARD
        .decode(png)
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let codes: Vec<&str> = data["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(
        data.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["backupCodes", "otpauthUrl", "qrCode", "secret"]
    );

    // Nothing is on until verified, and setup is no change to record.
    let status = app.get("/mfa/status", Some(&owner.access_token)).await;
    assert_answer(
        &status,
        StatusCode::OK,
        &status_body(&[], false, false, false),
    );
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    let sql = "SELECT COUNT(*) FROM mfa_methods WHERE user_id = $1 AND NOT configured \
               AND NOT enabled AND secret IS NULL AND pending_secret IS NOT NULL";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND pending";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 10);
    // The secret is stored sealed: neither its bytes nor its text are in the row.
    let stored = app.dump("mfa_methods").await.join("\n");
    assert!(!stored.contains(secret), "{stored}");
    let raw = crate::support::mfa::base32_decode(secret);
    assert!(
        !stored.contains(&crate::support::database::hex(&raw)),
        "{stored}"
    );
    let stored_codes = app.dump("mfa_backup_codes").await.join("\n");
    for code in &codes {
        assert!(!stored_codes.contains(code), "{stored_codes}");
    }
}

#[tokio::test]
async fn verify_setup_with_the_current_code_enables_totp_and_verifies_the_session() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let mark = app.event_mark().await;
    let enrolled = app.enrol_totp(&owner).await;

    let status = app.get("/mfa/status", Some(&owner.access_token)).await;
    assert_answer(
        &status,
        StatusCode::OK,
        &status_body(&["GOOGLE_AUTH"], true, false, true),
    );
    let methods = app.get("/mfa/methods", Some(&owner.access_token)).await;
    assert_answer(
        &methods,
        StatusCode::OK,
        &methods_body((true, true), (false, false)),
    );
    let profile = app.get("/user/profile", Some(&owner.access_token)).await;
    assert_eq!(profile.body["data"]["mfaRequired"], json!(true));
    let sql = format!(
        "SELECT COUNT(*) FROM mfa_methods WHERE user_id = $1 AND configured AND enabled \
         AND is_primary AND secret IS NOT NULL AND pending_secret IS NULL AND last_step = {}",
        enrolled.enrolled_step
    );
    assert_eq!(app.count(&sql, &[&owner.user_id]).await, 1);
    let sql = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND NOT pending";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 10);

    // One `user updated` event, naming what changed and the secrets only as "changed".
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["context"], json!(3));
    assert_eq!(events[0]["event"], json!(1));
    assert_eq!(events[0]["contextId"], json!(owner.user_id));
    let data = events[0]["jsonData"].clone();
    assert_eq!(
        data,
        json!({
            "mfaEnabledMethods": { "from": [], "to": ["GOOGLE_AUTH"] },
            "mfaPrimaryMethod": { "from": null, "to": "GOOGLE_AUTH" },
            "mfaSecret": "changed",
            "mfaBackupCodes": "changed",
        })
    );
    // After setup, no answer shows the secret or a backup code again.
    for path in ["/mfa/status", "/mfa/methods", "/user/profile", "/token"] {
        let text = app
            .get(path, Some(&owner.access_token))
            .await
            .body
            .to_string();
        assert!(!text.contains(&enrolled.secret), "{path}: {text}");
        assert!(
            enrolled
                .backup_codes
                .iter()
                .all(|c| !text.contains(c.as_str())),
            "{path}: {text}"
        );
    }
    let all_events = app.dump("system_events").await.join("\n");
    assert!(!all_events.contains(&enrolled.secret));
    for code in &enrolled.backup_codes {
        assert!(!all_events.contains(code.as_str()));
    }
}

#[tokio::test]
async fn a_wrong_or_missing_setup_code_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let setup_failed = || mfa_error("MFA setup verification failed", "MFA_SETUP_FAILED");
    let mut attempt = 0;
    let (owner, secret, before) = 'fresh: loop {
        attempt += 1;
        let owner = app
            .register_verified(&format!("owner{attempt}@example.com"))
            .await;
        let setup = app
            .mfa_post(
                "/mfa/setup",
                &owner.access_token,
                json!({ "mfaType": "GOOGLE_AUTH" }),
            )
            .await;
        let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();
        let before = app.snapshot().await;
        // Codes two steps away from the one the server checks them in (`within_one_step`). One
        // that straddled a step boundary may have been one step away, and passed: start over
        // with another owner.
        for offset in [2, -2] {
            let verify = async |code: String| {
                let body = json!({ "mfaType": "GOOGLE_AUTH", "code": code });
                app.mfa_post("/mfa/verify-setup", &owner.access_token, body)
                    .await
            };
            let Some((_, answer)) = within_one_step(&secret, offset, verify).await else {
                continue 'fresh;
            };
            assert_answer(&answer, StatusCode::BAD_REQUEST, &setup_failed());
        }
        break (owner, secret, before);
    };
    for code in ["12345", "abcdef"] {
        let answer = app
            .mfa_post(
                "/mfa/verify-setup",
                &owner.access_token,
                json!({ "mfaType": "GOOGLE_AUTH", "code": code }),
            )
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &setup_failed());
    }
    let missing = app
        .mfa_post(
            "/mfa/verify-setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_answer(
        &missing,
        StatusCode::BAD_REQUEST,
        &mfa_error("Missing required field: code", "MISSING_FIELD"),
    );
    app.assert_unchanged(&before).await;

    // A second setup replaces the pending secret: a code of the first no longer works.
    let again = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_ne!(again.body["data"]["secret"].as_str().unwrap(), secret);
    let stale = app
        .mfa_post(
            "/mfa/verify-setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": totp(&secret, step_now()) }),
        )
        .await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);
    let sql = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 10);
}

#[tokio::test]
async fn unknown_types_are_invalid_and_setup_needs_a_verified_account() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let before = app.snapshot().await;
    for path in [
        "/mfa/setup",
        "/mfa/verify-setup",
        "/mfa/enable",
        "/mfa/disable",
        "/mfa/primary",
    ] {
        for mfa_type in [json!("passkey"), json!("SMS"), json!("google_auth")] {
            let answer = app
                .mfa_post(
                    path,
                    &owner.access_token,
                    json!({ "mfaType": mfa_type, "code": "123456" }),
                )
                .await;
            assert_answer(
                &answer,
                StatusCode::BAD_REQUEST,
                &mfa_error("Invalid MFA type specified", "INVALID_MFA_TYPE"),
            );
        }
        let missing = app.mfa_post(path, &owner.access_token, json!({})).await;
        assert_answer(
            &missing,
            StatusCode::BAD_REQUEST,
            &mfa_error("Missing required field: mfaType", "MISSING_FIELD"),
        );
        let malformed = app
            .mfa_post(path, &owner.access_token, json!({ "mfaType": 7 }))
            .await;
        assert_answer(
            &malformed,
            StatusCode::BAD_REQUEST,
            &mfa_error("Invalid value for field 'mfaType'", "INVALID_FIELD"),
        );
        let anonymous = app
            .post(path, None, json!({ "mfaType": "GOOGLE_AUTH" }))
            .await;
        assert_answer(
            &anonymous,
            StatusCode::UNAUTHORIZED,
            &mfa_error("Unauthorized", "UNAUTHORIZED"),
        );
    }
    app.assert_unchanged(&before).await;
    let member = app
        .member(&owner, "new@example.com", 0, Verification::Unverified)
        .await;
    let unverified = app
        .mfa_post(
            "/mfa/setup",
            &member.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_answer(
        &unverified,
        StatusCode::BAD_REQUEST,
        &mfa_error(
            "User not found or account is not validated",
            "USER_NOT_VALIDATED",
        ),
    );
    let sql = "SELECT COUNT(*) FROM mfa_methods";
    assert_eq!(app.count(sql, &[]).await, 0);
}

#[tokio::test]
async fn a_magic_link_is_activated_once_by_the_token_of_its_e_mail() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "MAGIC_LINK" }),
        )
        .await;
    assert_answer(
        &setup,
        StatusCode::OK,
        &json!({ "success": true, "message": "Magic link activation e-mail sent" }),
    );
    let token = app.mailer.last_token(&owner.email, "Activation token");
    let methods = app.get("/mfa/methods", Some(&owner.access_token)).await;
    assert_answer(
        &methods,
        StatusCode::OK,
        &methods_body((false, false), (false, false)),
    );

    let mark = app.event_mark().await;
    let activated = app
        .post("/mfa/magic-link/activate", None, json!({ "token": token }))
        .await;
    assert_answer(
        &activated,
        StatusCode::OK,
        &json!({ "success": true, "message": "Magic link MFA activated successfully" }),
    );
    let status = app.get("/mfa/status", Some(&owner.access_token)).await;
    // Activating from the e-mail proves the address, not this session.
    assert_answer(
        &status,
        StatusCode::OK,
        &status_body(&["MAGIC_LINK"], true, false, false),
    );
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let data = events[0]["jsonData"].clone();
    assert_eq!(
        data,
        json!({
            "mfaEnabledMethods": { "from": [], "to": ["MAGIC_LINK"] },
            "mfaPrimaryMethod": { "from": null, "to": "MAGIC_LINK" },
        })
    );
    assert_eq!(events[0]["actorId"], json!(owner.user_id));

    let before = app.snapshot().await;
    for body in [json!({ "token": token }), json!({ "token": "nonsense" })] {
        let again = app.post("/mfa/magic-link/activate", None, body).await;
        assert_answer(
            &again,
            StatusCode::BAD_REQUEST,
            &mfa_error("Invalid or expired token", "INVALID_TOKEN"),
        );
    }
    let missing = app.post("/mfa/magic-link/activate", None, json!({})).await;
    assert_answer(
        &missing,
        StatusCode::BAD_REQUEST,
        &mfa_error("Missing required field: token", "MISSING_FIELD"),
    );
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn an_expired_activation_token_is_refused() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.mfa_post(
        "/mfa/setup",
        &owner.access_token,
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    let token = app.mailer.last_token(&owner.email, "Activation token");
    app.execute("UPDATE mfa_link_tokens SET expires_at = 1", &[])
        .await;
    let answer = app
        .post("/mfa/magic-link/activate", None, json!({ "token": token }))
        .await;
    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &mfa_error("Invalid or expired token", "INVALID_TOKEN"),
    );
    let sql = "SELECT COUNT(*) FROM mfa_methods WHERE enabled";
    assert_eq!(app.count(sql, &[]).await, 0);
}

#[tokio::test]
async fn verify_setup_of_a_magic_link_takes_the_activation_token_of_the_caller_only() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;
    app.mfa_post(
        "/mfa/setup",
        &other.access_token,
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    let others_token = app.mailer.last_token(&other.email, "Activation token");
    let refused = app
        .mfa_post(
            "/mfa/verify-setup",
            &owner.access_token,
            json!({ "mfaType": "MAGIC_LINK", "code": others_token }),
        )
        .await;
    assert_answer(
        &refused,
        StatusCode::BAD_REQUEST,
        &mfa_error("MFA setup verification failed", "MFA_SETUP_FAILED"),
    );
    app.mfa_post(
        "/mfa/setup",
        &owner.access_token,
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    let token = app.mailer.last_token(&owner.email, "Activation token");
    let verified = app
        .mfa_post(
            "/mfa/verify-setup",
            &owner.access_token,
            json!({ "mfaType": "MAGIC_LINK", "code": token }),
        )
        .await;
    assert_answer(&verified, StatusCode::OK, &setup_verified());
    let sql = "SELECT COUNT(*) FROM mfa_methods WHERE user_id = $1 AND enabled";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 1);
    assert_eq!(app.count(sql, &[&other.user_id]).await, 0);
}
