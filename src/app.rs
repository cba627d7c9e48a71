//! Building and running the server: choose the mailer, connect the store, apply migrations,
//! resolve the signing key, bind the listeners (port 0 works), serve until SIGINT/SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::auth::providers::Providers;
use crate::auth::{
    new_token, read_secret_file, JwtKeys, LinkKey, MfaConfig, PasswordHasher, RelyingParty,
};
use crate::config::{redact_url, CleanupConfig, Config, ConnectionLimits, RetentionConfig};
use crate::domain::email_key;
use crate::http::{metrics_router, router, AppState, Metrics, Services, Throttle};
use crate::mail::{LogMailer, Mailer, SmtpMailer};
use crate::server;
use crate::store::{self, SharedStore, StoreOptions};

/// The settings key under which a generated JWT secret is kept.
const JWT_SECRET_SETTING: &str = "jwt_secret";
/// HS256 wants a key at least as long as its output (RFC 7518 section 3.2).
const MIN_JWT_SECRET_BYTES: usize = 32;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// `--metrics-listen`: its listener and the router serving `/metrics` alone.
    metrics: Option<(TcpListener, axum::Router)>,
    store: SharedStore,
    shutdown_grace: Duration,
    cleanup: Option<CleanupConfig>,
    event_retention: Option<RetentionConfig>,
    connections: ConnectionLimits,
    /// What `GET /metrics` reports, for the background tasks to count in.
    counters: Arc<Metrics>,
    webhooks: Arc<crate::webhooks::Webhooks>,
}

