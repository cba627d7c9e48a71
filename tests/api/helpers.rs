//! Starting a server per test, talking to it, looking into its database, and the few assertions
//! every test file shares.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Statement};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{watch, OnceCell};
use uuid::Uuid;
use workspaces::app::Application;
use workspaces::config::Config;
use workspaces::mail::{Mailer, OutgoingEmail};

use crate::schema;

pub const PASSWORD: &str = "Secret123";

/// The names of every user made with `TestApp::member` (registrations are named Ann Lee).
pub const MEMBER_FIRST_NAME: &str = "Mia";
pub const MEMBER_LAST_NAME: &str = "Stone";

/// Names that read other than they look (issue 15): a right-to-left override, a zero-width space,
/// a line separator and a paragraph separator, each between letters, where trimming cannot take
/// it away. Every field that holds a name refuses them.
pub fn names_with_hidden_characters() -> Vec<String> {
    ['\u{202E}', '\u{200B}', '\u{2028}', '\u{2029}']
        .iter()
        .map(|c| format!("Ann{c}Lee"))
        .collect()
}

/// A first name that would be an advertisement in a greeting.
pub const PHISHING_NAME: &str = "Visit http://evil.example now";

/// The whole body of a verification e-mail carrying `token`, without a public URL: it greets no
/// one by name, since the address is not verified yet.
pub fn verification_email_body(token: &str) -> String {
    format!(
        "Hello,\n\nPlease confirm your e-mail address to activate your account.\n\n\
         Verification token: {token}\n\n\
         The token is valid for 24 hours. If you did not sign up, ignore this message.\n"
    )
}

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

/// The test's own connection to the server's database, for asserting effects.
pub enum Db {
    /// rusqlite, as the server uses it: ids bind as 16-byte BLOBs. Queries run on the blocking
    /// pool, so waiting for the server's write lock never stalls the test's runtime.
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(PgPool),
}

/// Where a test's database lives, and what to clean up after it.
enum Place {
    Sqlite {
        dir: tempfile::TempDir,
        file: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

pub struct TestApp {
    pub address: String,
    /// `http://ADDR` of the metrics listener, when the test configured one.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub mailer: Arc<CapturingMailer>,
    pub db: Db,
    pub database_url: String,
    place: Place,
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
    let (url, place) = fresh_database().await;
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

/// A fresh database on the backend under test: its URL and where it lives.
async fn fresh_database() -> (String, Place) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL is set but PostgreSQL is not reachable");
            LEFTOVERS_DROPPED
                .get_or_init(|| drop_leftover_databases(&admin))
                .await;
            let name = test_database_name(unix_seconds(), &host_tag(), std::process::id());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let url = with_database(&admin_url, &name);
            (url, Place::Postgres { admin_url, name })
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("test.db");
            let url = format!("sqlite://{}", file.display());
            (url, Place::Sqlite { dir, file })
        }
    }
}

/// `postgres://u@h:5432/test?x=y` with the database swapped for `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Test databases are named `ws_test_{unix seconds}_{host tag}_{pid}_{random}`, so that a later
/// run can tell an aborted run's leftovers from the databases of a run still going.
const DATABASE_PREFIX: &str = "ws_test_";
/// No test runs this long: a test database older than this is a leftover, whoever made it.
const LEFTOVER_AGE_SECS: u64 = 6 * 60 * 60;

static LEFTOVERS_DROPPED: OnceCell<()> = OnceCell::const_new();

fn test_database_name(created: u64, host: &str, pid: u32) -> String {
    let random = Uuid::new_v4().simple().to_string();
    format!("{DATABASE_PREFIX}{created}_{host}_{pid}_{}", &random[..12])
}

pub fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

/// Unix milliseconds as an RFC 3339 UTC string, as the wire shows timestamps (written here, not
/// taken from the server, so a change of format on the wire fails a test).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Six hex digits naming this machine, so a process id is only compared on the machine that
/// owns it (several machines may share one PostgreSQL server).
fn host_tag() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    // FNV-1a: stable across runs and Rust versions, unlike `DefaultHasher`.
    let hash = host.trim().bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{:06x}", hash & 0x00ff_ffff)
}

