//! One OpenID Connect provider: its discovery document, fetched once and kept (a failed fetch is
//! tried again by a later request, never remembered as a failure); its keys (JWKS), fetched
//! once and fetched again when a token names a key they lack, at most once per cooldown; and
//! the verification of its ID tokens (OpenID Connect Core 3.1.3.7): the signature against those
//! keys with an asymmetric algorithm only, `iss`, `aud` = our client id (and `azp` when given,
//! required when `aud` names others too), `exp`, `iat`, `nbf`, and `nonce` when one was sent.
//! The JOSE work is `jsonwebtoken`'s.
//!
//! Concurrent requests that find nothing cached fetch it once: the others wait for that fetch
//! and use its result; when it failed they fail at once rather than each trying again behind
//! it (a slow provider costs a waiting request one timeout, not one per request ahead of it).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::{post_form, ProviderError, ProviderIdentity, ProviderKind};
use crate::config::providers::ClientSecret;

/// Clock skew allowed on `exp`, `nbf` and `iat` (SECURITY.md: at most 60 s).
const LEEWAY_SECS: u64 = 60;
/// A discovery document or key set larger than this is garbage.
pub(super) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Microsoft's tenant of personal accounts: `consumers` tokens come from it, `organizations`
/// tokens never do.
const MICROSOFT_CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Which `iss` a token of this provider must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerRule {
    /// One of these (the configured issuer; discovery must name the first).
    Configured(Vec<String>),
    /// The issuer the discovery document names (a Microsoft tenant given by domain).
    Discovered,
    /// Microsoft's multi-tenant endpoints (`common`, `organizations`, `consumers`): the token's
    /// own tenant, `{authority}/{tid}/v2.0` with `tid` from the token.
    MicrosoftTenant { authority: String, audience: String },
}

/// What discovery tells (the fields used; others are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

/// The provider's signing keys, as last fetched.
struct KeySet {
    keys: Vec<Jwk>,
    fetched_at: Instant,
}

/// A cached value, the lock that makes one request fetch it, and when the last fetch failed.
struct Cached<T> {
    value: RwLock<Option<Arc<T>>>,
    fetching: tokio::sync::Mutex<()>,
    last_failure: Mutex<Option<Instant>>,
}

impl<T> Cached<T> {
    fn new() -> Self {
        Cached {
            value: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            last_failure: Mutex::new(None),
        }
    }

