//! A mock OpenID Connect provider on loopback (contract section 12's tests): discovery documents
//! (at the root, as Google's, and under `/{tenant}/v2.0`, as Microsoft's), a JWKS holding the
//! keys a test publishes (two RSA keys, so a test can rotate from one to the other; a third is
//! never published), and real RS256 ID tokens signed with any of them. It counts what it serves
//! and can be made broken (garbage) or slow.

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

async fn serve(State(state): State<Arc<MockState>>, request: Request) -> Response {
    let mode = *state.mode.lock().unwrap();
    if let Mode::Slow(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    if mode == Mode::Garbage {
        return "<html>Service Unavailable</html>".into_response();
    }
    let path = request.uri().path();
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
