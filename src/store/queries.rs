//! The SQL of the store, written once for both backends.
//!
//! Parameters are positional `$N` on both: PostgreSQL's own syntax, and on SQLite a named
//! parameter that the SQLite backend binds to the N-th argument (`sqlite::exec`). Ids bind as
//! UUIDs (native `uuid` on PostgreSQL, a 16-byte BLOB on SQLite), timestamps as `i64` Unix
//! milliseconds, flags as booleans (0/1 on SQLite). Rows are read by column name, so every
//! selected expression that is not a plain column has an alias (`COUNT(*) AS n`).
//!
//! Where the dialects differ, a statement is a [`PerDialect`] (see `store::tx`).

use super::tx::{for_update, PerDialect};

/// Columns of `User`, read from `users u`.
macro_rules! user_columns {
    () => {
        "u.id, u.org_id, u.email, u.first_name, u.last_name, u.org_role, u.validated, \
         u.deleted_at"
    };
}

/// The checks of a live session `s` ($1 session, $2 user, $3 now) of a user `u` who is not
/// deleted: every statement that authenticates a request says them this way.
macro_rules! live_session {
    () => {
        "s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
         AND u.deleted_at IS NULL"
    };
}

/// [`live_session!`], and past its second factor: not a pending session (contract section 8).
/// The statements that do a request's work and check its session in the same round trip say
/// this; when they find no row, the caller asks [`AUTHENTICATE`] why (401 or 403).
macro_rules! full_access_session {
    () => {
        concat!(live_session!(), " AND NOT s.mfa_pending")
    };
}

/// Whether MFA is required for the user `u`: their organization enforces it, an admin's reset
/// asked for it, or they have a method enabled (section 8's `isRequired`).
macro_rules! mfa_required {
    () => {
        "((SELECT o.mfa_enforced FROM organizations o WHERE o.id = u.org_id) OR u.mfa_required \
         OR EXISTS (SELECT 1 FROM mfa_methods mm WHERE mm.user_id = u.id AND mm.enabled))"
    };
}

/// Columns of `Organization`, in this order.
macro_rules! organization_columns {
    () => {
        "id, name, is_business, website, domain, address1, address2, city, zipcode, phone, \
         state, country, repos_disabled, mfa_enforced, deleted_at"
    };
}

// ---- housekeeping ----------------------------------------------------------------------------

pub const INSERT_SETTING: &str =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
pub const SETTING: &str = "SELECT value FROM settings WHERE key = $1";

// ---- the audit trail (store/events.rs) -------------------------------------------------------

/// Binds: org_id, actor_id, workspace_id, context, event, context_id, json_data, created_at.
pub const INSERT_EVENT: &str =
    "INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, context_id, \
     json_data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

// ---- settings objects (store/settings.rs) ---------------------------------------------------

/// The statements of one kind of settings object, by owner id ($1).
pub struct SettingsQueries {
    /// The stored object's text, if any.
    pub read: &'static str,
    /// The same, locking the row on PostgreSQL for the read-modify-write.
    pub lock: PerDialect,
    /// Binds: owner id, settings, updated_at. Inserts nothing when a row exists already (a
    /// concurrent first write committed it).
    pub insert: &'static str,
    /// Binds: owner id, settings, updated_at.
    pub update: &'static str,
}

/// The statements of the settings table `$table`, whose owner column is `$owner`.
macro_rules! settings_queries {
    ($table:literal, $owner:literal) => {
        SettingsQueries {
            read: concat!("SELECT settings FROM ", $table, " WHERE ", $owner, " = $1"),
            lock: for_update!(concat!(
                "SELECT settings FROM ",
                $table,
                " WHERE ",
                $owner,
                " = $1"
            )),
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (",
                $owner,
                ", settings, updated_at) VALUES ($1, $2, $3) ON CONFLICT (",
                $owner,
                ") DO NOTHING"
            ),
            update: concat!(
                "UPDATE ",
                $table,
                " SET settings = $2, updated_at = $3 WHERE ",
                $owner,
                " = $1"
            ),
        }
    };
}

pub const USER_SETTINGS: SettingsQueries = settings_queries!("user_settings", "user_id");
pub const ORG_SETTINGS: SettingsQueries = settings_queries!("org_settings", "org_id");

// ---- identity --------------------------------------------------------------------------------

pub const INSERT_ORGANIZATION: &str =
    "INSERT INTO organizations (id, name, is_business, website, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";

/// Binds: id, org_id, email, email_key, password_hash, first_name, last_name, org_role,
/// validated, created_at.
pub const INSERT_USER: &str =
    "INSERT INTO users (id, org_id, email, email_key, password_hash, first_name, \
     last_name, org_role, validated, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";

/// Binds: id, user_id, created_at, expires_at, device_id, ip_address, mfa_pending (whether the
/// session waits for its second factor).
pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, device_id, \
     ip_address, mfa_pending) VALUES ($1, $2, $3, $3, $4, $5, $6, $7)";

/// Ends user $1's live pending sessions ($2 now) but the $3 newest (ties broken by id), so that
/// a user has at most that many waiting for their second factor. Written for both backends: a
/// LIMIT inside `NOT IN`, not an OFFSET (SQLite has no `LIMIT ALL`, PostgreSQL no `LIMIT -1`).
pub const END_OLDEST_PENDING_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND mfa_pending AND revoked_at IS NULL AND expires_at > $2 \
     AND id NOT IN (SELECT id FROM sessions WHERE user_id = $1 AND mfa_pending \
     AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC LIMIT $3)";

pub const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4)";

pub const INSERT_VERIFICATION: &str =
    "INSERT INTO email_verifications (id, user_id, token_hash, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

