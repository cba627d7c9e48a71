//! Bodies of the MFA routes (contract section 8).

use serde::Serialize;
use utoipa::ToSchema;

use super::constants::SuccessTrue;
use super::identity::IssuedTokens;
use super::MessageResponse;
use crate::domain::MfaMethod;
use crate::store::MfaState;

/// `POST /mfa/setup` for `GOOGLE_AUTH`, 200: what the authenticator app needs, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupResponse {
    success: SuccessTrue,
    data: TotpSetup,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpSetup {
    /// The TOTP secret, base32 (RFC 4648, no padding), for typing into an app.
    secret: String,
    /// The `otpauth://` URI as a QR code: `data:image/png;base64,...`.
    qr_code: String,
    /// The Key URI (`otpauth://totp/...`).
    otpauth_url: String,
    /// 10 single-use codes, each accepted once by `verify-login` in place of a TOTP code.
    backup_codes: Vec<String>,
}

impl TotpSetupResponse {
    pub fn new(
        secret: String,
        qr_code: String,
        otpauth_url: String,
        backup_codes: Vec<String>,
    ) -> Self {
        TotpSetupResponse {
            success: SuccessTrue,
            data: TotpSetup {
                secret,
                qr_code,
                otpauth_url,
                backup_codes,
            },
        }
    }
}

/// `POST /mfa/setup`, 200: for `GOOGLE_AUTH` the enrolment data, for `MAGIC_LINK` a message
/// (the activation e-mail was sent).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SetupResponse {
    Totp(TotpSetupResponse),
    MagicLink(MessageResponse),
}

/// `GET /mfa/status`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusResponse {
    success: SuccessTrue,
    data: MfaStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaStatus {
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
    pub fn new(state: &MfaState, session_verified: bool) -> Self {
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

/// `GET /mfa/methods`, 200: one object per method the contract names, offered or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaMethodsResponse {
    success: SuccessTrue,
    data: Vec<MfaMethodInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaMethodInfo {
    /// `GOOGLE_AUTH`, `MAGIC_LINK` or `PASSKEY`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "GOOGLE_AUTH")]
    kind: &'static str,
    #[schema(value_type = String)]
    name: &'static str,
    #[schema(value_type = String)]
    description: &'static str,
    /// This server offers it (passkeys: not yet).
    is_available: bool,
    /// The user verified it once, so it can be enabled.
    is_configured: bool,
    is_enabled: bool,
}

impl MfaMethodsResponse {
    pub fn new(state: &MfaState) -> Self {
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
        let passkey = MfaMethodInfo {
            kind: "PASSKEY",
            name: "Passkey",
            description: "WebAuthn security keys and platform authenticators (not available yet)",
            is_available: false,
            is_configured: false,
            is_enabled: false,
        };
        MfaMethodsResponse {
            success: SuccessTrue,
            data: offered.chain([passkey]).collect(),
        }
    }
}

/// `POST /mfa/verify-login`, 200: the session is verified; `fullAccessToken` and `accessToken`
/// are the same new access token, `refreshToken` replaces the login's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaLoginResponse {
    success: SuccessTrue,
    /// "MFA verification successful"
    message: &'static str,
    full_access_token: String,
    #[serde(flatten)]
    tokens: IssuedTokens,
}

impl MfaLoginResponse {
    pub fn new(tokens: IssuedTokens) -> Self {
        MfaLoginResponse {
            success: SuccessTrue,
            message: "MFA verification successful",
            full_access_token: tokens.access_token.clone(),
            tokens,
        }
    }
}
