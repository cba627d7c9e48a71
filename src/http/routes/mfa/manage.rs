//! Changing one's MFA: `POST /mfa/enable`, `/mfa/disable`, `/mfa/primary`; an admin's reset,
//! `POST /mfa/reset`; and the organization's enforcement, `POST /mfa/organization/enforce`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::UserId;
use crate::http::bodies::errors::{ErrorCode, ErrorWithText};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::MessageResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, JsonBody};
use crate::http::AppState;
use crate::mail::MfaChange;
use crate::store::{MethodChange, OrganizationPatch, ResetOutcome, ResetTarget};

use super::{
    may_change_mfa, method_of, mfa_state_of, not_configured, notify, MfaResult, MfaTypeBody,
};

/// `{enforced}`.
#[derive(Deserialize, ToSchema)]
pub(super) struct EnforceBody {
    #[schema(value_type = bool)]
    enforced: Option<bool>,
}

/// `{resetUserId?, enable?}`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct MfaResetBody {
    /// Another user of the caller's organization (OWNER, ADMINISTRATORS); absent: oneself.
    #[schema(value_type = Option<uuid::Uuid>)]
    reset_user_id: Option<String>,
    /// With `resetUserId`: require MFA of that user from their next login.
    enable: Option<bool>,
}

/// `enable`, `disable` and `primary`: one of the caller's own methods.
async fn change_method(
    state: &AppState,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
    change: Change,
) -> MfaResult<MessageResponse> {
    let caller = caller?;
    let mfa = mfa_state_of(state, &caller).await?;
    may_change_mfa(&caller, &mfa, false)?;
    let JsonBody(body) = body?;
    let method = method_of(body.mfa_type.as_deref())?;
    caller.require_validated()?;
    let by = caller.actor();
    let store = &state.store;
    let session = caller.session_id;
    let outcome = match change {
        Change::Enable => {
            store
                .set_mfa_method_enabled(by, session, method, true)
                .await
        }
        Change::Disable => {
            store
                .set_mfa_method_enabled(by, session, method, false)
                .await
        }
        Change::Primary => store.set_primary_mfa_method(by, method).await,
    };
    match outcome.or_500(change.failed())? {
        MethodChange::Done => {
            let notice = match change {
                Change::Enable => Some(MfaChange::Enabled(method.as_str())),
                Change::Disable => Some(MfaChange::Disabled(method.as_str())),
                Change::Primary => None,
            };
            if let Some(notice) = notice {
                notify(state, &caller.user.email, notice).await;
            }
            Ok(Json(MessageResponse::new(change.done())))
        }
        MethodChange::Unchanged => Ok(Json(MessageResponse::new(change.done()))),
        MethodChange::NotConfigured => Err(not_configured().into()),
        MethodChange::LastWhileRequired => Err(ApiError::forbidden(
            ErrorCode::MfaEnforced,
            "Cannot disable MFA when enforced by organization",
        )
        .into()),
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Enable,
    Disable,
    Primary,
}

impl Change {
    fn done(self) -> &'static str {
        match self {
            Change::Enable => "MFA method enabled",
            Change::Disable => "MFA method disabled",
            Change::Primary => "Primary MFA method updated",
        }
    }

    fn failed(self) -> &'static str {
        match self {
            Change::Enable => "Failed to enable MFA method",
            Change::Disable => "Failed to disable MFA method",
            Change::Primary => "Failed to update primary MFA method",
        }
    }
}

/// Switch a configured method on.
#[utoipa::path(
    post,
    path = "/mfa/enable",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "MFA method enabled", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_CONFIGURED`; Invalid MFA type specified; `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "Failed to enable MFA method", body = ErrorWithText),
    )
)]
pub(super) async fn enable(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    change_method(&state, caller, body, Change::Enable).await
}

/// Switch a method off (it stays configured); not the last one while MFA is enforced.
#[utoipa::path(
    post,
    path = "/mfa/disable",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "MFA method disabled", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_CONFIGURED`; Invalid MFA type specified; `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "Cannot disable MFA when enforced by organization; `MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "Failed to disable MFA method", body = ErrorWithText),
    )
)]
pub(super) async fn disable(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    change_method(&state, caller, body, Change::Disable).await
}

/// Make an enabled method the primary one.
#[utoipa::path(
    post,
    path = "/mfa/primary",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaTypeBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "Primary MFA method updated", body = MessageResponse),
        (status = 400, description = "`MFA_METHOD_NOT_CONFIGURED` (not enabled); Invalid MFA type specified; `USER_NOT_VALIDATED`", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "`MFA_REQUIRED`", body = ErrorWithText),
        (status = 500, description = "Failed to update primary MFA method", body = ErrorWithText),
    )
)]
pub(super) async fn primary(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaTypeBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    change_method(&state, caller, body, Change::Primary).await
}

