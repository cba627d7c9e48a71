//! Settings (contract section 10): `GET`, `POST` (replace), `PUT` (deep merge) and `DELETE`
//! (dot paths) on `/settings/user` and `/settings/organization`. The four operations are written
//! once ([`read`], [`write()`]) and parameterised by the scope, whose texts come from one table
//! ([`USER`], [`ORGANIZATION`]); `settings_routes!` only declares each scope's four
//! documented handlers over them.
//!
//! Check order of a write: token (401), body (400), caller verified (400), for the organization
//! OWNER or ADMINISTRATORS (403), the per-user rate limit (429), the request's own keys and
//! bounds (400, before the store is touched), then the bounds of the result, under the row's
//! lock (400).

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{
    OrgRole, Settings, SettingsChange, SettingsRefusal, SettingsScope, MAX_SETTINGS_BYTES,
    MAX_SETTINGS_DEPTH,
};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::{errors_in, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, JsonBody};
use crate::http::common::throttle::UserAction;
use crate::http::AppState;
use crate::store::{SettingsOutcome, SettingsOwner};

/// Request bodies of these routes may be this large, twice the bound of the object: a client
/// can send back a whole object it read, indented.
pub const MAX_SETTINGS_BODY_BYTES: usize = 2 * MAX_SETTINGS_BYTES;

pub fn router() -> OpenApiRouter<AppState> {
    user_router()
        .merge(organization_router())
        .layer(DefaultBodyLimit::max(MAX_SETTINGS_BODY_BYTES))
}

/// A settings object: any JSON object, at most 64 KiB as compact JSON and 16 levels deep.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
struct SettingsObject(pub Settings);

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
struct SettingsResponse {
    success: SuccessTrue,
    /// The stored object; `{}` when none was written.
    settings: SettingsObject,
}

impl SettingsResponse {
    fn new(settings: Settings) -> Self {
        SettingsResponse {
            success: SuccessTrue,
            settings: SettingsObject(settings),
        }
    }
}

/// The texts of one scope's routes.
struct ScopeTexts {
    scope: SettingsScope,
    /// The 500 of `GET`.
    read_failed: &'static str,
    replace: WriteTexts,
    merge: WriteTexts,
    remove: WriteTexts,
}

/// What a write answers: its success message, and its message for a body of the wrong shape
/// (and for a failure, the 500).
struct WriteTexts {
    done: &'static str,
    failed: &'static str,
}

const USER: ScopeTexts = ScopeTexts {
    scope: SettingsScope::User,
    read_failed: "Failed to get user settings",
    replace: WriteTexts {
        done: "User settings updated successfully",
        failed: "Failed to update user settings",
    },
    merge: WriteTexts {
        done: "User settings partially updated successfully",
        failed: "Failed to partially update user settings",
    },
    remove: WriteTexts {
        done: "User settings keys deleted successfully",
        failed: "Failed to delete user settings keys",
    },
};

const ORGANIZATION: ScopeTexts = ScopeTexts {
    scope: SettingsScope::Organization,
    read_failed: "Failed to get organization settings",
    replace: WriteTexts {
        done: "Organization settings updated successfully",
        failed: "Failed to update organization settings",
    },
    merge: WriteTexts {
        done: "Organization settings partially updated successfully",
        failed: "Failed to partially update organization settings",
    },
    remove: WriteTexts {
        done: "Organization settings keys deleted successfully",
        failed: "Failed to delete organization settings keys",
    },
};

/// `POST`: `{"settings": {...}}`, the whole new object. Other keys are ignored.
#[derive(Debug, Deserialize, ToSchema)]
struct ReplaceSettingsBody {
    #[schema(value_type = SettingsObject)]
    settings: Option<Value>,
}

/// `DELETE`: `{"keys": [...]}`, dot paths (`"notifications.push"`); each `.` separates two keys.
#[derive(Debug, Deserialize, ToSchema)]
struct DeleteSettingsKeysBody {
    #[schema(value_type = Vec<String>, min_items = 1)]
    keys: Option<Value>,
}

