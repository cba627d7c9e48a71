//! Settings objects (contract section 10): one free-form JSON object per user and per
//! organization. The rules of a write, written once for both: replace, deep merge, removal by
//! dot path, the size and depth bounds, the keys JavaScript clients must never merge, and which
//! dot paths a write changed (what its audit event names, never the values: settings may hold
//! anything).
//!
//! Cost: no write, accepted or refused, may cost much beyond its own bytes. So a request is
//! checked on its own first ([`SettingsChange::check`], before the store is touched), every
//! later step is one pass over the objects, and the list of changed paths is bounded
//! ([`MAX_CHANGED_PATHS_BYTES`]): a path is only spelled out while it fits, the rest are
//! counted. Spelling out every path would be quadratic, since each repeats its parents' keys
//! (3,500 paths under one 32 KB key are 112 MB).

use std::io;

use serde_json::{Map, Value};

/// A settings object.
pub type Settings = Map<String, Value>;

/// At most this many bytes of compact JSON (`serde_json::to_string`), after the write.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

/// At most this many levels of objects and arrays; the settings object itself is level 1, so
/// `{"a": {"b": 1}}` is 2 deep and `{"a": [1]}` is 2 deep too.
pub const MAX_SETTINGS_DEPTH: usize = 16;

/// The changed paths a write names are at most this many bytes as JSON strings, so its event
/// stays within the audit trail's bound on `jsonData` (16 KiB) with room for the rest.
pub const MAX_CHANGED_PATHS_BYTES: usize = 15 * 1024;

/// Keys refused at any depth: a JavaScript client that deep-merges a settings object into one
/// of its own would let them reach its objects' prototype.
pub const FORBIDDEN_KEYS: [&str; 3] = ["__proto__", "constructor", "prototype"];

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

/// Why a write is refused. Nothing is stored then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsRefusal {
    /// Its result would be over [`MAX_SETTINGS_BYTES`].
    TooLarge,
    /// Its result would be deeper than [`MAX_SETTINGS_DEPTH`].
    TooDeep,
    /// It holds one of the [`FORBIDDEN_KEYS`].
    ForbiddenKey,
}

/// A change applied to the stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedSettings {
    /// The object after the write, as compact JSON (what is stored).
    pub text: String,
    /// What changed; empty when the write changes nothing.
    pub changed: ChangedPaths,
}

/// The dot paths whose value a write added, removed or replaced: every one counted, the first
/// ones in key order spelled out while they fit in [`MAX_CHANGED_PATHS_BYTES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedPaths {
    /// The paths spelled out, sorted.
    pub paths: Vec<String>,
    /// How many paths changed, spelled out or not.
    pub total: usize,
}

impl ChangedPaths {
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Some changed paths are counted but not spelled out.
    pub fn is_truncated(&self) -> bool {
        self.paths.len() < self.total
    }
}

impl SettingsChange {
    /// The request on its own, before anything is read: its keys, and the bounds it breaks
    /// whatever the stored object (a merge's result holds every key and value of the patch, so
    /// it is at least as large and as deep). One pass, no copy.
    pub fn check(&self) -> Result<(), SettingsRefusal> {
        let object = match self {
            SettingsChange::Replace(object) | SettingsChange::Merge(object) => object,
            SettingsChange::Remove(_) => return Ok(()),
        };
        if has_forbidden_key(object) {
            return Err(SettingsRefusal::ForbiddenKey);
        }
        check_bounds(object)
    }

    /// The object `current` becomes, within the bounds, and what changed. A removal only ever
    /// shrinks the object, so it is never refused. The bounds are checked before the changed
    /// paths are looked for.
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
        if !matches!(self, SettingsChange::Remove(_)) {
            check_bounds(&after)?;
        }
        let mut collector = PathCollector::default();
        collector.compare(current, &after);
        let changed = collector.finish();
        let text = Value::Object(after).to_string();
        Ok(AppliedSettings { text, changed })
    }
}

/// The bounds of a settings object: depth first (a walk that stops at the bound), then the size
/// of its compact JSON, counted without building it and given up past the bound.
fn check_bounds(object: &Settings) -> Result<(), SettingsRefusal> {
    if object_depth(object) > MAX_SETTINGS_DEPTH {
        return Err(SettingsRefusal::TooDeep);
    }
    let mut counter = ByteCounter {
        left: MAX_SETTINGS_BYTES,
    };
    match serde_json::to_writer(&mut counter, object) {
        Ok(()) => Ok(()),
        Err(_) => Err(SettingsRefusal::TooLarge),
    }
}

/// A writer that only counts, and fails once more than `left` bytes came.
struct ByteCounter {
    left: usize,
}

impl io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.left = self
            .left
            .checked_sub(bytes.len())
            .ok_or_else(|| io::Error::other("over the bound"))?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether a key of `object`, or of any object within it (in arrays too), is forbidden.
pub fn has_forbidden_key(object: &Settings) -> bool {
    object.iter().any(|(key, value)| {
        FORBIDDEN_KEYS.contains(&key.as_str()) || value_has_forbidden_key(value)
    })
}

