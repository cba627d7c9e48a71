//! Typed configuration of a running server. Built from the command line and `WORKSPACES_*`
//! environment variables (see `cli.rs`); secrets never appear in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub db_max_connections: u32,
    /// HS256 secret for access tokens. None (and no `jwt_secret_file`): generated once and kept
    /// in the database.
    pub jwt_secret: Option<String>,
    /// A file holding the HS256 secret, readable by its owner only.
    pub jwt_secret_file: Option<PathBuf>,
    /// A session ends at the latest this long after its login, however often it refreshes.
    pub session_lifetime: Duration,
    /// The background clean-up of expired rows; None: off.
    pub cleanup: Option<CleanupConfig>,
    /// SMTP relay URL. None: e-mails go to the log.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Base URL of the web app, used for links in e-mails.
    pub public_url: Option<String>,
    /// How long SIGTERM waits for in-flight requests before the process exits anyway.
    pub shutdown_grace: Duration,
    /// A request still running after this long answers 408.
    pub request_timeout: Duration,
    /// Requests served at once; beyond, 503 at once instead of queueing.
    pub max_concurrent_requests: usize,
    /// Origins allowed to call the API from a browser (CORS). Empty: none.
    pub cors_origins: Vec<String>,
    pub rate_limits: RateLimitConfig,
    /// Threads hashing passwords; each holds Argon2's 19 MiB while the server runs.
    pub password_hash_threads: usize,
    /// Hashing jobs that may wait for those threads; beyond, 503 at once.
    pub password_hash_queue: usize,
}

/// Requests per minute allowed on the credential routes; 0 turns a limit off. Read by the rate
/// limiter (`http::common::throttle`); it lives here so that configuration depends on nothing
/// above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Credential requests per client address.
    pub per_ip_per_minute: u32,
    /// Credential requests per account (e-mail, token, verification id), per caller for the
    /// authenticated requests that hash a password, and failed logins per account and client
    /// address.
    pub per_account_per_minute: u32,
    /// Failed logins per account from all addresses together.
    pub login_failures_per_account_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Proxies in front of the server that append to `X-Forwarded-For`: the client address is
    /// this many entries from the right.
    pub trusted_proxy_hops: usize,
}

/// What the background clean-up deletes, and how often it runs (`crate::cleanup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupConfig {
    /// Time between two passes.
    pub interval: Duration,
    /// Rows are deleted this long after they expired (or their session was revoked).
    pub grace: Duration,
    /// Self-registered accounts never verified are deleted this long after registering; None:
    /// kept.
    pub unverified_account_ttl: Option<Duration>,
}

impl RateLimitConfig {
    pub const OFF: RateLimitConfig = RateLimitConfig {
        per_ip_per_minute: 0,
        per_account_per_minute: 0,
        login_failures_per_account_per_minute: 0,
        trust_forwarded_for: false,
        trusted_proxy_hops: 1,
    };
}

/// Contract section 4: a session ends at the latest 90 days after its login.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(90 * 24 * 60 * 60);

impl Config {
    /// Defaults suitable for tests: port 0 on loopback, the given database.
    pub fn for_database(database_url: impl Into<String>) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            db_max_connections: 16,
            jwt_secret: None,
            jwt_secret_file: None,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            // Off: a test drives a clean-up pass itself, or turns the task on.
            cleanup: None,
            smtp_url: None,
            mail_from: "Workspaces <no-reply@localhost.localdomain>".to_owned(),
            public_url: None,
            shutdown_grace: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            cors_origins: Vec::new(),
            // Tests sign up and log in many times from one address; rate-limit tests turn it on.
            rate_limits: RateLimitConfig::OFF,
            password_hash_threads: crate::auth::default_hash_threads(),
            password_hash_queue: crate::auth::DEFAULT_HASH_QUEUE,
        }
    }
}

/// Hides the password part of a URL (`postgres://user:secret@host` -> `postgres://user:***@host`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_secret_file", &self.jwt_secret_file)
            .field("session_lifetime", &self.session_lifetime)
            .field("cleanup", &self.cleanup)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("request_timeout", &self.request_timeout)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("cors_origins", &self.cors_origins)
            .field("rate_limits", &self.rate_limits)
            .field("password_hash_threads", &self.password_hash_threads)
            .field("password_hash_queue", &self.password_hash_queue)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, Config};

    #[test]
    fn debug_redacts_secrets() {
        let mut config = Config::for_database("postgres://app:hunter2@db/ws");
        config.jwt_secret = Some("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".into());
        config.smtp_url = Some("smtps://mail:pa55@smtp.example.com".into());
        let printed = format!("{config:?}");
        for secret in ["hunter2", "s3cr3t", "pa55"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert_eq!(
            redact_url("sqlite://workspaces.db"),
            "sqlite://workspaces.db"
        );
    }
}