fn process_is_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true // Unknown: keep the database until it is old enough.
    }
}

/// Whether the test database `name` is left over from an earlier run: older than any test runs,
/// or made on this machine by a process that has ended. Names of another shape (an older version
/// of this suite) are judged by `created`, their creation time if known.
fn is_leftover(
    name: &str,
    created: Option<u64>,
    now: u64,
    host: &str,
    alive: impl Fn(u32) -> bool,
) -> bool {
    let old = |created: u64| now.saturating_sub(created) > LEFTOVER_AGE_SECS;
    let fields: Vec<&str> = name
        .strip_prefix(DATABASE_PREFIX)
        .unwrap_or_default()
        .split('_')
        .collect();
    match fields[..] {
        [seconds, tag, pid, _random] => match (seconds.parse::<u64>(), pid.parse::<u32>()) {
            (Ok(seconds), Ok(pid)) => old(seconds) || (tag == host && !alive(pid)),
            _ => created.is_some_and(old),
        },
        _ => created.is_some_and(old),
    }
}

/// Drops the test databases earlier runs left behind (a run that was killed never reaches
/// `TestApp`'s drop). Best effort: a failure here must not fail the test that happens to run it.
async fn drop_leftover_databases(admin: &PgPool) {
    let names: Vec<String> = match sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'ws\\_test\\_%'",
    )
    .fetch_all(admin)
    .await
    {
        Ok(names) => names,
        Err(error) => return eprintln!("listing leftover test databases failed: {error}"),
    };
    let (now, host) = (unix_seconds(), host_tag());
    for name in names {
        // When the database directory was made; needs a superuser, else unknown.
        let created: Option<f64> = sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM (pg_stat_file('base/' || oid || '/PG_VERSION')).modification)::float8 \
             FROM pg_database WHERE datname = $1",
        )
        .bind(&name)
        .fetch_optional(admin)
        .await
        .ok()
        .flatten();
        if is_leftover(
            &name,
            created.map(|s| s as u64),
            now,
            &host,
            process_is_alive,
        ) {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(error) = sqlx::query(&drop).execute(admin).await {
                eprintln!("dropping leftover test database {name} failed: {error}");
            }
        }
    }
}

#[test]
fn only_old_databases_and_those_of_ended_processes_on_this_machine_are_leftovers() {
    let now = 1_700_000_000;
    let alive = |pid: u32| pid == 42;
    let name = |created: u64, host: &str, pid: u32| test_database_name(created, host, pid);
    let hour = 60 * 60;

    // A live process of this machine: never, unless older than any test runs.
    assert!(!is_leftover(
        &name(now, "aaaaaa", 42),
        None,
        now,
        "aaaaaa",
        alive
    ));
    assert!(!is_leftover(
        &name(now - 5 * hour, "aaaaaa", 42),
        None,
        now,
        "aaaaaa",
        alive
    ));
    assert!(is_leftover(
        &name(now - 7 * hour, "aaaaaa", 42),
        None,
        now,
        "aaaaaa",
        alive
    ));
    // An ended process of this machine: at once.
    assert!(is_leftover(
        &name(now, "aaaaaa", 7),
        None,
        now,
        "aaaaaa",
        alive
    ));
    // Another machine's process, which cannot be looked up from here: only when old.
    assert!(!is_leftover(
        &name(now, "bbbbbb", 7),
        None,
        now,
        "aaaaaa",
        alive
    ));
    assert!(is_leftover(
        &name(now - 7 * hour, "bbbbbb", 7),
        None,
        now,
        "aaaaaa",
        alive
    ));
    // The older naming (`ws_test_<uuid>`): by the creation time, never when unknown.
    let legacy = format!("{DATABASE_PREFIX}{}", Uuid::new_v4().simple());
    assert!(!is_leftover(&legacy, None, now, "aaaaaa", alive));
    assert!(!is_leftover(
        &legacy,
        Some(now - hour),
        now,
        "aaaaaa",
        alive
    ));
    assert!(is_leftover(
        &legacy,
        Some(now - 7 * hour),
        now,
        "aaaaaa",
        alive
    ));
}

