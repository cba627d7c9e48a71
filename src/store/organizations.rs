//! Organizations and password resets.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;

/// Organization records and password-reset tokens. All timestamps are Unix milliseconds.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// The organization, unless it is deleted or unknown.
    async fn organization(&self, org_id: Uuid) -> StoreResult<Option<Organization>>;

    /// Applies `patch` to a live organization in one write transaction that locks its row first,
    /// so two concurrent partial updates of different fields both survive. None when the
    /// organization is deleted or unknown.
    async fn update_organization(
        &self,
        org_id: Uuid,
        patch: OrganizationPatch,
        now: i64,
    ) -> StoreResult<Option<Organization>>;

    /// Stores a reset token for the live account with this e-mail key and returns where to send
    /// it; None (and nothing stored) when there is no such account.
    async fn create_password_reset(
        &self,
        email_key: &str,
        reset: NewPasswordReset,
    ) -> StoreResult<Option<ResetRecipient>>;

    /// True when the token is unused, unexpired and its account live. A cheap pre-check, so an
    /// invalid token is refused before the password is hashed; `reset_password` decides.
    async fn password_reset_is_live(&self, token_hash: &[u8], now: i64) -> StoreResult<bool>;

    /// Uses a reset token once, in one write transaction: sets the password hash, marks the
    /// account validated, spends every outstanding reset token of the account and revokes all its
    /// sessions. False for an unknown, used or expired token, or a deleted account.
    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool>;
}

/// An organization as the wire shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
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

#[derive(Debug, Clone)]
pub struct NewPasswordReset {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Where a reset e-mail goes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResetRecipient {
    pub user_id: Uuid,
    pub email: String,
    pub first_name: String,
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{Organization, OrganizationPatch};

    fn acme() -> Organization {
        Organization {
            id: Uuid::nil(),
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
