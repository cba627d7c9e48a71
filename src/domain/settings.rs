//! Settings objects (contract section 10): one free-form JSON object per user and per
//! organization. The rules of a write, written once for both: replace, deep merge, removal by
//! dot path, the size and depth bounds, and which dot paths a write changed (what its audit
//! event names, never the values: settings may hold anything).

use serde_json::{Map, Value};

/// A settings object.
pub type Settings = Map<String, Value>;

/// At most this many bytes of compact JSON (`serde_json::to_string`), after the write.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// At most this many levels of objects and arrays; the settings object itself is level 1, so
/// `{"a": {"b": 1}}` is 2 deep and `{"a": [1]}` is 2 deep too.
pub const MAX_SETTINGS_DEPTH: usize = 16;

/// Whose settings object: a user's or an organization's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsScope {
    User,
    Organization,
}

/// What a write does to the stored object.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsChange {
    /// `POST`: the object becomes this one.
    Replace(Settings),
    /// `PUT`: nested objects merge key by key; any other value (arrays and `null` included)
    /// replaces what was there.
    Merge(Settings),
    /// `DELETE`: each dot path (`"notifications.push"`) is removed; a path that names nothing is
    /// ignored.
    Remove(Vec<String>),
}

/// Why a write is refused: its result would break a bound. Nothing is stored then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsRefusal {
    TooLarge,
    TooDeep,
}

/// A change applied to the stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedSettings {
    /// The object after the write, as compact JSON (what is stored).
    pub text: String,
    /// The dot paths whose value was added, removed or replaced, sorted; empty when the write
    /// changes nothing.
    pub changed: Vec<String>,
}

impl SettingsChange {
    /// The object `current` becomes, within the bounds, and what changed. A removal only ever
    /// shrinks the object, so it is never refused.
    pub fn apply(&self, current: &Settings) -> Result<AppliedSettings, SettingsRefusal> {
        let after = match self {
            SettingsChange::Replace(settings) => settings.clone(),
            SettingsChange::Merge(patch) => {
                let mut merged = current.clone();
                deep_merge(&mut merged, patch);
                merged
            }
            SettingsChange::Remove(paths) => {
                let mut kept = current.clone();
                for path in paths {
                    remove_path(&mut kept, path);
                }
                kept
            }
        };
        let bounded = !matches!(self, SettingsChange::Remove(_));
        if bounded && object_depth(&after) > MAX_SETTINGS_DEPTH {
            return Err(SettingsRefusal::TooDeep);
        }
        let mut changed = Vec::new();
        changed_paths(current, &after, "", &mut changed);
        changed.sort();
        let text = Value::Object(after).to_string();
        if bounded && text.len() > MAX_SETTINGS_BYTES {
            return Err(SettingsRefusal::TooLarge);
        }
        Ok(AppliedSettings { text, changed })
    }
}

