//! Typed configuration of a running server. Built from the command line and `WORKSPACES_*`
//! environment variables (see `cli.rs`); secrets never appear in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub mod providers;

pub use providers::ProvidersConfig;

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
    /// The AES-256 key sealing TOTP secrets at rest (64 hex digits or base64). None (and no
    /// `mfa_encryption_key_file`): derived from the JWT secret.
    pub mfa_encryption_key: Option<String>,
    /// A file holding that key, readable by its owner only.
    pub mfa_encryption_key_file: Option<PathBuf>,
    /// The issuer authenticator apps show beside a TOTP code.
    pub mfa_issuer: String,
    /// A session ends at the latest this long after its login, however often it refreshes.
    pub session_lifetime: Duration,
    /// How long an activation link stays usable (`--activation-link-days`).
    pub activation_link_lifetime: Duration,
    /// How long an invitation e-mail's token stays usable (`--invitation-days`).
    pub invitation_lifetime: Duration,
    /// Who may create an organization by registering (contract section 13).
    pub registration: RegistrationPolicy,
    /// The plan `GET /user/quota` names and the limits every organization is held to.
    pub quotas: Quotas,
    /// The background clean-up of expired rows; None: off.
    pub cleanup: Option<CleanupConfig>,
    /// The background deletion of old system events; None: events are kept forever.
    pub event_retention: Option<RetentionConfig>,
    /// SMTP relay URL. None: e-mails go to the log, which is allowed only on a loopback
    /// listener or with `dev_mail_log`.
    pub smtp_url: Option<String>,
    /// Write e-mails to the log without SMTP even on a public listener (development only).
    pub dev_mail_log: bool,
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
    /// A second listener serving only `GET /metrics`; then the public one does not serve it.
    pub metrics_listen: Option<SocketAddr>,
    /// Serve the web console at `/console/` (`GET /` redirects there); off with `--no-console`.
    pub console: bool,
    pub connections: ConnectionLimits,
    pub rate_limits: RateLimitConfig,
    /// Threads hashing passwords; each holds Argon2's 19 MiB while the server runs.
    pub password_hash_threads: usize,
    /// Hashing jobs that may wait for those threads; beyond, 503 at once.
    pub password_hash_queue: usize,
    /// The identity providers people may sign in with (contract section 12).
    pub providers: ProvidersConfig,
    /// The webhook dispatcher and the URLs webhooks may have (contract section 15).
    pub webhooks: crate::webhooks::DispatchConfig,
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
    /// Settings writes per signed-in user: each is an audit event kept for good.
    pub settings_writes_per_user_per_minute: u32,
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

/// How long system events are kept (`--event-retention-days`, `crate::cleanup::prune_events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Events older than this are deleted.
    pub keep: Duration,
    /// Time between two passes.
    pub interval: Duration,
    /// Events per delete statement (`--event-retention-batch`).
    pub batch: u32,
}

impl RetentionConfig {
    /// A pass an hour: events are deleted at most an hour past their age limit.
    pub const INTERVAL: Duration = Duration::from_secs(60 * 60);
    /// Big enough that a pass over a large backlog takes few statements, small enough that each
    /// holds SQLite's writer or PostgreSQL's row locks for milliseconds.
    pub const BATCH: u32 = 1000;
}

impl RateLimitConfig {
    pub const OFF: RateLimitConfig = RateLimitConfig {
        per_ip_per_minute: 0,
        per_account_per_minute: 0,
        login_failures_per_account_per_minute: 0,
        settings_writes_per_user_per_minute: 0,
        trust_forwarded_for: false,
        trusted_proxy_hops: 1,
    };
}

/// The operator's plan (contract section 13): its name, shown by `GET /user/quota`, and the limits
/// each organization is held to, enforced inside the transactions that create workspaces and
/// users. None: unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    pub plan_name: String,
    /// Live (not deleted) workspaces an organization may hold.
    pub max_workspaces_per_org: Option<u32>,
    /// Active (not deleted) users an organization may hold.
    pub max_users_per_org: Option<u32>,
}

