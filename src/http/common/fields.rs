//! Reading request fields into domain values, with the messages the contract names: a missing
//! field, a bad e-mail address, a weak password, a bad name or role.

use super::error::ApiError;
use crate::domain::{Email, OrgRole, Password, PasswordError, PersonName};
use crate::http::bodies::errors::ErrorCode;
use crate::store::StoreError;

/// The field's text, unless it is missing or blank (`MISSING_FIELD`).
pub fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ApiError::missing_field(field)),
    }
}

/// A required e-mail address.
pub fn email(value: &Option<String>) -> Result<Email, ApiError> {
    Email::parse(required(value, "email")?)
        .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidEmail, "Invalid email address"))
}

/// The answer when an e-mail address already has an account.
pub fn email_taken() -> ApiError {
    ApiError::bad_request(
        ErrorCode::EmailAlreadyExists,
        "An account with this email already exists",
    )
}

/// The outcome of inserting a new account: a taken e-mail address is [`email_taken`], any other
/// failure the route's 500 (`failed`).
pub fn account_inserted<T>(
    inserted: Result<T, StoreError>,
    failed: &'static str,
) -> Result<T, ApiError> {
    match inserted {
        Ok(done) => Ok(done),
        Err(StoreError::Conflict) => Err(email_taken()),
        Err(error) => Err(ApiError::internal(failed, error)),
    }
}

/// A password under the policy, with the contract's `WEAK_PASSWORD` error.
pub fn password(raw: &str) -> Result<Password, ApiError> {
    Password::parse(raw).map_err(|error| {
        let message = match error {
            PasswordError::Weak => {
                "Password must be at least 8 characters long and contain an upper-case letter, \
                 a lower-case letter and a digit"
            }
            PasswordError::TooLong => "Password must be at most 128 characters long",
        };
        ApiError::bad_request(ErrorCode::WeakPassword, message)
    })
}

/// A first or last name, trimmed (`field` names it in the error).
pub fn person_name(raw: &str, field: &str) -> Result<String, ApiError> {
    PersonName::parse(raw)
        .map(PersonName::into_inner)
        .ok_or_else(|| {
            ApiError::invalid_field(format!(
                "{field} must be 1 to 100 characters without control characters"
            ))
        })
}

/// A required first or last name.
pub fn required_name(value: &Option<String>, field: &str) -> Result<String, ApiError> {
    person_name(required(value, field)?, field)
}

/// The names a body asks to change (`name`, `lastName`), each read like a person's name.
pub struct NameChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl NameChange {
    pub fn parse(name: Option<&str>, last_name: Option<&str>) -> Result<NameChange, ApiError> {
        let optional =
            |value: Option<&str>, field| value.map(|v| person_name(v, field)).transpose();
        Ok(NameChange {
            first_name: optional(name, "name")?,
            last_name: optional(last_name, "lastName")?,
        })
    }

    /// Whether neither name changes.
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none() && self.last_name.is_none()
    }
}

/// An `orgRole` wire value; reserved and unknown values are refused (contract section 2).
pub fn org_role(value: i64) -> Result<OrgRole, ApiError> {
    OrgRole::from_value(value)
        .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidRole, "Invalid role combination"))
}

/// A body that asks to change nothing.
pub fn no_valid_fields() -> ApiError {
    ApiError::bad_request(ErrorCode::NoValidFields, "No valid fields to update")
}
