//! Signing in with a passkey alone (contract section 14, `/auth/passkey/*`): the ceremony an
//! options call starts (bound to nothing but itself: no user, no session), finding the
//! credential an assertion names, and the sign-in, which spends the ceremony and the
//! credential's counter and opens an MFA-verified session in one transaction.
//!
//! The ceremony is spent first, by one conditional update: of two instances given one
//! assertion, one update wins and the other matches no row (on PostgreSQL it waits for the
//! winner's row lock, then finds the row spent). Whatever refuses after that (a counter another
//! sign-in moved past this one's, a user deleted or a method switched off meanwhile) rolls the
//! whole transaction back ([`StoreError::Refused`]), so a refusal writes nothing.

use uuid::Uuid;

use super::passkeys::SPEND_PASSKEY_COUNTER;
use super::VERIFY_SESSION;
use crate::store::accounts::User;
use crate::store::sessions::{insert_session, NewRefreshToken, NewSession};
use crate::store::sql::user_columns;
use crate::store::tx::{args, Tx};
use crate::store::{Store, StoreError, StoreResult};

/// What an assertion names, as the store has it: the live sign-in ceremony it answers and the
/// credential with its owner.
#[derive(Debug, Clone)]
pub struct PasskeySignInCandidate {
    /// webauthn-rs's state of the ceremony (JSON).
    pub ceremony: String,
    /// The owner of the credential.
    pub user: User,
    /// The credential (webauthn-rs's `Passkey`, JSON) as stored now.
    pub passkey: String,
    /// The owner's `PASSKEY` method is on.
    pub method_enabled: bool,
}

/// A sign-in whose assertion webauthn-rs verified: what to spend and the session to open.
#[derive(Debug, Clone)]
pub struct PasskeySignIn {
    pub challenge: String,
    pub credential_id: Vec<u8>,
    /// The counter the authenticator reported (0: it keeps none).
    pub counter: i64,
    /// The passkey as it is to be stored now (JSON).
    pub passkey: String,
    pub backed_up: bool,
    /// The session, for the credential's owner, not pending.
    pub session: NewSession,
    pub refresh: NewRefreshToken,
    pub now: i64,
}

/// What a sign-in with a passkey led to.
#[derive(Debug, Clone)]
pub enum PasskeySignInOutcome {
    /// The session is open, MFA-verified; the user as they are now.
    SignedIn(User),
    /// The ceremony was unknown, spent or expired, or the credential, its counter, its owner
    /// or their method refused it. Nothing was written.
    Invalid,
}

impl Store {
    /// Stores the ceremony of `POST /auth/passkey/options`: challenge `challenge` (base64url),
    /// webauthn-rs's `state`, live from `created_at` until `expires_at`, bound to no session.
    pub async fn begin_passkey_sign_in(
        &self,
        challenge: String,
        state: String,
        created_at: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.write_single(move |tx| {
            Box::pin(async move {
                let args = args![Uuid::now_v7(), &challenge, &state, created_at, expires_at];
                tx.execute(INSERT_SIGN_IN_CHALLENGE, args).await?;
                Ok(())
            })
        })
        .await
    }

