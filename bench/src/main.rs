//! Load benchmark of the workspaces server. See BENCHMARKS.md at the repository root.
//!
//! `cargo run --release -p bench -- --db sqlite` starts target/release/workspaces on a fresh
//! database, seeds it through the API, runs every scenario (warm-up, then a fixed time at a fixed
//! number of connections, 3 times), and prints the medians; `--json PATH` writes them as JSON.

mod ceilings;
mod cli;
mod client;
mod loadgen;
mod procstat;
mod receiver;
mod report;
mod scenarios;
mod seed;
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;

use cli::{Args, Scenario};
use report::{Machine, Report, RunFigures, ScenarioReport, Settings};
use scenarios::Fixtures;
use seed::Seeder;
use server::Target;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("FAILED: some requests failed (any non-2xx answer is an error)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A directory for the fresh SQLite database, the server's log and the fsync file, under the
/// workspace's target directory: on the repository's disk, never a tmpfs.
fn scratch_dir() -> anyhow::Result<PathBuf> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(format!("{}-{millis}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Returns whether every request succeeded.
async fn run(args: Args) -> anyhow::Result<bool> {
    if args.connections == 0 || args.runs == 0 || args.duration.is_zero() {
        bail!("--connections, --runs and --duration must be above zero");
    }
    let needs_server = args.scenarios.iter().any(|s| s.needs_server());
    let bin = server::server_bin(&args);
    if needs_server {
        server::ensure_built(&bin, args.build).await?;
    }
    let scratch = scratch_dir()?;
    let mut target = None;
    if needs_server {
        let started = match &args.url {
            Some(url) => server::attach(&args, bin, url),
            None => server::start(&args, bin, &scratch).await,
        };
        match started {
            Ok(started) => target = Some(started),
            Err(error) => {
                std::fs::remove_dir_all(&scratch).ok();
                return Err(error);
            }
        }
    }
    // Interrupted (Ctrl-C, SIGTERM): stop the server and clean up all the same.
    let outcome = tokio::select! {
        outcome = bench(&args, target.as_ref(), &scratch) => outcome,
        signal = interrupted() => Err(anyhow::anyhow!("interrupted by {signal}")),
    };
    if let (Err(_), Some(target)) = (&outcome, &target) {
        eprintln!("server log (last lines):\n{}", target.log_tail());
    }
    if let Some(target) = target.as_mut() {
        target.stop(args.keep_db).await?;
    }
    if args.keep_db {
        eprintln!("kept {}", scratch.display());
    } else {
        std::fs::remove_dir_all(&scratch).ok();
    }
    let report = outcome?;
    print!("\n{}", report::table(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("JSON report: {}", path.display());
    }
    Ok(!report.failed)
}

async fn interrupted() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

async fn bench(args: &Args, target: Option<&Target>, scratch: &Path) -> anyhow::Result<Report> {
    let started_at_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let load_average_start = report::load_average();
    let seeder = target.map(|t| Seeder::new(t, args.seed_connections));
    let (fixtures, seeding) = match &seeder {
        Some(seeder) => Fixtures::prepare(args, seeder).await?,
        None => (Fixtures::default(), Vec::new()),
    };
    println!("{}", report::header());
    let mut scenarios = Vec::new();
    let mut failed = false;
    for &scenario in &args.scenarios {
        // Fresh statistics, as autovacuum's auto-analyze would keep them (earlier scenarios
        // added rows: the login scenario alone adds thousands of sessions).
        if let Some(target) = target {
            target.analyze().await?;
        }
        let mut runs = Vec::new();
        for run in 0..args.runs {
            let figures = run_scenario(
                args,
                scenario,
                target,
                seeder.as_ref(),
                &fixtures,
                scratch,
                run,
            )
            .await
            .with_context(|| format!("scenario {scenario}, run {}", run + 1))?;
            println!("{}", report::run_line(scenario.name(), run, &figures));
            let groups = std::iter::once(&figures.main).chain(&figures.others);
            for sample in groups.flat_map(|g| &g.error_samples) {
                eprintln!("  error: {sample}");
            }
            failed |= figures.errors() > 0;
            runs.push(figures);
        }
        scenarios.push(ScenarioReport {
            name: scenario.name(),
            description: scenarios::describe(scenario),
            median: RunFigures::median(&runs),
            runs,
        });
    }
    Ok(Report {
        backend: target.map(|t| t.backend),
        started_at_unix,
        machine: Machine::read(),
        load_average_start,
        load_average_end: report::load_average(),
        settings: Settings {
            connections: args.connections,
            login_connections: args.login_connections,
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            runs: args.runs,
            big_workspaces: args.big_workspaces,
        },
        seeding,
        scenarios,
        failed,
    })
}

async fn run_scenario(
    args: &Args,
    scenario: Scenario,
    target: Option<&Target>,
    seeder: Option<&Seeder<'_>>,
    fixtures: &Fixtures,
    scratch: &Path,
    run: usize,
) -> anyhow::Result<RunFigures> {
    match (scenario, target, seeder) {
        (Scenario::CeilingHttp, _, _) => ceilings::http(args).await,
        (Scenario::CeilingFsync, _, _) => {
            let dir = args.fsync_dir.as_deref().unwrap_or(scratch);
            ceilings::fsync(args, dir).await
        }
        (_, Some(target), Some(seeder)) => {
            let groups = scenarios::groups(scenario, args, fixtures, seeder, run).await?;
            let figures = scenarios::measure(target, groups, args).await;
            if let Some(receiver) = &fixtures.receiver {
                // What was sent during the run arrives within the next seconds.
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                let (n, p50, p99, max) = receiver.summary();
                eprintln!("webhook deliveries: {n}, lag p50 {p50} ms, p99 {p99} ms, max {max} ms");
            }
            figures
        }
        _ => bail!("{scenario} needs the server"),
    }
}
