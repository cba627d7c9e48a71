-- Initial schema (SQLite). Mirrors migrations/postgres; keep the two in step.
-- Ids are UUIDv7 stored as 16-byte BLOBs (sqlx's encoding of uuid::Uuid on SQLite).
-- Timestamps are Unix milliseconds (INTEGER) on both backends, so SQL and Rust types are shared.
-- *_key columns hold the normalised form used for case-insensitive uniqueness; they are computed
-- in Rust so both backends compare exactly the same way (SQLite's lower() is ASCII-only).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id             BLOB PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    is_business    INTEGER NOT NULL DEFAULT 0 CHECK (is_business IN (0, 1)),
    website        TEXT,
    domain         TEXT,
    address1       TEXT,
    address2       TEXT,
    city           TEXT,
    zipcode        TEXT,
    phone          TEXT,
    state          TEXT,
    country        TEXT,
    repos_disabled INTEGER NOT NULL DEFAULT 0 CHECK (repos_disabled IN (0, 1)),
    mfa_enforced   INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enforced IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
);

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    org_id        BLOB NOT NULL REFERENCES organizations (id),
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    password_hash TEXT,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    org_role      INTEGER NOT NULL CHECK (org_role IN (0, 1, 2, 254, 255)),
    validated     INTEGER NOT NULL DEFAULT 0 CHECK (validated IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);
CREATE UNIQUE INDEX users_email_key_unique ON users (email_key);
CREATE INDEX users_org ON users (org_id);

-- One row per login; the access JWT carries its id and every request checks it is live.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token ever issued, by SHA-256 hash. A used one presented again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL REFERENCES sessions (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE email_verifications (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id),
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE UNIQUE INDEX email_verifications_token ON email_verifications (token_hash);
CREATE INDEX email_verifications_user ON email_verifications (user_id);

CREATE TABLE workspaces (
    id         BLOB PRIMARY KEY NOT NULL,
    org_id     BLOB NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
);
-- Live names are unique per organization, case-insensitively; deleting frees the name.
CREATE UNIQUE INDEX workspaces_live_name_unique ON workspaces (org_id, name_key) WHERE deleted_at IS NULL;
-- It also serves listing order and keyset pagination, which go by name_key (then id).

CREATE TABLE workspace_members (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    user_id      BLOB NOT NULL REFERENCES users (id),
    role         TEXT NOT NULL CHECK (role IN ('READ', 'WRITE', 'ADMIN')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id);

-- Buckets and repositories held by a workspace. This service does not create them yet; a workspace
-- that holds any cannot be deleted (checked in the deleting transaction).
CREATE TABLE workspace_resources (
    id           BLOB PRIMARY KEY NOT NULL,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    kind         TEXT NOT NULL CHECK (kind IN ('bucket', 'repo')),
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX workspace_resources_workspace ON workspace_resources (workspace_id);
