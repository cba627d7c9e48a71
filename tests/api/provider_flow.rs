//! The browser flow of sign-in with identity providers (contract section 12):
//! `GET /auth/oidc/{name}/start`, `/callback`, `POST /auth/oidc/complete`, against the mock
//! provider as authorization server (it checks the client secret, the redirect URI and PKCE,
//! and puts the authorization request's nonce in its ID tokens); GitHub (`POST /auth/github` and
//! its browser flow); and the exchange routes `POST /auth/{google,microsoft}/exchange`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};
use workspaces::config::providers::{
    ClientSecret, GenericProvider, GithubClient, MicrosoftClient, OidcClient,
};
use workspaces::config::{Config, RegistrationPolicy};

use crate::support::accounts::PASSWORD;
use crate::support::app::{second_instance_with, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, error_body, healthy};
use crate::support::client::Answer;
use crate::support::mock_provider::{GithubPerson, MockProvider, Mode, CLIENT_ID, CLIENT_SECRET};

/// A tenant of the mock Microsoft.
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn configure_providers(config: &mut Config, mock: &MockProvider) {
    let oidc = || OidcClient {
        issuer: mock.base().to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    };
    config.providers.google = Some(oidc());
    config.providers.microsoft = Some(MicrosoftClient {
        authority: mock.base().to_owned(),
        tenant: "common".to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    });
    config.providers.github = Some(GithubClient {
        url: mock.base().to_owned(),
        api_url: mock.base().to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    });
    config.providers.generic = vec![GenericProvider {
        name: "corp".to_owned(),
        client: oidc(),
    }];
}

async fn flow_app_with(mock: &MockProvider, configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|config| {
        configure_providers(config, mock);
        configure(config);
    })
    .await
}

async fn flow_app(mock: &MockProvider) -> TestApp {
    flow_app_with(mock, |_| {}).await
}

/// A client that does not follow redirects: the tests read each `Location`.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The port of `app`: the default public URL is `http://localhost:PORT`.
fn port(app: &TestApp) -> String {
    app.address.rsplit(':').next().unwrap().to_owned()
}

fn public_base(app: &TestApp) -> String {
    format!("http://localhost:{}", port(app))
}

thread_local! {
    /// The test's browser's cookies (`name=value`): each test runs on its own thread, the
    /// client has no cookie store. The flow's cookie binds a callback to the browser that
    /// began the flow.
    static COOKIES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// GETs `url` with the browser's cookies, keeps those it sets, and answers the status and
/// `Location`.
async fn visit(url: &str) -> (StatusCode, String) {
    let mut request = browser().get(url);
    let cookies = COOKIES.with(|c| c.borrow().join("; "));
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    let response = request.send().await.unwrap();
    for set in response.headers().get_all("set-cookie") {
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let name = format!("{}=", pair.split('=').next().unwrap());
        COOKIES.with(|c| {
            let mut c = c.borrow_mut();
            c.retain(|kept| !kept.starts_with(&name));
            c.push(pair);
        });
    }
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), location)
}

