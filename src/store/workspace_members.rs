//! The members of a workspace: adding an active user of its organization, changing a member's
//! role and removing a member, each under the workspace's row lock so that "the last ADMIN
//! stays" holds under concurrency and across processes.

use super::events::{append_event, json, Actor, Changes, MemberFields, NewEvent};
use super::tx::{args, for_update, PerDialect, Tx};
use super::{sql, Store, StoreResult};
use crate::domain::{EventKind, OrgId, UserId, WorkspaceId, WorkspaceRole};

impl Store {
    /// Adds an active user of the organization to a live workspace.
    pub async fn add_member(&self, member: NewMember) -> StoreResult<AddMemberOutcome> {
        self.write(move |tx| Box::pin(add_member(tx, member))).await
    }

    /// Changes an active member's role; refuses to demote the last ADMIN. Their current role
    /// again changes nothing.
    pub async fn change_member_role(
        &self,
        by: Actor,
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: WorkspaceRole,
    ) -> StoreResult<MemberChangeOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                let loses_admin = role != WorkspaceRole::Admin;
                let current =
                    match check_member_change(tx, workspace_id, user_id, loses_admin).await? {
                        Ok(current) => current,
                        Err(refused) => return Ok(refused),
                    };
                if current == role {
                    return Ok(MemberChangeOutcome::Done);
                }
                tx.execute(UPDATE_MEMBER_ROLE, args![workspace_id, user_id, role])
                    .await?;
                let changes = Changes::default().field("role", current.as_str(), role.as_str());
                if let Some(data) = changes.json()? {
                    let kind = EventKind::Updated;
                    let event = NewEvent::member(by, kind, workspace_id, user_id, data);
                    append_event(tx, &event).await?;
                }
                Ok(MemberChangeOutcome::Done)
            })
        })
        .await
    }

    /// Removes an active member; refuses to remove the last ADMIN.
    pub async fn remove_member(
        &self,
        by: Actor,
        workspace_id: WorkspaceId,
        user_id: UserId,
    ) -> StoreResult<MemberChangeOutcome> {
        self.write(move |tx| {
            Box::pin(async move {
                let role = match check_member_change(tx, workspace_id, user_id, true).await? {
                    Ok(role) => role,
                    Err(refused) => return Ok(refused),
                };
                tx.execute(DELETE_MEMBER, args![workspace_id, user_id])
                    .await?;
                let data = json(&MemberFields::new(workspace_id, user_id, role))?;
                let event = NewEvent::member(by, EventKind::Deleted, workspace_id, user_id, data);
                append_event(tx, &event).await?;
                Ok(MemberChangeOutcome::Done)
            })
        })
        .await
    }
}

async fn add_member(tx: &mut Tx<'_>, member: NewMember) -> StoreResult<AddMemberOutcome> {
    let live = tx
        .count(
            sql::COUNT_LIVE_WORKSPACE,
            args![member.workspace_id, member.org_id],
        )
        .await?;
    if live == 0 {
        return Ok(AddMemberOutcome::WorkspaceNotFound);
    }
    let target = tx
        .count(COUNT_LIVE_USER, args![member.user_id, member.org_id])
        .await?;
    if target == 0 {
        return Ok(AddMemberOutcome::TargetNotFound);
    }
    let inserted = tx
        .execute(
            INSERT_MEMBER,
            args![
                member.workspace_id,
                member.user_id,
                member.role,
                member.created_at
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(AddMemberOutcome::AlreadyMember);
    }
    let fields = MemberFields::new(member.workspace_id, member.user_id, member.role);
    let by = Actor {
        org_id: member.org_id,
        user_id: member.actor_id,
        at: member.created_at,
    };
    let (kind, workspace_id) = (EventKind::Created, member.workspace_id);
    let event = NewEvent::member(by, kind, workspace_id, member.user_id, json(&fields)?);
    append_event(tx, &event).await?;
    Ok(AddMemberOutcome::Added)
}

/// Inside the transaction: locks the live workspace's row (PostgreSQL), then checks that `user`
/// is an active member and, when `loses_admin` and they are an ADMIN, that another active ADMIN
/// remains. Their current role when the change may proceed, else the refusal.
async fn check_member_change(
    tx: &mut Tx<'_>,
    workspace_id: WorkspaceId,
    user_id: UserId,
    loses_admin: bool,
) -> StoreResult<Result<WorkspaceRole, MemberChangeOutcome>> {
    let live: Option<WorkspaceId> = tx
        .query_opt_per_dialect(&LOCK_LIVE_WORKSPACE, args![workspace_id], |row| {
            row.get("id")
        })
        .await?;
    if live.is_none() {
        return Ok(Err(MemberChangeOutcome::WorkspaceNotFound));
    }
    let role: Option<WorkspaceRole> = tx
        .query_opt(MEMBER_ROLE, args![workspace_id, user_id], |row| {
            row.get("role")
        })
        .await?;
    Ok(match role {
        None => Err(MemberChangeOutcome::NotMember),
        Some(WorkspaceRole::Admin) if loses_admin => {
            let admins = tx.count(COUNT_ACTIVE_ADMINS, args![workspace_id]).await?;
            if admins <= 1 {
                Err(MemberChangeOutcome::LastAdmin)
            } else {
                Ok(WorkspaceRole::Admin)
            }
        }
        Some(role) => Ok(role),
    })
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub org_id: OrgId,
    /// Who adds them.
    pub actor_id: UserId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: WorkspaceRole,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMemberOutcome {
    Added,
    WorkspaceNotFound,
    TargetNotFound,
    AlreadyMember,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChangeOutcome {
    Done,
    WorkspaceNotFound,
    NotMember,
    LastAdmin,
}

// ---- SQL ----------------------------------------------------------------------------------------

const COUNT_LIVE_USER: &str =
    "SELECT COUNT(*) AS n FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL";

/// A live workspace, locked until commit on PostgreSQL, so that member changes of one workspace
/// run one after the other across every server process.
const LOCK_LIVE_WORKSPACE: PerDialect =
    for_update!("SELECT id FROM workspaces WHERE id = $1 AND deleted_at IS NULL");

const INSERT_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, user_id) DO NOTHING";

/// The role of an active member ($1 workspace, $2 user).
const MEMBER_ROLE: &str =
    "SELECT m.role FROM workspace_members m JOIN users u ON u.id = m.user_id \
     WHERE m.workspace_id = $1 AND m.user_id = $2 AND u.deleted_at IS NULL";

const COUNT_ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) AS n FROM workspace_members m JOIN users u ON u.id = m.user_id \
     WHERE m.workspace_id = $1 AND m.role = 'ADMIN' AND u.deleted_at IS NULL";

/// Sets member $2's role in workspace $1 to $3 (the caller has checked the membership exists).
const UPDATE_MEMBER_ROLE: &str =
    "UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2";

/// Removes member $2 from workspace $1.
const DELETE_MEMBER: &str =
    "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2";
