//! A 2xx means the change is on disk: killing the server with SIGKILL under write load loses no
//! acknowledged workspace, leaves none without its ADMIN, and the server restarts as it is.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::binary::{serve, workspaces};
use crate::helpers::{spawn_app, TestApp};

/// The server, and its port.
fn start_server(database_url: &str) -> (Child, u16) {
    let mut quiet = workspaces();
    quiet.stderr(Stdio::null());
    serve(quiet, database_url, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_write_load_loses_no_acknowledged_workspace() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let (mut server, port) = start_server(&app.database_url);
    let url = format!("http://127.0.0.1:{port}/workspace");

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let deadline = Instant::now() + Duration::from_millis(1500);
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, url, token) =
                (app.client.clone(), url.clone(), owner.access_token.clone());
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    if Instant::now() > deadline + Duration::from_secs(5) {
                        break;
                    }
                    let name = format!("w{writer}-{i}");
                    // Raced against SIGKILL, so read raw: an answer cut off is the expected end,
                    // not a failure (`TestApp::send` would fail the test on it).
                    let sent = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "name": name }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == StatusCode::CREATED => {
                            acknowledged.lock().unwrap().push(name)
                        }
                        Ok(response) => panic!(
                            "writer {writer} got {} {}",
                            response.status(),
                            response.text().await.unwrap_or_default()
                        ),
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep_until(deadline.into()).await;
    server.kill().unwrap(); // SIGKILL, mid-flight
    server.wait().unwrap();
    for writer in writers {
        writer
            .await
            .expect("every writer saw only 201s until the server was gone");
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 10,
        "the load ran: {} creates",
        acknowledged.len()
    );
    let stored = app
        .strings(
            "SELECT name FROM workspaces WHERE org_id = $1",
            &[&owner.org_id],
        )
        .await;
    for name in &acknowledged {
        assert!(
            stored.contains(name),
            "acknowledged workspace {name} was lost"
        );
    }
    let orphans = app
        .count(
            "SELECT COUNT(*) FROM workspaces w WHERE NOT EXISTS (SELECT 1 FROM workspace_members m \
             WHERE m.workspace_id = w.id AND m.role = 'ADMIN')",
            &[],
        )
        .await;
    assert_eq!(orphans, 0, "every workspace has its ADMIN");

    // It restarts on the same database without repair, and the data is there.
    let (mut server, port) = start_server(&app.database_url);
    let ready = TestApp::send(app.client.get(format!("http://127.0.0.1:{port}/ready"))).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let listed = TestApp::send(
        app.client
            .get(format!("http://127.0.0.1:{port}/workspace"))
            .bearer_auth(&owner.access_token),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed = listed.body["workspaces"]
        .as_array()
        .expect("a workspaces array");
    assert_eq!(
        listed.len(),
        stored.len(),
        "the listing shows every stored workspace"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
