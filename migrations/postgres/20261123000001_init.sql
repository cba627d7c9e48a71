-- Initial schema (PostgreSQL). Mirrors migrations/sqlite; keep the two in step.
-- Ids are UUIDv7 in native uuid columns.
-- Timestamps are Unix milliseconds (BIGINT) on both backends, so SQL and Rust types are shared.
-- *_key columns hold the normalised form used for case-insensitive uniqueness; they are computed
-- in Rust so both backends compare exactly the same way (SQLite's lower() is ASCII-only).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id             UUID PRIMARY KEY,
    name           TEXT NOT NULL,
    is_business    BOOLEAN NOT NULL DEFAULT FALSE,
    website        TEXT,
    domain         TEXT,
    address1       TEXT,
    address2       TEXT,
    city           TEXT,
    zipcode        TEXT,
    phone          TEXT,
    state          TEXT,
    country        TEXT,
    repos_disabled BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_enforced   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES organizations (id),
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    password_hash TEXT,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    org_role      SMALLINT NOT NULL CHECK (org_role IN (0, 1, 2, 254, 255)),
    validated     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT
);
CREATE UNIQUE INDEX users_email_key_unique ON users (email_key);
CREATE INDEX users_org ON users (org_id);

-- One row per login; the access JWT carries its id and every request checks it is live.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token ever issued, by SHA-256 hash. A used one presented again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE email_verifications (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id),
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE UNIQUE INDEX email_verifications_token ON email_verifications (token_hash);
CREATE INDEX email_verifications_user ON email_verifications (user_id);

CREATE TABLE workspaces (
    id         UUID PRIMARY KEY,
    org_id     UUID NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    -- Byte order ("C"), as SQLite compares, so both backends list workspaces in one order.
    name_key   TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
-- Live names are unique per organization, case-insensitively; deleting frees the name.
CREATE UNIQUE INDEX workspaces_live_name_unique ON workspaces (org_id, name_key) WHERE deleted_at IS NULL;
-- It also serves listing order and keyset pagination, which go by name_key (then id).

CREATE TABLE workspace_members (
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    user_id      UUID NOT NULL REFERENCES users (id),
    role         TEXT NOT NULL CHECK (role IN ('READ', 'WRITE', 'ADMIN')),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id);

-- Buckets and repositories held by a workspace. This service does not create them yet; a workspace
-- that holds any cannot be deleted (checked in the deleting transaction).
CREATE TABLE workspace_resources (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    kind         TEXT NOT NULL CHECK (kind IN ('bucket', 'repo')),
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX workspace_resources_workspace ON workspace_resources (workspace_id);