/// Remove every method and backup code: one's own (from a session that passed MFA, when it is
/// on), or, for OWNER and ADMINISTRATORS, another user's of the organization, whose sessions
/// then end; `enable: true` requires MFA of them from their next login.
#[utoipa::path(
    post,
    path = "/mfa/reset",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = MfaResetBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "MFA reset successfully", body = MessageResponse),
        (status = 400, description = "`USER_NOT_VALIDATED`; malformed JSON", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "Insufficient permissions. OWNER or ADMINISTRATOR role required to reset another user's MFA.; Insufficient permissions to reset this user's MFA (the role rules: an ADMINISTRATORS cannot reset an OWNER); `MFA_REQUIRED`", body = ErrorWithText),
        (status = 404, description = "User not found", body = ErrorWithText),
        (status = 500, description = "Failed to reset MFA", body = ErrorWithText),
    )
)]
pub(super) async fn reset(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<MfaResetBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Failed to reset MFA";
    let user_not_found = || ApiError::not_found(ErrorCode::UserNotFound, "User not found");
    let caller = caller?;
    let JsonBody(body) = body?;
    let target = match body.reset_user_id.as_deref() {
        None => None,
        Some(raw) => Some(UserId::parse(raw).ok_or_else(user_not_found)?),
    };
    let other = target.filter(|&target| target != caller.user.id);
    if other.is_some() && !caller.user.org_role.administers_organization() {
        return Err(ApiError::insufficient_permissions(
            "Insufficient permissions. OWNER or ADMINISTRATOR role required to reset another \
             user's MFA.",
        )
        .into());
    }
    caller.require_validated()?;
    let mfa = mfa_state_of(&state, &caller).await?;
    may_change_mfa(&caller, &mfa, false)?;
    let by = caller.actor();
    let target = match other {
        Some(user_id) => ResetTarget::Other {
            user_id,
            actor_role: caller.user.org_role,
            require: body.enable.unwrap_or(false),
        },
        None => ResetTarget::Own,
    };
    match state.store.reset_mfa(by, target).await.or_500(FAILED)? {
        ResetOutcome::Done => {
            let to = match other {
                None => Some(caller.user.email.clone()),
                // The notice is sent after the commit: a failed look-up only loses the notice.
                Some(user_id) => match state.store.org_user(caller.user.org_id, user_id).await {
                    Ok(user) => user.map(|user| user.email),
                    Err(error) => {
                        tracing::error!(%error, "reading the address of a reset user failed");
                        None
                    }
                },
            };
            if let Some(to) = to {
                notify(&state, &to, MfaChange::Reset).await;
            }
            Ok(Json(MessageResponse::new("MFA reset successfully")))
        }
        ResetOutcome::NotFound => Err(user_not_found().into()),
        ResetOutcome::NotPermitted => Err(ApiError::insufficient_permissions(
            "Insufficient permissions to reset this user's MFA",
        )
        .into()),
    }
}

/// Turn the organization's MFA enforcement on or off (OWNER, ADMINISTRATORS): the same flag as
/// the organization's `mfaEnforced`. While on, members without MFA log in pending and must
/// enrol, and sessions that never passed MFA stop refreshing.
#[utoipa::path(
    post,
    path = "/mfa/organization/enforce",
    tag = "mfa",
    security(("bearerAuth" = [])),
    request_body = EnforceBody,
    responses(
        BodyRejected<ErrorWithText>,
        (status = 200, description = "MFA enforcement enabled for organization / MFA enforcement disabled for organization", body = MessageResponse),
        (status = 400, description = "`MISSING_FIELD`; `USER_NOT_VALIDATED`; malformed JSON", body = ErrorWithText),
        Unauthorized<ErrorWithText>,
        (status = 403, description = "Insufficient permissions", body = ErrorWithText),
        (status = 500, description = "Failed to update MFA enforcement", body = ErrorWithText),
    )
)]
pub(super) async fn enforce(
    State(state): State<AppState>,
    caller: Result<AuthUser, ApiError>,
    body: Result<JsonBody<EnforceBody>, ApiError>,
) -> MfaResult<MessageResponse> {
    const FAILED: &str = "Failed to update MFA enforcement";
    let caller = caller?;
    let JsonBody(body) = body?;
    let enforced = body
        .enforced
        .ok_or_else(|| ApiError::missing_field("enforced"))?;
    if !caller.user.org_role.administers_organization() {
        return Err(ApiError::insufficient_permissions(
            "Insufficient permissions: only OWNER and ADMINISTRATOR roles can enforce MFA",
        )
        .into());
    }
    caller.require_validated()?;
    let patch = OrganizationPatch {
        mfa_enforced: Some(enforced),
        ..OrganizationPatch::default()
    };
    state
        .store
        .update_organization(caller.actor(), patch)
        .await
        .or_500(FAILED)?
        .ok_or_else(|| ApiError::internal(FAILED, "the caller's organization is gone"))?;
    let message = if enforced {
        "MFA enforcement enabled for organization"
    } else {
        "MFA enforcement disabled for organization"
    };
    Ok(Json(MessageResponse::new(message)))
}
