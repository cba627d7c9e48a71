//! Identity providers (contract section 12): the configured ones, built once at start and shared
//! by every request. OpenID Connect providers (Google, Microsoft, generic ones) are found by
//! discovery and verify ID tokens against their published keys ([`oidc`]); GitHub is plain
//! OAuth 2.0 ([`github`]).
//!
//! Every outbound call goes through one `reqwest` client with a timeout
//! ([`ProvidersConfig::timeout`], 5 s) and no redirects; a provider that does not answer in
//! time, or answers garbage, is [`ProviderError::Unavailable`] (502), and only the requests that
//! need that provider wait for it.

mod github;
mod oidc;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use github::GithubProvider;
pub use oidc::{IssuerRule, OidcProvider};

use crate::config::providers::{MicrosoftClient, OidcClient};
use crate::config::ProvidersConfig;

/// Which kind of provider signed a person in: also the session's `loginMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Google,
    Microsoft,
    Github,
    /// A generic OpenID Connect provider (`--oidc-provider`).
    Oidc,
}

/// Why a provider sign-in failed before anything of ours was read.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The token (or code) proves nothing: bad signature, another client's, expired, wrong
    /// issuer or nonce, malformed. The reason is for the log only.
    #[error("invalid provider token: {0}")]
    InvalidToken(String),
    /// The provider did not answer in time, or answered something unusable.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

/// What a verified ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// The provider's stable id of the person (`sub`).
    pub subject: String,
    /// The e-mail address, only when the provider says it is verified.
    pub verified_email: Option<String>,
    /// Full name (`name`), first (`given_name`) and last (`family_name`), as the token has them.
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// A picture of the person (`picture`; GitHub's avatar), an http(s) URL.
    pub picture: Option<String>,
}

/// A configured provider as `GET /auth/providers` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// `google`, `microsoft`, `github` or a generic provider's name: the `{name}` of the
    /// browser flow's routes.
    pub name: String,
    pub display_name: String,
}

/// Every configured provider.
pub struct Providers {
    google: Option<Arc<OidcProvider>>,
    microsoft: Option<Arc<OidcProvider>>,
    github: Option<GithubProvider>,
    generic: Vec<Arc<OidcProvider>>,
}

/// A provider of the browser flow, by its name.
#[derive(Clone, Copy)]
pub enum FlowProvider<'a> {
    Oidc(&'a OidcProvider),
    Github(&'a GithubProvider),
}

impl FlowProvider<'_> {
    pub fn kind(&self) -> ProviderKind {
        match self {
            FlowProvider::Oidc(provider) => provider.kind(),
            FlowProvider::Github(_) => ProviderKind::Github,
        }
    }
}

