use std::fmt;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

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

    /// The address's [`email_key`].
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

/// The form under which an address is unique and looked up: Unicode compatibility caseless
/// (NFKC with full case folding, Unicode's D146), so that every spelling a person cannot tell
/// apart from the one they registered finds the same account. Plain lower case does not: it
/// leaves `ß`/`ss`, `ſ`/`s`, the `ﬁ` ligature, full-width letters and decomposed accents as
/// different accounts that read the same. For ASCII the key is the lower-case address, as it
/// always was. Mail goes to the stored address, never to the spelling typed, so a look-alike
/// spelling reaches nobody else's mailbox.
pub fn email_key(address: &str) -> String {
    address
        .chars()
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{email_key, Email};

    #[test]
    fn the_key_of_an_ascii_address_is_its_lower_case() {
        for address in ["Ann.Lee+work@Example.COM", "KATE@EXAMPLE.COM", "a_b-c@x.io"] {
            assert_eq!(email_key(address), address.to_lowercase(), "{address}");
        }
    }

    #[test]
    fn spellings_that_read_the_same_have_one_key() {
        for (spelling, key) in [
            // Kelvin sign, long s, sharp s, a ligature, full-width letters.
            ("\u{212A}ate@example.com", "kate@example.com"),
            ("\u{17F}am@example.com", "sam@example.com"),
            ("Stra\u{DF}e@example.com", "strasse@example.com"),
            ("STRASSE@example.com", "strasse@example.com"),
            ("\u{FB01}nn@example.com", "finn@example.com"),
            ("\u{FF21}nn@example.com", "ann@example.com"),
            ("ann@\u{FF25}xample.com", "ann@example.com"),
            // Composed and decomposed accents; Greek final and medial sigma.
            ("Jos\u{E9}@example.com", "jos\u{E9}@example.com"),
            ("Jose\u{301}@example.com", "jos\u{E9}@example.com"),
            (
                "\u{39F}\u{394}\u{3A5}\u{3A3}@example.gr",
                "\u{3BF}\u{3B4}\u{3C5}\u{3C3}@example.gr",
            ),
            (
                "\u{3BF}\u{3B4}\u{3C5}\u{3C2}@example.gr",
                "\u{3BF}\u{3B4}\u{3C5}\u{3C3}@example.gr",
            ),
        ] {
            assert_eq!(email_key(spelling), key, "{spelling:?}");
        }
    }

    #[test]
    fn the_key_is_stable() {
        for address in [
            "\u{212A}ate@example.com",
            "Stra\u{DF}e@example.com",
            "Jose\u{301}@example.com",
            "\u{1F71}@example.com",
            "\u{130}stanbul@example.com",
        ] {
            let key = email_key(address);
            assert_eq!(email_key(&key), key, "{address:?}");
        }
    }

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
