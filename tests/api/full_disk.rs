//! A full disk, the fault every embedded database meets in the field (SQLite): the database file
//! on a small filesystem of its own (an 8 MiB tmpfs the test mounts), filled up under write load.
//! Writes answer their documented 500 and store nothing, reads keep working, no acknowledged write
//! is lost, the file passes `PRAGMA integrity_check`, and once space returns the same server
//! process writes again, without a restart.
//!
//! Mounting needs root, which CI has. Elsewhere the test cannot run: it says so on standard
//! error and passes, unless `CI` is set (as CI services and `.ci/run` set it), where it fails,
//! so that CI never skips it silently.
//!
//! SQLite only. PostgreSQL's disk is the database server's: a test cannot give one database a
//! filesystem of its own (a tablespace directory must be on the server's machine, owned by its
//! user), and filling its WAL's disk would stop the whole cluster, every other test's database
//! with it. On PostgreSQL a full disk fails the statement or the commit with an error, which
//! reaches the route's documented 500 by the same path as the faults the fault tests inject on
//! both backends.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{spawn_app_on_sqlite_file, TestApp};
use crate::support::assertions::assert_error;

const FAILED: &str = "Failed to create workspace";

/// A tmpfs mounted on a directory of its own, unmounted when dropped (lazily: the server under
/// test keeps its files open until the test's runtime ends).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it) on `dir`; None when this process
    /// may not mount.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Tmpfs {
                dir: dir.to_owned(),
            }),
            Ok(output) => {
                eprintln!("mount: {}", String::from_utf8_lossy(&output.stderr).trim());
                None
            }
            Err(error) => {
                eprintln!("mount: {error}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        // The temporary directory could not remove its mount point.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Fills the filesystem of `dir` with a file of its own up to its last byte, then gives `spare`
/// bytes back: the file, to delete when space is to return.
fn fill(dir: &Path, spare: u64) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(error) if error.raw_os_error() == Some(28) => break, // ENOSPC
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
    file.set_len(written.saturating_sub(spare)).unwrap();
    file.sync_all().unwrap();
    path
}

/// The names of the workspaces `writers` concurrent writers got a 201 for, each writing until it
/// has had `failures` 500s (every answer is one or the other); fails after 10 s (filling the
/// space left takes a fraction of a second).
async fn write_until_full(
    app: &TestApp,
    token: &str,
    writers: usize,
    failures: usize,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (client, url, token) = (
                reqwest::Client::new(),
                app.url("/workspace"),
                token.to_owned(),
            );
            tokio::spawn(async move {
                let mut created = Vec::new();
                let mut failed = 0;
                for i in 0.. {
                    assert!(
                        Instant::now() < deadline,
                        "writer {writer}: no write failed in 10 s ({} acknowledged): the disk \
                         never filled up, or writes that failed answered 201",
                        created.len()
                    );
                    let name = format!("d{writer}-{i}");
                    let request = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "name": name }));
                    let answer = TestApp::send(request).await;
                    match answer.status {
                        StatusCode::CREATED => created.push(name),
                        StatusCode::INTERNAL_SERVER_ERROR => {
                            assert_error(&answer, 500, FAILED, "INTERNAL_ERROR");
                            failed += 1;
                            if failed == failures {
                                return created;
                            }
                        }
                        other => panic!("writer {writer}: {other} {}", answer.body),
                    }
                }
                unreachable!()
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        created.extend(
            task.await
                .expect("each writer saw only 201s and the documented 500"),
        );
    }
    created
}

async fn stored_names(app: &TestApp) -> BTreeSet<String> {
    app.strings("SELECT name FROM workspaces", &[])
        .await
        .into_iter()
        .collect()
}

async fn integrity(app: &TestApp) -> Vec<String> {
    app.strings("PRAGMA integrity_check", &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_with_their_500_keeps_reads_and_heals_when_space_returns() {
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        // SQLite only: see the module's documentation.
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(dir.path(), "8m") else {
        let why =
            "a_full_disk_...: cannot mount a tmpfs (not root?): THE FULL-DISK TEST DID NOT RUN";
        assert!(
            std::env::var_os("CI").is_none_or(|ci| ci.is_empty()),
            "{why}"
        );
        eprintln!("\n!!! {why} !!!\n");
        return;
    };
    let file = dir.path().join("test.db");
    let mount = dir.path().to_owned();
    let app = spawn_app_on_sqlite_file(dir, file).await;
    let owner = app.register_verified("owner@example.com").await;
    let token = &owner.access_token;
    let first = app.create_workspace(token, "Before").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let before = first.body["workspace"]["id"].as_str().unwrap().to_owned();

    // Room for a few group commits, then none.
    let filler = fill(&mount, 512 * 1024);
    let created = write_until_full(&app, token, 4, 3).await;

    // Every write answered: the acknowledged ones are stored, those that failed left nothing.
    let mut acknowledged: BTreeSet<String> = created.into_iter().collect();
    acknowledged.insert("Before".to_owned());
    assert_eq!(stored_names(&app).await, acknowledged);
    assert_eq!(integrity(&app).await, ["ok"]);
    // Reads go on, through the server.
    let listed = app.get("/workspace", Some(token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let names: BTreeSet<String> = listed.body["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, acknowledged);
    let one = app.get(&format!("/workspace/{before}"), Some(token)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    let still_full = app.create_workspace(token, "Still full").await;
    assert_error(&still_full, 500, FAILED, "INTERNAL_ERROR");

    // Space returns: the same process writes again.
    std::fs::remove_file(filler).unwrap();
    for i in 0..5 {
        let name = format!("After {i}");
        let answer = app.create_workspace(token, &name).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        acknowledged.insert(name);
    }
    assert_eq!(stored_names(&app).await, acknowledged);
    assert_eq!(integrity(&app).await, ["ok"]);
}
