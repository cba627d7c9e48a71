//! Where a user stands with MFA: `GET /mfa/status` and `GET /mfa/methods`. Both are on the
//! pending-session allow-list, so a session waiting for its second factor can tell which to
//! give.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::MfaMethod;
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::ErrorWithText;
use crate::http::bodies::responses::Unauthorized;
use crate::http::common::error::ApiError;
use crate::http::common::extract::AnySession;
use crate::http::AppState;
use crate::store::MfaState;

use super::{mfa_state_of, MfaResult};

/// `GET /mfa/status`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct MfaStatusResponse {
    success: SuccessTrue,
    data: MfaStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MfaStatus {
    /// At least one method is enabled.
    is_enabled: bool,
    /// A password login needs a second factor: enforced, enabled, or required by an admin.
    is_required: bool,
    /// The organization's `mfaEnforced`.
    is_enforced: bool,
    #[schema(value_type = Vec<String>, example = json!(["GOOGLE_AUTH"]))]
    enabled_methods: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "GOOGLE_AUTH")]
    primary_method: Option<&'static str>,
    /// This session passed MFA.
    session_verified: bool,
}

impl MfaStatusResponse {
    fn new(state: &MfaState, session_verified: bool) -> Self {
        let enabled = state.enabled_methods();
        MfaStatusResponse {
            success: SuccessTrue,
            data: MfaStatus {
                is_enabled: state.is_enabled(),
                is_required: state.is_required(),
                is_enforced: state.enforced,
                enabled_methods: enabled.into_iter().map(MfaMethod::as_str).collect(),
                primary_method: state.primary().map(MfaMethod::as_str),
                session_verified,
            },
        }
    }
}

/// Where the caller stands with MFA, and whether this session passed it.
#[utoipa::path(
    get,
    path = "/mfa/status",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's MFA status", body = MfaStatusResponse),
        Unauthorized<ErrorWithText>,
        (status = 500, description = "Internal server error", body = ErrorWithText),
    )
)]
pub(super) async fn status(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<MfaStatusResponse> {
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    Ok(Json(MfaStatusResponse::new(&mfa, caller.mfa.verified)))
}

/// `GET /mfa/methods`, 200: one object per method the contract names.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct MfaMethodsResponse {
    success: SuccessTrue,
    data: Vec<MfaMethodInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MfaMethodInfo {
    /// `GOOGLE_AUTH`, `MAGIC_LINK` or `PASSKEY`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    kind: &'static str,
    #[schema(value_type = String)]
    name: &'static str,
    #[schema(value_type = String)]
    description: &'static str,
    /// This server offers it (every method, today).
    is_available: bool,
    /// The user verified it once, so it can be enabled.
    is_configured: bool,
    is_enabled: bool,
}

impl MfaMethodsResponse {
    fn new(state: &MfaState) -> Self {
        let offered = MfaMethod::ALL.into_iter().map(|method| {
            let mine = state.method(method);
            let (name, description) = match method {
                MfaMethod::GoogleAuth => (
                    "Authenticator app",
                    "Time-based one-time codes (TOTP) from an app such as Google Authenticator",
                ),
                MfaMethod::MagicLink => (
                    "Magic link",
                    "A single-use sign-in link sent to your e-mail address",
                ),
                MfaMethod::Passkey => (
                    "Passkey",
                    "WebAuthn security keys and platform authenticators",
                ),
            };
            MfaMethodInfo {
                kind: method.as_str(),
                name,
                description,
                is_available: true,
                is_configured: mine.is_some_and(|m| m.configured),
                is_enabled: mine.is_some_and(|m| m.enabled),
            }
        });
        MfaMethodsResponse {
            success: SuccessTrue,
            data: offered.collect(),
        }
    }
}

/// Every method, with whether it is offered, configured and enabled for the caller.
#[utoipa::path(
    get,
    path = "/mfa/methods",
    tag = "mfa",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The methods", body = MfaMethodsResponse),
        Unauthorized<ErrorWithText>,
        (status = 500, description = "Internal server error", body = ErrorWithText),
    )
)]
pub(super) async fn methods(
    State(state): State<AppState>,
    session: Result<AnySession, ApiError>,
) -> MfaResult<MfaMethodsResponse> {
    let AnySession(caller, _) = session?;
    let mfa = mfa_state_of(&state, &caller).await?;
    Ok(Json(MfaMethodsResponse::new(&mfa)))
}
