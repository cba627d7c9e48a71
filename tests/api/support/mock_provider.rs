//! A mock OpenID Connect provider on loopback (contract section 12's tests): discovery documents
//! (at the root, as Google's, and under `/{tenant}/v2.0`, as Microsoft's), a JWKS holding the
//! keys a test publishes (two RSA keys, so a test can rotate from one to the other; a third is
//! never published), and real RS256 ID tokens signed with any of them. It counts what it serves
//! and can be made broken (garbage) or slow.
//!
//! For the code flows it is also an authorization server: `/authorize` sends the browser
//! straight back to the `redirect_uri` with a code for the person a test chose
//! ([`MockProvider::next_person`]), and `/token` exchanges a code once, checking the client's
//! secret (HTTP Basic), the `redirect_uri` and the PKCE verifier against the challenge (S256),
//! and answers an ID token carrying the authorization request's nonce. And it is a GitHub:
//! `/login/oauth/access_token` (GitHub's own answers: `200` with `error` for a bad code),
//! `/user` and `/user/emails` with the access token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::clock::now_ms;

#[path = "provider_keys/moduli.rs"]
mod moduli;

/// The client id the test servers are configured with, at every provider.
pub const CLIENT_ID: &str = "workspaces-test-client";
pub const CLIENT_SECRET: &str = "a-client-secret-never-logged";

/// The test keys: `A` and `B` may be published; `C` never is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    A,
    B,
    C,
}

impl TestKey {
    pub fn kid(self) -> &'static str {
        match self {
            TestKey::A => "key-a",
            TestKey::B => "key-b",
            TestKey::C => "key-c",
        }
    }

    fn pem(self) -> &'static str {
        match self {
            TestKey::A => include_str!("provider_keys/a.pem"),
            TestKey::B => include_str!("provider_keys/b.pem"),
            TestKey::C => include_str!("provider_keys/c.pem"),
        }
    }

    fn jwk(self) -> Value {
        let n = match self {
            TestKey::A => moduli::MODULUS_A,
            TestKey::B => moduli::MODULUS_B,
            TestKey::C => moduli::MODULUS_C,
        };
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid(), "n": n, "e": "AQAB"})
    }
}

/// How the provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 200 with a body that is not JSON.
    Garbage,
    /// Answers after this long.
    Slow(Duration),
}

struct MockState {
    base: String,
    published: Mutex<Vec<TestKey>>,
    mode: Mutex<Mode>,
    discovery_fetches: AtomicUsize,
    jwks_fetches: AtomicUsize,
    token_requests: AtomicUsize,
    /// The claims `/authorize` issues its next codes for (`iss`, `aud`, `iat`, `exp` and
    /// `nonce` are added), and the GitHub person its codes are for.
    person: Mutex<Value>,
    github_person: Mutex<GithubPerson>,
    /// Codes not yet exchanged.
    codes: Mutex<HashMap<String, Grant>>,
    /// GitHub access tokens and whose they are.
    github_tokens: Mutex<HashMap<String, GithubPerson>>,
    /// Whether the GitHub API (`/user`, `/user/emails`) answers 503.
    github_api_down: Mutex<bool>,
    /// A nonce that replaces the authorization request's in the ID tokens (a test's bad one).
    nonce_override: Mutex<Option<String>>,
}

/// What a code was issued for.
#[derive(Debug, Clone)]
struct Grant {
    claims: Value,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
    github: Option<GithubPerson>,
}

/// A GitHub account: its id, login, name and e-mail addresses `(email, primary, verified)`.
#[derive(Debug, Clone)]
pub struct GithubPerson {
    pub id: u64,
    pub login: String,
    pub name: String,
    pub emails: Vec<(String, bool, bool)>,
}

/// The running mock; it stops with the test's runtime.
pub struct MockProvider {
    state: Arc<MockState>,
}

