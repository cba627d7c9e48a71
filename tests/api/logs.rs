//! Logs: JSON on request, a request id on every line of a request, and never a secret. The
//! server runs as a process on the backend under test: on PostgreSQL its database URL carries a
//! password, one more secret the log must not show.

use std::fs::File;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::TestApp;
use crate::support::binary::{serve, workspaces};
use crate::support::database::fresh::FreshDatabase;
use crate::support::fake_smtp::FakeSmtp;
use crate::support::mfa::{step_now, totp};

const JWT_SECRET: &str = "log-test-secret-that-must-never-be-printed-0123456789";
const PASSWORD: &str = "Unl0gged-Passw0rd";
/// The password a PostgreSQL URL without one is given: the suite's server trusts local
/// connections, so it is never checked, but the server holds it like any other.
const DATABASE_PASSWORD: &str = "Unl0gged-Database-Passw0rd";

/// A fresh database for a server process, its URL, and the secret that URL carries: on
/// PostgreSQL the password (its own, or [`DATABASE_PASSWORD`]); on SQLite none.
async fn database() -> (FreshDatabase, String, Option<String>) {
    let database = FreshDatabase::create().await;
    if database.is_sqlite() {
        let url = database.url.clone();
        return (database, url, None);
    }
    let mut url = url::Url::parse(&database.url).unwrap();
    if url.password().is_none() {
        url.set_password(Some(DATABASE_PASSWORD)).unwrap();
    }
    let password = percent_encoding::percent_decode_str(url.password().unwrap())
        .decode_utf8()
        .unwrap()
        .into_owned();
    (database, url.to_string(), Some(password))
}

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start(database_url: &str, smtp_url: &str, log: File) -> Server {
    let mut command = workspaces();
    command
        .env("RUST_LOG", "debug")
        .arg("--log-format")
        .arg("json")
        .stderr(Stdio::from(log));
    let flags = ["--smtp-url", smtp_url, "--jwt-secret", JWT_SECRET];
    let unlimited = ["--rate-limit-per-ip", "0", "--rate-limit-per-account", "0"];
    let (child, port) = serve(
        command,
        database_url,
        &[&flags[..], &unlimited[..]].concat(),
    );
    Server {
        child,
        address: format!("http://127.0.0.1:{port}"),
    }
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value, String) {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = TestApp::send(request).await;
    let request_id = answer.headers["x-request-id"].to_str().unwrap().to_owned();
    (answer.status, answer.body, request_id)
}

