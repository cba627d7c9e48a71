//! Every answer the suite reads is checked against the OpenAPI document (contract section 6):
//! its status must be documented for the operation of its route and method, and its body must
//! match that response's schema. `TestApp::read` calls [`check`], so no test can forget to.
//!
//! - The document is built once per test binary, in process, by the same code that serves
//!   `GET /openapi.json` (`workspaces::http::openapi_document`).
//! - A response schema is compiled as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), with the
//!   document's `components` beside it so its `$ref`s resolve; one validator per schema, cached.
//! - Objects are read as closed: a field the document does not list fails too, so the document
//!   lists every field the server sends. (The document does not say `additionalProperties:
//!   false` itself: utoipa writes flattened bodies as `allOf`, which that keyword would break;
//!   here `allOf`s of objects are merged first.)
//! - Statuses the middleware answers on any route (408, 413, 415, 429, 503, README "Every answer
//!   is JSON"), and 404/405 for a route or method that does not exist, need not be listed per
//!   operation, but must still be the error envelope.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use jsonschema::Validator;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// Answered by the middleware on any route.
const CROSS_CUTTING: [u16; 5] = [408, 413, 415, 429, 503];
/// The error envelope, for answers no operation documents.
const ENVELOPE: &str = "#/components/schemas/ErrorResponse";

struct Document {
    /// `paths` of the document.
    paths: Map<String, Value>,
    /// `components/schemas`, with every object closed.
    schemas: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

static DOCUMENT: LazyLock<Document> = LazyLock::new(|| {
    let document = workspaces::http::openapi_document();
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    let mut schemas = document["components"]["schemas"].clone();
    let originals = schemas.clone();
    if let Some(schemas) = schemas.as_object_mut() {
        for schema in schemas.values_mut() {
            close(schema, &originals);
        }
    }
    Document {
        paths,
        schemas,
        validators: Mutex::new(HashMap::new()),
    }
});

/// Panics unless `body`, answered with `status` to `method` on `path`, is what the document
/// says that operation answers.
pub fn check(method: &Method, path: &str, status: StatusCode, body: &Value) {
    let document = &*DOCUMENT;
    let what = format!("{method} {path} answered {status} {body}");
    let Some((template, item)) = document.route(path) else {
        assert!(
            matches!(status.as_u16(), 404 | 405),
            "{what}: no documented route matches"
        );
        return document.validate(&json!({ "$ref": ENVELOPE }), body, &what);
    };
    let what = format!("{what} (route {template})");
    let Some(operation) = item.get(method.as_str().to_lowercase()) else {
        assert_eq!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{what}: method not documented"
        );
        return document.validate(&json!({ "$ref": ENVELOPE }), body, &what);
    };
    match operation["responses"].get(status.as_str()) {
        Some(response) => {
            let schema = &response["content"]["application/json"]["schema"];
            assert!(!schema.is_null(), "{what}: documented without a JSON body");
            document.validate(schema, body, &what);
        }
        None => {
            assert!(
                CROSS_CUTTING.contains(&status.as_u16()),
                "{what}: status not documented for this operation"
            );
            document.validate(&json!({ "$ref": ENVELOPE }), body, &what);
        }
    }
}

impl Document {
    /// The documented path that `path` (without query) is routed to: like the router, literal
    /// segments win over parameters (`/user/profile` before `/user/{userId}`).
    fn route(&self, path: &str) -> Option<(&str, &Value)> {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        self.paths
            .iter()
            .filter_map(|(template, item)| {
                let parts: Vec<&str> = template.split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut literals = 0;
                for (part, segment) in parts.iter().zip(&segments) {
                    if part.starts_with('{') && part.ends_with('}') {
                        if segment.is_empty() {
                            return None;
                        }
                    } else if part == segment {
                        literals += 1;
                    } else {
                        return None;
                    }
                }
                Some((literals, template.as_str(), item))
            })
            .max_by_key(|(literals, _, _)| *literals)
            .map(|(_, template, item)| (template, item))
    }