    /// The live, unspent sign-in ceremony `challenge` and the credential `credential_id` with
    /// its owner; None when either is unknown (or the ceremony spent or expired). Reading
    /// spends nothing: [`Store::sign_in_with_passkey`] does.
    pub async fn passkey_sign_in_candidate(
        &self,
        challenge: String,
        credential_id: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<PasskeySignInCandidate>> {
        self.read(move |tx| {
            Box::pin(async move {
                let ceremony: Option<String> = tx
                    .query_opt(LIVE_SIGN_IN_CHALLENGE, args![&challenge, now], |row| {
                        row.get("state")
                    })
                    .await?;
                let Some(ceremony) = ceremony else {
                    return Ok(None);
                };
                tx.query_opt(PASSKEY_WITH_OWNER, args![&credential_id], |row| {
                    Ok(PasskeySignInCandidate {
                        ceremony: ceremony.clone(),
                        user: User::from_row(row)?,
                        passkey: row.get("passkey")?,
                        method_enabled: row.get("method_enabled")?,
                    })
                })
                .await
            })
        })
        .await
    }

    /// Signs in with a verified assertion: spends the ceremony (once, also across instances),
    /// then the credential's counter (only a higher one, or 0 again), while its owner is live
    /// and their `PASSKEY` method on, and opens `sign_in.session` as an MFA-verified session.
    /// A refusal at any step writes nothing.
    pub async fn sign_in_with_passkey(
        &self,
        sign_in: PasskeySignIn,
    ) -> StoreResult<PasskeySignInOutcome> {
        let outcome = self
            .write(move |tx| Box::pin(async move { sign_in_in(tx, &sign_in).await }))
            .await;
        match outcome {
            Err(StoreError::Refused) => Ok(PasskeySignInOutcome::Invalid),
            other => other,
        }
    }
}

async fn sign_in_in(tx: &mut Tx<'_>, s: &PasskeySignIn) -> StoreResult<PasskeySignInOutcome> {
    let (user_id, now) = (s.session.user_id, s.now);
    // The race is decided here, before anything else is written.
    if tx
        .execute(SPEND_SIGN_IN_CHALLENGE, args![&s.challenge, now])
        .await?
        != 1
    {
        return Ok(PasskeySignInOutcome::Invalid);
    }
    let user = tx
        .query_opt(LIVE_USER, args![user_id], User::from_row)
        .await?
        .ok_or(StoreError::Refused)?;
    let counter = args![
        user_id,
        &s.credential_id,
        s.counter,
        &s.passkey,
        s.backed_up,
        now
    ];
    if tx.execute(SPEND_PASSKEY_COUNTER, counter).await? != 1 {
        return Err(StoreError::Refused);
    }
    insert_session(tx, &s.session, &s.refresh).await?;
    let verify = args![s.session.id, user_id, now, s.session.expires_at];
    if tx.execute(VERIFY_SESSION, verify).await? != 1 {
        return Err(StoreError::Refused);
    }
    Ok(PasskeySignInOutcome::SignedIn(user))
}

// ---- SQL ----------------------------------------------------------------------------------------

/// A sign-in ceremony ($1 id): challenge $2, state $3, made at $4, live until $5; no user, no
/// session (the challenge is unique: two options calls never share one).
const INSERT_SIGN_IN_CHALLENGE: &str = "INSERT INTO passkey_challenges (id, user_id, \
     session_id, purpose, challenge, state, created_at, expires_at) \
     VALUES ($1, NULL, NULL, 'sign_in', $2, $3, $4, $5)";

/// The state of the live, unspent sign-in ceremony $1 ($2 now).
const LIVE_SIGN_IN_CHALLENGE: &str = "SELECT state FROM passkey_challenges \
     WHERE challenge = $1 AND purpose = 'sign_in' AND session_id IS NULL AND used_at IS NULL \
     AND expires_at > $2";

/// Spends the live sign-in ceremony $1 ($2 now): once, also when two requests race.
const SPEND_SIGN_IN_CHALLENGE: &str = "UPDATE passkey_challenges SET used_at = $2 \
     WHERE challenge = $1 AND purpose = 'sign_in' AND session_id IS NULL AND used_at IS NULL \
     AND expires_at > $2";

/// The credential $1 with its owner and whether their `PASSKEY` method is on.
const PASSKEY_WITH_OWNER: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", p.passkey, EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = u.id \
     AND m.method = 'PASSKEY' AND m.enabled) AS method_enabled \
     FROM passkeys p JOIN users u ON u.id = p.user_id WHERE p.credential_id = $1"
);

/// User $1, unless deleted.
const LIVE_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
);