/// The plan's name unless `--plan-name` says otherwise.
pub const DEFAULT_PLAN_NAME: &str = "Self-hosted";

impl Default for Quotas {
    /// No limits, under the default plan name.
    fn default() -> Self {
        Quotas {
            plan_name: DEFAULT_PLAN_NAME.to_owned(),
            max_workspaces_per_org: None,
            max_users_per_org: None,
        }
    }
}

/// Contract section 4: a session ends at the latest 90 days after its login.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// Contract section 13: activation links and invitations live 7 days unless configured.
pub const DEFAULT_INVITATION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The issuer named in `otpauth://` URIs unless `--mfa-issuer` says otherwise.
pub const DEFAULT_MFA_ISSUER: &str = "Workspaces";

/// What one listener allows each connection, and how many connections it keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A connection must deliver a whole request head within this long of opening or of its
    /// previous answer, else it is closed. hyper starts the clock while the connection waits
    /// for the next request, so this is also how long a kept-alive connection may stay idle.
    pub header_read_timeout: Duration,
    /// Connections open at once. At the cap the listener stops accepting: new connections wait
    /// in the kernel's backlog until one closes (as Go's `netutil.LimitListener`), rather than
    /// being refused, so a burst is served late instead of failing.
    pub max_connections: usize,
}

impl Config {
    /// Defaults suitable for tests: port 0 on loopback, the given database.
    pub fn for_database(database_url: impl Into<String>) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            db_max_connections: 16,
            jwt_secret: None,
            jwt_secret_file: None,
            mfa_encryption_key: None,
            mfa_encryption_key_file: None,
            mfa_issuer: DEFAULT_MFA_ISSUER.to_owned(),
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            activation_link_lifetime: DEFAULT_INVITATION_LIFETIME,
            invitation_lifetime: DEFAULT_INVITATION_LIFETIME,
            registration: RegistrationPolicy::Open,
            quotas: Quotas::default(),
            // Off: a test drives a clean-up pass itself, or turns the task on.
            cleanup: None,
            event_retention: None,
            smtp_url: None,
            dev_mail_log: false,
            mail_from: "Workspaces <no-reply@localhost.localdomain>".to_owned(),
            public_url: None,
            shutdown_grace: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            cors_origins: Vec::new(),
            metrics_listen: None,
            console: true,
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(10),
                max_connections: 10_000,
            },
            // Tests sign up and log in many times from one address; rate-limit tests turn it on.
            rate_limits: RateLimitConfig::OFF,
            password_hash_threads: crate::auth::default_hash_threads(),
            password_hash_queue: crate::auth::DEFAULT_HASH_QUEUE,
            providers: ProvidersConfig::default(),
            webhooks: crate::webhooks::DispatchConfig::default(),
        }
    }
}

