//! The time as the tests read it: Unix milliseconds, as the store keeps them, and RFC 3339, as
//! the wire shows them.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

/// Unix milliseconds as an RFC 3339 UTC string, as the wire shows timestamps (written here, not
/// taken from the server, so a change of format on the wire fails a test).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}
