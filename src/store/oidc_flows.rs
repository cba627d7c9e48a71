//! The browser flow of sign-in with identity providers (contract section 12): the flows begun
//! by `GET /auth/oidc/{name}/start` and the one-time codes the callback hands to the console.
//! Both live in the database, so that the callback and the completion may reach any instance
//! behind a load balancer; both are found by the SHA-256 of their secret and spent with one
//! conditional `UPDATE ... RETURNING`, so of two requests with the same secret one wins, on any
//! instance. What they carry is sealed by the caller under a key derived from that secret.

use super::tx::args;
use super::{Store, StoreResult};

/// A flow about to be stored.
#[derive(Debug, Clone)]
pub struct NewOidcFlow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: Vec<u8>,
    /// The provider's name (`google`, `microsoft`, `github` or a generic one).
    pub provider: String,
    /// The nonce and PKCE verifier, sealed under a key derived from the state.
    pub sealed: Vec<u8>,
    /// Where the console goes once signed in: a path under `/console/`.
    pub return_path: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A flow the callback spent.
#[derive(Debug, Clone)]
pub struct SpentOidcFlow {
    pub sealed: Vec<u8>,
    pub return_path: String,
}

impl Store {
    pub async fn create_oidc_flow(&self, flow: NewOidcFlow) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    INSERT_FLOW,
                    args![
                        &flow.state_hash,
                        flow.provider.as_str(),
                        &flow.sealed,
                        flow.return_path.as_str(),
                        flow.created_at,
                        flow.expires_at
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Spends the live flow of `provider` whose state hashes to `state_hash`: None when there is
    /// none (unknown, another provider's, expired or spent already).
    pub async fn spend_oidc_flow(
        &self,
        state_hash: &[u8],
        provider: &str,
        now: i64,
    ) -> StoreResult<Option<SpentOidcFlow>> {
        let (state_hash, provider) = (state_hash.to_vec(), provider.to_owned());
        self.write(move |tx| {
            Box::pin(async move {
                tx.query_opt(
                    SPEND_FLOW,
                    args![&state_hash, provider.as_str(), now],
                    |row| {
                        Ok(SpentOidcFlow {
                            sealed: row.get("sealed")?,
                            return_path: row.get("return_path")?,
                        })
                    },
                )
                .await
            })
        })
        .await
    }

    /// Stores a one-time code (its hash) and what it opens, sealed.
    pub async fn create_oidc_code(
        &self,
        code_hash: Vec<u8>,
        sealed: Vec<u8>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute(INSERT_CODE, args![&code_hash, &sealed, now, expires_at])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Spends the live one-time code hashing to `code_hash`: what it opens, sealed; None when
    /// it is unknown, expired or spent already.
    pub async fn spend_oidc_code(
        &self,
        code_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<Vec<u8>>> {
        let code_hash = code_hash.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                tx.query_opt(SPEND_CODE, args![&code_hash, now], |row| row.get("sealed"))
                    .await
            })
        })
        .await
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Binds: state_hash, provider, sealed, return_path, created_at, expires_at.
const INSERT_FLOW: &str = "INSERT INTO oidc_flows \
     (state_hash, provider, sealed, return_path, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Spends flow $1 of provider $2 if it is live at $3. The row stays (the clean-up deletes it);
/// what it seals opens only with the state, which no table holds.
const SPEND_FLOW: &str = "UPDATE oidc_flows SET spent_at = $3 \
     WHERE state_hash = $1 AND provider = $2 AND spent_at IS NULL AND expires_at > $3 \
     RETURNING sealed, return_path";

/// Binds: code_hash, sealed, created_at, expires_at.
const INSERT_CODE: &str = "INSERT INTO oidc_codes (code_hash, sealed, created_at, expires_at) \
     VALUES ($1, $2, $3, $4)";

/// Spends code $1 if it is live at $2.
const SPEND_CODE: &str = "UPDATE oidc_codes SET spent_at = $2 \
     WHERE code_hash = $1 AND spent_at IS NULL AND expires_at > $2 \
     RETURNING sealed";
