//! The SQL several store modules share: the fragments their statements are built from, and the
//! few statements more than one of them runs. Every other statement stands in the module that
//! runs it, at its end.
//!
//! All of it is written once for both backends. Parameters are positional `$N` on both:
//! PostgreSQL's own syntax, and on SQLite a named parameter that the SQLite backend binds to the
//! N-th argument (`sqlite::exec`). Ids bind as UUIDs (native `uuid` on PostgreSQL, a 16-byte
//! BLOB on SQLite), timestamps as `i64` Unix milliseconds, flags as booleans (0/1 on SQLite).
//! Rows are read by column name, so every selected expression that is not a plain column has an
//! alias (`COUNT(*) AS n`). Where the dialects differ, a statement is a
//! [`super::tx::PerDialect`] (see `store::tx`).
//!
//! The fragments are macros, as `concat!` takes only literals; each is exported by path
//! (`pub(crate) use`) and imported where it is used, like any other item.

use super::tx::{for_update, PerDialect};

/// Columns of `User`, read from `users u`.
macro_rules! user_columns {
    () => {
        "u.id, u.org_id, u.email, u.first_name, u.last_name, u.org_role, u.validated, \
         u.deleted_at, u.instance_admin"
    };
}
pub(crate) use user_columns;

/// The checks of a live session `s` ($1 session, $2 user, $3 now) of a user `u` who is not
/// deleted: every statement that authenticates a request says them this way.
macro_rules! live_session {
    () => {
        "s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
         AND u.deleted_at IS NULL"
    };
}
pub(crate) use live_session;

/// [`live_session!`], and past its second factor: not a pending session (contract section 8).
/// The statements that do a request's work and check its session in the same round trip say
/// this; when they find no row, the caller asks [`AUTHENTICATE`] why (401 or 403).
macro_rules! full_access_session {
    () => {
        concat!(
            $crate::store::sql::live_session!(),
            " AND NOT s.mfa_pending"
        )
    };
}
pub(crate) use full_access_session;

/// Whether MFA is required for the user `u`: their organization enforces it, an admin's reset
/// asked for it, or they have a method enabled (section 8's `isRequired`).
macro_rules! mfa_required {
    () => {
        "((SELECT o.mfa_enforced FROM organizations o WHERE o.id = u.org_id) OR u.mfa_required \
         OR EXISTS (SELECT 1 FROM mfa_methods mm WHERE mm.user_id = u.id AND mm.enabled))"
    };
}
pub(crate) use mfa_required;

/// A refresh token of a session: its first (a login) or its next (a rotation, or a session that
/// has just passed its second factor).
pub(super) const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4)";

/// The user behind a live session ($1 session, $2 user, $3 now), when the session began and
/// where it stands with MFA.
pub(super) const AUTHENTICATE: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", s.created_at AS session_created_at, s.mfa_pending, s.mfa_verified \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE ",
    live_session!()
);

/// Whether workspace $1 of organization $2 is live (for a refusal's reason).
pub(super) const COUNT_LIVE_WORKSPACE: &str =
    "SELECT COUNT(*) AS n FROM workspaces WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL";

/// Ends every live session of user $1 ($2 now): whoever held one is out at once.
pub(super) const REVOKE_USER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";

/// Spends every unused verification token of user $1 ($2 now): once the address is proved (a
/// verification, a password reset, a provider's verified e-mail), no other verification e-mail
/// of the account may be used, as `verify-email` with a password would set a new one.
pub(super) const SPEND_VERIFICATIONS: &str =
    "UPDATE email_verifications SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";

/// Serialises the MFA changes and verifications of user $1 (the lockout count and the checks
/// before each write hold until commit); on SQLite the one writer already does.
pub(super) const LOCK_MFA_USER: PerDialect = for_update!("SELECT id FROM users WHERE id = $1");
