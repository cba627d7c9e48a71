//! The browser flow of sign-in with identity providers (contract section 12), for the console
//! and any web app: `GET /auth/oidc/{name}/start?return=PATH` sends the browser to the provider
//! with `state`, `nonce` (OpenID Connect providers) and a PKCE challenge (S256);
//! `GET /auth/oidc/{name}/callback?code&state` exchanges the code (client secret and PKCE
//! verifier), verifies the ID token with its nonce (GitHub: reads the API), signs in as the
//! client routes do, and sends the browser to `{public-url}/console/signed-in#code=CODE`;
//! `POST /auth/oidc/complete {code}` trades that one-time code (60 s, once) for the login answer.
//! Tokens never appear in a URL.
//!
//! A flow is bound to the browser that began it (RFC 9700 4.7.1; RFC 6749 10.12): the start
//! sets an `HttpOnly`, `SameSite=Lax` cookie scoped to `/auth/oidc/` holding a random value
//! (kept when the browser has one already, so flows in two tabs both finish), which is the
//! associated data of the flow's seal; a callback without that cookie opens nothing. Otherwise
//! a callback URL that someone obtained by signing in as themself at the provider, opened in
//! another person's browser, would sign that person in to their account (login CSRF). The
//! cookie is no credential of the API, which takes bearer tokens only.
//!
//! Every instance may serve every step: the flow and the one-time code live in the database
//! (`store::oidc_flows`), found by the SHA-256 of their secret and spent with one conditional
//! `UPDATE ... RETURNING`. What they carry (the nonce and PKCE verifier; the login answer) is
//! sealed with AES-256-GCM under a key derived from that secret, which only the browser holds,
//! so a copy of the database opens none of it.
//!
//! Errors: the start answers in our envelope when it is called wrongly (an unknown provider, a
//! `return` outside the console: the caller's mistake, before any redirect) and redirects to
//! `/console/signed-in#error=CODE` when the provider cannot be reached; the callback, which a
//! browser reaches in the middle of the flow, always redirects, with `#error=CODE` on any error
//! (the codes of the envelope, e.g. `SIGN_IN_FLOW_INVALID`, `INVALID_PROVIDER_TOKEN`,
//! `PROVIDER_UNAVAILABLE`, `PROVIDER_EMAIL_UNVERIFIED`, `REGISTRATION_INVITE_ONLY`); the
//! completion answers in our envelope.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{not_configured, provider_failed, sign_in};
use crate::auth::mfa::SecretBox;
use crate::auth::providers::{FlowProvider, ProviderError};
use crate::auth::{hash_token, new_token};
use crate::clock::now_ms;
use crate::domain::SeenDevice;
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::CredentialBodyRejected;
use crate::http::bodies::sessions::{IssuedTokens, UserSummary};
use crate::http::common::device::{DeviceInfoField, UserAgent};
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::JsonBody;
use crate::http::common::fields;
use crate::http::common::throttle::ClientAddr;
use crate::http::AppState;
use crate::store::NewOidcFlow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(complete))
}

/// A flow not finished within this long is refused at its callback.
const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
/// The one-time code of `/console/signed-in#code=` lives this long.
pub const ONE_TIME_CODE_TTL_MS: i64 = 60 * 1000;
/// The HKDF purposes of the keys derived from a flow's state and from a one-time code.
const FLOW_SEAL: &[u8] = b"workspaces/oidc-flow/v1";
const CODE_SEAL: &[u8] = b"workspaces/oidc-one-time-code/v1";
/// Where the console goes when the start names no `return`.
const DEFAULT_RETURN: &str = "/console/workspaces";
const MAX_RETURN_BYTES: usize = 1024;
/// Our states and codes are 43 characters; a provider's code is at most a few KiB.
const MAX_PARAM_BYTES: usize = 4096;
const FAILED: &str = "Sign-in failed";
/// The cookie binding a flow to the browser that began it.
const BROWSER_COOKIE: &str = "workspaces_oidc_browser";

/// `{public-url}` without a trailing `/`: the configured one, else `http://localhost:PORT`.
pub(super) fn public_base(state: &AppState) -> String {
    let base = state
        .public_url
        .as_deref()
        .or(state.listen_url.get().map(String::as_str))
        .unwrap_or("http://localhost");
    base.trim_end_matches('/').to_owned()
}

/// The redirect URI registered with provider `name`: `{public-url}/auth/oidc/{name}/callback`.
pub(super) fn redirect_uri(state: &AppState, name: &str) -> String {
    format!("{}/auth/oidc/{name}/callback", public_base(state))
}