impl TestApp {
    /// The SQLite database file, on that backend.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match &self.place {
            Place::Sqlite { file, .. } => Some(file),
            Place::Postgres { .. } => None,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.db, Db::Sqlite(_))
    }

    /// Takes the database away from the running server: on SQLite the file's directory goes,
    /// so nothing can open it again; on PostgreSQL the database is dropped, its connections
    /// (the server's included) terminated.
    pub async fn remove_database(&self) {
        match &self.place {
            Place::Sqlite { dir, .. } => std::fs::remove_dir_all(dir.path()).unwrap(),
            Place::Postgres { admin_url, name } => {
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(admin_url)
                    .await
                    .unwrap();
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
            }
        }
    }
}

/// Drops a test database, from a `Drop` impl: drop is synchronous, so the async clean-up runs on
/// a thread of its own.
pub fn drop_postgres_database(admin_url: String, name: String) {
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            if let Ok(admin) = PgPoolOptions::new()
                .max_connections(1)
                .connect(&admin_url)
                .await
            {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
            }
        });
    })
    .join();
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Place::Postgres { admin_url, name } = &self.place {
            drop_postgres_database(admin_url.clone(), name.clone());
        }
    }
}

/// An answer: status, headers and the body parsed as JSON (every answer must be JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.body))
            .to_owned()
    }
}

/// Asserts an answer's status (a `StatusCode` or its number) and its whole body.
#[track_caller]
pub fn assert_answer<S>(answer: &Answer, status: S, body: &Value)
where
    StatusCode: PartialEq<S>,
    S: Debug,
{
    assert!(
        answer.status == status,
        "status {} where {status:?} was expected: {}",
        answer.status,
        answer.body
    );
    assert_eq!(&answer.body, body, "the body of a {} answer", answer.status);
}

/// Asserts an error answer whole: its status and the envelope with `message` and `code`.
#[track_caller]
pub fn assert_error(answer: &Answer, status: u16, message: &str, code: &str) {
    assert_answer(answer, status, &error_body(message, code));
}

/// A 401 in our envelope with `WWW-Authenticate: Bearer`.
#[track_caller]
pub fn assert_unauthorized(answer: &Answer) {
    assert_answer(answer, StatusCode::UNAUTHORIZED, &unauthorized_body());
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

/// The error envelope a test expects, whole.
pub fn error_body(message: &str, code: &str) -> Value {
    json!({ "success": false, "message": message, "error_code": code })
}

pub fn unauthorized_body() -> Value {
    error_body("Unauthorized", "UNAUTHORIZED")
}

/// What every write answers a caller whose e-mail is not verified (contract section 4).
pub fn not_validated_body() -> Value {
    error_body(
        "User not found or account is not validated",
        "USER_NOT_VALIDATED",
    )
}

/// What a registration or an organization-user creation produced, for use in later requests.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub user_id: String,
    pub org_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub token_id: String,
    /// Empty for users created through `POST /organization/users`.
    pub verification_token_id: String,
}

