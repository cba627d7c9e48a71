//! Test databases on PostgreSQL that aborted runs left behind: how test databases are named so
//! that a later run can tell them apart, and dropping them once per run.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

/// Test databases are named `ws_test_{unix seconds}_{host tag}_{pid}_{random}`, so that a later
/// run can tell an aborted run's leftovers from the databases of a run still going.
const DATABASE_PREFIX: &str = "ws_test_";
/// No test runs this long: a test database older than this is a leftover, whoever made it.
const LEFTOVER_AGE_SECS: u64 = 6 * 60 * 60;

pub static LEFTOVERS_DROPPED: OnceCell<()> = OnceCell::const_new();

pub fn test_database_name(created: u64, host: &str, pid: u32) -> String {
    let random = Uuid::new_v4().simple().to_string();
    format!("{DATABASE_PREFIX}{created}_{host}_{pid}_{}", &random[..12])
}

pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Six hex digits naming this machine, so a process id is only compared on the machine that
/// owns it (several machines may share one PostgreSQL server).
pub fn host_tag() -> String {
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

/// Drops the test databases earlier runs left behind (a run that was killed never reaches the
/// drop of its databases). Best effort: a failure here must not fail the test that happens to
/// run it.
pub async fn drop_leftover_databases(admin: &PgPool) {
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
