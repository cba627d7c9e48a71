/// A workspace name as stored: trimmed, 1 to 100 characters,
/// no refused characters (`text.rs`: control, format, line or paragraph separators).
/// `key()` is the form the per-organization unique index compares (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceNameError {
    Missing,
    TooLong,
    InvalidCharacters,
}

const MAX_CHARS: usize = 100;

impl WorkspaceName {
    pub fn parse(raw: &str) -> Result<WorkspaceName, WorkspaceNameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(WorkspaceNameError::Missing);
        }
        if trimmed.chars().count() > MAX_CHARS {
            return Err(WorkspaceNameError::TooLong);
        }
        if super::has_refused_chars(trimmed) {
            return Err(WorkspaceNameError::InvalidCharacters);
        }
        Ok(WorkspaceName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unicode lower case, so "ÉQUIPE" and "équipe" collide on both backends alike.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{WorkspaceName, WorkspaceNameError};

    #[test]
    fn trims_and_keeps_the_case_as_sent() {
        let name = WorkspaceName::parse("  Development Workspace\t").unwrap();
        assert_eq!(name.as_str(), "Development Workspace");
        assert_eq!(name.key(), "development workspace");
        assert_eq!(WorkspaceName::parse("ÉQUIPE").unwrap().key(), "équipe");
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert_eq!(
            WorkspaceName::parse(" \n ").unwrap_err(),
            WorkspaceNameError::Missing
        );
        assert!(WorkspaceName::parse(&"ü".repeat(100)).is_ok());
        assert_eq!(
            WorkspaceName::parse(&"ü".repeat(101)).unwrap_err(),
            WorkspaceNameError::TooLong
        );
        assert_eq!(
            WorkspaceName::parse("a\u{7}b").unwrap_err(),
            WorkspaceNameError::InvalidCharacters
        );
    }
}
