//! The bodies of `/devices` (contract section 9).

use serde::Serialize;
use utoipa::ToSchema;

use super::constants::{Null, SuccessTrue};
use super::signed_in::SessionJson;
use crate::clock::rfc3339;
use crate::domain::{DeviceId, TrustLevel};
use crate::store::{Device, DeviceDetails};

/// How far a device is trusted: `HIGH` while the user trusts it, else `MEDIUM` when the client
/// described it (`deviceInfo`), `LOW` when only its `User-Agent` did. No level skips MFA.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrustLevelJson {
    Low,
    Medium,
    High,
}

impl From<TrustLevel> for TrustLevelJson {
    fn from(level: TrustLevel) -> Self {
        match level {
            TrustLevel::Low => TrustLevelJson::Low,
            TrustLevel::Medium => TrustLevelJson::Medium,
            TrustLevel::High => TrustLevelJson::High,
        }
    }
}

/// One of the caller's devices.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Device)]
#[serde(rename_all = "camelCase")]
pub struct DeviceJson {
    id: DeviceId,
    /// E.g. "Firefox on Linux".
    device_name: String,
    /// `DESKTOP`, `MOBILE`, `TABLET` or `UNKNOWN`.
    device_type: String,
    os: String,
    browser: String,
    /// The client address of its last login.
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<String>,
    /// Always null: no geolocation.
    country: Null,
    /// Always null: no geolocation.
    city: Null,
    is_trusted: bool,
    trust_level: TrustLevelJson,
    /// Its last login.
    #[schema(format = DateTime)]
    last_seen: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// When its trust ends; only while it is trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    trust_expires_at: Option<String>,
}

impl DeviceJson {
    /// The device as of `now` (a trust that has passed reads as none).
    pub fn at(device: &Device, now: i64) -> Self {
        let trusted_until = device.trusted_until_at(now);
        DeviceJson {
            id: device.id,
            device_name: device.name.clone(),
            device_type: device.device_type.clone(),
            os: device.os.clone(),
            browser: device.browser.clone(),
            ip_address: device.ip_address.clone(),
            country: Null,
            city: Null,
            is_trusted: trusted_until.is_some(),
            trust_level: device.trust_level_at(now).into(),
            last_seen: rfc3339(device.last_seen),
            created_at: rfc3339(device.created_at),
            trust_expires_at: trusted_until.map(rfc3339),
        }
    }
}

/// `GET /devices`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct DevicesResponse {
    success: SuccessTrue,
    devices: Vec<DeviceJson>,
}

impl DevicesResponse {
    pub fn at(devices: &[Device], now: i64) -> Self {
        DevicesResponse {
            success: SuccessTrue,
            devices: devices.iter().map(|d| DeviceJson::at(d, now)).collect(),
        }
    }
}

/// A device with what only its own page shows.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeviceDetails)]
#[serde(rename_all = "camelCase")]
pub struct DeviceDetailsJson {
    #[serde(flatten)]
    device: DeviceJson,
    /// The `User-Agent` (or `deviceInfo.userAgent`) of its last login.
    user_agent: String,
    /// What `POST /devices/trust` takes: SHA-256 (hex) of the device's stable fields, per user.
    device_fingerprint: String,
    /// Its live sessions, newest first.
    sessions: Vec<SessionJson>,
}

/// `GET /devices/{id}`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    success: SuccessTrue,
    device: DeviceDetailsJson,
}

impl DeviceResponse {
    pub fn at(details: DeviceDetails, now: i64) -> Self {
        let DeviceDetails { device, sessions } = details;
        DeviceResponse {
            success: SuccessTrue,
            device: DeviceDetailsJson {
                device: DeviceJson::at(&device, now),
                user_agent: device.user_agent,
                device_fingerprint: device.fingerprint,
                sessions: sessions.into_iter().map(SessionJson::from).collect(),
            },
        }
    }
}

/// `POST /devices/trust`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedResponse {
    success: SuccessTrue,
    /// Always `Device trusted successfully`.
    message: &'static str,
    /// When the trust ends: 30 days from now.
    #[schema(format = DateTime)]
    trust_expires_at: String,
}

impl TrustedResponse {
    pub fn new(trust_expires_at: i64) -> Self {
        TrustedResponse {
            success: SuccessTrue,
            message: "Device trusted successfully",
            trust_expires_at: rfc3339(trust_expires_at),
        }
    }
}
