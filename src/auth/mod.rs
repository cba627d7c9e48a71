//! Credentials: password hashing, access JWTs, and the opaque random tokens (refresh,
//! e-mail verification) that are stored only as hashes; the building blocks of MFA (`mfa`).

mod jwt;
mod link_key;
pub mod mfa;
mod password;
pub mod providers;
mod secret;
mod session_secret;
pub mod webauthn;

pub use jwt::{AccessClaims, JwtKeys, ACCESS_TOKEN_TTL_MS};
pub use link_key::LinkKey;
pub use mfa::MfaConfig;
pub use password::{default_hash_threads, HashError, PasswordHasher, DEFAULT_HASH_QUEUE};
pub use secret::{hash_token, new_token, read_secret_file};
pub use session_secret::SessionSecret;
pub use webauthn::RelyingParty;
