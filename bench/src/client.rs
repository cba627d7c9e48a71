//! One HTTP/1.1 keep-alive connection (hyper 1), and the requests the benchmark sends on it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// A request to send: method, path (with query), optional bearer token, optional JSON body.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub token: Option<Arc<str>>,
    pub body: Option<Bytes>,
}

impl Req {
    pub fn get(path: impl Into<String>, token: &Arc<str>) -> Req {
        Req {
            method: Method::GET,
            path: path.into(),
            token: Some(token.clone()),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, token: Option<&Arc<str>>, body: &Value) -> Req {
        Req {
            method: Method::POST,
            path: path.into(),
            token: token.cloned(),
            body: Some(Bytes::from(body.to_string())),
        }
    }
}

/// The I/O side of a connection: it must be polled for requests to make progress, and ends when
/// its `Conn` is dropped or the server closes the connection.
pub type Connection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// A connection to one server; requests go one at a time.
pub struct Conn {
    host: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Opens a connection whose I/O side the caller polls, e.g. in the same task as the
    /// requests (which saves a task wake-up per request).
    pub async fn open(addr: SocketAddr) -> anyhow::Result<(Conn, Connection)> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let conn = Conn {
            host: addr.to_string(),
            sender,
        };
        Ok((conn, connection))
    }

    /// Opens a connection whose I/O side runs in a task of its own.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
        let (conn, connection) = Conn::open(addr).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(conn)
    }

    /// Sends `req` and reads the whole answer.
    pub async fn send(&mut self, req: &Req) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut builder = Request::builder()
            .method(req.method.clone())
            .uri(req.path.as_str())
            .header(HOST, self.host.as_str());
        if let Some(token) = &req.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match &req.body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Full::new(body.clone())
            }
            None => Full::new(Bytes::new()),
        };
        let response = self.sender.send_request(builder.body(body)?).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    /// Sends `req` (within `timeout`), requires a 2xx answer, and parses it as JSON.
    pub async fn call(&mut self, req: &Req, timeout: Duration) -> anyhow::Result<Value> {
        let (status, body) = tokio::time::timeout(timeout, self.send(req))
            .await
            .map_err(|_| anyhow!("{} {}: no answer within {timeout:?}", req.method, req.path))??;
        if !status.is_success() {
            bail!(
                "{} {} answered {status}: {}",
                req.method,
                req.path,
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("{} {}: the answer is not JSON", req.method, req.path))
    }
}

/// The address of a loopback HTTP URL (`http://127.0.0.1:8080`); anything else is refused, so
/// the benchmark only ever talks to this machine.
pub fn loopback_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must start with http:// (got {url:?})"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = authority
        .parse()
        .map_err(|_| anyhow!("--url needs an IP address and port, e.g. http://127.0.0.1:8080"))?;
    if !addr.ip().is_loopback() {
        bail!("--url must be a loopback address (127.0.0.0/8 or [::1]); got {addr}");
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::loopback_addr;

    #[test]
    fn only_loopback_urls() {
        assert!(loopback_addr("http://127.0.0.1:8080").is_ok());
        assert!(loopback_addr("http://localhost:8080/").is_ok());
        assert!(loopback_addr("http://[::1]:8080").is_ok());
        assert!(loopback_addr("http://10.0.0.1:8080").is_err());
        assert!(loopback_addr("https://127.0.0.1:8080").is_err());
        assert!(loopback_addr("http://example.com:80").is_err());
    }
}
