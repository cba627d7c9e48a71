//! The binary itself: its commands, its help, and graceful shutdown on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::accounts::PASSWORD;
use crate::support::app::spawn_app;
use crate::support::assertions::assert_answer;
use crate::support::binary::{serve, workspaces};

#[tokio::test]
async fn user_verify_marks_the_account_validated() {
    let app = spawn_app().await;
    let account = app.register("Ann@Example.com").await;
    let mark = app.event_mark().await;

    let status = workspaces()
        .args([
            "--database-url",
            &app.database_url,
            "user",
            "verify",
            "ann@EXAMPLE.com",
        ])
        .status()
        .unwrap();

    assert!(status.success());
    let validated = app
        .count(
            "SELECT COUNT(*) FROM users WHERE id = $1 AND validated",
            &[&account.user_id],
        )
        .await;
    assert_eq!(validated, 1);
    // The operator has no account: the event names the user, as a verification by e-mail does.
    let event = json!({
        "orgId": account.org_id, "actorId": account.user_id, "workspaceId": null,
        "context": 3, "event": 1, "contextId": account.user_id,
        "jsonData": { "validated": { "from": false, "to": true } },
    });
    assert_eq!(app.events_since(&mark).await, [event]);
    let login = app.login("ann@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let answer = app
        .create_workspace(&login.str("accessToken"), "Verified by operator")
        .await;
    let id = answer.body["workspace"]["id"].as_str().unwrap_or_default();
    let expected = json!({
        "success": true,
        "workspace": { "id": id, "name": "Verified by operator", "orgId": account.org_id },
    });
    assert_answer(&answer, StatusCode::CREATED, &expected);
    let sql = "SELECT name FROM workspaces WHERE id = $1 AND org_id = $2";
    let stored = app.strings(sql, &[id, account.org_id.as_str()]).await;
    assert_eq!(stored, ["Verified by operator"]);
}

#[tokio::test]
async fn user_verify_of_an_unknown_email_exits_with_2() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let status = workspaces()
        .args([
            "--database-url",
            &app.database_url,
            "user",
            "verify",
            "nobody@example.com",
        ])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let sql = "SELECT COUNT(*) FROM users WHERE validated";
    assert_eq!(app.count(sql, &[]).await, 0, "{account:?} was verified");
}

/// `instanceAdmin` of the profile of the token's user.
async fn instance_admin(app: &crate::support::app::TestApp, token: &str) -> serde_json::Value {
    let profile = app.get("/user/profile", Some(token)).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    profile.body["data"]["instanceAdmin"].clone()
}

/// `workspaces admin grant|revoke EMAIL` on `app`'s database; the exit code.
fn admin(app: &crate::support::app::TestApp, verb: &str, email: &str) -> Option<i32> {
    workspaces()
        .args(["--database-url", &app.database_url, "admin", verb, email])
        .status()
        .unwrap()
        .code()
}

#[tokio::test]
async fn admin_grant_and_revoke_set_instance_admin_in_the_profile_with_their_events() {
    let app = spawn_app().await;
    let ann = app.register_verified("ann@example.com").await;
    assert_eq!(instance_admin(&app, &ann.access_token).await, false);
    let mark = app.event_mark().await;

    assert_eq!(admin(&app, "grant", "ANN@example.com"), Some(0));
    assert_eq!(instance_admin(&app, &ann.access_token).await, true);
    // Granting again changes nothing and writes nothing.
    assert_eq!(admin(&app, "grant", "ann@example.com"), Some(0));
    assert_eq!(admin(&app, "revoke", "ann@example.com"), Some(0));
    assert_eq!(instance_admin(&app, &ann.access_token).await, false);

    let event = |from: bool, to: bool| {
        json!({
            "orgId": ann.org_id, "actorId": ann.user_id, "workspaceId": null,
            "context": 3, "event": 1, "contextId": ann.user_id,
            "jsonData": { "instanceAdmin": { "from": from, "to": to } },
        })
    };
    assert_eq!(
        app.events_since(&mark).await,
        [event(false, true), event(true, false)]
    );
}

