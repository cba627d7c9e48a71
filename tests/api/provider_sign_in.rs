//! Sign-in with identity providers (contract section 12): `POST /auth/google` and
//! `POST /auth/microsoft` with ID tokens from a mock provider on loopback (real RS256
//! signatures), what a token must prove, how an identity is linked or registered, the
//! registration policy, MFA, the refresh routes, `GET /auth/providers`, and a provider that is
//! down or slow. Every refusal is checked to write nothing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use workspaces::config::providers::{ClientSecret, GenericProvider, MicrosoftClient, OidcClient};
use workspaces::config::{Config, RegistrationPolicy};

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{spawn_app, spawn_app_with, TestApp};
use crate::support::assertions::{
    assert_answer, assert_error, assert_unauthorized, error_body, healthy,
};
use crate::support::client::Answer;
use crate::support::clock::now_ms;
use crate::support::mfa::step_now;
use crate::support::mock_provider::{MockProvider, Mode, TestKey, CLIENT_ID, CLIENT_SECRET};

const USER: i64 = 3;
const ORG: i64 = 4;
const CREATED: i64 = 0;
const UPDATED: i64 = 1;

/// A tenant of the mock Microsoft.
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn configure_providers(config: &mut Config, mock: &MockProvider) {
    config.providers.google = Some(OidcClient {
        issuer: mock.base().to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    });
    config.providers.microsoft = Some(MicrosoftClient {
        authority: mock.base().to_owned(),
        tenant: "common".to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    });
}

/// A server signing in with Google and Microsoft at `mock`, configured further by `configure`.
async fn provider_app_with(mock: &MockProvider, configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|config| {
        configure_providers(config, mock);
        configure(config);
    })
    .await
}

async fn provider_app(mock: &MockProvider) -> TestApp {
    provider_app_with(mock, |_| {}).await
}

async fn google(app: &TestApp, token: &str) -> Answer {
    app.post("/auth/google", None, json!({ "token": token }))
        .await
}

fn invalid_token() -> Value {
    error_body("Invalid provider token", "INVALID_PROVIDER_TOKEN")
}

fn unverified() -> Value {
    error_body(
        "The identity provider has not verified this e-mail address",
        "PROVIDER_EMAIL_UNVERIFIED",
    )
}

fn unavailable() -> Value {
    error_body(
        "The identity provider is unavailable",
        "PROVIDER_UNAVAILABLE",
    )
}

/// Asserts a sign-in's 200, whole, for `user` (`[id, email, first name, org id, role]`); the
/// account it signed in as.
#[track_caller]
fn assert_signed_in(answer: &Answer, user: [&str; 4], mfa_required: bool) -> Account {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let [id, email, name, org_id] = user;
    let mut expected = json!({
        "success": true,
        "accessToken": answer.body["accessToken"],
        "refreshToken": answer.body["refreshToken"],
        "tokenId": answer.body["tokenId"],
        "expiresAt": answer.body["expiresAt"],
        "user": { "id": id, "email": email, "name": name, "orgId": org_id, "orgRole": 255 },
    });
    if mfa_required {
        expected["mfaRequired"] = json!(true);
    }
    assert_answer(answer, StatusCode::OK, &expected);
    for field in ["accessToken", "refreshToken", "tokenId"] {
        assert!(answer.body[field].as_str().is_some_and(|t| !t.is_empty()));
    }
    Account {
        email: email.to_owned(),
        first_name: name.to_owned(),
        last_name: String::new(),
        user_id: id.to_owned(),
        org_id: org_id.to_owned(),
        access_token: answer.str("accessToken"),
        refresh_token: answer.str("refreshToken"),
        token_id: answer.str("tokenId"),
        verification_token_id: String::new(),
    }
}

