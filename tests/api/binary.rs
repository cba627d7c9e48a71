//! Running the `workspaces` binary itself, for the tests that need a real process.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary, with a clean environment (no database URL from the caller) and quiet logs.
pub fn workspaces() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workspaces"));
    command
        .env_remove("WORKSPACES_DATABASE_URL")
        .env("RUST_LOG", "warn");
    command
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `workspaces --database-url URL serve --listen 127.0.0.1:PORT EXTRA...` from `command`
/// (whose stdout and stderr the caller may have set) and waits until it accepts connections.
pub fn serve(mut command: Command, database_url: &str, port: u16, extra: &[&str]) -> Child {
    let listen = format!("127.0.0.1:{port}");
    let child = command
        .args(["--database-url", database_url, "serve", "--listen", &listen])
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}
