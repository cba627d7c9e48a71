//! Workspaces (contract section 3): `POST` and `GET /workspace`, `GET`, `PUT` and `DELETE
//! /workspace/{id}` (create, list, get, rename, soft delete). Their members,
//! `/workspace/{id}/users`, are in `workspace_users.rs`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{WorkspaceId, WorkspaceName, WorkspaceNameError};
use crate::http::bodies::errors::{ErrorCode, ErrorResponse};
use crate::http::bodies::fields as schema;
use crate::http::bodies::responses::{BodyRejected, Unauthorized};
use crate::http::bodies::workspaces::{
    WorkspaceResponse, WorkspaceWithUsersResponse, WorkspacesResponse,
};
use crate::http::bodies::SuccessResponse;
use crate::http::common::error::{ApiError, OrInternal};
use crate::http::common::extract::{AuthUser, Bearer, JsonBody, WorkspacePath};
use crate::http::common::json::SizedJson;
use crate::http::common::rules::{managed_workspace, workspace_not_found, WorkspaceRoute};
use crate::http::AppState;
use crate::store::{
    CreateOutcome, DeleteOutcome, NewWorkspace, Selection, StoreError, WorkspaceRename,
    WorkspaceWithMembers,
};

/// Largest page `GET /workspace?limit=` accepts.
const MAX_PAGE: i64 = 200;
/// Page size when only a cursor is given.
const DEFAULT_PAGE: i64 = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workspace, list_workspaces))
        .routes(routes!(get_workspace, rename_workspace, delete_workspace))
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

/// Create a workspace (WORKSPACES, ADMINISTRATORS, OWNER); the creator becomes its ADMIN.
///
/// Check order (contract section 3): token -> body -> caller validated -> role -> name free.
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
        (status = 403, description = "Insufficient permissions to create workspaces", body = ErrorResponse),
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
    match state.store.create_workspace(bearer.claim, new).await {
        Ok(CreateOutcome::Created(workspace)) => Ok((StatusCode::CREATED, Json(workspace.into()))),
        Ok(CreateOutcome::NotLive) => Err(bearer.not_live(&state).await),
        Ok(CreateOutcome::NotValidated) => Err(ApiError::not_validated()),
        Ok(CreateOutcome::NotPermitted) => Err(ApiError::insufficient_permissions(
            "Insufficient permissions to create workspaces",
        )),
        Err(StoreError::Conflict) => Err(name_taken()),
        Err(error) => Err(ApiError::internal("Failed to create workspace", error)),
    }
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

/// An opaque keyset position: URL-safe base64 of the last workspace's id followed by its name key.
fn encode_cursor(last: &WorkspaceWithMembers) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}{}", last.workspace.id, last.name_key))
}

fn decode_cursor(cursor: &str) -> Option<(String, WorkspaceId)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (id, key) = (text.get(..36)?, text.get(36..)?);
    Some((key.to_owned(), WorkspaceId::parse(id)?))
}

fn invalid_query(message: &'static str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

/// Every workspace the caller can see, with members, by name. With `limit` and/or `cursor`, one
/// page and a `nextCursor` when more follow.
#[utoipa::path(
    get,
    path = "/workspace",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Page size (1 to 200; 50 when only `cursor` is given)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "The workspaces the caller can see", body = WorkspacesResponse),
        (status = 400, description = "`INVALID_QUERY`: a bad `limit` or `cursor`", body = ErrorResponse),
        Unauthorized,
        (status = 500, description = "Failed to fetch workspaces", body = ErrorResponse),
    )
)]
async fn list_workspaces(
    State(state): State<AppState>,
    bearer: Bearer,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<SizedJson<WorkspacesResponse>, ApiError> {
    let Page {
        limit,
        after,
        paginated,
    } = match page_of(params) {
        Ok(page) => page,
        Err(error) => return Err(bearer.or_unauthorized(&state, error).await),
    };
    // One more than asked tells whether another page follows.
    let selection = Selection::Page {
        after,
        limit: limit.saturating_add(1),
    };
    let found = state
        .store
        .visible_workspaces(bearer.claim, selection)
        .await
        .or_500("Failed to fetch workspaces")?;
    let Some(mut listed) = found else {
        return Err(bearer.not_live(&state).await);
    };
    let more = listed.len() as i64 > limit;
    listed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = (paginated && more)
        .then(|| listed.last().map(encode_cursor))
        .flatten();
    let body = WorkspacesResponse::new(listed, next_cursor);
    let size_hint = body.size_hint();
    Ok(SizedJson { body, size_hint })
}

/// The page a listing asks for. Without `limit` and `cursor`, everything.
struct Page {
    limit: i64,
    /// The keyset position (`name_key`, id) to start after.
    after: Option<(String, WorkspaceId)>,
    /// Whether pages were asked for at all (then the answer may carry `nextCursor`).
    paginated: bool,
}

fn page_of(params: Result<Query<ListParams>, QueryRejection>) -> Result<Page, ApiError> {
    let Query(params) = params.map_err(|_| invalid_query("Invalid query string"))?;
    let paginated = params.limit.is_some() || params.cursor.is_some();
    let limit = match params.limit.as_deref() {
        None if paginated => DEFAULT_PAGE,
        None => i64::MAX,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| invalid_query("limit must be an integer from 1 to 200"))?,
    };
    let after = match params.cursor.as_deref() {
        None => None,
        Some(raw) => Some(decode_cursor(raw).ok_or_else(|| invalid_query("Invalid cursor"))?),
    };
    Ok(Page {
        limit,
        after,
        paginated,
    })
}

/// One workspace with its members.
#[utoipa::path(
    get,
    path = "/workspace/{id}",
    tag = "workspaces",
    security(("bearerAuth" = [])),
    params(WorkspacePath),
    responses(
        (status = 200, description = "The workspace with its members", body = WorkspaceWithUsersResponse),
        Unauthorized,
        (status = 404, description = "Workspace not found or access denied", body = ErrorResponse),
        (status = 500, description = "Failed to fetch workspace", body = ErrorResponse),
    )
)]
async fn get_workspace(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(WorkspacePath { id }): Path<WorkspacePath>,
) -> Result<SizedJson<WorkspaceWithUsersResponse>, ApiError> {
    let not_found = || {
        ApiError::not_found(
            ErrorCode::WorkspaceNotFound,
            "Workspace not found or access denied",
        )
    };
    let Some(id) = id.id() else {
        return Err(bearer.or_unauthorized(&state, not_found()).await);
    };
    let found = state
        .store
        .visible_workspaces(bearer.claim, Selection::One(id))
        .await
        .or_500("Failed to fetch workspace")?;
    let Some(listed) = found else {
        return Err(bearer.not_live(&state).await);
    };
    let workspace = listed.into_iter().next().ok_or_else(not_found)?;
    let body = WorkspaceWithUsersResponse::new(workspace);
    let size_hint = body.size_hint();
    Ok(SizedJson { body, size_hint })
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