fn event(
    actor: &str,
    org: &str,
    (context, kind): (i64, i64),
    context_id: &str,
    data: Value,
) -> Value {
    json!({
        "orgId": org, "actorId": actor, "workspaceId": null, "context": context, "event": kind,
        "contextId": context_id, "jsonData": data,
    })
}

async fn identities(app: &TestApp, user_id: &str) -> Vec<String> {
    app.strings(
        "SELECT provider || '|' || subject || '|' || email FROM identities WHERE user_id = $1 \
         ORDER BY 1",
        &[user_id],
    )
    .await
}

async fn login_method(app: &TestApp, account: &Account) -> Value {
    let sessions = app.get("/sessions", Some(&account.access_token)).await;
    assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.body);
    let current = sessions.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(account.token_id))
        .cloned()
        .unwrap();
    current["loginMethod"].clone()
}

#[tokio::test]
async fn a_first_sign_in_registers_a_verified_owner_of_a_new_organization_without_a_password() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let mark = app.event_mark().await;

    let answer = google(&app, &mock.token("g-1", "Zoe@Example.com")).await;

    let user_id = answer.body["user"]["id"].as_str().unwrap().to_owned();
    let org_id = answer.body["user"]["orgId"].as_str().unwrap().to_owned();
    let zoe = assert_signed_in(
        &answer,
        [&user_id, "Zoe@Example.com", "Zoe", &org_id],
        false,
    );
    let org = json!({
        "id": org_id, "name": "Zoe Park's organization", "website": null, "is_business": false,
    });
    let user = json!({
        "id": user_id, "email": "Zoe@Example.com", "name": "Zoe", "lastName": "Park",
        "orgId": org_id, "orgRole": 255, "validated": true,
    });
    assert_eq!(
        app.events_since(&mark).await,
        [
            event(&user_id, &org_id, (ORG, CREATED), &org_id, org),
            event(&user_id, &org_id, (USER, CREATED), &user_id, user),
        ]
    );
    assert_eq!(
        identities(&app, &user_id).await,
        ["google|g-1|Zoe@Example.com"]
    );
    let stored = app
        .strings(
            "SELECT CASE WHEN u.validated THEN 'verified' ELSE 'not verified' END || '|' || \
             COALESCE(u.password_hash, 'none') || '|' || o.name \
             FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.id = $1",
            &[&user_id],
        )
        .await;
    assert_eq!(stored, ["verified|none|Zoe Park's organization"]);
    let profile = app.get("/user/profile", Some(&zoe.access_token)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert_eq!(profile.body["data"]["validated"], json!(true));
    assert_eq!(login_method(&app, &zoe).await, json!("GOOGLE"));

    // A password login finds no password; a second sign-in signs in the same account, writing
    // only its session.
    let login = app.login("zoe@example.com", PASSWORD).await;
    assert_error(
        &login,
        401,
        "No password set for this account",
        "NO_PASSWORD_SET",
    );
    let mark = app.event_mark().await;
    let again = google(&app, &mock.token("g-1", "zoe@example.com")).await;
    assert_signed_in(&again, [&user_id, "Zoe@Example.com", "Zoe", &org_id], false);
    assert_eq!(app.events_since(&mark).await, Vec::<Value>::new());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organizations", &[]).await,
        1
    );
    assert_eq!(mock.discovery_fetches(), 1, "discovery happens once");
    assert_eq!(mock.jwks_fetches(), 1, "the keys are fetched once");
}