#[tokio::test]
async fn admin_grant_of_an_unknown_or_deleted_account_exits_with_2_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let mia = app
        .member(
            &owner,
            "mia@example.com",
            0,
            crate::support::accounts::Verification::Verified,
        )
        .await;
    crate::support::org_cast::delete_user(&app, &owner, &mia).await;
    let before = app.snapshot().await;

    assert_eq!(admin(&app, "grant", "nobody@example.com"), Some(2));
    assert_eq!(admin(&app, "grant", "mia@example.com"), Some(2));
    assert_ne!(admin(&app, "grant", "not-an-email"), Some(0));

    app.assert_unchanged(&before).await;
    let sql = "SELECT COUNT(*) FROM users WHERE instance_admin";
    assert_eq!(app.count(sql, &[]).await, 0);
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let output = workspaces().args(["serve", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env) in [
        ("--database-url", "WORKSPACES_DATABASE_URL"),
        ("--log-format", "WORKSPACES_LOG_FORMAT"),
        ("--listen", "WORKSPACES_LISTEN"),
        ("--db-max-connections", "WORKSPACES_DB_MAX_CONNECTIONS"),
        ("--jwt-secret", "WORKSPACES_JWT_SECRET"),
        ("--jwt-secret-file", "WORKSPACES_JWT_SECRET_FILE"),
        ("--mfa-encryption-key", "WORKSPACES_MFA_ENCRYPTION_KEY"),
        (
            "--mfa-encryption-key-file",
            "WORKSPACES_MFA_ENCRYPTION_KEY_FILE",
        ),
        ("--mfa-issuer", "WORKSPACES_MFA_ISSUER"),
        ("--registration", "WORKSPACES_REGISTRATION"),
        (
            "--session-lifetime-days",
            "WORKSPACES_SESSION_LIFETIME_DAYS",
        ),
        (
            "--cleanup-interval-secs",
            "WORKSPACES_CLEANUP_INTERVAL_SECS",
        ),
        ("--cleanup-grace-days", "WORKSPACES_CLEANUP_GRACE_DAYS"),
        (
            "--unverified-account-days",
            "WORKSPACES_UNVERIFIED_ACCOUNT_DAYS",
        ),
        ("--smtp-url", "WORKSPACES_SMTP_URL"),
        ("--event-retention-days", "WORKSPACES_EVENT_RETENTION_DAYS"),
        ("--dev-mail-log", "WORKSPACES_DEV_MAIL_LOG"),
        (
            "--header-read-timeout-secs",
            "WORKSPACES_HEADER_READ_TIMEOUT_SECS",
        ),
        ("--max-connections", "WORKSPACES_MAX_CONNECTIONS"),
        ("--metrics-listen", "WORKSPACES_METRICS_LISTEN"),
        ("--mail-from", "WORKSPACES_MAIL_FROM"),
        ("--public-url", "WORKSPACES_PUBLIC_URL"),
        ("--shutdown-grace-secs", "WORKSPACES_SHUTDOWN_GRACE_SECS"),
        (
            "--password-hash-threads",
            "WORKSPACES_PASSWORD_HASH_THREADS",
        ),
        ("--password-hash-queue", "WORKSPACES_PASSWORD_HASH_QUEUE"),
        ("--trusted-proxy-hops", "WORKSPACES_TRUSTED_PROXY_HOPS"),
        (
            "--rate-limit-login-failures-per-account",
            "WORKSPACES_RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT",
        ),
        ("--google-client-id", "WORKSPACES_GOOGLE_CLIENT_ID"),
        ("--google-client-secret", "WORKSPACES_GOOGLE_CLIENT_SECRET"),
        ("--google-issuer", "WORKSPACES_GOOGLE_ISSUER"),
        ("--microsoft-client-id", "WORKSPACES_MICROSOFT_CLIENT_ID"),
        (
            "--microsoft-client-secret",
            "WORKSPACES_MICROSOFT_CLIENT_SECRET",
        ),
        ("--microsoft-tenant", "WORKSPACES_MICROSOFT_TENANT"),
        ("--microsoft-authority", "WORKSPACES_MICROSOFT_AUTHORITY"),
        ("--github-client-id", "WORKSPACES_GITHUB_CLIENT_ID"),
        ("--github-client-secret", "WORKSPACES_GITHUB_CLIENT_SECRET"),
        ("--github-url", "WORKSPACES_GITHUB_URL"),
        ("--github-api-url", "WORKSPACES_GITHUB_API_URL"),
        ("--oidc-provider", "WORKSPACES_OIDC_PROVIDERS"),
    ] {
        assert!(
            help.contains(flag) && help.contains(env),
            "{flag} / {env} missing from:\n{help}"
        );
    }
    let top = workspaces().arg("--help").output().unwrap();
    let top = String::from_utf8(top.stdout).unwrap();
    for command in ["serve", "migrate", "user", "events"] {
        assert!(top.contains(command), "{command} missing from:\n{top}");
    }
}

