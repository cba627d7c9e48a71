//! Text that people type and other people read (names, an organization's address) must hold only
//! characters that are read, not characters that change how the text around them reads:
//! control characters (Unicode general category Cc), format characters (Cf: bidi overrides and
//! isolates that reorder a line, zero-width spaces and joiners that hide a difference, the BOM)
//! and the line and paragraph separators (Zl, Zp) that break a line where a mail or a page shows
//! one. One list of categories serves the checks on the way in and the `pattern` the OpenAPI
//! document states for such fields, so the two cannot drift apart.

use unicode_general_category::{get_general_category, GeneralCategory};

/// The refused categories.
const REFUSED: [GeneralCategory; 4] = [
    GeneralCategory::Control,
    GeneralCategory::Format,
    GeneralCategory::LineSeparator,
    GeneralCategory::ParagraphSeparator,
];

/// Whether `c` is a character that text people read must not hold.
pub fn is_refused_char(c: char) -> bool {
    let category = get_general_category(c);
    REFUSED.contains(&category)
}

/// Whether `text` holds a refused character anywhere.
pub fn has_refused_chars(text: &str) -> bool {
    text.chars().any(is_refused_char)
}

/// The refused characters of the Basic Multilingual Plane as the body of a regular-expression
/// character class, in ranges of `\uXXXX` escapes (`\u0000-\u001F\u007F-\u009F\u00AD...`).
/// Those escapes mean the same to every engine that reads the OpenAPI document: ECMA-262 (what
/// JSON Schema names), Python's `re` (schemathesis), Rust's regex crates. Unicode property
/// escapes (`\p{Cf}`) would be shorter, but Python's `re` has none, so schemathesis could not make
/// a single valid name. The few refused characters beyond the BMP (format characters such as
/// U+E0001 LANGUAGE TAG) are refused by [`has_refused_chars`] all the same; the pattern does not
/// state them, as ECMA-262 without the `u` flag cannot name one character there.
fn refused_class() -> &'static str {
    // Built once: it looks at all 65,536 characters, and every name field's schema asks for it.
    static CLASS: std::sync::LazyLock<String> = std::sync::LazyLock::new(build_refused_class);
    &CLASS
}

fn build_refused_class() -> String {
    let mut class = String::new();
    let mut range: Option<(u32, u32)> = None;
    let close = |class: &mut String, (first, last): (u32, u32)| {
        class.push_str(&format!("\\u{first:04X}"));
        if last > first {
            class.push_str(&format!("-\\u{last:04X}"));
        }
    };
    for c in (0..=0xFFFF).filter_map(char::from_u32) {
        let at = u32::from(c);
        range = match (range, is_refused_char(c)) {
            (Some((first, last)), true) if last + 1 == at => Some((first, at)),
            (Some(open), true) => {
                close(&mut class, open);
                Some((at, at))
            }
            (None, true) => Some((at, at)),
            (Some(open), false) => {
                close(&mut class, open);
                None
            }
            (None, false) => None,
        };
    }
    if let Some(open) = range {
        close(&mut class, open);
    }
    class
}

/// A pattern for text without refused characters (empty text included).
pub fn no_refused_pattern() -> String {
    let refused = refused_class();
    format!("^[^{refused}]*$")
}

/// A pattern for text without refused characters that is not blank: at least one character that
/// is neither white space nor refused.
pub fn non_blank_no_refused_pattern() -> String {
    let refused = refused_class();
    format!("^[^{refused}]*[^\\s{refused}][^{refused}]*$")
}

#[cfg(test)]
mod tests {
    use super::{
        has_refused_chars, is_refused_char, no_refused_pattern, non_blank_no_refused_pattern,
    };

    #[test]
    fn refuses_control_characters_anywhere() {
        for text in [
            "a\u{0}b",
            "tab\t",
            "\nnew",
            "del\u{7F}",
            "c1\u{85}",
            "\u{9F}",
        ] {
            assert!(has_refused_chars(text), "{text:?}");
        }
    }

    #[test]
    fn refuses_format_characters_and_line_and_paragraph_separators() {
        for text in [
            "bidi\u{202E}override",
            "isolate\u{2066}x\u{2069}",
            "left\u{200E}mark",
            "zero\u{200B}width",
            "joiner\u{200D}",
            "\u{FEFF}bom",
            "soft\u{AD}hyphen",
            "tag\u{E0041}",
            "line\u{2028}separator",
            "paragraph\u{2029}separator",
        ] {
            assert!(has_refused_chars(text), "{text:?}");
        }
    }

    #[test]
    fn accepts_letters_marks_punctuation_symbols_and_spaces() {
        for text in [
            "",
            "Ann Lee, café 東京",
            "Zoë O'Brien-Smith",
            "e\u{301}",
            "no\u{A0}break",
            "ideographic\u{3000}space",
            "Ünïcødé & Co. (€) 😀",
            "مريم",
            "עִברִית",
        ] {
            assert!(!has_refused_chars(text), "{text:?}");
        }
    }

    /// The document's patterns, run by the JSON Schema validator the tests use, accept exactly
    /// what the check accepts, for every character.
    #[test]
    fn the_patterns_name_the_same_characters() {
        assert!(
            no_refused_pattern().starts_with("^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD"),
            "{}",
            no_refused_pattern()
        );
        let validator = |pattern: String| {
            jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": pattern }))
                .expect("the pattern compiles")
        };
        let plain = validator(no_refused_pattern());
        let non_blank = validator(non_blank_no_refused_pattern());
        // Beyond the Basic Multilingual Plane only the check refuses (see `refused_class`).
        assert!(has_refused_chars("tag\u{E0001}"));
        assert!(plain.is_valid(&serde_json::Value::from("tag\u{E0001}")));
        // The patterns state the Basic Multilingual Plane.
        for c in (0..=0xFFFF).filter_map(char::from_u32) {
            let text = serde_json::Value::from(format!("a{c}"));
            let refused = is_refused_char(c);
            assert_eq!(plain.is_valid(&text), !refused, "U+{:04X}", u32::from(c));
            assert_eq!(
                non_blank.is_valid(&text),
                !refused,
                "U+{:04X}",
                u32::from(c)
            );
        }
        let blank = serde_json::Value::from(" \u{3000} ");
        assert!(plain.is_valid(&blank));
        assert!(!non_blank.is_valid(&blank));
    }
}
