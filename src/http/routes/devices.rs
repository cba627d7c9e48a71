//! The devices the caller signed in from (contract section 9): `GET /devices`,
//! `GET /devices/{id}`, `POST /devices/trust`, `POST /devices/{id}/untrust`,
//! `DELETE /devices/{id}`. A device is recorded by each login (`store::devices`); untrusting and
//! removing one end its sessions at once. Trust never skips MFA: a fingerprint is made of what
//! the client says about itself, which an attacker can copy. Every error of these routes, 401
//! included, carries the documented `error` text next to our envelope.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::response::Response;
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::{now_ms, rfc3339};
use crate::domain::{DeviceId, TrustLevel};
use crate::http::bodies::constants::{Null, SuccessTrue};
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{errors_in, Unauthorized};
use crate::http::bodies::sessions::SessionJson;
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal, ShapedError};
use crate::http::common::extract::{AuthUser, JsonBody, PathId};
use crate::http::AppState;
use crate::store::{Device, DeviceDetails};

/// What these routes answer on failure: the envelope plus `"error"`.
type DeviceError = ShapedError<ErrorWithText>;

/// A trust lasts 30 days.
const TRUST_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices))
        .routes(routes!(device_details, remove_device))
        .routes(routes!(trust_device))
        .routes(routes!(untrust_device))
}

fn device_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::DeviceNotFound, "Device not found")
}

/// How far a device is trusted: `HIGH` while the user trusts it, else `MEDIUM` when the client
/// described it (`deviceInfo`), `LOW` when only its `User-Agent` did. No level skips MFA.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum TrustLevelJson {
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
struct DeviceJson {
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
    fn at(device: &Device, now: i64) -> Self {
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
struct DevicesResponse {
    success: SuccessTrue,
    devices: Vec<DeviceJson>,
}

impl DevicesResponse {
    fn at(devices: &[Device], now: i64) -> Self {
        DevicesResponse {
            success: SuccessTrue,
            devices: devices.iter().map(|d| DeviceJson::at(d, now)).collect(),
        }
    }
}

/// The caller's devices, last seen first.
#[utoipa::path(
    get,
    path = "/devices",
    tag = "devices",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's devices", body = DevicesResponse),
        Unauthorized<ErrorWithText>,
        (status = 500, description = "Failed to fetch devices", body = ErrorWithText),
    )
)]
async fn list_devices(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
) -> Result<Json<DevicesResponse>, DeviceError> {
    let auth = auth?;
    let devices = state
        .store
        .list_devices(auth.user.id)
        .await
        .or_500("Failed to fetch devices")?;
    Ok(Json(DevicesResponse::at(&devices, now_ms())))
}

/// A device with what only its own page shows.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeviceDetails)]
#[serde(rename_all = "camelCase")]
struct DeviceDetailsJson {
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
struct DeviceResponse {
    success: SuccessTrue,
    device: DeviceDetailsJson,
}

impl DeviceResponse {
    fn at(details: DeviceDetails, now: i64) -> Self {
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

/// One of the caller's devices, with its fingerprint and live sessions.
#[utoipa::path(
    get,
    path = "/devices/{id}",
    tag = "devices",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A device id")),
    responses(
        (status = 200, description = "The device", body = DeviceResponse),
        Unauthorized<ErrorWithText>,
        (status = 404, description = "Device not found (unknown, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to fetch device", body = ErrorWithText),
    )
)]
async fn device_details(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<DeviceId>>,
) -> Result<Json<DeviceResponse>, DeviceError> {
    let auth = auth?;
    let now = now_ms();
    let details = state
        .store
        .device_details(auth.user.id, id.or(device_not_found)?, now)
        .await
        .or_500("Failed to fetch device")?
        .ok_or_else(device_not_found)?;
    Ok(Json(DeviceResponse::at(details, now)))
}

/// `POST /devices/trust`: which of the caller's devices.
#[derive(Deserialize, ToSchema)]
struct TrustBody {
    /// The device's `deviceFingerprint` (from `GET /devices/{id}`).
    #[schema(schema_with = schema::non_blank, required = true)]
    fingerprint: Option<String>,
}

/// `POST /devices/trust`, 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TrustedResponse {
    success: SuccessTrue,
    /// Always `Device trusted successfully`.
    message: &'static str,
    /// When the trust ends: 30 days from now.
    #[schema(format = DateTime)]
    trust_expires_at: String,
}

impl TrustedResponse {
    fn new(trust_expires_at: i64) -> Self {
        TrustedResponse {
            success: SuccessTrue,
            message: "Device trusted successfully",
            trust_expires_at: rfc3339(trust_expires_at),
        }
    }
}