/// A user's password hash ($1 user), if they have one.
pub const PASSWORD_HASH: &str = "SELECT password_hash FROM users WHERE id = $1";

/// A user (deleted or not), their password hash and whether MFA is required for them, by
/// e-mail key.
pub const CREDENTIALS_BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", u.password_hash, ",
    mfa_required!(),
    " AS mfa_required FROM users u WHERE u.email_key = $1"
);

/// The user behind a live session ($1 session, $2 user, $3 now), when the session began and
/// where it stands with MFA.
pub const AUTHENTICATE: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", s.created_at AS session_created_at, s.mfa_pending, s.mfa_verified \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE ",
    live_session!()
);

/// Marks a live refresh token of session $3 used ($1 hash, $2 now); returns its session.
/// Only a token of a session that is not revoked, was opened after $4 (the absolute lifetime)
/// and whose user is not deleted is claimed; and, when MFA is required for the user, only of a
/// session that passed it (a pending session never refreshes, and one opened with a password
/// alone stops refreshing once MFA becomes required).
pub const CLAIM_REFRESH_TOKEN: &str = concat!(
    "UPDATE refresh_tokens SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND session_id = $3 \
     AND session_id IN (SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = $3 AND s.revoked_at IS NULL AND s.created_at > $4 AND u.deleted_at IS NULL \
     AND NOT s.mfa_pending AND (s.mfa_verified OR NOT ",
    mfa_required!(),
    ")) RETURNING session_id"
);

/// A refresh token's session, when and whether it was used, and its expiry.
pub const REFRESH_TOKEN_STATE: &str =
    "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = $1";

pub const REVOKE_SESSION: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

/// The user of a session that is not revoked, if the user is not deleted, and when the session
/// was opened.
pub const SESSION_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", s.created_at AS session_created_at FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = $1 AND s.revoked_at IS NULL AND u.deleted_at IS NULL"
);

/// Slides a session after a refresh ($2 now, $3 new expiry).
pub const SLIDE_SESSION: &str =
    "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1";

pub const REVOKE_SESSION_BY_REFRESH_TOKEN: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND id = \
     (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)";

/// The user's live sessions ($1 user, $2 now) with their device's name, newest first: one
/// statement for `GET /token` and `GET /sessions`.
pub const LIST_SESSIONS: &str = "SELECT s.id, s.created_at, s.last_used_at, s.expires_at, \
     s.ip_address, d.device_name FROM sessions s LEFT JOIN devices d ON d.id = s.device_id \
     WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
     ORDER BY s.created_at DESC, s.id DESC";

/// Revokes one of the user's live sessions ($1 session, $2 user, $3 now).
pub const REVOKE_OWN_SESSION: &str = "UPDATE sessions SET revoked_at = $3 \
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3";

pub const USER_BY_VERIFICATION_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM email_verifications v JOIN users u ON u.id = v.user_id \
     WHERE v.id = $1 AND u.deleted_at IS NULL"
);

/// Marks a live verification token used ($1 hash, $2 now); returns its user.
pub const CLAIM_VERIFICATION: &str = "UPDATE email_verifications SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id";

/// The (not deleted) user of a live verification token ($1 hash, $2 now).
pub const LIVE_VERIFICATION_USER: &str =
    "SELECT v.user_id FROM email_verifications v JOIN users u ON u.id = v.user_id \
     WHERE v.token_hash = $1 AND v.used_at IS NULL AND v.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Marks a user validated, setting a password when $4 is not NULL ($2 true, $3 now).
pub const VALIDATE_USER: &str = "UPDATE users SET validated = $2, updated_at = $3, \
     password_hash = COALESCE($4, password_hash) WHERE id = $1 AND deleted_at IS NULL";

/// A user (deleted or not) by e-mail key.
pub const USER_BY_EMAIL_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.email_key = $1"
);

/// A user who is not deleted.
pub const LIVE_USER_BY_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
);

pub const VALIDATE_BY_EMAIL: &str =
    "UPDATE users SET validated = $2, updated_at = $3 WHERE email_key = $1";

// ---- workspaces ------------------------------------------------------------------------------

pub const INSERT_WORKSPACE: &str =
    "INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";

pub const INSERT_ADMIN_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     VALUES ($1, $2, 'ADMIN', $3)";

/// Workspace creation in one statement, so in one round trip (PostgreSQL only; SQLite runs
/// `AUTHENTICATE`, the two inserts and `INSERT_EVENT`, which cost no round trips there): the
/// session's user (`me`, the checks of `AUTHENTICATE`, and of the organization `$8` the token
/// names), the workspace, inserted only when they are validated and their role is at least `$7`,
/// its ADMIN membership and its `created` event (`$9` context, `$10` event, `$11` its
/// json_data). A statement outside a transaction commits or fails as a whole, so a workspace is
/// never without its ADMIN nor its event; a taken name fails the insert with a unique violation
/// (only ever after the checks passed). No row: the session is not live.
pub const CREATE_WORKSPACE_IN_ONE_STATEMENT: PerDialect = PerDialect::postgres_only(concat!(
    "WITH me AS (SELECT u.id, u.org_id, u.org_role, u.validated \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE ",
    full_access_session!(),
    " AND u.org_id = $8), \
     created AS (INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
     SELECT $4, me.org_id, $5, $6, $3, $3 FROM me WHERE me.validated AND me.org_role >= $7 \
     RETURNING id), \
     admin AS (INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     SELECT created.id, me.id, 'ADMIN', $3 FROM created CROSS JOIN me), \
     event AS (INSERT INTO system_events (org_id, actor_id, workspace_id, context, event, \
     context_id, json_data, created_at) \
     SELECT me.org_id, me.id, created.id, $9, $10, created.id, $11, $3 \
     FROM created CROSS JOIN me) \
     SELECT me.org_id, me.validated, me.org_role, (SELECT COUNT(*) FROM created) AS created \
     FROM me"
));