/// Hides the secrets of a URL: the password of `user:secret@host` and the value of any query
/// parameter whose name holds `password` (`?password=`, `?sslpassword=`: PostgreSQL takes both).
/// A URL with nothing to hide is answered unchanged; one that does not parse as a URL at all
/// is hidden whole if it might hold one, since where its secret is cannot be told.
pub fn redact_url(raw: &str) -> String {
    const HIDDEN: &str = "***";
    let Ok(mut url) = url::Url::parse(raw) else {
        let might_hold_a_secret = raw.contains('@') || raw.to_ascii_lowercase().contains("pass");
        return if might_hold_a_secret {
            "<unparsable URL>".to_owned()
        } else {
            raw.to_owned()
        };
    };
    let is_secret = |name: &str| name.to_ascii_lowercase().contains("password");
    let secret_query = url.query_pairs().any(|(name, _)| is_secret(&name));
    if url.password().is_none() && !secret_query {
        return raw.to_owned();
    }
    if url.password().is_some() {
        // Fails only for URLs that cannot have a password, and this one has one.
        let _ = url.set_password(Some(HIDDEN));
    }
    if secret_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_secret(&name) {
                    HIDDEN.into()
                } else {
                    value
                };
                (name.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // `***` is percent-encoded in the userinfo and the query; shown as typed, it reads better.
    url.to_string().replace("%2A%2A%2A", HIDDEN)
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
            .field(
                "mfa_encryption_key",
                &self.mfa_encryption_key.as_ref().map(|_| "<redacted>"),
            )
            .field("mfa_encryption_key_file", &self.mfa_encryption_key_file)
            .field("mfa_issuer", &self.mfa_issuer)
            .field("session_lifetime", &self.session_lifetime)
            .field("registration", &self.registration)
            .field("quotas", &self.quotas)
            .field("cleanup", &self.cleanup)
            .field("event_retention", &self.event_retention)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("dev_mail_log", &self.dev_mail_log)
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("request_timeout", &self.request_timeout)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("cors_origins", &self.cors_origins)
            .field("metrics_listen", &self.metrics_listen)
            .field("connections", &self.connections)
            .field("rate_limits", &self.rate_limits)
            .field("password_hash_threads", &self.password_hash_threads)
            .field("password_hash_queue", &self.password_hash_queue)
            .field("providers", &self.providers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, Config};

    #[test]
    fn debug_redacts_secrets() {
        let mut config = Config::for_database("postgres://app:hunter2@db/ws?password=sw0rdfish");
        config.jwt_secret = Some("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".into());
        config.smtp_url = Some("smtps://mail:pa55@smtp.example.com".into());
        config.mfa_encryption_key = Some("00aes00".repeat(9) + "0");
        config.providers.google = Some(super::providers::OidcClient {
            issuer: super::providers::GOOGLE_ISSUER.to_owned(),
            client_id: "client".to_owned(),
            client_secret: super::providers::ClientSecret::new("g00gle-secret"),
        });
        let printed = format!("{config:?}");
        for secret in [
            "hunter2",
            "sw0rdfish",
            "s3cr3t",
            "pa55",
            "00aes00",
            "g00gle-secret",
        ] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn a_url_without_secrets_is_unchanged() {
        for url in [
            "sqlite://workspaces.db",
            "sqlite:///var/lib/my workspaces.db?mode=rwc",
            "postgres://app@db:5432/ws?sslmode=disable",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn the_userinfo_password_is_hidden() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db/ws"),
            "postgres://app:***@db/ws"
        );
        assert_eq!(
            redact_url("smtps://mail:p%40ss@smtp.example.com"),
            "smtps://mail:***@smtp.example.com"
        );
    }

    #[test]
    fn password_query_parameters_are_hidden() {
        assert_eq!(
            redact_url("postgres://nobody@127.0.0.1:1/x?password=hunter2"),
            "postgres://nobody@127.0.0.1:1/x?password=***"
        );
        assert_eq!(
            redact_url("postgres://u:a@h/x?sslmode=require&PassWord=b&sslpassword=c"),
            "postgres://u:***@h/x?sslmode=require&PassWord=***&sslpassword=***"
        );
    }

    #[test]
    fn an_unparsable_url_is_hidden_whole() {
        assert_eq!(
            redact_url("postgres://u:hunter2@[bad/x"),
            "<unparsable URL>"
        );
        assert_eq!(redact_url("workspaces.db"), "workspaces.db");
    }
}

/// Who may register a new organization with `POST /user/register` (contract section 13).
/// Adding users to an existing organization (`POST /organization/users`) works under every
/// policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegistrationPolicy {
    /// Anyone who reaches the server.
    Open,
    /// Only through an activation link: `register` answers 403 `REGISTRATION_INVITE_ONLY`.
    InviteOnly,
    /// Nobody: `register` answers 403 `REGISTRATION_CLOSED`.
    Closed,
}
