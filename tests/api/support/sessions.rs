//! The tokens and sessions the server issues, as the identity tests check them: ids, JWT
//! claims, the token fields of an answer, and whether a token still works.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use sha2::Digest as _;
use uuid::Uuid;

use crate::support::app::TestApp;
use crate::support::client::Answer;
use crate::support::clock::now_ms;

pub const HOUR_MS: i64 = 60 * 60 * 1000;

/// Asserts `id` is a UUIDv7 string and returns it.
pub fn assert_uuid(value: &Value) -> String {
    let id = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"));
    assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 7, "{id}");
    id.to_owned()
}

/// Asserts `id` is a session id (`tokenId`) as the server stores it: a UUIDv8, the first 16
/// bytes of SHA-256 of the secret the session's tokens carry. Returns it.
pub fn assert_session_id(value: &Value) -> String {
    let id = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"));
    assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 8, "{id}");
    id.to_owned()
}

/// The stored session id a session secret (a JWT's `sid`, the start of a refresh token) names.
pub fn session_id_of(secret: &[u8]) -> String {
    let digest = sha2::Sha256::digest(secret);
    let bytes: [u8; 16] = digest[..16].try_into().unwrap();
    Uuid::new_v8(bytes).to_string()
}

/// The claims of a JWT, read without checking its signature.
pub fn claims_of(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token} is not a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

/// Checks the token fields of a register, login or refresh answer (a JWT access token for this
/// user and session living one hour, an opaque refresh token, `expiresAt` in ms about an hour
/// away) and returns `accessToken`, `refreshToken` and `expiresAt`, so the caller can build the
/// whole expected body.
pub fn token_fields(
    body: &Value,
    session_id: &str,
    user_id: &str,
    email: &str,
    org_id: &str,
) -> Map<String, Value> {
    let access = body["accessToken"].as_str().unwrap();
    let claims = claims_of(access);
    let iat = claims["iat"].as_i64().unwrap();
    // `sid` is the session's secret (256 bits): the session id is its hash, never itself.
    let sid = claims["sid"].as_str().unwrap_or_default().to_owned();
    let secret = URL_SAFE_NO_PAD.decode(&sid).unwrap();
    assert_eq!(secret.len(), 32, "{sid}");
    assert_eq!(session_id_of(&secret), session_id, "{sid}");
    let expected_claims = json!({
        "userId": user_id, "email": email, "orgId": org_id, "type": "access",
        "sid": sid, "iat": iat, "exp": iat + 3600,
    });
    assert_eq!(claims, expected_claims);
    let expires_at = body["expiresAt"].as_i64().unwrap();
    assert_eq!(expires_at / 1000, iat + 3600);
    assert!(
        (expires_at - (now_ms() + HOUR_MS)).abs() < 60_000,
        "expiresAt {expires_at}"
    );
    // The refresh token: the session's secret, then 256 random bits.
    let refresh = body["refreshToken"].as_str().unwrap();
    assert_eq!(refresh.len(), 86, "{refresh}");
    let refresh_bytes = URL_SAFE_NO_PAD.decode(refresh).unwrap();
    assert_eq!(&refresh_bytes[..32], secret.as_slice(), "{refresh}");
    ["accessToken", "refreshToken", "expiresAt"]
        .into_iter()
        .map(|field| (field.to_owned(), body[field].clone()))
        .collect()
}

pub async fn profile(app: &TestApp, token: &str) -> Answer {
    app.get("/user/profile", Some(token)).await
}

/// Whether `token` is accepted on a protected route right now.
pub async fn works(app: &TestApp, token: &str) -> bool {
    profile(app, token).await.status == StatusCode::OK
}
