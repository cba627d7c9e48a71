//! Schemas of request fields that several request bodies share, built from the rules the
//! handlers apply (`domain`), so the document states each rule once. Used as
//! `#[schema(schema_with = ...)]` on request body fields; the `optional_` ones also admit `null`,
//! which those fields read as absent (or, on an organization, as "clear").

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

use crate::domain::{no_refused_pattern, non_blank_no_refused_pattern};

/// Longest person or workspace name, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Longest organization text field (name, address...), in characters.
pub const MAX_ORG_TEXT_CHARS: usize = 200;
/// Longest website, in characters.
pub const MAX_WEBSITE_CHARS: usize = 2048;

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// `schema` for a string that may also be `null`.
fn or_null(schema: ObjectBuilder) -> ObjectBuilder {
    schema.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// Text that must not be blank: trimmed, 1 to `max` characters, no refused characters (`domain::text`).
fn non_blank_text(max: usize) -> ObjectBuilder {
    string()
        .max_length(Some(max))
        .pattern(Some(non_blank_no_refused_pattern()))
}

/// Optional text: at most `max` characters, no refused characters.
fn text(max: usize) -> ObjectBuilder {
    string()
        .max_length(Some(max))
        .pattern(Some(no_refused_pattern()))
}

/// A first or last name.
pub fn person_name() -> ObjectBuilder {
    non_blank_text(MAX_NAME_CHARS)
}

/// A first or last name that may be left out.
pub fn optional_person_name() -> ObjectBuilder {
    or_null(person_name())
}

/// A workspace name, unique in the organization (compared trimmed and case-insensitively).
pub fn workspace_name() -> ObjectBuilder {
    non_blank_text(MAX_NAME_CHARS)
}

/// A workspace's new name, if it changes.
pub fn optional_workspace_name() -> ObjectBuilder {
    or_null(workspace_name())
}

/// An organization's name.
pub fn organization_name() -> ObjectBuilder {
    non_blank_text(MAX_ORG_TEXT_CHARS)
}

/// An organization's optional text field (address, city...); `null` or blank clears it.
pub fn organization_text() -> ObjectBuilder {
    or_null(text(MAX_ORG_TEXT_CHARS))
}

/// An organization's website; `null` or blank clears it.
pub fn website() -> ObjectBuilder {
    or_null(text(MAX_WEBSITE_CHARS))
}

/// A new password: the policy of `domain::Password`.
pub fn password() -> ObjectBuilder {
    string()
        .pattern(Some("^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$"))
        .description(Some(
            "At least 8 characters (at most 128) with an upper-case letter, a lower-case letter \
             and a digit",
        ))
}

/// A password that may be left out.
pub fn optional_password() -> ObjectBuilder {
    or_null(password())
}

/// A token or an e-mail address as presented: any non-blank string.
pub fn non_blank() -> ObjectBuilder {
    string().pattern(Some("\\S"))
}

/// An e-mail address.
pub fn email() -> ObjectBuilder {
    string().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
        utoipa::openapi::KnownFormat::Email,
    )))
}

const ORG_ROLES: [u8; 5] = [0, 1, 2, 254, 255];

/// An `orgRole` a request may name: 0 USER, 1 BILLING, 2 WORKSPACES, 254 ADMINISTRATORS,
/// 255 OWNER (3..=253 are reserved and refused).
pub fn org_role() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(ORG_ROLES))
}

/// An optional `orgRole` (`null` is the same as absent).
pub fn optional_org_role() -> ObjectBuilder {
    let values = ORG_ROLES
        .map(serde_json::Value::from)
        .into_iter()
        .chain([serde_json::Value::Null]);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .enum_values(Some(values))
}
