//! Protection against overload and abuse: a global cap on requests in flight (503 beyond it),
//! and rate limits on the routes that guess or spend credentials (429 with `Retry-After`).
//!
//! Rate limits are kept in each instance's memory (`governor`, GCRA). With several instances
//! behind a load balancer, a client may get up to N times the limit; that is accepted: the limits
//! exist to make password guessing and e-mail flooding slow, not to meter, and a shared store
//! would put a database write on every login attempt. Correctness never depends on them.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower::BoxError;

use super::bodies::errors::ErrorCode;
use super::common::error::ApiError;
use super::MAX_BODY_BYTES;
use crate::config::RateLimitConfig;
use crate::domain::email_key;

/// The routes that are limited: they check passwords or tokens, or send e-mail.
fn is_limited(path: &str) -> bool {
    matches!(
        path,
        "/user/login"
            | "/user/register"
            | "/user/verify-email"
            | "/user/refresh"
            | "/user/request-reset-password"
            | "/user/reset-password"
    ) || path.starts_with("/user/resend-verification/")
}

pub struct RateLimits {
    config: RateLimitConfig,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> Arc<RateLimits> {
        Arc::new(RateLimits {
            config,
            per_ip: keyed(config.per_ip_per_minute),
            per_account: keyed(config.per_account_per_minute),
            checks: AtomicU64::new(0),
        })
    }

    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        if self.config.trust_forwarded_for {
            let forwarded = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|ip| ip.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    }

    /// Forgets idle keys now and then, so memory stays bounded by recent clients.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            if let Some(limiter) = &self.per_ip {
                limiter.retain_recent();
            }
            if let Some(limiter) = &self.per_account {
                limiter.retain_recent();
            }
        }
    }
}

fn too_many(wait: Duration) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        "Too many requests, try again later",
    )
    .into_response();
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The account a credential request is about: its e-mail (as `email_key`, so no spelling of one
/// address buys more tries), or the token it presents, or the verification id in the path.
fn account_key(path: &str, body: &[u8]) -> Option<String> {
    if let Some(id) = path.strip_prefix("/user/resend-verification/") {
        return Some(format!("verification:{id}"));
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    for (field, prefix) in [
        ("email", "email"),
        ("refreshToken", "refresh"),
        ("refresh_token", "refresh"),
        ("token", "token"),
    ] {
        if let Some(text) = value.get(field).and_then(|v| v.as_str()) {
            let text = text.trim();
            let text = if prefix == "email" {
                email_key(text)
            } else {
                text.to_owned()
            };
            return Some(format!("{prefix}:{text}"));
        }
    }
    None
}

/// Middleware: applies the per-address and per-account limits to the credential routes.
pub async fn rate_limit(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_limited(request.uri().path())
        || (limits.per_ip.is_none() && limits.per_account.is_none())
    {
        return next.run(request).await;
    }
    limits.housekeeping();
    let clock = DefaultClock::default();
    if let (Some(limiter), Some(ip)) = (&limits.per_ip, limits.client_ip(&request)) {
        if let Err(not_until) = limiter.check_key(&ip) {
            return too_many(not_until.wait_time_from(clock.now()));
        }
    }
    let Some(limiter) = &limits.per_account else {
        return next.run(request).await;
    };
    // Read the (small, bounded) body to find the account, then hand it on unchanged.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::payload_too_large().into_response();
    };
    if let Some(key) = account_key(parts.uri.path(), &bytes) {
        if let Err(not_until) = limiter.check_key(&key) {
            return too_many(not_until.wait_time_from(clock.now()));
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// What the load shedder answers when the server already runs its maximum of requests.
pub async fn overloaded(error: BoxError) -> Response {
    if error.is::<tower::load_shed::error::Overloaded>() {
        let mut response = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Overloaded,
            "Server is busy, try again shortly",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else {
        ApiError::internal("Internal server error", error).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::{account_key, is_limited};

    #[test]
    fn only_credential_routes_are_limited() {
        assert!(is_limited("/user/login"));
        assert!(is_limited("/user/resend-verification/abc"));
        assert!(!is_limited("/workspace"));
        assert!(!is_limited("/user/profile"));
    }

    #[test]
    fn the_account_is_the_email_or_the_presented_token() {
        assert_eq!(
            account_key("/user/login", br#"{"email":" Ann@X.io ","password":"p"}"#),
            Some("email:ann@x.io".into())
        );
        assert_eq!(
            account_key("/user/login", r#"{"email":"\u017fam@x.io"}"#.as_bytes()),
            Some("email:sam@x.io".into())
        );
        assert_eq!(
            account_key("/user/refresh", br#"{"refresh_token":"abc"}"#),
            Some("refresh:abc".into())
        );
        assert_eq!(
            account_key("/user/verify-email", br#"{"token":"T"}"#),
            Some("token:T".into())
        );
        assert_eq!(
            account_key("/user/resend-verification/x", b""),
            Some("verification:x".into())
        );
        assert_eq!(account_key("/user/login", b"not json"), None);
    }
}
