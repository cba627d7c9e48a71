//! The command line. Every flag can also be set by a `WORKSPACES_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::providers::{self, ProviderFlags};
use crate::config::{
    CleanupConfig, Config, ConnectionLimits, Quotas, RateLimitConfig, RetentionConfig,
};
use crate::domain::OrgId;
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "workspaces",
    version,
    about = "Self-hostable server for the Flashback Workspace API"
)]
pub struct Cli {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "WORKSPACES_DATABASE_URL",
        default_value = "sqlite://workspaces.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Log format.
    #[arg(long, global = true, env = "WORKSPACES_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // Boxed: its flags make it far larger than the other commands.
    /// Run the HTTP server (applies pending migrations first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage the administrators of this server (they manage activation links).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Read the audit trail (system events).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Write events to standard output as JSON lines, oldest first (by id), streaming.
    Export {
        /// Only this organization's events.
        #[arg(long, value_parser = parse_org)]
        org: Option<OrgId>,
        /// Only events at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
    },
}

fn parse_org(raw: &str) -> Result<OrgId, String> {
    OrgId::parse(raw).ok_or_else(|| format!("not an organization id (a UUID): {raw}"))
}

/// Unix ms of an RFC 3339 timestamp.
fn parse_time(raw: &str) -> Result<i64, String> {
    crate::clock::parse_rfc3339(raw).ok_or_else(|| format!("not an RFC 3339 timestamp: {raw}"))
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make the account with this e-mail an administrator of this server.
    Grant {
        /// The account's e-mail address (case-insensitive).
        email: String,
    },
    /// Make the account with this e-mail no longer an administrator of this server.
    Revoke {
        /// The account's e-mail address (case-insensitive).
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Mark the account with this e-mail as verified (for operators and scripts).
    Verify {
        /// The account's e-mail address (case-insensitive).
        email: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port). The bound address is printed on
    /// standard output as `listening on http://ADDR`.
    #[arg(long, env = "WORKSPACES_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Maximum pooled database connections (readers, on SQLite).
    #[arg(long, env = "WORKSPACES_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// HS256 secret for access tokens, at least 32 bytes. Default: generated once and stored in
    /// the database, so every instance on that database shares it (set this, or
    /// --jwt-secret-file, in production).
    #[arg(long, env = "WORKSPACES_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// A file holding the HS256 secret (at least 32 bytes; a trailing line break is ignored). It
    /// must not be accessible to its group or others (chmod 600).
    #[arg(
        long,
        env = "WORKSPACES_JWT_SECRET_FILE",
        conflicts_with = "jwt_secret"
    )]
    pub jwt_secret_file: Option<PathBuf>,

    /// AES-256 key sealing the TOTP secrets in the database: 32 bytes as 64 hex digits or base64
    /// (e.g. `openssl rand -hex 32`). Default: derived from the JWT secret, so whoever holds that
    /// can read them, and changing it (or this key) makes enrolled TOTP unusable until re-enrolled.
    #[arg(long, env = "WORKSPACES_MFA_ENCRYPTION_KEY", hide_env_values = true)]
    pub mfa_encryption_key: Option<String>,

    /// A file holding that key (a trailing line break is ignored). It must not be accessible to
    /// its group or others (chmod 600).
    #[arg(
        long,
        env = "WORKSPACES_MFA_ENCRYPTION_KEY_FILE",
        conflicts_with = "mfa_encryption_key"
    )]
    pub mfa_encryption_key_file: Option<PathBuf>,

    /// The issuer authenticator apps show beside the account's TOTP codes (no colon).
    #[arg(long, env = "WORKSPACES_MFA_ISSUER", default_value = crate::config::DEFAULT_MFA_ISSUER)]
    pub mfa_issuer: String,

    /// Days after its login at which a session ends, however often it refreshes.
    #[arg(long, env = "WORKSPACES_SESSION_LIFETIME_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_lifetime_days: u32,

    /// Days an activation link stays usable (an instance administrator's invitation to register
    /// a new organization).
    #[arg(long, env = "WORKSPACES_ACTIVATION_LINK_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub activation_link_days: u32,

    /// Days the e-mailed invitation of a user added to an organization stays usable.
    #[arg(long, env = "WORKSPACES_INVITATION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub invitation_days: u32,

    /// Who may register a new organization: `open` (anyone), `invite-only` (only through an
    /// activation link) or `closed`. Adding users to an existing organization works under all.
    #[arg(long, env = "WORKSPACES_REGISTRATION", value_enum, default_value_t = crate::config::RegistrationPolicy::Open)]
    pub registration: crate::config::RegistrationPolicy,

    /// The name of the plan `GET /user/quota` shows.
    #[arg(long, env = "WORKSPACES_PLAN_NAME", default_value = crate::config::DEFAULT_PLAN_NAME)]
    pub plan_name: String,

    /// Live workspaces each organization may hold; past it, creating one answers 403
    /// `QUOTA_EXCEEDED`. Default: unlimited.
    #[arg(long, env = "WORKSPACES_MAX_WORKSPACES_PER_ORG", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_workspaces_per_org: Option<u32>,

    /// Active users each organization may hold; past it, adding or re-activating one answers
    /// 403 `QUOTA_EXCEEDED`. Default: unlimited.
    #[arg(long, env = "WORKSPACES_MAX_USERS_PER_ORG", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_users_per_org: Option<u32>,

    /// Seconds between two passes of the clean-up of expired sessions, tokens and abandoned
    /// accounts (0: no clean-up).
    #[arg(long, env = "WORKSPACES_CLEANUP_INTERVAL_SECS", default_value_t = 3600)]
    pub cleanup_interval_secs: u64,

    /// Days an expired or revoked row is kept before the clean-up deletes it.
    #[arg(long, env = "WORKSPACES_CLEANUP_GRACE_DAYS", default_value_t = 7)]
    pub cleanup_grace_days: u32,

    /// Days after which a self-registered account that never verified its e-mail is deleted
    /// with its organization (0: never).
    #[arg(long, env = "WORKSPACES_UNVERIFIED_ACCOUNT_DAYS", default_value_t = 30)]
    pub unverified_account_days: u32,

    /// Days system events are kept; older ones are deleted in the background, in small batches.
    /// Default: kept forever.
    #[arg(long, env = "WORKSPACES_EVENT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub event_retention_days: Option<u32>,

    /// Events each delete statement of the retention removes at most; a pass runs as many as its
    /// backlog needs, pausing briefly between them so that requests' writes go first. Smaller:
    /// shorter locks; larger: fewer statements.
    #[arg(long, env = "WORKSPACES_EVENT_RETENTION_BATCH", default_value_t = crate::config::RetentionConfig::BATCH, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub event_retention_batch: u32,

    /// SMTP relay, e.g. smtps://user:pass@smtp.example.com. Without it, e-mails (their tokens
    /// included) are written to the log, which the server allows only on a loopback --listen
    /// address or with --dev-mail-log.
    #[arg(long, env = "WORKSPACES_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Without --smtp-url, write e-mails to the log even when listening on a public address.
    /// Development only: whoever reads the log can take over any account.
    #[arg(long, env = "WORKSPACES_DEV_MAIL_LOG")]
    pub dev_mail_log: bool,

    /// Sender of outgoing e-mail.
    #[arg(
        long,
        env = "WORKSPACES_MAIL_FROM",
        default_value = "Workspaces <no-reply@localhost.localdomain>"
    )]
    pub mail_from: String,

    /// The address people reach the server at (e.g. `https://work.example.com`): e-mailed
    /// links point at its console pages. Default: `http://localhost:PORT` of --listen (none when
    /// that port is 0, chosen at start).
    #[arg(long, env = "WORKSPACES_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Seconds SIGTERM waits for in-flight requests before exiting anyway.
    #[arg(long, env = "WORKSPACES_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// Seconds after which a request answers 408.
    #[arg(long, env = "WORKSPACES_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Requests served at once; beyond it the server answers 503 at once.
    #[arg(
        long,
        env = "WORKSPACES_MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024
    )]
    pub max_concurrent_requests: usize,

    /// Seconds a connection has to send a whole request header, from when it opens or from its
    /// previous answer (so also how long a kept-alive connection may idle); then it is closed.
    #[arg(long, env = "WORKSPACES_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,

    /// Connections open at once (per listener); beyond it new connections wait to be accepted.
    #[arg(long, env = "WORKSPACES_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,

    /// Browser origin allowed to call the API (CORS); repeat or comma-separate. Default: none.
    /// Each must be a scheme and host (`https://app.example.com`); `*` and `null` are refused.
    #[arg(long, env = "WORKSPACES_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,

    /// Do not serve the web console (`/console/`); `GET /` then answers 404.
    #[arg(long, env = "WORKSPACES_NO_CONSOLE")]
    pub no_console: bool,

    /// Allow webhook URLs that resolve to loopback, private, link-local or other non-public
    /// addresses (tests, private networks). Default: refused at creation and at every delivery.
    #[arg(long, env = "WORKSPACES_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: bool,

    /// Allow `http` webhook URLs. Default: `https` only.
    #[arg(long, env = "WORKSPACES_WEBHOOKS_ALLOW_HTTP")]
    pub webhooks_allow_http: bool,

    /// Deliver no webhooks from this instance (the others sharing the database do).
    #[arg(long, env = "WORKSPACES_NO_WEBHOOK_DISPATCH")]
    pub no_webhook_dispatch: bool,

    /// Milliseconds between two looks of the webhook dispatcher at the database.
    #[arg(long, env = "WORKSPACES_WEBHOOKS_POLL_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub webhooks_poll_ms: u64,

    /// Tests only: every webhook retry waits this many milliseconds instead of the schedule.
    #[arg(long, hide = true)]
    pub webhooks_retry_delay_ms: Option<u64>,

    /// Serve GET /metrics on this address only (e.g. 127.0.0.1:9090), not on --listen.
    #[arg(long, env = "WORKSPACES_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Login, register, verify, refresh and reset requests per minute per client address (0: off).
    #[arg(long, env = "WORKSPACES_RATE_LIMIT_PER_IP", default_value_t = 60)]
    pub rate_limit_per_ip: u32,

    /// The same requests per minute per account (e-mail, token or verification id); also
    /// password-hashing requests per signed-in user, and failed logins per account and client
    /// address (0: off).
    #[arg(long, env = "WORKSPACES_RATE_LIMIT_PER_ACCOUNT", default_value_t = 10)]
    pub rate_limit_per_account: u32,

    /// Failed logins per minute per account from all client addresses together (0: off).
    #[arg(
        long,
        env = "WORKSPACES_RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT",
        default_value_t = 100
    )]
    pub rate_limit_login_failures_per_account: u32,

    /// Settings writes (POST, PUT, DELETE of /settings/*) per minute per signed-in user (0: off).
    #[arg(
        long,
        env = "WORKSPACES_RATE_LIMIT_SETTINGS_WRITES_PER_USER",
        default_value_t = 60
    )]
    pub rate_limit_settings_writes_per_user: u32,

    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "WORKSPACES_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// With --trust-forwarded-for: how many proxies append to X-Forwarded-For; the client is
    /// that many entries from the right (entries further left are the client's own).
    #[arg(long, env = "WORKSPACES_TRUSTED_PROXY_HOPS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub trusted_proxy_hops: u16,

    /// Threads hashing passwords (Argon2id, 19 MiB each). Default: half the cores, at least 1.
    #[arg(long, env = "WORKSPACES_PASSWORD_HASH_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub password_hash_threads: Option<u16>,

    /// Password hashing jobs that may wait for a thread; beyond, 503 at once.
    #[arg(long, env = "WORKSPACES_PASSWORD_HASH_QUEUE", default_value_t = crate::auth::DEFAULT_HASH_QUEUE as u32, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub password_hash_queue: u32,

    #[command(flatten)]
    pub providers: ProviderArgs,
}