/// A live workspace of the organization with the caller's membership role ($3 user), if any.
pub const WORKSPACE_ACCESS: &str = "SELECT w.id, w.org_id, w.name, m.role FROM workspaces w \
     LEFT JOIN workspace_members m ON m.workspace_id = w.id AND m.user_id = $3 \
     WHERE w.id = $1 AND w.org_id = $2 AND w.deleted_at IS NULL";

pub const RENAME_WORKSPACE: &str =
    "UPDATE workspaces SET name = $3, name_key = $4, updated_at = $5 \
     WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL RETURNING id, org_id, name";

/// The soft delete with its resource check, in one statement so they cannot be separated;
/// returns the deleted workspace.
pub const DELETE_EMPTY_WORKSPACE: &str = "UPDATE workspaces SET deleted_at = $3, updated_at = $3 \
     WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL AND NOT EXISTS \
     (SELECT 1 FROM workspace_resources r WHERE r.workspace_id = workspaces.id) \
     RETURNING id, org_id, name";

pub const COUNT_LIVE_WORKSPACE: &str =
    "SELECT COUNT(*) AS n FROM workspaces WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL";

pub const COUNT_LIVE_USER: &str =
    "SELECT COUNT(*) AS n FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL";

/// A live workspace, locked until commit on PostgreSQL, so that member changes of one workspace
/// run one after the other across every server process.
pub const LOCK_LIVE_WORKSPACE: PerDialect =
    for_update!("SELECT id FROM workspaces WHERE id = $1 AND deleted_at IS NULL");

/// A live workspace of the organization ($2), locked until commit on PostgreSQL: a rename reads
/// the name it replaces.
pub const LOCK_LIVE_WORKSPACE_OF_ORG: PerDialect = for_update!(
    "SELECT id, org_id, name FROM workspaces WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"
);

pub const INSERT_MEMBER: &str =
    "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, user_id) DO NOTHING";

/// The role of an active member ($1 workspace, $2 user).
pub const MEMBER_ROLE: &str =
    "SELECT m.role FROM workspace_members m JOIN users u ON u.id = m.user_id \
     WHERE m.workspace_id = $1 AND m.user_id = $2 AND u.deleted_at IS NULL";

pub const COUNT_ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) AS n FROM workspace_members m JOIN users u ON u.id = m.user_id \
     WHERE m.workspace_id = $1 AND m.role = 'ADMIN' AND u.deleted_at IS NULL";

/// Sets member $2's role in workspace $1 to $3 (the caller has checked the membership exists).
pub const UPDATE_MEMBER_ROLE: &str =
    "UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2";

/// Removes member $2 from workspace $1.
pub const DELETE_MEMBER: &str =
    "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2";

// ---- organizations and password resets -------------------------------------------------------

pub const ORGANIZATION: &str = concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE id = $1 AND deleted_at IS NULL"
);

/// `ORGANIZATION`, locked until commit on PostgreSQL: a read-modify-write of the row.
pub const LOCK_ORGANIZATION_ROW: PerDialect = for_update!(concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE id = $1 AND deleted_at IS NULL"
));

pub const UPDATE_ORGANIZATION: &str =
    "UPDATE organizations SET name = $2, address1 = $3, address2 = $4, \
     city = $5, zipcode = $6, phone = $7, state = $8, country = $9, \
     website = $10, is_business = $11, mfa_enforced = $12, updated_at = $13 WHERE id = $1";

/// Accounts whose address is not ASCII, oldest first: the only ones a change of the e-mail key
/// function can re-key.
pub const NON_ASCII_EMAILS: &str = "SELECT id, email, email_key FROM users \
     WHERE length(email) <> octet_length(email) ORDER BY created_at, id";

/// Binds: id, new key, the key it was read with.
pub const REKEY_EMAIL: &str = "UPDATE users SET email_key = $2 WHERE id = $1 AND email_key = $3";

/// Who a reset e-mail goes to: (user_id, email, first_name, validated) of a live user by e-mail
/// key.
pub const RESET_RECIPIENT: &str = "SELECT id AS user_id, email, first_name, validated FROM users \
     WHERE email_key = $1 AND deleted_at IS NULL";

pub const INSERT_PASSWORD_RESET: &str =
    "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

pub const COUNT_LIVE_RESETS: &str =
    "SELECT COUNT(*) AS n FROM password_resets r JOIN users u ON u.id = r.user_id \
     WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Marks a live reset token used ($1 hash, $2 now); returns its user.
pub const CLAIM_RESET: &str = "UPDATE password_resets SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id";

/// The (not deleted) user of a live reset token ($1 hash, $2 now).
pub const LIVE_RESET_USER: &str =
    "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id \
     WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Sets the password of a live user and marks them validated ($3 true, $4 now).
pub const SET_PASSWORD_VALIDATED: &str =
    "UPDATE users SET password_hash = $2, validated = $3, updated_at = $4 \
     WHERE id = $1 AND deleted_at IS NULL";

/// Spends every unused reset token of a user.
pub const SPEND_RESETS: &str =
    "UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";

pub const REVOKE_USER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";

/// Revokes a user's sessions but one ($3; the nil UUID keeps none).
pub const REVOKE_OTHER_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3";

// ---- signed-in sessions and devices (contract section 9) -------------------------------------

