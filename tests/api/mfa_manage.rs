//! Managing MFA: enable, disable, primary, reset (one's own and an admin's), and the
//! organization's enforcement, with what each does to existing sessions.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification, PASSWORD};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, assert_error, assert_unauthorized};
use crate::support::client::Answer;
use crate::support::mfa::mfa_error;

const ADMINISTRATORS: i64 = 254;
const WORKSPACES: i64 = 2;

fn message(text: &str) -> Value {
    json!({ "success": true, "message": text })
}

async fn change(app: &TestApp, session: &Account, path: &str, mfa_type: &str) -> Answer {
    app.mfa_post(path, &session.access_token, json!({ "mfaType": mfa_type }))
        .await
}

/// Enables magic links for `account` (its e-mail's activation token).
async fn enrol_magic_link(app: &TestApp, account: &Account) {
    let setup = change(app, account, "/mfa/setup", "MAGIC_LINK").await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let token = app.mailer.last_token(&account.email, "Activation token");
    let activated = app
        .post("/mfa/magic-link/activate", None, json!({ "token": token }))
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
}

async fn enabled_methods(app: &TestApp, session: &Account) -> Value {
    let status = app.get("/mfa/status", Some(&session.access_token)).await;
    json!([
        status.body["data"]["enabledMethods"],
        status.body["data"]["primaryMethod"]
    ])
}

#[tokio::test]
async fn methods_are_switched_off_and_on_and_one_is_primary() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    enrol_magic_link(&app, &owner).await;
    assert_eq!(
        enabled_methods(&app, &owner).await,
        json!([["GOOGLE_AUTH", "MAGIC_LINK"], "GOOGLE_AUTH"])
    );

    let mark = app.event_mark().await;
    let primary = change(&app, &owner, "/mfa/primary", "MAGIC_LINK").await;
    assert_answer(
        &primary,
        StatusCode::OK,
        &message("Primary MFA method updated"),
    );
    assert_eq!(
        enabled_methods(&app, &owner).await,
        json!([["GOOGLE_AUTH", "MAGIC_LINK"], "MAGIC_LINK"])
    );
    let disabled = change(&app, &owner, "/mfa/disable", "MAGIC_LINK").await;
    assert_answer(&disabled, StatusCode::OK, &message("MFA method disabled"));
    // The primary went with it; the one left is primary now.
    assert_eq!(
        enabled_methods(&app, &owner).await,
        json!([["GOOGLE_AUTH"], "GOOGLE_AUTH"])
    );
    let refused = change(&app, &owner, "/mfa/primary", "MAGIC_LINK").await;
    assert_answer(
        &refused,
        StatusCode::BAD_REQUEST,
        &mfa_error("MFA method is not configured", "MFA_METHOD_NOT_CONFIGURED"),
    );
    let enabled = change(&app, &owner, "/mfa/enable", "MAGIC_LINK").await;
    assert_answer(&enabled, StatusCode::OK, &message("MFA method enabled"));

    let events = app.events_since(&mark).await;
    let data: Vec<Value> = events.iter().map(|e| e["jsonData"].clone()).collect();
    assert_eq!(
        data,
        [
            json!({ "mfaPrimaryMethod": { "from": "GOOGLE_AUTH", "to": "MAGIC_LINK" } }),
            json!({
                "mfaEnabledMethods": { "from": ["GOOGLE_AUTH", "MAGIC_LINK"], "to": ["GOOGLE_AUTH"] },
                "mfaPrimaryMethod": { "from": "MAGIC_LINK", "to": "GOOGLE_AUTH" },
            }),
            json!({
                "mfaEnabledMethods": { "from": ["GOOGLE_AUTH"], "to": ["GOOGLE_AUTH", "MAGIC_LINK"] },
            }),
        ]
    );
    assert!(events
        .iter()
        .all(|e| e["context"] == json!(3) && e["event"] == json!(1)));
}