#[tokio::test]
async fn a_first_sign_in_links_the_verified_account_with_that_email_which_keeps_its_password() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let ann = app.register_verified("ann@example.com").await;
    let mark = app.event_mark().await;

    let answer = google(&app, &mock.token("g-ann", "ANN@example.com")).await;

    let signed_in = assert_signed_in(
        &answer,
        [&ann.user_id, "ann@example.com", "Ann", &ann.org_id],
        false,
    );
    let change = json!({ "identities": { "from": [], "to": ["google"] } });
    assert_eq!(
        app.events_since(&mark).await,
        [event(
            &ann.user_id,
            &ann.org_id,
            (USER, UPDATED),
            &ann.user_id,
            change
        )]
    );
    assert_eq!(
        identities(&app, &ann.user_id).await,
        ["google|g-ann|ANN@example.com"]
    );
    assert_eq!(login_method(&app, &signed_in).await, json!("GOOGLE"));
    // The verified account keeps its password and its sessions.
    assert_eq!(app.login("ann@example.com", PASSWORD).await.status, 200);
    assert_eq!(
        app.get("/user/profile", Some(&ann.access_token))
            .await
            .status,
        200
    );
    // Microsoft's identity links beside it.
    let microsoft = app
        .post(
            "/auth/microsoft",
            None,
            json!({ "token": microsoft_token(&mock, "m-ann", "ann@example.com", TENANT) }),
        )
        .await;
    let by_microsoft = assert_signed_in(
        &microsoft,
        [&ann.user_id, "ann@example.com", "Ann", &ann.org_id],
        false,
    );
    assert_eq!(login_method(&app, &by_microsoft).await, json!("MICROSOFT"));
    assert_eq!(identities(&app, &ann.user_id).await.len(), 2);
}

#[tokio::test]
async fn linking_a_never_verified_account_verifies_it_clears_its_password_and_ends_its_sessions() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    // Someone registered the address before its owner: a password and a session of theirs.
    let squatter = app.register("zoe@example.com").await;
    let mark = app.event_mark().await;

    let answer = google(&app, &mock.token("g-zoe", "zoe@example.com")).await;

    let zoe = assert_signed_in(
        &answer,
        [
            &squatter.user_id,
            "zoe@example.com",
            "Ann",
            &squatter.org_id,
        ],
        false,
    );
    let change = json!({
        "identities": { "from": [], "to": ["google"] },
        "validated": { "from": false, "to": true },
        "password": "changed",
    });
    assert_eq!(
        app.events_since(&mark).await,
        [event(
            &squatter.user_id,
            &squatter.org_id,
            (USER, UPDATED),
            &squatter.user_id,
            change
        )]
    );
    // The earlier session is over, its refresh token too; the password no longer works.
    assert_unauthorized(&app.get("/user/profile", Some(&squatter.access_token)).await);
    let refresh = json!({ "refresh_token": squatter.refresh_token });
    assert_eq!(app.post("/user/refresh", None, refresh).await.status, 401);
    let login = app.login("zoe@example.com", PASSWORD).await;
    assert_error(
        &login,
        401,
        "No password set for this account",
        "NO_PASSWORD_SET",
    );
    // The new session works and the account is verified.
    let profile = app.get("/user/profile", Some(&zoe.access_token)).await;
    assert_eq!(
        profile.body["data"]["validated"],
        json!(true),
        "{}",
        profile.body
    );
}

