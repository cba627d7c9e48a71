//! Running the `workspaces` binary itself, for the tests that need a real process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::support::app::TEST_POOL_SIZE;

/// The binary, with a clean environment (no database URL from the caller) and quiet logs.
pub fn workspaces() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workspaces"));
    command
        .env_remove("WORKSPACES_DATABASE_URL")
        .env("RUST_LOG", "warn");
    command
}

/// Starts `workspaces --database-url URL serve --listen 127.0.0.1:0 --db-max-connections N
/// EXTRA...` from `command` (whose stderr the caller may have set) and waits for the line the
/// server prints once it listens. Answers the child and the port it got. N is the suite's
/// `TEST_POOL_SIZE`, as for the servers the tests start in-process.
///
/// The port is the server's own choice: a port picked here and handed over would be free only
/// until someone else took it, and the suite runs many servers and connections at once (a
/// listener that lost that race could leave a test talking to another test's server).
pub fn serve(command: Command, database_url: &str, extra: &[&str]) -> (Child, u16) {
    serve_on(command, database_url, "127.0.0.1:0", extra)
}

/// [`serve`] with `--listen listen` (whose port must be 0).
pub fn serve_on(
    command: Command,
    database_url: &str,
    listen: &str,
    extra: &[&str],
) -> (Child, u16) {
    serve_pooled(command, database_url, listen, TEST_POOL_SIZE, extra)
}

/// [`serve_on`] with `--db-max-connections pool`, for a test whose requests hold more
/// connections at once than the suite's servers have.
pub fn serve_pooled(
    mut command: Command,
    database_url: &str,
    listen: &str,
    pool: u32,
    extra: &[&str],
) -> (Child, u16) {
    let mut child = command
        .args([
            "--database-url",
            database_url,
            "serve",
            "--listen",
            listen,
            "--db-max-connections",
            &pool.to_string(),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (port_tx, port_rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Reads to the end, so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on http://") {
                let addr: SocketAddr = addr.parse().expect("the announced address parses");
                let _ = port_tx.send(addr.port());
            }
        }
    });
    match port_rx.recv_timeout(Duration::from_secs(20)) {
        Ok(port) => (child, port),
        Err(RecvTimeoutError::Disconnected) => {
            panic!(
                "the server exited before listening: {}",
                child.wait().unwrap()
            )
        }
        Err(RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            panic!("the server did not listen within 20 s")
        }
    }
}

/// The raw answer of `GET /health` on 127.0.0.1:`port`, over a plain TCP connection closed after
/// it: for tests of the binary that check what reaches the wire.
pub fn raw_health(port: u16) -> String {
    use std::io::{Read, Write};
    let mut health = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    health.read_to_string(&mut answer).unwrap();
    answer
}