/// A path under `/console/`, without a way out of it: no `\`, no control character, no `..`
/// segment, no fragment. Anything else could send the person elsewhere (an open redirect).
fn is_console_path(path: &str) -> bool {
    path.len() <= MAX_RETURN_BYTES
        && path.starts_with("/console/")
        && !path.contains(['\\', '#', '@'])
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
        && !path
            .split(['?', '&'])
            .next()
            .unwrap_or("")
            .split('/')
            .any(|segment| segment == ".." || segment == "." || segment.contains("%2"))
}

/// The value of the browser's binding cookie, when it sent one of our making (a token: 43
/// characters of base64url).
fn browser_binding(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == BROWSER_COOKIE)
        .map(|(_, value)| value)
        .find(|value| {
            value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
}

/// The `Set-Cookie` of the binding cookie: as long as a flow lives, `Secure` when the public URL
/// is https.
fn binding_cookie(state: &AppState, binding: &str) -> Option<HeaderValue> {
    let secure = if public_base(state).starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}={binding}; Path=/auth/oidc/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        FLOW_TTL_MS / 1000
    ))
    .ok()
}

/// The associated data of a flow's seal: its provider and the browser's binding.
fn flow_aad(name: &str, binding: &str) -> Vec<u8> {
    [name.as_bytes(), b"\0", binding.as_bytes()].concat()
}

/// A 302 to `location`, never cached.
fn found(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (LOCATION, location.to_owned()),
            (CACHE_CONTROL, "no-store".into()),
        ],
    )
        .into_response()
}

/// The console's page that finishes the flow, with `fragment`.
fn signed_in_page(state: &AppState, fragment: &str) -> Response {
    found(&format!(
        "{}/console/signed-in#{fragment}",
        public_base(state)
    ))
}

/// The console's page with `#error=CODE` for `error` (its reason is logged).
fn error_page(state: &AppState, error: &ApiError) -> Response {
    let code = serde_json::to_value(error.code)
        .ok()
        .and_then(|code| code.as_str().map(str::to_owned))
        .unwrap_or_else(|| "INTERNAL_ERROR".to_owned());
    tracing::info!(error_code = %code, status = %error.status, "browser sign-in failed");
    signed_in_page(state, &format!("error={code}"))
}

fn flow_invalid() -> ApiError {
    ApiError::bad_request(
        ErrorCode::SignInFlowInvalid,
        "This sign-in is unknown, expired or finished already: start it again",
    )
}

/// What a flow seals: the nonce and the PKCE verifier.
#[derive(Serialize, Deserialize)]
struct FlowSecrets {
    nonce: String,
    verifier: String,
}

/// The PKCE challenge of `verifier` (RFC 7636, S256).
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StartQuery {
    /// Where the console goes once signed in: a path under `/console/` (default
    /// `/console/workspaces`).
    #[serde(rename = "return")]
    #[param(rename = "return")]
    return_path: Option<String>,
}