#[tokio::test]
async fn tokens_that_prove_nothing_are_refused_and_write_nothing() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let ann = app.register_verified("ann@example.com").await;
    // Discovery and keys are fetched by a first good sign-in.
    google(&app, &mock.token("g-ann", "ann@example.com")).await;
    let before = app.snapshot().await;

    let good = mock.claims("g-new", "new@example.com");
    let with = |field: &str, value: Value| {
        let mut claims = good.clone();
        claims[field] = value;
        claims
    };
    let now = now_ms() / 1000;
    let refused = [
        (
            "another application's",
            mock.sign(TestKey::A, &with("aud", json!("another-client"))),
        ),
        (
            "expired",
            mock.sign(TestKey::A, &with("exp", json!(now - 120))),
        ),
        (
            "another issuer",
            mock.sign(TestKey::A, &with("iss", json!("https://evil.example"))),
        ),
        (
            "issued in the future",
            mock.sign(TestKey::A, &with("iat", json!(now + 3600))),
        ),
        (
            "another authorized party",
            mock.sign(TestKey::A, &with("azp", json!("another-client"))),
        ),
        ("a key not published", mock.sign(TestKey::C, &good)),
        (
            "a published kid, another key",
            mock.sign_as(TestKey::C, TestKey::A.kid(), &good),
        ),
        ("no subject", mock.sign(TestKey::A, &with("sub", json!("")))),
        ("not a JWT", "not-a-token".to_owned()),
        ("an HMAC token", {
            let header = jsonwebtoken::Header {
                kid: Some(TestKey::A.kid().to_owned()),
                ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
            };
            let key = jsonwebtoken::EncodingKey::from_secret(b"a shared secret");
            jsonwebtoken::encode(&header, &good, &key).unwrap()
        }),
        // The identity already linked, but for another client: still nothing.
        ("the linked identity, another audience", {
            let mut claims = mock.claims("g-ann", "ann@example.com");
            claims["aud"] = json!(["another-client"]);
            mock.sign(TestKey::A, &claims)
        }),
    ];
    for (what, token) in refused {
        let answer = google(&app, &token).await;
        assert!(
            answer.status == 401,
            "{what}: {} {}",
            answer.status,
            answer.body
        );
        assert_answer(&answer, 401, &invalid_token());
    }
    app.assert_unchanged(&before).await;
    // An unknown kid within the cooldown did not fetch the keys again.
    assert_eq!(mock.jwks_fetches(), 1);
    assert!(!ann.user_id.is_empty());
}

/// OpenID Connect Core 3.1.3.7 (3, 4): a token whose `aud` names other audiences besides ours
/// was issued to us only when its `azp` says so.
#[tokio::test]
async fn a_token_for_several_audiences_signs_in_only_when_its_azp_is_ours() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let mut claims = mock.claims("g-multi", "multi@example.com");
    claims["aud"] = json!([CLIENT_ID, "another-client"]);
    let answer = google(&app, &mock.sign(TestKey::A, &claims)).await;
    assert_answer(&answer, StatusCode::UNAUTHORIZED, &invalid_token());
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);

    // For us and another audience, issued to us (azp): signs in.
    claims["azp"] = json!(CLIENT_ID);
    let answer = google(&app, &mock.sign(TestKey::A, &claims)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 1);
}

