//! Starting a server per test: `TestApp`, the server under test and the test's handles on it,
//! and the mailer that keeps what the server sends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use workspaces::app::Application;
use workspaces::config::Config;
use workspaces::mail::{Mailer, OutgoingEmail};

use crate::support::database::fresh::{fresh_migrated_database, Place};
use crate::support::database::Db;

/// Database connections of each test server: enough for the concurrency tests, few enough that
/// a run with one test thread per core stays far below PostgreSQL's `max_connections`.
pub const TEST_POOL_SIZE: u32 = 4;

/// How long a test waits for something the server does after answering (an e-mail sent from a
/// spawned task) before it fails.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps every e-mail the server sends, so tests can read tokens and wait for a mail to arrive.
pub struct CapturingMailer {
    sent: watch::Sender<Vec<OutgoingEmail>>,
}

impl Default for CapturingMailer {
    fn default() -> Self {
        CapturingMailer {
            sent: watch::Sender::new(Vec::new()),
        }
    }
}

#[async_trait]
impl Mailer for CapturingMailer {
    async fn send(&self, email: OutgoingEmail) -> anyhow::Result<()> {
        self.sent.send_modify(|sent| sent.push(email));
        Ok(())
    }
}

impl CapturingMailer {
    /// Every e-mail sent so far, oldest first.
    pub fn all(&self) -> Vec<OutgoingEmail> {
        self.sent.borrow().clone()
    }

    pub fn count(&self) -> usize {
        self.sent.borrow().len()
    }

    pub fn to(&self, address: &str) -> Vec<OutgoingEmail> {
        self.sent
            .borrow()
            .iter()
            .filter(|m| m.to == address)
            .cloned()
            .collect()
    }

    /// Waits until the e-mails sent so far satisfy `done`; fails the test after a timeout.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[OutgoingEmail]) -> bool) {
        let mut sent = self.sent.subscribe();
        let waited = tokio::time::timeout(EVENT_TIMEOUT, sent.wait_for(|sent| done(sent))).await;
        match waited {
            Ok(result) => drop(result.expect("the mailer lives as long as the app")),
            Err(_) => panic!(
                "no {what} within {EVENT_TIMEOUT:?}; sent: {:?}",
                self.all()
                    .iter()
                    .map(|m| (&m.to, &m.subject))
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// The token of the last verification e-mail sent to `address`.
    pub fn last_verification_token(&self, address: &str) -> String {
        self.last_token(address, "Verification token")
    }

    /// The token on the `{label}: ` line of the last e-mail sent to `address`.
    pub fn last_token(&self, address: &str, label: &str) -> String {
        let mails = self.to(address);
        let mail = mails
            .last()
            .unwrap_or_else(|| panic!("no e-mail was sent to {address}"));
        let prefix = format!("{label}: ");
        mail.body
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("the e-mail carries no {label}: {}", mail.body))
            .to_owned()
    }
}

/// A server under test, started on a fresh database, and the test's handles on it. Dropping it
/// drops its database.
pub struct TestApp {
    pub address: String,
    /// `http://ADDR` of the metrics listener, when the test configured one.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub mailer: Arc<CapturingMailer>,
    pub db: Db,
    pub database_url: String,
    /// Where its database lives ([`Place`]).
    pub(crate) place: Place,
}

/// The configuration every test server starts from.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::for_database(database_url);
    config.db_max_connections = TEST_POOL_SIZE;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let mailer = Arc::new(CapturingMailer::default());
    spawn_app_mailing(configure, mailer.clone(), mailer).await
}

/// A server that sends its e-mail through SMTP to `smtp_url` (the test's `mailer` stays empty).
pub async fn spawn_app_with_smtp(smtp_url: &str) -> TestApp {
    let smtp = workspaces::mail::SmtpMailer::new(smtp_url, "Workspaces <no-reply@example.com>")
        .expect("a valid SMTP URL");
    spawn_app_mailing(|_| {}, Arc::new(smtp), Arc::default()).await
}

async fn spawn_app_mailing(
    configure: impl FnOnce(&mut Config),
    server_mailer: Arc<dyn workspaces::mail::Mailer>,
    mailer: Arc<CapturingMailer>,
) -> TestApp {
    let (url, place) = fresh_migrated_database().await;
    spawn_app_at(url, place, configure, server_mailer, mailer).await
}

/// A server on a new SQLite file at `file` (in a directory the test prepared, e.g. a small
/// filesystem of its own), which goes with `dir`.
pub async fn spawn_app_on_sqlite_file(dir: tempfile::TempDir, file: std::path::PathBuf) -> TestApp {
    let url = format!("sqlite://{}", file.display());
    let mailer = Arc::new(CapturingMailer::default());
    let place = Place::Sqlite { dir, file };
    spawn_app_at(url, place, |_| {}, mailer.clone(), mailer).await
}

async fn spawn_app_at(
    url: String,
    place: Place,
    configure: impl FnOnce(&mut Config),
    server_mailer: Arc<dyn workspaces::mail::Mailer>,
    mailer: Arc<CapturingMailer>,
) -> TestApp {
    let mut config = test_config(&url);
    configure(&mut config);
    let app = Application::build_with_mailer(config, server_mailer)
        .await
        .expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app
        .metrics_addr()
        .map(|addr| format!("http://{}", addr.unwrap()));
    tokio::spawn(app.run_until(std::future::pending()));
    // Opened after the server created the database and applied its migrations.
    let db = match &place {
        Place::Sqlite { file, .. } => {
            let conn = Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            Db::Sqlite(Arc::new(Mutex::new(conn)))
        }
        Place::Postgres { .. } => Db::Postgres(
            PgPoolOptions::new()
                .max_connections(2)
                .connect(&url)
                .await
                .unwrap(),
        ),
    };
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        mailer,
        db,
        database_url: url,
        place,
    }
}

/// Starts another server instance, in this process, on `app`'s database; its base URL.
pub async fn second_instance(app: &TestApp) -> String {
    second_instance_with(app, |_| {}).await
}

/// [`second_instance`], configured by `configure` (e.g. another registration policy).
pub async fn second_instance_with(app: &TestApp, configure: impl FnOnce(&mut Config)) -> String {
    let mut config = test_config(&app.database_url);
    configure(&mut config);
    let second = Application::build_with_mailer(config, Arc::new(CapturingMailer::default()))
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until(std::future::pending()));
    address
}