/// Records the device of a login ($1 id if new, $2 user, $3 fingerprint, $4 name, $5 type, $6 os,
/// $7 browser, $8 user agent, $9 address, $10 seen level, $11 now); returns its id, the existing
/// row's when the user has signed in from it before.
pub const UPSERT_DEVICE: &str = "INSERT INTO devices (id, user_id, fingerprint, device_name, \
     device_type, os, browser, user_agent, ip_address, seen_level, created_at, last_seen) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
     ON CONFLICT (user_id, fingerprint) DO UPDATE SET device_name = excluded.device_name, \
     device_type = excluded.device_type, os = excluded.os, browser = excluded.browser, \
     user_agent = excluded.user_agent, ip_address = excluded.ip_address, \
     seen_level = excluded.seen_level, last_seen = excluded.last_seen \
     RETURNING id";

/// Deletes user $1's devices but the $2 last seen (ties broken by id), never $3 (the device of
/// the login being recorded). Their sessions live on, pointing at no device (`ON DELETE SET
/// NULL`).
pub const TRIM_DEVICES: &str = "DELETE FROM devices WHERE user_id = $1 AND id <> $3 \
     AND id NOT IN (SELECT id FROM devices WHERE user_id = $1 \
     ORDER BY last_seen DESC, id DESC LIMIT $2)";

/// Records activity on one of the user's live sessions ($1 session, $2 user, $3 now) and slides
/// its expiry to $5 (now + the refresh token lifetime), never past $4 (the absolute lifetime)
/// after its login; returns the new expiry. A pending session is not slid: it ends 15 minutes
/// after its login unless it passes MFA.
pub const HEARTBEAT_SESSION: &str = "UPDATE sessions SET last_used_at = $3, \
     expires_at = CASE WHEN created_at + $4 < $5 THEN created_at + $4 ELSE $5 END \
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 \
     AND NOT mfa_pending RETURNING expires_at";

/// The session's unused refresh tokens follow its expiry ($2), so it can refresh until then.
pub const SLIDE_REFRESH_TOKENS: &str =
    "UPDATE refresh_tokens SET expires_at = $2 WHERE session_id = $1 AND used_at IS NULL";

/// The columns of a device (`d`), for `store::devices`.
macro_rules! device_columns {
    () => {
        "d.id, d.fingerprint, d.device_name, d.device_type, d.os, d.browser, d.user_agent, \
         d.ip_address, d.seen_level, d.trusted_until, d.created_at, d.last_seen"
    };
}

/// The user's ($1) devices, last seen first.
pub const LIST_DEVICES: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices d WHERE d.user_id = $1 ORDER BY d.last_seen DESC, d.id DESC"
);

/// One of the user's devices ($1 device, $2 user), one row per live session on it ($3 now),
/// newest first (one row with null session columns when it has none).
pub const DEVICE_WITH_SESSIONS: &str = concat!(
    "SELECT ",
    device_columns!(),
    ", s.id AS session_id, s.created_at AS session_created_at, \
     s.last_used_at AS session_last_used_at, s.expires_at AS session_expires_at, \
     s.ip_address AS session_ip_address FROM devices d LEFT JOIN sessions s \
     ON s.device_id = d.id AND s.revoked_at IS NULL AND s.expires_at > $3 \
     WHERE d.id = $1 AND d.user_id = $2 ORDER BY s.created_at DESC, s.id DESC"
);

/// Trusts the user's ($1) device with fingerprint $2 until $3; returns its id.
pub const TRUST_DEVICE: &str = "UPDATE devices SET trusted_until = $3 \
     WHERE user_id = $1 AND fingerprint = $2 RETURNING id";

/// Ends the trust in one of the user's devices ($1 device, $2 user).
pub const UNTRUST_DEVICE: &str =
    "UPDATE devices SET trusted_until = NULL WHERE id = $1 AND user_id = $2";

/// Revokes the user's live sessions on a device ($1 device, $2 user, $3 now).
pub const REVOKE_DEVICE_SESSIONS: &str = "UPDATE sessions SET revoked_at = $3 \
     WHERE device_id = $1 AND user_id = $2 AND revoked_at IS NULL";

/// Deletes one of the user's devices ($1 device, $2 user); its sessions keep no link to it.
pub const DELETE_DEVICE: &str = "DELETE FROM devices WHERE id = $1 AND user_id = $2";

// ---- organization users ----------------------------------------------------------------------

pub const LIST_ORG_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.org_id = $1 ORDER BY u.created_at, u.id"
);

/// A user of the organization, deleted or not.
pub const ORG_USER: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 AND u.org_id = $2"
);

pub const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");

/// PostgreSQL only: locks the organization row until commit, so changes of one organization's
/// users run one after the other across every server process. (On SQLite the writer holds the
/// database's write lock already.)
pub const LOCK_ORGANIZATION: PerDialect =
    PerDialect::postgres_only("SELECT id FROM organizations WHERE id = $1 FOR UPDATE");

/// The role of a live user of the organization ($1 user, $2 organization).
pub const ACTOR_ROLE: &str =
    "SELECT org_role FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL";

pub const COUNT_ACTIVE_WITH_ROLE: &str =
    "SELECT COUNT(*) AS n FROM users WHERE org_id = $1 AND org_role = $2 AND deleted_at IS NULL";

/// Partial update of a user: NULL leaves a field as it is ($6 now).
pub const UPDATE_USER: &str = "UPDATE users SET first_name = COALESCE($2, first_name), \
     last_name = COALESCE($3, last_name), org_role = COALESCE($4, org_role), \
     password_hash = COALESCE($5, password_hash), updated_at = $6 WHERE id = $1";

pub const SOFT_DELETE_USER: &str =
    "UPDATE users SET deleted_at = $2, updated_at = $2 WHERE id = $1";

pub const ACTIVATE_USER: &str = "UPDATE users SET deleted_at = NULL, updated_at = $2 WHERE id = $1";

