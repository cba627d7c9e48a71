//! Encryption at rest of the TOTP secrets: AES-256-GCM under a key from configuration
//! (`--mfa-encryption-key`), or derived from the token-signing secret when none is set.

use std::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::Sha256;

const KEY_BYTES: usize = 32;
/// 96 bits, GCM's native nonce size; random per message. A key seals a few secrets per user
/// over its life, far below the 2^32 messages random nonces allow.
const NONCE_BYTES: usize = 12;
/// HKDF's `info` when the key is derived: the signing secret is never used as an AES key
/// itself, and a derivation for another purpose would name another string.
const DERIVATION_INFO: &[u8] = b"workspaces/mfa-secret-encryption/v1";

/// An AES-256-GCM key sealing small secrets bound to the row they belong to (`aad`). `Debug`
/// does not show the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    /// The configured key (32 bytes written as 64 hex digits or in base64, standard or URL-safe,
    /// padded or not; surrounding whitespace ignored); without one, a key derived with
    /// HKDF-SHA256 from `signing_secret`. A configured key of any other form is an error, whose
    /// message does not repeat it.
    pub fn new(configured_key: Option<&str>, signing_secret: &[u8]) -> anyhow::Result<SecretBox> {
        let key = match configured_key {
            Some(text) => parse_key(text).ok_or_else(|| {
                anyhow::anyhow!(
                    "--mfa-encryption-key must be 32 bytes written as 64 hex digits or in base64 \
                     (e.g. the output of `openssl rand -hex 32`)"
                )
            })?,
            None => derive_key(signing_secret),
        };
        Ok(SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        })
    }

    /// A key derived with HKDF-SHA256 from `secret` for the purpose `info` (e.g. a one-time
    /// secret's own key: what it seals opens only with the secret, which no table holds).
    pub fn derived(secret: &[u8], info: &[u8]) -> SecretBox {
        let mut key = [0u8; KEY_BYTES];
        Hkdf::<Sha256>::new(None, secret)
            .expand(info, &mut key)
            .expect("HKDF-SHA256 yields up to 8160 bytes");
        SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        }
    }

    /// A random nonce followed by the ciphertext and its 16-byte tag. `aad` is authenticated, not
    /// stored: the same bytes must be given to [`SecretBox::open`].
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM seals any message shorter than 64 GiB");
        [nonce.as_slice(), &ciphertext].concat()
    }

    /// The plaintext of what [`SecretBox::seal`] made with this key and this `aad`; None for
    /// anything else (another key, another `aad`, a changed or truncated byte).
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

/// 32 bytes from 64 hex digits or base64 of any common flavour; None for anything else.
pub(super) fn parse_key(text: &str) -> Option<[u8; KEY_BYTES]> {
    let text = text.trim();
    let bytes = if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        decode_hex(text)
    } else {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())?
    };
    bytes.try_into().ok()
}