/// The 413 and 415 of `POST /devices/trust`: `BodyRejected`, but with the 415 documented by
/// its message (`Content-Type must be application/json`), as that route has it.
struct TrustBodyRejected;

impl IntoResponses for TrustBodyRejected {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors_in::<ErrorWithText>(&[
            ("413", "Request body over 64 KiB"),
            ("415", "Content-Type must be application/json"),
        ])
    }
}

/// Trusts one of the caller's devices for 30 days (`trustLevel` HIGH). Trust does not skip MFA.
#[utoipa::path(
    post,
    path = "/devices/trust",
    tag = "devices",
    security(("bearerAuth" = [])),
    request_body = TrustBody,
    responses(
        (status = 200, description = "Device trusted successfully", body = TrustedResponse),
        (status = 400, description = "`MISSING_FIELD` (no fingerprint), malformed JSON, or an account not validated", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 404, description = "Device not found (no device of the caller has this fingerprint)", body = ErrorWithText),
        TrustBodyRejected,
        (status = 500, description = "Failed to trust device", body = ErrorWithText),
    )
)]
async fn trust_device(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
    body: Result<JsonBody<TrustBody>, ApiError>,
) -> Result<Json<TrustedResponse>, DeviceError> {
    let auth = auth?;
    let JsonBody(body) = body?;
    auth.require_validated()?;
    let fingerprint = body.fingerprint.as_deref().map(str::trim);
    let fingerprint = fingerprint
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::missing_field("fingerprint"))?;
    // A fingerprint is hex: one with a control character names no device (and PostgreSQL's
    // `text` refuses a NUL).
    if fingerprint.chars().any(char::is_control) {
        return Err(device_not_found().into());
    }
    let until = now_ms() + TRUST_TTL_MS;
    let trusted = state
        .store
        .trust_device(auth.user.id, fingerprint, until)
        .await
        .or_500("Failed to trust device")?;
    if !trusted {
        return Err(device_not_found().into());
    }
    Ok(Json(TrustedResponse::new(until)))
}

/// Ends the trust in one of the caller's devices, and every session on it.
#[utoipa::path(
    post,
    path = "/devices/{id}/untrust",
    tag = "devices",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A device id")),
    responses(
        (status = 200, description = "Device untrusted successfully; its sessions have ended", body = MessageResponse),
        (status = 400, description = "User not found or account is not validated", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 404, description = "Device not found (unknown, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to untrust device", body = ErrorWithText),
    )
)]
async fn untrust_device(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<DeviceId>>,
) -> Result<Json<MessageResponse>, DeviceError> {
    end_device(&state, auth, id, Ending::Untrust).await
}

/// Removes one of the caller's devices, ending every session on it. A later login from it
/// records it anew.
#[utoipa::path(
    delete,
    path = "/devices/{id}",
    tag = "devices",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "A device id")),
    responses(
        (status = 200, description = "Device removed successfully; its sessions have ended", body = MessageResponse),
        (status = 400, description = "User not found or account is not validated", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 404, description = "Device not found (unknown, or another user's)", body = ErrorWithText),
        (status = 500, description = "Failed to remove device", body = ErrorWithText),
    )
)]
async fn remove_device(
    State(state): State<AppState>,
    auth: Result<AuthUser, ApiError>,
    Path(id): Path<PathId<DeviceId>>,
) -> Result<Json<MessageResponse>, DeviceError> {
    end_device(&state, auth, id, Ending::Remove).await
}

/// The two ways of ending a device's sessions.
#[derive(Clone, Copy)]
enum Ending {
    Untrust,
    Remove,
}

/// Untrusts or removes one of the caller's devices, ending its sessions.
async fn end_device(
    state: &AppState,
    auth: Result<AuthUser, ApiError>,
    id: PathId<DeviceId>,
    ending: Ending,
) -> Result<Json<MessageResponse>, DeviceError> {
    let auth = auth?;
    auth.require_validated()?;
    let (user_id, device_id, now) = (auth.user.id, id.or(device_not_found)?, now_ms());
    let (ended, failed, done) = match ending {
        Ending::Untrust => (
            state.store.untrust_device(user_id, device_id, now).await,
            "Failed to untrust device",
            "Device untrusted successfully",
        ),
        Ending::Remove => (
            state.store.remove_device(user_id, device_id, now).await,
            "Failed to remove device",
            "Device removed successfully",
        ),
    };
    if !ended.or_500(failed)? {
        return Err(device_not_found().into());
    }
    Ok(Json(MessageResponse::new(done)))
}