// ---- multi-factor authentication (store/mfa.rs) ----------------------------------------------

/// The user $1 (not deleted) with their organization's enforcement (and whether it is a
/// business, for the profile), the admin's requirement and one row per method they have (NULL
/// method columns when none).
pub const MFA_STATE: &str = "SELECT o.mfa_enforced, o.is_business, u.mfa_required, m.method, \
     m.configured, \
     m.enabled, m.is_primary FROM users u JOIN organizations o ON o.id = u.org_id \
     LEFT JOIN mfa_methods m ON m.user_id = u.id WHERE u.id = $1 AND u.deleted_at IS NULL \
     ORDER BY m.method";

/// Serialises the MFA changes and verifications of user $1 (the lockout count and the checks
/// before each write hold until commit); on SQLite the one writer already does.
pub const LOCK_MFA_USER: PerDialect = for_update!("SELECT id FROM users WHERE id = $1");

/// The sealed TOTP secrets of user $1: the active one and one waiting for `verify-setup`.
pub const TOTP_SECRETS: &str = "SELECT secret, pending_secret FROM mfa_methods \
     WHERE user_id = $1 AND method = 'GOOGLE_AUTH'";

/// Creates the method row $2 of user $1 ($3 now) if there is none, off and not configured.
pub const INSERT_MFA_METHOD: &str = "INSERT INTO mfa_methods (user_id, method, created_at, \
     updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (user_id, method) DO NOTHING";

/// A new pending TOTP secret ($2, sealed) for user $1, replacing any earlier pending one.
pub const SET_PENDING_TOTP_SECRET: &str = "UPDATE mfa_methods SET pending_secret = $2, \
     updated_at = $3 WHERE user_id = $1 AND method = 'GOOGLE_AUTH'";

pub const DELETE_PENDING_BACKUP_CODES: &str =
    "DELETE FROM mfa_backup_codes WHERE user_id = $1 AND pending";

pub const INSERT_PENDING_BACKUP_CODE: &str =
    "INSERT INTO mfa_backup_codes (user_id, code_hash, pending) VALUES ($1, $2, TRUE)";

/// `verify-setup`: the pending secret $2 (still the one the code was checked against) becomes
/// the active one, configured and enabled, its code's step $3 spent.
pub const ACTIVATE_TOTP_SECRET: &str = "UPDATE mfa_methods SET secret = pending_secret, \
     pending_secret = NULL, configured = TRUE, enabled = TRUE, last_step = $3, updated_at = $4 \
     WHERE user_id = $1 AND method = 'GOOGLE_AUTH' AND pending_secret = $2";

/// The backup codes of a completed setup replace the earlier set.
pub const DELETE_ACTIVE_BACKUP_CODES: &str =
    "DELETE FROM mfa_backup_codes WHERE user_id = $1 AND NOT pending";
pub const ACTIVATE_BACKUP_CODES: &str =
    "UPDATE mfa_backup_codes SET pending = FALSE WHERE user_id = $1 AND pending";

/// Switches the configured method $2 of user $1 on ($3 true) or off; no row when it is not
/// configured. Switching off also drops its primary mark.
pub const SET_METHOD_ENABLED: &str = "UPDATE mfa_methods SET enabled = $3, \
     is_primary = (is_primary AND $3), updated_at = $4 \
     WHERE user_id = $1 AND method = $2 AND configured";

/// Makes the method $2 of user $1 primary and any other not.
pub const CLEAR_PRIMARY: &str = "UPDATE mfa_methods SET is_primary = FALSE, updated_at = $3 \
     WHERE user_id = $1 AND is_primary AND method <> $2";
pub const SET_PRIMARY: &str = "UPDATE mfa_methods SET is_primary = TRUE, updated_at = $3 \
     WHERE user_id = $1 AND method = $2 AND enabled";

/// Gives user $1 a primary method when they have enabled ones but none is primary: the first
/// enabled one by name ($2 now).
pub const ENSURE_PRIMARY: &str = "UPDATE mfa_methods SET is_primary = TRUE, updated_at = $2 \
     WHERE user_id = $1 AND method = (SELECT MIN(e.method) FROM mfa_methods e \
     WHERE e.user_id = $1 AND e.enabled) \
     AND NOT EXISTS (SELECT 1 FROM mfa_methods p WHERE p.user_id = $1 AND p.is_primary)";

/// A reset: everything of user $1's second factors goes.
pub const RESET_MFA_ROWS: [&str; 4] = [
    "DELETE FROM mfa_backup_codes WHERE user_id = $1",
    "DELETE FROM mfa_email_codes WHERE user_id = $1",
    "DELETE FROM mfa_link_tokens WHERE user_id = $1",
    "DELETE FROM mfa_methods WHERE user_id = $1",
];

/// Whether an admin requires MFA of user $1 ($2).
pub const SET_MFA_REQUIRED: &str = "UPDATE users SET mfa_required = $2 WHERE id = $1";

/// A magic-link token ($1 hash) of user $2 for `purpose` $3, bound to session $4 (login links).
pub const INSERT_LINK_TOKEN: &str = "INSERT INTO mfa_link_tokens (token_hash, user_id, purpose, \
     session_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Spends a live activation token ($1 hash, $2 now); returns its user and the session that
/// asked for it.
pub const CLAIM_ACTIVATION_TOKEN: &str = "UPDATE mfa_link_tokens SET used_at = $2 \
     WHERE token_hash = $1 AND purpose = 'activate' AND used_at IS NULL AND expires_at > $2 \
     RETURNING user_id, session_id";
pub const LIVE_USER_ORG: &str =
    "SELECT org_id, org_role FROM users WHERE id = $1 AND deleted_at IS NULL";

