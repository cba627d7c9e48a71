//! Values that a body always holds at one place (`"success": true`, `"data": null`...). As types,
//! a body cannot hold anything else there, and the document states the one value.

use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

fn constant(value: serde_json::Value, schema_type: Type) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some([value]))
        .into()
}

/// `"success": true`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SuccessTrue;

impl Serialize for SuccessTrue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl PartialSchema for SuccessTrue {
    fn schema() -> RefOr<Schema> {
        constant(true.into(), Type::Boolean)
    }
}

impl ToSchema for SuccessTrue {}

/// `"success": false`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SuccessFalse;

impl Serialize for SuccessFalse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(false)
    }
}

impl PartialSchema for SuccessFalse {
    fn schema() -> RefOr<Schema> {
        constant(false.into(), Type::Boolean)
    }
}

impl ToSchema for SuccessFalse {}

/// `null`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Null;

impl Serialize for Null {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

/// `{}`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        serializer.serialize_map(Some(0))?.end()
    }
}

impl PartialSchema for EmptyObject {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .max_properties(Some(0))
            .into()
    }
}

impl ToSchema for EmptyObject {}

/// `[]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmptyList;

impl Serialize for EmptyList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        serializer.serialize_seq(Some(0))?.end()
    }
}

impl PartialSchema for EmptyList {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(ObjectBuilder::new())
            .max_items(Some(0))
            .into()
    }
}

impl ToSchema for EmptyList {}

/// `0`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Zero;

impl Serialize for Zero {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(0)
    }
}

impl PartialSchema for Zero {
    fn schema() -> RefOr<Schema> {
        constant(0.into(), Type::Integer)
    }
}

impl ToSchema for Zero {}

#[cfg(test)]
mod tests {
    use super::{EmptyList, EmptyObject, Null, SuccessFalse, SuccessTrue, Zero};

    fn text(value: impl serde::Serialize) -> String {
        serde_json::to_string(&value).unwrap_or_default()
    }

    #[test]
    fn each_constant_serializes_to_its_one_value() {
        assert_eq!(text(SuccessTrue), "true");
        assert_eq!(text(SuccessFalse), "false");
        assert_eq!(text(Null), "null");
        assert_eq!(text(EmptyObject), "{}");
        assert_eq!(text(EmptyList), "[]");
        assert_eq!(text(Zero), "0");
    }
}