/// Begin signing in through provider `name` in a browser: 302 to the provider's sign-in page.
#[utoipa::path(
    get,
    path = "/auth/oidc/{name}/start",
    tag = "identity",
    params(
        ("name" = String, Path, description = "`google`, `microsoft`, `github` or a generic provider's name"),
        StartQuery,
    ),
    responses(
        (status = 302, description = "To the provider's authorization endpoint, with `state`, `nonce` (OpenID Connect), `code_challenge` (S256) and `redirect_uri` = `{public-url}/auth/oidc/{name}/callback`; or, when the provider cannot be reached, to `/console/signed-in#error=PROVIDER_UNAVAILABLE`"),
        (status = 400, description = "`PROVIDER_NOT_CONFIGURED`; `INVALID_FIELD`: `return` is not a path under `/console/`", body = ErrorResponse),
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
    )
)]
async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Result<Response, ApiError> {
    let provider = state.providers.by_name(&name).ok_or_else(not_configured)?;
    let return_path = query.return_path.as_deref().unwrap_or(DEFAULT_RETURN);
    if !is_console_path(return_path) {
        return Err(ApiError::invalid_field(
            "return must be a path under /console/",
        ));
    }
    let flow_state = new_token();
    let secrets = FlowSecrets {
        nonce: new_token(),
        verifier: new_token(),
    };
    let redirect = redirect_uri(&state, &name);
    let code_challenge = challenge(&secrets.verifier);
    let url = match provider {
        FlowProvider::Oidc(oidc) => {
            oidc.authorization_url(&redirect, &flow_state, &secrets.nonce, &code_challenge)
                .await
        }
        FlowProvider::Github(github) => {
            github.authorization_url(&redirect, &flow_state, &code_challenge)
        }
    };
    let url = match url {
        Ok(url) => url,
        Err(error) => return Ok(error_page(&state, &provider_failed(&name, error))),
    };
    let now = now_ms();
    let binding = browser_binding(&headers).unwrap_or_else(new_token);
    let sealed = SecretBox::derived(flow_state.as_bytes(), FLOW_SEAL).seal(
        &serde_json::to_vec(&secrets).or_500(FAILED)?,
        &flow_aad(&name, &binding),
    );
    state
        .store
        .create_oidc_flow(NewOidcFlow {
            state_hash: hash_token(&flow_state),
            provider: name,
            sealed,
            return_path: return_path.to_owned(),
            created_at: now,
            expires_at: now + FLOW_TTL_MS,
        })
        .await
        .or_500(FAILED)?;
    let mut response = found(&url);
    let cookie = binding_cookie(&state, &binding)
        .ok_or_else(|| ApiError::internal(FAILED, "the binding cookie is no header value"))?;
    response.headers_mut().append(SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CallbackQuery {
    /// The authorization code.
    code: Option<String>,
    /// The `state` the start sent.
    state: Option<String>,
    /// The provider's refusal (e.g. `access_denied` when the person cancelled).
    error: Option<String>,
}

/// Where the provider sends the browser back: finishes the sign-in and sends the browser to the
/// console with a one-time code (or an error code) in the fragment.
#[utoipa::path(
    get,
    path = "/auth/oidc/{name}/callback",
    tag = "identity",
    params(
        ("name" = String, Path, description = "The provider of the flow"),
        CallbackQuery,
    ),
    responses(
        (status = 302, description = "To `{public-url}/console/signed-in#code=ONE_TIME_CODE` (60 s, once, for `POST /auth/oidc/complete`), or on any error to `/console/signed-in#error=CODE`: `SIGN_IN_FLOW_INVALID` (unknown, expired or used `state`, or another provider's), `PROVIDER_DENIED` (the provider sent an error), `PROVIDER_NOT_CONFIGURED`, `INVALID_PROVIDER_TOKEN` (a code, PKCE verifier or ID token refused, a wrong nonce), `PROVIDER_EMAIL_UNVERIFIED`, `REGISTRATION_INVITE_ONLY`, `REGISTRATION_CLOSED`, `USER_INACTIVE`, `PROVIDER_UNAVAILABLE`, `INTERNAL_ERROR`"),
        (status = 429, description = "Too many attempts from this address", body = ErrorResponse),
    )
)]
async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    client: ClientAddr,
    user_agent: UserAgent,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let device = DeviceInfoField::default().seen(&user_agent, client);
    let binding = browser_binding(&headers);
    match finish(&state, &name, query, binding.as_deref(), device).await {
        Ok(code) => signed_in_page(&state, &format!("code={code}")),
        Err(error) => error_page(&state, &error),
    }
}

/// The callback's work: the one-time code of the session it opened.
async fn finish(
    state: &AppState,
    name: &str,
    query: CallbackQuery,
    binding: Option<&str>,
    device: SeenDevice,
) -> Result<String, ApiError> {
    let provider = state.providers.by_name(name).ok_or_else(not_configured)?;
    let short = |value: &Option<String>| {
        value
            .as_deref()
            .filter(|v| !v.is_empty() && v.len() <= MAX_PARAM_BYTES)
            .map(str::to_owned)
    };
    let flow_state = short(&query.state).ok_or_else(flow_invalid)?;
    let now = now_ms();
    // Spent first, whatever follows: a state works once, even when the provider refused.
    let flow = state
        .store
        .spend_oidc_flow(&hash_token(&flow_state), name, now)
        .await
        .or_500(FAILED)?
        .ok_or_else(flow_invalid)?;
    // Opens only in the browser that began the flow (its binding cookie).
    let binding = binding.ok_or_else(flow_invalid)?;
    let secrets: FlowSecrets = SecretBox::derived(flow_state.as_bytes(), FLOW_SEAL)
        .open(&flow.sealed, &flow_aad(name, binding))
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(flow_invalid)?;
    if let Some(refusal) = short(&query.error) {
        tracing::info!(provider = name, %refusal, "the provider refused the sign-in");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::ProviderDenied,
            "The identity provider did not sign you in",
        ));
    }
    let code = short(&query.code)
        .ok_or_else(|| provider_failed(name, ProviderError::InvalidToken("no code".into())))?;
    let redirect = redirect_uri(state, name);
    let identity = match provider {
        FlowProvider::Oidc(oidc) => {
            let id_token = oidc
                .exchange_code(&code, &redirect, Some(&secrets.verifier))
                .await
                .map_err(|error| provider_failed(name, error))?;
            oidc.verify(&id_token, Some(&secrets.nonce), now / 1000)
                .await
                .map_err(|error| provider_failed(name, error))?
        }
        FlowProvider::Github(github) => github
            .exchange(&code, Some(&redirect), Some(&secrets.verifier))
            .await
            .map_err(|error| provider_failed(name, error))?,
    };
    let signed_in = sign_in(state, name, provider.kind(), identity, device, None).await?;
    let answer = CompleteResponse {
        success: SuccessTrue,
        user: UserSummary::from(&signed_in.user),
        tokens: signed_in.tokens,
        mfa_required: signed_in.mfa_required,
        return_to: flow.return_path,
    };
    let one_time = new_token();
    let sealed = SecretBox::derived(one_time.as_bytes(), CODE_SEAL)
        .seal(&serde_json::to_vec(&answer).or_500(FAILED)?, b"");
    state
        .store
        .create_oidc_code(
            hash_token(&one_time),
            sealed,
            now,
            now + ONE_TIME_CODE_TTL_MS,
        )
        .await
        .or_500(FAILED)?;
    Ok(one_time)
}

