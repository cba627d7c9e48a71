//! The identity providers people may sign in with (contract section 12): Google, Microsoft,
//! GitHub and any number of generic OpenID Connect providers, as the flags name them, checked
//! once at start. Client secrets never appear in `Debug` output or in an error message.

use std::fmt;
use std::time::Duration;

/// Google's issuer unless `--google-issuer` says otherwise.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Microsoft's authority unless `--microsoft-authority` says otherwise.
pub const MICROSOFT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The Microsoft tenant unless `--microsoft-tenant` says otherwise: any work, school or
/// personal account.
pub const MICROSOFT_TENANT: &str = "common";
pub const GITHUB_URL: &str = "https://github.com";
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// Every call to a provider gives up after this long (502 `PROVIDER_UNAVAILABLE`).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);
/// A token naming a key the cached JWKS lacks refetches the JWKS at most this often, so that
/// tokens with made-up `kid`s cannot make the server hammer the provider.
pub const JWKS_REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// The names the built-in providers and the out-of-scope ones take; a generic provider may not.
const RESERVED_NAMES: &[&str] = &["google", "microsoft", "github", "web3", "saml", "complete"];

/// A client secret: shown as `<redacted>` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An OpenID Connect client of one issuer (Google, or a generic provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    /// The issuer URL without a trailing slash; discovery reads
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
}

/// Microsoft's identity platform: the issuer is per tenant (`{authority}/{tenant}/v2.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftClient {
    pub authority: String,
    /// A tenant id or domain, or `common`, `organizations`, `consumers` (multi-tenant: the
    /// token's `iss` names the user's own tenant).
    pub tenant: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
}

/// GitHub (OAuth 2.0, not OpenID Connect): its web address and its API's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubClient {
    pub url: String,
    pub api_url: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
}

/// A generic OpenID Connect provider (`--oidc-provider NAME,ISSUER,CLIENT_ID,CLIENT_SECRET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericProvider {
    /// Lower-case letters, digits and `-`: it appears in `/auth/oidc/{name}/...`.
    pub name: String,
    pub client: OidcClient,
}

/// Every configured provider, and how the server talks to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidersConfig {
    pub google: Option<OidcClient>,
    pub microsoft: Option<MicrosoftClient>,
    pub github: Option<GithubClient>,
    pub generic: Vec<GenericProvider>,
    /// Every outbound call gives up after this long: [`PROVIDER_TIMEOUT`]; not a flag (tests
    /// shorten it only where they must).
    pub timeout: Duration,
    /// [`JWKS_REFRESH_COOLDOWN`]; not a flag (a test of key rotation sets it to zero).
    pub jwks_refresh_cooldown: Duration,
}

impl Default for ProvidersConfig {
    /// No provider.
    fn default() -> Self {
        ProvidersConfig {
            google: None,
            microsoft: None,
            github: None,
            generic: Vec::new(),
            timeout: PROVIDER_TIMEOUT,
            jwks_refresh_cooldown: JWKS_REFRESH_COOLDOWN,
        }
    }
}

/// The provider flags as given (`cli::ServeArgs`), before they are checked.
#[derive(Debug, Default, Clone)]
pub struct ProviderFlags {
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<String>,
    pub google_issuer: String,
    pub microsoft_client_id: Option<String>,
    pub microsoft_client_secret: Option<String>,
    pub microsoft_tenant: String,
    pub microsoft_authority: String,
    pub github_client_id: Option<String>,
    pub github_client_secret: Option<String>,
    pub github_url: String,
    pub github_api_url: String,
    /// `NAME,ISSUER,CLIENT_ID,CLIENT_SECRET` each.
    pub oidc_providers: Vec<String>,
}

impl ProviderFlags {
    /// Checks the flags: a malformed one is an error naming the flag and what is wrong with it,
    /// never quoting a secret.
    pub fn parse(self) -> Result<ProvidersConfig, String> {
        let google = match pair("google", self.google_client_id, self.google_client_secret)? {
            Some((client_id, client_secret)) => Some(OidcClient {
                issuer: base_url("--google-issuer", &self.google_issuer)?,
                client_id,
                client_secret,
            }),
            None => None,
        };
        let microsoft = match pair(
            "microsoft",
            self.microsoft_client_id,
            self.microsoft_client_secret,
        )? {
            Some((client_id, client_secret)) => Some(MicrosoftClient {
                authority: base_url("--microsoft-authority", &self.microsoft_authority)?,
                tenant: tenant(&self.microsoft_tenant)?,
                client_id,
                client_secret,
            }),
            None => None,
        };
        let github = match pair("github", self.github_client_id, self.github_client_secret)? {
            Some((client_id, client_secret)) => Some(GithubClient {
                url: base_url("--github-url", &self.github_url)?,
                api_url: base_url("--github-api-url", &self.github_api_url)?,
                client_id,
                client_secret,
            }),
            None => None,
        };
        let mut generic: Vec<GenericProvider> = Vec::new();
        for (index, raw) in self.oidc_providers.iter().enumerate() {
            let provider = generic_provider(raw).map_err(|why| {
                format!(
                    "--oidc-provider (WORKSPACES_OIDC_PROVIDERS) number {}: {why}",
                    index + 1
                )
            })?;
            if generic.iter().any(|p| p.name == provider.name) {
                return Err(format!(
                    "--oidc-provider: the name {} is given twice",
                    provider.name
                ));
            }
            generic.push(provider);
        }
        Ok(ProvidersConfig {
            google,
            microsoft,
            github,
            generic,
            ..ProvidersConfig::default()
        })
    }
}

