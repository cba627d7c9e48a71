//! The workspace role as the API writes it, shared by the workspace listing (members' roles,
//! `GET /workspace`, `GET /workspace/{id}`) and the member routes (the role they take,
//! `/workspace/{id}/users`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::WorkspaceRole;

/// A workspace role: `READ`, `WRITE` or `ADMIN`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WorkspaceRoleName {
    Read,
    Write,
    Admin,
}

impl From<WorkspaceRole> for WorkspaceRoleName {
    fn from(role: WorkspaceRole) -> Self {
        match role {
            WorkspaceRole::Read => WorkspaceRoleName::Read,
            WorkspaceRole::Write => WorkspaceRoleName::Write,
            WorkspaceRole::Admin => WorkspaceRoleName::Admin,
        }
    }
}