impl Providers {
    /// Builds the providers of `config`; nothing is fetched until a sign-in needs it.
    pub fn new(config: &ProvidersConfig) -> anyhow::Result<Providers> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("workspaces/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let oidc = |name: &str, client: &OidcClient, kind: ProviderKind| {
            let discovery = format!("{}/.well-known/openid-configuration", client.issuer);
            let mut accepted = vec![client.issuer.clone()];
            // Google's tokens may name their issuer without the scheme.
            if client.issuer == crate::config::providers::GOOGLE_ISSUER {
                accepted.push("accounts.google.com".to_owned());
            }
            Arc::new(OidcProvider::new(
                name,
                kind,
                discovery,
                IssuerRule::Configured(accepted),
                (&client.client_id, &client.client_secret),
                http.clone(),
                config.jwks_refresh_cooldown,
            ))
        };
        let microsoft = |client: &MicrosoftClient| {
            let discovery = format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                client.authority, client.tenant
            );
            let rule = match client.tenant.as_str() {
                "common" | "organizations" | "consumers" => IssuerRule::MicrosoftTenant {
                    authority: client.authority.clone(),
                    audience: client.tenant.clone(),
                },
                // A tenant given by domain: its issuer names its id, which discovery tells.
                _ => IssuerRule::Discovered,
            };
            Arc::new(OidcProvider::new(
                "microsoft",
                ProviderKind::Microsoft,
                discovery,
                rule,
                (&client.client_id, &client.client_secret),
                http.clone(),
                config.jwks_refresh_cooldown,
            ))
        };
        Ok(Providers {
            google: config
                .google
                .as_ref()
                .map(|c| oidc("google", c, ProviderKind::Google)),
            microsoft: config.microsoft.as_ref().map(microsoft),
            github: config
                .github
                .clone()
                .map(|client| GithubProvider::new(client, http.clone())),
            generic: config
                .generic
                .iter()
                .map(|p| oidc(&p.name, &p.client, ProviderKind::Oidc))
                .collect(),
        })
    }

    pub fn google(&self) -> Option<&OidcProvider> {
        self.google.as_deref()
    }

    pub fn microsoft(&self) -> Option<&OidcProvider> {
        self.microsoft.as_deref()
    }

    pub fn github(&self) -> Option<&GithubProvider> {
        self.github.as_ref()
    }

    /// The provider named `name` in the browser flow's routes, when it is configured.
    pub fn by_name(&self, name: &str) -> Option<FlowProvider<'_>> {
        match name {
            "google" => self.google().map(FlowProvider::Oidc),
            "microsoft" => self.microsoft().map(FlowProvider::Oidc),
            "github" => self.github().map(FlowProvider::Github),
            other => self.generic(other).map(FlowProvider::Oidc),
        }
    }

    /// A generic OpenID Connect provider by name.
    pub fn generic(&self, name: &str) -> Option<&OidcProvider> {
        self.generic
            .iter()
            .find(|p| p.name() == name)
            .map(|p| p.as_ref())
    }

    /// The configured providers, Google, Microsoft, GitHub, then the generic ones in the order
    /// they were given.
    pub fn list(&self) -> Vec<ProviderInfo> {
        let info = |name: &str, display: &str| ProviderInfo {
            name: name.to_owned(),
            display_name: display.to_owned(),
        };
        let mut list = Vec::new();
        if self.google.is_some() {
            list.push(info("google", "Google"));
        }
        if self.microsoft.is_some() {
            list.push(info("microsoft", "Microsoft"));
        }
        if self.github.is_some() {
            list.push(info("github", "GitHub"));
        }
        list.extend(self.generic.iter().map(|p| info(p.name(), p.name())));
        list
    }
}

/// Sends a form to a provider's token endpoint and reads its JSON answer. A refusal of what was
/// presented (`400`, `401`, or GitHub's `200` with an `error` field) is
/// [`ProviderError::InvalidToken`], whose reason (the provider's `error`) goes to the log.
async fn post_form<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<T, ProviderError> {
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| ProviderError::Unavailable(format!("{url}: {e}")))?;
    let status = response.status();
    let refused = matches!(status.as_u16(), 400 | 401);
    let (status, value) = match read_json(response, url).await {
        Ok(read) => read,
        Err(_) if refused => {
            return Err(ProviderError::InvalidToken(format!(
                "{url}: status {status}"
            )))
        }
        Err(error) => return Err(error),
    };
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(ProviderError::InvalidToken(format!("{url}: {error}")));
    }
    if refused {
        return Err(ProviderError::InvalidToken(format!(
            "{url}: status {status}"
        )));
    }
    if !status.is_success() {
        return Err(ProviderError::Unavailable(format!(
            "{url}: status {status}"
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| ProviderError::Unavailable(format!("{url}: not the JSON expected: {e}")))
}

/// The status and JSON body (at most [`oidc::MAX_DOCUMENT_BYTES`]) of an answer.
async fn read_json(
    mut response: reqwest::Response,
    url: &str,
) -> Result<(reqwest::StatusCode, Value), ProviderError> {
    let unavailable = |why: String| ProviderError::Unavailable(format!("{url}: {why}"));
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(e.to_string()))?
    {
        if body.len() + chunk.len() > oidc::MAX_DOCUMENT_BYTES {
            return Err(unavailable("answer too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let value = serde_json::from_slice(&body).map_err(|e| unavailable(format!("not JSON: {e}")))?;
    Ok((status, value))
}
