//! The server under test: the release binary started on a fresh database, or a running one
//! (`--url`). Also runs `workspaces user verify` against its database.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use tokio::process::{Child, Command};

use crate::cli::Args;
use crate::client::{loopback_addr, Conn, Req};

/// The server the scenarios load.
pub struct Target {
    pub addr: SocketAddr,
    /// Its process, for CPU and memory figures (None: unknown, with --url and no --server-pid).
    pub pid: Option<u32>,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    bin: PathBuf,
    database_url: String,
    owned: Option<Owned>,
}

/// What the benchmark started and must stop and clean up.
struct Owned {
    child: Child,
    log: PathBuf,
    fresh_pg_database: Option<(String, String)>,
}

/// target/release/workspaces of this workspace, unless --server-bin says otherwise.
pub fn server_bin(args: &Args) -> PathBuf {
    if let Some(bin) = &args.server_bin {
        return bin.clone();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release/workspaces")
}

/// Fails with a clear message when the server binary is missing (or builds it with --build).
pub async fn ensure_built(bin: &Path, build: bool) -> anyhow::Result<()> {
    if build {
        eprintln!("building the server: cargo build --release -p workspaces");
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "-p", "workspaces"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .await
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p workspaces failed");
        }
    }
    if !bin.is_file() {
        bail!(
            "the server binary {} is missing: build it first with `cargo build --release` \
             (or pass --build, or --server-bin PATH)",
            bin.display()
        );
    }
    Ok(())
}

fn backend_of(database_url: &str) -> anyhow::Result<&'static str> {
    if database_url == "sqlite" || database_url.starts_with("sqlite:") {
        Ok("sqlite")
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok("postgres")
    } else {
        bail!("--db must be `sqlite` or a postgres:// URL (got {database_url:?})")
    }
}

/// The same PostgreSQL URL naming another database.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let host_start = base
        .find("://")
        .ok_or_else(|| anyhow!("not a URL: {url}"))?
        + 3;
    let prefix = match base[host_start..].find('/') {
        Some(at) => &base[..host_start + at],
        None => base,
    };
    Ok(format!("{prefix}/{name}{query}"))
}

async fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .await
        .context("running psql (needed to create a fresh PostgreSQL database)")?;
    if !out.status.success() {
        bail!(
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts the server on a fresh database: a SQLite file in `scratch`, or a new database on the
/// PostgreSQL server of `args.db`.
pub async fn start(args: &Args, bin: PathBuf, scratch: &Path) -> anyhow::Result<Target> {
    let backend = backend_of(&args.db)?;
    let (database_url, fresh_pg_database) = if backend == "sqlite" {
        if args.db != "sqlite" {
            bail!("--db sqlite takes no path: the benchmark always starts on a fresh file");
        }
        (
            format!("sqlite://{}", scratch.join("bench.db").display()),
            None,
        )
    } else {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        let name = format!("workspaces_bench_{}_{millis}", std::process::id());
        psql(&args.db, &format!("CREATE DATABASE {name}")).await?;
        (
            with_database(&args.db, &name)?,
            Some((args.db.clone(), name)),
        )
    };
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let log = scratch.join("server.log");
    let log_file = std::fs::File::create(&log)?;
    let child = Command::new(&bin)
        .arg("--database-url")
        .arg(&database_url)
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--rate-limit-per-ip", "0", "--rate-limit-per-account", "0"])
        .args(&args.server_args)
        .env("RUST_LOG", &args.server_log)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut target = Target {
        addr,
        pid: child.id(),
        backend,
        bin,
        database_url,
        owned: Some(Owned {
            child,
            log,
            fresh_pg_database,
        }),
    };
    if let Err(error) = target.wait_ready().await {
        let log = target.log_tail();
        target.stop(false).await.ok();
        bail!("{error:#}\nserver log:\n{log}");
    }
    Ok(target)
}

/// A server that is already running at --url (its database, for `user verify`, is --db).
pub fn attach(args: &Args, bin: PathBuf, url: &str) -> anyhow::Result<Target> {
    let addr = loopback_addr(url)?;
    let backend = backend_of(&args.db)?;
    if args.db == "sqlite" {
        bail!("with --url, --db must be that server's database URL (for `workspaces user verify`)");
    }
    Ok(Target {
        addr,
        pid: args.server_pid,
        backend,
        bin,
        database_url: args.db.clone(),
        owned: None,
    })
}

impl Target {
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(owned) = self.owned.as_mut() {
                if let Some(status) = owned.child.try_wait()? {
                    bail!("the server exited at start ({status})");
                }
            }
            if let Ok(Ok(mut conn)) =
                tokio::time::timeout(Duration::from_secs(1), Conn::connect(self.addr)).await
            {
                let ready = Req {
                    method: hyper::Method::GET,
                    path: "/ready".into(),
                    token: None,
                    body: None,
                };
                if conn.call(&ready, Duration::from_secs(5)).await.is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("the server did not become ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the started server's log.
    pub fn log_tail(&self) -> String {
        let Some(owned) = &self.owned else {
            return String::new();
        };
        let text = std::fs::read_to_string(&owned.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `workspaces --database-url URL user verify EMAIL`.
    pub async fn verify(&self, email: &str) -> anyhow::Result<()> {
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            Command::new(&self.bin)
                .arg("--database-url")
                .arg(&self.database_url)
                .args(["user", "verify", email])
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .map_err(|_| anyhow!("`workspaces user verify {email}` did not finish within 60 s"))??;
        if !out.status.success() {
            bail!(
                "`workspaces user verify {email}` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// On PostgreSQL, `ANALYZE` of the server's database: what autovacuum does on a server where
    /// it is on (on this machine it is off, and without statistics the planner picks plans that
    /// scan a whole organization). Nothing on SQLite.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        if self.backend != "postgres" {
            return Ok(());
        }
        tokio::time::timeout(
            Duration::from_secs(120),
            psql(&self.database_url, "ANALYZE"),
        )
        .await
        .map_err(|_| anyhow!("ANALYZE did not finish within 120 s"))?
    }

    /// Stops a started server (SIGTERM, then SIGKILL after 15 s) and drops its fresh PostgreSQL
    /// database unless `keep_db`. Does nothing to a server given by --url.
    pub async fn stop(&mut self, keep_db: bool) -> anyhow::Result<()> {
        let Some(mut owned) = self.owned.take() else {
            return Ok(());
        };
        if let Some(pid) = owned.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(15), owned.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                owned.child.kill().await.ok();
            }
        }
        if let Some((admin_url, name)) = owned.fresh_pg_database {
            if keep_db {
                eprintln!("kept the database {}", with_database(&admin_url, &name)?);
            } else {
                psql(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn renames_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "b").unwrap(),
            "postgres://u@h/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h", "b").unwrap(),
            "postgres://u@h/b"
        );
    }
}
