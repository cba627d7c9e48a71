//! GitHub: OAuth 2.0, not OpenID Connect (no ID token, so no nonce). A code is exchanged at
//! `{github-url}/login/oauth/access_token` with the client secret (and the PKCE verifier of the
//! browser flow); the access token then reads the person from `{github-api-url}/user` and their
//! primary e-mail from `/user/emails`, which counts only when GitHub says it is verified. The
//! access token is used for these two reads and forgotten.

use serde::Deserialize;

use super::{post_form, read_json, ProviderError, ProviderIdentity};
use crate::config::providers::GithubClient;

/// The GitHub (or GitHub Enterprise) of `--github-url` and `--github-api-url`.
pub struct GithubProvider {
    client: GithubClient,
    http: reqwest::Client,
}

impl GithubProvider {
    pub fn new(client: GithubClient, http: reqwest::Client) -> GithubProvider {
        GithubProvider { client, http }
    }

    /// Where to send the browser to sign in: GitHub's authorization page with `state` and the
    /// PKCE challenge (S256); the scopes read the profile and the e-mail addresses.
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        code_challenge: &str,
    ) -> Result<String, ProviderError> {
        let endpoint = format!("{}/login/oauth/authorize", self.client.url);
        let mut url = url::Url::parse(&endpoint)
            .map_err(|_| ProviderError::Unavailable("unusable --github-url".into()))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "read:user user:email")
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "false");
        Ok(url.into())
    }

    /// The person behind an authorization code: exchanged with the client secret (and
    /// `code_verifier`, when the authorization sent a challenge), then read from the API. A
    /// code GitHub refuses is [`ProviderError::InvalidToken`].
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<ProviderIdentity, ProviderError> {
        let endpoint = format!("{}/login/oauth/access_token", self.client.url);
        let mut form = vec![
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.client_secret.expose()),
            ("code", code),
        ];
        if let Some(uri) = redirect_uri {
            form.push(("redirect_uri", uri));
        }
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
        }
        let request = self.http.post(&endpoint).form(&form);
        let token: TokenAnswer = post_form(request, &endpoint).await?;

        #[derive(Deserialize)]
        struct User {
            id: u64,
            #[serde(default)]
            login: Option<String>,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            avatar_url: Option<String>,
        }
        #[derive(Deserialize)]
        struct Address {
            email: String,
            #[serde(default)]
            primary: bool,
            #[serde(default)]
            verified: bool,
        }
        let user: User = self.api(&token.access_token, "/user").await?;
        let emails: Vec<Address> = self.api(&token.access_token, "/user/emails").await?;
        let verified_email = emails
            .into_iter()
            .find(|address| address.primary)
            .filter(|address| address.verified)
            .map(|address| address.email);
        Ok(ProviderIdentity {
            subject: user.id.to_string(),
            verified_email,
            name: user.name.filter(|n| !n.trim().is_empty()).or(user.login),
            given_name: None,
            family_name: None,
            picture: user.avatar_url.filter(|url| super::oidc::is_http_url(url)),
        })
    }

    /// GETs `path` of the API with the person's access token. Any failure is the provider's:
    /// the token was issued a moment ago.
    async fn api<T: serde::de::DeserializeOwned>(
        &self,
        access_token: &str,
        path: &str,
    ) -> Result<T, ProviderError> {
        let url = format!("{}{path}", self.client.api_url);
        let response = self
            .http
            .get(&url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("{url}: {e}")))?;
        let (status, value) = read_json(response, &url).await?;
        if !status.is_success() {
            return Err(ProviderError::Unavailable(format!(
                "{url}: status {status}"
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| ProviderError::Unavailable(format!("{url}: not the JSON expected: {e}")))
    }
}