/// Another browser from now on: the cookies so far are forgotten.
fn another_browser() {
    COOKIES.with(|c| c.borrow_mut().clear());
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `GET /auth/oidc/{name}/start?return=...`: the provider's authorization URL.
async fn start(app: &TestApp, name: &str) -> String {
    let (status, location) = visit(&app.url(&format!(
        "/auth/oidc/{name}/start?return=%2Fconsole%2Fworkspaces"
    )))
    .await;
    assert_eq!(status, StatusCode::FOUND, "{location}");
    location
}

/// The provider's authorization page: it sends the browser back to the callback at once; the
/// callback URL, aimed at `server` (the public URL may name another host).
async fn authorize(authorization_url: &str, server: &str) -> String {
    let (status, back) = visit(authorization_url).await;
    assert_eq!(status, StatusCode::FOUND, "{back}");
    let back = url::Url::parse(&back).unwrap();
    format!("{server}{}?{}", back.path(), back.query().unwrap())
}

/// The callback's redirect to the console: `Ok(code)` from `#code=`, `Err(code)` from `#error=`.
async fn callback(app: &TestApp, callback_url: &str) -> Result<String, String> {
    let (status, location) = visit(callback_url).await;
    assert_eq!(status, StatusCode::FOUND, "{location}");
    let page = format!("{}/console/signed-in#", public_base(app));
    let fragment = location
        .strip_prefix(&page)
        .unwrap_or_else(|| panic!("not the console's page: {location}"));
    match fragment.split_once('=') {
        Some(("code", code)) => Ok(code.to_owned()),
        Some(("error", code)) => Err(code.to_owned()),
        _ => panic!("unexpected fragment {fragment}"),
    }
}

/// The whole flow through provider `name`: the one-time code, or the error code.
async fn flow(app: &TestApp, name: &str) -> Result<String, String> {
    let authorization = start(app, name).await;
    let back = authorize(&authorization, &app.address).await;
    callback(app, &back).await
}

async fn complete(app: &TestApp, code: &str) -> Answer {
    app.post("/auth/oidc/complete", None, json!({ "code": code }))
        .await
}

fn invalid_code() -> Value {
    error_body("Invalid or expired code", "INVALID_TOKEN")
}

/// Asserts the login answer of a first sign-in of Zoe (a new OWNER), plus `returnTo`.
#[track_caller]
fn assert_signed_in_zoe(answer: &Answer, email: &str) {
    let body = &answer.body;
    assert_answer(
        answer,
        StatusCode::OK,
        &json!({
            "success": true,
            "accessToken": body["accessToken"], "refreshToken": body["refreshToken"],
            "tokenId": body["tokenId"], "expiresAt": body["expiresAt"],
            "user": {
                "id": body["user"]["id"], "email": email, "name": "Zoe",
                "orgId": body["user"]["orgId"], "orgRole": 255,
            },
            "returnTo": "/console/workspaces",
        }),
    );
    for field in ["accessToken", "refreshToken", "tokenId"] {
        assert!(body[field].as_str().is_some_and(|t| !t.is_empty()));
    }
}

#[tokio::test]
async fn the_browser_flow_sends_state_nonce_and_pkce_and_its_one_time_code_works_once() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;

    let authorization = start(&app, "google").await;
    assert!(
        authorization.starts_with(&format!("{}/authorize?", mock.base())),
        "{authorization}"
    );
    let params = query_of(&authorization);
    let redirect_uri = format!("{}/auth/oidc/google/callback", public_base(&app));
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["redirect_uri"], redirect_uri);
    assert_eq!(params["scope"], "openid email profile");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43);
    for secret in ["state", "nonce"] {
        assert!(params[secret].len() >= 43, "{secret}");
    }
    // The database keeps the state only hashed, and neither the nonce nor the verifier in clear.
    let stored = app.dump("oidc_flows").await.join("\n");
    for secret in ["state", "nonce"] {
        assert!(
            !stored.contains(&params[secret]),
            "{secret} stored: {stored}"
        );
    }

    let back = authorize(&authorization, &app.address).await;
    let code = callback(&app, &back).await.unwrap();
    assert!(!code.is_empty());
    // The token request carried the client secret and the PKCE verifier (the mock checks both).
    assert_eq!(mock.token_requests(), 1);

    let answer = complete(&app, &code).await;
    assert_signed_in_zoe(&answer, "zoe@example.com");
    let profile = app
        .get("/user/profile", Some(&answer.str("accessToken")))
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert_eq!(profile.body["data"]["email"], "zoe@example.com");

    // The code works once; so does the state.
    assert_answer(
        &complete(&app, &code).await,
        StatusCode::UNAUTHORIZED,
        &invalid_code(),
    );
    assert_eq!(
        callback(&app, &back).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );
    // A generic provider signs in the same person (linked: the verified e-mail is hers).
    let code = flow(&app, "corp").await.unwrap();
    let again = complete(&app, &code).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["user"]["id"], answer.body["user"]["id"]);
}

