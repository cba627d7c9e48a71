-- Passkeys (WebAuthn, contract section 14). Mirrors migrations/sqlite.

-- `PASSKEY` becomes a method of `mfa_methods`.
ALTER TABLE mfa_methods DROP CONSTRAINT mfa_methods_method_check;
ALTER TABLE mfa_methods ADD CONSTRAINT mfa_methods_method_check
    CHECK (method IN ('GOOGLE_AUTH', 'MAGIC_LINK', 'PASSKEY'));

-- A user's WebAuthn credentials. `passkey`: webauthn-rs's `Passkey` as JSON (the credential id,
-- the public key, the counter and flags: nothing secret); `counter` and `backed_up` are copied
-- out of it so that a sign-in spends the counter with one conditional update (a counter that
-- does not increase is a possible clone), and the list shows the backup state. A credential id
-- belongs to one account only.
CREATE TABLE passkeys (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id),
    credential_id BYTEA NOT NULL UNIQUE,
    passkey       TEXT NOT NULL,
    name          TEXT NOT NULL,
    counter       BIGINT NOT NULL,
    backed_up     BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- WebAuthn ceremonies under way: the challenge (base64url) and webauthn-rs's state, kept here
-- and not in a process's memory so that any instance can finish what another started. 5
-- minutes, single use (`used_at`, set by one conditional update), bound to the session that
-- asked; one per session and purpose (a new one replaces it). `user_id` and `session_id` are
-- NULL only for a sign-in without password (`sign_in`), bound to its options call instead.
CREATE TABLE passkey_challenges (
    id         UUID PRIMARY KEY,
    user_id    UUID REFERENCES users (id),
    session_id UUID,
    purpose    TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate', 'sign_in')),
    challenge  TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    UNIQUE (session_id, purpose)
);
CREATE INDEX passkey_challenges_user ON passkey_challenges (user_id);
-- For the clean-up, which deletes expired challenges.
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
