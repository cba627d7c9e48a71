//! Rate limits against guessing and flooding, checked where the value they key on is parsed:
//! per client address (the middleware, `http::limits`, on every credential route), per account
//! (each credential handler, on the e-mail, token or verification id it has just parsed), per
//! signed-in user (the authenticated requests that hash a password), and failed logins (per
//! account and client address, under a higher ceiling per account).
//!
//! The limits are kept in each instance's memory (`governor`, GCRA; [`failures`] for the login
//! lock). With several instances behind a load balancer, a client may get up to N times the
//! limit; that is accepted: the limits exist to make password guessing and e-mail flooding
//! slow, not to meter, and a shared store would put a database write on every login attempt.
//! Correctness never depends on them.

mod client;
mod failures;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use self::failures::{Booking, Failures};
use super::error::ApiError;
use crate::config::RateLimitConfig;
use crate::domain::{Email, UserId};
use crate::http::AppState;

/// What a per-account limit counts on: a digest of the kind and the value, so a key costs 32
/// bytes however long the value a client sent (up to the 64 KiB body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountKey([u8; 32]);

impl AccountKey {
    fn of(kind: &str, value: &str) -> AccountKey {
        let mut digest = Sha256::new();
        digest.update(kind.as_bytes());
        digest.update([0]);
        digest.update(value.as_bytes());
        AccountKey(digest.finalize().into())
    }

    /// An account by e-mail: its stored key when the address is valid (so a login and the
    /// signed-in user agree on it), else the same key of the trimmed text.
    pub fn email(raw: &str) -> AccountKey {
        let key =
            Email::parse(raw).map_or_else(|| crate::domain::email_key(raw.trim()), |e| e.key());
        AccountKey::of("email", &key)
    }

    /// A presented token (refresh, e-mail verification, password reset), as the handler reads it.
    pub fn token(kind: &'static str, token: &str) -> AccountKey {
        AccountKey::of(kind, token)
    }

    /// A verification, by its id (one key for every spelling of the UUID).
    pub fn verification(id: Uuid) -> AccountKey {
        AccountKey::of("verification", &id.to_string())
    }
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

/// A signed-in user's request that is limited per user because each one leaves something
/// behind: an audit event kept for good, an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// `POST`, `PUT` or `DELETE` of a settings object (`--rate-limit-settings-writes-per-user`).
    SettingsWrite,
    /// `POST /mfa/setup`, which may e-mail the account (the per-account limit).
    MfaSetup,
}

/// Every rate limit of one server instance.
pub struct Throttle {
    config: RateLimitConfig,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Option<DefaultKeyedRateLimiter<AccountKey>>,
    per_user: Option<DefaultKeyedRateLimiter<UserId>>,
    settings_writes: Option<DefaultKeyedRateLimiter<UserId>>,
    mfa_setups: Option<DefaultKeyedRateLimiter<UserId>>,
    /// Failed logins per account and client address: an attacker's address is locked out of an
    /// account while its owner, elsewhere, still gets in.
    failures_per_client: Option<Failures<(AccountKey, Option<IpAddr>)>>,
    /// Failed logins per account from everywhere: the ceiling for guesses from many addresses.
    failures_per_account: Option<Failures<AccountKey>>,
    checks: AtomicU64,
}

impl Throttle {
    pub fn new(config: RateLimitConfig) -> Throttle {
        Throttle {
            config,
            per_ip: keyed(config.per_ip_per_minute),
            per_account: keyed(config.per_account_per_minute),
            per_user: keyed(config.per_account_per_minute),
            settings_writes: keyed(config.settings_writes_per_user_per_minute),
            mfa_setups: keyed(config.per_account_per_minute),
            failures_per_client: Failures::per_minute(config.per_account_per_minute),
            failures_per_account: Failures::per_minute(
                config.login_failures_per_account_per_minute,
            ),
            checks: AtomicU64::new(0),
        }
    }

