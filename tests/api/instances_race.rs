//! Races across two server processes on one database: the rules hold because the database
//! enforces them, not because one process serialises its own requests. On PostgreSQL the two
//! processes have pools of their own; on SQLite each has its own writer on the one file, so the
//! two writers contend for the file's write lock, and a lock conflict (`SQLITE_BUSY`) must make
//! one wait, never fail: every answer here is a 2xx or the documented refusal, never a 500.

use std::path::PathBuf;
use std::process::{Child, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::app::spawn_app;
use crate::support::assertions::assert_answer;
use crate::support::at_once::{at_once, Side};
use crate::support::binary::{serve, workspaces};
use crate::support::cast::{
    active_admins, add_member, create, last_admin_body, role_of, taken_body, Cast,
};

/// A server process with its log in a file, killed when dropped.
struct Process {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    fn start(database_url: &str) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut command = workspaces();
        command.stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
        let unlimited = ["--rate-limit-per-ip", "0", "--rate-limit-per-account", "0"];
        let (child, port) = serve(command, database_url, &unlimited);
        Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn logs(processes: [&Process; 2]) -> String {
    format!(
        "first server's log:\n{}\nsecond server's log:\n{}",
        processes[0].log(),
        processes[1].log()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_creating_one_name_at_once_make_exactly_one_workspace() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let (one, two) = (
        Process::start(&app.database_url),
        Process::start(&app.database_url),
    );
    let (a, b) = (Side::new(&one.base), Side::new(&two.base));
    let token = &owner.access_token;

    for round in 0..10 {
        // One name up to case and surrounding space; each side's own spelling is what it stores.
        let names = [format!("Race {round}"), format!("  RACE {round} ")];
        let create_as = |side: &Side, name: &str| {
            side.request(
                Method::POST,
                "/workspace",
                token,
                Some(json!({ "name": name })),
            )
        };
        let (first, second) = at_once(
            (&a, create_as(&a, &names[0])),
            (&b, create_as(&b, &names[1])),
        )
        .await;

        let answers = [&first, &second];
        let created: Vec<usize> = (0..2)
            .filter(|i| answers[*i].status == StatusCode::CREATED)
            .collect();
        assert_eq!(
            created.len(),
            1,
            "round {round}: {first:?} {second:?}\n{}",
            logs([&one, &two])
        );
        let (won, lost) = (answers[created[0]], answers[1 - created[0]]);
        let id = won.body["workspace"]["id"].as_str().unwrap().to_owned();
        let made = json!({ "success": true, "workspace": {
            "id": id, "name": names[created[0]].trim(), "orgId": owner.org_id } });
        assert_answer(won, StatusCode::CREATED, &made);
        assert_answer(lost, StatusCode::CONFLICT, &taken_body());
        let live = "SELECT COUNT(*) FROM workspaces WHERE org_id = $1 AND deleted_at IS NULL";
        let expected = i64::from(round) + 1;
        assert_eq!(app.count(live, &[&owner.org_id]).await, expected);
        let members = "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1";
        assert_eq!(app.count(members, &[&id]).await, 1, "round {round}");
        assert_eq!(active_admins(&app, &id).await, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_removing_both_admins_at_once_leave_exactly_one() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let (one, two) = (
        Process::start(&app.database_url),
        Process::start(&app.database_url),
    );
    let (a, b) = (Side::new(&one.base), Side::new(&two.base));
    let token = &cast.owner.access_token;

    for round in 0..10 {
        let workspace = create(&app, &cast.manager, &format!("Race {round}")).await;
        add_member(&app, &cast.manager, &workspace, &cast.admin, "ADMIN").await;
        let targets = [&cast.manager, &cast.admin];
        let remove = |side: &Side, user_id: &str| {
            let path = format!("/workspace/{workspace}/users/{user_id}");
            side.request(Method::DELETE, &path, token, None)
        };

        let (first, second) = at_once(
            (&a, remove(&a, &targets[0].user_id)),
            (&b, remove(&b, &targets[1].user_id)),
        )
        .await;

        let answers = [&first, &second];
        let removed: Vec<usize> = (0..2)
            .filter(|i| answers[*i].status == StatusCode::OK)
            .collect();
        assert_eq!(
            removed.len(),
            1,
            "round {round}: {first:?} {second:?}\n{}",
            logs([&one, &two])
        );
        let (gone, kept) = (removed[0], 1 - removed[0]);
        assert_answer(answers[gone], StatusCode::OK, &json!({ "success": true }));
        assert_answer(answers[kept], StatusCode::BAD_REQUEST, &last_admin_body());
        assert!(role_of(&app, &workspace, targets[gone]).await.is_empty());
        assert_eq!(role_of(&app, &workspace, targets[kept]).await, ["ADMIN"]);
        assert_eq!(active_admins(&app, &workspace).await, 1, "round {round}");
    }
}
