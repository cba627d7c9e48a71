//! Checks that several routes make, in the order the contract documents, and the errors they
//! answer. Each route keeps its own messages; the order lives here once.

use super::error::{ApiError, OrInternal};
use super::extract::{AuthUser, PathId};
use crate::clock::now_ms;
use crate::domain::{
    can_manage_users, can_manage_workspace, effective_workspace_role, UserId, WorkspaceId,
};
use crate::http::bodies::errors::ErrorCode;
use crate::http::AppState;
use crate::store::{User, UserChange, WorkspaceAccess};

/// The answer for a workspace the caller may not see (contract section 3: another
/// organization's, a deleted one, an unknown or malformed id are all the same).
pub fn workspace_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::WorkspaceNotFound, "Workspace not found")
}

/// What a workspace-changing route answers when a shared check fails.
pub struct WorkspaceRoute {
    /// The 403 message for a caller who is not the workspace's ADMIN.
    pub denied: &'static str,
    /// The route's documented 500 message.
    pub failed: &'static str,
}

/// The checks every workspace-changing route makes after reading its body: caller validated
/// (400) -> workspace visible to them (404) -> they are its ADMIN (403). Visible means live, of
/// the caller's organization, and the caller a member of it or an organization OWNER or
/// ADMINISTRATORS, so nothing reveals another organization's workspaces.
pub async fn managed_workspace(
    state: &AppState,
    auth: &AuthUser,
    id: PathId<WorkspaceId>,
    route: &WorkspaceRoute,
) -> Result<WorkspaceAccess, ApiError> {
    auth.require_validated()?;
    let id = id.or(workspace_not_found)?;
    let access = state
        .store
        .workspace_access(auth.user.org_id, id, auth.user.id)
        .await
        .or_500(route.failed)?
        .ok_or_else(workspace_not_found)?;
    let role = effective_workspace_role(auth.user.org_role, access.membership)
        .ok_or_else(workspace_not_found)?;
    if !can_manage_workspace(role) {
        return Err(ApiError::insufficient_permissions(route.denied));
    }
    Ok(access)
}

pub fn user_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::UserNotFound, "User not found")
}

/// Which users of the organization a route may find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// Deleted ones too (the organization's user routes list and re-activate them).
    AnyUser,
    /// Only users who are not deleted.
    LiveUser,
}

/// The user `id` of the caller's organization, or 404 "User not found" (for another
/// organization's, an unknown or a malformed id alike); `failed` is the route's 500 message.
pub async fn org_user(
    state: &AppState,
    auth: &AuthUser,
    id: PathId<UserId>,
    find: Find,
    failed: &'static str,
) -> Result<User, ApiError> {
    state
        .store
        .org_user(auth.user.org_id, id.or(user_not_found)?)
        .await
        .or_500(failed)?
        .filter(|user| find == Find::AnyUser || user.deleted_at.is_none())
        .ok_or_else(user_not_found)
}

pub fn last_owner() -> ApiError {
    ApiError::forbidden(
        ErrorCode::LastOwner,
        "The organization must keep at least one owner",
    )
}

/// The coarse check of every route that manages other users: WORKSPACES or higher, else 403
/// with the route's message. The finer rules (`domain::org_rules`) are the store's, checked under
/// a lock of the organization.
pub fn require_manager(auth: &AuthUser, denied: &'static str) -> Result<(), ApiError> {
    if can_manage_users(auth.user.org_role) {
        Ok(())
    } else {
        Err(ApiError::insufficient_permissions(denied))
    }
}

/// The caller acting on `target_id`, now.
pub fn user_change(auth: &AuthUser, target_id: UserId) -> UserChange {
    UserChange {
        org_id: auth.user.org_id,
        actor_id: auth.user.id,
        target_id,
        now: now_ms(),
    }
}
