use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use std::path::Path;

use anyhow::Context as _;

/// A fresh 256-bit random token, URL-safe base64 (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token: its SHA-256. The tokens carry 256 random bits, so a fast
/// hash is enough; a stolen table yields nothing usable.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The secret in a key file (`--jwt-secret-file`), without its trailing line break. A file that
/// its group or others may read or write is refused, as ssh refuses such a private key: the key
/// signs every access token.
pub fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("reading {shown}"))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{shown} is accessible to its group or others (mode {:o}): chmod 600 it",
                mode & 0o777
            );
        }
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {shown}"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::{hash_token, new_token, read_secret_file};

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_token());
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 32);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_read_without_their_line_break_and_only_when_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_secret_file(&path).unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        for mode in [0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = read_secret_file(&path).unwrap_err().to_string();
            assert!(error.contains("chmod 600"), "{error}");
        }
        assert!(read_secret_file(&dir.path().join("missing")).is_err());
    }
}