/// The one-time code from `/console/signed-in#code=`.
#[derive(Deserialize, ToSchema)]
struct CompleteBody {
    #[schema(schema_with = schema::non_blank, required = true)]
    code: Option<String>,
}

/// `POST /auth/oidc/complete`, 200: the login answer, and where the console goes next.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CompleteResponse {
    success: SuccessTrue,
    #[serde(flatten)]
    tokens: IssuedTokens,
    user: UserSummary,
    /// Present (true) when the session waits for its second factor: until
    /// `POST /mfa/verify-login`, its access token opens only the pending-session allow-list.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    mfa_required: bool,
    /// The `return` path of the start (a path under `/console/`).
    return_to: String,
}

/// Finish a browser sign-in: the one-time code (60 s, once) for the login answer.
#[utoipa::path(
    post,
    path = "/auth/oidc/complete",
    tag = "identity",
    request_body = CompleteBody,
    responses(
        (status = 200, description = "Signed in, as `POST /user/login` answers (with `mfaRequired: true`, the session waits for `POST /mfa/verify-login`), plus `returnTo`", body = CompleteResponse),
        (status = 400, description = "`MISSING_FIELD`, malformed JSON", body = ErrorResponse),
        (status = 401, description = "`INVALID_TOKEN`: the code is unknown, expired or used", body = ErrorResponse),
        CredentialBodyRejected,
        (status = 500, description = "Sign-in failed", body = ErrorResponse),
    )
)]
async fn complete(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Result<Json<Value>, ApiError> {
    let code = fields::required(&body.code, "code")?.trim();
    let invalid = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "Invalid or expired code",
        )
    };
    if code.len() > MAX_PARAM_BYTES {
        return Err(invalid());
    }
    let sealed = state
        .store
        .spend_oidc_code(&hash_token(code), now_ms())
        .await
        .or_500(FAILED)?
        .ok_or_else(invalid)?;
    let answer = SecretBox::derived(code.as_bytes(), CODE_SEAL)
        .open(&sealed, b"")
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(invalid)?;
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{browser_binding, challenge, is_console_path, BROWSER_COOKIE};

    #[test]
    fn only_paths_under_the_console_are_returned_to() {
        for good in [
            "/console/workspaces",
            "/console/workspaces/abc?x=1",
            "/console/",
        ] {
            assert!(is_console_path(good), "{good}");
        }
        for bad in [
            "https://evil.example/console/",
            "//evil.example/console/",
            "/console/../user/profile",
            "/console/%2e%2e/x",
            "/console\\evil",
            "/consolex/",
            "/console/\\\\evil.example",
            "/console/a b",
            "/console/#x",
            "",
            "/",
        ] {
            assert!(!is_console_path(bad), "{bad}");
        }
    }

    #[test]
    fn the_binding_cookie_is_read_only_when_it_is_one_of_ours() {
        let token = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let headers = |cookie: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("cookie", HeaderValue::from_str(cookie).unwrap());
            headers
        };
        let found = browser_binding(&headers(&format!("a=b; {BROWSER_COOKIE}={token}; c=d")));
        assert_eq!(found.as_deref(), Some(token));
        for bad in [
            String::new(),
            format!("other={token}"),
            format!("{BROWSER_COOKIE}=short"),
            format!("{BROWSER_COOKIE}={}", token.replace('-', "+")),
        ] {
            assert_eq!(browser_binding(&headers(&bad)), None, "{bad}");
        }
        assert_eq!(browser_binding(&HeaderMap::new()), None);
    }

    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
