//! Webhooks' rules (contract section 15) as pure functions: who manages them, which events a
//! webhook's patterns select, which URLs and addresses it may be sent to, when a failed delivery
//! is tried again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{EventContext, EventKind, OrgRole};

/// OWNER and ADMINISTRATORS manage their organization's webhooks.
pub fn can_manage_webhooks(role: OrgRole) -> bool {
    role >= OrgRole::Administrators
}

/// The most webhooks an organization may have.
pub const MAX_WEBHOOKS_PER_ORG: i64 = 20;
/// The most characters of a webhook's URL.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;
/// The most patterns of a webhook's `events`.
pub const MAX_EVENT_PATTERNS: usize = 50;

/// One entry of a webhook's `events`: `context.event`, either side may be `*`; `*` alone is
/// every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPattern {
    context: Option<EventContext>,
    kind: Option<EventKind>,
}

impl EventPattern {
    /// Every event.
    pub const ALL: EventPattern = EventPattern {
        context: None,
        kind: None,
    };

    /// The pattern written `text`; None when it is not one.
    pub fn parse(text: &str) -> Option<EventPattern> {
        if text == "*" {
            return Some(EventPattern::ALL);
        }
        let (context, kind) = text.split_once('.')?;
        let context = match context {
            "*" => None,
            name => Some(
                (0..=13)
                    .filter_map(EventContext::from_index)
                    .find(|c| c.as_str() == name)?,
            ),
        };
        let kind = match kind {
            "*" => None,
            name => Some(
                (0..=2)
                    .filter_map(EventKind::from_index)
                    .find(|k| k.as_str() == name)?,
            ),
        };
        Some(EventPattern { context, kind })
    }

    /// Whether an event of `context` and `kind` matches.
    pub fn matches(self, context: EventContext, kind: EventKind) -> bool {
        self.context.is_none_or(|c| c == context) && self.kind.is_none_or(|k| k == kind)
    }
}

/// Whether any of `patterns` selects the event.
pub fn selects(patterns: &[EventPattern], context: EventContext, kind: EventKind) -> bool {
    patterns.iter().any(|p| p.matches(context, kind))
}

/// The type of an event's delivery: `workspace.created`.
pub fn event_type(context: EventContext, kind: EventKind) -> String {
    format!("{}.{}", context.as_str(), kind.as_str())
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not an absolute http(s) URL with a host, or too long.
    Malformed,
    /// `http` without `--webhooks-allow-http`, or an address refused by [`is_forbidden_ip`].
    Forbidden,
}

/// The URL a webhook may have: absolute, `https` (or `http` when `allow_http`), a host, no
/// fragment, at most [`MAX_WEBHOOK_URL_CHARS`]; an IP literal host must be allowed by
/// [`is_forbidden_ip`] unless `allow_private`. Host names are checked when resolved.
pub fn check_url(raw: &str, allow_http: bool, allow_private: bool) -> Result<url::Url, UrlRefusal> {
    if raw.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return Err(UrlRefusal::Malformed);
    }
    let url = url::Url::parse(raw).map_err(|_| UrlRefusal::Malformed)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err(UrlRefusal::Forbidden),
        _ => return Err(UrlRefusal::Malformed),
    }
    if url.fragment().is_some() {
        return Err(UrlRefusal::Malformed);
    }
    match url.host() {
        None => Err(UrlRefusal::Malformed),
        Some(url::Host::Ipv4(ip)) if !allow_private && is_forbidden_ip(IpAddr::V4(ip)) => {
            Err(UrlRefusal::Forbidden)
        }
        Some(url::Host::Ipv6(ip)) if !allow_private && is_forbidden_ip(IpAddr::V6(ip)) => {
            Err(UrlRefusal::Forbidden)
        }
        Some(_) => Ok(url),
    }
}

/// Addresses a webhook is never sent to unless `--webhooks-allow-private` (OWASP SSRF cheat
/// sheet): unspecified, loopback, private (RFC 1918, IPv6 unique local), shared (CGNAT,
/// 100.64/10), link-local (cloud metadata at 169.254.169.254 included), multicast, broadcast,
/// documentation, benchmarking and reserved ranges, and any of these inside IPv4-mapped, IPv4-compatible,
/// NAT64 or 6to4 IPv6 addresses.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry
    // an IPv4 address a router may reach.
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if segments[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return forbidden_v4(embedded(segments[6], segments[7]));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return forbidden_v4(embedded(segments[1], segments[2]));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10 (deprecated).
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32 and 3fff::/20 (RFC 9637).
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || (segments[0] == 0x3fff && segments[1] & 0xf000 == 0)
        // Benchmarking 2001:2::/48 (RFC 5180).
        || (segments[0] == 0x2001 && segments[1] == 0x0002 && segments[2] == 0)
}

/// The waits after each failed attempt (contract section 15): 5 s, 1 min, 5 min, 30 min, 2 h,
/// 8 h, 24 h, 36 h; after the ninth attempt fails, the delivery is given up.
pub const RETRY_DELAYS_MS: [i64; 8] = [
    5_000,
    60_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3_600_000,
    8 * 3_600_000,
    24 * 3_600_000,
    36 * 3_600_000,
];

