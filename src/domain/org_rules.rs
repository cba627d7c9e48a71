//! Who may manage whom in an organization (contract section 2), as pure functions.
//!
//! - USER and BILLING manage nobody; WORKSPACES and above manage users.
//! - An actor acts only on users whose current role is below its own, and grants only roles at
//!   or below its own; so only an OWNER grants OWNER, and only an OWNER acts on another OWNER
//!   (to remove that role, say).
//! - The last active OWNER keeps the role: that rule needs a count, so the store enforces it in
//!   the same transaction as the change.

use super::OrgRole;

/// Why a change of another user is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDenied {
    /// The actor may not act on this user at all.
    CannotManage,
    /// The actor may act on the user, but not grant this role.
    AboveOwnRole,
}

/// WORKSPACES and above manage the organization's users.
pub fn can_manage_users(actor: OrgRole) -> bool {
    actor >= OrgRole::Workspaces
}

/// May `actor` act on a user whose current role is `target`?
pub fn can_manage_user(actor: OrgRole, target: OrgRole) -> bool {
    can_manage_users(actor) && (target < actor || actor == OrgRole::Owner)
}

/// May `actor` give someone the role `role`?
pub fn can_grant(actor: OrgRole, role: OrgRole) -> bool {
    can_manage_users(actor) && role <= actor
}

/// May `actor` change a user whose role is `target` to `new_role` (None: no role change)?
pub fn check_user_change(
    actor: OrgRole,
    target: OrgRole,
    new_role: Option<OrgRole>,
) -> Result<(), RoleDenied> {
    if !can_manage_user(actor, target) {
        return Err(RoleDenied::CannotManage);
    }
    match new_role {
        Some(role) if !can_grant(actor, role) => Err(RoleDenied::AboveOwnRole),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::{can_grant, can_manage_user, can_manage_users, check_user_change, RoleDenied};
    use crate::domain::OrgRole::{self, Administrators, Billing, Owner, User, Workspaces};

    #[test]
    fn user_and_billing_manage_nobody() {
        for actor in [User, Billing] {
            assert!(!can_manage_users(actor));
            for target in OrgRole::ALL {
                assert!(!can_manage_user(actor, target));
                assert!(!can_grant(actor, target));
            }
        }
    }

    #[test]
    fn managers_act_only_below_their_own_role_except_owners_on_owners() {
        let expected = [
            (Workspaces, vec![User, Billing]),
            (Administrators, vec![User, Billing, Workspaces]),
            (
                Owner,
                vec![User, Billing, Workspaces, Administrators, Owner],
            ),
        ];
        for (actor, targets) in expected {
            let managed: Vec<_> = OrgRole::ALL
                .into_iter()
                .filter(|t| can_manage_user(actor, *t))
                .collect();
            assert_eq!(managed, targets, "{actor:?}");
        }
    }

    #[test]
    fn roles_are_granted_at_or_below_ones_own_and_owner_only_by_owners() {
        let grantable = |actor| {
            OrgRole::ALL
                .into_iter()
                .filter(|r| can_grant(actor, *r))
                .collect::<Vec<_>>()
        };
        assert_eq!(grantable(Workspaces), vec![User, Billing, Workspaces]);
        assert_eq!(
            grantable(Administrators),
            vec![User, Billing, Workspaces, Administrators]
        );
        assert_eq!(grantable(Owner), OrgRole::ALL.to_vec());
    }

    #[test]
    fn every_actor_target_and_new_role_combination() {
        for actor in OrgRole::ALL {
            for target in OrgRole::ALL {
                for new_role in OrgRole::ALL {
                    let result = check_user_change(actor, target, Some(new_role));
                    let expected = if actor < Workspaces || (target >= actor && actor != Owner) {
                        Err(RoleDenied::CannotManage)
                    } else if new_role > actor {
                        Err(RoleDenied::AboveOwnRole)
                    } else {
                        Ok(())
                    };
                    assert_eq!(
                        result, expected,
                        "{actor:?} changing {target:?} to {new_role:?}"
                    );
                }
                let names_only = check_user_change(actor, target, None);
                assert_eq!(names_only.is_ok(), can_manage_user(actor, target));
            }
        }
    }
}