#[tokio::test]
async fn the_callback_may_reach_another_instance() {
    let mock = MockProvider::start().await;
    let public = "http://workspaces.test";
    let app = flow_app_with(&mock, |config| config.public_url = Some(public.into())).await;
    let other = second_instance_with(&app, |config| {
        configure_providers(config, &mock);
        config.public_url = Some(public.into());
    })
    .await;

    let authorization = start(&app, "google").await;
    assert_eq!(
        query_of(&authorization)["redirect_uri"],
        format!("{public}/auth/oidc/google/callback")
    );
    let back = authorize(&authorization, &other).await;
    let (status, location) = visit(&back).await;
    assert_eq!(status, StatusCode::FOUND);
    let code = location
        .strip_prefix(&format!("{public}/console/signed-in#code="))
        .unwrap_or_else(|| panic!("{location}"));
    assert_signed_in_zoe(&complete(&app, code).await, "zoe@example.com");
}

#[tokio::test]
async fn a_made_up_or_another_providers_state_is_refused_and_signs_no_one_in() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;

    let made_up = app.url("/auth/oidc/google/callback?code=x&state=made-up-state");
    assert_eq!(
        callback(&app, &made_up).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );
    let missing = app.url("/auth/oidc/google/callback?code=x");
    assert_eq!(
        callback(&app, &missing).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );
    // Google's state at the generic provider's callback.
    let authorization = start(&app, "google").await;
    let state = &query_of(&authorization)["state"];
    let elsewhere = app.url(&format!("/auth/oidc/corp/callback?code=x&state={state}"));
    assert_eq!(
        callback(&app, &elsewhere).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );
    // The person cancelled at the provider: the state is spent all the same.
    let authorization = start(&app, "google").await;
    let state = &query_of(&authorization)["state"];
    let denied = app.url(&format!(
        "/auth/oidc/google/callback?error=access_denied&state={state}"
    ));
    assert_eq!(callback(&app, &denied).await, Err("PROVIDER_DENIED".into()));
    assert_eq!(
        callback(&app, &denied).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );
    assert_eq!(mock.token_requests(), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM oidc_codes", &[]).await, 0);
}

/// The flow is bound to the browser that began it (RFC 6749 10.12, RFC 9700 4.7.1): a callback
/// URL opened in another browser signs no one in (no login CSRF).
#[tokio::test]
async fn a_callback_url_opened_in_another_browser_signs_no_one_in() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;
    // Zoe's flow, in her browser, finishes.
    let code = flow(&app, "google").await.expect("signed in");
    assert_signed_in_zoe(&complete(&app, &code).await, "zoe@example.com");

    // Mallory begins a flow and signs in at the provider as herself, then has another browser
    // (Zoe's) open the callback URL: Zoe must not end up signed in to Mallory's account.
    mock.next_person(json!({
        "sub": "mallory", "email": "mallory@example.com", "email_verified": true,
        "name": "Mallory",
    }));
    let authorization = start(&app, "google").await;
    let back = authorize(&authorization, &app.address).await;
    let codes = app.count("SELECT COUNT(*) FROM oidc_codes", &[]).await;
    another_browser();
    assert_eq!(
        callback(&app, &back).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );
    let mallory = "SELECT COUNT(*) FROM users WHERE email = 'mallory@example.com'";
    assert_eq!(app.count(mallory, &[]).await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oidc_codes", &[]).await,
        codes,
        "no one-time code for the other browser"
    );
}

#[tokio::test]
async fn an_expired_flow_or_one_time_code_is_refused() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;

    let authorization = start(&app, "google").await;
    app.execute("UPDATE oidc_flows SET expires_at = 0", &[])
        .await;
    let back = authorize(&authorization, &app.address).await;
    assert_eq!(
        callback(&app, &back).await,
        Err("SIGN_IN_FLOW_INVALID".into())
    );

    let code = flow(&app, "google").await.unwrap();
    assert_eq!(
        app.execute("UPDATE oidc_codes SET expires_at = 0", &[])
            .await,
        1
    );
    assert_answer(
        &complete(&app, &code).await,
        StatusCode::UNAUTHORIZED,
        &invalid_code(),
    );
    assert_answer(
        &complete(&app, "made-up").await,
        StatusCode::UNAUTHORIZED,
        &invalid_code(),
    );
}

