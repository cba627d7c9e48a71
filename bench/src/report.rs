//! Figures of a run, medians over runs, the table on stdout and the JSON report.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::loadgen::GroupOutcome;
use crate::procstat::Usage;
use crate::scenarios::SeedFigures;

/// The figures of one group of connections in one run. Latencies in milliseconds.
#[derive(Serialize, Clone, Debug)]
pub struct GroupFigures {
    pub label: String,
    pub connections: usize,
    /// Successful requests started in the measured window.
    pub requests: u64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Non-2xx answers and failed requests, warm-up included.
    pub errors: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_samples: Vec<String>,
}

/// One run of a scenario: its main group (flattened), the other groups (the logins of
/// `reads-during-logins`), and the server's CPU seconds and peak RSS over the measured window.
#[derive(Serialize, Clone, Debug)]
pub struct RunFigures {
    #[serde(flatten)]
    pub main: GroupFigures,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<GroupFigures>,
    pub server_cpu_s: Option<f64>,
    /// Server CPU time per successful request of all groups, in microseconds.
    pub server_cpu_us_per_request: Option<f64>,
    pub server_peak_rss_mib: Option<f64>,
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn ms(micros: u64) -> f64 {
    round(micros as f64 / 1000.0, 3)
}

impl GroupFigures {
    pub fn from_histogram(
        label: &str,
        connections: usize,
        latency_us: &Histogram<u64>,
        errors: u64,
        error_samples: Vec<String>,
        measured: Duration,
    ) -> GroupFigures {
        let requests = latency_us.len();
        let empty = requests == 0;
        GroupFigures {
            label: label.to_owned(),
            connections,
            requests,
            requests_per_s: round(requests as f64 / measured.as_secs_f64(), 1),
            p50_ms: if empty {
                0.0
            } else {
                ms(latency_us.value_at_quantile(0.50))
            },
            p99_ms: if empty {
                0.0
            } else {
                ms(latency_us.value_at_quantile(0.99))
            },
            max_ms: if empty { 0.0 } else { ms(latency_us.max()) },
            errors,
            error_samples,
        }
    }

    fn of(outcome: &GroupOutcome, measured: Duration) -> GroupFigures {
        GroupFigures::from_histogram(
            outcome.label,
            outcome.connections,
            &outcome.latency_us,
            outcome.errors,
            outcome.error_samples.clone(),
            measured,
        )
    }

    /// Per-figure medians; errors are added up (any error fails the benchmark).
    fn median(runs: &[&GroupFigures]) -> GroupFigures {
        let pick = |f: fn(&GroupFigures) -> f64| median(runs.iter().map(|r| f(r)).collect());
        let first = runs[0];
        GroupFigures {
            label: first.label.clone(),
            connections: first.connections,
            requests: pick(|r| r.requests as f64) as u64,
            requests_per_s: pick(|r| r.requests_per_s),
            p50_ms: pick(|r| r.p50_ms),
            p99_ms: pick(|r| r.p99_ms),
            max_ms: pick(|r| r.max_ms),
            errors: runs.iter().map(|r| r.errors).sum(),
            error_samples: runs
                .iter()
                .flat_map(|r| r.error_samples.iter().cloned())
                .take(5)
                .collect(),
        }
    }
}

/// The median (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn median_of_some(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let values: Vec<f64> = values.flatten().collect();
    (!values.is_empty()).then(|| round(median(values), 3))
}

impl RunFigures {
    pub fn new(outcomes: &[GroupOutcome], measured: Duration, usage: Option<Usage>) -> RunFigures {
        let mut groups = outcomes.iter().map(|o| GroupFigures::of(o, measured));
        let main = groups.next().expect("a scenario has at least one group");
        let others: Vec<GroupFigures> = groups.collect();
        let requests = main.requests + others.iter().map(|g| g.requests).sum::<u64>();
        let cpu = usage.and_then(|u| u.cpu_seconds);
        RunFigures {
            main,
            others,
            server_cpu_s: cpu.map(|s| round(s, 2)),
            server_cpu_us_per_request: cpu
                .filter(|_| requests > 0)
                .map(|s| round(s * 1e6 / requests as f64, 1)),
            server_peak_rss_mib: usage.and_then(|u| u.peak_rss_mib).map(|m| round(m, 1)),
        }
    }

    pub fn errors(&self) -> u64 {
        self.main.errors + self.others.iter().map(|g| g.errors).sum::<u64>()
    }

    pub fn median(runs: &[RunFigures]) -> RunFigures {
        let main = GroupFigures::median(&runs.iter().map(|r| &r.main).collect::<Vec<_>>());
        let others = (0..runs[0].others.len())
            .map(|i| GroupFigures::median(&runs.iter().map(|r| &r.others[i]).collect::<Vec<_>>()))
            .collect();
        RunFigures {
            main,
            others,
            server_cpu_s: median_of_some(runs.iter().map(|r| r.server_cpu_s)),
            server_cpu_us_per_request: median_of_some(
                runs.iter().map(|r| r.server_cpu_us_per_request),
            ),
            server_peak_rss_mib: median_of_some(runs.iter().map(|r| r.server_peak_rss_mib)),
        }
    }
}