/// The magic-link method of user $1 becomes configured and enabled ($2 now).
pub const ENABLE_MAGIC_LINK: &str = "UPDATE mfa_methods SET configured = TRUE, enabled = TRUE, \
     updated_at = $2 WHERE user_id = $1 AND method = 'MAGIC_LINK'";

/// Failed verifications of user $1 after $2: how many and the newest, from every client and
/// from client $3.
pub const RECENT_MFA_FAILURES: &str = "SELECT COUNT(*) AS n, MAX(failed_at) AS newest, \
     COUNT(CASE WHEN client = $3 THEN 1 END) AS n_client, \
     MAX(CASE WHEN client = $3 THEN failed_at END) AS newest_client \
     FROM mfa_failures WHERE user_id = $1 AND failed_at > $2";
/// A failed verification of user $1 from client $3 ($2 now).
pub const INSERT_MFA_FAILURE: &str =
    "INSERT INTO mfa_failures (user_id, failed_at, client) VALUES ($1, $2, $3)";
/// A right factor from client $2 forgets that client's failures for user $1 (not the others':
/// a password holder elsewhere must not get new tries from the owner's success).
pub const CLEAR_MFA_FAILURES: &str = "DELETE FROM mfa_failures WHERE user_id = $1 AND client = $2";

/// The code e-mailed for an enrolment from pending session $1 of user $2: its hash $3, made at
/// $4, live until $5; a new setup replaces the session's earlier code.
pub const UPSERT_EMAIL_CODE: &str = "INSERT INTO mfa_email_codes (session_id, user_id, \
     code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, \
     code_hash = excluded.code_hash, created_at = excluded.created_at, \
     expires_at = excluded.expires_at, used_at = NULL";

/// Spends the live e-mailed code ($3 hash) of session $1 of user $2 ($4 now): once.
pub const SPEND_EMAIL_CODE: &str = "UPDATE mfa_email_codes SET used_at = $4 \
     WHERE session_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL \
     AND expires_at > $4";

/// When a user enables their first method: their sessions that never passed MFA end, but the
/// one making the change ($3; the nil UUID keeps none).
pub const REVOKE_UNVERIFIED_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2 \
     WHERE user_id = $1 AND revoked_at IS NULL AND NOT mfa_verified AND id <> $3";

/// Spends the TOTP step $2 of user $1 ($3 now): only a step later than the last one spent, so a
/// code works once, also when two requests race (one update wins, the other matches no row).
pub const SPEND_TOTP_STEP: &str = "UPDATE mfa_methods SET last_step = $2, updated_at = $3 \
     WHERE user_id = $1 AND method = 'GOOGLE_AUTH' AND enabled AND last_step < $2";

/// Spends an unused backup code ($2 hash) of user $1 ($3 now), while TOTP is on.
pub const SPEND_BACKUP_CODE: &str = "UPDATE mfa_backup_codes SET used_at = $3 \
     WHERE user_id = $1 AND code_hash = $2 AND NOT pending AND used_at IS NULL \
     AND EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = $1 \
     AND m.method = 'GOOGLE_AUTH' AND m.enabled)";

/// Spends a live login link ($2 hash) of user $1 sent for session $4 ($3 now), while the
/// method is on.
pub const SPEND_LOGIN_LINK: &str = "UPDATE mfa_link_tokens SET used_at = $3 \
     WHERE token_hash = $2 AND user_id = $1 AND purpose = 'login' AND session_id = $4 \
     AND used_at IS NULL AND expires_at > $3 \
     AND EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = $1 \
     AND m.method = 'MAGIC_LINK' AND m.enabled)";

/// Session $1 (of user $2, live at $3) passed its second factor. A pending session, which ends
/// 15 minutes after its login, takes a verified session's expiry $4; one opened before MFA was
/// required keeps its own. (Every expression of a SET reads the row as it was, on both
/// backends: `mfa_pending` in the CASE is the value before this update.)
pub const VERIFY_SESSION: &str = "UPDATE sessions SET mfa_pending = FALSE, mfa_verified = TRUE, \
     expires_at = CASE WHEN mfa_pending THEN $4 ELSE expires_at END \
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3";

/// The refresh tokens of session $1: a verified session gets a fresh one.
pub const DELETE_SESSION_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE session_id = $1";

// ---- clean-up (store/cleanup.rs) -------------------------------------------------------------

/// `batch_delete!(table, key, alias, select)`: deletes the rows of `table` whose `key` is among
/// the first `$2` rows `select` picks (its alias `alias`). On PostgreSQL the picked rows are
/// locked and rows another instance's clean-up holds are skipped (`SKIP LOCKED`), so instances
/// running at once delete different batches instead of queueing behind one another.
macro_rules! batch_delete {
    ($table:literal, $key:literal, $alias:literal, $select:expr) => {
        PerDialect::new(
            concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $key,
                " IN (",
                $select,
                " LIMIT $2)"
            ),
            concat!(
                "DELETE FROM ",
                $table,
                " WHERE ",
                $key,
                " IN (",
                $select,
                " LIMIT $2 FOR UPDATE OF ",
                $alias,
                " SKIP LOCKED)"
            ),
        )
    };
}

/// Refresh tokens that expired before $1.
pub const DELETE_EXPIRED_REFRESH_TOKENS: PerDialect = batch_delete!(
    "refresh_tokens",
    "token_hash",
    "t",
    "SELECT t.token_hash FROM refresh_tokens t WHERE t.expires_at < $1"
);

/// The refresh tokens of sessions revoked before $1 (those of expired sessions expired too).
pub const DELETE_REVOKED_SESSIONS_REFRESH_TOKENS: PerDialect = batch_delete!(
    "refresh_tokens",
    "token_hash",
    "t",
    "SELECT t.token_hash FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id \
     WHERE s.revoked_at < $1"
);