#[tokio::test]
async fn a_code_issued_for_another_flow_fails_pkce_and_a_wrong_nonce_is_refused() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;

    // The provider's code of flow A (its challenge) at the callback of flow B (its verifier): an
    // injected code is refused by the provider.
    let first = start(&app, "google").await;
    let second = start(&app, "google").await;
    let back = authorize(&first, &app.address).await;
    let code = &query_of(&back)["code"];
    let state = &query_of(&second)["state"];
    let injected = app.url(&format!(
        "/auth/oidc/google/callback?code={code}&state={state}"
    ));
    assert_eq!(
        callback(&app, &injected).await,
        Err("INVALID_PROVIDER_TOKEN".into())
    );

    // An ID token whose nonce is not the one this flow sent.
    mock.override_nonce("another-flows-nonce");
    assert_eq!(
        flow(&app, "google").await,
        Err("INVALID_PROVIDER_TOKEN".into())
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);
}

/// The callback waits on the provider's token endpoint: a provider that does not answer sends
/// the browser to the console with `PROVIDER_UNAVAILABLE` after 5 s, and other requests are
/// answered at once meanwhile.
#[tokio::test]
async fn a_slow_token_endpoint_ends_the_callback_after_5_s_while_others_are_answered() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;
    let ann = app.register_verified("ann@example.com").await;
    let authorization = start(&app, "google").await;
    let back = authorize(&authorization, &app.address).await;
    mock.set_mode(Mode::Slow(Duration::from_secs(30)));

    let started = Instant::now();
    let slow = async {
        let outcome = callback(&app, &back).await;
        (outcome, started.elapsed())
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
    let ((outcome, elapsed), latencies) = tokio::join!(slow, others);

    assert_eq!(outcome, Err("PROVIDER_UNAVAILABLE".to_owned()));
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
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oidc_codes", &[]).await,
        0,
        "no one-time code is issued"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 1);
}

#[tokio::test]
async fn start_refuses_a_return_outside_the_console_and_an_unknown_provider() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;
    let refused = error_body("return must be a path under /console/", "INVALID_FIELD");
    for bad in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example%2Fconsole%2F",
        "%2Fconsole%2F..%2F..%2Fuser",
        "%2Fuser%2Fprofile",
    ] {
        let answer = app
            .get(&format!("/auth/oidc/google/start?return={bad}"), None)
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &refused);
    }
    let unknown = app.get("/auth/oidc/okta/start", None).await;
    assert_answer(
        &unknown,
        StatusCode::BAD_REQUEST,
        &error_body(
            "Sign-in with this provider is not configured",
            "PROVIDER_NOT_CONFIGURED",
        ),
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM oidc_flows", &[]).await, 0);
}

#[tokio::test]
async fn mfa_still_applies_after_the_browser_flow() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;
    let zoe = app.register_verified("zoe@example.com").await;
    app.enrol_totp(&zoe).await;
    let code = flow(&app, "google").await.unwrap();
    let pending = complete(&app, &code).await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    assert_eq!(pending.body["mfaRequired"], true);
    assert_eq!(pending.body["user"]["id"], json!(zoe.user_id));
    let refused = app
        .get("/workspace", Some(&pending.str("accessToken")))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

fn github_person(verified: bool) -> GithubPerson {
    GithubPerson {
        id: 583231,
        login: "zoepark".into(),
        name: "Zoe Park".into(),
        emails: vec![
            ("zoe@example.com".into(), true, verified),
            ("zoe@old.example".into(), false, true),
        ],
    }
}

