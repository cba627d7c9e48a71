//! The client's address, which the per-address limit and the login lock key on.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The address of the peer, or behind `hops` trusted proxies the one the outermost proxy saw.
///
/// Each proxy appends the address it received the request from to `X-Forwarded-For` (several
/// header lines read as one list, in order), so the `hops`-th entry from the right was written
/// by the outermost trusted proxy; everything left of it was written by the client and proves
/// nothing. A list shorter than `hops`, or an entry that is not an address, falls back to the
/// peer: every such request then shares the proxy's limit rather than picking its own.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trust_forwarded_for: bool,
    hops: usize,
) -> Option<IpAddr> {
    if !trust_forwarded_for {
        return peer;
    }
    forwarded(headers, hops.max(1)).or(peer)
}

fn forwarded(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let mut from_the_right = 0;
    for line in headers.get_all("x-forwarded-for").iter().rev() {
        // An unreadable line could hide where entries begin: trust none of them.
        let line = line.to_str().ok()?;
        for entry in line.rsplit(',') {
            from_the_right += 1;
            if from_the_right == hops {
                return parse(entry.trim());
            }
        }
    }
    None
}

/// `203.0.113.7`, `2001:db8::1`, or either with a port (`203.0.113.7:4711`, `[2001:db8::1]:80`).
fn parse(entry: &str) -> Option<IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::{HeaderMap, HeaderValue};

    use super::client_ip;

    fn headers(lines: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_static(line));
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_entry_the_outermost_trusted_proxy_appended_is_the_client() {
        let peer = ip("10.0.0.1");
        let spoofed = headers(&["1.1.1.1, 2.2.2.2", "203.0.113.7"]);
        assert_eq!(client_ip(&spoofed, peer, true, 1), ip("203.0.113.7"));
        assert_eq!(client_ip(&spoofed, peer, true, 2), ip("2.2.2.2"));
        let one_line = headers(&["1.1.1.1,203.0.113.7 , 10.0.0.2"]);
        assert_eq!(client_ip(&one_line, peer, true, 2), ip("203.0.113.7"));
        let with_port = headers(&["[2001:db8::1]:443"]);
        assert_eq!(client_ip(&with_port, peer, true, 1), ip("2001:db8::1"));
    }

    #[test]
    fn without_trust_or_a_usable_entry_the_peer_is_the_client() {
        let peer = ip("10.0.0.1");
        let forwarded = headers(&["203.0.113.7"]);
        assert_eq!(client_ip(&forwarded, peer, false, 1), peer);
        assert_eq!(client_ip(&forwarded, peer, true, 2), peer);
        assert_eq!(client_ip(&headers(&["unknown"]), peer, true, 1), peer);
        assert_eq!(client_ip(&HeaderMap::new(), peer, true, 1), peer);
    }
}
