//! Organizations: reading the caller's own, and updating it field by field under its row lock.

use super::events::{append_event, Actor, Changes, NewEvent};
use super::tx::{args, for_update, PerDialect, Row};
use super::{Store, StoreResult};
use crate::domain::{EventKind, OrgId};

impl Store {
    /// The organization, unless it is deleted or unknown.
    pub async fn organization(&self, org_id: OrgId) -> StoreResult<Option<Organization>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(ORGANIZATION, args![org_id], Organization::from_row)
                    .await
            })
        })
        .await
    }

    /// Applies `patch` to the actor's live organization in one write transaction that locks its
    /// row first, so two concurrent partial updates of different fields both survive. None when
    /// the organization is deleted or unknown.
    pub async fn update_organization(
        &self,
        by: Actor,
        patch: OrganizationPatch,
    ) -> StoreResult<Option<Organization>> {
        let (org_id, now) = (by.org_id, by.at);
        self.write(move |tx| {
            Box::pin(async move {
                // Read-modify-write under the row lock: a concurrent update of other fields
                // waits for this commit and then reads the row with this change in it.
                let locked = &LOCK_ORGANIZATION_ROW;
                let current = tx
                    .query_opt_per_dialect(locked, args![org_id], Organization::from_row)
                    .await?;
                let Some(before) = current else {
                    return Ok(None);
                };
                let mut org = before.clone();
                patch.apply_to(&mut org);
                tx.execute(
                    UPDATE_ORGANIZATION,
                    args![
                        org.id,
                        &org.name,
                        &org.address1,
                        &org.address2,
                        &org.city,
                        &org.zipcode,
                        &org.phone,
                        &org.state,
                        &org.country,
                        &org.website,
                        org.is_business,
                        org.mfa_enforced,
                        now,
                    ],
                )
                .await?;
                if let Some(data) = before.changes_to(&org).json()? {
                    append_event(tx, &NewEvent::org(by, EventKind::Updated, data)).await?;
                }
                Ok(Some(org))
            })
        })
        .await
    }
}

/// An organization as the wire shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub is_business: bool,
    pub website: Option<String>,
    pub domain: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub zipcode: Option<String>,
    pub phone: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub repos_disabled: bool,
    pub mfa_enforced: bool,
    pub deleted_at: Option<i64>,
}

/// A partial update: `None` leaves a field alone; for optional text, `Some(None)` clears it.
/// Values arrive already validated (trimmed, bounded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub address1: Option<Option<String>>,
    pub address2: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub zipcode: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub state: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub is_business: Option<bool>,
    pub mfa_enforced: Option<bool>,
}

impl Organization {
    /// Reads the columns of `organization_columns!`.
    fn from_row(row: &Row<'_>) -> StoreResult<Organization> {
        Ok(Organization {
            id: row.get("id")?,
            name: row.get("name")?,
            is_business: row.get("is_business")?,
            website: row.get("website")?,
            domain: row.get("domain")?,
            address1: row.get("address1")?,
            address2: row.get("address2")?,
            city: row.get("city")?,
            zipcode: row.get("zipcode")?,
            phone: row.get("phone")?,
            state: row.get("state")?,
            country: row.get("country")?,
            repos_disabled: row.get("repos_disabled")?,
            mfa_enforced: row.get("mfa_enforced")?,
            deleted_at: row.get("deleted_at")?,
        })
    }
}

impl Organization {
    /// Each updatable field that differs in `after`, named as the organization's JSON and its
    /// update body name them.
    fn changes_to(&self, after: &Organization) -> Changes {
        let text = |value: &Option<String>| value.clone();
        Changes::default()
            .field("name", self.name.as_str(), &after.name)
            .field("address1", text(&self.address1), text(&after.address1))
            .field("address2", text(&self.address2), text(&after.address2))
            .field("city", text(&self.city), text(&after.city))
            .field("zipcode", text(&self.zipcode), text(&after.zipcode))
            .field("phone", text(&self.phone), text(&after.phone))
            .field("state", text(&self.state), text(&after.state))
            .field("country", text(&self.country), text(&after.country))
            .field("website", text(&self.website), text(&after.website))
            .field("is_business", self.is_business, after.is_business)
            .field("mfaEnforced", self.mfa_enforced, after.mfa_enforced)
    }
}

impl OrganizationPatch {
    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == OrganizationPatch::default()
    }

    /// Writes the patched fields onto `org`, leaving the others as they are.
    pub fn apply_to(self, org: &mut Organization) {
        fn set<T>(target: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *target = value;
            }
        }
        set(&mut org.name, self.name);
        set(&mut org.address1, self.address1);
        set(&mut org.address2, self.address2);
        set(&mut org.city, self.city);
        set(&mut org.zipcode, self.zipcode);
        set(&mut org.phone, self.phone);
        set(&mut org.state, self.state);
        set(&mut org.country, self.country);
        set(&mut org.website, self.website);
        set(&mut org.is_business, self.is_business);
        set(&mut org.mfa_enforced, self.mfa_enforced);
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Columns of `Organization`, in this order.
macro_rules! organization_columns {
    () => {
        "id, name, is_business, website, domain, address1, address2, city, zipcode, phone, \
         state, country, repos_disabled, mfa_enforced, deleted_at"
    };
}

const ORGANIZATION: &str = concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE id = $1 AND deleted_at IS NULL"
);

/// `ORGANIZATION`, locked until commit on PostgreSQL: a read-modify-write of the row.
const LOCK_ORGANIZATION_ROW: PerDialect = for_update!(concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE id = $1 AND deleted_at IS NULL"
));

const UPDATE_ORGANIZATION: &str =
    "UPDATE organizations SET name = $2, address1 = $3, address2 = $4, \
     city = $5, zipcode = $6, phone = $7, state = $8, country = $9, \
     website = $10, is_business = $11, mfa_enforced = $12, updated_at = $13 WHERE id = $1";

#[cfg(test)]
mod tests {
    use super::{Organization, OrganizationPatch};
    use crate::domain::OrgId;

    fn acme() -> Organization {
        Organization {
            id: OrgId::from_uuid(uuid::Uuid::nil()),
            name: "Acme".into(),
            is_business: true,
            website: Some("https://acme.example".into()),
            domain: None,
            address1: Some("1 Main St".into()),
            address2: None,
            city: Some("Springfield".into()),
            zipcode: None,
            phone: None,
            state: None,
            country: None,
            repos_disabled: false,
            mfa_enforced: false,
            deleted_at: None,
        }
    }

    #[test]
    fn an_empty_patch_changes_nothing() {
        let patch = OrganizationPatch::default();
        assert!(patch.is_empty());
        let mut org = acme();
        patch.apply_to(&mut org);
        assert_eq!(org, acme());
    }

    #[test]
    fn a_patch_sets_clears_and_leaves_fields() {
        let patch = OrganizationPatch {
            name: Some("Acme Corp".into()),
            city: Some(None),
            phone: Some(Some("+1 555".into())),
            mfa_enforced: Some(true),
            ..OrganizationPatch::default()
        };
        assert!(!patch.is_empty());
        let mut org = acme();
        patch.apply_to(&mut org);
        assert_eq!(
            org,
            Organization {
                name: "Acme Corp".into(),
                city: None,
                phone: Some("+1 555".into()),
                mfa_enforced: true,
                ..acme()
            }
        );
    }
}
