//! Identity providers (contract section 12): the configured ones, built once at start and shared
//! by every request. OpenID Connect providers (Google, Microsoft, generic ones) are found by
//! discovery and verify ID tokens against their published keys ([`oidc`]); GitHub is plain
//! OAuth 2.0 (its routes come with the browser flow).
//!
//! Every outbound call goes through one `reqwest` client with a timeout
//! ([`ProvidersConfig::timeout`], 5 s) and no redirects; a provider that does not answer in
//! time, or answers garbage, is [`ProviderError::Unavailable`] (502), and only the requests that
//! need that provider wait for it.

mod oidc;

use std::sync::Arc;

pub use oidc::{IssuerRule, OidcProvider};

use crate::config::providers::{GithubClient, MicrosoftClient, OidcClient};
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
    github: Option<GithubClient>,
    generic: Vec<Arc<OidcProvider>>,
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
                &client.client_id,
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
                &client.client_id,
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
            github: config.github.clone(),
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