    /// The client's address (see [`client::client_ip`]).
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        client::client_ip(
            headers,
            peer,
            self.config.trust_forwarded_for,
            self.config.trusted_proxy_hops,
        )
    }

    /// A credential request from `ip` (429 beyond the per-address limit).
    pub fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match (&self.per_ip, ip) {
            (Some(limiter), Some(ip)) => self.check(limiter, &ip),
            _ => Ok(()),
        }
    }

    /// A credential request about `account` (429 beyond the per-account limit).
    pub fn check_account(&self, account: AccountKey) -> Result<(), ApiError> {
        match &self.per_account {
            Some(limiter) => self.check(limiter, &account),
            None => Ok(()),
        }
    }

    /// A request by `user` that will hash or verify a password (429 beyond the per-user limit).
    pub fn check_hashing(&self, user: UserId) -> Result<(), ApiError> {
        match &self.per_user {
            Some(limiter) => self.check(limiter, &user),
            None => Ok(()),
        }
    }

    /// `action` by `user` (429 beyond its per-user limit).
    pub fn check_user_action(&self, action: UserAction, user: UserId) -> Result<(), ApiError> {
        let limiter = match action {
            UserAction::SettingsWrite => &self.settings_writes,
            UserAction::MfaSetup => &self.mfa_setups,
        };
        match limiter {
            Some(limiter) => self.check(limiter, &user),
            None => Ok(()),
        }
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), ApiError> {
        self.housekeeping();
        limiter.check_key(key).map_err(|not_until| {
            ApiError::rate_limited(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    /// A password check for `account` from `client` (a login, or a signed-in user confirming
    /// their password): 429 while either failure limit is reached. It counts as a failure while
    /// it runs, and for good once [`LoginAttempt::failed`] is called; dropped without that (a
    /// success, or a caller who left) it is given back.
    pub fn login_attempt(
        &self,
        account: AccountKey,
        client: ClientAddr,
    ) -> Result<LoginAttempt<'_>, ApiError> {
        self.housekeeping();
        let now = Instant::now();
        let mut attempt = LoginAttempt {
            throttle: self,
            account,
            client: client.0,
            per_client: None,
            per_account: None,
            failed: false,
        };
        let locked = ApiError::rate_limited;
        if let Some(failures) = &self.failures_per_client {
            attempt.per_client = Some(failures.book(&(account, client.0), now).map_err(locked)?);
        }
        if let Some(failures) = &self.failures_per_account {
            // On refusal, `attempt` is dropped and gives back the per-client booking.
            attempt.per_account = Some(failures.book(&account, now).map_err(locked)?);
        }
        Ok(attempt)
    }

    /// Forgets idle keys now and then, so memory stays bounded by recent clients.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 != 4095 {
            return;
        }
        let now = Instant::now();
        if let Some(limiter) = &self.per_ip {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.per_account {
            limiter.retain_recent();
        }
        for limiter in [&self.per_user, &self.settings_writes, &self.mfa_setups]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
        if let Some(failures) = &self.failures_per_client {
            failures.forget_ended(now);
        }
        if let Some(failures) = &self.failures_per_account {
            failures.forget_ended(now);
        }
    }
}

/// A password check in progress, counted as a failed login until it is known to have
/// succeeded.
#[must_use = "an attempt counts as a failure only if `failed` is called"]
pub struct LoginAttempt<'a> {
    throttle: &'a Throttle,
    account: AccountKey,
    client: Option<IpAddr>,
    per_client: Option<Booking>,
    per_account: Option<Booking>,
    failed: bool,
}

impl LoginAttempt<'_> {
    /// The password was refused: the attempt keeps counting.
    pub fn failed(mut self) {
        self.failed = true;
    }
}

/// Anything but a refused password gives the booked failures back: a success, a malformed or
/// overloaded request, or a caller who left before the answer (who learnt nothing).
impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if self.failed {
            return;
        }
        if let (Some(failures), Some(booking)) =
            (&self.throttle.failures_per_client, self.per_client)
        {
            failures.give_back(&(self.account, self.client), booking);
        }
        if let (Some(failures), Some(booking)) =
            (&self.throttle.failures_per_account, self.per_account)
        {
            failures.give_back(&self.account, booking);
        }
    }
}

/// The client's address as the limits see it: the peer, or behind trusted proxies the address
/// they forwarded (`--trust-forwarded-for`, `--trusted-proxy-hops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// Read from a request's headers and connection.
    pub fn of(
        throttle: &Throttle,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Self {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        ClientAddr(throttle.client_ip(headers, peer))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(
            &state.throttle,
            &parts.headers,
            &parts.extensions,
        ))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{AccountKey, ClientAddr, Throttle};
    use crate::config::RateLimitConfig;

    #[test]
    fn only_attempts_marked_failed_count_toward_the_lock() {
        let throttle = Throttle::new(RateLimitConfig {
            per_account_per_minute: 1,
            login_failures_per_account_per_minute: 2,
            ..RateLimitConfig::OFF
        });
        let ann = AccountKey::email("ann@example.com");
        let here = ClientAddr(Some([192, 0, 2, 1].into()));
        let there = ClientAddr(Some([192, 0, 2, 2].into()));
        let elsewhere = ClientAddr(Some([192, 0, 2, 3].into()));
        for _ in 0..3 {
            // Dropped: a success, or no answer at all.
            drop(throttle.login_attempt(ann, here).unwrap());
        }
        // Counted while in flight, so a concurrent guess from here is refused.
        let running = throttle.login_attempt(ann, here).unwrap();
        assert!(throttle.login_attempt(ann, here).is_err());
        running.failed();
        assert!(throttle.login_attempt(ann, here).is_err());
        throttle.login_attempt(ann, there).unwrap().failed();
        // The account's ceiling of 2 is reached: refused from everywhere, and the refusal
        // books nothing from the new address.
        assert!(throttle.login_attempt(ann, elsewhere).is_err());
        let bob = AccountKey::email("bob@example.com");
        assert!(throttle.login_attempt(bob, elsewhere).is_ok());
    }

    #[test]
    fn an_email_key_ignores_case_and_blanks_and_kinds_never_collide() {
        assert_eq!(
            AccountKey::email(" Ann@X.io "),
            AccountKey::email("ann@x.io")
        );
        assert_eq!(
            AccountKey::email("NOT AN ADDRESS"),
            AccountKey::email("not an address")
        );
        assert_ne!(
            AccountKey::email("abc"),
            AccountKey::token("refresh", "abc")
        );
        assert_ne!(
            AccountKey::token("refresh", "abc"),
            AccountKey::token("reset", "abc")
        );
        let id = Uuid::now_v7();
        assert_eq!(
            AccountKey::verification(id),
            AccountKey::verification(Uuid::parse_str(&id.simple().to_string()).unwrap())
        );
    }
}
