//! A workspace's members (contract section 3): `POST /workspace/{id}/users` (add), `PUT` and
//! `DELETE /workspace/{id}/users/{userId}` (change role, remove). All need workspace ADMIN, and
//! a workspace always keeps at least one active ADMIN member.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::now_ms;
use crate::domain::{UserId, WorkspaceRole};
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::workspaces::WorkspaceRoleName;
use crate::http::bodies::SuccessResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, JsonBody, MemberPath, WorkspacePath};
use crate::http::common::rules::{managed_workspace, workspace_not_found, WorkspaceRoute};
use crate::http::AppState;
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

/// Every member route answers these for its shared checks.
fn route(failed: &'static str) -> WorkspaceRoute {
    WorkspaceRoute {
        denied: "Insufficient permissions to manage workspace users",
        failed,
    }
}

fn parse_role(raw: Option<&str>) -> Result<WorkspaceRole, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::missing_field("role"))?;
    WorkspaceRole::parse(raw)
        .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidRole, "Invalid role"))
}

fn member_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::MemberNotFound, "User not found in workspace")
}

fn target_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::TargetUserNotFound, "Target user not found")
}

/// Add a member (workspace ADMIN).
#[utoipa::path(
    post,
    path = "/workspace/{id}/users",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(WorkspacePath),
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
    Path(WorkspacePath { id }): Path<WorkspacePath>,
    JsonBody(body): JsonBody<AddMemberBody>,
) -> Result<Json<SuccessResponse>, ApiError> {
    let route = route("Failed to add user to workspace");
    let target = body
        .user_id
        .as_deref()
        .ok_or_else(|| ApiError::missing_field("userId"))?;
    let role = parse_role(body.role.as_deref())?;
    let workspace = managed_workspace(&state, &auth, id, &route)
        .await?
        .workspace;
    let user_id = UserId::parse(target).ok_or_else(target_not_found)?;
    let member = NewMember {
        org_id: auth.user.org_id,
        actor_id: auth.user.id,
        workspace_id: workspace.id,
        user_id,
        role,
        created_at: now_ms(),
    };
    match state.store.add_member(member).await.or_500(route.failed)? {
        AddMemberOutcome::Added => Ok(Json(SuccessResponse::default())),
        AddMemberOutcome::WorkspaceNotFound => Err(workspace_not_found()),
        AddMemberOutcome::TargetNotFound => Err(target_not_found()),
        AddMemberOutcome::AlreadyMember => Err(ApiError::conflict(
            ErrorCode::AlreadyMember,
            "User is already a member of this workspace",
        )),
    }
}

fn change_answer(outcome: MemberChangeOutcome) -> Result<Json<SuccessResponse>, ApiError> {
    match outcome {
        MemberChangeOutcome::Done => Ok(Json(SuccessResponse::default())),
        MemberChangeOutcome::WorkspaceNotFound => Err(workspace_not_found()),
        MemberChangeOutcome::NotMember => Err(member_not_found()),
        MemberChangeOutcome::LastAdmin => Err(ApiError::bad_request(
            ErrorCode::LastAdmin,
            "Workspace must keep at least one admin",
        )),
    }
}

/// Change a member's role (workspace ADMIN); the workspace keeps at least one ADMIN.
#[utoipa::path(
    put,
    path = "/workspace/{id}/users/{userId}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(MemberPath),
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
    Path(MemberPath { id, user_id }): Path<MemberPath>,
    JsonBody(body): JsonBody<MemberRoleBody>,
) -> Result<Json<SuccessResponse>, ApiError> {
    let route = route("Failed to update user role");
    let role = parse_role(body.role.as_deref())?;
    let workspace = managed_workspace(&state, &auth, id, &route)
        .await?
        .workspace;
    let outcome = state
        .store
        .change_member_role(
            auth.actor(),
            workspace.id,
            user_id.or(member_not_found)?,
            role,
        )
        .await
        .or_500(route.failed)?;
    change_answer(outcome)
}

/// Remove a member (workspace ADMIN); the workspace keeps at least one ADMIN.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/users/{userId}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(MemberPath),
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
    Path(MemberPath { id, user_id }): Path<MemberPath>,
) -> Result<Json<SuccessResponse>, ApiError> {
    let route = route("Failed to remove user from workspace");
    let workspace = managed_workspace(&state, &auth, id, &route)
        .await?
        .workspace;
    let outcome = state
        .store
        .remove_member(auth.actor(), workspace.id, user_id.or(member_not_found)?)
        .await
        .or_500(route.failed)?;
    change_answer(outcome)
}