impl MockProvider {
    /// Starts the mock, publishing key `A`.
    pub async fn start() -> MockProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(MockState {
            base,
            published: Mutex::new(vec![TestKey::A]),
            mode: Mutex::new(Mode::Normal),
            discovery_fetches: AtomicUsize::new(0),
            jwks_fetches: AtomicUsize::new(0),
            token_requests: AtomicUsize::new(0),
            person: Mutex::new(json!({
                "sub": "flow-subject", "email": "zoe@example.com", "email_verified": true,
                "name": "Zoe Park", "given_name": "Zoe", "family_name": "Park",
                "picture": "https://pictures.example/zoe.png",
            })),
            github_person: Mutex::new(GithubPerson {
                id: 583231,
                login: "zoepark".into(),
                name: "Zoe Park".into(),
                emails: vec![("zoe@example.com".into(), true, true)],
            }),
            codes: Mutex::new(HashMap::new()),
            github_tokens: Mutex::new(HashMap::new()),
            github_api_down: Mutex::new(false),
            nonce_override: Mutex::new(None),
        });
        let app = Router::new().fallback(serve).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockProvider { state }
    }

    /// `http://127.0.0.1:PORT`: Google's issuer and Microsoft's authority in the tests.
    pub fn base(&self) -> &str {
        &self.state.base
    }

    /// The keys the JWKS lists from now on.
    pub fn publish(&self, keys: &[TestKey]) {
        *self.state.published.lock().unwrap() = keys.to_vec();
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The person the next codes of `/authorize` and [`MockProvider::code_for`] are for: `sub`,
    /// `email`, `email_verified`, names, `picture`.
    pub fn next_person(&self, claims: Value) {
        *self.state.person.lock().unwrap() = claims;
    }

    pub fn next_github_person(&self, person: GithubPerson) {
        *self.state.github_person.lock().unwrap() = person;
    }

    /// ID tokens carry this nonce instead of the authorization request's.
    pub fn override_nonce(&self, nonce: &str) {
        *self.state.nonce_override.lock().unwrap() = Some(nonce.to_owned());
    }

    pub fn set_github_api_down(&self, down: bool) {
        *self.state.github_api_down.lock().unwrap() = down;
    }

    /// Requests to the token endpoints (OpenID Connect's and GitHub's).
    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// A code as a client gets it after its own authorization request (no nonce, no PKCE), for
    /// the next person, to be exchanged with `redirect_uri`.
    pub fn code_for(&self, redirect_uri: &str) -> String {
        issue_code(&self.state, redirect_uri, None, None)
    }

    /// The claims of a good Google ID token for `subject` with a verified `email`, issued now,
    /// expiring in an hour, for [`CLIENT_ID`], from Zoe Park.
    pub fn claims(&self, subject: &str, email: &str) -> Value {
        let now = now_ms() / 1000;
        json!({
            "iss": self.base(), "aud": CLIENT_ID, "sub": subject, "iat": now, "exp": now + 3600,
            "email": email, "email_verified": true,
            "name": "Zoe Park", "given_name": "Zoe", "family_name": "Park",
        })
    }

    /// An RS256 token of `claims`, signed with `key` and naming it as its `kid`.
    pub fn sign(&self, key: TestKey, claims: &Value) -> String {
        self.sign_as(key, key.kid(), claims)
    }

    /// An RS256 token of `claims` signed with `key` but naming `kid`.
    pub fn sign_as(&self, key: TestKey, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = EncodingKey::from_rsa_pem(key.pem().as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    /// A good token for `subject` and `email`, signed with key `A`.
    pub fn token(&self, subject: &str, email: &str) -> String {
        self.sign(TestKey::A, &self.claims(subject, email))
    }
}

fn issue_code(
    state: &MockState,
    redirect_uri: &str,
    nonce: Option<String>,
    challenge: Option<String>,
) -> String {
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    let grant = Grant {
        claims: state.person.lock().unwrap().clone(),
        redirect_uri: redirect_uri.to_owned(),
        nonce,
        challenge,
        github: Some(state.github_person.lock().unwrap().clone()),
    };
    state.codes.lock().unwrap().insert(code.clone(), grant);
    code
}

fn query_of(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn oauth_error(status: u16, error: &str) -> Response {
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// `/authorize`: straight back to `redirect_uri` with a code (and the `state`).
fn authorize(state: &MockState, request: &Request) -> Response {
    let query = query_of(request);
    let redirect_uri = query.get("redirect_uri").cloned().unwrap_or_default();
    let challenge = query.get("code_challenge").cloned();
    if challenge.is_some() && query.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return oauth_error(400, "invalid_request");
    }
    let code = issue_code(state, &redirect_uri, query.get("nonce").cloned(), challenge);
    let mut back = url::Url::parse(&redirect_uri).unwrap();
    back.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = query.get("state") {
        back.query_pairs_mut().append_pair("state", s);
    }
    (
        axum::http::StatusCode::FOUND,
        [(axum::http::header::LOCATION, back.to_string())],
    )
        .into_response()
}

/// Takes the code of a token request once, checking the redirect URI and PKCE.
fn take_grant(state: &MockState, form: &HashMap<String, String>) -> Result<Grant, &'static str> {
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = state.codes.lock().unwrap().remove(&code) else {
        return Err("invalid_grant");
    };
    if let Some(uri) = form.get("redirect_uri") {
        if *uri != grant.redirect_uri {
            return Err("invalid_grant");
        }
    }
    if let Some(challenge) = &grant.challenge {
        use base64::Engine as _;
        use sha2::Digest as _;
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        if computed != *challenge {
            return Err("invalid_grant");
        }
    }
    Ok(grant)
}

/// `/token`: the client authenticates with HTTP Basic.
fn token(
    state: &MockState,
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Response {
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if authorization != Some(expected.as_str()) {
        return oauth_error(401, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(400, "unsupported_grant_type");
    }
    let grant = match take_grant(state, form) {
        Ok(grant) => grant,
        Err(error) => return oauth_error(400, error),
    };
    let now = now_ms() / 1000;
    let mut claims = grant.claims;
    if claims.get("iss").is_none() {
        claims["iss"] = json!(state.base);
    }
    claims["aud"] = json!(CLIENT_ID);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 3600);
    let nonce = state.nonce_override.lock().unwrap().clone().or(grant.nonce);
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(TestKey::A.kid().to_owned());
    let key = EncodingKey::from_rsa_pem(TestKey::A.pem().as_bytes()).unwrap();
    let id_token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    axum::Json(json!({
        "access_token": "an-access-token", "token_type": "Bearer", "expires_in": 3600,
        "id_token": id_token,
    }))
    .into_response()
}

/// GitHub's `/login/oauth/access_token`: the secret in the form; errors answer 200.
fn github_token(state: &MockState, form: &HashMap<String, String>) -> Response {
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return oauth_error(200, "incorrect_client_credentials");
    }
    let grant = match take_grant(state, form) {
        Ok(grant) => grant,
        Err(_) => return oauth_error(200, "bad_verification_code"),
    };
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    let person = grant.github.expect("codes carry a GitHub person");
    state
        .github_tokens
        .lock()
        .unwrap()
        .insert(token.clone(), person);
    axum::Json(
        json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}),
    )
    .into_response()
}