    fn get(&self) -> Option<Arc<T>> {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, value: Arc<T>) {
        *self.value.write().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    fn failed_since(&self, since: Instant) -> bool {
        let failed = *self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        failed.is_some_and(|at| at >= since)
    }

    fn record_failure(&self) {
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

/// An OpenID Connect provider, shared by every request.
pub struct OidcProvider {
    name: String,
    kind: ProviderKind,
    discovery_url: String,
    issuer: IssuerRule,
    client_id: String,
    client_secret: ClientSecret,
    http: reqwest::Client,
    /// The least time between two fetches of the keys caused by an unknown `kid`.
    cooldown: Duration,
    discovery: Cached<Discovery>,
    keys: Cached<KeySet>,
}

impl OidcProvider {
    pub fn new(
        name: &str,
        kind: ProviderKind,
        discovery_url: String,
        issuer: IssuerRule,
        client: (&str, &ClientSecret),
        http: reqwest::Client,
        cooldown: Duration,
    ) -> OidcProvider {
        OidcProvider {
            name: name.to_owned(),
            kind,
            discovery_url,
            issuer,
            client_id: client.0.to_owned(),
            client_secret: client.1.clone(),
            http,
            cooldown,
            discovery: Cached::new(),
            keys: Cached::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// Where to send the browser to sign in (OpenID Connect Core 3.1.2.1): the authorization
    /// endpoint with the authorization-code flow's parameters, `state`, `nonce` and the PKCE
    /// challenge (S256).
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        code_challenge: &str,
    ) -> Result<String, ProviderError> {
        let discovery = self.discovery().await?;
        let endpoint = discovery
            .authorization_endpoint
            .as_deref()
            .filter(|url| is_http_url(url))
            .ok_or_else(|| {
                ProviderError::Unavailable("discovery has no authorization_endpoint".into())
            })?;
        let mut url = url::Url::parse(endpoint)
            .map_err(|_| ProviderError::Unavailable("unusable authorization_endpoint".into()))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges an authorization code at the token endpoint (client secret by HTTP Basic, as
    /// every provider must accept; the PKCE `code_verifier` when the authorization request sent
    /// a challenge) for its ID token, not yet verified. A code the provider refuses (`400` or
    /// `401`, e.g. `invalid_grant`: unknown, used, expired, another redirect URI, a wrong
    /// verifier) is [`ProviderError::InvalidToken`].
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<String, ProviderError> {
        let discovery = self.discovery().await?;
        let endpoint = discovery
            .token_endpoint
            .as_deref()
            .filter(|url| is_http_url(url))
            .ok_or_else(|| ProviderError::Unavailable("discovery has no token_endpoint".into()))?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        let request = self
            .http
            .post(endpoint)
            .basic_auth(
                form_encode(&self.client_id),
                Some(form_encode(self.client_secret.expose())),
            )
            .form(&form);
        #[derive(Deserialize)]
        struct TokenAnswer {
            id_token: String,
        }
        let answer: TokenAnswer = post_form(request, endpoint).await?;
        Ok(answer.id_token)
    }

    /// The discovery document, fetched on first use and kept.
    pub async fn discovery(&self) -> Result<Arc<Discovery>, ProviderError> {
        if let Some(found) = self.discovery.get() {
            return Ok(found);
        }
        let waited_since = Instant::now();
        let _fetching = self.discovery.fetching.lock().await;
        if let Some(found) = self.discovery.get() {
            return Ok(found);
        }
        if self.discovery.failed_since(waited_since) {
            return Err(ProviderError::Unavailable(
                "discovery failed just now".into(),
            ));
        }
        match self.fetch_discovery().await {
            Ok(found) => {
                let found = Arc::new(found);
                self.discovery.set(found.clone());
                Ok(found)
            }
            Err(error) => {
                self.discovery.record_failure();
                Err(error)
            }
        }
    }

    async fn fetch_discovery(&self) -> Result<Discovery, ProviderError> {
        let found: Discovery = self.get_json(&self.discovery_url).await?;
        if let IssuerRule::Configured(accepted) = &self.issuer {
            // OpenID Connect Discovery 4.3: the document must name the issuer it was read from.
            if accepted.first().map(String::as_str) != Some(found.issuer.trim_end_matches('/')) {
                return Err(ProviderError::Unavailable(format!(
                    "discovery names the issuer {:?}, not the configured one",
                    found.issuer
                )));
            }
        }
        if !is_http_url(&found.jwks_uri) {
            return Err(ProviderError::Unavailable(
                "discovery has no usable jwks_uri".into(),
            ));
        }
        Ok(found)
    }

    /// Verifies an ID token issued to us; `nonce`: the one our authorization request sent
    /// (the browser flow), which the token must carry.
    pub async fn verify(
        &self,
        token: &str,
        nonce: Option<&str>,
        now_secs: i64,
    ) -> Result<ProviderIdentity, ProviderError> {
        let invalid = |why: &str| ProviderError::InvalidToken(why.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        if !is_asymmetric(header.alg) {
            return Err(invalid("not signed with an asymmetric algorithm"));
        }
        let discovery = self.discovery().await?;
        let jwk = self.key(header.kid.as_deref(), &discovery).await?;
        if let Some(alg) = jwk.common.key_algorithm {
            if format!("{alg:?}") != format!("{:?}", header.alg) {
                return Err(invalid("the key is for another algorithm"));
            }
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("unusable key"))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_audience(&[&self.client_id]);
        validation.required_spec_claims =
            HashSet::from(["exp", "iat", "iss", "aud", "sub"].map(str::to_owned));
        match &self.issuer {
            // The discovered spelling too: it may end with the `/` the configured one lost.
            IssuerRule::Configured(accepted) => {
                let mut accepted = accepted.clone();
                accepted.push(discovery.issuer.clone());
                validation.set_issuer(&accepted)
            }
            IssuerRule::Discovered => validation.set_issuer(&[discovery.issuer.as_str()]),
            IssuerRule::MicrosoftTenant { .. } => {} // checked below, against `tid`
        }
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|e| invalid(&format!("{:?}", e.kind())))?
            .claims;
        self.check_tenant(&claims)?;
        if claims.iat > (now_secs + LEEWAY_SECS as i64) as f64 {
            return Err(invalid("issued in the future"));
        }
        if claims
            .azp
            .as_deref()
            .is_some_and(|azp| azp != self.client_id)
        {
            return Err(invalid("authorized party is another client"));
        }
        // OpenID Connect Core 3.1.3.7 (3, 4): a token that names other audiences too was
        // issued to us only when its `azp` says so.
        let other_audiences = match &claims.aud {
            Value::Array(audiences) => audiences
                .iter()
                .any(|aud| aud.as_str() != Some(self.client_id.as_str())),
            _ => false,
        };
        if other_audiences && claims.azp.is_none() {
            return Err(invalid("several audiences and no authorized party"));
        }
        if let Some(expected) = nonce {
            if claims.nonce.as_deref() != Some(expected) {
                return Err(invalid("nonce mismatch"));
            }
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(invalid("unusable subject"));
        }
        // Microsoft's tokens carry no `email_verified`; its optional claim `xms_edov` (the
        // e-mail's domain is verified by its owner) says the same for them.
        let verified = is_true(&claims.email_verified)
            || (self.kind == ProviderKind::Microsoft && is_true(&claims.xms_edov));
        Ok(ProviderIdentity {
            subject: claims.sub,
            verified_email: claims.email.filter(|_| verified),
            name: claims.name,
            given_name: claims.given_name,
            family_name: claims.family_name,
            picture: claims.picture.filter(|url| is_http_url(url)),
        })
    }

    /// Microsoft's multi-tenant endpoints: `iss` names the token's tenant (`tid`).
    fn check_tenant(&self, claims: &IdClaims) -> Result<(), ProviderError> {
        let IssuerRule::MicrosoftTenant {
            authority,
            audience,
        } = &self.issuer
        else {
            return Ok(());
        };
        let invalid = |why: &str| Err(ProviderError::InvalidToken(why.to_owned()));
        let Some(tid) = claims.tid.as_deref() else {
            return invalid("no tenant");
        };
        let tid_ok = !tid.is_empty()
            && tid.len() <= 64
            && tid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !tid_ok || claims.iss != format!("{authority}/{tid}/v2.0") {
            return invalid("issuer is not the token's tenant");
        }
        let consumer = tid == MICROSOFT_CONSUMER_TENANT;
        match audience.as_str() {
            "consumers" if !consumer => invalid("not a personal account"),
            "organizations" if consumer => invalid("not a work or school account"),
            _ => Ok(()),
        }
    }

    /// The key a token names: from the cached set, or after fetching the set again when the
    /// `kid` is unknown and the last fetch is older than the cooldown.
    async fn key(&self, kid: Option<&str>, discovery: &Discovery) -> Result<Jwk, ProviderError> {
        let cached = self.keys.get();
        if let Some(found) = cached.as_ref().and_then(|set| find(set, kid)) {
            return Ok(found);
        }
        if let Some(set) = &cached {
            if set.fetched_at.elapsed() < self.cooldown {
                return Err(ProviderError::InvalidToken("unknown key".into()));
            }
        }
        let seen = cached.map(|set| set.fetched_at);
        let waited_since = Instant::now();
        let _fetching = self.keys.fetching.lock().await;
        let current = self.keys.get();
        let fresh = match current {
            // Another request fetched the keys while this one waited.
            Some(set) if Some(set.fetched_at) != seen => set,
            _ if self.keys.failed_since(waited_since) => {
                return Err(ProviderError::Unavailable(
                    "fetching the keys failed just now".into(),
                ))
            }
            _ => match self.fetch_keys(&discovery.jwks_uri).await {
                Ok(set) => {
                    let set = Arc::new(set);
                    self.keys.set(set.clone());
                    set
                }
                Err(error) => {
                    self.keys.record_failure();
                    return Err(error);
                }
            },
        };
        find(&fresh, kid).ok_or_else(|| ProviderError::InvalidToken("unknown key".into()))
    }

    async fn fetch_keys(&self, uri: &str) -> Result<KeySet, ProviderError> {
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<Value>,
        }
        let raw: RawSet = self.get_json(uri).await?;
        // Keys this crate cannot read (another algorithm family, encryption keys) are skipped,
        // not a reason to refuse the whole set.
        let keys: Vec<Jwk> = raw
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .filter(|key| key.common.public_key_use != Some(PublicKeyUse::Encryption))
            .collect();
        Ok(KeySet {
            keys,
            fetched_at: Instant::now(),
        })
    }

    /// GETs a JSON document of at most [`MAX_DOCUMENT_BYTES`].
    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, ProviderError> {
        let unavailable = |why: String| ProviderError::Unavailable(format!("{url}: {why}"));
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(unavailable("document too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map_err(|e| unavailable(format!("not the JSON expected: {e}")))
    }
}

/// The key named `kid`; without a `kid`, the set's only signing key.
fn find(set: &KeySet, kid: Option<&str>) -> Option<Jwk> {
    match kid {
        Some(kid) => set
            .keys
            .iter()
            .find(|key| key.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => match set.keys.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// RFC 6749 2.3.1: the client id and secret are form-encoded before Basic's base64.
fn form_encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

pub(super) fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// `true`, or the string `"true"` some providers send.
fn is_true(value: &Option<Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// The claims of an ID token that are read; `jsonwebtoken` checks `exp`, `nbf`, `aud`, `iss`.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    iss: String,
    iat: f64,
    /// A string or an array of strings (`jsonwebtoken` checked that ours is among them).
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    xms_edov: Option<Value>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}
