//! Workspaces (contract section 3): `POST /workspace` (create), `PUT` and `DELETE
//! /workspace/{id}` (rename, soft delete). Reading them, `GET /workspace` and
//! `GET /workspace/{id}`, is in `workspace_listing.rs`; their members, `/workspace/{id}/users`,
//! in `workspace_users.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{OrgId, WorkspaceId, WorkspaceName, WorkspaceNameError};
use crate::http::bodies::constants::SuccessTrue;
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::SuccessResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, Bearer, JsonBody, WorkspacePath};
use crate::http::common::rules::{managed_workspace, workspace_not_found, WorkspaceRoute};
use crate::http::AppState;
use crate::store::{
    CreateOutcome, DeleteOutcome, NewWorkspace, StoreError, Workspace, WorkspaceRename,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workspace))
        .routes(routes!(rename_workspace, delete_workspace))
}

/// A new workspace's name: 1 to 100 characters after trimming, no refused characters, unique in
/// the organization (compared trimmed and case-insensitively).
#[derive(Deserialize, ToSchema)]
struct CreateWorkspaceBody {
    #[schema(schema_with = schema::workspace_name, required = true)]
    name: Option<String>,
}

/// `PUT /workspace/{id}`: the new name; without one, nothing changes.
#[derive(Deserialize, ToSchema)]
struct RenameWorkspaceBody {
    #[schema(schema_with = schema::optional_workspace_name)]
    name: Option<String>,
}

fn parse_name(raw: Option<&str>) -> Result<WorkspaceName, ApiError> {
    WorkspaceName::parse(raw.unwrap_or_default()).map_err(|error| match error {
        WorkspaceNameError::Missing => ApiError::bad_request(
            ErrorCode::WorkspaceNameRequired,
            "Workspace name is required",
        ),
        WorkspaceNameError::TooLong => ApiError::bad_request(
            ErrorCode::WorkspaceNameTooLong,
            "Workspace name must be at most 100 characters",
        ),
        WorkspaceNameError::InvalidCharacters => ApiError::bad_request(
            ErrorCode::WorkspaceNameInvalid,
            "Workspace name contains invalid characters",
        ),
    })
}

fn name_taken() -> ApiError {
    ApiError::conflict(
        ErrorCode::WorkspaceNameTaken,
        "A workspace with this name already exists in the organization",
    )
}

/// A workspace on the wire: `{"id","name","orgId"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Workspace)]
#[serde(rename_all = "camelCase")]
struct WorkspaceJson {
    id: WorkspaceId,
    name: String,
    org_id: OrgId,
}

impl From<Workspace> for WorkspaceJson {
    fn from(w: Workspace) -> Self {
        WorkspaceJson {
            id: w.id,
            name: w.name,
            org_id: w.org_id,
        }
    }
}

/// `POST /workspace` (201) and `PUT /workspace/{id}` (200).
#[derive(Debug, Serialize, ToSchema)]
struct WorkspaceResponse {
    success: SuccessTrue,
    workspace: WorkspaceJson,
}

impl From<Workspace> for WorkspaceResponse {
    fn from(workspace: Workspace) -> Self {
        WorkspaceResponse {
            success: SuccessTrue,
            workspace: workspace.into(),
        }
    }
}

/// Create a workspace (WORKSPACES, ADMINISTRATORS, OWNER); the creator becomes its ADMIN.
///
/// Check order (contract section 3): token -> body -> caller validated -> role -> the
/// organization's workspace limit (section 13) -> name free.
/// The token's signature and expiry are checked before anything else; its session, the caller's
/// validation and role, and the insert, together by the store (one round trip).
#[utoipa::path(
    post,
    path = "/workspace",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    request_body = CreateWorkspaceBody,
    responses(
        (status = 201, description = "The new workspace", body = WorkspaceResponse),
        (status = 400, description = "Workspace name is required / must be at most 100 characters / contains invalid characters; User not found or account is not validated; malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to create workspaces; `QUOTA_EXCEEDED` Workspace limit reached for this organization (`--max-workspaces-per-org`)", body = ErrorResponse),
        (status = 409, description = "A workspace with this name already exists in the organization", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to create workspace", body = ErrorResponse),
    )
)]
async fn create_workspace(
    State(state): State<AppState>,
    bearer: Bearer,
    body: Result<JsonBody<CreateWorkspaceBody>, ApiError>,
) -> Result<(StatusCode, Json<WorkspaceResponse>), ApiError> {
    let name = match body.and_then(|JsonBody(body)| parse_name(body.name.as_deref())) {
        Ok(name) => name,
        Err(error) => return Err(bearer.or_unauthorized(&state, error).await),
    };
    let new = NewWorkspace {
        id: WorkspaceId::new(),
        name_key: name.key(),
        name: name.into_inner(),
    };
    // Uniqueness is the database's call (partial unique index), so it holds across processes.
    let max_live = state.quotas.max_workspaces_per_org;
    match state
        .store
        .create_workspace(bearer.claim, new, max_live)
        .await
    {
        Ok(CreateOutcome::Created(workspace)) => Ok((StatusCode::CREATED, Json(workspace.into()))),
        Ok(CreateOutcome::NotLive) => Err(bearer.not_live(&state).await),
        Ok(CreateOutcome::NotValidated) => Err(ApiError::not_validated()),
        Ok(CreateOutcome::NotPermitted) => Err(ApiError::insufficient_permissions(
            "Insufficient permissions to create workspaces",
        )),
        Ok(CreateOutcome::QuotaExceeded) => Err(ApiError::forbidden(
            ErrorCode::QuotaExceeded,
            "Workspace limit reached for this organization",
        )),
        Err(StoreError::Conflict) => Err(name_taken()),
        Err(error) => Err(ApiError::internal("Failed to create workspace", error)),
    }
}

