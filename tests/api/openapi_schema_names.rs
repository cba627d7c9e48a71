//! Schema names in the OpenAPI document: utoipa keys the document's schemas by name, so a second
//! `ToSchema` type of the same name silently replaces the first and a route is documented with
//! another route's body. A walk of `src/` fails on any name used twice, and the routes whose
//! bodies once collided are checked for their own fields.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::app::spawn_app;
use crate::support::openapi::document;

/// The schema names the types deriving or implementing `ToSchema` in `src/` take: the type's
/// name, or the `as` of its `#[schema(...)]`. (Types a macro declares, `$name`, are left out.)
fn schema_names_in_source() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root];
    let mut names = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                files.push(entry.unwrap().path());
            }
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let place = |line: usize| format!("{}:{}", path.display(), line + 1);
        names.extend(
            schema_names_in(&text)
                .into_iter()
                .map(|(line, name)| (name, place(line))),
        );
    }
    names
}

/// (line, schema name) of each `ToSchema` type of one source file.
fn schema_names_in(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut names = Vec::new();
    let mut deriving = false;
    let mut alias: Option<String> = None;
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        // A whole attribute, over as many lines as its brackets take.
        if line.starts_with("#[") {
            let mut attribute = line.to_owned();
            while attribute.matches('[').count() > attribute.matches(']').count() {
                at += 1;
                attribute.push(' ');
                attribute.push_str(lines[at]);
            }
            if attribute.starts_with("#[derive(") && attribute.contains("ToSchema") {
                deriving = true;
            }
            if attribute.starts_with("#[schema(") {
                let inner = attribute.trim_start_matches("#[schema(");
                if let Some(name) = inner
                    .split([',', '('])
                    .find_map(|part| part.trim().strip_prefix("as ="))
                {
                    let name = name.trim().trim_end_matches(")]").trim();
                    alias = Some(name.replace("::", "."));
                }
            }
            at += 1;
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("impl ToSchema for ")
            .or_else(|| line.strip_prefix("impl utoipa::ToSchema for "))
        {
            names.push((at, identifier(rest)));
        } else if deriving && !line.starts_with("//") {
            let declared = line
                .split_whitespace()
                .skip_while(|word| *word != "struct" && *word != "enum")
                .nth(1);
            if let Some(declared) = declared {
                let name = alias.take().unwrap_or_else(|| identifier(declared));
                if !name.starts_with('$') {
                    names.push((at, name));
                }
                deriving = false;
            }
        }
        if !line.starts_with("//") && !deriving {
            alias = None;
        }
        at += 1;
    }
    names
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect()
}

#[test]
fn no_two_types_of_the_document_share_a_schema_name() {
    // utoipa keys the document's schemas by name: a second type of the same name silently
    // replaces the first, and a route is documented with another route's body.
    let names = schema_names_in_source();
    assert!(names.len() > 100, "too few ToSchema types found: {names:?}");
    let mut seen = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for (name, place) in &names {
        seen.entry(name).or_default().push(place);
    }
    let shared: Vec<_> = seen.into_iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(shared.is_empty(), "schema names used twice: {shared:#?}");
}

#[test]
fn the_source_walk_sees_derives_aliases_and_impls() {
    let text = "/// A body.\n#[derive(Deserialize,\n    ToSchema)]\n#[serde(rename_all = \"camelCase\")]\n\
                pub(super) struct VerifyBody {\n}\n#[derive(Serialize, ToSchema)]\n\
                #[schema(as = Webhook)]\nstruct WebhookJson(u8);\n#[derive(Debug)]\nstruct Plain;\n\
                impl ToSchema for SuccessTrue {}\n";
    assert_eq!(
        schema_names_in(text),
        vec![
            (4, "VerifyBody".to_owned()),
            (8, "Webhook".to_owned()),
            (11, "SuccessTrue".to_owned()),
        ]
    );
}

/// The properties of the request body's schema of an operation, resolved.
fn request_fields(document: &Value, method: &str, path: &str) -> BTreeSet<String> {
    let operation = &document["paths"][path][method];
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(target) => {
            let name = target.trim_start_matches("#/components/schemas/");
            &document["components"]["schemas"][name]
        }
        None => schema,
    };
    schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path}: no properties in {schema}"))
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn request_bodies_of_like_named_types_document_their_own_fields() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let fields = |method, path| request_fields(&document, method, path);
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();

    assert_eq!(
        fields("post", "/auth/passkey/verify"),
        set(&["credential", "deviceInfo"])
    );
    assert_eq!(
        fields("post", "/user/verify-email"),
        set(&["token", "password"])
    );
    assert_eq!(
        fields("post", "/user/reset-password"),
        set(&["token", "newPassword"])
    );
    assert_eq!(
        fields("post", "/mfa/reset"),
        set(&["resetUserId", "enable"])
    );
}