/// Sessions that expired or were revoked before $1, once their refresh tokens are gone.
pub const DELETE_ENDED_SESSIONS: PerDialect = batch_delete!(
    "sessions",
    "id",
    "s",
    "SELECT s.id FROM sessions s WHERE (s.expires_at < $1 OR s.revoked_at < $1) \
     AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id)"
);

/// Verifications that expired before $1, unless their user still has to verify (a resend names
/// any earlier verification; an unverified account keeps them until it is itself deleted).
pub const DELETE_EXPIRED_VERIFICATIONS: PerDialect = batch_delete!(
    "email_verifications",
    "id",
    "v",
    "SELECT v.id FROM email_verifications v WHERE v.expires_at < $1 \
     AND (v.used_at IS NOT NULL \
     OR EXISTS (SELECT 1 FROM users u WHERE u.id = v.user_id AND u.validated))"
);

/// Password reset tokens that expired before $1.
pub const DELETE_EXPIRED_RESETS: PerDialect = batch_delete!(
    "password_resets",
    "id",
    "r",
    "SELECT r.id FROM password_resets r WHERE r.expires_at < $1"
);

/// Magic-link tokens that expired before $1.
pub const DELETE_EXPIRED_LINK_TOKENS: PerDialect = batch_delete!(
    "mfa_link_tokens",
    "token_hash",
    "l",
    "SELECT l.token_hash FROM mfa_link_tokens l WHERE l.expires_at < $1"
);

/// E-mailed enrolment codes that expired before $1.
pub const DELETE_EXPIRED_EMAIL_CODES: PerDialect = batch_delete!(
    "mfa_email_codes",
    "session_id",
    "c",
    "SELECT c.session_id FROM mfa_email_codes c WHERE c.expires_at < $1"
);

/// Failed MFA verifications made before $1 (the clean-up's grace is longer than the lockout
/// window, so these no longer count).
pub const DELETE_OLD_MFA_FAILURES: PerDialect = batch_delete!(
    "mfa_failures",
    "id",
    "f",
    "SELECT f.id FROM mfa_failures f WHERE f.failed_at < $1"
);

/// An abandoned account (`u`, $3 its role OWNER): registered before $1 and never verified, alone
/// in its organization (no other user row, deleted or not), and with no verification or reset
/// token still live at $4 (a resend gives it another day). Its organization then holds no
/// workspace: creating one takes a verified user of the organization. (Should one exist anyway,
/// its foreign key refuses the organization's delete and that account's transaction rolls back.)
/// No workspace check here: it would need an index on `workspaces (org_id)`, one more write on
/// every workspace created, for a case that cannot arise.
macro_rules! abandoned_account {
    () => {
        "NOT u.validated AND u.created_at < $1 AND u.org_role = $3 \
         AND NOT EXISTS (SELECT 1 FROM users o WHERE o.org_id = u.org_id AND o.id <> u.id) \
         AND NOT EXISTS (SELECT 1 FROM email_verifications v \
         WHERE v.user_id = u.id AND v.expires_at > $4) \
         AND NOT EXISTS (SELECT 1 FROM password_resets r \
         WHERE r.user_id = u.id AND r.expires_at > $4)"
    };
}

/// Up to $2 abandoned accounts: (user_id, org_id).
pub const ABANDONED_ACCOUNTS: &str = concat!(
    "SELECT u.id AS user_id, u.org_id FROM users u WHERE ",
    abandoned_account!(),
    " LIMIT $2"
);

/// The account $2 if it is (still) abandoned; on PostgreSQL locked, or skipped when another
/// instance holds it.
pub const LOCK_ABANDONED_ACCOUNT: PerDialect = PerDialect::new(
    concat!(
        "SELECT u.id FROM users u WHERE u.id = $2 AND ",
        abandoned_account!()
    ),
    concat!(
        "SELECT u.id FROM users u WHERE u.id = $2 AND ",
        abandoned_account!(),
        " FOR UPDATE OF u SKIP LOCKED"
    ),
);

/// What an account owns, each deleted by user id ($1), children first.
pub const DELETE_ACCOUNT_ROWS: [&str; 12] = [
    "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
    "DELETE FROM mfa_failures WHERE user_id = $1",
    "DELETE FROM mfa_email_codes WHERE user_id = $1",
    "DELETE FROM mfa_link_tokens WHERE user_id = $1",
    "DELETE FROM mfa_backup_codes WHERE user_id = $1",
    "DELETE FROM mfa_methods WHERE user_id = $1",
    "DELETE FROM sessions WHERE user_id = $1",
    "DELETE FROM devices WHERE user_id = $1",
    "DELETE FROM email_verifications WHERE user_id = $1",
    "DELETE FROM password_resets WHERE user_id = $1",
    "DELETE FROM workspace_members WHERE user_id = $1",
    "DELETE FROM users WHERE id = $1",
];

/// The organization $1, once it has no user left.
pub const DELETE_EMPTY_ORGANIZATION: &str = "DELETE FROM organizations WHERE id = $1 \
     AND NOT EXISTS (SELECT 1 FROM users WHERE org_id = $1)";

// ---- system events ---------------------------------------------------------------------------
//
// The event query is put together from the fragments below, only the filters given (so every
// shape is a plain indexed statement: no `$n IS NULL OR ...`, which defeats PostgreSQL's
// generic plans). `$?` stands for the fragment's own parameter, numbered when it is added
// (`store::system_events`).

