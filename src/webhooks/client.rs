//! The HTTP client deliveries go through (contract section 15, OWASP's SSRF cheat sheet): rustls,
//! no proxy, no redirects, a 10 s limit on the whole exchange, and a resolver that drops every
//! address [`is_forbidden_ip`] refuses, so the address connected to is the one checked: a name
//! that resolves to a public address when the webhook is saved and to 127.0.0.1 at delivery
//! (DNS rebinding) is refused at delivery. IP literals never reach a resolver: [`post`]
//! checks them before each request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::{check_url, is_forbidden_ip, UrlRefusal};

/// A 2xx within this long is a success (contract section 15).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes of an answer kept (the delivery log shows them).
pub const MAX_RESPONSE_BYTES: usize = 1024;

/// Which destinations are allowed (`--webhooks-allow-http`, `--webhooks-allow-private`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Safety {
    pub allow_http: bool,
    pub allow_private: bool,
}

impl Safety {
    /// The URL checked as at creation: scheme, form, and an IP literal's address.
    pub fn check(&self, url: &str) -> Result<url::Url, UrlRefusal> {
        check_url(url, self.allow_http, self.allow_private)
    }

    /// Resolves `url`'s host as a delivery would and refuses it when every address it has is
    /// forbidden (a name that does not resolve passes: deliveries fail and retry).
    pub async fn check_resolved(&self, url: &url::Url) -> Result<(), UrlRefusal> {
        if self.allow_private {
            return Ok(());
        }
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let lookup = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::lookup_host((host, url.port_or_known_default().unwrap_or(443))),
        )
        .await;
        match lookup {
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if !addrs.is_empty() && addrs.iter().all(|a| is_forbidden_ip(a.ip())) {
                    Err(UrlRefusal::Forbidden)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

/// Resolves with the system resolver and keeps only allowed addresses.
struct SafeResolver;

impl Resolve for SafeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| !is_forbidden_ip(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address webhooks may reach").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The delivery client for `safety`.
pub fn http_client(safety: Safety) -> anyhow::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("workspaces-webhooks/", env!("CARGO_PKG_VERSION")));
    let builder = if safety.allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(SafeResolver))
    };
    Ok(builder.build()?)
}

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// The answer's status; None when there was no answer.
    pub status: Option<u16>,
    /// The first [`MAX_RESPONSE_BYTES`] of the answer (lossy UTF-8).
    pub body: Option<String>,
    pub duration_ms: i64,
    /// Why there was no answer (refused address, timeout, connection).
    pub error: Option<String>,
}

impl AttemptResult {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn refused(error: String, started: Instant) -> AttemptResult {
        AttemptResult {
            status: None,
            body: None,
            duration_ms: elapsed_ms(started),
            error: Some(error),
        }
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The headers of a delivery: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
pub struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: i64,
    pub signature: String,
}

/// POSTs `body` to `url`, checking the URL against `safety` first (IP literals; names are
/// checked by the resolver), within [`DELIVERY_TIMEOUT`].
pub async fn post(
    client: &reqwest::Client,
    safety: Safety,
    url: &str,
    signed: Signed<'_>,
    body: Vec<u8>,
) -> AttemptResult {
    let started = Instant::now();
    if safety.check(url).is_err() {
        return AttemptResult::refused("the URL is not allowed".to_owned(), started);
    }
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", signed.id)
        .header("webhook-timestamp", signed.timestamp.to_string())
        .header("webhook-signature", signed.signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => return AttemptResult::refused(describe(&error), started),
    };
    let status = response.status().as_u16();
    let mut kept = Vec::new();
    let read = tokio::time::timeout(DELIVERY_TIMEOUT.saturating_sub(started.elapsed()), async {
        while kept.len() < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                _ => break,
            }
        }
    })
    .await;
    if read.is_err() && kept.is_empty() {
        return AttemptResult {
            status: Some(status),
            body: None,
            duration_ms: elapsed_ms(started),
            error: Some("timed out reading the answer".to_owned()),
        };
    }
    kept.truncate(MAX_RESPONSE_BYTES);
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    // A cut inside a character shows as U+FFFD; keep within the bound in bytes.
    while text.len() > MAX_RESPONSE_BYTES {
        text.pop();
    }
    AttemptResult {
        status: Some(status),
        body: Some(text),
        duration_ms: elapsed_ms(started),
        error: None,
    }
}

/// A short reason for the log, without the URL (it may hold a token in its query).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
