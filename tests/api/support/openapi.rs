//! The OpenAPI document as the server serves it (`GET /openapi.json`): its operations, and a
//! concrete path for each.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::support::app::TestApp;

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub async fn document(app: &TestApp) -> Value {
    let answer = app.get("/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

/// The documented operations: (METHOD, path) -> operation object.
pub fn operations(document: &Value) -> BTreeMap<(String, String), Value> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    let mut operations = BTreeMap::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get(method) {
                operations.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    operations
}

/// `template` with every parameter replaced by a fresh UUID.
pub fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                Uuid::new_v4().to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