/// Rename a workspace (workspace ADMIN). An empty body changes nothing.
///
/// Check order: token -> body -> caller validated -> visible (404) -> ADMIN (403) -> name free.
#[utoipa::path(
    put,
    path = "/workspace/{id}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(WorkspacePath),
    request_body = RenameWorkspaceBody,
    responses(
        (status = 200, description = "The workspace (without members)", body = WorkspaceResponse),
        (status = 400, description = "Bad name; User not found or account is not validated; malformed JSON", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to update workspace", body = ErrorResponse),
        (status = 404, description = "Workspace not found", body = ErrorResponse),
        (status = 409, description = "A workspace with this name already exists in the organization", body = ErrorResponse),
        BodyRejected,
        (status = 500, description = "Failed to update workspace", body = ErrorResponse),
    )
)]
async fn rename_workspace(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(WorkspacePath { id }): Path<WorkspacePath>,
    JsonBody(body): JsonBody<RenameWorkspaceBody>,
) -> Result<Json<WorkspaceResponse>, ApiError> {
    const ROUTE: WorkspaceRoute = WorkspaceRoute {
        denied: "Insufficient permissions to update workspace",
        failed: "Failed to update workspace",
    };
    let name = body
        .name
        .as_deref()
        .map(|raw| parse_name(Some(raw)))
        .transpose()?;
    let access = managed_workspace(&state, &auth, id, &ROUTE).await?;
    // An empty body changes nothing.
    let Some(name) = name else {
        return Ok(Json(access.workspace.into()));
    };
    let rename = WorkspaceRename {
        by: auth.actor(),
        workspace_id: access.workspace.id,
        name_key: name.key(),
        name: name.into_inner(),
    };
    let workspace = match state.store.rename_workspace(rename).await {
        Ok(Some(workspace)) => workspace,
        Ok(None) => return Err(workspace_not_found()),
        Err(StoreError::Conflict) => return Err(name_taken()),
        Err(error) => return Err(ApiError::internal(ROUTE.failed, error)),
    };
    Ok(Json(workspace.into()))
}

/// Soft delete a workspace (workspace ADMIN): the rows stay with `deleted_at` set; the name is
/// free again.
#[utoipa::path(
    delete,
    path = "/workspace/{id}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(WorkspacePath),
    responses(
        (status = 200, description = "Deleted", body = SuccessResponse),
        (status = 400, description = "Cannot delete workspace with existing buckets or repos; User not found or account is not validated", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "Insufficient permissions to delete workspace", body = ErrorResponse),
        (status = 404, description = "Workspace not found", body = ErrorResponse),
        (status = 500, description = "Failed to delete workspace", body = ErrorResponse),
    )
)]
async fn delete_workspace(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(WorkspacePath { id }): Path<WorkspacePath>,
) -> Result<Json<SuccessResponse>, ApiError> {
    const ROUTE: WorkspaceRoute = WorkspaceRoute {
        denied: "Insufficient permissions to delete workspace",
        failed: "Failed to delete workspace",
    };
    let access = managed_workspace(&state, &auth, id, &ROUTE).await?;
    let outcome = state
        .store
        .delete_workspace(auth.actor(), access.workspace.id)
        .await
        .or_500(ROUTE.failed)?;
    match outcome {
        DeleteOutcome::Deleted => Ok(Json(SuccessResponse::default())),
        DeleteOutcome::NotFound => Err(workspace_not_found()),
        DeleteOutcome::HasResources => Err(ApiError::bad_request(
            ErrorCode::WorkspaceNotEmpty,
            "Cannot delete workspace with existing buckets or repos",
        )),
    }
}