#[tokio::test]
async fn github_signs_in_with_the_verified_primary_email() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;
    let code = mock.code_for("");
    let answer = app
        .post("/auth/github", None, json!({ "code": code }))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_answer(
        &answer,
        StatusCode::OK,
        &json!({
            "success": true,
            "accessToken": answer.body["accessToken"], "refreshToken": answer.body["refreshToken"],
            "tokenId": answer.body["tokenId"], "expiresAt": answer.body["expiresAt"],
            "user": {
                "id": answer.body["user"]["id"], "email": "zoe@example.com", "name": "Zoe",
                "orgId": answer.body["user"]["orgId"], "orgRole": 255,
            },
        }),
    );
    assert_eq!(
        app.strings("SELECT provider || '|' || subject FROM identities", &[])
            .await,
        ["github|583231"]
    );
    let sessions = app.get("/sessions", Some(&answer.str("accessToken"))).await;
    assert_eq!(
        sessions.body["sessions"][0]["loginMethod"], "GITHUB",
        "{}",
        sessions.body
    );

    // A used code, and a made-up one.
    let again = app
        .post("/auth/github", None, json!({ "code": code }))
        .await;
    assert_answer(
        &again,
        StatusCode::UNAUTHORIZED,
        &error_body("Invalid provider token", "INVALID_PROVIDER_TOKEN"),
    );

    // The browser flow through GitHub (state and PKCE, no nonce) signs the same person in.
    let code = flow(&app, "github").await.unwrap();
    let browser = complete(&app, &code).await;
    assert_eq!(browser.status, StatusCode::OK, "{}", browser.body);
    assert_eq!(browser.body["user"]["id"], answer.body["user"]["id"]);
}

#[tokio::test]
async fn github_refuses_an_unverified_primary_email_and_is_502_when_its_api_is_down() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;

    mock.next_github_person(github_person(false));
    let answer = app
        .post("/auth/github", None, json!({ "code": mock.code_for("") }))
        .await;
    assert_answer(
        &answer,
        StatusCode::FORBIDDEN,
        &error_body(
            "The identity provider has not verified this e-mail address",
            "PROVIDER_EMAIL_UNVERIFIED",
        ),
    );

    mock.next_github_person(github_person(true));
    mock.set_github_api_down(true);
    let answer = app
        .post("/auth/github", None, json!({ "code": mock.code_for("") }))
        .await;
    assert_answer(
        &answer,
        StatusCode::BAD_GATEWAY,
        &error_body(
            "The identity provider is unavailable",
            "PROVIDER_UNAVAILABLE",
        ),
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);
}

#[tokio::test]
async fn github_registers_through_an_activation_link_under_invite_only() {
    let mock = MockProvider::start().await;
    let app = flow_app_with(&mock, |config| {
        config.registration = RegistrationPolicy::InviteOnly;
        config.jwt_secret = Some(LINK_SECRET.to_owned());
    })
    .await;
    let refused = app
        .post("/auth/github", None, json!({ "code": mock.code_for("") }))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.body["error_code"], "REGISTRATION_INVITE_ONLY");

    let wrong = app
        .post(
            "/auth/github",
            None,
            json!({
                "code": mock.code_for(""),
                "activationUid": "0190f3c0-0000-7000-8000-000000000000",
                "activationToken": "wrong",
            }),
        )
        .await;
    assert_answer(
        &wrong,
        StatusCode::BAD_REQUEST,
        &error_body(
            "Invalid or expired activation link",
            "ACTIVATION_LINK_INVALID",
        ),
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);

    // An instance administrator (registered on an instance open to registration) invites two
    // addresses; the link for another address than GitHub's verified one is refused.
    let open = second_instance_with(&app, |config| {
        config.jwt_secret = Some(LINK_SECRET.to_owned());
    })
    .await;
    let registered = TestApp::send(
        app.client
            .post(format!("{open}/user/register"))
            .json(&TestApp::registration_body("admin@example.com")),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let sql = "UPDATE users SET validated = TRUE, instance_admin = TRUE";
    assert_eq!(app.execute(sql, &[]).await, 1);
    let admin = app.login("admin@example.com", PASSWORD).await;
    let link_for = |email: &'static str| {
        let app = &app;
        let admin = admin.str("accessToken");
        async move {
            let body = json!({ "email": email, "name": "Zoe" });
            let answer = app.post("/links", Some(&admin), body).await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
            let url = answer.body["link"]["activationLink"].as_str().unwrap();
            let fragment = url.split_once('#').unwrap().1;
            let (uid, token) = fragment.split_once('&').unwrap();
            let uid = uid.strip_prefix("uid=").unwrap().to_owned();
            (uid, token.strip_prefix("token=").unwrap().to_owned())
        }
    };
    let (other_uid, other_token) = link_for("someone@example.com").await;
    let mismatch = app
        .post(
            "/auth/github",
            None,
            json!({
                "code": mock.code_for(""),
                "activationUid": other_uid, "activationToken": other_token,
            }),
        )
        .await;
    assert_eq!(
        mismatch.status,
        StatusCode::BAD_REQUEST,
        "{}",
        mismatch.body
    );
    assert_eq!(mismatch.body["error_code"], "ACTIVATION_EMAIL_MISMATCH");
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 1);

    // Zoe's own link registers her: a new organization she owns, the GitHub identity, the
    // link spent by her account.
    let (uid, token) = link_for("zoe@example.com").await;
    let answer = app
        .post(
            "/auth/github",
            None,
            json!({ "code": mock.code_for(""), "activationUid": uid, "activationToken": token }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["user"]["email"], "zoe@example.com");
    assert_eq!(answer.body["user"]["orgRole"], 255);
    let zoe = answer.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.strings("SELECT provider || '|' || subject FROM identities", &[])
            .await,
        ["github|583231"]
    );
    let spent = "SELECT COUNT(*) FROM activation_links \
                 WHERE activated_at IS NOT NULL AND email = 'zoe@example.com'";
    assert_eq!(app.count(spent, &[]).await, 1);
    let profile = app
        .get("/user/profile", Some(&answer.str("accessToken")))
        .await;
    assert_eq!(profile.body["data"]["id"], zoe.as_str(), "{}", profile.body);
    assert_eq!(profile.body["data"]["validated"], true);
}