/// A webhook whose deliveries have failed this long without a success is disabled.
pub const FAILING_DISABLE_MS: i64 = 3 * 24 * 3_600_000;

/// The wait before the next attempt after `attempts` failed ones (1 for the first), with
/// `jitter` in [0, 1) spreading it by up to a tenth either way; None when the delivery is given
/// up. `base` replaces every delay of the schedule when set (tests).
pub fn retry_delay_ms(attempts: i64, jitter: f64, base: Option<i64>) -> Option<i64> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let delay = *RETRY_DELAYS_MS.get(index)?;
    let delay = base.unwrap_or(delay);
    let spread = (delay as f64 * 0.1 * (jitter.clamp(0.0, 1.0) * 2.0 - 1.0)) as i64;
    Some((delay + spread).max(0))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn only_owners_and_administrators_manage_webhooks() {
        for role in OrgRole::ALL {
            let allowed = matches!(role, OrgRole::Owner | OrgRole::Administrators);
            assert_eq!(can_manage_webhooks(role), allowed, "{role:?}");
        }
    }

    #[test]
    fn patterns_select_by_context_and_event() {
        let parse = |t| EventPattern::parse(t).unwrap();
        let (ws, user) = (EventContext::Workspace, EventContext::User);
        let (created, updated) = (EventKind::Created, EventKind::Updated);
        assert!(parse("*").matches(ws, created));
        assert!(parse("workspace.created").matches(ws, created));
        assert!(!parse("workspace.created").matches(ws, updated));
        assert!(!parse("workspace.created").matches(user, created));
        assert!(parse("user.*").matches(user, updated));
        assert!(!parse("user.*").matches(ws, updated));
        assert!(parse("*.updated").matches(user, updated));
        assert!(!parse("*.updated").matches(user, created));
        for bad in [
            "",
            "workspace",
            "workspace.",
            ".created",
            "work.created",
            "user.made",
            "*.*.*",
            "USER.*",
        ] {
            assert_eq!(EventPattern::parse(bad), None, "{bad}");
        }
        assert!(selects(
            &[parse("user.*"), parse("workspace.deleted")],
            ws,
            EventKind::Deleted
        ));
        assert!(!selects(&[], ws, created));
        assert_eq!(event_type(ws, created), "workspace.created");
    }

    #[test]
    fn urls_are_https_with_a_host_unless_allowed() {
        assert!(check_url("https://example.com/hook", false, false).is_ok());
        assert_eq!(
            check_url("http://example.com/", false, false),
            Err(UrlRefusal::Forbidden)
        );
        assert!(check_url("http://example.com/", true, false).is_ok());
        for bad in [
            "example.com",
            "ftp://example.com/",
            "https://",
            "https://example.com/#x",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                check_url(bad, true, true),
                Err(UrlRefusal::Malformed),
                "{bad}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_WEBHOOK_URL_CHARS));
        assert_eq!(check_url(&long, false, false), Err(UrlRefusal::Malformed));
        for literal in [
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest",
            "https://[::ffff:127.0.0.1]/",
            "https://0x7f.1/",
        ] {
            assert_eq!(
                check_url(literal, false, false),
                Err(UrlRefusal::Forbidden),
                "{literal}"
            );
            assert!(check_url(literal, false, true).is_ok(), "{literal}");
        }
        assert!(check_url("https://93.184.215.14/", false, false).is_ok());
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        let forbidden = [
            "0.0.0.0",
            "127.0.0.1",
            "127.8.9.1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "0.1.2.3",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "3fff::1",
            "3fff:fff:ffff::1",
            "2001:2::1",
            "2001:2:0:ffff::1",
            "fec0::1",
        ];
        for text in forbidden {
            let ip: IpAddr = text.parse().unwrap();
            assert!(is_forbidden_ip(ip), "{text}");
        }
        for text in [
            "93.184.215.14",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::",
            "2001:3::1",
            "4000::1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(!is_forbidden_ip(ip), "{text}");
        }
    }

    #[test]
    fn retries_follow_the_schedule_with_a_tenth_of_jitter_then_give_up() {
        assert_eq!(retry_delay_ms(0, 0.5, None), None);
        assert_eq!(retry_delay_ms(1, 0.5, None), Some(5_000));
        assert_eq!(retry_delay_ms(1, 0.0, None), Some(4_500));
        assert_eq!(retry_delay_ms(2, 0.5, None), Some(60_000));
        assert_eq!(retry_delay_ms(8, 0.5, None), Some(36 * 3_600_000));
        assert_eq!(retry_delay_ms(9, 0.5, None), None);
        assert_eq!(retry_delay_ms(3, 0.5, Some(10)), Some(10));
        let total: i64 = RETRY_DELAYS_MS.iter().sum();
        assert!(
            total > 70 * 3_600_000 && total < FAILING_DISABLE_MS,
            "about 3 days"
        );
    }
}
