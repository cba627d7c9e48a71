//! What a session's tokens carry and the database does not.
//!
//! A session is named by a random 256-bit secret S. The access JWT's `sid` claim carries S, and
//! a refresh token is S followed by 256 more random bits. The database keeps only
//! [`SessionSecret::id`], a hash of S, as the session's primary key (and the hash of each whole
//! refresh token). So a copy of the database, JWT signing key included, yields no session a
//! token could be forged for: signing a token needs S, which no row holds. The stored id is the
//! public `tokenId`: it cannot be turned back into S.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::SessionId;

const SECRET_BYTES: usize = 32;

/// The secret a session's tokens carry (see the module). `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret([u8; SECRET_BYTES]);

impl SessionSecret {
    pub fn generate() -> SessionSecret {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SessionSecret(bytes)
    }

    /// The id the database knows the session by: the first 16 bytes of SHA-256(S), as a UUID
    /// of version 8 (custom), so lookups stay by primary key.
    pub fn id(&self) -> SessionId {
        let digest = Sha256::digest(self.0);
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        SessionId::from_uuid(Uuid::new_v8(first))
    }

    /// S as the JWT's `sid` claim: URL-safe base64, 43 characters.
    pub fn to_claim(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// S from a `sid` claim; None for anything that is not one.
    pub fn from_claim(claim: &str) -> Option<SessionSecret> {
        let bytes = URL_SAFE_NO_PAD.decode(claim).ok()?;
        Some(SessionSecret(bytes.try_into().ok()?))
    }

    /// A new refresh token of this session: S followed by 256 fresh random bits, as one URL-safe
    /// base64 string (86 characters). Only its hash is stored.
    pub fn new_refresh_token(&self) -> String {
        let mut bytes = [0u8; 2 * SECRET_BYTES];
        bytes[..SECRET_BYTES].copy_from_slice(&self.0);
        rand::rngs::OsRng.fill_bytes(&mut bytes[SECRET_BYTES..]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The S a refresh token starts with; None for anything that is not a refresh token of this
    /// shape. Whether the token is live is the store's to say, by its hash.
    pub fn of_refresh_token(token: &str) -> Option<SessionSecret> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != 2 * SECRET_BYTES {
            return None;
        }
        Some(SessionSecret(bytes[..SECRET_BYTES].try_into().ok()?))
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::SessionSecret;

    #[test]
    fn claims_and_refresh_tokens_carry_the_secret_and_the_id_is_its_hash() {
        let secret = SessionSecret::generate();
        assert_ne!(secret, SessionSecret::generate());
        let claim = secret.to_claim();
        assert_eq!(claim.len(), 43);
        assert_eq!(SessionSecret::from_claim(&claim), Some(secret.clone()));
        let refresh = secret.new_refresh_token();
        assert_eq!(refresh.len(), 86);
        assert_ne!(refresh, secret.new_refresh_token());
        assert_eq!(
            SessionSecret::of_refresh_token(&refresh),
            Some(secret.clone())
        );
        let id = secret.id().uuid();
        assert_eq!(id.get_version_num(), 8);
        assert_eq!(secret.id(), SessionSecret::from_claim(&claim).unwrap().id());
        assert!(!claim.contains(&id.simple().to_string()));
        for bad in ["", "short", &id.to_string(), &claim[..42]] {
            assert_eq!(SessionSecret::from_claim(bad), None, "{bad}");
            assert_eq!(SessionSecret::of_refresh_token(bad), None, "{bad}");
        }
        assert_eq!(SessionSecret::of_refresh_token(&claim), None);
        assert_eq!(format!("{secret:?}"), "SessionSecret(<redacted>)");
    }
}