/// Sign-in with identity providers (contract section 12). Each provider is on when its client
/// id and secret are given; the redirect URI to register with it is
/// `{public-url}/auth/oidc/{name}/callback`.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// Google OAuth client id (sign-in with Google).
    #[arg(long, env = "WORKSPACES_GOOGLE_CLIENT_ID")]
    pub google_client_id: Option<String>,

    /// Google OAuth client secret.
    #[arg(long, env = "WORKSPACES_GOOGLE_CLIENT_SECRET", hide_env_values = true)]
    pub google_client_secret: Option<String>,

    /// Google's OpenID Connect issuer (discovery at ISSUER/.well-known/openid-configuration).
    #[arg(long, env = "WORKSPACES_GOOGLE_ISSUER", default_value = providers::GOOGLE_ISSUER)]
    pub google_issuer: String,

    /// Microsoft Entra application (client) id (sign-in with Microsoft).
    #[arg(long, env = "WORKSPACES_MICROSOFT_CLIENT_ID")]
    pub microsoft_client_id: Option<String>,

    /// Microsoft Entra client secret.
    #[arg(
        long,
        env = "WORKSPACES_MICROSOFT_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub microsoft_client_secret: Option<String>,

    /// Microsoft tenant: a tenant id or domain, or `common`, `organizations`, `consumers`.
    #[arg(long, env = "WORKSPACES_MICROSOFT_TENANT", default_value = providers::MICROSOFT_TENANT)]
    pub microsoft_tenant: String,

    /// Microsoft's authority (the issuer is AUTHORITY/TENANT/v2.0).
    #[arg(long, env = "WORKSPACES_MICROSOFT_AUTHORITY", default_value = providers::MICROSOFT_AUTHORITY)]
    pub microsoft_authority: String,

    /// GitHub OAuth app client id (sign-in with GitHub).
    #[arg(long, env = "WORKSPACES_GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,

    /// GitHub OAuth app client secret.
    #[arg(long, env = "WORKSPACES_GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<String>,

    /// GitHub's web address (authorization and token endpoints; GitHub Enterprise: its own).
    #[arg(long, env = "WORKSPACES_GITHUB_URL", default_value = providers::GITHUB_URL)]
    pub github_url: String,

    /// GitHub's API address (the user's verified e-mail is read there).
    #[arg(long, env = "WORKSPACES_GITHUB_API_URL", default_value = providers::GITHUB_API_URL)]
    pub github_api_url: String,

    /// A generic OpenID Connect provider, `NAME,ISSUER,CLIENT_ID,CLIENT_SECRET` (repeatable;
    /// in the environment, separated by `;`). NAME: lower-case letters, digits and `-`.
    #[arg(
        long = "oidc-provider",
        env = "WORKSPACES_OIDC_PROVIDERS",
        value_delimiter = ';',
        hide_env_values = true
    )]
    pub oidc_providers: Vec<String>,
}

