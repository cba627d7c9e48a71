//! Rows to store types, by column position (the column lists of `store::queries`).

use rusqlite::Row;

use crate::store::{OrgUser, Organization, SessionInfo, User, Workspace};

/// `user_columns!()`: id, org_id, email, first_name, last_name, org_role, validated,
/// is_business, deleted_at.
pub fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        org_id: row.get(1)?,
        email: row.get(2)?,
        first_name: row.get(3)?,
        last_name: row.get(4)?,
        org_role: row.get(5)?,
        validated: row.get(6)?,
        is_business: row.get(7)?,
        deleted_at: row.get(8)?,
    })
}

/// `org_user_columns!()`: id, org_id, email, first_name, last_name, org_role, validated,
/// deleted_at.
pub fn org_user(row: &Row<'_>) -> rusqlite::Result<OrgUser> {
    Ok(OrgUser {
        id: row.get(0)?,
        org_id: row.get(1)?,
        email: row.get(2)?,
        first_name: row.get(3)?,
        last_name: row.get(4)?,
        org_role: row.get(5)?,
        validated: row.get(6)?,
        deleted_at: row.get(7)?,
    })
}

/// `organization_columns!()`.
pub fn organization(row: &Row<'_>) -> rusqlite::Result<Organization> {
    Ok(Organization {
        id: row.get(0)?,
        name: row.get(1)?,
        is_business: row.get(2)?,
        website: row.get(3)?,
        domain: row.get(4)?,
        address1: row.get(5)?,
        address2: row.get(6)?,
        city: row.get(7)?,
        zipcode: row.get(8)?,
        phone: row.get(9)?,
        state: row.get(10)?,
        country: row.get(11)?,
        repos_disabled: row.get(12)?,
        mfa_enforced: row.get(13)?,
        deleted_at: row.get(14)?,
    })
}

/// id, created_at, last_used_at, expires_at.
pub fn session(row: &Row<'_>) -> rusqlite::Result<SessionInfo> {
    Ok(SessionInfo {
        id: row.get(0)?,
        created_at: row.get(1)?,
        last_used_at: row.get(2)?,
        expires_at: row.get(3)?,
    })
}

/// id, org_id, name.
pub fn workspace(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: row.get(0)?,
        org_id: row.get(1)?,
        name: row.get(2)?,
    })
}