/// The JWT secret the activation links' key derives from (so links work on both backends).
const LINK_SECRET: &str = "provider-flow-tests-link-key-0123456789abcdef";

#[tokio::test]
async fn the_exchange_routes_answer_the_clients_auth_state() {
    let mock = MockProvider::start().await;
    let app = flow_app(&mock).await;

    // Without redirectUri, the browser flow's.
    let google_callback = format!("{}/auth/oidc/google/callback", public_base(&app));
    let code = mock.code_for(&google_callback);
    let answer = app
        .post("/auth/google/exchange", None, json!({ "code": code }))
        .await;
    let state = &answer.body["authState"];
    assert_answer(
        &answer,
        StatusCode::OK,
        &json!({
            "success": true,
            "authState": {
                "user": {
                    "email": "zoe@example.com", "name": "Zoe Park",
                    "imageUrl": "https://pictures.example/zoe.png",
                },
                "token": state["accessToken"], "accessToken": state["accessToken"],
                "refreshToken": state["refreshToken"], "expiresAt": state["expiresAt"],
                "provider": "GOOGLE",
            },
        }),
    );
    assert!(state["accessToken"].as_str().is_some_and(|t| !t.is_empty()));
    let profile = app
        .get(
            "/user/profile",
            Some(state["accessToken"].as_str().unwrap()),
        )
        .await;
    assert_eq!(profile.status, StatusCode::OK);

    // Another redirect URI than the code's: the provider refuses it.
    let code = mock.code_for(&google_callback);
    let answer = app
        .post(
            "/auth/google/exchange",
            None,
            json!({ "code": code, "redirectUri": "https://app.example/callback" }),
        )
        .await;
    assert_answer(
        &answer,
        StatusCode::UNAUTHORIZED,
        &error_body("Invalid provider token", "INVALID_PROVIDER_TOKEN"),
    );

    // Microsoft, with the redirect URI the client names; a person without a picture.
    let redirect = "https://app.example/microsoft";
    mock.next_person(json!({
        "iss": format!("{}/{TENANT}/v2.0", mock.base()), "tid": TENANT,
        "sub": "ms-subject", "email": "max@example.com", "xms_edov": true,
        "name": "Max Mustermann",
    }));
    let code = mock.code_for(redirect);
    let answer = app
        .post(
            "/auth/microsoft/exchange",
            None,
            json!({ "code": code, "redirectUri": redirect }),
        )
        .await;
    let state = &answer.body["authState"];
    assert_answer(
        &answer,
        StatusCode::OK,
        &json!({
            "success": true,
            "authState": {
                "user": { "email": "max@example.com", "name": "Max Mustermann" },
                "token": state["accessToken"], "accessToken": state["accessToken"],
                "refreshToken": state["refreshToken"], "expiresAt": state["expiresAt"],
                "provider": "MICROSOFT",
            },
        }),
    );
}