impl ProviderArgs {
    fn into_flags(self) -> ProviderFlags {
        ProviderFlags {
            google_client_id: self.google_client_id,
            google_client_secret: self.google_client_secret,
            google_issuer: self.google_issuer,
            microsoft_client_id: self.microsoft_client_id,
            microsoft_client_secret: self.microsoft_client_secret,
            microsoft_tenant: self.microsoft_tenant,
            microsoft_authority: self.microsoft_authority,
            github_client_id: self.github_client_id,
            github_client_secret: self.github_client_secret,
            github_url: self.github_url,
            github_api_url: self.github_api_url,
            oidc_providers: self.oidc_providers,
        }
    }
}

impl ServeArgs {
    /// The configuration; an error (naming the flag, never quoting a secret) for a malformed
    /// provider flag.
    pub fn into_config(self, database_url: String) -> anyhow::Result<Config> {
        let providers = self
            .providers
            .into_flags()
            .parse()
            .map_err(|why| anyhow::anyhow!(why))?;
        Ok(Config {
            listen: self.listen,
            database_url,
            db_max_connections: self.db_max_connections,
            jwt_secret: self.jwt_secret,
            jwt_secret_file: self.jwt_secret_file,
            mfa_encryption_key: self.mfa_encryption_key,
            mfa_encryption_key_file: self.mfa_encryption_key_file,
            mfa_issuer: self.mfa_issuer,
            session_lifetime: days(self.session_lifetime_days),
            activation_link_lifetime: days(self.activation_link_days),
            invitation_lifetime: days(self.invitation_days),
            registration: self.registration,
            quotas: Quotas {
                plan_name: self.plan_name,
                max_workspaces_per_org: self.max_workspaces_per_org,
                max_users_per_org: self.max_users_per_org,
            },
            cleanup: (self.cleanup_interval_secs > 0).then(|| CleanupConfig {
                interval: Duration::from_secs(self.cleanup_interval_secs),
                grace: days(self.cleanup_grace_days),
                unverified_account_ttl: (self.unverified_account_days > 0)
                    .then(|| days(self.unverified_account_days)),
            }),
            event_retention: self.event_retention_days.map(|n| RetentionConfig {
                keep: days(n),
                interval: RetentionConfig::INTERVAL,
                batch: self.event_retention_batch,
            }),
            smtp_url: self.smtp_url,
            dev_mail_log: self.dev_mail_log,
            mail_from: self.mail_from,
            public_url: self.public_url.or_else(|| {
                (self.listen.port() != 0)
                    .then(|| format!("http://localhost:{}", self.listen.port()))
            }),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            cors_origins: self.cors_origin,
            metrics_listen: self.metrics_listen,
            console: !self.no_console,
            webhooks: crate::webhooks::DispatchConfig {
                enabled: !self.no_webhook_dispatch,
                safety: crate::webhooks::Safety {
                    allow_http: self.webhooks_allow_http,
                    allow_private: self.webhooks_allow_private,
                },
                poll: Duration::from_millis(self.webhooks_poll_ms),
                retry_delay_override: self.webhooks_retry_delay_ms.map(Duration::from_millis),
            },
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            },
            rate_limits: RateLimitConfig {
                per_ip_per_minute: self.rate_limit_per_ip,
                per_account_per_minute: self.rate_limit_per_account,
                login_failures_per_account_per_minute: self.rate_limit_login_failures_per_account,
                settings_writes_per_user_per_minute: self.rate_limit_settings_writes_per_user,
                trust_forwarded_for: self.trust_forwarded_for,
                trusted_proxy_hops: usize::from(self.trusted_proxy_hops),
            },
            password_hash_threads: self
                .password_hash_threads
                .map_or_else(crate::auth::default_hash_threads, usize::from),
            password_hash_queue: self.password_hash_queue as usize,
            providers,
        })
    }
}

fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 24 * 60 * 60)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};
    use crate::config::Config;

    fn serve(args: &[&str]) -> Config {
        let cli = Cli::try_parse_from([&["workspaces", "serve"], args].concat()).unwrap();
        match cli.command {
            Command::Serve(serve) => serve.into_config(cli.database_url).unwrap(),
            _ => unreachable!("serve parses as serve"),
        }
    }

    #[test]
    fn events_are_kept_forever_unless_a_retention_is_given() {
        assert_eq!(serve(&[]).event_retention, None);
        let retention = serve(&["--event-retention-days", "30"])
            .event_retention
            .unwrap();
        assert_eq!(
            retention.keep,
            std::time::Duration::from_secs(30 * 24 * 60 * 60)
        );
        assert_eq!(retention.interval, crate::config::RetentionConfig::INTERVAL);
        assert_eq!(retention.batch, crate::config::RetentionConfig::BATCH);
        let zero = Cli::try_parse_from(["workspaces", "serve", "--event-retention-days", "0"]);
        assert!(zero.is_err());
        let small = serve(&[
            "--event-retention-days",
            "30",
            "--event-retention-batch",
            "50",
        ]);
        assert_eq!(small.event_retention.unwrap().batch, 50);
        for batch in ["0", "100001"] {
            let args = ["workspaces", "serve", "--event-retention-batch", batch];
            assert!(Cli::try_parse_from(args).is_err(), "{batch}");
        }
    }

    #[test]
    fn limit_and_hashing_flags_reach_the_config() {
        let defaults = serve(&[]);
        assert_eq!(defaults.rate_limits.trusted_proxy_hops, 1);
        assert_eq!(
            defaults.rate_limits.login_failures_per_account_per_minute,
            100
        );
        assert_eq!(
            defaults.password_hash_queue,
            crate::auth::DEFAULT_HASH_QUEUE
        );
        let set = serve(&[
            "--trust-forwarded-for",
            "--trusted-proxy-hops",
            "2",
            "--rate-limit-login-failures-per-account",
            "7",
            "--password-hash-queue",
            "5",
        ]);
        assert!(set.rate_limits.trust_forwarded_for);
        assert_eq!(set.rate_limits.trusted_proxy_hops, 2);
        assert_eq!(set.rate_limits.login_failures_per_account_per_minute, 7);
        assert_eq!(set.password_hash_queue, 5);
    }

    #[test]
    fn the_registration_policy_reaches_the_config() {
        use crate::config::RegistrationPolicy;
        assert_eq!(serve(&[]).registration, RegistrationPolicy::Open);
        let invite = serve(&["--registration", "invite-only"]);
        assert_eq!(invite.registration, RegistrationPolicy::InviteOnly);
        let closed = serve(&["--registration", "closed"]);
        assert_eq!(closed.registration, RegistrationPolicy::Closed);
    }

    #[test]
    fn the_plan_and_its_limits_reach_the_config() {
        let defaults = serve(&[]).quotas;
        assert_eq!(defaults, crate::config::Quotas::default());
        assert_eq!(defaults.plan_name, "Self-hosted");
        let set = serve(&[
            "--plan-name",
            "Team",
            "--max-workspaces-per-org",
            "10",
            "--max-users-per-org",
            "3",
        ])
        .quotas;
        assert_eq!(set.plan_name, "Team");
        assert_eq!(set.max_workspaces_per_org, Some(10));
        assert_eq!(set.max_users_per_org, Some(3));
        for flag in ["--max-workspaces-per-org", "--max-users-per-org"] {
            for refused in ["0", "-1", "many"] {
                let args = ["workspaces", "serve", flag, refused];
                assert!(Cli::try_parse_from(args).is_err(), "{flag} {refused}");
            }
        }
    }

    #[test]
    fn the_public_url_defaults_to_the_listen_port_on_localhost() {
        assert_eq!(
            serve(&[]).public_url.as_deref(),
            Some("http://localhost:8080")
        );
        let moved = serve(&["--listen", "0.0.0.0:9000"]);
        assert_eq!(moved.public_url.as_deref(), Some("http://localhost:9000"));
        assert_eq!(serve(&["--listen", "127.0.0.1:0"]).public_url, None);
        let set = serve(&["--public-url", "https://work.example.com"]);
        assert_eq!(set.public_url.as_deref(), Some("https://work.example.com"));
    }

    #[test]
    fn mfa_flags_reach_the_config() {
        let defaults = serve(&[]);
        assert_eq!(defaults.mfa_issuer, "Workspaces");
        assert_eq!(defaults.mfa_encryption_key, None);
        assert_eq!(defaults.mfa_encryption_key_file, None);
        let key = "ab".repeat(32);
        let set = serve(&["--mfa-issuer", "Acme", "--mfa-encryption-key", &key]);
        assert_eq!(set.mfa_issuer, "Acme");
        assert_eq!(set.mfa_encryption_key, Some(key.clone()));
        let from_file = serve(&["--mfa-encryption-key-file", "/run/mfa.key"]);
        assert_eq!(
            from_file.mfa_encryption_key_file,
            Some(std::path::PathBuf::from("/run/mfa.key"))
        );
        let both = Cli::try_parse_from([
            "workspaces",
            "serve",
            "--mfa-encryption-key",
            &key,
            "--mfa-encryption-key-file",
            "/run/mfa.key",
        ]);
        assert!(both.is_err());
    }
}
