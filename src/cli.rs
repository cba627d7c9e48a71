//! The command line. Every flag can also be set by a `WORKSPACES_*` environment variable.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConnectionLimits, RateLimitConfig};
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
    /// Run the HTTP server (applies pending migrations first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
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
    /// the database, so every instance on that database shares it.
    #[arg(long, env = "WORKSPACES_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

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

    /// Base URL of the web app, for links in e-mails (e.g. https://app.example.com).
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
    /// Each must be a scheme and host (https://app.example.com); `*` and `null` are refused.
    #[arg(long, env = "WORKSPACES_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,

    /// Serve GET /metrics on this address only (e.g. 127.0.0.1:9090), not on --listen.
    #[arg(long, env = "WORKSPACES_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Login, register, verify, refresh and reset requests per minute per client address (0: off).
    #[arg(long, env = "WORKSPACES_RATE_LIMIT_PER_IP", default_value_t = 60)]
    pub rate_limit_per_ip: u32,

    /// The same requests per minute per account (e-mail or presented token) (0: off).
    #[arg(long, env = "WORKSPACES_RATE_LIMIT_PER_ACCOUNT", default_value_t = 10)]
    pub rate_limit_per_account: u32,

    /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
    #[arg(long, env = "WORKSPACES_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Threads hashing passwords (Argon2id, 19 MiB each). Default: half the cores, at least 1.
    #[arg(long, env = "WORKSPACES_PASSWORD_HASH_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub password_hash_threads: Option<u16>,
}

impl ServeArgs {
    pub fn into_config(self, database_url: String) -> Config {
        Config {
            listen: self.listen,
            database_url,
            db_max_connections: self.db_max_connections,
            jwt_secret: self.jwt_secret,
            smtp_url: self.smtp_url,
            dev_mail_log: self.dev_mail_log,
            mail_from: self.mail_from,
            public_url: self.public_url,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            cors_origins: self.cors_origin,
            metrics_listen: self.metrics_listen,
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            },
            rate_limits: RateLimitConfig {
                per_ip_per_minute: self.rate_limit_per_ip,
                per_account_per_minute: self.rate_limit_per_account,
                trust_forwarded_for: self.trust_forwarded_for,
            },
            password_hash_threads: self
                .password_hash_threads
                .map_or_else(crate::auth::default_hash_threads, usize::from),
        }
    }
}
