/// An organization role. The numbers are the wire values of the contract (section 2); values
/// 3..=253 are reserved and never parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    User,
    Billing,
    Workspaces,
    Administrators,
    Owner,
}

impl OrgRole {
    /// Every defined role, lowest first.
    pub const ALL: [OrgRole; 5] = [
        OrgRole::User,
        OrgRole::Billing,
        OrgRole::Workspaces,
        OrgRole::Administrators,
        OrgRole::Owner,
    ];

    pub fn from_value(value: i64) -> Option<OrgRole> {
        Self::ALL
            .into_iter()
            .find(|role| i64::from(role.value()) == value)
    }

    pub fn value(self) -> u8 {
        match self {
            OrgRole::User => 0,
            OrgRole::Billing => 1,
            OrgRole::Workspaces => 2,
            OrgRole::Administrators => 254,
            OrgRole::Owner => 255,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            OrgRole::User => "USER",
            OrgRole::Billing => "BILLING",
            OrgRole::Workspaces => "WORKSPACES",
            OrgRole::Administrators => "ADMINISTRATORS",
            OrgRole::Owner => "OWNER",
        }
    }

    /// The roles this one includes, itself last: higher roles inherit lower ones.
    pub fn inherited_values(self) -> Vec<u8> {
        Self::ALL
            .into_iter()
            .filter(|role| *role <= self)
            .map(OrgRole::value)
            .collect()
    }

    /// The lowest role that creates workspaces: [`OrgRole::can_create_workspaces`], for queries
    /// that check it in SQL (`org_role >= value`).
    pub const CREATES_WORKSPACES: OrgRole = OrgRole::Workspaces;

    /// The lowest role that administers every workspace of its organization:
    /// [`OrgRole::administers_all_workspaces`], for queries that check it in SQL.
    pub const ADMINISTERS_ALL_WORKSPACES: OrgRole = OrgRole::Administrators;

    /// WORKSPACES and above may create workspaces.
    pub fn can_create_workspaces(self) -> bool {
        self >= Self::CREATES_WORKSPACES
    }

    /// OWNER and ADMINISTRATORS act as ADMIN on every workspace of their organization.
    pub fn administers_all_workspaces(self) -> bool {
        self >= Self::ADMINISTERS_ALL_WORKSPACES
    }

    /// OWNER and ADMINISTRATORS edit their organization (its fields and its MFA enforcement)
    /// and reset the MFA of its users.
    pub fn administers_organization(self) -> bool {
        self >= OrgRole::Administrators
    }

    /// OWNER and ADMINISTRATORS see every system event of their organization; everyone else
    /// sees what they caused and what happened in their workspaces (contract section 7).
    pub fn sees_all_events(self) -> bool {
        self >= OrgRole::Administrators
    }
}

#[cfg(test)]
mod tests {
    use super::OrgRole;

    #[test]
    fn round_trips_defined_values_and_rejects_reserved_ones() {
        for role in OrgRole::ALL {
            assert_eq!(OrgRole::from_value(role.value().into()), Some(role));
        }
        for reserved in [3, 100, 253, 256, -1] {
            assert_eq!(OrgRole::from_value(reserved), None);
        }
    }

    #[test]
    fn stored_values_order_roles_as_the_enum_does() {
        // Queries compare stored values (`org_role >= $n`) where Rust compares roles.
        for a in OrgRole::ALL {
            for b in OrgRole::ALL {
                assert_eq!(a <= b, a.value() <= b.value(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn higher_roles_inherit_lower_ones() {
        assert_eq!(OrgRole::User.inherited_values(), vec![0]);
        assert_eq!(OrgRole::Workspaces.inherited_values(), vec![0, 1, 2]);
        assert_eq!(OrgRole::Owner.inherited_values(), vec![0, 1, 2, 254, 255]);
    }

    #[test]
    fn only_workspaces_and_above_create_workspaces() {
        let allowed: Vec<_> = OrgRole::ALL
            .into_iter()
            .filter(|r| r.can_create_workspaces())
            .collect();
        assert_eq!(
            allowed,
            vec![OrgRole::Workspaces, OrgRole::Administrators, OrgRole::Owner]
        );
    }

    #[test]
    fn only_administrators_and_owners_see_every_event() {
        let allowed: Vec<_> = OrgRole::ALL
            .into_iter()
            .filter(|r| r.sees_all_events())
            .collect();
        assert_eq!(allowed, vec![OrgRole::Administrators, OrgRole::Owner]);
    }
}
