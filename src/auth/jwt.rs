use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{OrgId, UserId};

/// Access tokens live one hour (contract section 4).
pub const ACCESS_TOKEN_TTL_MS: i64 = 60 * 60 * 1000;

/// The claims of an access token: what the official client reads (`userId`, `email`, `orgId`,
/// `type`, `iat`, `exp`) plus the session's secret (`sid`, see `SessionSecret`), whose hash names
/// the session checked on every request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessClaims {
    pub user_id: UserId,
    pub email: String,
    pub org_id: OrgId,
    #[serde(rename = "type")]
    pub token_type: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

/// HS256 keys. The algorithm is pinned: a token naming any other (`none` included) is refused.
/// Cheap to clone (the application state is cloned into every request).
#[derive(Clone)]
pub struct JwtKeys {
    inner: Arc<Keys>,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "iat"]);
        JwtKeys {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                validation,
            }),
        }
    }

    pub fn issue(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.inner.encoding,
        )?)
    }

    /// The claims of a well-signed, unexpired access token; None for anything else.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let data = jsonwebtoken::decode::<AccessClaims>(
            token,
            &self.inner.decoding,
            &self.inner.validation,
        )
        .ok()?;
        (data.claims.token_type == "access").then_some(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::{AccessClaims, JwtKeys};
    use crate::auth::SessionSecret;
    use crate::domain::{OrgId, UserId};

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            user_id: UserId::new(),
            email: "a@example.com".into(),
            org_id: OrgId::new(),
            token_type: "access".into(),
            sid: SessionSecret::generate().to_claim(),
            iat: 0,
            exp,
        }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn accepts_its_own_tokens_only() {
        let keys = JwtKeys::new(&[7; 32]);
        let token = keys.issue(&claims(now() + 60)).unwrap();
        assert!(keys.verify(&token).is_some());
        assert!(JwtKeys::new(&[8; 32]).verify(&token).is_none());
        assert!(keys
            .verify(&keys.issue(&claims(now() - 120)).unwrap())
            .is_none());
        let mut other_type = claims(now() + 60);
        other_type.token_type = "refresh".into();
        assert!(keys.verify(&keys.issue(&other_type).unwrap()).is_none());
    }
}
