//! Connections: a header-read timeout (also the keep-alive idle limit) and a cap on open
//! connections, so slow or idle clients cannot hold the server's connections and memory
//! (slowloris).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use workspaces::app::Application;
use workspaces::config::ConnectionLimits;

use crate::support::app::{spawn_app_with, test_config, CapturingMailer, TestApp};
use crate::support::database::fresh::FreshDatabase;

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
const HEALTHY: &str = r#"{"success":true,"status":"ok"}"#;

async fn server(header_read_timeout: Duration, max_connections: usize) -> TestApp {
    spawn_app_with(|config| {
        config.connections = ConnectionLimits {
            header_read_timeout,
            max_connections,
        }
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    TcpStream::connect(addr).await.unwrap()
}

/// Reads one answer whose body has a Content-Length, and answers it whole (head and body).
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")?
                        .parse()
                        .ok()
                })
                .expect("a Content-Length");
            if body.len() >= length {
                return text;
            }
        }
        let read = stream.read(&mut chunk).await.unwrap();
        assert_ne!(read, 0, "closed mid-answer: {text}");
        answer.extend_from_slice(&chunk[..read]);
    }
}

/// Waits (at most 10 s) for the server to close `stream` without answering, and answers how
/// long that took.
async fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
        .await
        .expect("the server closed the connection within 10 s");
    // A reset is a close too.
    let read = read.unwrap_or(0);
    assert_eq!(
        read,
        0,
        "answered: {}",
        String::from_utf8_lossy(&chunk[..read])
    );
    started.elapsed()
}

#[tokio::test]
async fn a_connection_sending_half_a_header_is_closed_after_the_header_read_timeout() {
    let app = server(Duration::from_secs(1), 100).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();

    let elapsed = time_until_closed(&mut stream).await;

    assert!(
        elapsed >= Duration::from_millis(800),
        "closed after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "closed after {elapsed:?}");
    // The server itself goes on serving.
    let mut fresh = connect(&app).await;
    fresh.write_all(HEALTH).await.unwrap();
    let answer = read_answer(&mut fresh).await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with(HEALTHY),
        "{answer}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed_after_the_header_read_timeout() {
    let app = server(Duration::from_secs(1), 100).await;
    let mut stream = connect(&app).await;
    for _ in 0..2 {
        stream.write_all(HEALTH).await.unwrap();
        let answer = read_answer(&mut stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with(HEALTHY),
            "{answer}"
        );
    }

    let elapsed = time_until_closed(&mut stream).await;

    assert!(
        elapsed >= Duration::from_millis(800),
        "closed after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "closed after {elapsed:?}");
}

#[tokio::test]
async fn beyond_the_connection_cap_a_new_connection_waits_until_one_closes() {
    let app = server(Duration::from_secs(60), 2).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        stream.write_all(HEALTH).await.unwrap();
        assert!(read_answer(&mut stream).await.ends_with(HEALTHY));
        open.push(stream); // Kept alive: it holds its place.
    }
    // The kernel completes the handshake, but the server does not accept it yet.
    let mut third = connect(&app).await;
    third.write_all(HEALTH).await.unwrap();
    let waiting = tokio::time::timeout(Duration::from_millis(700), read_answer(&mut third)).await;
    assert!(waiting.is_err(), "served beyond the cap: {waiting:?}");

    drop(open.pop());

    let answer = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut third))
        .await
        .expect("served once a connection closed");
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with(HEALTHY),
        "{answer}"
    );
}

#[tokio::test]
async fn on_shutdown_a_request_in_flight_finishes_idle_connections_close_and_new_ones_are_refused()
{
    let database = FreshDatabase::create().await;
    let app = Application::build_with_mailer(
        test_config(&database.url),
        Arc::new(CapturingMailer::default()),
    )
    .await
    .expect("server builds");
    let addr = app.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(HEALTH).await.unwrap();
    assert!(read_answer(&mut idle).await.ends_with(HEALTHY));
    // A login whose body is half sent when the signal comes.
    let body = r#"{"email":"nobody@example.com","password":"Secret123"}"#;
    let (first, rest) = body.split_at(10);
    let mut busy = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /user/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{first}",
        body.len()
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.send(()).unwrap();

    assert!(time_until_closed(&mut idle).await < Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after the signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    busy.write_all(rest.as_bytes()).await.unwrap();
    let answer = read_answer(&mut busy).await;
    assert!(
        answer.starts_with("HTTP/1.1 401 Unauthorized\r\n")
            && answer.ends_with(
                r#"{"success":false,"message":"User not found","error_code":"USER_NOT_FOUND"}"#
            ),
        "{answer}"
    );
    let stopped = tokio::time::timeout(Duration::from_secs(5), serving).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server did not stop once its last request was answered: {stopped:?}"
    );
}