/// Every event query starts from the caller's organization (never another's).
pub const EVENTS_IN_ORG: &str = "e.org_id = $?";
/// The member scope: the events the caller caused, and those of the workspaces they are a
/// member of now. An `IN` over a union rather than an `OR`, so each half reads its own index
/// (actor, workspace) instead of the whole organization's window being filtered row by row.
pub const EVENTS_OF_MEMBER: &str = "e.id IN (\
     SELECT a.id FROM system_events a WHERE a.actor_id = $? \
     UNION ALL \
     SELECT w.id FROM workspace_members m JOIN system_events w ON w.workspace_id = m.workspace_id \
     WHERE m.user_id = $?)";
pub const EVENTS_FROM: &str = "e.created_at >= $?";
pub const EVENTS_TO: &str = "e.created_at <= $?";
pub const EVENTS_CONTEXT_ID: &str = "e.context_id = $?";
pub const EVENTS_CONTEXT: &str = "e.context = $?";
pub const EVENTS_KIND: &str = "e.event = $?";
pub const EVENTS_ACTOR: &str = "e.actor_id = $?";
pub const EVENTS_WORKSPACE: &str = "e.workspace_id = $?";
pub const EVENTS_UNREAD: &str =
    "NOT EXISTS (SELECT 1 FROM system_event_reads r WHERE r.user_id = $? AND r.event_id = e.id)";

/// The columns of `SystemEvent`, read from `system_events e LEFT JOIN users u` (an event outlives
/// its actor's account).
macro_rules! event_columns {
    () => {
        "e.id, e.created_at, e.context_id, e.context, e.event, e.org_id, e.actor_id, \
         e.workspace_id, e.json_data, COALESCE(u.first_name, '') AS first_name, \
         COALESCE(u.last_name, '') AS last_name, COALESCE(u.email, '') AS email"
    };
}

/// `SELECT` of a page: then `WHERE <conditions>`, [`EVENTS_PAGE_TAIL`].
pub const EVENTS_PAGE_HEAD: &str = concat!(
    "SELECT ",
    event_columns!(),
    ", NOT EXISTS (SELECT 1 FROM system_event_reads r WHERE r.user_id = $1 AND r.event_id = e.id) \
     AS unread FROM system_events e LEFT JOIN users u ON u.id = e.actor_id WHERE "
);
/// Newest first; the page's limit and offset are the last two parameters.
pub const EVENTS_PAGE_ORDER: &str = " ORDER BY e.created_at DESC, e.id DESC";
pub const EVENTS_COUNT_HEAD: &str = "SELECT COUNT(*) AS n FROM system_events e WHERE ";

/// The export: events after id $1, oldest first, $2 at a time (keyset by id), optionally of one
/// organization ($3) and from a time on ($4).
pub const EXPORT_EVENTS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM system_events e LEFT JOIN users u ON u.id = e.actor_id \
     WHERE e.id > $1 AND ($3 IS NULL OR e.org_id = $3) AND ($4 IS NULL OR e.created_at >= $4) \
     ORDER BY e.id LIMIT $2"
);

/// `mark_events!(head, ids, tail)`: a mark statement over the ids of the JSON array $2, in one
/// statement (up to 1,000 ids): SQLite reads the array with `json_each`, PostgreSQL with
/// `jsonb_array_elements_text`; the rest is the same text.
macro_rules! mark_events {
    ($head:literal, $tail:literal) => {
        PerDialect::new(
            concat!($head, "SELECT value FROM json_each($2)", $tail),
            concat!(
                $head,
                "SELECT t.value::bigint FROM jsonb_array_elements_text($2::jsonb) AS t(value)",
                $tail
            ),
        )
    };
}

/// Marks the events $2 read for user $1, those they may see: of their organization ($3) and,
/// unless $4 (organization-wide scope), caused by them or of one of their workspaces.
pub const MARK_EVENTS_READ: PerDialect = mark_events!(
    "INSERT INTO system_event_reads (user_id, event_id) \
     SELECT $1, e.id FROM system_events e WHERE e.id IN (",
    ") AND e.org_id = $3 AND ($4 OR e.actor_id = $1 OR EXISTS (SELECT 1 FROM workspace_members m \
     WHERE m.user_id = $1 AND m.workspace_id = e.workspace_id)) \
     ON CONFLICT (user_id, event_id) DO NOTHING"
);
/// Unread is the absence of the caller's row: deleting it needs no visibility check (a user only
/// ever has rows for events they could see).
pub const MARK_EVENTS_UNREAD: PerDialect = mark_events!(
    "DELETE FROM system_event_reads WHERE user_id = $1 AND event_id IN (",
    ")"
);

/// Retention: deletes, among the oldest $2 events by id, those created before $1. By id, not
/// through an index on `created_at` (which every write would pay for): ids increase with time,
/// so the oldest ids are the old events, and the batch stops at the first young ones instead of
/// searching the table for old rows that are not there. On PostgreSQL the batch's rows are
/// locked and those another instance's batch holds are skipped.
pub const DELETE_OLD_EVENTS: PerDialect = PerDialect::new(
    "DELETE FROM system_events WHERE id IN (SELECT b.id FROM \
     (SELECT id, created_at FROM system_events ORDER BY id LIMIT $2) b WHERE b.created_at < $1)",
    "DELETE FROM system_events WHERE id IN (SELECT b.id FROM \
     (SELECT id, created_at FROM system_events ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) b \
     WHERE b.created_at < $1)",
);

/// The events of the organization $1, once it is gone: they name an organization, a user and
/// their changes that no longer exist (their read marks go with them, ON DELETE CASCADE).
pub const DELETE_GONE_ORGANIZATION_EVENTS: &str = "DELETE FROM system_events WHERE org_id = $1 \
     AND NOT EXISTS (SELECT 1 FROM organizations WHERE id = $1)";