#[tokio::test]
async fn an_unverified_or_unclaimed_email_signs_no_one_up_or_in() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    app.register_verified("ann@example.com").await;
    let before = app.snapshot().await;

    for email_verified in [json!(false), json!("false"), Value::Null] {
        for (subject, email) in [("g-new", "new@example.com"), ("g-ann", "ann@example.com")] {
            let mut claims = mock.claims(subject, email);
            match &email_verified {
                Value::Null => drop(claims.as_object_mut().unwrap().remove("email_verified")),
                value => claims["email_verified"] = value.clone(),
            }
            let answer = google(&app, &mock.sign(TestKey::A, &claims)).await;
            assert_answer(&answer, 403, &unverified());
        }
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn a_deleted_user_is_inactive_as_at_a_password_login() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let ann = app.register_verified("ann@example.com").await;
    google(&app, &mock.token("g-ann", "ann@example.com")).await;
    app.execute(
        "UPDATE users SET deleted_at = updated_at WHERE id = $1",
        &[&ann.user_id],
    )
    .await;
    let before = app.snapshot().await;

    let inactive = error_body("User account is inactive", "USER_INACTIVE");
    // By the linked identity, and by a new identity with the same e-mail.
    assert_answer(
        &google(&app, &mock.token("g-ann", "ann@example.com")).await,
        401,
        &inactive,
    );
    assert_answer(
        &google(&app, &mock.token("g-other", "ann@example.com")).await,
        401,
        &inactive,
    );
    assert_answer(
        &app.login("ann@example.com", PASSWORD).await,
        401,
        &inactive,
    );
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn the_registration_policy_refuses_new_organizations_but_not_sign_ins_or_links() {
    for (policy, refusal) in [
        (
            RegistrationPolicy::InviteOnly,
            error_body(
                "Registration requires an activation link",
                "REGISTRATION_INVITE_ONLY",
            ),
        ),
        (
            RegistrationPolicy::Closed,
            error_body("Registration is closed", "REGISTRATION_CLOSED"),
        ),
    ] {
        let mock = MockProvider::start().await;
        let app = provider_app_with(&mock, |config| config.registration = policy).await;
        // Accounts made before (as the operator's command or an invitation would).
        let open = crate::support::app::second_instance(&app).await;
        let register = |email: &str| {
            let body = TestApp::registration_body(email);
            let client = app.client.clone();
            let url = format!("{open}/user/register");
            async move { client.post(url).json(&body).send().await.unwrap().status() }
        };
        assert_eq!(register("ann@example.com").await, 201);
        assert_eq!(register("bob@example.com").await, 201);
        app.execute("UPDATE users SET validated = TRUE", &[]).await;
        let ann_token = mock.token("g-ann", "ann@example.com");
        google(&app, &ann_token).await;
        let before = app.snapshot().await;

        let new = google(&app, &mock.token("g-new", "new@example.com")).await;
        assert_answer(&new, 403, &refusal);
        app.assert_unchanged(&before).await;

        // Signing in to a linked account, and linking to an existing one, work.
        assert_eq!(google(&app, &ann_token).await.status, 200, "{policy:?}");
        let bob = google(&app, &mock.token("g-bob", "bob@example.com")).await;
        assert_eq!(bob.status, 200, "{policy:?}: {}", bob.body);
    }
}

#[tokio::test]
async fn mfa_applies_after_a_provider_sign_in_as_after_a_password() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let ann = app.register_verified("ann@example.com").await;
    let totp = app.enrol_totp(&ann).await;

    let answer = google(&app, &mock.token("g-ann", "ann@example.com")).await;

    let pending = assert_signed_in(
        &answer,
        [&ann.user_id, "ann@example.com", "Ann", &ann.org_id],
        true,
    );
    let refused = app.get("/workspace", Some(&pending.access_token)).await;
    assert_error(&refused, 403, "MFA verification required", "MFA_REQUIRED");
    let refresh = json!({ "refresh_token": pending.refresh_token });
    assert_eq!(
        app.post("/auth/google/refresh", None, refresh).await.status,
        401
    );
    let verified = app
        .verify_login(
            &pending,
            &totp.fresh_code(totp.enrolled_step.max(step_now())),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let listed = app.get("/workspace", Some(&pending.access_token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
}

#[tokio::test]
async fn the_refresh_routes_refresh_our_session_as_user_refresh_does() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let answer = google(&app, &mock.token("g-zoe", "zoe@example.com")).await;
    let first = answer.str("refreshToken");

    let mut presented = first.clone();
    for route in [
        "/auth/google/refresh",
        "/auth/github/refresh",
        "/auth/microsoft/refresh",
    ] {
        let refreshed = app
            .post(route, None, json!({ "refresh_token": presented }))
            .await;
        assert_eq!(
            refreshed.status,
            StatusCode::OK,
            "{route}: {}",
            refreshed.body
        );
        let expected = json!({
            "success": true,
            "token": refreshed.body["accessToken"],
            "accessToken": refreshed.body["accessToken"],
            "refreshToken": refreshed.body["refreshToken"],
            "expiresAt": refreshed.body["expiresAt"],
        });
        assert_answer(&refreshed, 200, &expected);
        assert_ne!(refreshed.str("refreshToken"), presented);
        presented = refreshed.str("refreshToken");
    }
    // A used one again ends the session, as on `POST /user/refresh`.
    let reused = app
        .post(
            "/auth/microsoft/refresh",
            None,
            json!({ "refresh_token": first }),
        )
        .await;
    assert_eq!(
        reused.body["error_code"],
        json!("REFRESH_TOKEN_REUSED"),
        "{}",
        reused.body
    );
    let missing = app.post("/auth/github/refresh", None, json!({})).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
}

/// A Microsoft ID token of `tenant`, as the multi-tenant endpoint issues it.
fn microsoft_token(mock: &MockProvider, subject: &str, email: &str, tenant: &str) -> String {
    let mut claims = mock.claims(subject, email);
    claims["iss"] = json!(format!("{}/{tenant}/v2.0", mock.base()));
    claims["tid"] = json!(tenant);
    mock.sign(TestKey::A, &claims)
}

#[tokio::test]
async fn microsoft_common_accepts_the_issuer_of_the_tokens_own_tenant_only() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let post = |token: String| {
        let app = &app;
        async move {
            app.post("/auth/microsoft", None, json!({ "token": token }))
                .await
        }
    };

    let mut claims = mock.claims("m-1", "zoe@contoso.example");
    claims["iss"] = json!(format!("{}/{TENANT}/v2.0", mock.base()));
    claims["tid"] = json!("another-tenant");
    let before = app.snapshot().await;
    for token in [
        mock.sign(TestKey::A, &claims),
        // Google's issuer is not Microsoft's.
        mock.token("m-1", "zoe@contoso.example"),
    ] {
        assert_answer(&post(token).await, 401, &invalid_token());
    }
    app.assert_unchanged(&before).await;

    let answer = post(microsoft_token(&mock, "m-1", "zoe@contoso.example", TENANT)).await;
    let user_id = answer.body["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let org_id = answer.body["user"]["orgId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let zoe = assert_signed_in(
        &answer,
        [&user_id, "zoe@contoso.example", "Zoe", &org_id],
        false,
    );
    assert_eq!(login_method(&app, &zoe).await, json!("MICROSOFT"));
    assert_eq!(
        identities(&app, &user_id).await,
        ["microsoft|m-1|zoe@contoso.example"]
    );
}

#[tokio::test]
async fn a_new_signing_key_fetches_the_keys_once_more_and_made_up_kids_do_not() {
    let mock = MockProvider::start().await;
    let app = provider_app_with(&mock, |config| {
        config.providers.jwks_refresh_cooldown = Duration::ZERO;
    })
    .await;
    let first = google(&app, &mock.token("g-zoe", "zoe@example.com")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(mock.jwks_fetches(), 1);

    // The provider rotates to key B: the first token naming it fetches the keys again, once.
    mock.publish(&[TestKey::A, TestKey::B]);
    let claims = mock.claims("g-zoe", "zoe@example.com");
    for _ in 0..3 {
        let rotated = google(&app, &mock.sign(TestKey::B, &claims)).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
    }
    assert_eq!(mock.jwks_fetches(), 2);
    // With no cooldown, an unknown key fetches the keys again, and is still refused.
    mock.publish(&[TestKey::B]);
    assert_eq!(
        google(&app, &mock.sign(TestKey::C, &claims)).await.status,
        401
    );
    assert_eq!(mock.jwks_fetches(), 3);
    assert_eq!(mock.discovery_fetches(), 1);
}

#[tokio::test]
async fn made_up_kids_cannot_make_the_server_fetch_the_keys_again_within_the_cooldown() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    google(&app, &mock.token("g-zoe", "zoe@example.com")).await;
    let claims = mock.claims("g-zoe", "zoe@example.com");
    for n in 0..10 {
        let token = mock.sign_as(TestKey::C, &format!("made-up-{n}"), &claims);
        assert_answer(&google(&app, &token).await, 401, &invalid_token());
    }
    assert_eq!(mock.jwks_fetches(), 1);
}

#[tokio::test]
async fn a_provider_down_or_answering_garbage_is_502_and_is_tried_again_later() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let before = app.snapshot().await;
    mock.set_mode(Mode::Garbage);
    let token = mock.token("g-zoe", "zoe@example.com");
    assert_answer(&google(&app, &token).await, 502, &unavailable());
    app.assert_unchanged(&before).await;
    // A failed discovery is not remembered: once the provider recovers, sign-ins work.
    mock.set_mode(Mode::Normal);
    assert_eq!(google(&app, &token).await.status, 200);

    // Nothing listens at the issuer at all.
    let down = spawn_app_with(|config| {
        config.providers.google = Some(OidcClient {
            issuer: "http://127.0.0.1:9".to_owned(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: ClientSecret::new(CLIENT_SECRET),
        });
    })
    .await;
    assert_answer(&google(&down, &token).await, 502, &unavailable());
}

#[tokio::test]
async fn a_slow_provider_times_out_after_5_s_while_other_requests_answer_at_once() {
    let mock = MockProvider::start().await;
    let app = provider_app(&mock).await;
    let ann = app.register_verified("ann@example.com").await;
    mock.set_mode(Mode::Slow(Duration::from_secs(30)));
    let token = mock.token("g-zoe", "zoe@example.com");

    let started = Instant::now();
    let slow = async {
        let answer = google(&app, &token).await;
        (answer, started.elapsed())
    };
    let others = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut latencies = Vec::new();
        for _ in 0..3 {
            let at = Instant::now();
            assert_answer(&app.get("/health", None).await, 200, &healthy());
            let login = app.login(&ann.email, PASSWORD).await;
            assert_eq!(login.status, 200, "{}", login.body);
            latencies.push(at.elapsed());
        }
        latencies
    };
    let ((answer, elapsed), latencies) = tokio::join!(slow, others);

    assert_answer(&answer, 502, &unavailable());
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(8)).contains(&elapsed),
        "timed out after {elapsed:?}"
    );
    for latency in latencies {
        assert!(
            latency < Duration::from_secs(2),
            "another request took {latency:?}"
        );
    }
}

