//! The command line of the benchmark.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Load benchmark for the workspaces server: seeds data through the API, runs each \
             scenario for a fixed time at a fixed number of connections, reports medians"
)]
pub struct Args {
    /// Backend of the server the benchmark starts: `sqlite` (a fresh file under
    /// target/bench-data/, removed at the end) or a `postgres://` URL (a fresh database is
    /// created on that server, ANALYZEd after seeding, and dropped at the end). With --url: the
    /// database URL of that running server, used for `workspaces user verify` (and ANALYZE).
    #[arg(long, default_value = "sqlite")]
    pub db: String,

    /// Target a server that is already running (e.g. http://127.0.0.1:8080) instead of starting
    /// one. Only loopback addresses are accepted. It must run without rate limits.
    #[arg(long)]
    pub url: Option<String>,

    /// With --url: the server's process id, to report its CPU seconds and peak RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// The server binary. Default: target/release/workspaces of this workspace.
    #[arg(long)]
    pub server_bin: Option<PathBuf>,

    /// Run `cargo build --release -p workspaces` before starting.
    #[arg(long)]
    pub build: bool,

    /// Extra argument passed to `workspaces serve` (repeat for several).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,

    /// RUST_LOG of the started server (at `info` it writes one line per request).
    #[arg(long, default_value = "warn")]
    pub server_log: String,

    /// Concurrent connections of each scenario (one request in flight per connection).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,

    /// Connections logging in continuously during `reads-during-logins`.
    #[arg(long, default_value_t = 16)]
    pub login_connections: usize,

    /// Measured time of each run (e.g. 10s, 1500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Warm-up before each run's measurement, on the same connections (not recorded).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// Runs of each scenario; the report gives the median.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,

    /// Scenarios to run, comma-separated. Default: all of them, in this order.
    #[arg(long, value_delimiter = ',', default_values_t = Scenario::all())]
    pub scenarios: Vec<Scenario>,

    /// Workspaces in the large organization (list-page, get-100k, create-100k).
    #[arg(long, default_value_t = 100_000)]
    pub big_workspaces: usize,

    /// Concurrent connections used to seed data.
    #[arg(long, default_value_t = 64)]
    pub seed_connections: usize,

    /// Webhooks configured on the organization of `create` (each to a receiver the benchmark
    /// runs, which reports the delivery lag after each run). The server must allow them:
    /// `--server-arg=--webhooks-allow-private --server-arg=--webhooks-allow-http`.
    #[arg(long, default_value_t = 0)]
    pub webhooks: usize,

    /// Requests per second of all the connections together (each paced evenly); default: as
    /// fast as answers come (closed loop).
    #[arg(long)]
    pub rate: Option<f64>,

    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Keep the fresh database (SQLite directory or PostgreSQL database) at the end.
    #[arg(long)]
    pub keep_db: bool,

    /// Directory of the ceiling-fsync file. Default: the run's directory under
    /// target/bench-data/, where the SQLite database lives (on PostgreSQL, check that it is on
    /// the filesystem of the data directory).
    #[arg(long)]
    pub fsync_dir: Option<PathBuf>,
}

/// The scenarios, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// POST /workspace with unique names, in a fresh organization per run.
    #[value(name = "create")]
    Create,
    /// GET /workspace/{id} over the 100 workspaces (3 members each) of an organization.
    #[value(name = "get")]
    Get,
    /// GET /workspace in an organization of 50 workspaces with 3 members each.
    #[value(name = "list")]
    List,
    /// GET /workspace?limit=50, following nextCursor, in an organization of 100 workspaces.
    #[value(name = "list-page-100")]
    ListPage100,
    /// POST /user/login (Argon2id-bound).
    #[value(name = "login")]
    Login,
    /// 45% get, 45% list (the 50 x 3 organization), 10% create (a fresh organization).
    #[value(name = "mixed")]
    Mixed,
    /// `get` on all connections while --login-connections more log in continuously.
    #[value(name = "reads-during-logins")]
    ReadsDuringLogins,
    /// GET /workspace?limit=50, following nextCursor, in the organization of 100k workspaces.
    #[value(name = "list-page")]
    ListPage,
    /// `get` over workspaces of the organization of 100k workspaces.
    #[value(name = "get-100k")]
    Get100k,
    /// `create` in the organization of 100k workspaces.
    #[value(name = "create-100k")]
    Create100k,
    /// Ceiling: an in-process bare axum handler verifying an HS256 JWT (no server started).
    #[value(name = "ceiling-http")]
    CeilingHttp,
    /// Ceiling: write + fdatasync of 4 KiB in one file, in a loop (no server started).
    #[value(name = "ceiling-fsync")]
    CeilingFsync,
}

impl Scenario {
    pub fn all() -> Vec<Scenario> {
        Scenario::value_variants().to_vec()
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Create => "create",
            Scenario::Get => "get",
            Scenario::List => "list",
            Scenario::ListPage100 => "list-page-100",
            Scenario::Login => "login",
            Scenario::Mixed => "mixed",
            Scenario::ReadsDuringLogins => "reads-during-logins",
            Scenario::ListPage => "list-page",
            Scenario::Get100k => "get-100k",
            Scenario::Create100k => "create-100k",
            Scenario::CeilingHttp => "ceiling-http",
            Scenario::CeilingFsync => "ceiling-fsync",
        }
    }

    /// Whether the scenario needs the workspaces server (the ceilings do not).
    pub fn needs_server(self) -> bool {
        !matches!(self, Scenario::CeilingHttp | Scenario::CeilingFsync)
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `10s`, `1500ms`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (e.g. 10s, 1500ms, 1m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit in {text:?}: use ms, s or m")),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("not a duration: {text:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("abc").is_err());
    }
}
