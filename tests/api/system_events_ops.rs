//! The operators' side of the audit trail: `workspaces events export` (the binary as a process)
//! and `--event-retention-days` (the background retention pass).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use workspaces::app::Application;
use workspaces::config::RetentionConfig;

use crate::support::app::{test_config, CapturingMailer};
use crate::support::binary::workspaces;
use crate::support::clock::now_ms;
use crate::support::event_cast::{EventCast, HOUR, MINUTE};

const DAY: i64 = 24 * HOUR;

/// Inserts `n` events by `actor` of `org`, created at `first`, `first + 1` ... (ms).
async fn bulk(cast: &EventCast, org: &str, actor: &str, n: i64, first: i64) {
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, \
         json_data, created_at) SELECT $1, $2, NULL, 3, 1, $2, NULL, {first} + i FROM n",
        last = n - 1
    );
    assert_eq!(cast.app.execute(&sql, &[org, actor]).await, n as u64);
}

/// The export's lines, parsed.
fn export(cast: &EventCast, args: &[&str]) -> Vec<Value> {
    let output = workspaces()
        .args(["--database-url", &cast.app.database_url, "events", "export"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The ids of the stored events, as text, in order.
async fn event_ids(cast: &EventCast) -> Vec<String> {
    let sql = "SELECT CAST(id AS TEXT) FROM system_events ORDER BY id";
    cast.app.strings(sql, &[]).await
}

fn ids(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|line| line["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn export_writes_json_lines_oldest_first_by_organization_and_time_across_batches() {
    let cast = EventCast::new().await;
    let (owner, stranger) = (&cast.owner, &cast.stranger);
    let mut first = EventCast::row(owner, 0, 0, &cast.workspace, 2 * DAY);
    first.workspace = Some(cast.workspace.clone());
    first.json_data = Some(r#"{"name":"Design"}"#);
    let first_id = cast.insert(&first).await;
    // Over two batches of the export (1,000 each), alternating organizations' blocks.
    let base = now_ms() - DAY;
    bulk(&cast, &owner.org_id, &owner.user_id, 1500, base).await;
    bulk(
        &cast,
        &stranger.org_id,
        &stranger.user_id,
        700,
        base + 10_000,
    )
    .await;
    bulk(&cast, &owner.org_id, &owner.user_id, 300, base + 20_000).await;

    let all = export(&cast, &[]);
    assert_eq!(all.len(), 2501);
    let all_ids = ids(&all);
    assert!(
        all_ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first, by id"
    );
    assert_eq!(all_ids[0], first_id);
    // A line is the event as the API shows it, without the reader's `showUnread`.
    let mut expected = EventCast::json(first_id, &first, owner, true);
    expected.as_object_mut().unwrap().remove("showUnread");
    assert_eq!(all[0], expected);

    let ours = export(&cast, &["--org", &owner.org_id]);
    assert_eq!(ours.len(), 1801);
    assert!(ours
        .iter()
        .all(|line| line["orgId"] == owner.org_id.as_str()));
    let theirs = export(&cast, &["--org", &stranger.org_id]);
    assert_eq!(theirs.len(), 700);
    assert!(ids(&theirs).windows(2).all(|w| w[0] < w[1]));

    let since = crate::support::clock::rfc3339(base + 10_000);
    let recent = export(&cast, &["--since", &since]);
    // All but the first event and the first 1,500's first 10,000 ms.
    assert_eq!(recent.len(), 700 + 300);
    let recent_ours = export(&cast, &["--org", &owner.org_id, "--since", &since]);
    assert_eq!(recent_ours.len(), 300);

    // A reader that stops early (`| head -1`) ends the export cleanly: it streams.
    let mut child = workspaces()
        .args(["--database-url", &cast.app.database_url, "events", "export"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), expected);
    assert!(child.wait().unwrap().success());

    for bad in [["--org", "acme"], ["--since", "yesterday"]] {
        let output = workspaces()
            .args(["--database-url", &cast.app.database_url, "events", "export"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
    }
}

/// Inserts `n` events like [`bulk`] does, each with a `json_data` of `bytes` bytes.
async fn bulk_with_data(
    cast: &EventCast,
    org: &str,
    actor: &str,
    n: i64,
    first: i64,
    bytes: usize,
) {
    let data = format!(r#"{{"pad":"{}"}}"#, "x".repeat(bytes - 10));
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, \
         json_data, created_at) SELECT $1, $2, NULL, 3, 1, $2, '{data}', {first} + i FROM n",
        last = n - 1
    );
    assert_eq!(cast.app.execute(&sql, &[org, actor]).await, n as u64);
}

/// Lines of an export left unread while its memory is read: more than a pipe (64 KiB) and the
/// export's output buffer hold, so it cannot have finished and exited.
const UNREAD_LINES: usize = 200;

/// The peak resident memory (VmHWM, kB) of `workspaces events export ARGS`, which writes `lines`
/// lines: read from /proc while the process is alive, blocked writing its last
/// [`UNREAD_LINES`] lines into a pipe this test stops reading; then the rest is read and the
/// export must end well.
#[cfg(target_os = "linux")]
fn export_peak_kb(cast: &EventCast, args: &[&str], lines: usize) -> u64 {
    let mut child = workspaces()
        .args(["--database-url", &cast.app.database_url, "events", "export"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    for read in 0..lines - UNREAD_LINES {
        line.clear();
        out.read_line(&mut line).unwrap();
        assert!(line.ends_with('\n'), "line {read} of {lines}: {line:?}");
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    assert_eq!(out.lines().count(), UNREAD_LINES);
    assert!(child.wait().unwrap().success());
    peak
}

/// "Constant memory at any size" (section 7): an export of 20,000 events of 1.5 KB each (30 MB of
/// event data) peaks within 16 MB of an export of 300, where holding them all would take 30 MB
/// more. (The export holds a batch of 1,000 events, decoded and, on PostgreSQL, as rows too, and
/// the allocator keeps a heap per runtime thread: 6 to 9 MB more than the small one here.)
#[cfg(target_os = "linux")]
#[tokio::test]
async fn export_memory_does_not_grow_with_the_events_it_writes() {
    let cast = EventCast::new().await;
    let (owner, stranger) = (&cast.owner, &cast.stranger);
    let base = now_ms() - DAY;
    bulk_with_data(&cast, &owner.org_id, &owner.user_id, 20_000, base, 1500).await;
    bulk_with_data(&cast, &stranger.org_id, &stranger.user_id, 300, base, 1500).await;

    let small = export_peak_kb(&cast, &["--org", &stranger.org_id], 300);
    let large = export_peak_kb(&cast, &[], 20_300);

    assert!(
        large.saturating_sub(small) < 16 * 1024,
        "peak {large} kB exporting 20,300 events, {small} kB exporting 300"
    );
}

/// Events per delete statement of the retention under test: its 2,300 old events take at least
/// 23 statements, which deleting them all in one statement would not.
const RETENTION_BATCH: u32 = 100;

/// What an instance's `GET /metrics` says of its retention.
#[derive(Debug)]
struct RetentionCounts {
    passes: u64,
    failed_passes: u64,
    batches: u64,
    deleted: u64,
}

async fn retention_counts(metrics_url: &str) -> RetentionCounts {
    let text = reqwest::get(metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counter = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    };
    RetentionCounts {
        passes: counter(r#"workspaces_event_retention_passes_total{outcome="success"}"#),
        failed_passes: counter(r#"workspaces_event_retention_passes_total{outcome="failure"}"#),
        batches: counter("workspaces_event_retention_batches_total"),
        deleted: counter("workspaces_event_retention_deleted_events_total"),
    }
}

/// Each instance's counts, once together they count `deleted` events (an instance counts a
/// batch just after its commit) and each has ended a pass, or 10 s have passed.
async fn retention_counts_once_done(metrics: &[String], deleted: u64) -> Vec<RetentionCounts> {
    let started = Instant::now();
    loop {
        let mut counts = Vec::new();
        for url in metrics {
            counts.push(retention_counts(url).await);
        }
        let counted: u64 = counts.iter().map(|c| c.deleted).sum();
        let ended = counts.iter().all(|c| c.passes + c.failed_passes > 0);
        if (counted >= deleted && ended) || started.elapsed() > Duration::from_secs(10) {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn retention_deletes_only_the_events_older_than_its_days_in_batches_from_several_instances() {
    let cast = EventCast::new().await;
    let owner = &cast.owner;
    // More old events than one batch, one of them marked read; then the young ones, the oldest
    // of which is just inside the window.
    bulk(
        &cast,
        &owner.org_id,
        &owner.user_id,
        2300,
        now_ms() - 3 * DAY,
    )
    .await;
    let read_old = cast
        .app
        .count("SELECT MIN(id) FROM system_events", &[])
        .await;
    let young = [
        EventCast::row(owner, 4, 1, &owner.org_id, DAY - 10 * MINUTE),
        EventCast::row(owner, 4, 1, &owner.org_id, HOUR),
    ];
    let mut young_ids = Vec::new();
    for row in &young {
        young_ids.push(cast.insert(row).await);
    }
    let mark = format!(
        "INSERT INTO system_event_reads (user_id, event_id) VALUES ($1, {read_old}), ($1, {})",
        young_ids[1]
    );
    cast.app.execute(&mark, &[&owner.user_id]).await;

    // Retention runs in two more instances on the database at once, started once the events
    // are in (an instance running it from the start could delete the old events before they are
    // marked), and together, so that their passes overlap.
    let mut pruners = Vec::new();
    for _ in 0..2 {
        let mut config = test_config(&cast.app.database_url);
        config.event_retention = Some(RetentionConfig {
            keep: Duration::from_secs(24 * 60 * 60),
            interval: Duration::from_millis(200),
            batch: RETENTION_BATCH,
        });
        let mailer = Arc::new(CapturingMailer::default());
        let pruner = Application::build_with_mailer(config, mailer)
            .await
            .unwrap();
        pruners.push(pruner);
    }
    let metrics: Vec<String> = pruners
        .into_iter()
        .map(|pruner| {
            let url = format!("http://127.0.0.1:{}/metrics", pruner.port());
            tokio::spawn(pruner.run_until(std::future::pending()));
            url
        })
        .collect();

    let started = Instant::now();
    while cast
        .app
        .count("SELECT COUNT(*) FROM system_events", &[])
        .await
        > 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "retention did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = event_ids(&cast).await;
    let young_text: Vec<String> = young_ids.iter().map(i64::to_string).collect();
    assert_eq!(left, young_text);
    let reads = cast
        .app
        .strings("SELECT CAST(event_id AS TEXT) FROM system_event_reads", &[])
        .await;
    assert_eq!(reads, [young_ids[1].to_string()]);
    // In batches of its size, by both instances, each old event deleted once (the counts are of
    // the rows each statement deleted), and no pass failed.
    let counts = retention_counts_once_done(&metrics, 2300).await;
    let deleted: u64 = counts.iter().map(|c| c.deleted).sum();
    assert_eq!(deleted, 2300, "{counts:?}");
    let batches: u64 = counts.iter().map(|c| c.batches).sum();
    assert!(
        batches >= 2300 / u64::from(RETENTION_BATCH),
        "{batches} batches of at most {RETENTION_BATCH}: {counts:?}"
    );
    for instance in &counts {
        assert!(instance.batches > 0, "both instances deleted: {counts:?}");
        assert_eq!(instance.failed_passes, 0, "{counts:?}");
        assert!(instance.passes > 0, "{counts:?}");
    }
    // Later passes keep the young ones. An old event added now shows that one has run since:
    // once it is gone, the young ones must still be there.
    bulk(&cast, &owner.org_id, &owner.user_id, 1, now_ms() - 3 * DAY).await;
    let old = format!(
        "SELECT COUNT(*) FROM system_events WHERE created_at < {}",
        now_ms() - DAY
    );
    let started = Instant::now();
    while cast.app.count(&old, &[]).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no later retention pass ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = event_ids(&cast).await;
    assert_eq!(left, young_text);
}