/// Pairs of hex digits (already checked to be hex digits, of even count) to bytes.
fn decode_hex(text: &str) -> Vec<u8> {
    text.as_bytes()
        .chunks(2)
        .filter_map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn derive_key(signing_secret: &[u8]) -> [u8; KEY_BYTES] {
    let mut key = [0u8; KEY_BYTES];
    Hkdf::<Sha256>::new(None, signing_secret)
        .expand(DERIVATION_INFO, &mut key)
        .expect("HKDF-SHA256 yields up to 8160 bytes");
    key
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    use super::{parse_key, SecretBox, NONCE_BYTES};

    const SIGNING_SECRET: &[u8] = b"a signing secret of at least 32 bytes";
    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn key_bytes() -> Vec<u8> {
        (0u8..32).collect()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_and_aad_only() {
        let secret_box = SecretBox::new(Some(HEX_KEY), SIGNING_SECRET).unwrap();
        let sealed = secret_box.seal(b"twenty secret bytes!", b"user-1");
        assert_eq!(sealed.len(), NONCE_BYTES + 20 + 16);
        assert_ne!(sealed, secret_box.seal(b"twenty secret bytes!", b"user-1"));
        assert_eq!(
            secret_box.open(&sealed, b"user-1").as_deref(),
            Some(b"twenty secret bytes!".as_slice())
        );
        assert_eq!(secret_box.open(&sealed, b"user-2"), None);
        assert_eq!(secret_box.open(&sealed, b""), None);
        for index in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            assert_eq!(secret_box.open(&tampered, b"user-1"), None, "{index}");
        }
        for cut in [0, 1, NONCE_BYTES, sealed.len() - 1] {
            assert_eq!(secret_box.open(&sealed[..cut], b"user-1"), None, "{cut}");
        }
        let other_key = "1f".repeat(32);
        let other = SecretBox::new(Some(&other_key), SIGNING_SECRET).unwrap();
        assert_eq!(other.open(&sealed, b"user-1"), None);
        let derived = SecretBox::new(None, SIGNING_SECRET).unwrap();
        assert_eq!(derived.open(&sealed, b"user-1"), None);
        assert_eq!(format!("{secret_box:?}"), "SecretBox(<redacted>)");
    }

    #[test]
    fn keys_are_read_as_hex_or_any_base64() {
        let bytes = key_bytes();
        let hex_upper = HEX_KEY.to_uppercase();
        let written = [
            HEX_KEY.to_owned(),
            hex_upper,
            format!("  {HEX_KEY}\n"),
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
        ];
        for text in &written {
            assert_eq!(
                parse_key(text).map(Vec::from),
                Some(bytes.clone()),
                "{text}"
            );
        }
        // Every form is the same key: what one seals, the others open.
        let sealed = SecretBox::new(Some(&written[0]), b"")
            .unwrap()
            .seal(b"x", b"a");
        for text in &written {
            let secret_box = SecretBox::new(Some(text), b"").unwrap();
            assert_eq!(
                secret_box.open(&sealed, b"a").as_deref(),
                Some(b"x".as_slice())
            );
        }
    }

    #[test]
    fn malformed_keys_are_refused_without_being_repeated() {
        let short_hex = &HEX_KEY[..62];
        let long_base64 = STANDARD.encode([7u8; 33]);
        let short_base64 = STANDARD.encode([7u8; 31]);
        let bad_hex = format!("{}zz", &HEX_KEY[..62]);
        for text in [
            "",
            "   ",
            short_hex,
            &long_base64,
            &short_base64,
            &bad_hex,
            "correct horse battery staple",
            "s3cr3t-key-material!",
        ] {
            assert_eq!(parse_key(text), None, "{text}");
            let error = SecretBox::new(Some(text), SIGNING_SECRET)
                .expect_err("refused")
                .to_string();
            assert!(
                error.starts_with("--mfa-encryption-key must be 32 bytes"),
                "{error}"
            );
            if !text.trim().is_empty() {
                assert!(!error.contains(text.trim()), "{error}");
            }
        }
    }

    #[test]
    fn derived_keys_are_deterministic_and_differ_by_signing_secret() {
        let first = SecretBox::new(None, SIGNING_SECRET).unwrap();
        let again = SecretBox::new(None, SIGNING_SECRET).unwrap();
        let other = SecretBox::new(None, b"another signing secret of 32 bytes").unwrap();
        let sealed = first.seal(b"secret", b"user");
        assert_eq!(
            again.open(&sealed, b"user").as_deref(),
            Some(b"secret".as_slice())
        );
        assert_eq!(other.open(&sealed, b"user"), None);
        // The signing secret is not itself the AES key (padded to 32 bytes or not).
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&SIGNING_SECRET[..32]);
        let as_key = SecretBox::new(Some(&STANDARD.encode(raw)), b"").unwrap();
        assert_eq!(as_key.open(&sealed, b"user"), None);
    }
}