    fn validate(&self, schema: &Value, body: &Value, what: &str) {
        let validator = self.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: does not match the documented schema {schema}:\n{}",
            errors.join("\n")
        );
    }

    fn validator(&self, schema: &Value) -> Arc<Validator> {
        let key = schema.to_string();
        let mut validators = self.validators.lock().unwrap();
        if let Some(validator) = validators.get(&key) {
            return validator.clone();
        }
        let mut closed = schema.clone();
        close(&mut closed, &self.schemas);
        // The response schema at the root, the components beside it: `#/components/...`
        // resolves in the root document.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [closed],
            "components": { "schemas": self.schemas },
        });
        let validator = Arc::new(
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&root)
                .unwrap_or_else(|error| panic!("schema {schema} does not compile: {error}")),
        );
        validators.insert(key, validator.clone());
        validator
    }
}

/// The component a `$ref` names, from `schemas`.
fn resolve<'a>(schema: &'a Value, schemas: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {target}"));
            &schemas[name]
        }
        None => schema,
    }
}

/// Closes every object in `schema` (`additionalProperties: false` unless it says otherwise),
/// after merging an `allOf` of objects into one object; `schemas` resolves the `allOf` items.
fn close(schema: &mut Value, schemas: &Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(items)) = object.get("allOf") {
        let parts: Vec<Value> = items
            .iter()
            .map(|item| resolve(item, schemas).clone())
            .collect();
        if parts.iter().all(|part| part.get("properties").is_some()) {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for part in &parts {
                if let Some(more) = part["properties"].as_object() {
                    properties.extend(more.clone());
                }
                if let Some(more) = part["required"].as_array() {
                    required.extend(more.iter().cloned());
                }
            }
            object.remove("allOf");
            object.insert("type".into(), "object".into());
            object.insert("properties".into(), Value::Object(properties));
            object.insert("required".into(), Value::Array(required));
        }
    }
    if object.contains_key("properties") && !object.contains_key("additionalProperties") {
        object.insert("additionalProperties".into(), false.into());
    }
    for key in ["properties", "$defs"] {
        if let Some(Value::Object(children)) = object.get_mut(key) {
            children
                .values_mut()
                .for_each(|child| close(child, schemas));
        }
    }
    for key in ["items", "not"] {
        if let Some(child) = object.get_mut(key) {
            close(child, schemas);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = object.get_mut(key) {
            children.iter_mut().for_each(|child| close(child, schemas));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{check, DOCUMENT};
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    #[test]
    fn routes_match_like_the_router() {
        let route = |path| {
            DOCUMENT
                .route(path)
                .map(|(template, _)| template.to_owned())
        };
        assert_eq!(route("/user/profile").as_deref(), Some("/user/profile"));
        assert_eq!(route("/user/abc").as_deref(), Some("/user/{userId}"));
        assert_eq!(
            route("/organization/users?x=1").as_deref(),
            Some("/organization/users")
        );
        assert_eq!(route("/nowhere/at/all"), None);
    }

    #[test]
    #[should_panic(expected = "does not match the documented schema")]
    fn an_undocumented_field_fails() {
        let body = json!({ "success": true, "status": "ok", "extra": 1 });
        check(&Method::GET, "/health", StatusCode::OK, &body);
    }

    #[test]
    #[should_panic(expected = "status not documented")]
    fn an_undocumented_status_fails() {
        let body = json!({ "success": false, "message": "x", "error_code": "NOT_FOUND" });
        check(&Method::GET, "/health", StatusCode::NOT_FOUND, &body);
    }

    #[test]
    fn the_envelopes_with_extras_match() {
        let body = json!({
            "success": false, "message": "Organization not found",
            "error_code": "ORGANIZATION_NOT_FOUND", "data": null,
        });
        check(
            &Method::GET,
            "/organization/x",
            StatusCode::NOT_FOUND,
            &body,
        );
    }
}
