//! Text that people type and other people read must hold no control characters (Unicode general
//! category Cc). One definition serves the checks on the way in and the `pattern` the OpenAPI
//! document states for such fields, so the two cannot drift apart.

/// The control characters as code point ranges: exactly what `char::is_control` matches.
const CONTROL_RANGES: [(u32, u32); 2] = [(0x00, 0x1F), (0x7F, 0x9F)];

/// Whether `text` holds a control character anywhere.
pub fn has_control_chars(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The control characters as the body of a regular-expression character class
/// (`\u0000-\u001F\u007F-\u009F`).
fn control_class() -> String {
    CONTROL_RANGES
        .iter()
        .map(|(from, to)| format!("\\u{from:04X}-\\u{to:04X}"))
        .collect()
}

/// A pattern for text without control characters (empty text included).
pub fn no_control_pattern() -> String {
    let control = control_class();
    format!("^[^{control}]*$")
}

/// A pattern for text without control characters that is not blank: at least one character that
/// is neither white space nor a control character.
pub fn non_blank_no_control_pattern() -> String {
    let control = control_class();
    format!("^[^{control}]*[^\\s{control}][^{control}]*$")
}

#[cfg(test)]
mod tests {
    use super::{
        has_control_chars, no_control_pattern, non_blank_no_control_pattern, CONTROL_RANGES,
    };

    #[test]
    fn the_ranges_are_exactly_the_control_characters() {
        let in_ranges = |c: char| {
            CONTROL_RANGES
                .iter()
                .any(|(from, to)| (*from..=*to).contains(&u32::from(c)))
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(c.is_control(), in_ranges(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn finds_control_characters_anywhere() {
        assert!(!has_control_chars("Ann Lee, café 東京"));
        assert!(!has_control_chars(""));
        for text in [
            "a\u{0}b",
            "tab\t",
            "\nnew",
            "del\u{7F}",
            "c1\u{85}",
            "\u{9F}",
        ] {
            assert!(has_control_chars(text), "{text:?}");
        }
        // Format characters (Cf) are not control characters.
        assert!(!has_control_chars("zero\u{200B}width"));
    }

    #[test]
    fn the_patterns_name_the_same_characters() {
        assert_eq!(no_control_pattern(), "^[^\\u0000-\\u001F\\u007F-\\u009F]*$");
        assert_eq!(
            non_blank_no_control_pattern(),
            "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        );
    }
}
