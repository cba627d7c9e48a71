//! Argon2id password hashing on a fixed set of threads, each with Argon2's memory allocated once.
//!
//! Argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1) needs 19 MiB per hash in flight.
//! Hashing on tokio's blocking pool let a burst of logins start one thread and one fresh 19 MiB
//! buffer per request (measured: 4.9 GiB peak RSS under 64 concurrent logins), and even bounded
//! to one hash per core, the allocator kept each thread's freed buffers (360-460 MiB after the
//! first logins). Here `threads` threads take hashes from one queue, each reusing its own
//! buffer: hashing memory is `threads` x 19 MiB, however many logins arrive, and the cores not
//! hashing keep serving everything else (a login burst does not slow reads down).

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// Output length of the hashes this server writes (the argon2 crate's default).
const OUTPUT_LEN: usize = 32;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: flume::Sender<Job>,
    /// A hash of a random password, verified against when the e-mail is unknown, so that
    /// "no such user" costs the same time as "wrong password".
    dummy_hash: Arc<str>,
}

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<anyhow::Result<String>>,
    },
    Verify {
        password: String,
        hash: Arc<str>,
        reply: oneshot::Sender<anyhow::Result<bool>>,
    },
}

/// The parameters of new hashes.
fn params() -> anyhow::Result<Params> {
    Params::new(19 * 1024, 2, 1, Some(OUTPUT_LEN)).map_err(anyhow::Error::msg)
}

/// Threads hashing by default: half the cores, at least one.
pub fn default_hash_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (they end when the last clone of the hasher is dropped).
    pub async fn new(threads: usize) -> anyhow::Result<PasswordHasher> {
        let params = params()?;
        let (jobs, queue) = flume::unbounded();
        for n in 0..threads.max(1) {
            let (queue, params) = (queue.clone(), params.clone());
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || run(&queue, &params))?;
        }
        let mut hasher = PasswordHasher {
            jobs,
            dummy_hash: Arc::from(""),
        };
        hasher.dummy_hash = Arc::from(hasher.hash(&crate::auth::new_token()).await?);
        Ok(hasher)
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Hash {
            password: password.to_owned(),
            reply,
        })?;
        answer.await?
    }

    /// True when `password` matches `hash`. With `hash = None` it still spends the time of one
    /// verification and answers false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let (hash, real) = match hash {
            Some(hash) => (Arc::from(hash), true),
            None => (self.dummy_hash.clone(), false),
        };
        let (reply, answer) = oneshot::channel();
        self.send(Job::Verify {
            password: password.to_owned(),
            hash,
            reply,
        })?;
        Ok(answer.await?? && real)
    }

    fn send(&self, job: Job) -> anyhow::Result<()> {
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))
    }
}

/// A hashing thread: takes jobs until the hasher is gone. Its Argon2 memory is allocated at the
/// first job and reused for every one after.
fn run(queue: &flume::Receiver<Job>, params: &Params) {
    let mut memory: Vec<Block> = Vec::new();
    while let Ok(job) = queue.recv() {
        if memory.is_empty() {
            memory = vec![Block::default(); params.block_count()];
        }
        // A client that went away no longer waits for its answer.
        match job {
            Job::Hash { password, reply } => {
                let _ = reply.send(hash_with(&mut memory, params, &password));
            }
            Job::Verify {
                password,
                hash,
                reply,
            } => {
                let _ = reply.send(verify_with(&mut memory, &password, &hash));
            }
        }
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) of `password` with a fresh salt.
fn hash_with(memory: &mut [Block], params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(anyhow::Error::msg)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut *memory)
        .map_err(anyhow::Error::msg)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(anyhow::Error::msg)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(anyhow::Error::msg)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash`, computed with the hash's own algorithm,
/// version and parameters (a hash made with more memory than `memory` gets a buffer of its own).
/// The comparison is constant-time (`Output`'s equality).
fn verify_with(memory: &mut [Block], password: &str, hash: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(anyhow::Error::msg)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(anyhow::Error::msg)?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).map_err(anyhow::Error::msg)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(anyhow::Error::msg)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("the stored hash has no salt or no output");
    };
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(anyhow::Error::msg)?;
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let needed = argon.params().block_count();
    let computed = if needed <= memory.len() {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
    } else {
        let mut larger = vec![Block::default(); needed];
        argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut larger)
    };
    computed.map_err(anyhow::Error::msg)?;
    Ok(Output::new(&out).map_err(anyhow::Error::msg)? == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
    use argon2::Argon2;

    use super::PasswordHasher;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = PasswordHasher::new(1).await.unwrap();
        let hash = hasher.hash("Secret123").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify("Secret123", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("Secret124", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("Secret123", None).await.unwrap());
    }

    #[tokio::test]
    async fn its_hashes_and_the_argon2_crates_are_interchangeable() {
        let hasher = PasswordHasher::new(2).await.unwrap();
        // Ours, checked by the reference implementation.
        let ours = hasher.hash("Secret123").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"Secret123", &parsed)
            .is_ok());
        // The reference's, with other parameters (more memory than our buffers), checked by ours.
        let params = argon2::Params::new(32 * 1024, 1, 1, None).unwrap();
        let reference = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(
                b"Secret123",
                &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng),
            )
            .unwrap()
            .to_string();
        assert!(hasher.verify("Secret123", Some(&reference)).await.unwrap());
        assert!(!hasher.verify("secret123", Some(&reference)).await.unwrap());
        // Two hashes of one password differ (fresh salts).
        assert_ne!(ours, hasher.hash("Secret123").await.unwrap());
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() {
        let hasher = PasswordHasher::new(1).await.unwrap();
        assert!(hasher
            .verify("Secret123", Some("not a hash"))
            .await
            .is_err());
    }
}
