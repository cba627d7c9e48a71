//! What a copy of the database is worth to an attacker (issue 15, item 2): it holds the
//! generated JWT key, but no session a token could be signed for, since the stored session id is
//! a hash of the secret the tokens carry. And the database's files and the key file are readable
//! by their owner only.

use std::os::unix::fs::PermissionsExt as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::{json, Value};
use uuid::Uuid;
use workspaces::app::Application;

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, spawn_app_with, test_config, TestApp};
use crate::support::assertions::assert_unauthorized;
use crate::support::binary::workspaces;
use crate::support::clock::now_ms;
use crate::support::sessions::{claims_of, profile};

/// What the copy holds: the JWT secret and every session row as (id, user id), ids as UUIDs.
struct Copy {
    jwt_secret: String,
    sessions: Vec<(String, String)>,
}

/// On SQLite, the database files copied aside and read there; on PostgreSQL, the rows read.
async fn copy_of_the_database(app: &TestApp) -> Copy {
    let secret_sql = "SELECT value FROM settings WHERE key = 'jwt_secret'";
    let Some(file) = app.sqlite_file() else {
        let jwt_secret = app.strings(secret_sql, &[]).await.remove(0);
        let ids = app
            .strings("SELECT CAST(id AS TEXT) FROM sessions", &[])
            .await;
        let users = app
            .strings("SELECT CAST(user_id AS TEXT) FROM sessions", &[])
            .await;
        let sessions = ids.into_iter().zip(users).collect();
        return Copy {
            jwt_secret,
            sessions,
        };
    };
    let dir = tempfile::tempdir().unwrap();
    let copied = dir.path().join("copy.db");
    std::fs::copy(file, &copied).unwrap();
    let wal = file.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, dir.path().join("copy.db-wal")).unwrap();
    }
    let conn = Connection::open(&copied).unwrap();
    let jwt_secret = conn.query_row(secret_sql, [], |row| row.get(0)).unwrap();
    let mut statement = conn.prepare("SELECT id, user_id FROM sessions").unwrap();
    let sessions = statement
        .query_map([], |row| {
            let id: Uuid = row.get(0)?;
            let user: Uuid = row.get(1)?;
            Ok((id.to_string(), user.to_string()))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    Copy {
        jwt_secret,
        sessions,
    }
}

/// An access token for `account`, signed with `secret`, whose `sid` is `sid`.
fn forge(secret: &str, account: &Account, sid: &str) -> String {
    let iat = now_ms() / 1000;
    let claims = json!({
        "userId": account.user_id, "email": account.email, "orgId": account.org_id,
        "type": "access", "sid": sid, "iat": iat, "exp": iat + 3600,
    });
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::default(), &claims, &key).unwrap()
}

#[tokio::test]
async fn a_copy_of_the_database_does_not_mint_tokens_for_its_live_sessions() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    assert_eq!(
        profile(&app, &account.access_token).await.status,
        StatusCode::OK
    );

    let copy = copy_of_the_database(&app).await;

    // Control: with the session's own secret (which only the client's tokens hold), the key
    // from the copy does sign a token the server accepts.
    let real_sid = claims_of(&account.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let control = forge(&copy.jwt_secret, &account, &real_sid);
    assert_eq!(profile(&app, &control).await.status, StatusCode::OK);
    // Everything the copy holds about the live session is not that secret.
    let (live_id, user_id) = copy
        .sessions
        .iter()
        .find(|(id, _)| *id == account.token_id)
        .expect("the copy holds the live session")
        .clone();
    assert_eq!(user_id, account.user_id);
    let id = Uuid::parse_str(&live_id).unwrap();
    let id_bytes = URL_SAFE_NO_PAD.encode(id.as_bytes());
    let mut padded = id.as_bytes().to_vec();
    padded.resize(32, 0);
    let padded = URL_SAFE_NO_PAD.encode(padded);
    for (id, _) in &copy.sessions {
        for sid in [id.as_str(), &id.replace('-', ""), &id_bytes, &padded] {
            let forged = forge(&copy.jwt_secret, &account, sid);
            assert_unauthorized(&profile(&app, &forged).await);
        }
    }
}

#[tokio::test]
async fn a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
    let app = spawn_app().await;
    let Some(file) = app.sqlite_file() else {
        return; // PostgreSQL: its files are the database server's.
    };
    app.register_verified("ann@example.com").await;

    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let mode = std::fs::metadata(&name).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name:?}");
    }
}

#[test]
fn an_existing_sqlite_database_open_to_others_is_tightened_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = format!("sqlite://{}", file.display());

    let output = workspaces()
        .args(["--database-url", &url, "migrate"])
        .output()
        .unwrap();

    assert!(output.status.success(), "{output:?}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let log = String::from_utf8(output.stderr).unwrap();
    assert!(
        log.contains("WARN") && log.contains("open to its group or others (mode 644)"),
        "{log}"
    );
}

/// A key file with `mode`, holding a 40-byte secret and a line break.
fn key_file(dir: &tempfile::TempDir, mode: u32) -> (std::path::PathBuf, String) {
    let path = dir.path().join("jwt.key");
    let secret = "k".repeat(40);
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    (path, secret)
}

#[tokio::test]
async fn the_jwt_key_file_signs_the_tokens_and_none_is_kept_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (path, secret) = key_file(&dir, 0o600);
    let app = spawn_app_with(|config| config.jwt_secret_file = Some(path)).await;
    let account = app.register_verified("ann@example.com").await;

    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let decoded = jsonwebtoken::decode::<Value>(
        &account.access_token,
        &key,
        &jsonwebtoken::Validation::default(),
    );
    assert!(decoded.is_ok(), "{decoded:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM settings", &[]).await, 0);
}

#[tokio::test]
async fn a_jwt_key_file_open_to_group_or_others_or_too_short_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.db").display());
    for mode in [0o640, 0o604] {
        let (path, _) = key_file(&dir, mode);
        let mut config = test_config(&url);
        config.jwt_secret_file = Some(path);

        let error = Application::build(config).await.err().expect("refused");

        let expected = format!("(mode {mode:o}): chmod 600 it");
        assert!(format!("{error:#}").contains(&expected), "{error:#}");
    }
    let path = dir.path().join("short.key");
    std::fs::write(&path, "short\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = test_config(&url);
    config.jwt_secret_file = Some(path);
    let error = Application::build(config).await.err().expect("refused");
    assert_eq!(
        error.to_string(),
        "--jwt-secret-file must be at least 32 bytes"
    );
}