fn value_has_forbidden_key(value: &Value) -> bool {
    match value {
        Value::Object(object) => has_forbidden_key(object),
        Value::Array(items) => items.iter().any(value_has_forbidden_key),
        _ => false,
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

/// Collects the changed dot paths of a write in one walk over the objects before and after it.
/// The path of the keys above the one being compared is kept as a stack of borrowed keys, and a
/// path is only built as a string when it fits in what is left of the bound.
#[derive(Default)]
struct PathCollector<'a> {
    parents: Vec<&'a str>,
    /// [`json_len`] of the parents' keys, each with its dot.
    parents_len: usize,
    /// [`json_len`] of the paths spelled out so far, with a comma each.
    spelled_len: usize,
    changed: ChangedPaths,
}

impl<'a> PathCollector<'a> {
    /// Every key whose value differs between `before` and `after`: where both hold an object,
    /// the keys inside that differ; otherwise the key itself (an object added or removed whole is
    /// one path).
    fn compare(&mut self, before: &'a Settings, after: &'a Settings) {
        for (key, old) in before {
            match (old, after.get(key)) {
                (Value::Object(old), Some(Value::Object(new))) => {
                    let len = json_len(key) - 1;
                    self.parents.push(key);
                    self.parents_len += len;
                    self.compare(old, new);
                    self.parents.pop();
                    self.parents_len -= len;
                }
                (old, Some(new)) if old == new => {}
                _ => self.changed_key(key),
            }
        }
        for key in after.keys() {
            if !before.contains_key(key) {
                self.changed_key(key);
            }
        }
    }

    fn changed_key(&mut self, key: &str) {
        self.changed.total += 1;
        // The path as a JSON string in a list: its quotes and a comma.
        let len = self.parents_len + json_len(key) + 1;
        if self.spelled_len + len > MAX_CHANGED_PATHS_BYTES {
            return;
        }
        self.spelled_len += len;
        let mut path = String::with_capacity(len);
        for parent in &self.parents {
            path.push_str(parent);
            path.push('.');
        }
        path.push_str(key);
        self.changed.paths.push(path);
    }

    fn finish(mut self) -> ChangedPaths {
        self.changed.paths.sort();
        self.changed
    }
}

/// The length of `text` as a JSON string, its quotes included.
fn json_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{
        json_len, object_depth, AppliedSettings, Settings, SettingsChange, SettingsRefusal,
        MAX_CHANGED_PATHS_BYTES, MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH,
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
        assert!(!changed.is_truncated());
        assert_eq!(changed.total, changed.paths.len());
        (serde_json::from_str(&text).unwrap(), changed.paths)
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

    #[test]
    fn forbidden_keys_are_refused_at_any_depth_before_anything_is_read() {
        for key in ["__proto__", "constructor", "prototype"] {
            let cases = [
                json!({ key: 1 }),
                json!({ "a": { "b": { key: {} } } }),
                json!({ "a": [1, { "b": [{ key: null }] }] }),
            ];
            for case in cases {
                let refused = Err(SettingsRefusal::ForbiddenKey);
                assert_eq!(merge(case.clone()).check(), refused, "{case}");
                assert_eq!(SettingsChange::Replace(object(case)).check(), refused);
            }
        }
        // Only the exact keys: values, other cases and longer keys are fine.
        let fine = json!({ "Constructor": "__proto__", "a": ["prototype"], "__proto": 1 });
        assert_eq!(merge(fine).check(), Ok(()));
        // A removal names paths, not keys to store.
        assert_eq!(remove(&["__proto__"]).check(), Ok(()));
    }

    #[test]
    fn a_request_over_a_bound_on_its_own_is_refused_by_the_check() {
        let big = object(json!({ "a": "x".repeat(MAX_SETTINGS_BYTES) }));
        assert_eq!(
            SettingsChange::Merge(big.clone()).check(),
            Err(SettingsRefusal::TooLarge)
        );
        assert_eq!(
            SettingsChange::Replace(big).check(),
            Err(SettingsRefusal::TooLarge)
        );
        assert_eq!(
            merge(nested(MAX_SETTINGS_DEPTH + 1)).check(),
            Err(SettingsRefusal::TooDeep)
        );
        assert_eq!(merge(nested(MAX_SETTINGS_DEPTH)).check(), Ok(()));
    }

    #[test]
    fn the_changed_paths_under_a_long_key_are_counted_not_all_spelled_out() {
        // The review's write: thousands of keys under one 32 KB key. Spelling out each path
        // would be a copy of the long key each.
        let long = "p".repeat(32 * 1024);
        let current = object(json!({ long.clone(): {} }));
        let inner: Settings = (0..3000).map(|i| (format!("k{i}"), json!(1))).collect();
        let patch = object(json!({ long.clone(): inner }));
        let applied = SettingsChange::Merge(patch).apply(&current).unwrap();
        assert_eq!(applied.changed.total, 3000);
        assert!(applied.changed.paths.is_empty());
        assert!(applied.changed.is_truncated());
        // Short paths: spelled out while they fit, sorted, the rest counted.
        let many: Settings = (0..3500)
            .map(|i| (format!("key{i:05}"), json!(i)))
            .collect();
        let applied = SettingsChange::Replace(many)
            .apply(&Settings::new())
            .unwrap();
        assert_eq!(applied.changed.total, 3500);
        let spelled: usize = applied.changed.paths.iter().map(|p| json_len(p) + 1).sum();
        assert!(spelled <= MAX_CHANGED_PATHS_BYTES, "{spelled}");
        assert!(spelled > MAX_CHANGED_PATHS_BYTES - 20, "{spelled}");
        assert_eq!(applied.changed.paths[0], "key00000");
        assert!(applied.changed.paths.is_sorted());
    }

    #[test]
    fn a_path_is_measured_as_the_json_string_it_becomes() {
        assert_eq!(json_len(""), 2);
        assert_eq!(json_len("ab"), 4);
        assert_eq!(json_len("a\"b\\"), 8);
        assert_eq!(json_len("\u{1}"), 8);
        assert_eq!(json_len("é"), 4);
        for text in ["a\"b\\", "\u{1}\n", "é", "plain"] {
            assert_eq!(json_len(text), serde_json::to_string(text).unwrap().len());
        }
    }
}
