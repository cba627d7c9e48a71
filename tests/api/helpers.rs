//! Starting a server per test, talking to it, and looking into its database.

#![allow(dead_code)]

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{PgPool, SqlitePool};
use uuid::Uuid;
use workspaces::app::Application;
use workspaces::config::Config;
use workspaces::mail::{Mailer, OutgoingEmail};

use crate::schema;

pub const PASSWORD: &str = "Secret123";

/// Keeps every e-mail the server sends, so tests can read verification tokens.
#[derive(Default)]
pub struct CapturingMailer {
    pub sent: Mutex<Vec<OutgoingEmail>>,
}

#[async_trait]
impl Mailer for CapturingMailer {
    async fn send(&self, email: OutgoingEmail) -> anyhow::Result<()> {
        self.sent.lock().unwrap().push(email);
        Ok(())
    }
}

impl CapturingMailer {
    pub fn to(&self, address: &str) -> Vec<OutgoingEmail> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to == address)
            .cloned()
            .collect()
    }

    /// The token of the last verification e-mail sent to `address`.
    pub fn last_verification_token(&self, address: &str) -> String {
        let mails = self.to(address);
        let mail = mails
            .last()
            .unwrap_or_else(|| panic!("no e-mail was sent to {address}"));
        mail.body
            .lines()
            .find_map(|line| line.strip_prefix("Verification token: "))
            .expect("the e-mail carries a verification token")
            .to_owned()
    }
}

/// The test's own connection to the server's database, for asserting effects.
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub mailer: Arc<CapturingMailer>,
    pub db: Db,
    pub database_url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres_cleanup: Option<(String, String)>,
}

/// A fresh database on the backend under test.
async fn fresh_database() -> (
    String,
    Db,
    Option<tempfile::TempDir>,
    Option<(String, String)>,
) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("ws_test_{}", Uuid::new_v4().simple());
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL is set but PostgreSQL is not reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let url = with_database(&admin_url, &name);
            let options = PgConnectOptions::from_str(&url).unwrap();
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .unwrap();
            (url, Db::Postgres(pool), None, Some((admin_url, name)))
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (
                url,
                Db::Sqlite(SqlitePool::connect_lazy("sqlite::memory:").unwrap()),
                Some(dir),
                None,
            )
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

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let (url, mut db, sqlite_dir, postgres_cleanup) = fresh_database().await;
    let mut config = Config::for_database(url.clone());
    configure(&mut config);
    let mailer = Arc::new(CapturingMailer::default());
    let app = Application::build_with_mailer(config, mailer.clone())
        .await
        .expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    if let Db::Sqlite(_) = db {
        // Opened after the server created the file and applied its migrations.
        db = Db::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(2)
                .connect(&format!("{url}?mode=rw"))
                .await
                .unwrap(),
        );
    }
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        mailer,
        db,
        database_url: url,
        _sqlite_dir: sqlite_dir,
        postgres_cleanup,
    }
}

impl TestApp {
    pub fn is_sqlite(&self) -> bool {
        matches!(self.db, Db::Sqlite(_))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres_cleanup.take() {
            // Drop is synchronous: do the async clean-up on a thread of its own.
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
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin)
                                .await;
                    }
                });
            })
            .join();
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

/// What a registration produced, for use in later requests.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub user_id: String,
    pub org_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub token_id: String,
    pub verification_token_id: String,
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

    /// Registers an account (not yet verified) and returns its tokens.
    pub async fn register(&self, email: &str) -> Account {
        let answer = self
            .post("/user/register", None, Self::registration_body(email))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        Account {
            email: email.to_owned(),
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

    /// Registers and verifies an account: an organization OWNER ready to write.
    pub async fn register_verified(&self, email: &str) -> Account {
        let account = self.register(email).await;
        self.verify(email).await;
        account
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

    /// Runs a query that returns one integer, binding UUID strings as ids.
    pub async fn count(&self, sql: &str, ids: &[&str]) -> i64 {
        on_either_pool!(self, sqlx::query_scalar::<_, i64>(sql), ids, |q, pool| q
            .fetch_one(pool)
            .await
            .unwrap())
    }

    /// Runs a query that returns text rows, binding UUID strings as ids.
    pub async fn strings(&self, sql: &str, ids: &[&str]) -> Vec<String> {
        on_either_pool!(
            self,
            sqlx::query_scalar::<_, String>(sql),
            ids,
            |q, pool| q.fetch_all(pool).await.unwrap()
        )
    }

    /// Runs a statement (test set-up such as back-dating a token), binding UUID strings as ids.
    pub async fn execute(&self, sql: &str, ids: &[&str]) -> u64 {
        on_either_pool!(self, sqlx::query(sql), ids, |q, pool| q
            .execute(pool)
            .await
            .unwrap()
            .rows_affected())
    }
}

/// Builds `$query` for the test's backend, binds the UUID strings `$ids` in order, and runs
/// `$run` with the query and the pool (the two pools have different types, hence a macro).
macro_rules! on_either_pool {
    ($app:expr, $query:expr, $ids:expr, |$q:ident, $pool:ident| $run:expr) => {{
        let ids: Vec<Uuid> = $ids.iter().map(|id| Uuid::parse_str(id).unwrap()).collect();
        match &$app.db {
            Db::Sqlite($pool) => {
                let mut $q = $query;
                for id in &ids {
                    $q = $q.bind(*id);
                }
                $run
            }
            Db::Postgres($pool) => {
                let mut $q = $query;
                for id in &ids {
                    $q = $q.bind(*id);
                }
                $run
            }
        }
    }};
}
use on_either_pool;

/// The error envelope a test expects, whole.
pub fn error_body(message: &str, code: &str) -> Value {
    json!({ "success": false, "message": message, "error_code": code })
}

pub fn unauthorized_body() -> Value {
    error_body("Unauthorized", "UNAUTHORIZED")
}
