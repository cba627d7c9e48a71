//! Argon2id password hashing on a fixed set of threads, each with Argon2's memory allocated once.
//!
//! Argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1) needs 19 MiB per hash in flight.
//! Hashing on tokio's blocking pool let a burst of logins start one thread and one fresh 19 MiB
//! buffer per request (measured: 4.9 GiB peak RSS under 64 concurrent logins), and even bounded
//! to one hash per core, the allocator kept each thread's freed buffers (360-460 MiB after the
//! first logins). Here `threads` threads take hashes from one queue, each reusing its own
//! buffer: hashing memory is `threads` x 19 MiB, however many logins arrive, and the cores not
//! hashing keep serving everything else (a login burst does not slow reads down).
//!
//! The queue is bounded: a job that finds it full is refused at once ([`HashError::Overloaded`],
//! which the HTTP layer answers 503), so a burst cannot make every later login wait behind it
//! (measured before the bound: 150 concurrent password changes by one user took a stranger's
//! login from 41 ms to 5.2 s). A job whose caller has gone (client disconnected, request timed
//! out) is dropped before it is hashed: nobody would read the answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// Output length of the hashes this server writes (the argon2 crate's default).
const OUTPUT_LEN: usize = 32;

/// Jobs waiting for a hashing thread by default, besides those being hashed. At ~40 ms a hash,
/// a full queue drains in under 3 s on one thread.
pub const DEFAULT_HASH_QUEUE: usize = 64;

/// Why a password could not be hashed or verified.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The queue is full: refused without waiting.
    #[error("the password hashing queue is full")]
    Overloaded,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<oneshot::error::RecvError> for HashError {
    fn from(error: oneshot::error::RecvError) -> Self {
        HashError::Failed(error.into())
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: flume::Sender<Job>,
    /// A hash of a random password, verified against when the e-mail is unknown, so that
    /// "no such user" costs the same time as "wrong password".
    dummy_hash: Arc<str>,
    /// Jobs dropped unhashed because their caller had gone.
    skipped: Arc<AtomicU64>,
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
    /// Starts `threads` hashing threads (they end when the last clone of the hasher is dropped),
    /// with room for `queue` jobs waiting for them.
    pub async fn new(threads: usize, queue: usize) -> anyhow::Result<PasswordHasher> {
        let params = params()?;
        let (jobs, queue) = flume::bounded(queue.max(1));
        let skipped = Arc::new(AtomicU64::new(0));
        for n in 0..threads.max(1) {
            let (queue, params, skipped) = (queue.clone(), params.clone(), skipped.clone());
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || run(&queue, &params, &skipped))?;
        }
        let mut hasher = PasswordHasher {
            jobs,
            dummy_hash: Arc::from(""),
            skipped,
        };
        hasher.dummy_hash = Arc::from(hasher.hash(&crate::auth::new_token()).await?);
        Ok(hasher)
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Hash {
            password: password.to_owned(),
            reply,
        })?;
        Ok(answer.await??)
    }

    /// True when `password` matches `hash`. With `hash = None` it still spends the time of one
    /// verification and answers false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
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

    /// How many jobs were dropped unhashed because their caller had gone.
    pub fn skipped_jobs(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    fn send(&self, job: Job) -> Result<(), HashError> {
        self.jobs.try_send(job).map_err(|error| match error {
            flume::TrySendError::Full(_) => HashError::Overloaded,
            flume::TrySendError::Disconnected(_) => {
                anyhow::anyhow!("the password hashing threads have stopped").into()
            }
        })
    }
}

/// A hashing thread: takes jobs until the hasher is gone. Its Argon2 memory is allocated at the
/// first job and reused for every one after.
fn run(queue: &flume::Receiver<Job>, params: &Params, skipped: &AtomicU64) {
    let mut memory: Vec<Block> = Vec::new();
    while let Ok(job) = queue.recv() {
        if memory.is_empty() {
            memory = vec![Block::default(); params.block_count()];
        }
        // A caller that went away while the job waited is not hashed for (`is_closed`); one that
        // leaves during the hash just never reads the answer.
        match job {
            Job::Hash { reply, .. } if reply.is_closed() => {
                skipped.fetch_add(1, Ordering::Relaxed);
            }
            Job::Verify { reply, .. } if reply.is_closed() => {
                skipped.fetch_add(1, Ordering::Relaxed);
            }
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

    use std::time::Duration;

    use super::{HashError, PasswordHasher};

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = PasswordHasher::new(1, 8).await.unwrap();
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
        let hasher = PasswordHasher::new(2, 8).await.unwrap();
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
        let hasher = PasswordHasher::new(1, 8).await.unwrap();
        assert!(hasher
            .verify("Secret123", Some("not a hash"))
            .await
            .is_err());
    }

    /// A hash that takes a hashing thread several hundred milliseconds to verify.
    fn slow_hash() -> String {
        let params = argon2::Params::new(19 * 1024, 40, 1, None).unwrap();
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(
                b"Secret123",
                &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng),
            )
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_job_whose_caller_left_is_skipped() {
        let hasher = PasswordHasher::new(1, 1).await.unwrap();
        let slow = slow_hash();
        let busy = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.verify("Secret123", Some(&slow)).await })
        };
        // The one thread takes the slow job, leaving the queue empty.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(hasher.jobs.is_empty() && !busy.is_finished());

        // A caller that gives up leaves its job in the queue, which is now full...
        let gave_up = tokio::time::timeout(Duration::from_millis(20), hasher.hash("Gone1234"));
        assert!(gave_up.await.is_err());
        assert!(matches!(
            hasher.hash("Later123").await,
            Err(HashError::Overloaded)
        ));
        // ...until the thread reaches it and drops it unhashed.
        assert!(busy.await.unwrap().unwrap());
        while !hasher.jobs.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(hasher.hash("Later123").await.is_ok());
        assert_eq!(hasher.skipped_jobs(), 1);
    }
}
