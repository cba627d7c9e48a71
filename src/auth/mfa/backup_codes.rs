//! Single-use backup codes: 10 per enrolment, each 16 characters of Crockford's base32 (80
//! random bits), shown as `xxxx-xxxx-xxxx-xxxx`, stored only as an HMAC-SHA256 under a server
//! key ([`BackupCodeKey`]), so that a copy of the database alone cannot be brute-forced back to
//! the codes.
//!
//! Codes issued before (10 characters, 50 bits, stored as a plain SHA-256) keep working until
//! their user runs `setup` again, which replaces them with codes of the current form: a
//! normalized code of [`LEGACY_LENGTH`] characters is hashed the old way.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;

/// Crockford's base32 in lower case: digits and letters without i, l, o and u, which read as
/// 1, 1, 0 and v (or spell words).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
pub const COUNT: usize = 10;
/// Characters of a code, without its dashes: 16 of 5 bits each, 80 random bits.
pub const LENGTH: usize = 16;
const _: () = assert!(
    LENGTH * 5 >= 80,
    "a backup code carries at least 80 random bits"
);
/// Characters shown between two dashes.
const GROUP: usize = 4;
/// Characters of a code issued before codes were 80 bits (stored as a plain SHA-256).
pub const LEGACY_LENGTH: usize = 10;
/// HKDF's `info` for the key of the codes' HMAC: another purpose than sealing TOTP secrets
/// (`workspaces/mfa-secret-encryption/v1`), so another key from the same material.
const DERIVATION_INFO: &[u8] = b"workspaces/mfa-backup-codes/v1";
const KEY_BYTES: usize = 32;

