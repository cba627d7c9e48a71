//! Workspaces: `POST /workspace`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{AuthUser, JsonBody};
use super::AppState;
use crate::clock::now_ms;
use crate::domain::{WorkspaceName, WorkspaceNameError};
use crate::store::{NewWorkspace, StoreError, Workspace};

pub fn router() -> Router<AppState> {
    Router::new().route("/workspace", post(create_workspace))
}

/// A workspace on the wire: `{"id","name","orgId"}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkspaceJson {
    id: Uuid,
    name: String,
    org_id: Uuid,
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

#[derive(Deserialize)]
struct CreateWorkspaceBody {
    name: Option<String>,
}

fn parse_name(raw: Option<&str>) -> Result<WorkspaceName, ApiError> {
    WorkspaceName::parse(raw.unwrap_or_default()).map_err(|error| match error {
        WorkspaceNameError::Missing => {
            ApiError::bad_request("WORKSPACE_NAME_REQUIRED", "Workspace name is required")
        }
        WorkspaceNameError::TooLong => ApiError::bad_request(
            "WORKSPACE_NAME_TOO_LONG",
            "Workspace name must be at most 100 characters",
        ),
        WorkspaceNameError::InvalidCharacters => ApiError::bad_request(
            "WORKSPACE_NAME_INVALID",
            "Workspace name contains invalid characters",
        ),
    })
}

fn name_taken() -> ApiError {
    ApiError::conflict(
        "WORKSPACE_NAME_TAKEN",
        "A workspace with this name already exists in the organization",
    )
}

/// Check order (contract section 3): token -> body -> caller validated -> role -> name free.
/// The token is checked by the `AuthUser` extractor, which runs before the body is read.
async fn create_workspace(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(body): JsonBody<CreateWorkspaceBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = parse_name(body.name.as_deref())?;
    auth.require_validated()?;
    if !auth.role.can_create_workspaces() {
        return Err(ApiError::forbidden(
            "INSUFFICIENT_PERMISSIONS",
            "Insufficient permissions to create workspaces",
        ));
    }
    let new = NewWorkspace {
        id: Uuid::now_v7(),
        org_id: auth.user.org_id,
        name_key: name.key(),
        name: name.into_inner(),
        creator_id: auth.user.id,
        created_at: now_ms(),
    };
    // Uniqueness is the database's call (partial unique index), so it holds across processes.
    let workspace = match state.store.create_workspace(new).await {
        Ok(workspace) => workspace,
        Err(StoreError::Conflict) => return Err(name_taken()),
        Err(error) => return Err(ApiError::internal("Failed to create workspace", error)),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "workspace": WorkspaceJson::from(workspace) })),
    ))
}
