//! A webhook receiver for `--webhooks N`: answers 204 to every delivery and records its lag, the
//! time from the event's `timestamp` (when the change was made) to its arrival here.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use hdrhistogram::Histogram;

/// The lags of the deliveries received, in milliseconds.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    lags: Arc<Mutex<Histogram<u64>>>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let lags = Arc::new(Mutex::new(Histogram::new_with_bounds(1, 3_600_000, 3)?));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(lags.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { addr, lags })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Forgets what was received (between runs).
    pub fn reset(&self) {
        self.lags.lock().unwrap().reset();
    }

    /// (deliveries, p50, p99, max) in ms.
    pub fn summary(&self) -> (u64, u64, u64, u64) {
        let lags = self.lags.lock().unwrap();
        (
            lags.len(),
            lags.value_at_quantile(0.5),
            lags.value_at_quantile(0.99),
            lags.max(),
        )
    }
}

async fn receive(State(lags): State<Arc<Mutex<Histogram<u64>>>>, body: Bytes) -> StatusCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(at) = body["timestamp"].as_str().and_then(parse_utc_ms) {
        lags.lock()
            .unwrap()
            .saturating_record((now - at).max(1) as u64);
    }
    StatusCode::NO_CONTENT
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z` as Unix milliseconds (the server's RFC 3339 form).
fn parse_utc_ms(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, d) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.split(':').map(|p| p.parse::<i64>());
    let (h, mi, s) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_servers_timestamps() {
        assert_eq!(super::parse_utc_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            super::parse_utc_ms("2026-11-23T19:52:28.123Z"),
            Some(1_795_463_548_123)
        );
        assert_eq!(
            super::parse_utc_ms("2026-11-23T19:52:28.1Z"),
            Some(1_795_463_548_100)
        );
    }
}
