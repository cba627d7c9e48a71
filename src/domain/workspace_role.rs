//! Access to one workspace, and who may do what with it.

use super::OrgRole;

/// A member's access to a workspace (wire strings `READ`, `WRITE`, `ADMIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkspaceRole {
    Read,
    Write,
    Admin,
}

impl WorkspaceRole {
    pub fn parse(raw: &str) -> Option<WorkspaceRole> {
        match raw {
            "READ" => Some(WorkspaceRole::Read),
            "WRITE" => Some(WorkspaceRole::Write),
            "ADMIN" => Some(WorkspaceRole::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceRole::Read => "READ",
            WorkspaceRole::Write => "WRITE",
            WorkspaceRole::Admin => "ADMIN",
        }
    }
}

/// The caller's effective access to a workspace of their own organization: organization OWNER
/// and ADMINISTRATORS act as ADMIN everywhere (so no workspace is ever orphaned); anyone else has
/// their membership, if any. None means the workspace is invisible to them.
pub fn effective_workspace_role(
    org_role: OrgRole,
    membership: Option<WorkspaceRole>,
) -> Option<WorkspaceRole> {
    if org_role.administers_all_workspaces() {
        Some(WorkspaceRole::Admin)
    } else {
        membership
    }
}

/// Renaming, deleting and managing members need ADMIN.
pub fn can_manage_workspace(effective: WorkspaceRole) -> bool {
    effective == WorkspaceRole::Admin
}

#[cfg(test)]
mod tests {
    use super::{can_manage_workspace, effective_workspace_role, WorkspaceRole};
    use crate::domain::OrgRole;

    #[test]
    fn parses_only_the_three_wire_strings() {
        for role in [
            WorkspaceRole::Read,
            WorkspaceRole::Write,
            WorkspaceRole::Admin,
        ] {
            assert_eq!(WorkspaceRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(WorkspaceRole::parse("admin"), None);
        assert_eq!(WorkspaceRole::parse("OWNER"), None);
    }

    #[test]
    fn organization_owners_and_administrators_act_as_admin_everywhere() {
        for org_role in OrgRole::ALL {
            for membership in [
                None,
                Some(WorkspaceRole::Read),
                Some(WorkspaceRole::Write),
                Some(WorkspaceRole::Admin),
            ] {
                let effective = effective_workspace_role(org_role, membership);
                if org_role >= OrgRole::Administrators {
                    assert_eq!(effective, Some(WorkspaceRole::Admin));
                } else {
                    assert_eq!(effective, membership, "{org_role:?}");
                }
            }
        }
    }

    #[test]
    fn only_admins_manage() {
        assert!(can_manage_workspace(WorkspaceRole::Admin));
        assert!(!can_manage_workspace(WorkspaceRole::Write));
        assert!(!can_manage_workspace(WorkspaceRole::Read));
    }
}
