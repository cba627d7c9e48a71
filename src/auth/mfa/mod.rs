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

/// What the MFA routes need from configuration: the key sealing TOTP secrets and the issuer
/// authenticator apps show (`--mfa-issuer`).
#[derive(Debug, Clone)]
pub struct MfaConfig {
    pub secret_box: SecretBox,
    pub issuer: String,
}

impl MfaConfig {
    /// Refuses an issuer that is empty or holds a colon: the Key Uri Format separates the
    /// issuer from the account in the label by a colon, and apps that split on it before
    /// decoding would show the wrong name.
    pub fn new(secret_box: SecretBox, issuer: &str) -> anyhow::Result<MfaConfig> {
        if issuer.trim().is_empty() || issuer.contains(':') {
            anyhow::bail!("--mfa-issuer must be a non-empty name without a colon");
        }
        Ok(MfaConfig {
            secret_box,
            issuer: issuer.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{MfaConfig, SecretBox};

    #[test]
    fn the_issuer_is_a_name_without_a_colon() {
        let secret_box = || SecretBox::new(None, b"a signing secret of at least 32 bytes").unwrap();
        let config = MfaConfig::new(secret_box(), "Acme Workspaces").unwrap();
        assert_eq!(config.issuer, "Acme Workspaces");
        assert!(!format!("{config:?}").contains("signing"));
        for bad in ["", "  ", "Acme:Corp"] {
            let error = MfaConfig::new(secret_box(), bad).unwrap_err().to_string();
            assert_eq!(
                error,
                "--mfa-issuer must be a non-empty name without a colon"
            );
        }
    }
}
