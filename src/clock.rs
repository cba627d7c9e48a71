//! Wall-clock helpers. The store keeps Unix milliseconds; the wire shows RFC 3339 strings, except
//! `expiresAt`, which is milliseconds (contract section 1).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now_ms() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T19:52:28.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An RFC 3339 timestamp (any offset) as Unix milliseconds, sub-millisecond digits dropped;
/// None when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let time = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_rfc3339, rfc3339};

    #[test]
    fn parses_rfc3339_with_any_offset() {
        assert_eq!(
            parse_rfc3339("2026-11-23T19:52:28.123Z"),
            Some(1_795_463_548_123)
        );
        assert_eq!(
            parse_rfc3339("2026-11-23T20:52:28.123456+01:00"),
            Some(1_795_463_548_123)
        );
        for bad in ["", "2026-11-23", "yesterday", "2026-13-01T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_milliseconds_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_463_548_123), "2026-11-23T19:52:28.123Z");
    }
}
