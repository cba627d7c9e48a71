//! What a login tells about the device it comes from (contract section 9): the official client's
//! `deviceInfo` when it sends a usable one, else the `User-Agent` header, read by the woothee
//! parser. Nothing here ever refuses a login: a malformed `deviceInfo` is ignored.
//!
//! A device is known per user by a fingerprint: SHA-256 (hex) of the user id, where the
//! description came from, and the fields that stay put on one device. From `deviceInfo`: its
//! `deviceType`, `os`, `browser`, `platform`, `screenResolution`, `hardwareConcurrency` and
//! `deviceMemory` (not `userAgent`, which changes with every browser update, nor `timezone` and
//! `language`, which change with travel). From a bare `User-Agent`: the browser's and the system's
//! names and the device type, without versions. Hashing the user id in keeps one laptop's
//! fingerprints of two accounts unrelated.

use std::net::IpAddr;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::UserId;

/// Longest name (`os`, `browser`, ...) kept, in characters; longer ones are cut.
const MAX_NAME_CHARS: usize = 100;
/// Longest `User-Agent` kept, in characters.
const MAX_USER_AGENT_CHARS: usize = 512;

/// How far a device is trusted: LOW when only a `User-Agent` described it, MEDIUM when the
/// client's `deviceInfo` did, HIGH while the user trusts it (30 days). Trust never skips MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustLevel {
    Low,
    Medium,
    High,
}

impl TrustLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustLevel::Low => "LOW",
            TrustLevel::Medium => "MEDIUM",
            TrustLevel::High => "HIGH",
        }
    }

    /// The level stored for how a device was seen (`LOW` or `MEDIUM`); anything else reads LOW.
    pub fn parse_seen(text: &str) -> TrustLevel {
        if text == "MEDIUM" {
            TrustLevel::Medium
        } else {
            TrustLevel::Low
        }
    }
}

/// What a login saw of its device, bounded and cleaned, with the client's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDevice {
    /// "Firefox on Linux".
    pub name: String,
    /// `DESKTOP`, `MOBILE`, `TABLET` or `UNKNOWN`.
    pub device_type: &'static str,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip_address: Option<IpAddr>,
    /// LOW or MEDIUM (see [`TrustLevel`]).
    pub level: TrustLevel,
    /// The fields the fingerprint hashes, source first.
    stable: Vec<String>,
}

/// The official client's `DeviceInfo`. Every field is optional here; unknown ones are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientDeviceInfo {
    user_agent: Option<String>,
    device_type: Option<String>,
    os: Option<String>,
    browser: Option<String>,
    platform: Option<String>,
    screen_resolution: Option<String>,
    hardware_concurrency: Option<serde_json::Number>,
    device_memory: Option<serde_json::Number>,
}

impl SeenDevice {
    /// The device of a login: from `device_info` when it is an object naming at least its `os`
    /// or `browser` with fields of the documented types, else from `user_agent`.
    pub fn of_login(
        device_info: Option<&serde_json::Value>,
        user_agent: Option<&str>,
        ip_address: Option<IpAddr>,
    ) -> SeenDevice {
        let header = user_agent.map(|ua| bounded(ua, MAX_USER_AGENT_CHARS));
        let header = header.filter(|ua| !ua.is_empty());
        let from_info = device_info
            .and_then(|value| ClientDeviceInfo::deserialize(value).ok())
            .and_then(|info| from_device_info(info, header.as_deref()));
        let mut seen = from_info.unwrap_or_else(|| from_user_agent(header.unwrap_or_default()));
        seen.ip_address = ip_address;
        seen
    }

    /// The device's fingerprint for `user`: SHA-256, hex.
    pub fn fingerprint(&self, user: UserId) -> String {
        let mut hash = Sha256::new();
        hash.update(user.uuid().as_bytes());
        for field in &self.stable {
            // Length-prefixed, so no two lists of fields hash alike.
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field.as_bytes());
        }
        hash.finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

fn from_device_info(info: ClientDeviceInfo, header: Option<&str>) -> Option<SeenDevice> {
    let field = |value: Option<String>| {
        value
            .map(|text| bounded(&text, MAX_NAME_CHARS))
            .filter(|text| !text.is_empty())
    };
    let (os, browser) = (field(info.os), field(info.browser));
    if os.is_none() && browser.is_none() {
        return None;
    }
    let user_agent = info
        .user_agent
        .map(|ua| bounded(&ua, MAX_USER_AGENT_CHARS))
        .filter(|ua| !ua.is_empty())
        .or_else(|| header.map(str::to_owned))
        .unwrap_or_default();
    let device_type = info
        .device_type
        .as_deref()
        .and_then(documented_device_type)
        .unwrap_or_else(|| parse_user_agent(&user_agent).device_type);
    let (os, browser) = (
        os.unwrap_or_else(|| "Unknown".to_owned()),
        browser.unwrap_or_else(|| "Unknown".to_owned()),
    );
    let number = |n: Option<serde_json::Number>| n.map(|n| n.to_string()).unwrap_or_default();
    let stable = vec![
        "deviceInfo".to_owned(),
        device_type.to_owned(),
        os.clone(),
        browser.clone(),
        field(info.platform).unwrap_or_default(),
        field(info.screen_resolution).unwrap_or_default(),
        number(info.hardware_concurrency),
        number(info.device_memory),
    ];
    Some(SeenDevice {
        name: format!("{browser} on {os}"),
        device_type,
        os,
        browser,
        user_agent,
        ip_address: None,
        level: TrustLevel::Medium,
        stable,
    })
}

fn from_user_agent(user_agent: String) -> SeenDevice {
    let parsed = parse_user_agent(&user_agent);
    let stable = vec![
        "userAgent".to_owned(),
        parsed.device_type.to_owned(),
        parsed.os.clone(),
        parsed.browser.clone(),
    ];
    SeenDevice {
        name: format!("{} on {}", parsed.browser, parsed.os),
        device_type: parsed.device_type,
        os: parsed.os,
        browser: parsed.browser,
        user_agent,
        ip_address: None,
        level: TrustLevel::Low,
        stable,
    }
}

struct ParsedAgent {
    device_type: &'static str,
    os: String,
    browser: String,
}

/// The browser, system and kind of device a `User-Agent` names ("Unknown" where it names none).
fn parse_user_agent(user_agent: &str) -> ParsedAgent {
    let parsed = woothee::parser::Parser::new().parse(user_agent);
    let known = |name: &str| {
        if name.is_empty() || name == woothee::woothee::VALUE_UNKNOWN {
            "Unknown".to_owned()
        } else {
            bounded(name, MAX_NAME_CHARS)
        }
    };
    let Some(parsed) = parsed else {
        return ParsedAgent {
            device_type: "UNKNOWN",
            os: "Unknown".to_owned(),
            browser: "Unknown".to_owned(),
        };
    };
    let device_type = match parsed.category {
        _ if parsed.os == "iPad" => "TABLET",
        "pc" => "DESKTOP",
        "smartphone" | "mobilephone" => "MOBILE",
        _ => "UNKNOWN",
    };
    ParsedAgent {
        device_type,
        os: known(parsed.os),
        browser: known(parsed.name),
    }
}

/// A `deviceType` of the client's documented set, in any case.
fn documented_device_type(text: &str) -> Option<&'static str> {
    ["DESKTOP", "MOBILE", "TABLET"]
        .into_iter()
        .find(|documented| documented.eq_ignore_ascii_case(text.trim()))
}

