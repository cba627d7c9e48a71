//! Bodies of the organization routes: the organization itself and its users.

use crate::domain::{OrgId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use super::constants::SuccessTrue;
use crate::clock::rfc3339;
use crate::store::{Organization, User};

/// An organization. Optional text fields are `null` when unset; `is_business` is snake_case, as
/// the reference has it (clients read it so).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Organization)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationJson {
    id: OrgId,
    name: String,
    domain: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    zipcode: Option<String>,
    phone: Option<String>,
    state: Option<String>,
    country: Option<String>,
    #[schema(required = true, format = DateTime)]
    deleted_at: Option<String>,
    repos_disabled: bool,
    website: Option<String>,
    #[serde(rename = "is_business")]
    is_business: bool,
    mfa_enforced: bool,
}

impl From<Organization> for OrganizationJson {
    fn from(org: Organization) -> Self {
        OrganizationJson {
            id: org.id,
            name: org.name,
            domain: org.domain,
            address1: org.address1,
            address2: org.address2,
            city: org.city,
            zipcode: org.zipcode,
            phone: org.phone,
            state: org.state,
            country: org.country,
            deleted_at: org.deleted_at.map(rfc3339),
            repos_disabled: org.repos_disabled,
            website: org.website,
            is_business: org.is_business,
            mfa_enforced: org.mfa_enforced,
        }
    }
}

/// `GET /organization/{orgId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    success: SuccessTrue,
    data: OrganizationJson,
}

impl From<Organization> for OrganizationResponse {
    fn from(org: Organization) -> Self {
        OrganizationResponse {
            success: SuccessTrue,
            data: org.into(),
        }
    }
}

/// `PUT /organization/{orgId}`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationUpdatedResponse {
    success: SuccessTrue,
    data: OrganizationJson,
    message: &'static str,
}

impl From<Organization> for OrganizationUpdatedResponse {
    fn from(org: Organization) -> Self {
        OrganizationUpdatedResponse {
            success: SuccessTrue,
            data: org.into(),
            message: "Organization updated successfully",
        }
    }
}

/// A user of the organization, deleted ones included. `GET /organization/users/{userId}`
/// answers it bare, without envelope, as documented.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
#[serde(rename_all = "camelCase")]
pub struct OrgUserJson {
    id: UserId,
    email: String,
    /// First name.
    name: String,
    last_name: String,
    org_id: OrgId,
    org_role: i16,
    validated: bool,
    /// When the user was deleted, or null.
    #[schema(required = true, format = DateTime)]
    deleted_at: Option<String>,
    org_role_description: &'static str,
    org_roles: Vec<u8>,
}

impl From<User> for OrgUserJson {
    fn from(user: User) -> Self {
        let role = user.org_role;
        OrgUserJson {
            id: user.id,
            email: user.email,
            name: user.first_name,
            last_name: user.last_name,
            org_id: user.org_id,
            org_role: user.org_role.value().into(),
            validated: user.validated,
            deleted_at: user.deleted_at.map(rfc3339),
            org_role_description: role.description(),
            org_roles: role.inherited_values(),
        }
    }
}

/// `GET /organization/users`, 200.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUsersResponse {
    success: SuccessTrue,
    data: Vec<OrgUserJson>,
    total: usize,
}

impl From<Vec<User>> for OrgUsersResponse {
    fn from(users: Vec<User>) -> Self {
        let data: Vec<OrgUserJson> = users.into_iter().map(OrgUserJson::from).collect();
        OrgUsersResponse {
            success: SuccessTrue,
            total: data.len(),
            data,
        }
    }
}

/// `POST /organization/users` (201) and `PUT /organization/users/{userId}` (200).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUserResponse {
    success: SuccessTrue,
    data: OrgUserJson,
    message: &'static str,
}

impl OrgUserResponse {
    pub fn new(user: User, message: &'static str) -> Self {
        OrgUserResponse {
            success: SuccessTrue,
            data: user.into(),
            message,
        }
    }
}
