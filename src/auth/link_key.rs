//! The key behind activation links (contract section 13). A link's token is
//! HMAC-SHA256(key, link id): it is never stored, so a copy of the database opens no link, and
//! an administrator can see a pending link again at any time. Deleting the row (or its expiry)
//! kills the link; changing the key kills every link at once.
//!
//! The key must live outside the database, else a copy of it would be enough. It comes from the
//! first of:
//! - the JWT secret given with `--jwt-secret` or `--jwt-secret-file` (never stored in the
//!   database), through an HMAC with a label of its own, so the two keys differ;
//! - on SQLite, a key file beside the database file (`<database>.link-key`), created on first
//!   start readable by its owner only: every process on that database reads the same file;
//! - otherwise (PostgreSQL with a JWT secret kept in the database) there is none, and the link
//!   routes say so (503) rather than sign links with a key that a database copy holds.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;
use uuid::Uuid;

const KEY_BYTES: usize = 32;

/// Separates this key from any other derived from the same secret.
const LABEL: &[u8] = b"workspaces activation-link key v1";

/// The key (see the module). `Debug` does not show it.
#[derive(Clone)]
pub struct LinkKey([u8; KEY_BYTES]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length")
}

impl LinkKey {
    /// The key derived from a secret kept out of the database (the configured JWT secret).
    pub fn derived_from(secret: &[u8]) -> LinkKey {
        let mut mac = mac(secret);
        mac.update(LABEL);
        LinkKey(mac.finalize().into_bytes().into())
    }

    /// The key file beside a SQLite database: `<database>.link-key`.
    pub fn file_beside(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".link-key");
        PathBuf::from(name)
    }

    /// The key in `path`, created there (owner-only, 32 random bytes in base64url) when the
    /// file does not exist yet. Two processes starting at once agree: the file is written aside
    /// and published with a hard link, which fails if another process published first.
    pub fn from_file_or_new(path: &Path) -> anyhow::Result<LinkKey> {
        if !path.exists() {
            let mut bytes = [0u8; KEY_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let aside = path.with_extension(format!("link-key.{}", Uuid::now_v7().simple()));
            write_private(&aside, URL_SAFE_NO_PAD.encode(bytes).as_bytes())?;
            let published = std::fs::hard_link(&aside, path);
            let _ = std::fs::remove_file(&aside);
            match published {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("creating {}", path.display()))
                }
            }
        }
        let text = crate::auth::read_secret_file(path)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
            .with_context(|| format!("{} does not hold an activation-link key", path.display()))?;
        Ok(LinkKey(bytes))
    }

    /// The token of link `id`: 43 characters of base64url.
    pub fn token(&self, id: Uuid) -> String {
        let mut mac = mac(&self.0);
        mac.update(id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `token` is link `id`'s, compared in constant time.
    pub fn verifies(&self, id: Uuid, token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        let mut mac = mac(&self.0);
        mac.update(id.as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::LinkKey;
    use uuid::Uuid;

    #[test]
    fn a_token_opens_its_own_link_only() {
        let key = LinkKey::derived_from(b"a secret of the operator's, 32 bytes or more");
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let token = key.token(a);
        assert_eq!(token.len(), 43);
        assert!(key.verifies(a, &token));
        assert!(!key.verifies(b, &token));
        assert!(!key.verifies(a, "not base64!"));
        assert!(!key.verifies(a, &token[..42]));
        let other = LinkKey::derived_from(b"another secret");
        assert!(!other.verifies(a, &token));
    }

    #[test]
    fn the_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = LinkKey::file_beside(&dir.path().join("w.db"));
        assert!(path.ends_with("w.db.link-key"));
        let first = LinkKey::from_file_or_new(&path).unwrap();
        let again = LinkKey::from_file_or_new(&path).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(first.token(id), again.token(id));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Only the key file is left, no file written aside.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
