//! Bodies of the settings routes (contract section 10).

use serde::Serialize;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::constants::SuccessTrue;
use crate::domain::{Settings, MAX_SETTINGS_BYTES};

/// A settings object: any JSON object, at most 64 KiB as compact JSON and 16 levels deep.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct SettingsObject(pub Settings);

impl PartialSchema for SettingsObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(format!(
                "Any JSON object: at most {MAX_SETTINGS_BYTES} bytes as compact JSON and 16 \
                 levels of objects and arrays deep (the object itself is level 1)"
            )))
            .into()
    }
}

impl ToSchema for SettingsObject {}

/// `GET /settings/user`, `GET /settings/organization`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    success: SuccessTrue,
    /// The stored object; `{}` when none was written.
    settings: SettingsObject,
}

impl SettingsResponse {
    pub fn new(settings: Settings) -> Self {
        SettingsResponse {
            success: SuccessTrue,
            settings: SettingsObject(settings),
        }
    }
}
