//! What the binary refuses at start, and what it warns about: e-mail to the log off loopback,
//! CORS origins that are not origins, MFA encryption keys that are not keys; and a database
//! password or a key that must not reach the log.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::binary::{serve_on, workspaces};

/// The warning the server logs when e-mails go to the log.
const MAIL_LOG_WARNING: &str = "NO SMTP CONFIGURED: E-MAILS ARE WRITTEN TO THE LOG";

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("start.db").display())
}

/// Runs `workspaces ARGS...` to its end (at most 30 s).
fn run(args: &[&str]) -> Output {
    run_command(workspaces(), args)
}

/// Runs `command ARGS...` to its end (at most 30 s), logging at debug level (the configuration
/// is logged at start: it too must keep secrets out).
fn run_command(mut command: Command, args: &[&str]) -> Output {
    let mut child = command
        .env("RUST_LOG", "debug")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Starts the server on `listen` with its log in `dir`, checks it answers `/health`, stops it
/// and answers its log.
fn serve_and_read_log(dir: &Path, listen: &str, extra: &[&str]) -> String {
    let log_path = dir.join("server.log");
    let mut command = workspaces();
    command
        .env("RUST_LOG", "info")
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    let (server, port) = serve_on(command, &sqlite_url(dir), listen, extra);
    let server = KillOnDrop(server);
    let answer = crate::support::binary::raw_health(port);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    drop(server);
    std::fs::read_to_string(log_path).unwrap()
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_smtp_a_public_listener_refuses_to_start_and_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let output = run(&["--database-url", &url, "serve", "--listen", "0.0.0.0:0"]);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = String::from_utf8(output.stderr).unwrap();
    for hint in [
        "no --smtp-url: e-mails, with their verification and password-reset tokens, would be \
         written to the log while listening on 0.0.0.0:0",
        "Set --smtp-url (WORKSPACES_SMTP_URL)",
        "--dev-mail-log (WORKSPACES_DEV_MAIL_LOG)",
    ] {
        assert!(error.contains(hint), "{hint:?} missing from:\n{error}");
    }
    assert!(output.stdout.is_empty(), "it announced a listener");
    assert!(
        !dir.path().join("start.db").exists(),
        "it opened the database"
    );
}

#[test]
fn with_dev_mail_log_a_public_listener_starts_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let log = serve_and_read_log(dir.path(), "0.0.0.0:0", &["--dev-mail-log"]);
    assert!(log.contains(MAIL_LOG_WARNING), "no warning in:\n{log}");
}

#[test]
fn on_loopback_without_smtp_it_starts_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let log = serve_and_read_log(dir.path(), "127.0.0.1:0", &[]);
    assert!(log.contains(MAIL_LOG_WARNING), "no warning in:\n{log}");
}

#[test]
fn a_password_in_the_database_url_query_is_not_logged() {
    let url = "postgres://nobody@127.0.0.1:1/x?password=hunter2";
    let output = run(&["--database-url", url, "serve", "--listen", "127.0.0.1:0"]);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let log = String::from_utf8(output.stderr).unwrap();
    assert!(
        !log.contains("hunter2"),
        "the password reached the log:\n{log}"
    );
    // The URL is still there to diagnose with, its password hidden.
    let redacted = "connecting to postgres://nobody@127.0.0.1:1/x?password=***";
    assert!(log.contains(redacted), "{redacted:?} missing from:\n{log}");
}

#[test]
fn a_wildcard_or_null_cors_origin_is_refused_at_start() {
    for (origin, message) in [
        (
            "*",
            "--cors-origin '*' is not allowed: list each origin that may call the API",
        ),
        ("null", "--cors-origin 'null' is not allowed"),
        (
            "https://app.example.com/",
            "--cors-origin 'https://app.example.com/' is not an origin as browsers send it; did \
             you mean 'https://app.example.com'?",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(dir.path());
        let args = [
            "--database-url",
            &url,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cors-origin",
            origin,
        ];
        let output = run(&args);

        assert_eq!(output.status.code(), Some(1), "{origin}: {output:?}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(
            error.contains(message),
            "{message:?} missing from:\n{error}"
        );
        assert!(!error.contains("panicked"), "{error}");
        assert!(
            output.stdout.is_empty(),
            "{origin}: it announced a listener"
        );
    }
}

#[test]
fn a_malformed_mfa_encryption_key_stops_the_start_without_being_repeated() {
    const MESSAGE: &str = "--mfa-encryption-key must be 32 bytes written as 64 hex digits or in \
                           base64 (e.g. the output of `openssl rand -hex 32`)";
    // 31 bytes in hex, and a passphrase: neither is a key.
    let short_hex = "5e".repeat(31);
    let passphrase = "Tr0ub4dor&3-horse-battery";
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("mfa.key");
    std::fs::write(&key_file, format!("{passphrase}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let key_file = key_file.display().to_string();
    let cases: [(&str, &[&str], Option<&str>); 4] = [
        (&short_hex, &["--mfa-encryption-key", &short_hex], None),
        (passphrase, &["--mfa-encryption-key", passphrase], None),
        (passphrase, &["--mfa-encryption-key-file", &key_file], None),
        (passphrase, &[], Some(passphrase)),
    ];
    for (key, flags, env) in cases {
        let db_dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(db_dir.path());
        let mut command = workspaces();
        if let Some(value) = env {
            command.env("WORKSPACES_MFA_ENCRYPTION_KEY", value);
        }
        let args = [
            &["--database-url", &url, "serve", "--listen", "127.0.0.1:0"],
            flags,
        ]
        .concat();
        let output = run_command(command, &args);

        assert_eq!(output.status.code(), Some(1), "{flags:?}: {output:?}");
        let error = String::from_utf8(output.stderr).unwrap();
        assert!(
            error.contains(MESSAGE),
            "{MESSAGE:?} missing from:\n{error}"
        );
        assert!(!error.contains(key), "the key reached the log:\n{error}");
        assert!(!error.contains("panicked"), "{error}");
        assert!(
            output.stdout.is_empty(),
            "{flags:?}: it announced a listener"
        );
    }
}

#[test]
fn a_valid_mfa_encryption_key_starts_the_server_and_stays_out_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let key = "c0ffee".repeat(10) + "c0ff";
    let log = serve_and_read_log(
        dir.path(),
        "127.0.0.1:0",
        &["--mfa-encryption-key", &key, "--mfa-issuer", "Acme"],
    );
    assert!(log.contains("listening"), "{log}");
    assert!(!log.contains("c0ffee"), "the key reached the log:\n{log}");
}

#[test]
fn an_mfa_issuer_with_a_colon_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let args = [
        "--database-url",
        &url,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mfa-issuer",
        "Acme:Corp",
    ];
    let output = run(&args);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = String::from_utf8(output.stderr).unwrap();
    let message = "--mfa-issuer must be a non-empty name without a colon";
    assert!(
        error.contains(message),
        "{message:?} missing from:\n{error}"
    );
    assert!(output.stdout.is_empty(), "it announced a listener");
}