#[test]
fn zero_password_hashing_threads_are_refused() {
    let output = workspaces()
        .args(["serve", "--password-hash-threads", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("--password-hash-threads"), "{error}");
}

#[test]
fn a_zero_hashing_queue_or_zero_proxy_hops_are_refused() {
    for flag in ["--password-hash-queue", "--trusted-proxy-hops"] {
        let output = workspaces().args(["serve", flag, "0"]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(error.contains(flag), "{error}");
    }
}

/// A malformed provider setting stops the start with a message naming it, never the secret.
#[test]
fn a_malformed_identity_provider_stops_the_start_without_showing_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let refusals: [(&[(&str, &str)], &str); 3] = [
        (
            &[(
                "WORKSPACES_OIDC_PROVIDERS",
                "corp,https://id.example,app,hunter2;Bad Name,https://x.example,app,hunter2",
            )],
            "--oidc-provider",
        ),
        (
            &[("WORKSPACES_GOOGLE_CLIENT_SECRET", "hunter2")],
            "--google-client-id",
        ),
        (
            &[
                ("WORKSPACES_MICROSOFT_CLIENT_ID", "app"),
                ("WORKSPACES_MICROSOFT_CLIENT_SECRET", "hunter2"),
                ("WORKSPACES_MICROSOFT_AUTHORITY", "login.example"),
            ],
            "--microsoft-authority",
        ),
    ];
    for (env, named) in refusals {
        let output = workspaces()
            .envs(env.iter().copied())
            .args(["--database-url", &url, "serve", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{named}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(error.contains(named), "{named}: {error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}

#[test]
fn secrets_from_the_environment_are_not_shown_by_help() {
    let output = workspaces()
        .env(
            "WORKSPACES_JWT_SECRET",
            "do-not-print-this-secret-0123456789",
        )
        .env(
            "WORKSPACES_SMTP_URL",
            "smtp://user:hunter2@mail.example.com",
        )
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        !help.contains("do-not-print-this-secret") && !help.contains("hunter2"),
        "{help}"
    );
}

#[test]
fn migrate_creates_the_sqlite_database_and_serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let status = workspaces()
        .args(["--database-url", &url, "migrate"])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.path().join("cli.db").exists());

    // The text log, into a file: no colour codes there.
    let log_path = dir.path().join("server.log");
    let mut logged = workspaces();
    logged
        .env("RUST_LOG", "info")
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    // `serve` reads the port from the line the server prints: it must answer there.
    let (mut server, port) = serve(logged, &url, &[]);
    let answer = crate::support::binary::raw_health(port);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("shutdown signal received"), "{log}");
    assert!(
        !log.contains("\x1b["),
        "ANSI colour codes in a log file:\n{log:?}"
    );
}
