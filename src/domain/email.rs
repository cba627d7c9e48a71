use std::fmt;

/// A syntactically valid e-mail address. `key()` is the case-insensitive form stored in the
/// unique index, so `Ann@Example.com` and `ann@example.com` are one account.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

/// RFC 5321 caps a path at 256 octets, so an address can never be longer than 254.
const MAX_LEN: usize = 254;

impl Email {
    pub fn parse(raw: &str) -> Option<Email> {
        let trimmed = raw.trim();
        if trimmed.len() > MAX_LEN || !email_address::EmailAddress::is_valid(trimmed) {
            return None;
        }
        // email_address accepts dotless domains (`a@localhost`); an account needs a mailbox
        // that can be reached from the internet.
        let (_, domain) = trimmed.rsplit_once('@')?;
        if !domain.contains('.') || domain.starts_with('[') {
            return None;
        }
        Some(Email(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_ordinary_addresses_and_trims_them() {
        let email = Email::parse("  Ann.Lee+work@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ann.Lee+work@Example.COM");
        assert_eq!(email.key(), "ann.lee+work@example.com");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for raw in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "a b@example.com",
            "ann@@example.com",
        ] {
            assert!(Email::parse(raw).is_none(), "{raw:?} should be rejected");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_none());
    }
}