/// GitHub's `/user` and `/user/emails`.
fn github_api(state: &MockState, authorization: Option<&str>, path: &str) -> Response {
    if *state.github_api_down.lock().unwrap() {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let token = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(person) = state.github_tokens.lock().unwrap().get(token).cloned() else {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials"})),
        )
            .into_response();
    };
    if path == "/user" {
        return axum::Json(json!({
            "id": person.id, "login": person.login, "name": person.name,
            "avatar_url": format!("https://avatars.example/u/{}", person.id),
        }))
        .into_response();
    }
    let emails: Vec<Value> = person
        .emails
        .iter()
        .map(|(email, primary, verified)| {
            json!({"email": email, "primary": primary, "verified": verified, "visibility": null})
        })
        .collect();
    axum::Json(Value::Array(emails)).into_response()
}

async fn serve(State(state): State<Arc<MockState>>, request: Request) -> Response {
    let mode = *state.mode.lock().unwrap();
    if let Mode::Slow(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    if mode == Mode::Garbage {
        return "<html>Service Unavailable</html>".into_response();
    }
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match path.as_str() {
        "/authorize" | "/login/oauth/authorize" => return authorize(&state, &request),
        "/user" | "/user/emails" => return github_api(&state, authorization.as_deref(), &path),
        "/token" | "/login/oauth/access_token" => {
            state.token_requests.fetch_add(1, Ordering::SeqCst);
            let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            let form: HashMap<String, String> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            return if path == "/token" {
                token(&state, authorization.as_deref(), &form)
            } else {
                github_token(&state, &form)
            };
        }
        _ => {}
    }
    let path = path.as_str();
    if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
        state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
        let issuer = format!("{}{prefix}", state.base);
        return axum::Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{}/jwks", state.base),
            "authorization_endpoint": format!("{}/authorize", state.base),
            "token_endpoint": format!("{}/token", state.base),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
        .into_response();
    }
    if path == "/jwks" {
        state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
        let keys: Vec<Value> = state
            .published
            .lock()
            .unwrap()
            .iter()
            .map(|key| key.jwk())
            .collect();
        return axum::Json(json!({ "keys": keys })).into_response();
    }
    (axum::http::StatusCode::NOT_FOUND, "not found").into_response()
}
