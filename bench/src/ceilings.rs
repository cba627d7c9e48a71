//! Ceilings of this machine, measured with the same tools: a bare axum handler that verifies an
//! HS256 JWT, loaded by the same load generator; and durable writes (write + fdatasync) on the
//! database's filesystem.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cli::Args;
use crate::client::Req;
use crate::loadgen::{self, new_histogram, Group, Window, Workload};
use crate::procstat::{own_threads_cpu_seconds, Usage};
use crate::report::{GroupFigures, RunFigures};

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(rename = "type")]
    token_type: String,
    iat: u64,
    exp: u64,
}

/// The name of the handler's runtime threads, whose CPU time is the "server CPU".
const SERVER_THREADS: &str = "ceiling-server";

struct Keys {
    decoding: DecodingKey,
    validation: Validation,
}

/// 200 with the token's subject for a valid HS256 bearer token, 401 otherwise.
async fn verify(State(keys): State<Arc<Keys>>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let claims = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| {
            jsonwebtoken::decode::<Claims>(token, &keys.decoding, &keys.validation).ok()
        });
    match claims {
        Some(data) if data.claims.token_type == "access" => (
            StatusCode::OK,
            Json(json!({ "success": true, "userId": data.claims.sub })),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "success": false, "message": "Unauthorized" })),
        ),
    }
}

struct Fixed(Req);

impl Workload for Fixed {
    fn next_request(&mut self) -> Req {
        self.0.clone()
    }
}

/// One run of `ceiling-http`: the handler runs on its own tokio runtime (as many worker threads
/// as CPUs, like the server) in this process; the load generator loads it over loopback.
pub async fn http(args: &Args) -> anyhow::Result<RunFigures> {
    let secret = b"ceiling-secret-of-at-least-32-bytes!!";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = Claims {
        sub: "0190a0b0-0000-7000-8000-000000000000".into(),
        token_type: "access".into(),
        iat: now,
        exp: now + 3600,
    };
    let token: Arc<str> = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )?
    .into();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "iat"]);
    let keys = Arc::new(Keys {
        decoding: DecodingKey::from_secret(secret),
        validation,
    });

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name(SERVER_THREADS)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let app = Router::new()
                .route("/ceiling", get(verify))
                .with_state(keys);
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    stopped.await.ok();
                })
                .await?;
            anyhow::Ok(())
        })?;
        // Connections still open after the shutdown signal end with the runtime.
        runtime.shutdown_timeout(Duration::from_secs(1));
        Ok(())
    });

    let req = Req::get("/ceiling", &token);
    let group = Group {
        label: "ceiling-http",
        connections: args.connections,
        factory: Box::new(move |_| Box::new(Fixed(req.clone()))),
    };
    let window = Window::starting_now(args.warmup, args.duration);
    let load = tokio::spawn(loadgen::run(addr, vec![group], window));
    tokio::time::sleep_until(window.measure_from.into()).await;
    let cpu_at_start = own_threads_cpu_seconds(SERVER_THREADS);
    let outcomes = load.await;
    let server_cpu_s = own_threads_cpu_seconds(SERVER_THREADS) - cpu_at_start;
    let _ = stop.send(());
    // The server thread ends once its connections close (the workers have dropped theirs).
    let joined = tokio::task::spawn_blocking(move || server.join());
    match tokio::time::timeout(Duration::from_secs(10), joined).await {
        Ok(Ok(Ok(result))) => result?,
        Ok(_) => anyhow::bail!("the ceiling-http server thread failed"),
        Err(_) => eprintln!("the ceiling-http server thread did not stop within 10 s"),
    }
    let usage = Usage {
        cpu_seconds: Some(server_cpu_s),
        peak_rss_mib: None,
    };
    Ok(RunFigures::new(&outcomes?, window.measured(), Some(usage)))
}

/// One run of `ceiling-fsync`: rewrites 4 KiB blocks of a preallocated 1 MiB file in `dir`,
/// each followed by fdatasync, from one thread; the figures count fsyncs per second.
pub async fn fsync(args: &Args, dir: &Path) -> anyhow::Result<RunFigures> {
    let path = dir.join(format!("ceiling-fsync-{}.dat", std::process::id()));
    let (warmup, duration) = (args.warmup, args.duration);
    let result = tokio::task::spawn_blocking({
        let path = path.clone();
        move || fsync_loop(&path, warmup, duration)
    })
    .await?;
    let _ = std::fs::remove_file(&path);
    result
}

fn fsync_loop(path: &Path, warmup: Duration, duration: Duration) -> anyhow::Result<RunFigures> {
    const BLOCK: usize = 4096;
    const BLOCKS: u64 = 256;
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    let block = [0xa5u8; BLOCK];
    // Preallocate, so the measured writes change no file size (like a recycled WAL).
    for i in 0..BLOCKS {
        file.write_all_at(&block, i * BLOCK as u64)?;
    }
    file.sync_all()?;
    let window = Window::starting_now(warmup, duration);
    let mut latency_us = new_histogram();
    let mut i = 0u64;
    loop {
        let started = Instant::now();
        if started >= window.until {
            break;
        }
        file.write_all_at(&block, (i % BLOCKS) * BLOCK as u64)?;
        file.sync_data()?;
        if started >= window.measure_from {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            latency_us.saturating_record(micros.max(1));
        }
        i += 1;
    }
    let main = GroupFigures::from_histogram(
        "ceiling-fsync",
        1,
        &latency_us,
        0,
        Vec::new(),
        window.measured(),
    );
    Ok(RunFigures {
        main,
        others: Vec::new(),
        server_cpu_s: None,
        server_cpu_us_per_request: None,
        server_peak_rss_mib: None,
    })
}
