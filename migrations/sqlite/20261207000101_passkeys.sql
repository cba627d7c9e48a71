-- Passkeys (WebAuthn, contract section 14). Mirrors migrations/postgres.

-- `PASSKEY` becomes a method of `mfa_methods`: SQLite cannot change a CHECK constraint, so the
-- table is rebuilt with the same columns and rows (no table references it).
CREATE TABLE mfa_methods_new (
    user_id        BLOB NOT NULL REFERENCES users (id),
    method         TEXT NOT NULL CHECK (method IN ('GOOGLE_AUTH', 'MAGIC_LINK', 'PASSKEY')),
    configured     INTEGER NOT NULL DEFAULT 0,
    enabled        INTEGER NOT NULL DEFAULT 0,
    is_primary     INTEGER NOT NULL DEFAULT 0,
    secret         BLOB,
    pending_secret BLOB,
    last_step      INTEGER NOT NULL DEFAULT -1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (user_id, method),
    CHECK (configured OR NOT enabled)
);
INSERT INTO mfa_methods_new (user_id, method, configured, enabled, is_primary, secret,
    pending_secret, last_step, created_at, updated_at)
    SELECT user_id, method, configured, enabled, is_primary, secret, pending_secret, last_step,
    created_at, updated_at FROM mfa_methods;
DROP TABLE mfa_methods;
ALTER TABLE mfa_methods_new RENAME TO mfa_methods;
CREATE UNIQUE INDEX mfa_methods_one_primary ON mfa_methods (user_id) WHERE is_primary;

-- A user's WebAuthn credentials. `passkey`: webauthn-rs's `Passkey` as JSON (the credential id,
-- the public key, the counter and flags: nothing secret); `counter` and `backed_up` are copied
-- out of it so that a sign-in spends the counter with one conditional update (a counter that
-- does not increase is a possible clone), and the list shows the backup state. A credential id
-- belongs to one account only.
CREATE TABLE passkeys (
    id            BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users (id),
    credential_id BLOB NOT NULL UNIQUE,
    passkey       TEXT NOT NULL,
    name          TEXT NOT NULL,
    counter       INTEGER NOT NULL,
    backed_up     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- WebAuthn ceremonies under way: the challenge (base64url) and webauthn-rs's state, kept here
-- and not in a process's memory so that any instance can finish what another started. 5
-- minutes, single use (`used_at`, set by one conditional update), bound to the session that
-- asked; one per session and purpose (a new one replaces it). `user_id` and `session_id` are
-- NULL only for a sign-in without password (`sign_in`), bound to its options call instead.
CREATE TABLE passkey_challenges (
    id         BLOB PRIMARY KEY,
    user_id    BLOB REFERENCES users (id),
    session_id BLOB,
    purpose    TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate', 'sign_in')),
    challenge  TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    UNIQUE (session_id, purpose)
);
CREATE INDEX passkey_challenges_user ON passkey_challenges (user_id);
-- For the clean-up, which deletes expired challenges.
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