/// The token on the `{label}: ` line of the first e-mail that has one, waiting up to 10 s.
async fn token_from(smtp: &FakeSmtp, label: &str) -> String {
    let prefix = format!("{label}: ");
    let started = Instant::now();
    loop {
        let token = smtp.received().iter().find_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_owned))
        });
        if let Some(token) = token {
            return token;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no e-mail with {label}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn no_password_token_or_secret_reaches_the_log_and_every_request_line_has_its_id() {
    let (_database, database_url, database_secret) = database().await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let smtp = FakeSmtp::start().await;
    let server = start(&database_url, &smtp.url(), File::create(&log_path).unwrap());
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.address);

    let registration = json!({
        "email": "ann@example.com", "password": PASSWORD, "firstName": "Ann",
        "lastName": "Lee", "companyName": "Acme", "isBusiness": true,
    });
    let (status, registered, register_id) =
        post(&client, url("/user/register"), None, registration).await;
    assert_eq!(status, StatusCode::CREATED);
    let verification_token = token_from(&smtp, "Verification token").await;
    let (status, _, _) = post(
        &client,
        url("/user/verify-email"),
        None,
        json!({ "token": verification_token }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, login, _) = post(
        &client,
        url("/user/login"),
        None,
        json!({ "email": "ann@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let access = login["accessToken"].as_str().unwrap().to_owned();
    let refresh = login["refreshToken"].as_str().unwrap().to_owned();
    let (status, refreshed, _) = post(
        &client,
        url("/user/refresh"),
        None,
        json!({ "refreshToken": refresh }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = post(
        &client,
        url("/workspace"),
        Some(&access),
        json!({ "name": "Logged" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = post(
        &client,
        url("/user/login"),
        None,
        json!({ "email": "ann@example.com", "password": "Wr0ng-Passw0rd" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A second factor: its secret, backup codes and codes stay out of the log too.
    let (status, setup, _) = post(
        &client,
        url("/mfa/setup"),
        Some(&access),
        json!({ "mfaType": "GOOGLE_AUTH" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let totp_secret = setup["data"]["secret"].as_str().unwrap().to_owned();
    let backup_codes: Vec<String> = setup["data"]["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    // A code of this step passes in it and in the next: no need to wait for a steady one.
    let code = totp(&totp_secret, step_now());
    let (status, _, _) = post(
        &client,
        url("/mfa/verify-setup"),
        Some(&access),
        json!({ "mfaType": "GOOGLE_AUTH", "code": code }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Magic links, through the SMTP server: activated, then a sign-in link for a pending session.
    let (status, _, _) = post(
        &client,
        url("/mfa/setup"),
        Some(&access),
        json!({ "mfaType": "MAGIC_LINK" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let activation = token_from(&smtp, "Activation token").await;
    let (status, _, _) = post(
        &client,
        url("/mfa/magic-link/activate"),
        None,
        json!({ "token": activation }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, pending, _) = post(
        &client,
        url("/user/login"),
        None,
        json!({ "email": "ann@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        (status, &pending["mfaRequired"]),
        (StatusCode::OK, &json!(true))
    );
    let pending_access = pending["accessToken"].as_str().unwrap().to_owned();
    let (status, _, _) = post(
        &client,
        url("/mfa/magic-link/send"),
        Some(&pending_access),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let sign_in = token_from(&smtp, "Sign-in token").await;
    let (status, verified, _) = post(
        &client,
        url("/mfa/verify-login"),
        Some(&pending_access),
        json!({ "mfaType": "MAGIC_LINK", "token": sign_in }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    drop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    let secrets = [
        PASSWORD,
        "Wr0ng-Passw0rd",
        JWT_SECRET,
        &verification_token,
        &access,
        &refresh,
        registered["accessToken"].as_str().unwrap(),
        registered["refreshToken"].as_str().unwrap(),
        refreshed["accessToken"].as_str().unwrap(),
        refreshed["refreshToken"].as_str().unwrap(),
        &totp_secret,
        setup["data"]["qrCode"].as_str().unwrap(),
        &activation,
        &sign_in,
        &pending_access,
        verified["refreshToken"].as_str().unwrap(),
    ];
    let secrets: Vec<&str> = secrets
        .into_iter()
        .chain(backup_codes.iter().map(String::as_str))
        .chain(database_secret.as_deref())
        .collect();
    for secret in secrets {
        assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    }

    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    let of_register: Vec<&Value> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == json!(register_id))
        .collect();
    assert!(
        !of_register.is_empty(),
        "no line carries the request id {register_id}:\n{log}"
    );
    assert!(of_register
        .iter()
        .any(|l| l["span"]["path"] == "/user/register"));
    // Every line written while a request was being served names that request.
    for line in lines
        .iter()
        .filter(|l| l["spans"].as_array().is_some_and(|s| !s.is_empty()))
    {
        assert!(
            line["span"]["request_id"].is_string(),
            "line without request id: {line}"
        );
    }
}

/// The request ids on the log lines written while serving requests.
fn logged_request_ids(log: &str) -> Vec<String> {
    log.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every log line is JSON"))
        .filter_map(|l| l["span"]["request_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_clients_request_id_is_logged_only_when_it_is_a_short_plain_token() {
    let (_database, database_url, _) = database().await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let smtp = FakeSmtp::start().await;
    let server = start(&database_url, &smtp.url(), File::create(&log_path).unwrap());
    let client = reqwest::Client::new();
    let health = |id: &'static str| {
        client
            .get(format!("{}/health", server.address))
            .header("x-request-id", id)
    };

    let forged = "fake id=1 status=200 user=admin";
    let answer = TestApp::send(health(forged)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let fresh = answer.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&fresh).is_ok(), "{fresh}");
    let answer = TestApp::send(health("client-id-123")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["x-request-id"], "client-id-123");
    drop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        !log.contains("fake id=1"),
        "the forged id reached the log:\n{log}"
    );
    let ids = logged_request_ids(&log);
    assert!(ids.contains(&fresh), "no line carries {fresh}:\n{log}");
    assert!(
        ids.iter().any(|id| id == "client-id-123"),
        "no line carries client-id-123:\n{log}"
    );
}
