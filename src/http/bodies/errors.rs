//! The error envelope `{"success":false,"message":...,"error_code":...}`, the variants a few
//! documented routes answer (`"data": null`, `"data": {}`, `"data": [], "total": 0`), and the
//! stable machine codes.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::ToSchema;

use super::constants::{EmptyList, EmptyObject, Null, SuccessFalse, Zero};

/// Stable machine code of an error, UPPER_SNAKE on the wire (`WORKSPACE_NAME_TAKEN`). Clients
/// match on these: a variant's wire name never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ActivationEmailMismatch,
    ActivationLinkInvalid,
    ActivationLinksUnavailable,
    AlreadyMember,
    AlreadyVerified,
    BadRequest,
    CannotDeleteSelf,
    CurrentPasswordIncorrect,
    CurrentPasswordRequired,
    DatabaseUnavailable,
    DeliveryNotFound,
    DeviceNotFound,
    EmailAlreadyExists,
    EventIdRequired,
    Forbidden,
    InsufficientPermissions,
    InternalError,
    InvalidBody,
    InvalidEmail,
    InvalidField,
    InvalidJson,
    InvalidMfaCode,
    InvalidMfaType,
    InvalidPasskey,
    InvalidPassword,
    InvalidProviderToken,
    InvalidQuery,
    InvalidRefreshToken,
    InvalidRole,
    InvalidToken,
    KeysRequired,
    LinkAlreadyActivated,
    LinkNotFound,
    LastAdmin,
    LastOwner,
    MemberNotFound,
    MethodNotAllowed,
    MfaEnforced,
    MfaLocked,
    MfaMethodNotConfigured,
    MfaMethodNotEnabled,
    MfaRequired,
    MfaSetupFailed,
    MissingField,
    NoPasswordSet,
    NoValidFields,
    NotFound,
    OrganizationNotFound,
    Overloaded,
    PasskeyLimitReached,
    PasskeyNotFound,
    PasskeyRegistrationFailed,
    PasswordSelfOnly,
    PayloadTooLarge,
    ProviderDenied,
    ProviderEmailUnverified,
    ProviderNotConfigured,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    RefreshTokenReused,
    RegistrationClosed,
    RegistrationInviteOnly,
    RequestTimeout,
    SettingsKeyForbidden,
    SignInFlowInvalid,
    SettingsTooDeep,
    SettingsTooLarge,
    SessionNotFound,
    TargetUserNotFound,
    TokenNotFound,
    TooManyEventIds,
    Unauthorized,
    UnsupportedMediaType,
    UserInactive,
    UserNotDeleted,
    UserNotFound,
    UserNotValidated,
    VerificationNotFound,
    WeakPassword,
    WebhookLimitReached,
    WebhookNotFound,
    WebhookTestPending,
    WebhookUrlForbidden,
    WorkspaceNameInvalid,
    WorkspaceNameRequired,
    WorkspaceNameTaken,
    WorkspaceNameTooLong,
    WorkspaceNotEmpty,
    WorkspaceNotFound,
}

/// Every error: `{"success":false,"message":...,"error_code":...}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    success: SuccessFalse,
    /// The documented human-readable message.
    message: Cow<'static, str>,
    /// Stable machine code, UPPER_SNAKE (e.g. `WORKSPACE_NAME_TAKEN`).
    error_code: ErrorCode,
}

impl ErrorResponse {
    pub fn new(error_code: ErrorCode, message: Cow<'static, str>) -> Self {
        ErrorResponse {
            success: SuccessFalse,
            message,
            error_code,
        }
    }
}

/// The errors of `GET/PUT /organization/{orgId}`: the envelope plus `"data": null`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorWithNullData {
    #[serde(flatten)]
    error: ErrorResponse,
    data: Null,
}

impl From<ErrorResponse> for ErrorWithNullData {
    fn from(error: ErrorResponse) -> Self {
        ErrorWithNullData { error, data: Null }
    }
}

/// The errors of `PUT /organization/users/{userId}`: the envelope plus `"data": {}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorWithEmptyData {
    #[serde(flatten)]
    error: ErrorResponse,
    data: EmptyObject,
}

impl From<ErrorResponse> for ErrorWithEmptyData {
    fn from(error: ErrorResponse) -> Self {
        ErrorWithEmptyData {
            error,
            data: EmptyObject,
        }
    }
}

/// The errors of `GET /organization/users`: the envelope plus `"data": [], "total": 0`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorWithEmptyList {
    #[serde(flatten)]
    error: ErrorResponse,
    data: EmptyList,
    total: Zero,
}

impl From<ErrorResponse> for ErrorWithEmptyList {
    fn from(error: ErrorResponse) -> Self {
        ErrorWithEmptyList {
            error,
            data: EmptyList,
            total: Zero,
        }
    }
}

/// The errors of the MFA, session and device routes (contract sections 8 and 9): the
/// documented `"error"` text, plus our envelope (`message`, the same text, and `error_code`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorWithText {
    /// The documented error text (the same as `message`).
    error: Cow<'static, str>,
    #[serde(flatten)]
    envelope: ErrorResponse,
}

impl From<ErrorResponse> for ErrorWithText {
    fn from(envelope: ErrorResponse) -> Self {
        ErrorWithText {
            error: envelope.message.clone(),
            envelope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        ErrorCode, ErrorResponse, ErrorWithEmptyData, ErrorWithEmptyList, ErrorWithNullData,
        ErrorWithText,
    };

    fn text(value: impl serde::Serialize) -> String {
        serde_json::to_string(&value).unwrap_or_default()
    }

    #[test]
    fn codes_are_upper_snake_case() {
        assert_eq!(text(ErrorCode::Unauthorized), "\"UNAUTHORIZED\"");
        assert_eq!(
            text(ErrorCode::InsufficientPermissions),
            "\"INSUFFICIENT_PERMISSIONS\""
        );
        assert_eq!(text(ErrorCode::InvalidJson), "\"INVALID_JSON\"");
        assert_eq!(
            text(ErrorCode::WorkspaceNameTooLong),
            "\"WORKSPACE_NAME_TOO_LONG\""
        );
    }

    #[test]
    fn the_envelopes_carry_their_documented_extras() {
        let error = || ErrorResponse::new(ErrorCode::NotFound, "Gone".into());
        let envelope = r#""success":false,"message":"Gone","error_code":"NOT_FOUND""#;
        assert_eq!(text(error()), format!("{{{envelope}}}"));
        assert_eq!(
            text(ErrorWithNullData::from(error())),
            format!("{{{envelope},\"data\":null}}")
        );
        assert_eq!(
            text(ErrorWithEmptyData::from(error())),
            format!("{{{envelope},\"data\":{{}}}}")
        );
        assert_eq!(
            text(ErrorWithEmptyList::from(error())),
            format!("{{{envelope},\"data\":[],\"total\":0}}")
        );
        assert_eq!(
            text(ErrorWithText::from(error())),
            format!("{{\"error\":\"Gone\",{envelope}}}")
        );
    }
}