/// Merges `patch` into `target`: where both hold an object, key by key; elsewhere the patch's
/// value replaces.
pub fn deep_merge(target: &mut Settings, patch: &Settings) {
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (Some(Value::Object(inner)), Value::Object(patch)) => deep_merge(inner, patch),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Removes what the dot path names (`"a.b"`: key `b` of the object at `a`). Each `.` separates
/// two keys, so a key that itself holds a dot cannot be named alone (a `POST` replaces it).
/// Nothing happens when the path names nothing or passes through a value that is not an object.
pub fn remove_path(target: &mut Settings, path: &str) {
    match path.split_once('.') {
        None => {
            target.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = target.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Levels of objects and arrays in `settings`, the object itself being 1.
pub fn object_depth(settings: &Settings) -> usize {
    1 + settings.values().map(depth).max().unwrap_or(0)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(object) => object_depth(object),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Pushes onto `out` the dot path (under `prefix`) of every key whose value differs between
/// `before` and `after`. Where both hold an object, it names the keys inside that differ;
/// otherwise the key itself (an object added or removed whole is one path).
fn changed_paths(before: &Settings, after: &Settings, prefix: &str, out: &mut Vec<String>) {
    let path = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    for (key, old) in before {
        match (old, after.get(key)) {
            (Value::Object(old), Some(Value::Object(new))) => {
                changed_paths(old, new, &path(key), out);
            }
            (old, Some(new)) if old == new => {}
            _ => out.push(path(key)),
        }
    }
    for key in after.keys() {
        if !before.contains_key(key) {
            out.push(path(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{
        object_depth, AppliedSettings, Settings, SettingsChange, SettingsRefusal,
        MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH,
    };

    fn object(value: Value) -> Settings {
        match value {
            Value::Object(object) => object,
            other => panic!("not an object: {other}"),
        }
    }

    /// The object `current` becomes under `change`, and the paths it names.
    fn apply(change: SettingsChange, current: Value) -> (Value, Vec<String>) {
        let AppliedSettings { text, changed } = change.apply(&object(current)).unwrap();
        (serde_json::from_str(&text).unwrap(), changed)
    }

    fn merge(patch: Value) -> SettingsChange {
        SettingsChange::Merge(object(patch))
    }

    fn remove(paths: &[&str]) -> SettingsChange {
        SettingsChange::Remove(paths.iter().map(|path| (*path).to_owned()).collect())
    }

    /// `{"k": {"k": ... {"k": 1}}}`, `levels` objects deep.
    fn nested(levels: usize) -> Value {
        (1..levels).fold(json!({ "k": 1 }), |inner, _| json!({ "k": inner }))
    }

    #[test]
    fn a_merge_joins_nested_objects_and_replaces_everything_else() {
        let current = json!({
            "theme": "dark",
            "notifications": { "email": true, "push": { "sound": "ping", "badge": true } },
            "tags": ["a", "b"],
            "pinned": { "x": 1 },
        });
        let patch = json!({
            "notifications": { "push": { "sound": "bell" }, "sms": false },
            "tags": ["c"],
            "pinned": null,
            "lang": "fr",
        });
        let (after, changed) = apply(merge(patch), current);
        assert_eq!(
            after,
            json!({
                "theme": "dark",
                "notifications": { "email": true, "push": { "sound": "bell", "badge": true },
                    "sms": false },
                "tags": ["c"],
                "pinned": null,
                "lang": "fr",
            })
        );
        assert_eq!(
            changed,
            [
                "lang",
                "notifications.push.sound",
                "notifications.sms",
                "pinned",
                "tags"
            ]
        );
    }

    #[test]
    fn a_merge_replaces_a_value_that_is_not_an_object_by_an_object_and_back() {
        let (after, changed) = apply(
            merge(json!({ "a": { "b": 1 }, "c": 2 })),
            json!({ "a": 1, "c": { "d": 1 } }),
        );
        assert_eq!(after, json!({ "a": { "b": 1 }, "c": 2 }));
        assert_eq!(changed, ["a", "c"]);
    }

    #[test]
    fn a_replace_names_every_path_it_adds_removes_or_changes() {
        let current = json!({ "a": 1, "b": { "c": 1, "d": 2 }, "e": { "f": 1 } });
        let replacement = object(json!({ "a": 1, "b": { "c": 5, "d": 2 }, "g": true }));
        let (after, changed) = apply(SettingsChange::Replace(replacement), current);
        assert_eq!(after, json!({ "a": 1, "b": { "c": 5, "d": 2 }, "g": true }));
        assert_eq!(changed, ["b.c", "e", "g"]);
    }

    #[test]
    fn dot_paths_remove_nested_keys_and_missing_ones_are_ignored() {
        let current = json!({
            "theme": "dark",
            "notifications": { "email": true, "push": false },
            "list": [{ "a": 1 }],
            "a.b": 1,
        });
        let paths = [
            "notifications.push",
            "theme",
            "missing",
            "notifications.missing.deeper",
            "theme.inside",
            "list.0",
            "a.b",
        ];
        let (after, changed) = apply(remove(&paths), current);
        assert_eq!(
            after,
            json!({ "notifications": { "email": true }, "list": [{ "a": 1 }], "a.b": 1 })
        );
        assert_eq!(changed, ["notifications.push", "theme"]);
    }

    #[test]
    fn removing_the_last_key_of_an_object_keeps_the_empty_object() {
        let (after, changed) = apply(remove(&["a.b"]), json!({ "a": { "b": 1 } }));
        assert_eq!(after, json!({ "a": {} }));
        assert_eq!(changed, ["a.b"]);
    }

    #[test]
    fn a_write_that_changes_nothing_names_nothing() {
        let current = json!({ "a": { "b": [1, 2] }, "c": null });
        let (after, changed) = apply(merge(json!({ "a": { "b": [1, 2] } })), current.clone());
        assert_eq!((after, changed), (current.clone(), vec![]));
        let (_, changed) = apply(remove(&["zzz", "a.zzz"]), current.clone());
        assert!(changed.is_empty());
        let (_, changed) = apply(SettingsChange::Replace(object(current.clone())), current);
        assert!(changed.is_empty());
    }

    #[test]
    fn depth_counts_the_object_itself_and_every_nested_object_or_array() {
        assert_eq!(object_depth(&object(json!({}))), 1);
        assert_eq!(object_depth(&object(json!({ "a": 1, "b": "x" }))), 1);
        assert_eq!(object_depth(&object(json!({ "a": {} }))), 2);
        assert_eq!(object_depth(&object(json!({ "a": [1] }))), 2);
        assert_eq!(
            object_depth(&object(json!({ "a": [[{ "b": 1 }]], "c": {} }))),
            4
        );
        assert_eq!(object_depth(&object(nested(MAX_SETTINGS_DEPTH))), 16);
    }

    #[test]
    fn sixteen_levels_are_accepted_and_seventeen_refused_also_when_a_merge_makes_them() {
        let at_bound = merge(nested(MAX_SETTINGS_DEPTH));
        assert!(at_bound.apply(&Settings::new()).is_ok());
        let over = SettingsChange::Replace(object(nested(MAX_SETTINGS_DEPTH + 1)));
        assert_eq!(over.apply(&Settings::new()), Err(SettingsRefusal::TooDeep));
        // Merged over a stored object of 2 levels along the same keys: still 16.
        let current = object(json!({ "k": { "k": {} } }));
        assert!(at_bound.apply(&current).is_ok());
        // One level more under the innermost object of a stored 16-level object.
        let one_more = (1..MAX_SETTINGS_DEPTH).fold(
            json!({ "k": { "new": 1 } }),
            |inner, _| json!({ "k": inner }),
        );
        let stored = object(nested(MAX_SETTINGS_DEPTH));
        assert_eq!(
            merge(one_more).apply(&stored),
            Err(SettingsRefusal::TooDeep)
        );
    }

    #[test]
    fn the_size_bound_is_on_the_merged_compact_json() {
        // {"a":"xxx..."} is 8 bytes plus the string.
        let exactly = |key: &str, total: usize| {
            let filler = "x".repeat(total - 7 - key.len());
            object(json!({ key: filler }))
        };
        let at_bound = exactly("a", MAX_SETTINGS_BYTES);
        assert_eq!(
            Value::Object(at_bound.clone()).to_string().len(),
            MAX_SETTINGS_BYTES
        );
        assert!(SettingsChange::Replace(at_bound.clone())
            .apply(&Settings::new())
            .is_ok());
        let over = exactly("a", MAX_SETTINGS_BYTES + 1);
        assert_eq!(
            SettingsChange::Replace(over).apply(&Settings::new()),
            Err(SettingsRefusal::TooLarge)
        );
        // Two halves, each within the bound, over it once merged.
        let half = exactly("a", MAX_SETTINGS_BYTES / 2 + 10);
        let other = exactly("b", MAX_SETTINGS_BYTES / 2 + 10);
        assert!(SettingsChange::Merge(other.clone())
            .apply(&Settings::new())
            .is_ok());
        assert_eq!(
            SettingsChange::Merge(other).apply(&half),
            Err(SettingsRefusal::TooLarge)
        );
    }

    #[test]
    fn a_removal_is_never_refused_even_from_an_object_over_the_bounds() {
        let stored = object(json!({ "big": "x".repeat(MAX_SETTINGS_BYTES), "deep": nested(20) }));
        let (after, changed) = apply(remove(&["deep"]), Value::Object(stored));
        assert_eq!(after["deep"], Value::Null);
        assert_eq!(changed, ["deep"]);
    }
}
