-- MFA hardening after the second review (contract section 8). Mirrors migrations/postgres.

-- The lockout counts failures per user and per client address (5 from one client lock that
-- client out for that user; 20 from all clients lock the user). '' when the address is unknown.
-- Failures recorded before this migration count against the unknown client.
ALTER TABLE mfa_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';

-- The code e-mailed to the account when a pending session of a user with no method enabled
-- starts enrolling: a password alone must not reach a verified session. One per session (a new
-- setup replaces it), stored hashed, 10 minutes, single use (`used_at`).
CREATE TABLE mfa_email_codes (
    session_id BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users (id),
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX mfa_email_codes_user ON mfa_email_codes (user_id);
-- For the clean-up, which deletes expired codes.
CREATE INDEX mfa_email_codes_expires ON mfa_email_codes (expires_at);
