//! Accepting and serving HTTP/1.1 connections. `axum::serve` sets no header-read timeout and no
//! connection cap, so a client sending half a header held a connection (and its memory) for as
//! long as it liked; here hyper serves each connection with a header-read timeout, and a
//! semaphore caps how many are open at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::config::ConnectionLimits;

/// Accepts connections on `listener` and serves `router` on each, each connection watched by
/// `graceful` so a shutdown can wait for it. Runs until dropped: dropping it closes the listener
/// (connections already accepted go on, under `graceful`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    graceful: &GracefulShutdown,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    loop {
        // Taken before accepting, so at the cap the next connection is not even accepted.
        let Ok(permit) = open.clone().acquire_owned().await else {
            return; // Never closed; nothing left to serve if it were.
        };
        let (stream, client) = accept(&listener).await;
        // Answers are written whole; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        // The rate limiter reads the client's address as axum's `ConnectInfo`.
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(client));
                request
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Timeouts and clients going away: theirs to see, not an error of ours.
                tracing::debug!(%client, %error, "connection closed");
            }
            drop(permit);
        });
    }
}

/// The next connection. Errors are retried: a connection reset before it was accepted concerns
/// that client alone; others (too many open files) are logged and retried after a pause, as
/// `axum::serve` does, rather than stopping the server.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                tracing::error!(%error, "accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}