#[derive(Serialize)]
pub struct ScenarioReport {
    pub name: &'static str,
    pub description: &'static str,
    /// Per-figure medians of the runs (errors: their sum).
    pub median: RunFigures,
    pub runs: Vec<RunFigures>,
}

#[derive(Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
                .unwrap_or_default(),
            memory_gib: round(memory_kib / 1024.0 / 1024.0, 1),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        }
    }
}

/// The 1, 5 and 15 minute load averages (other work on the machine shows here).
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Serialize)]
pub struct Settings {
    pub connections: usize,
    pub login_connections: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub runs: usize,
    pub big_workspaces: usize,
}

#[derive(Serialize)]
pub struct Report {
    /// `sqlite`, `postgres`, or null when only ceilings ran.
    pub backend: Option<&'static str>,
    pub started_at_unix: u64,
    pub machine: Machine,
    /// /proc/loadavg before the first and after the last scenario.
    pub load_average_start: String,
    pub load_average_end: String,
    pub settings: Settings,
    pub seeding: Vec<SeedFigures>,
    pub scenarios: Vec<ScenarioReport>,
    /// True when any request failed (any non-2xx answer).
    pub failed: bool,
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// The server figures of a table row (none on the rows of secondary groups).
type ServerCells = Option<(Option<f64>, Option<f64>, Option<f64>)>;

fn server_cells(figures: &RunFigures) -> ServerCells {
    Some((
        figures.server_cpu_s,
        figures.server_cpu_us_per_request,
        figures.server_peak_rss_mib,
    ))
}

fn row(name: &str, g: &GroupFigures, server: ServerCells) -> String {
    let (cpu, per_request, rss) = server.unwrap_or_default();
    format!(
        "{name:<26} {:>5} {:>10.1} {:>8.2} {:>8.2} {:>9.2} {:>6} {:>7} {:>8} {:>8}",
        g.connections,
        g.requests_per_s,
        g.p50_ms,
        g.p99_ms,
        g.max_ms,
        g.errors,
        opt(cpu, 1),
        opt(per_request, 0),
        opt(rss, 1),
    )
}

/// One line for a run, printed as it finishes.
pub fn run_line(scenario: &str, run: usize, figures: &RunFigures) -> String {
    let mut line = row(
        &format!("{scenario} #{}", run + 1),
        &figures.main,
        server_cells(figures),
    );
    for other in &figures.others {
        line.push('\n');
        line.push_str(&row(&format!("  + {}", other.label), other, None));
    }
    line
}

pub fn header() -> String {
    format!(
        "{:<26} {:>5} {:>10} {:>8} {:>8} {:>9} {:>6} {:>7} {:>8} {:>8}",
        "scenario",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "CPU s",
        "CPU us/r",
        "RSS MiB"
    )
}

/// The table of medians.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "backend: {}; {} connections, {:.0} s warm-up + {:.0} s measured, median of {} runs; \
         CPU s and RSS are the server's over the measured window\n",
        report.backend.unwrap_or("none"),
        report.settings.connections,
        report.settings.warmup_s,
        report.settings.duration_s,
        report.settings.runs,
    ));
    out.push_str(&format!(
        "load average (1/5/15 min): {} at the start, {} at the end\n",
        report.load_average_start, report.load_average_end
    ));
    out.push_str(&header());
    out.push('\n');
    for scenario in &report.scenarios {
        let m = &scenario.median;
        out.push_str(&row(scenario.name, &m.main, server_cells(m)));
        out.push('\n');
        for other in &m.others {
            out.push_str(&row(&format!("  + {}", other.label), other, None));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{median, GroupFigures, RunFigures};

    fn run(rps: f64, errors: u64) -> RunFigures {
        RunFigures {
            main: GroupFigures {
                label: "get".into(),
                connections: 64,
                requests: rps as u64,
                requests_per_s: rps,
                p50_ms: rps / 100.0,
                p99_ms: 1.0,
                max_ms: 2.0,
                errors,
                error_samples: vec![],
            },
            others: vec![],
            server_cpu_s: Some(rps),
            server_cpu_us_per_request: None,
            server_peak_rss_mib: None,
        }
    }

    #[test]
    fn medians_and_summed_errors() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        let m = RunFigures::median(&[run(300.0, 0), run(100.0, 1), run(200.0, 2)]);
        assert_eq!(m.main.requests_per_s, 200.0);
        assert_eq!(m.main.p50_ms, 2.0);
        assert_eq!(m.main.errors, 3);
        assert_eq!(m.server_cpu_s, Some(200.0));
        assert_eq!(m.server_peak_rss_mib, None);
    }
}