#[tokio::test]
async fn the_providers_are_listed_and_an_unconfigured_one_is_refused_before_its_body_is_read() {
    let mock = MockProvider::start().await;
    let app = provider_app_with(&mock, |config| {
        config.providers.generic.push(GenericProvider {
            name: "keycloak".to_owned(),
            client: OidcClient {
                issuer: mock.base().to_owned(),
                client_id: CLIENT_ID.to_owned(),
                client_secret: ClientSecret::new(CLIENT_SECRET),
            },
        });
    })
    .await;
    let listed = app.get("/auth/providers", None).await;
    let expected = json!({ "success": true, "providers": [
        { "name": "google", "displayName": "Google" },
        { "name": "microsoft", "displayName": "Microsoft" },
        { "name": "keycloak", "displayName": "keycloak" },
    ]});
    assert_answer(&listed, 200, &expected);

    let none = spawn_app().await;
    let empty = none.get("/auth/providers", None).await;
    assert_answer(&empty, 200, &json!({ "success": true, "providers": [] }));
    let before = none.snapshot().await;
    let not_configured = error_body(
        "Sign-in with this provider is not configured",
        "PROVIDER_NOT_CONFIGURED",
    );
    for route in ["/auth/google", "/auth/microsoft", "/auth/web3"] {
        let answer = none.post(route, None, json!({ "token": "x" })).await;
        assert_answer(&answer, 400, &not_configured);
        let empty_body = none.post(route, None, json!({})).await;
        assert_answer(&empty_body, 400, &not_configured);
    }
    let web3 = app.post("/auth/web3", None, json!({})).await;
    assert_answer(&web3, 400, &not_configured);
    none.assert_unchanged(&before).await;
    // Configured, a missing token is a missing field.
    let missing = app.post("/auth/google", None, json!({})).await;
    assert_error(
        &missing,
        400,
        "Missing required field: token",
        "MISSING_FIELD",
    );
}