impl Application {
    /// Builds the server with the mailer the configuration names: SMTP, or else the log, which
    /// is refused unless the server listens on loopback only or `--dev-mail-log` is given.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let mailer: Arc<dyn Mailer> = match &config.smtp_url {
            Some(url) => Arc::new(SmtpMailer::new(url, &config.mail_from)?),
            None => {
                // The log then holds every verification and reset token: whoever reads it can
                // take over any account. Fine on a developer's machine, where only they can
                // reach the server; anywhere else it must be asked for by name.
                if !(config.dev_mail_log || config.listen.ip().to_canonical().is_loopback()) {
                    anyhow::bail!(
                        "no --smtp-url: e-mails, with their verification and password-reset \
                         tokens, would be written to the log while listening on {}. Set \
                         --smtp-url (WORKSPACES_SMTP_URL), or listen on a loopback address, \
                         or pass --dev-mail-log (WORKSPACES_DEV_MAIL_LOG) to accept that \
                         whoever reads the log can take over any account",
                        config.listen
                    );
                }
                tracing::warn!(
                    "NO SMTP CONFIGURED: E-MAILS ARE WRITTEN TO THE LOG, with their verification \
                     and password-reset tokens; whoever reads the log can take over any account. \
                     For development only: set --smtp-url in production"
                );
                Arc::new(LogMailer)
            }
        };
        Self::build_with_mailer(config, mailer).await
    }

    /// Builds the server with a given mailer (tests capture e-mails this way).
    pub async fn build_with_mailer(
        config: Config,
        mailer: Arc<dyn Mailer>,
    ) -> anyhow::Result<Application> {
        let store = open_store(&config).await?;
        let secret = jwt_secret(&config, &store).await?;
        let mfa = mfa_config(&config, secret.as_bytes())?;
        let link_key = link_key(&config, &secret, &store)?;
        // Bound before the state is built: WebAuthn's relying party is the public URL, whose
        // default is the port bound (connections wait in the backlog until serving starts).
        let listener = bind(config.listen).await?;
        let relying_party = relying_party(&config, &listener)?;
        let webhooks = crate::webhooks::Webhooks::new(mfa.secret_box.clone(), config.webhooks);
        let state = AppState::new(Services {
            store: store.clone(),
            keys: JwtKeys::new(secret.as_bytes()),
            hasher: PasswordHasher::new(config.password_hash_threads, config.password_hash_queue)
                .await?,
            mailer,
            public_url: config.public_url.as_deref().map(Arc::from),
            listen_url: std::sync::OnceLock::new(),
            metrics: Metrics::new(),
            session_lifetime_ms: millis(config.session_lifetime),
            registration: config.registration,
            quotas: config.quotas.clone(),
            link_key,
            activation_link_ttl_ms: millis(config.activation_link_lifetime),
            invitation_ttl_ms: millis(config.invitation_lifetime),
            throttle: Arc::new(Throttle::new(config.rate_limits)),
            mfa: Arc::new(mfa),
            relying_party: Arc::new(relying_party),
            providers: Arc::new(
                Providers::new(&config.providers).context("setting up the identity providers")?,
            ),
            webhooks: webhooks.clone(),
        });
        // The default public URL's port, for the links the sign-in flow builds.
        if let Ok(addr) = listener.local_addr() {
            let _ = state
                .listen_url
                .set(format!("http://localhost:{}", addr.port()));
        }
        // Built before serving: once serving starts, only accepting is left (building the router
        // also generates the OpenAPI document, which takes a moment).
        let router = router(state.clone(), &config)?;
        let counters = state.metrics.clone();
        let metrics = match config.metrics_listen {
            Some(addr) => Some((bind(addr).await?, metrics_router(state))),
            None => None,
        };
        Ok(Application {
            listener,
            router,
            metrics,
            store,
            shutdown_grace: config.shutdown_grace,
            cleanup: config.cleanup,
            event_retention: config.event_retention,
            connections: config.connections,
            counters,
            webhooks,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or_default()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `GET /metrics` is served on, when it has a listener of its own.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics
            .as_ref()
            .map(|(listener, _)| listener.local_addr())
    }

    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting connections and lets in-flight
    /// requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()?).await
    }

    /// Serves until `signal` completes, then stops accepting connections and waits for in-flight
    /// requests, at most the configured grace period.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, backend = self.store.backend(), "listening");
        // Stops with the server (dropping the guard aborts the task).
        let _cleanup = self.cleanup.map(|config| {
            AbortOnDrop(tokio::spawn(crate::cleanup::run(
                self.store.clone(),
                config,
            )))
        });
        let _retention = self.event_retention.map(|config| {
            AbortOnDrop(tokio::spawn(crate::cleanup::prune_events(
                self.store.clone(),
                config,
                self.counters.clone(),
            )))
        });
        // The dispatcher: never on a request's path. Its lease owner id is kept here, to hand
        // its leases back when the server stops.
        let dispatcher = self.webhooks.config.enabled.then(|| {
            let owner = uuid::Uuid::now_v7();
            let task = AbortOnDrop(tokio::spawn(crate::webhooks::run(
                self.store.clone(),
                self.webhooks.clone(),
                self.counters.clone(),
                owner,
            )));
            (owner, task)
        });
        let graceful = GracefulShutdown::new();
        let limits = self.connections;
        let metrics = async {
            match self.metrics {
                Some((listener, router)) => {
                    tracing::info!(addr = %listener.local_addr()?, "serving metrics");
                    server::serve(listener, router, limits, &graceful).await;
                    Ok::<(), std::io::Error>(())
                }
                None => std::future::pending().await,
            }
        };
        // Both listeners are dropped, so closed, once the signal comes.
        tokio::select! {
            () = signal => {}
            () = server::serve(self.listener, self.router, limits, &graceful) => {}
            result = metrics => result?,
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(self.shutdown_grace) => {
                tracing::warn!("grace period over; exiting with requests still in flight");
            }
        }
        if let Some((owner, task)) = dispatcher {
            task.stop().await;
            // The webhooks this instance was delivering for are free at once, not when their
            // leases run out (30 s): another instance, or this one restarted, resumes them. An
            // interrupted delivery is sent again (at least once; `webhook-id` deduplicates).
            let release = self.store.release_webhook_leases(owner);
            match tokio::time::timeout(Duration::from_secs(2), release).await {
                Ok(Ok(released)) if released > 0 => {
                    tracing::info!(released, "webhook leases handed back");
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "handing webhook leases back failed"),
                Err(_) => tracing::warn!("handing webhook leases back timed out"),
            }
        }
        Ok(())
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    /// Aborts the task and waits until it is gone.
    async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The HS256 secret: `--jwt-secret`, or the key file, or else the one generated once and kept in
/// the database (so restarts and every instance on the database accept the same tokens). A copy
/// of the database then holds the key, but no session a token could be forged for
/// (`auth::SessionSecret`); production still sets its own key, kept out of the database.
async fn jwt_secret(config: &Config, store: &SharedStore) -> anyhow::Result<String> {
    let (secret, flag) = match (&config.jwt_secret, &config.jwt_secret_file) {
        (Some(secret), _) => (secret.clone(), "--jwt-secret"),
        (None, Some(path)) => (read_secret_file(path)?, "--jwt-secret-file"),
        (None, None) => {
            return store
                .setting_or_insert(JWT_SECRET_SETTING, &new_token())
                .await
                .context("reading the JWT secret from the database");
        }
    };
    if secret.len() < MIN_JWT_SECRET_BYTES {
        anyhow::bail!("{flag} must be at least {MIN_JWT_SECRET_BYTES} bytes");
    }
    Ok(secret)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The key of activation links (`auth::LinkKey`, which says why it must not come from the
/// database): from a configured JWT secret, else the key file beside a SQLite database, else
/// none (PostgreSQL with the generated JWT secret: the link routes answer 503).
fn link_key(
    config: &Config,
    jwt_secret: &str,
    store: &SharedStore,
) -> anyhow::Result<Option<LinkKey>> {
    if config.jwt_secret.is_some() || config.jwt_secret_file.is_some() {
        return Ok(Some(LinkKey::derived_from(jwt_secret.as_bytes())));
    }
    match store.sqlite_file() {
        Some(database) => LinkKey::from_file_or_new(&LinkKey::file_beside(database)).map(Some),
        None => Ok(None),
    }
}

/// The keys sealing TOTP secrets and hashing backup codes (from `--mfa-encryption-key`, or its
/// file, or else from the JWT secret) and the issuer. A malformed key stops the start, without
/// the key in the message.
fn mfa_config(config: &Config, signing_secret: &[u8]) -> anyhow::Result<MfaConfig> {
    let key = match (&config.mfa_encryption_key, &config.mfa_encryption_key_file) {
        (Some(key), _) => Some(key.clone()),
        (None, Some(path)) => Some(read_secret_file(path)?),
        (None, None) => None,
    };
    MfaConfig::new(key.as_deref(), signing_secret, &config.mfa_issuer)
}

/// WebAuthn's relying party (contract section 14): `--public-url`, else `http://localhost:PORT`
/// of the port bound, named `--mfa-issuer`.
fn relying_party(config: &Config, listener: &TcpListener) -> anyhow::Result<RelyingParty> {
    let url = match &config.public_url {
        Some(url) => url.clone(),
        None => format!("http://localhost:{}", listener.local_addr()?.port()),
    };
    RelyingParty::new(&url, &config.mfa_issuer)
        .with_context(|| format!("--public-url {url} has no host for WebAuthn's relying party"))
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// Connects to the configured database, applies pending migrations and brings stored e-mail keys
/// up to the key function in force (`domain::email_key`).
pub async fn open_store(config: &Config) -> anyhow::Result<SharedStore> {
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        ..StoreOptions::default()
    };
    let store = store::connect(&config.database_url, &options)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&config.database_url)))?;
    store.migrate().await.context("applying migrations")?;
    let rekeyed = store
        .rekey_emails(email_key)
        .await
        .context("updating e-mail keys")?;
    if rekeyed.updated > 0 {
        tracing::info!(accounts = rekeyed.updated, "e-mail keys updated");
    }
    for user_id in &rekeyed.conflicts {
        // Not fatal: one account of two that now read as the same address should not keep the
        // whole service down. The other one keeps the address; this one needs an operator.
        tracing::warn!(%user_id, "this account's e-mail address now reads as another account's; it cannot log in by e-mail until one of them is changed");
    }
    Ok(store)
}

/// Starts listening for SIGINT and SIGTERM at once (so a signal that arrives while the server is
/// still starting is not lost) and returns a future that completes at the first of them.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}

/// Elsewhere only Ctrl-C exists.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}
