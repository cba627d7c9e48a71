use std::fmt;

/// A password that meets the policy: 8 to 128 characters with an upper-case letter, a
/// lower-case letter and a digit. The upper bound keeps the cost of hashing bounded.
/// `Debug` never prints it.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordError {
    Weak,
    TooLong,
}

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

impl Password {
    /// Whether `candidate` could be a password this server stored: a longer one can never
    /// match, so it is refused without spending a hash on it.
    pub fn could_match(candidate: &str) -> bool {
        candidate.chars().count() <= MAX_CHARS
    }

    pub fn parse(raw: &str) -> Result<Password, PasswordError> {
        let chars = raw.chars().count();
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let strong = chars >= MIN_CHARS
            && raw.chars().any(char::is_uppercase)
            && raw.chars().any(char::is_lowercase)
            && raw.chars().any(|c| c.is_ascii_digit());
        if strong {
            Ok(Password(raw.to_owned()))
        } else {
            Err(PasswordError::Weak)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::{Password, PasswordError};

    #[test]
    fn enforces_the_policy() {
        assert!(Password::parse("Secret123").is_ok());
        assert_eq!(Password::parse("Sec123").unwrap_err(), PasswordError::Weak);
        assert_eq!(
            Password::parse("secret123").unwrap_err(),
            PasswordError::Weak
        );
        assert_eq!(
            Password::parse("SECRET123").unwrap_err(),
            PasswordError::Weak
        );
        assert_eq!(
            Password::parse("SecretSecret").unwrap_err(),
            PasswordError::Weak
        );
        let long = format!("Aa1{}", "x".repeat(126));
        assert_eq!(Password::parse(&long).unwrap_err(), PasswordError::TooLong);
        assert!(Password::parse(&long[..128]).is_ok());
    }

    #[test]
    fn debug_does_not_reveal_the_password() {
        let password = Password::parse("Secret123").unwrap();
        assert!(!format!("{password:?}").contains("Secret123"));
    }
}