/// A request body read as the change it asks for; `failed` is the route's message for a body
/// of the wrong shape.
trait ChangeBody {
    fn change(self, failed: &'static str) -> Result<SettingsChange, ApiError>;
}

fn wrong_shape(failed: &'static str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidBody, failed)
}

impl ChangeBody for ReplaceSettingsBody {
    fn change(self, failed: &'static str) -> Result<SettingsChange, ApiError> {
        match self.settings {
            Some(Value::Object(settings)) => Ok(SettingsChange::Replace(settings)),
            _ => Err(wrong_shape(failed)),
        }
    }
}

/// `PUT`: the body is the partial object itself.
impl ChangeBody for Settings {
    fn change(self, _failed: &'static str) -> Result<SettingsChange, ApiError> {
        Ok(SettingsChange::Merge(self))
    }
}

impl ChangeBody for DeleteSettingsKeysBody {
    fn change(self, failed: &'static str) -> Result<SettingsChange, ApiError> {
        let keys = match self.keys {
            Some(Value::Array(keys)) if !keys.is_empty() => keys,
            _ => {
                return Err(ApiError::bad_request(
                    ErrorCode::KeysRequired,
                    "Keys array is required and must not be empty",
                ))
            }
        };
        let keys = keys
            .into_iter()
            .map(|key| match key {
                Value::String(key) => Ok(key),
                _ => Err(wrong_shape(failed)),
            })
            .collect::<Result<_, _>>()?;
        Ok(SettingsChange::Remove(keys))
    }
}

/// Any member of the organization reads its settings; OWNER and ADMINISTRATORS write them.
fn can_write(scope: SettingsScope, role: OrgRole) -> bool {
    match scope {
        SettingsScope::User => true,
        SettingsScope::Organization => role >= OrgRole::Administrators,
    }
}

/// `GET`, for either scope.
async fn read(
    state: &AppState,
    auth: &AuthUser,
    texts: &ScopeTexts,
) -> Result<Json<SettingsResponse>, ApiError> {
    let owner = SettingsOwner::of(texts.scope, &auth.user);
    let settings = state
        .store
        .settings(owner)
        .await
        .or_500(texts.read_failed)?;
    Ok(Json(SettingsResponse::new(settings)))
}

/// `POST`, `PUT` or `DELETE` (`texts` says which), for either scope.
async fn write<B: ChangeBody>(
    state: &AppState,
    auth: &AuthUser,
    scope: SettingsScope,
    texts: &WriteTexts,
    body: Result<JsonBody<B>, ApiError>,
) -> Result<Json<MessageResponse>, ApiError> {
    let JsonBody(body) = body.map_err(|error| match error.code {
        // JSON, but not an object: not the documented shape either.
        ErrorCode::InvalidBody => wrong_shape(texts.failed),
        _ => error,
    })?;
    let change = body.change(texts.failed)?;
    auth.require_validated()?;
    if !can_write(scope, auth.user.org_role) {
        return Err(ApiError::insufficient_permissions(
            "Insufficient permissions to modify organization settings",
        ));
    }
    // Each accepted write is an event kept for good: a burst must not fill the audit trail.
    state
        .throttle
        .check_user_action(UserAction::SettingsWrite, auth.user.id)?;
    // What the request breaks on its own is refused before the store is touched.
    change
        .check()
        .map_err(|refusal| refused(refusal, texts.failed))?;
    let owner = SettingsOwner::of(scope, &auth.user);
    let outcome = state
        .store
        .change_settings(auth.actor(), owner, change)
        .await
        .or_500(texts.failed)?;
    match outcome {
        SettingsOutcome::Changed | SettingsOutcome::Unchanged => {
            Ok(Json(MessageResponse::new(texts.done)))
        }
        SettingsOutcome::Refused(refusal) => Err(refused(refusal, texts.failed)),
    }
}

/// The 400 of a refused write; `failed` is the route's documented text.
fn refused(refusal: SettingsRefusal, failed: &'static str) -> ApiError {
    match refusal {
        SettingsRefusal::TooLarge => ApiError::bad_request(
            ErrorCode::SettingsTooLarge,
            format!("Settings must be at most {MAX_SETTINGS_BYTES} bytes as JSON"),
        ),
        SettingsRefusal::TooDeep => ApiError::bad_request(
            ErrorCode::SettingsTooDeep,
            format!("Settings must be at most {MAX_SETTINGS_DEPTH} levels deep"),
        ),
        SettingsRefusal::ForbiddenKey => {
            ApiError::bad_request(ErrorCode::SettingsKeyForbidden, failed)
        }
    }
}

/// The four documented handlers of one scope over [`read`] and [`write()`], and its router.
/// `$denied` lists the scope's 403 responses, if it has any. The `@write` arm is the one
/// template of the three writes: each names its method, handler, body and texts, and its own
/// 200, 400 and 500.
macro_rules! settings_routes {
    (
        $router:ident, $texts:ident, $path:literal,
        [$get:ident, $replace:ident, $merge:ident, $remove:ident],
        denied: [$($denied:tt)*]
    ) => {
        fn $router() -> OpenApiRouter<AppState> {
            OpenApiRouter::new().routes(routes!($get, $replace, $merge, $remove))
        }

        /// The settings object.
        #[utoipa::path(
            get,
            path = $path,
            tag = "settings",
            security(("bearerAuth" = [])),
            responses(
                (status = 200, description = "The settings object (`{}` when none was written)", body = SettingsResponse),
                Unauthorized,
                (status = 500, description = "`Failed to get ... settings`", body = ErrorResponse),
            )
        )]
        async fn $get(
            State(state): State<AppState>,
            auth: AuthUser,
        ) -> Result<Json<SettingsResponse>, ApiError> {
            read(&state, &auth, &$texts).await
        }

