//! Workspace members (contract section 3): add, change role, remove. All need workspace ADMIN,
//! and a workspace always keeps at least one active ADMIN member.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, OrInternal};
use super::extract::{AuthUser, JsonBody};
use super::openapi::{
    BodyRejected, ErrorResponse, SuccessResponse, Unauthorized, WorkspaceRoleName,
};
use super::workspaces::visible_workspace;
use super::AppState;
use crate::clock::now_ms;
use crate::domain::{can_manage_workspace, WorkspaceRole};
use crate::store::{AddMemberOutcome, MemberChangeOutcome, NewMember};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_member))
        .routes(routes!(change_member_role, remove_member))
}

/// A new member: an active user of the caller's organization, and their access.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AddMemberBody {
    #[schema(value_type = Uuid)]
    user_id: Option<String>,
    #[schema(value_type = WorkspaceRoleName)]
    role: Option<String>,
}

/// A member's new access.
#[derive(Deserialize, ToSchema)]
struct MemberRoleBody {
    #[schema(value_type = WorkspaceRoleName)]
    role: Option<String>,
}

fn parse_role(raw: Option<&str>) -> Result<WorkspaceRole, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::missing_field("role"))?;
    WorkspaceRole::parse(raw).ok_or_else(|| ApiError::bad_request("INVALID_ROLE", "Invalid role"))
}

fn workspace_not_found() -> ApiError {
    ApiError::not_found("WORKSPACE_NOT_FOUND", "Workspace not found")
}

fn member_not_found() -> ApiError {
    ApiError::not_found("MEMBER_NOT_FOUND", "User not found in workspace")
}

fn cannot_manage() -> ApiError {
    ApiError::forbidden(
        "INSUFFICIENT_PERMISSIONS",
        "Insufficient permissions to manage workspace users",
    )
}

fn last_admin() -> ApiError {
    ApiError::bad_request("LAST_ADMIN", "Workspace must keep at least one admin")
}

/// The checks every member route shares after its body: caller validated -> workspace visible
/// (404) -> caller is its ADMIN (403). Returns the workspace id.
async fn managed_workspace(
    state: &AppState,
    auth: &AuthUser,
    raw_id: &str,
    failure: &'static str,
) -> Result<Uuid, ApiError> {
    auth.require_validated()?;
    let (access, role) =
        visible_workspace(state, auth, raw_id, workspace_not_found, failure).await?;
    if !can_manage_workspace(role) {
        return Err(cannot_manage());
    }
    Ok(access.workspace.id)
}

/// Add a member (workspace ADMIN).
#[utoipa::path(
    post,
    path = "/workspace/{id}/users",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = AddMemberBody,
    responses(
        (status = 200, description = "Added", body = SuccessResponse),
        (status = 400, description = "`MISSING_FIELD`, Invalid role, User not found or account is not validated, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage workspace users", body = ErrorResponse),
        (status = 404, description = "Workspace not found; Target user not found", body = ErrorResponse),
        (status = 409, description = "User is already a member of this workspace", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to add user to workspace", body = ErrorResponse),
    )
)]
async fn add_member(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AddMemberBody>,
) -> Result<Json<Value>, ApiError> {
    const FAILED: &str = "Failed to add user to workspace";
    let target = body
        .user_id
        .as_deref()
        .ok_or_else(|| ApiError::missing_field("userId"))?;
    let role = parse_role(body.role.as_deref())?;
    let workspace_id = managed_workspace(&state, &auth, &id, FAILED).await?;
    let target_not_found = || ApiError::not_found("TARGET_USER_NOT_FOUND", "Target user not found");
    let user_id = Uuid::parse_str(target).map_err(|_| target_not_found())?;
    let member = NewMember {
        org_id: auth.user.org_id,
        workspace_id,
        user_id,
        role: role.as_str().to_owned(),
        created_at: now_ms(),
    };
    match state.store.add_member(member).await.or_500(FAILED)? {
        AddMemberOutcome::Added => Ok(Json(json!({ "success": true }))),
        AddMemberOutcome::WorkspaceNotFound => Err(workspace_not_found()),
        AddMemberOutcome::TargetNotFound => Err(target_not_found()),
        AddMemberOutcome::AlreadyMember => Err(ApiError::conflict(
            "ALREADY_MEMBER",
            "User is already a member of this workspace",
        )),
    }
}

fn change_answer(outcome: MemberChangeOutcome) -> Result<Json<Value>, ApiError> {
    match outcome {
        MemberChangeOutcome::Done => Ok(Json(json!({ "success": true }))),
        MemberChangeOutcome::WorkspaceNotFound => Err(workspace_not_found()),
        MemberChangeOutcome::NotMember => Err(member_not_found()),
        MemberChangeOutcome::LastAdmin => Err(last_admin()),
    }
}

/// Change a member's role (workspace ADMIN); the workspace keeps at least one ADMIN.
#[utoipa::path(
    put,
    path = "/workspace/{id}/users/{user_id}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(
        ("id" = Uuid, Path, description = "Workspace id"),
        ("user_id" = Uuid, Path, description = "The member's user id"),
    ),
    request_body = MemberRoleBody,
    responses(
        (status = 200, description = "Changed", body = SuccessResponse),
        (status = 400, description = "`MISSING_FIELD`, Invalid role, Workspace must keep at least one admin, User not found or account is not validated, malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage workspace users", body = ErrorResponse),
        (status = 404, description = "Workspace not found; User not found in workspace", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to update user role", body = ErrorResponse),
    )
)]
async fn change_member_role(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<MemberRoleBody>,
) -> Result<Json<Value>, ApiError> {
    const FAILED: &str = "Failed to update user role";
    let role = parse_role(body.role.as_deref())?;
    let workspace_id = managed_workspace(&state, &auth, &id, FAILED).await?;
    let user_id = Uuid::parse_str(&user_id).map_err(|_| member_not_found())?;
    let outcome = state
        .store
        .change_member_role(workspace_id, user_id, role.as_str())
        .await
        .or_500(FAILED)?;
    change_answer(outcome)
}

/// Remove a member (workspace ADMIN); the workspace keeps at least one ADMIN.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/users/{user_id}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(
        ("id" = Uuid, Path, description = "Workspace id"),
        ("user_id" = Uuid, Path, description = "The member's user id"),
    ),
    responses(
        (status = 200, description = "Removed", body = SuccessResponse),
        (status = 400, description = "Workspace must keep at least one admin; User not found or account is not validated", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to manage workspace users", body = ErrorResponse),
        (status = 404, description = "Workspace not found; User not found in workspace", body = ErrorResponse),
        (status = 500, description = "Failed to remove user from workspace", body = ErrorResponse),
    )
)]
async fn remove_member(
    State(state): State<AppState>,
    auth: AuthUser,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    const FAILED: &str = "Failed to remove user from workspace";
    let workspace_id = managed_workspace(&state, &auth, &id, FAILED).await?;
    let user_id = Uuid::parse_str(&user_id).map_err(|_| member_not_found())?;
    let outcome = state
        .store
        .remove_member(workspace_id, user_id)
        .await
        .or_500(FAILED)?;
    change_answer(outcome)
}
