//! Audit A (identity providers): an ID token naming several audiences without `azp` (OpenID
//! Connect Core 3.1.3.7, points 3 and 4), and the browser flow's `state` bound to the browser that
//! began the flow (RFC 6749 10.12, RFC 9700 4.7: no login CSRF).

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::json;
use workspaces::config::providers::{ClientSecret, OidcClient};
use workspaces::config::Config;

use crate::support::app::{spawn_app_with, TestApp};
use crate::support::mock_provider::{MockProvider, TestKey, CLIENT_ID, CLIENT_SECRET};

fn google(config: &mut Config, mock: &MockProvider) {
    config.providers.google = Some(OidcClient {
        issuer: mock.base().to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: ClientSecret::new(CLIENT_SECRET),
    });
}

async fn app_for(mock: &MockProvider) -> TestApp {
    spawn_app_with(|config| google(config, mock)).await
}

#[tokio::test]
async fn a_token_for_several_audiences_signs_in_only_when_its_azp_is_ours() {
    let mock = MockProvider::start().await;
    let app = app_for(&mock).await;
    let mut claims = mock.claims("g-multi", "multi@example.com");
    claims["aud"] = json!([CLIENT_ID, "another-client"]);
    let answer = app
        .post(
            "/auth/google",
            None,
            json!({ "token": mock.sign(TestKey::A, &claims) }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body["error_code"], "INVALID_PROVIDER_TOKEN");
    assert_eq!(app.count("SELECT COUNT(*) FROM users", &[]).await, 0);

    // Issued to us (azp), for us and another audience: accepted.
    claims["azp"] = json!(CLIENT_ID);
    let answer = app
        .post(
            "/auth/google",
            None,
            json!({ "token": mock.sign(TestKey::A, &claims) }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// A browser: no redirects followed, the cookies of our server kept (by hand: the test client
/// has no cookie store).
#[derive(Default)]
struct Browser {
    cookies: Vec<String>,
}

impl Browser {
    async fn visit(&mut self, url: &str) -> (StatusCode, String) {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let mut request = client.get(url);
        if !self.cookies.is_empty() && !url.contains("/authorize?") {
            request = request.header("cookie", self.cookies.join("; "));
        }
        let response = request.send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location)
    }
}

/// Starts a Google flow in `browser` and signs in at the provider: the callback URL the provider
/// sends that browser to.
async fn begin(app: &TestApp, browser: &mut Browser) -> String {
    let (status, authorization) = browser
        .visit(&app.url("/auth/oidc/google/start?return=%2Fconsole%2Fworkspaces"))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{authorization}");
    let (status, back) = browser.visit(&authorization).await;
    assert_eq!(status, StatusCode::FOUND, "{back}");
    let back = url::Url::parse(&back).unwrap();
    format!("{}{}?{}", app.address, back.path(), back.query().unwrap())
}

/// The fragment of the console page the callback sends `browser` to.
async fn finish(browser: &mut Browser, callback: &str) -> String {
    let (status, location) = browser.visit(callback).await;
    assert_eq!(status, StatusCode::FOUND, "{location}");
    location
        .split_once("/console/signed-in#")
        .unwrap_or_else(|| panic!("{location}"))
        .1
        .to_owned()
}

#[tokio::test]
async fn a_callback_url_opened_in_another_browser_signs_no_one_in() {
    let mock = MockProvider::start().await;
    let app = app_for(&mock).await;

    // The browser that began the flow finishes it.
    let mut zoe = Browser::default();
    let back = begin(&app, &mut zoe).await;
    assert!(finish(&mut zoe, &back).await.starts_with("code="));

    // Login CSRF: the attacker begins a flow and signs in at the provider as themself, then has
    // the victim's browser open the callback URL. The victim must not end up signed in to the
    // attacker's account.
    mock.next_person(json!({
        "sub": "attacker", "email": "mallory@example.com", "email_verified": true,
        "name": "Mallory",
    }));
    let mut attacker = Browser::default();
    let back = begin(&app, &mut attacker).await;
    let mut victim = Browser::default();
    assert_eq!(
        finish(&mut victim, &back).await,
        "error=SIGN_IN_FLOW_INVALID"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oidc_codes", &[]).await,
        1,
        "no one-time code for the victim"
    );
}

/// The IPv6 benchmarking range (RFC 5180, 2001:2::/48) and the newer documentation range
/// (RFC 9637, 3fff::/20) are refused as their IPv4 counterparts (198.18.0.0/15, 192.0.2.0/24)
/// are.
#[test]
fn ipv6_benchmark_and_documentation_ranges_are_forbidden() {
    use workspaces::domain::is_forbidden_ip;
    for text in [
        "2001:2::1",
        "2001:2:0:ffff::1",
        "3fff::1",
        "3fff:fff:ffff::1",
    ] {
        assert!(is_forbidden_ip(text.parse().unwrap()), "{text}");
    }
    for text in ["2001:3::1", "2001:4860::8888", "4000::1"] {
        assert!(!is_forbidden_ip(text.parse().unwrap()), "{text}");
    }
}
