//! The building blocks of multi-factor authentication: TOTP codes and their `otpauth://` URI,
//! the encryption of TOTP secrets at rest, the QR code of the URI, and single-use backup codes.
//! Pure functions: the routes and the store use them.

pub mod backup_codes;
mod qr;
mod secret_box;
pub mod totp;

pub use qr::png_data_url;
pub use secret_box::SecretBox;
pub use totp::TotpSecret;

use backup_codes::BackupCodeKey;

/// What the MFA routes need from configuration: the key sealing TOTP secrets, the key of the
/// backup codes' HMAC (both from the same key material) and the issuer authenticator apps show
/// (`--mfa-issuer`). `Debug` shows neither key.
#[derive(Debug, Clone)]
pub struct MfaConfig {
    pub secret_box: SecretBox,
    backup_code_key: BackupCodeKey,
    pub issuer: String,
}

impl MfaConfig {
    /// The keys from `configured_key` (`--mfa-encryption-key`) when set, else from
    /// `signing_secret` (see [`SecretBox::new`]; a malformed configured key is an error that
    /// does not repeat it). Refuses an issuer that is empty or holds a colon: the Key Uri Format
    /// separates the issuer from the account in the label by a colon, and apps that split on it
    /// before decoding would show the wrong name.
    pub fn new(
        configured_key: Option<&str>,
        signing_secret: &[u8],
        issuer: &str,
    ) -> anyhow::Result<MfaConfig> {
        let secret_box = SecretBox::new(configured_key, signing_secret)?;
        if issuer.trim().is_empty() || issuer.contains(':') {
            anyhow::bail!("--mfa-issuer must be a non-empty name without a colon");
        }
        // SecretBox::new has checked the configured key's form.
        let backup_code_key = match configured_key.and_then(secret_box::parse_key) {
            Some(key) => BackupCodeKey::derive(&key),
            None => BackupCodeKey::derive(signing_secret),
        };
        Ok(MfaConfig {
            secret_box,
            backup_code_key,
            issuer: issuer.to_owned(),
        })
    }

    /// What the database keeps of a backup code, given in its normalized form
    /// ([`backup_codes::normalize`]): a keyed hash, or for a code of the earlier, shorter form
    /// the plain SHA-256 it was stored as.
    pub fn backup_code_hash(&self, normalized: &str) -> Vec<u8> {
        self.backup_code_key.hash(normalized)
    }
}

#[cfg(test)]
mod tests {
    use super::MfaConfig;

    const SIGNING_SECRET: &[u8] = b"a signing secret of at least 32 bytes";
    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn backup_codes_are_hashed_under_a_key_of_the_configured_material() {
        let code = "0123456789abcdef";
        let derived = MfaConfig::new(None, SIGNING_SECRET, "Workspaces").unwrap();
        let again = MfaConfig::new(None, SIGNING_SECRET, "Workspaces").unwrap();
        let other_secret =
            MfaConfig::new(None, b"another signing secret of 32 bytes", "W").unwrap();
        let configured = MfaConfig::new(Some(HEX_KEY), SIGNING_SECRET, "Workspaces").unwrap();
        let base64_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let same_key = MfaConfig::new(Some(base64_key), b"", "Workspaces").unwrap();
        let hash = derived.backup_code_hash(code);
        assert_eq!(hash.len(), 32);
        assert_eq!(hash, again.backup_code_hash(code));
        assert_ne!(hash, other_secret.backup_code_hash(code));
        assert_ne!(hash, configured.backup_code_hash(code));
        // A configured key decides alone, whatever its spelling and the signing secret.
        assert_eq!(
            configured.backup_code_hash(code),
            same_key.backup_code_hash(code)
        );
        assert_ne!(hash, crate::auth::hash_token(code));
        // A code of the earlier form is looked up by the plain SHA-256 it was stored as.
        assert_eq!(
            derived.backup_code_hash("01110abcde"),
            crate::auth::hash_token("01110abcde")
        );
        let shown = format!("{configured:?}");
        assert!(shown.contains("BackupCodeKey(<redacted>)"), "{shown}");
        assert!(!shown.contains("0, 1, 2, 3"), "{shown}");
    }

    #[test]
    fn a_malformed_configured_key_is_refused() {
        let error = MfaConfig::new(Some("not a key"), SIGNING_SECRET, "Workspaces")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--mfa-encryption-key must be"), "{error}");
    }

    #[test]
    fn the_issuer_is_a_name_without_a_colon() {
        let config = MfaConfig::new(None, SIGNING_SECRET, "Acme Workspaces").unwrap();
        assert_eq!(config.issuer, "Acme Workspaces");
        assert!(!format!("{config:?}").contains("signing"));
        for bad in ["", "  ", "Acme:Corp"] {
            let error = MfaConfig::new(None, SIGNING_SECRET, bad)
                .unwrap_err()
                .to_string();
            assert_eq!(
                error,
                "--mfa-issuer must be a non-empty name without a colon"
            );
        }
    }
}