/// `text` trimmed, without control characters, at most `max` characters.
fn bounded(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{SeenDevice, TrustLevel};
    use crate::domain::UserId;

    const FIREFOX_LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    const FIREFOX_LINUX_NEXT: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

    #[test]
    fn a_user_agent_names_browser_system_and_kind_of_device() {
        let seen = SeenDevice::of_login(None, Some(FIREFOX_LINUX), None);
        assert_eq!(seen.name, "Firefox on Linux");
        assert_eq!(
            (seen.device_type, seen.os.as_str(), seen.browser.as_str()),
            ("DESKTOP", "Linux", "Firefox")
        );
        assert_eq!(seen.user_agent, FIREFOX_LINUX);
        assert_eq!(seen.level, TrustLevel::Low);
        let phone = SeenDevice::of_login(None, Some(SAFARI_IPHONE), None);
        assert_eq!(
            (phone.name.as_str(), phone.device_type),
            ("Safari on iPhone", "MOBILE")
        );
        let nothing = SeenDevice::of_login(None, None, None);
        assert_eq!(
            (nothing.name.as_str(), nothing.device_type),
            ("Unknown on Unknown", "UNKNOWN")
        );
    }

    #[test]
    fn device_info_wins_over_the_header_and_is_bounded() {
        let info = json!({
            "userAgent": FIREFOX_LINUX, "deviceType": "mobile", "os": " Android\u{7} ",
            "browser": "x".repeat(300), "screenResolution": "1080x2400", "extra": [1, 2],
        });
        let seen = SeenDevice::of_login(Some(&info), Some(SAFARI_IPHONE), None);
        assert_eq!(seen.device_type, "MOBILE");
        assert_eq!(seen.os, "Android");
        assert_eq!(seen.browser, "x".repeat(100));
        assert_eq!(seen.user_agent, FIREFOX_LINUX);
        assert_eq!(seen.level, TrustLevel::Medium);
    }

    #[test]
    fn a_malformed_device_info_falls_back_to_the_user_agent() {
        let header = SeenDevice::of_login(None, Some(FIREFOX_LINUX), None);
        for bad in [
            json!("a string"),
            json!({"os": 7, "browser": "Chrome"}),
            json!({"os": " ", "browser": ""}),
            json!({"screenResolution": "1x1"}),
            json!(null),
        ] {
            let seen = SeenDevice::of_login(Some(&bad), Some(FIREFOX_LINUX), None);
            assert_eq!(seen, header, "{bad}");
        }
    }

    #[test]
    fn fingerprints_are_per_user_and_ignore_what_changes_on_one_device() {
        let (alice, bob) = (UserId::new(), UserId::new());
        let before = SeenDevice::of_login(None, Some(FIREFOX_LINUX), None);
        let updated = SeenDevice::of_login(None, Some(FIREFOX_LINUX_NEXT), None);
        assert_eq!(before.fingerprint(alice), updated.fingerprint(alice));
        assert_ne!(before.fingerprint(alice), before.fingerprint(bob));
        assert_eq!(before.fingerprint(alice).len(), 64);
        let info = |tz: &str, screen: &str| json!({"os": "Linux", "browser": "Firefox", "timezone": tz, "screenResolution": screen});
        let fingerprint = |value| SeenDevice::of_login(Some(&value), None, None).fingerprint(alice);
        assert_eq!(
            fingerprint(info("Europe/Paris", "1920x1080")),
            fingerprint(info("Asia/Tokyo", "1920x1080"))
        );
        assert_ne!(
            fingerprint(info("Europe/Paris", "1920x1080")),
            fingerprint(info("Europe/Paris", "2560x1440"))
        );
        assert_ne!(
            fingerprint(info("Europe/Paris", "1920x1080")),
            before.fingerprint(alice)
        );
    }
}