/// Ten distinct fresh codes in their display form, `xxxx-xxxx-xxxx-xxxx`.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    let mut codes: Vec<String> = Vec::with_capacity(COUNT);
    while codes.len() < COUNT {
        let chars: Vec<u8> = (0..LENGTH)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
            .collect();
        let code = chars
            .chunks(GROUP)
            .map(|group| String::from_utf8_lossy(group).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        // A repeat (1 in 2^80 per pair) would make one code of two.
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// What a user typed, as the lower-case characters its hash is made of: case ignored, dashes
/// and whitespace anywhere ignored, Crockford's look-alikes read as meant (`i`, `l` as `1`; `o`
/// as `0`). None unless exactly [`LENGTH`] (or, for a code issued before, [`LEGACY_LENGTH`])
/// characters of the alphabet remain.
pub fn normalize(input: &str) -> Option<String> {
    let mut normalized = String::with_capacity(LENGTH);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || normalized.len() == LENGTH {
            return None;
        }
        normalized.push(c);
    }
    matches!(normalized.len(), LENGTH | LEGACY_LENGTH).then_some(normalized)
}

/// The server key of the codes' HMAC, derived with HKDF-SHA256 from the key material TOTP
/// secrets are sealed with (`--mfa-encryption-key`, else the token-signing secret). `Debug`
/// does not show it.
#[derive(Clone)]
pub struct BackupCodeKey([u8; KEY_BYTES]);

impl BackupCodeKey {
    pub fn derive(key_material: &[u8]) -> BackupCodeKey {
        let mut key = [0u8; KEY_BYTES];
        Hkdf::<Sha256>::new(None, key_material)
            .expand(DERIVATION_INFO, &mut key)
            .expect("HKDF-SHA256 yields up to 8160 bytes");
        BackupCodeKey(key)
    }

    /// What the database keeps of a normalized code. A current code: its HMAC-SHA256 under this
    /// key (a fast keyed hash is enough: 80 random bits cannot be guessed online, where
    /// verification is rate limited, and without the key a stolen table cannot be searched
    /// offline). A code of [`LEGACY_LENGTH`] characters: its plain SHA-256, as such codes were
    /// stored; the user's next `setup` replaces them.
    pub fn hash(&self, normalized: &str) -> Vec<u8> {
        if normalized.len() == LEGACY_LENGTH {
            return crate::auth::hash_token(normalized);
        }
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl fmt::Debug for BackupCodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCodeKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::{generate, normalize, BackupCodeKey, ALPHABET, COUNT, LEGACY_LENGTH, LENGTH};

    fn key() -> BackupCodeKey {
        BackupCodeKey::derive(b"a signing secret of at least 32 bytes")
    }

    #[test]
    fn a_code_carries_at_least_80_random_bits() {
        // Each character is drawn uniformly from 32 symbols: 5 bits.
        assert_eq!(ALPHABET.len(), 32);
        let mut distinct = ALPHABET.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 32);
        for code in generate() {
            let bits = code.replace('-', "").len() * ALPHABET.len().ilog2() as usize;
            assert!(bits >= 80, "{code}: {bits} bits");
        }
    }

    #[test]
    fn ten_distinct_codes_in_the_display_form() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), COUNT);
        assert_ne!(codes, generate());
        for code in &codes {
            assert_eq!(code.len(), LENGTH + 3, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4, "{code}");
            assert!(groups.iter().all(|g| g.len() == 4), "{code}");
            let chars = code.replace('-', "");
            assert!(chars.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        }
    }

    #[test]
    fn typed_forms_normalize_to_the_same_hash() {
        let key = key();
        for code in generate() {
            let normalized = normalize(&code).unwrap();
            assert_eq!(normalized, code.replace('-', ""));
            assert_eq!(normalize(&normalized).as_ref(), Some(&normalized));
            let typed = format!(" {} ", code.to_uppercase().replace('-', " - "));
            assert_eq!(
                key.hash(&normalize(&typed).unwrap()),
                key.hash(&normalized),
                "{typed}"
            );
        }
        assert_eq!(
            normalize("O1IL-abcd-efgh-jkmn").as_deref(),
            Some("0111abcdefghjkmn")
        );
        assert_eq!(
            normalize("0111ABCDEFGHJKMN").as_deref(),
            Some("0111abcdefghjkmn")
        );
        assert_eq!(key.hash("0111abcdefghjkmn").len(), 32);
        assert_ne!(key.hash("0111abcdefghjkmn"), key.hash("0111abcdefghjkmp"));
    }

    #[test]
    fn the_hash_is_keyed_and_not_the_plain_sha256() {
        let code = "0123456789abcdef";
        let other = BackupCodeKey::derive(b"another signing secret of 32 bytes");
        assert_ne!(key().hash(code), other.hash(code));
        assert_eq!(key().hash(code), key().hash(code));
        assert_ne!(key().hash(code), crate::auth::hash_token(code));
        // The key is neither the material itself nor shown by Debug.
        assert_eq!(format!("{:?}", key()), "BackupCodeKey(<redacted>)");
        let raw = BackupCodeKey(*b"a signing secret of at least 32 ");
        assert_ne!(raw.hash(code), key().hash(code));
    }

    #[test]
    fn codes_issued_before_still_normalize_and_hash_as_they_were_stored() {
        assert_eq!(normalize("O1IL0-abcde").as_deref(), Some("01110abcde"));
        assert_eq!(normalize("01110 ABCDE").as_deref(), Some("01110abcde"));
        assert_eq!("01110abcde".len(), LEGACY_LENGTH);
        // Their rows hold the plain SHA-256, whatever the key.
        assert_eq!(
            key().hash("01110abcde"),
            crate::auth::hash_token("01110abcde")
        );
    }

    #[test]
    fn anything_but_16_or_10_characters_of_the_alphabet_is_refused() {
        for bad in [
            "",
            "abcde",
            "abcde-fghj",
            "abcde-fghjkm",
            "abcd-efgh-jkmn-pqr",
            "abcd-efgh-jkmn-pqrst",
            "abcd-efgh-jkmn-pqru",
            "abcd-efgh-jkmn-pqr!",
            "abcd_efgh-jkmn-pqrs",
            "abcd-efgh-jkmn-pqré",
            "ａbcd-efgh-jkmn-pqrs",
            "abcde-fghju",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert!(normalize("abcd-efgh-jkmn-pqrs").is_some());
        assert!(normalize("abcde-fghjk").is_some());
    }
}
