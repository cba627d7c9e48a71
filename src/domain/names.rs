/// A person's first or last name: trimmed, 1 to 100 characters,
/// no refused characters (`text.rs`: control, format, line or paragraph separators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

const MAX_CHARS: usize = 100;

impl PersonName {
    pub fn parse(raw: &str) -> Option<PersonName> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > MAX_CHARS || super::has_refused_chars(trimmed) {
            return None;
        }
        Some(PersonName(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::PersonName;

    #[test]
    fn trims_and_bounds_names() {
        assert_eq!(PersonName::parse(" Ann ").unwrap().into_inner(), "Ann");
        assert!(PersonName::parse("   ").is_none());
        assert!(PersonName::parse("a\u{0}b").is_none());
        assert!(PersonName::parse(&"é".repeat(100)).is_some());
        assert!(PersonName::parse(&"é".repeat(101)).is_none());
    }
}