/// Whether an account made by `TestApp::member` has verified its e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Verified,
    Unverified,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request; `body: None` sends no body and no Content-Type, as the client does.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::send(request).await
    }

    /// Sends a request built by hand (any server, any headers) and reads its answer.
    pub async fn send(request: reqwest::RequestBuilder) -> Answer {
        let (client, request) = request.build_split();
        let request = request.expect("the request builds");
        let method = request.method().clone();
        let response = client.execute(request).await.expect("request sent");
        Self::read(&method, response).await
    }

    /// Reads the answer to a `method` request: it must be JSON, and what the OpenAPI document
    /// says that route answers with that status (`schema::check`).
    pub async fn read(method: &Method, response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let path = response.url().path().to_owned();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{status}: content-type {content_type:?}"
        );
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
        schema::check(method, &path, status, &body);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::DELETE, path, token, None).await
    }

    pub fn registration_body(email: &str) -> Value {
        json!({
            "email": email,
            "password": PASSWORD,
            "firstName": "Ann",
            "lastName": "Lee",
            "companyName": "Acme",
            "isBusiness": true,
        })
    }

    /// Registers an account (not yet verified): the OWNER of a new organization.
    pub async fn register(&self, email: &str) -> Account {
        let answer = self
            .post("/user/register", None, Self::registration_body(email))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        Account {
            email: email.to_owned(),
            first_name: "Ann".to_owned(),
            last_name: "Lee".to_owned(),
            user_id: answer.body["user"]["id"].as_str().unwrap().to_owned(),
            org_id: answer.body["user"]["orgId"].as_str().unwrap().to_owned(),
            access_token: answer.str("accessToken"),
            refresh_token: answer.str("refreshToken"),
            token_id: answer.str("tokenId"),
            verification_token_id: answer.str("verificationTokenId"),
        }
    }

    /// Verifies the account's e-mail with the token from its last verification e-mail.
    pub async fn verify(&self, email: &str) {
        let token = self.mailer.last_verification_token(email);
        let answer = self
            .post("/user/verify-email", None, json!({ "token": token }))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    /// Registers and verifies an account: an organization OWNER ready to write, logged in again
    /// after verifying (verifying ends the registration's session).
    pub async fn register_verified(&self, email: &str) -> Account {
        let account = self.register(email).await;
        self.verify(email).await;
        self.log_in(&account).await
    }

    /// The one way to make an actor with an organization role: a logged-in user of `by`'s
    /// organization with role `role`, named Mia Stone, created by `by` through
    /// `POST /organization/users` (so `by` must be verified and allowed to grant `role`; an
    /// OWNER grants every role) and, when `Verified`, verified through its invitation e-mail.
    pub async fn member(
        &self,
        by: &Account,
        email: &str,
        role: i64,
        verification: Verification,
    ) -> Account {
        let body = json!({
            "email": email,
            "password": PASSWORD,
            "firstName": MEMBER_FIRST_NAME,
            "lastName": MEMBER_LAST_NAME,
            "orgRole": role,
        });
        let created = self
            .post("/organization/users", Some(&by.access_token), body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        if verification == Verification::Verified {
            self.verify(email).await;
        }
        let account = Account {
            email: email.to_owned(),
            first_name: MEMBER_FIRST_NAME.to_owned(),
            last_name: MEMBER_LAST_NAME.to_owned(),
            user_id: created.body["data"]["id"].as_str().unwrap().to_owned(),
            org_id: by.org_id.clone(),
            access_token: String::new(),
            refresh_token: String::new(),
            token_id: String::new(),
            verification_token_id: String::new(),
        };
        self.log_in(&account).await
    }

    /// Logs `account` in with the shared password: the same person with a new session's tokens
    /// (its ids as the login answers them).
    pub async fn log_in(&self, account: &Account) -> Account {
        let answer = self.login(&account.email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Account {
            user_id: answer.body["user"]["id"].as_str().unwrap().to_owned(),
            org_id: answer.body["user"]["orgId"].as_str().unwrap().to_owned(),
            access_token: answer.str("accessToken"),
            refresh_token: answer.str("refreshToken"),
            token_id: answer.str("tokenId"),
            ..account.clone()
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post(
            "/user/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn create_workspace(&self, token: &str, name: &str) -> Answer {
        self.post("/workspace", Some(token), json!({ "name": name }))
            .await
    }
}

/// The database, read and written the way the tests need: SQL text with `$N` parameters (both
/// backends accept it), UUID strings bound as ids.
impl TestApp {
    /// Runs a query that returns one integer.
    pub async fn count(&self, sql: &str, ids: &[&str]) -> i64 {
        match &self.db {
            Db::Sqlite(conn) => {
                let rows = on_sqlite(conn, sql, ids, |statement| {
                    let mut rows = statement.raw_query();
                    let row = rows.next()?.expect("the query returns a row");
                    row.get::<_, i64>(0)
                });
                rows.await
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query_scalar::<_, i64>(sql);
                for id in uuids(ids) {
                    query = query.bind(id);
                }
                query.fetch_one(pool).await.unwrap()
            }
        }
    }

    /// Runs a query that returns text rows.
    pub async fn strings(&self, sql: &str, ids: &[&str]) -> Vec<String> {
        match &self.db {
            Db::Sqlite(conn) => {
                let rows = on_sqlite(conn, sql, ids, |statement| {
                    let mut rows = statement.raw_query();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next()? {
                        out.push(row.get::<_, String>(0)?);
                    }
                    Ok(out)
                });
                rows.await
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                for id in uuids(ids) {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await.unwrap()
            }
        }
    }

    /// Runs a statement (test set-up such as back-dating a token) and answers the rows it
    /// changed.
    pub async fn execute(&self, sql: &str, ids: &[&str]) -> u64 {
        match &self.db {
            Db::Sqlite(conn) => {
                let changed = on_sqlite(conn, sql, ids, |statement| statement.raw_execute());
                changed.await as u64
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for id in uuids(ids) {
                    query = query.bind(id);
                }
                query.execute(pool).await.unwrap().rows_affected()
            }
        }
    }

    /// Every row of `table`, every column, as text (BLOBs and bytea as lower-case hex): to show
    /// what a table holds, including columns added after the test was written.
    pub async fn dump(&self, table: &str) -> Vec<String> {
        match &self.db {
            Db::Sqlite(conn) => {
                let sql = format!("SELECT * FROM {table}");
                let rows = on_sqlite(conn, &sql, &[], |statement| {
                    let columns = statement.column_count();
                    let mut rows = statement.raw_query();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next()? {
                        let mut fields = Vec::new();
                        for column in 0..columns {
                            fields.push(match row.get_ref(column)? {
                                ValueRef::Null => "NULL".to_owned(),
                                ValueRef::Integer(n) => n.to_string(),
                                ValueRef::Real(x) => x.to_string(),
                                ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                                ValueRef::Blob(bytes) => hex(bytes),
                            });
                        }
                        out.push(fields.join("|"));
                    }
                    Ok(out)
                });
                rows.await
            }
            // bytea renders as \x followed by hex in JSON.
            Db::Postgres(_) => {
                let sql = format!("SELECT row_to_json(t)::text FROM {table} t");
                self.strings(&sql, &[]).await
            }
        }
    }
}

impl TestApp {
    /// Whether the user's e-mail is verified, in the database.
    pub async fn is_validated(&self, user_id: &str) -> bool {
        let sql = "SELECT COUNT(*) FROM users WHERE id = $1 AND validated";
        self.count(sql, &[user_id]).await == 1
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn uuids(ids: &[&str]) -> Vec<Uuid> {
    ids.iter()
        .map(|id| Uuid::parse_str(id).unwrap_or_else(|_| panic!("{id} is not a UUID")))
        .collect()
}

/// Prepares `sql` on the test's SQLite connection, binds each `$N` to the N-th id, and runs
/// `run` on the statement, on the blocking pool. SQLite numbers named parameters in order of
/// first appearance, not by their digits, so ids are bound by the digits of each name.
async fn on_sqlite<T: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    sql: &str,
    ids: &[&str],
    run: impl FnOnce(&mut Statement<'_>) -> rusqlite::Result<T> + Send + 'static,
) -> T {
    let (conn, text, ids) = (conn.clone(), sql.to_owned(), uuids(ids));
    let result = tokio::task::spawn_blocking(move || {
        let conn = conn.lock().unwrap();
        let mut statement = conn.prepare(&text)?;
        for index in 1..=statement.parameter_count() {
            let id = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|digits| digits.parse::<usize>().ok())
                .and_then(|n| ids.get(n.checked_sub(1)?))
                .ok_or(rusqlite::Error::InvalidParameterCount(index, ids.len()))?;
            statement.raw_bind_parameter(index, id)?;
        }
        run(&mut statement)
    })
    .await
    .expect("the SQLite query ran");
    result.unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// Everything the routes can change, as text, to show that a refused request changed nothing.
/// Leaves out what every authenticated request may touch (a session's `last_used_at`).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    rows: Vec<String>,
    mails: usize,
}

impl TestApp {
    pub async fn snapshot(&self) -> Snapshot {
        let queries = [
            "SELECT 'org|' || name || '|' || COALESCE(website, '') || '|' || \
             COALESCE(address1, '') || '|' || COALESCE(address2, '') || '|' || \
             COALESCE(city, '') || '|' || COALESCE(zipcode, '') || '|' || COALESCE(phone, '') || \
             '|' || COALESCE(state, '') || '|' || COALESCE(country, '') || '|' || is_business || \
             '|' || mfa_enforced || '|' || updated_at || '|' || COALESCE(deleted_at, -1) \
             FROM organizations ORDER BY 1",
            "SELECT 'user|' || email || '|' || first_name || '|' || last_name || '|' || \
             org_role || '|' || validated || '|' || COALESCE(deleted_at, -1) || '|' || \
             COALESCE(password_hash, '') || '|' || updated_at || '|' || mfa_required FROM users \
             ORDER BY 1",
            "SELECT 'session|' || u.email || '|' || s.created_at || '|' || \
             COALESCE(s.revoked_at, -1) || '|' || s.mfa_pending || '|' || s.mfa_verified \
             FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY 1",
            "SELECT 'mfa|' || u.email || '|' || m.method || '|' || m.configured || '|' || \
             m.enabled || '|' || m.is_primary || '|' || m.last_step || '|' || \
             COALESCE(LENGTH(m.secret), -1) || '|' || COALESCE(LENGTH(m.pending_secret), -1) || \
             '|' || m.updated_at FROM mfa_methods m JOIN users u ON u.id = m.user_id ORDER BY 1",
            "SELECT 'backup|' || u.email || '|' || b.pending || '|' || COALESCE(b.used_at, -1) \
             FROM mfa_backup_codes b JOIN users u ON u.id = b.user_id ORDER BY 1",
            "SELECT 'link|' || u.email || '|' || l.purpose || '|' || l.created_at || '|' || \
             COALESCE(l.used_at, -1) FROM mfa_link_tokens l JOIN users u ON u.id = l.user_id \
             ORDER BY 1",
            "SELECT 'mfa-failure|' || u.email || '|' || f.failed_at FROM mfa_failures f \
             JOIN users u ON u.id = f.user_id ORDER BY 1",
            "SELECT 'device|' || u.email || '|' || d.fingerprint || '|' || d.last_seen || '|' || \
             COALESCE(d.trusted_until, -1) FROM devices d JOIN users u ON u.id = d.user_id \
             ORDER BY 1",
            "SELECT 'refresh|' || u.email || '|' || t.created_at || '|' || \
             COALESCE(t.used_at, -1) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
             JOIN users u ON u.id = s.user_id ORDER BY 1",
            "SELECT 'verification|' || u.email || '|' || v.created_at || '|' || \
             COALESCE(v.used_at, -1) FROM email_verifications v JOIN users u ON u.id = v.user_id \
             ORDER BY 1",
            "SELECT 'reset|' || u.email || '|' || r.created_at || '|' || COALESCE(r.used_at, -1) \
             FROM password_resets r JOIN users u ON u.id = r.user_id ORDER BY 1",
            "SELECT 'workspace|' || name || '|' || name_key || '|' || created_at || '|' || \
             updated_at || '|' || COALESCE(deleted_at, -1) FROM workspaces ORDER BY 1",
            "SELECT 'member|' || w.name || '|' || u.email || '|' || m.role || '|' || m.created_at \
             FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id \
             JOIN users u ON u.id = m.user_id ORDER BY 1",
            "SELECT 'user_settings|' || u.email || '|' || s.settings || '|' || s.updated_at \
             FROM user_settings s JOIN users u ON u.id = s.user_id ORDER BY 1",
            "SELECT 'org_settings|' || o.name || '|' || s.settings || '|' || s.updated_at \
             FROM org_settings s JOIN organizations o ON o.id = s.org_id ORDER BY 1",
            "SELECT 'event|' || id || '|' || context || '|' || event || '|' || created_at || '|' \
             || COALESCE(json_data, '') FROM system_events ORDER BY 1",
        ];
        let mut rows = Vec::new();
        for sql in queries {
            rows.extend(self.strings(sql, &[]).await);
        }
        Snapshot {
            rows,
            mails: self.mailer.count(),
        }
    }

    /// Asserts that nothing changed since `before` was taken.
    pub async fn assert_unchanged(&self, before: &Snapshot) {
        let after = self.snapshot().await;
        assert_eq!(&after, before, "a refused request changed something");
    }
}

/// Where the audit trail stood before a test's change: its last event id, and the time.
#[derive(Debug, Clone, Copy)]
pub struct EventMark {
    id: i64,
    at: i64,
}

impl TestApp {
    pub async fn event_mark(&self) -> EventMark {
        let id = self
            .count("SELECT COALESCE(MAX(id), 0) FROM system_events", &[])
            .await;
        EventMark { id, at: now_ms() }
    }

    /// The events stored after `mark`, in id order, each as the JSON of its columns
    /// (`orgId`, `actorId`, `workspaceId`, `context`, `event`, `contextId`, `jsonData` parsed
    /// from its text): for comparing whole. Their `created_at` is checked to fall between the
    /// mark and now, and left out.
    pub async fn events_since(&self, mark: &EventMark) -> Vec<Value> {
        let until = now_ms();
        let mut events = Vec::new();
        for mut row in self.event_rows(mark.id).await {
            let at = row["createdAt"].as_i64().unwrap();
            assert!(
                (mark.at..=until).contains(&at),
                "event time {at} outside {}..={until}: {row}",
                mark.at
            );
            let row_object = row.as_object_mut().unwrap();
            row_object.remove("createdAt");
            row_object.remove("id");
            events.push(row);
        }
        events
    }

    /// Every column of the events after id `after`, ids increasing.
    async fn event_rows(&self, after: i64) -> Vec<Value> {
        let sql = format!(
            "SELECT id, org_id, actor_id, workspace_id, context, event, context_id, json_data, \
             created_at FROM system_events WHERE id > {after} ORDER BY id"
        );
        type Columns = (
            i64,
            Uuid,
            Uuid,
            Option<Uuid>,
            i64,
            i64,
            Uuid,
            Option<String>,
            i64,
        );
        let rows: Vec<Columns> = match &self.db {
            Db::Sqlite(conn) => {
                on_sqlite(conn, &sql, &[], |statement| {
                    let mut rows = statement.raw_query();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next()? {
                        out.push((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(7)?,
                            row.get(8)?,
                        ));
                    }
                    Ok(out)
                })
                .await
            }
            Db::Postgres(pool) => {
                use sqlx::Row;
                let rows = sqlx::query(&sql).fetch_all(pool).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (
                            row.get(0),
                            row.get(1),
                            row.get(2),
                            row.get(3),
                            i64::from(row.get::<i16, _>(4)),
                            i64::from(row.get::<i16, _>(5)),
                            row.get(6),
                            row.get(7),
                            row.get(8),
                        )
                    })
                    .collect()
            }
        };
        rows.into_iter()
            .map(
                |(id, org, actor, workspace, context, event, context_id, data, at)| {
                    let data = data.map(|text| {
                        serde_json::from_str::<Value>(&text)
                            .unwrap_or_else(|_| panic!("json_data is JSON text: {text}"))
                    });
                    json!({
                        "id": id,
                        "orgId": org.to_string(),
                        "actorId": actor.to_string(),
                        "workspaceId": workspace.map(|w| w.to_string()),
                        "context": context,
                        "event": event,
                        "contextId": context_id.to_string(),
                        "jsonData": data,
                        "createdAt": at,
                    })
                },
            )
            .collect()
    }
}

/// The raw answer of `GET /health` on 127.0.0.1:`port`, over a plain TCP connection closed after
/// it: for tests of the binary that check what reaches the wire.
pub fn raw_health(port: u16) -> String {
    use std::io::{Read, Write};
    let mut health = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    health.read_to_string(&mut answer).unwrap();
    answer
}