        settings_routes!(@write $path, [$($denied)*], $texts.replace,
            /// Replaces the whole object.
            post $replace(ReplaceSettingsBody) documented as ReplaceSettingsBody,
            (status = 200, description = "`... settings updated successfully` (also when nothing changed)", body = MessageResponse),
            (status = 400, description = "`INVALID_BODY` (`Failed to update ... settings`: `settings` is not an object), `SETTINGS_TOO_LARGE`, `SETTINGS_TOO_DEEP`, `SETTINGS_KEY_FORBIDDEN` (`__proto__`, `constructor` or `prototype` at any depth), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
            (status = 500, description = "`Failed to update ... settings`", body = ErrorResponse),
        );

        settings_routes!(@write $path, [$($denied)*], $texts.merge,
            /// Deep-merges the body into the object: nested objects merge, any other value
            /// (arrays and `null` included) replaces.
            put $merge(Settings) documented as SettingsObject,
            (status = 200, description = "`... settings partially updated successfully` (also when nothing changed)", body = MessageResponse),
            (status = 400, description = "`INVALID_BODY` (`Failed to partially update ... settings`: the body is not an object), `SETTINGS_TOO_LARGE`, `SETTINGS_TOO_DEEP` (of the merged object), `SETTINGS_KEY_FORBIDDEN` (`__proto__`, `constructor` or `prototype` at any depth), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
            (status = 500, description = "`Failed to partially update ... settings`", body = ErrorResponse),
        );

        settings_routes!(@write $path, [$($denied)*], $texts.remove,
            /// Removes the keys named by dot paths; paths that name nothing are ignored.
            delete $remove(DeleteSettingsKeysBody) documented as DeleteSettingsKeysBody,
            (status = 200, description = "`... settings keys deleted successfully` (also when nothing changed)", body = MessageResponse),
            (status = 400, description = "`KEYS_REQUIRED` (Keys array is required and must not be empty), `INVALID_BODY` (`Failed to delete ... settings keys`: a key is not a string), `USER_NOT_VALIDATED`, malformed JSON", body = ErrorResponse),
            (status = 500, description = "`Failed to delete ... settings keys`", body = ErrorResponse),
        );
    };
    (
        @write $path:literal, [$($denied:tt)*], $texts:ident.$op:ident,
        $(#[doc = $doc:literal])*
        $method:ident $handler:ident($body:ty) documented as $schema:ident,
        $($answers:tt)*
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            $method,
            path = $path,
            tag = "settings",
            security(("bearerAuth" = [])),
            request_body = $schema,
            responses($($answers)* Unauthorized, $($denied)* SettingsWriteRefused)
        )]
        async fn $handler(
            State(state): State<AppState>,
            auth: AuthUser,
            body: Result<JsonBody<$body>, ApiError>,
        ) -> Result<Json<MessageResponse>, ApiError> {
            write(&state, &auth, $texts.scope, &$texts.$op, body).await
        }
    };
}

/// What every write may be refused for besides its own 400: a body over 128 KiB, a body that
/// is not JSON, and too many writes by this user.
struct SettingsWriteRefused;

impl IntoResponses for SettingsWriteRefused {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        errors_in::<ErrorResponse>(&[
            ("413", "Request body over 128 KiB"),
            ("415", "A non-empty body whose Content-Type is not JSON"),
            (
                "429",
                "Too many settings writes by this user (`Retry-After`)",
            ),
        ])
    }
}

settings_routes!(
    user_router,
    USER,
    "/settings/user",
    [
        get_user_settings,
        update_user_settings,
        partial_update_user_settings,
        delete_user_settings_keys
    ],
    denied: []
);

settings_routes!(
    organization_router,
    ORGANIZATION,
    "/settings/organization",
    [
        get_organization_settings,
        update_organization_settings,
        partial_update_organization_settings,
        delete_organization_settings_keys
    ],
    denied: [(
        status = 403,
        description = "Insufficient permissions to modify organization settings (not OWNER or ADMINISTRATORS)",
        body = ErrorResponse
    ),]
);