/// A client id and its secret, given together or not at all.
fn pair(
    provider: &str,
    id: Option<String>,
    secret: Option<String>,
) -> Result<Option<(String, ClientSecret)>, String> {
    let id = id.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let secret = secret.filter(|v| !v.trim().is_empty());
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => Ok(Some((id, ClientSecret(secret.trim().to_owned())))),
        (Some(_), None) => Err(format!(
            "--{provider}-client-id is set but --{provider}-client-secret is not: give both"
        )),
        (None, Some(_)) => Err(format!(
            "--{provider}-client-secret is set but --{provider}-client-id is not: give both"
        )),
    }
}

/// An `http` or `https` URL without query or fragment, returned without a trailing slash.
fn base_url(flag: &str, raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed)
        .map_err(|_| format!("{flag}: not a URL (expected e.g. https://id.example.com)"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{flag}: must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{flag}: must not carry credentials, a query or a fragment"
        ));
    }
    Ok(trimmed.to_owned())
}

fn tenant(raw: &str) -> Result<String, String> {
    let tenant = raw.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if tenant.is_empty() || tenant.len() > 256 || !tenant.chars().all(allowed) {
        return Err(
            "--microsoft-tenant: a tenant id or domain, or common, organizations or consumers"
                .to_owned(),
        );
    }
    Ok(tenant.to_owned())
}

/// `NAME,ISSUER,CLIENT_ID,CLIENT_SECRET`; the secret is the rest of the value, commas included.
fn generic_provider(raw: &str) -> Result<GenericProvider, String> {
    let mut parts = raw.trim().splitn(4, ',');
    let mut next = |what: &str| {
        parts
            .next()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                format!("expected NAME,ISSUER,CLIENT_ID,CLIENT_SECRET; {what} is missing")
            })
    };
    let name = next("NAME")?;
    let issuer = next("ISSUER")?;
    let client_id = next("CLIENT_ID")?;
    let client_secret = next("CLIENT_SECRET")?;
    let valid_name = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_name {
        return Err(format!(
            "the NAME {name:?} must be 1 to 32 lower-case letters, digits or '-', starting with a letter"
        ));
    }
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(format!(
            "the NAME {name} is reserved (use the --{name}-* flags for the built-in providers)"
        ));
    }
    Ok(GenericProvider {
        client: OidcClient {
            issuer: base_url("ISSUER", &issuer)?,
            client_id,
            client_secret: ClientSecret(client_secret),
        },
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> ProviderFlags {
        ProviderFlags {
            google_issuer: GOOGLE_ISSUER.to_owned(),
            microsoft_tenant: MICROSOFT_TENANT.to_owned(),
            microsoft_authority: MICROSOFT_AUTHORITY.to_owned(),
            github_url: GITHUB_URL.to_owned(),
            github_api_url: GITHUB_API_URL.to_owned(),
            ..ProviderFlags::default()
        }
    }

    #[test]
    fn no_flags_configure_no_provider() {
        assert_eq!(flags().parse().unwrap(), ProvidersConfig::default());
    }

    #[test]
    fn generic_providers_keep_commas_in_their_secret_and_refuse_bad_names() {
        let parsed = ProviderFlags {
            oidc_providers: vec!["corp,https://id.corp.example/realms/x/,app,s3,cr,et".into()],
            ..flags()
        }
        .parse()
        .unwrap();
        let corp = &parsed.generic[0];
        assert_eq!(corp.name, "corp");
        assert_eq!(corp.client.issuer, "https://id.corp.example/realms/x");
        assert_eq!(corp.client.client_secret.expose(), "s3,cr,et");
        for bad in [
            "Corp,https://id.example,app,sekrit",
            "google,https://id.example,app,sekrit",
            "corp,ftp://id.example,app,sekrit",
            "corp,not a url,app,sekrit",
            "corp,https://id.example,app",
            "corp,https://id.example,,sekrit",
        ] {
            let refused = ProviderFlags {
                oidc_providers: vec![bad.into()],
                ..flags()
            }
            .parse()
            .unwrap_err();
            assert!(!refused.contains("sekrit"), "{refused}");
            assert!(refused.contains("--oidc-provider"), "{refused}");
        }
        let twice = ProviderFlags {
            oidc_providers: vec![
                "a,https://a.example,x,y".into(),
                "a,https://b.example,x,y".into(),
            ],
            ..flags()
        };
        assert!(twice.parse().unwrap_err().contains("twice"));
    }

    #[test]
    fn an_id_without_its_secret_is_refused_and_secrets_stay_hidden() {
        let half = ProviderFlags {
            google_client_id: Some("id".into()),
            ..flags()
        };
        assert!(half.parse().unwrap_err().contains("--google-client-secret"));
        let whole = ProviderFlags {
            microsoft_client_id: Some("ms-id".into()),
            microsoft_client_secret: Some("hunter2".into()),
            github_client_id: Some("gh-id".into()),
            github_client_secret: Some("hunter3".into()),
            ..flags()
        }
        .parse()
        .unwrap();
        let printed = format!("{whole:?}");
        assert!(!printed.contains("hunter"), "{printed}");
        let microsoft = whole.microsoft.unwrap();
        assert_eq!(microsoft.tenant, "common");
        assert_eq!(microsoft.authority, MICROSOFT_AUTHORITY);
        let bad_issuer = ProviderFlags {
            google_client_id: Some("id".into()),
            google_client_secret: Some("s".into()),
            google_issuer: "accounts.google.com".into(),
            ..flags()
        };
        assert!(bad_issuer.parse().unwrap_err().contains("--google-issuer"));
    }
}
