use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1). Hashing runs on tokio's blocking
/// pool so a login never stalls the requests sharing its worker thread, and at most one hash per
/// core runs at a time: more would not finish sooner, and each takes 19 MiB, so a burst of logins
/// would otherwise cost hundreds of blocking threads and gigabytes of memory (measured: 4.9 GiB
/// peak RSS under 64 concurrent logins before this bound).
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when the e-mail is unknown, so that
    /// "no such user" costs the same time as "wrong password".
    dummy_hash: String,
}

impl PasswordHasher {
    pub async fn new() -> anyhow::Result<PasswordHasher> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(anyhow::Error::msg)?;
        let random = crate::auth::new_token();
        let hasher_params = params.clone();
        let dummy_hash =
            tokio::task::spawn_blocking(move || hash_blocking(&hasher_params, &random)).await??;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash,
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password)).await?
    }

    /// True when `password` matches `hash`. With `hash = None` it still spends the time of one
    /// verification and answers false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let (hash, real) = match hash {
            Some(hash) => (hash.to_owned(), true),
            None => (self.dummy_hash.clone(), false),
        };
        let password = password.to_owned();
        let _permit = self.permits.acquire().await?;
        let matches = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            let parsed = PasswordHash::new(&hash).map_err(anyhow::Error::msg)?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await??;
        Ok(real && matches)
    }
}

fn hash_blocking(params: &Params, password: &str) -> anyhow::Result<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(anyhow::Error::msg)?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::PasswordHasher;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = PasswordHasher::new().await.unwrap();
        let hash = hasher.hash("Secret123").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify("Secret123", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("Secret124", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("Secret123", None).await.unwrap());
    }
}
