//! What a login or a registration tells about its device: the `User-Agent` header and the
//! body's optional `deviceInfo` (read leniently by `domain::SeenDevice`).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::throttle::ClientAddr;
use crate::domain::SeenDevice;

/// The `User-Agent` header, if any (bytes that are not UTF-8 replaced).
pub struct UserAgent(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let value = parts.headers.get(header::USER_AGENT);
        Ok(UserAgent(value.map(|v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        })))
    }
}

/// A body's `deviceInfo`: any JSON, so that a malformed one never fails the request; what
/// cannot be read is ignored in favour of the `User-Agent`.
#[derive(Default, Deserialize)]
#[serde(transparent)]
pub struct DeviceInfoField(Option<serde_json::Value>);

impl DeviceInfoField {
    /// The device the request comes from.
    pub fn seen(&self, user_agent: &UserAgent, client: ClientAddr) -> SeenDevice {
        SeenDevice::of_login(self.0.as_ref(), user_agent.0.as_deref(), client.0)
    }
}

impl PartialSchema for DeviceInfoField {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let number = || ObjectBuilder::new().schema_type(Type::Number);
        ObjectBuilder::new()
            .property("userAgent", text())
            .property("deviceType", text().description(Some("DESKTOP, MOBILE or TABLET")))
            .property("os", text())
            .property("browser", text())
            .property("platform", text())
            .property("screenResolution", text())
            .property("timezone", text())
            .property("language", text())
            .property("hardwareConcurrency", number())
            .property("deviceMemory", number())
            .description(Some(
                "The official client's DeviceInfo. Optional; one that cannot be read (wrong types, \
                 neither os nor browser) is ignored and the User-Agent header describes the device",
            ))
            .into()
    }
}

impl ToSchema for DeviceInfoField {}