#[tokio::test]
async fn a_method_never_verified_cannot_be_enabled_disabled_or_primary() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    // Set up but not verified: still not configured.
    change(&app, &owner, "/mfa/setup", "GOOGLE_AUTH").await;
    let before = app.snapshot().await;
    for path in ["/mfa/enable", "/mfa/disable", "/mfa/primary"] {
        for method in ["GOOGLE_AUTH", "MAGIC_LINK"] {
            let answer = change(&app, &owner, path, method).await;
            assert_answer(
                &answer,
                StatusCode::BAD_REQUEST,
                &mfa_error("MFA method is not configured", "MFA_METHOD_NOT_CONFIGURED"),
            );
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn changing_mfa_needs_a_session_that_passed_it() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    // A session opened before MFA was switched on never passed it: enabling the first method
    // ends it.
    let older = app.log_in(&owner).await;
    let enrolled = app.enrol_totp(&owner).await;
    assert_unauthorized(&app.get("/workspace", Some(&older.access_token)).await);
    // Such a session (here revived by hand; the one that asked for a magic-link activation is
    // another) may not change MFA.
    let revived = "UPDATE sessions SET revoked_at = NULL WHERE id = $1";
    assert_eq!(app.execute(revived, &[&older.token_id]).await, 1);
    let before = app.snapshot().await;
    for (path, body) in [
        ("/mfa/disable", json!({ "mfaType": "GOOGLE_AUTH" })),
        ("/mfa/enable", json!({ "mfaType": "GOOGLE_AUTH" })),
        ("/mfa/primary", json!({ "mfaType": "GOOGLE_AUTH" })),
        ("/mfa/setup", json!({ "mfaType": "GOOGLE_AUTH" })),
        (
            "/mfa/verify-setup",
            json!({ "mfaType": "GOOGLE_AUTH", "code": "123456" }),
        ),
        ("/mfa/reset", json!({})),
    ] {
        let answer = app.mfa_post(path, &older.access_token, body).await;
        assert_answer(
            &answer,
            StatusCode::FORBIDDEN,
            &mfa_error("MFA verification required", "MFA_REQUIRED"),
        );
    }
    app.assert_unchanged(&before).await;
    // It still works otherwise (until it can no longer refresh), and can pass MFA itself.
    let listed = app.get("/workspace", Some(&older.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let refresh = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": older.refresh_token }),
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    let verified = app.verify_login(&older, &enrolled.backup_codes[0]).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let reset = app
        .mfa_post("/mfa/reset", &older.access_token, json!({}))
        .await;
    assert_answer(&reset, StatusCode::OK, &message("MFA reset successfully"));
}

#[tokio::test]
async fn resetting_ones_own_mfa_removes_every_method_and_backup_code() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    let mark = app.event_mark().await;
    let reset = app
        .mfa_post("/mfa/reset", &owner.access_token, json!({}))
        .await;
    assert_answer(&reset, StatusCode::OK, &message("MFA reset successfully"));
    for table in ["mfa_methods", "mfa_backup_codes", "mfa_link_tokens"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE user_id = $1");
        assert_eq!(app.count(&sql, &[&owner.user_id]).await, 0, "{table}");
    }
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["jsonData"],
        json!({
            "mfaEnabledMethods": { "from": ["GOOGLE_AUTH"], "to": [] },
            "mfaPrimaryMethod": { "from": "GOOGLE_AUTH", "to": null },
            "mfaMethods": "changed",
        })
    );
    // A password alone logs in fully again, and the session is still live.
    let login = app.login(&owner.email, PASSWORD).await;
    assert!(login.body.get("mfaRequired").is_none());
    let profile = app.get("/user/profile", Some(&owner.access_token)).await;
    assert_eq!(profile.status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_resets_another_users_mfa_ending_their_sessions_and_may_require_it() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let admin = app
        .member(
            &owner,
            "admin@example.com",
            ADMINISTRATORS,
            Verification::Verified,
        )
        .await;
    let manager = app
        .member(
            &owner,
            "manager@example.com",
            WORKSPACES,
            Verification::Verified,
        )
        .await;
    let target = app
        .member(&owner, "target@example.com", 0, Verification::Verified)
        .await;
    app.enrol_totp(&target).await;
    let stranger = app.register_verified("stranger@example.com").await;

    let before = app.snapshot().await;
    let body = json!({ "resetUserId": target.user_id, "enable": true });
    let refused = app
        .mfa_post("/mfa/reset", &manager.access_token, body.clone())
        .await;
    assert_answer(
        &refused,
        StatusCode::FORBIDDEN,
        &mfa_error(
            "Insufficient permissions. OWNER or ADMINISTRATOR role required to reset another user's MFA.",
            "INSUFFICIENT_PERMISSIONS",
        ),
    );
    // The role rules of section 2: an administrator cannot act on the OWNER.
    let above = app
        .mfa_post(
            "/mfa/reset",
            &admin.access_token,
            json!({ "resetUserId": owner.user_id }),
        )
        .await;
    assert_answer(
        &above,
        StatusCode::FORBIDDEN,
        &mfa_error(
            "Insufficient permissions to reset this user's MFA",
            "INSUFFICIENT_PERMISSIONS",
        ),
    );
    for other in [
        stranger.user_id.clone(),
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
    ] {
        let answer = app
            .mfa_post(
                "/mfa/reset",
                &admin.access_token,
                json!({ "resetUserId": other }),
            )
            .await;
        assert_answer(
            &answer,
            StatusCode::NOT_FOUND,
            &mfa_error("User not found", "USER_NOT_FOUND"),
        );
    }
    app.assert_unchanged(&before).await;

    let mark = app.event_mark().await;
    let reset = app.mfa_post("/mfa/reset", &admin.access_token, body).await;
    assert_answer(&reset, StatusCode::OK, &message("MFA reset successfully"));
    assert_unauthorized(&app.get("/user/profile", Some(&target.access_token)).await);
    let sql = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    assert_eq!(app.count(sql, &[&target.user_id]).await, 0);
    assert_eq!(app.count(sql, &[&admin.user_id]).await, 1);
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actorId"], json!(admin.user_id));
    assert_eq!(events[0]["contextId"], json!(target.user_id));
    assert_eq!(
        events[0]["jsonData"],
        json!({
            "mfaEnabledMethods": { "from": ["GOOGLE_AUTH"], "to": [] },
            "mfaPrimaryMethod": { "from": "GOOGLE_AUTH", "to": null },
            "mfaRequired": { "from": false, "to": true },
            "mfaMethods": "changed",
        })
    );

    // Required at the next login: pending, and the user must enrol again.
    let pending = app.log_in_pending(&target).await;
    let status = app.get("/mfa/status", Some(&pending.access_token)).await;
    assert_eq!(
        status.body["data"],
        json!({
            "isEnabled": false, "isRequired": true, "isEnforced": false,
            "enabledMethods": [], "sessionVerified": false,
        })
    );
    app.enrol_totp(&pending).await;
    let listed = app.get("/workspace", Some(&pending.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    // Enrolled while required: the last method cannot be switched off.
    let disable = change(&app, &pending, "/mfa/disable", "GOOGLE_AUTH").await;
    assert_answer(
        &disable,
        StatusCode::FORBIDDEN,
        &mfa_error(
            "Cannot disable MFA when enforced by organization",
            "MFA_ENFORCED",
        ),
    );
    // An OWNER may reset an admin; nobody needs to be reset to be "reset" again (idempotent).
    let again = app
        .mfa_post(
            "/mfa/reset",
            &owner.access_token,
            json!({ "resetUserId": admin.user_id }),
        )
        .await;
    assert_answer(&again, StatusCode::OK, &message("MFA reset successfully"));
}

#[tokio::test]
async fn enforcement_makes_members_enrol_stops_password_only_sessions_refreshing_and_is_one_flag() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let member = app
        .member(
            &owner,
            "member@example.com",
            WORKSPACES,
            Verification::Verified,
        )
        .await;
    let before = app.snapshot().await;
    let refused = app
        .post(
            "/mfa/organization/enforce",
            Some(&member.access_token),
            json!({ "enforced": true }),
        )
        .await;
    assert_answer(
        &refused,
        StatusCode::FORBIDDEN,
        &mfa_error(
            "Insufficient permissions: only OWNER and ADMINISTRATOR roles can enforce MFA",
            "INSUFFICIENT_PERMISSIONS",
        ),
    );
    let missing = app
        .post(
            "/mfa/organization/enforce",
            Some(&owner.access_token),
            json!({}),
        )
        .await;
    assert_answer(
        &missing,
        StatusCode::BAD_REQUEST,
        &mfa_error("Missing required field: enforced", "MISSING_FIELD"),
    );
    app.assert_unchanged(&before).await;

    let mark = app.event_mark().await;
    let on = app
        .post(
            "/mfa/organization/enforce",
            Some(&owner.access_token),
            json!({ "enforced": true }),
        )
        .await;
    assert_answer(
        &on,
        StatusCode::OK,
        &message("MFA enforcement enabled for organization"),
    );
    let events = app.events_since(&mark).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["context"], json!(4));
    assert_eq!(
        events[0]["jsonData"],
        json!({ "mfaEnforced": { "from": false, "to": true } })
    );
    let org = app
        .get(
            &format!("/organization/{}", owner.org_id),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(org.body["data"]["mfaEnforced"], json!(true));

    // Existing sessions keep working for their access token's hour, but cannot refresh.
    let listed = app.get("/workspace", Some(&member.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let refresh = app
        .post(
            "/user/refresh",
            None,
            json!({ "refreshToken": member.refresh_token }),
        )
        .await;
    assert_error(
        &refresh,
        401,
        "Invalid or expired refresh token",
        "INVALID_REFRESH_TOKEN",
    );
    // A new login is pending until the member enrols.
    let pending = app.log_in_pending(&member).await;
    let status = app.get("/mfa/status", Some(&pending.access_token)).await;
    assert_eq!(status.body["data"]["isEnforced"], json!(true));
    assert_eq!(status.body["data"]["isRequired"], json!(true));
    let profile = app.get("/user/profile", Some(&pending.access_token)).await;
    assert_eq!(profile.body["data"]["mfaRequired"], json!(true));
    app.enrol_totp(&pending).await;
    let listed = app.get("/workspace", Some(&pending.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let disable = change(&app, &pending, "/mfa/disable", "GOOGLE_AUTH").await;
    assert_answer(
        &disable,
        StatusCode::FORBIDDEN,
        &mfa_error(
            "Cannot disable MFA when enforced by organization",
            "MFA_ENFORCED",
        ),
    );

    // Off again through PUT /organization: the same flag.
    let off = app
        .request(
            reqwest::Method::PUT,
            &format!("/organization/{}", owner.org_id),
            Some(&owner.access_token),
            Some(json!({ "mfaEnforced": false })),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let status = app.get("/mfa/status", Some(&pending.access_token)).await;
    assert_eq!(status.body["data"]["isEnforced"], json!(false));
    let disable = change(&app, &pending, "/mfa/disable", "GOOGLE_AUTH").await;
    assert_answer(&disable, StatusCode::OK, &message("MFA method disabled"));
    // The owner never enrolled: with enforcement off, a password logs them in fully again.
    let login = app.login(&owner.email, PASSWORD).await;
    assert!(login.body.get("mfaRequired").is_none(), "{}", login.body);
    let off_again = app
        .post(
            "/mfa/organization/enforce",
            Some(&owner.access_token),
            json!({ "enforced": false }),
        )
        .await;
    assert_answer(
        &off_again,
        StatusCode::OK,
        &message("MFA enforcement disabled for organization"),
    );
}

#[tokio::test]
async fn under_enforcement_a_session_that_passed_mfa_refreshes_and_one_that_never_did_cannot() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let member = app
        .member(
            &owner,
            "member@example.com",
            WORKSPACES,
            Verification::Verified,
        )
        .await;
    // The member passes MFA twice: by enrolling (that session), and with a code at a later
    // login. Another member never enrols; the owner neither.
    let enrolled = app.enrol_totp(&member).await;
    let pending = app.log_in_pending(&member).await;
    let verified = app.verify_login(&pending, &enrolled.backup_codes[0]).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let passed_at_login = Account {
        access_token: verified.str("accessToken"),
        refresh_token: verified.str("refreshToken"),
        ..pending
    };
    let bystander = app
        .member(
            &owner,
            "bystander@example.com",
            WORKSPACES,
            Verification::Verified,
        )
        .await;
    app.enforce_mfa(&owner).await;

    for session in [&member, &passed_at_login] {
        // Twice: the refreshed session is still one that passed MFA.
        let mut refresh_token = session.refresh_token.clone();
        for _ in 0..2 {
            let refreshed = app
                .post(
                    "/user/refresh",
                    None,
                    json!({ "refreshToken": refresh_token }),
                )
                .await;
            assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
            let access = refreshed.str("accessToken");
            let expected = json!({
                "success": true,
                "token": access,
                "accessToken": access,
                "refreshToken": refreshed.str("refreshToken"),
                "expiresAt": refreshed.body["expiresAt"],
            });
            assert_answer(&refreshed, StatusCode::OK, &expected);
            let listed = app.get("/workspace", Some(&access)).await;
            assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
            refresh_token = refreshed.str("refreshToken");
        }
    }
    // Sessions that never passed MFA: 401, and their refresh token is not spent.
    let before = app.snapshot().await;
    for session in [&owner, &bystander] {
        let refused = app
            .post(
                "/user/refresh",
                None,
                json!({ "refreshToken": session.refresh_token }),
            )
            .await;
        assert_error(
            &refused,
            401,
            "Invalid or expired refresh token",
            "INVALID_REFRESH_TOKEN",
        );
    }
    app.assert_unchanged(&before).await;
}
