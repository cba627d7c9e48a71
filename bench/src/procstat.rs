//! CPU time and resident memory of the server process, read from /proc (Linux).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

/// User + system CPU seconds the process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// User + system CPU seconds of this process's threads named `name` (e.g. a runtime's workers).
pub fn own_threads_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| stat_cpu_seconds(&stat))
        .sum()
}

/// utime + stime of a /proc stat line, in seconds.
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_second())
}

/// A `Vm*:` line of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the process's peak RSS (VmHWM) to its current RSS (`echo 5 > clear_refs`, Linux 4.0+;
/// needs the right to write there: the same user, or root).
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Measures a process during a window: CPU seconds used and peak RSS.
pub struct Meter {
    pid: u32,
    cpu_at_start: Option<f64>,
    peak_was_reset: bool,
    sampled_max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: tokio::task::JoinHandle<()>,
}

/// What a `Meter` saw.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu_seconds: Option<f64>,
    pub peak_rss_mib: Option<f64>,
}

impl Meter {
    /// Starts measuring now: resets the peak RSS and samples VmRSS every 50 ms as a fallback.
    pub fn start(pid: u32) -> Meter {
        let peak_was_reset = reset_peak_rss(pid);
        let cpu_at_start = cpu_seconds(pid);
        let sampled_max_kib = Arc::new(AtomicU64::new(status_kib(pid, "VmRSS:").unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (max, stop) = (sampled_max_kib.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = status_kib(pid, "VmRSS:") {
                        max.fetch_max(rss, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        Meter {
            pid,
            cpu_at_start,
            peak_was_reset,
            sampled_max_kib,
            stop,
            sampler,
        }
    }

    pub async fn finish(self) -> Usage {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.sampler.await;
        let cpu_seconds = match (self.cpu_at_start, cpu_seconds(self.pid)) {
            (Some(start), Some(end)) => Some(end - start),
            _ => None,
        };
        let sampled = self.sampled_max_kib.load(Ordering::Relaxed);
        // VmHWM is exact when it could be reset at the start; otherwise it is the peak since the
        // process started, and the 50 ms samples are the better figure.
        let peak_kib = match status_kib(self.pid, "VmHWM:") {
            Some(hwm) if self.peak_was_reset => Some(hwm.max(sampled)),
            _ => (sampled > 0).then_some(sampled),
        };
        Usage {
            cpu_seconds,
            peak_rss_mib: peak_kib.map(|kib| kib as f64 / 1024.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{cpu_seconds, status_kib};

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_some());
        assert!(status_kib(pid, "VmRSS:").unwrap() > 0);
        assert!(status_kib(pid, "VmHWM:").unwrap() > 0);
    }
}
