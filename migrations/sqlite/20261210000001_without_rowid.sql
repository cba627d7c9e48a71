-- no-transaction
-- The tables every request reads by key become WITHOUT ROWID tables (SQLite only; issue 23).
--
-- A rowid table keyed by a BLOB id is two B-trees: the key's index (`sqlite_autoindex_*`) maps
-- the id to a rowid, the table maps the rowid to the row. Every lookup by id is two seeks, every
-- insert two B-tree inserts. A WITHOUT ROWID table is one B-tree ordered by its primary key: the
-- session check, the user, the workspace and each member are one seek each, and a create writes
-- two fewer B-trees. `workspace_members` keyed by (workspace_id, user_id) also holds the role and
-- the joining time in its key's B-tree, so the covering index `workspace_members_listing` is no
-- longer needed, and its role's CHECK is written without an IN list (below) (BENCHMARKS.md,
-- "WITHOUT ROWID").
--
-- Each table is rebuilt as SQLite's documentation prescribes (ALTER TABLE, "Making Other Kinds
-- Of Table Schema Changes"): create the new table, copy, drop the old one, rename the new one,
-- create its indexes again. Foreign keys must be off for that (with them on, dropping a table
-- referenced by others deletes its rows first, cascading), and `foreign_keys` cannot change
-- inside a transaction: hence `-- no-transaction` on the first line. The server's migrator
-- (`store::sqlite::migrate`) turns foreign keys off before its transaction, runs this file in
-- it with the book's row as for every migration, and refuses to commit while
-- `PRAGMA foreign_key_check` finds any violation. The PRAGMAs below are for sqlx's migrator,
-- which runs a `-- no-transaction` file statement by statement.
PRAGMA foreign_keys = OFF;

CREATE TABLE organizations_new (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    is_business     INTEGER NOT NULL DEFAULT 0 CHECK (is_business IN (0, 1)),
    website         TEXT,
    domain          TEXT,
    address1        TEXT,
    address2        TEXT,
    city            TEXT,
    zipcode         TEXT,
    phone           TEXT,
    state           TEXT,
    country         TEXT,
    repos_disabled  INTEGER NOT NULL DEFAULT 0 CHECK (repos_disabled IN (0, 1)),
    mfa_enforced    INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enforced IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER,
    live_workspaces INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO organizations_new (id, name, is_business, website, domain, address1, address2, city,
    zipcode, phone, state, country, repos_disabled, mfa_enforced, created_at, updated_at,
    deleted_at, live_workspaces)
SELECT id, name, is_business, website, domain, address1, address2, city, zipcode, phone, state,
    country, repos_disabled, mfa_enforced, created_at, updated_at, deleted_at, live_workspaces
FROM organizations;
DROP TABLE organizations;
ALTER TABLE organizations_new RENAME TO organizations;

CREATE TABLE users_new (
    id             BLOB PRIMARY KEY NOT NULL,
    org_id         BLOB NOT NULL REFERENCES organizations (id),
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL,
    password_hash  TEXT,
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL,
    org_role       INTEGER NOT NULL CHECK (org_role IN (0, 1, 2, 254, 255)),
    validated      INTEGER NOT NULL DEFAULT 0 CHECK (validated IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    mfa_required   INTEGER NOT NULL DEFAULT 0,
    instance_admin INTEGER NOT NULL DEFAULT 0 CHECK (instance_admin IN (0, 1))
) WITHOUT ROWID;
INSERT INTO users_new (id, org_id, email, email_key, password_hash, first_name, last_name,
    org_role, validated, created_at, updated_at, deleted_at, mfa_required, instance_admin)
SELECT id, org_id, email, email_key, password_hash, first_name, last_name, org_role, validated,
    created_at, updated_at, deleted_at, mfa_required, instance_admin
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_email_key_unique ON users (email_key);
CREATE INDEX users_org ON users (org_id);
CREATE INDEX users_unverified ON users (created_at) WHERE NOT validated;

CREATE TABLE sessions_new (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    mfa_pending  INTEGER NOT NULL DEFAULT 0,
    mfa_verified INTEGER NOT NULL DEFAULT 0,
    device_id    BLOB REFERENCES devices (id) ON DELETE SET NULL,
    ip_address   TEXT,
    login_method TEXT NOT NULL DEFAULT 'LOCAL'
) WITHOUT ROWID;
INSERT INTO sessions_new (id, user_id, created_at, last_used_at, expires_at, revoked_at,
    mfa_pending, mfa_verified, device_id, ip_address, login_method)
SELECT id, user_id, created_at, last_used_at, expires_at, revoked_at, mfa_pending, mfa_verified,
    device_id, ip_address, login_method
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_device ON sessions (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE workspaces_new (
    id         BLOB PRIMARY KEY NOT NULL,
    org_id     BLOB NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
) WITHOUT ROWID;
INSERT INTO workspaces_new (id, org_id, name, name_key, created_at, updated_at, deleted_at)
SELECT id, org_id, name, name_key, created_at, updated_at, deleted_at FROM workspaces;
DROP TABLE workspaces;
ALTER TABLE workspaces_new RENAME TO workspaces;
-- Live names are unique per organization, case-insensitively; deleting frees the name. It also
-- serves listing order and keyset pagination, which go by name_key (then id).
CREATE UNIQUE INDEX workspaces_live_name_unique ON workspaces (org_id, name_key)
    WHERE deleted_at IS NULL;

CREATE TABLE workspace_members_new (
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    user_id      BLOB NOT NULL REFERENCES users (id),
    -- Not `role IN ('READ', 'WRITE', 'ADMIN')`: SQLite evaluates an IN list of more than two
    -- values by building a temporary B-tree of them, on every insert (a twentieth of the writer's
    -- work for a create); three comparisons build nothing.
    role         TEXT NOT NULL CHECK (role = 'READ' OR role = 'WRITE' OR role = 'ADMIN'),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
) WITHOUT ROWID;
INSERT INTO workspace_members_new (workspace_id, user_id, role, created_at)
SELECT workspace_id, user_id, role, created_at FROM workspace_members;
DROP TABLE workspace_members;
ALTER TABLE workspace_members_new RENAME TO workspace_members;
CREATE INDEX workspace_members_user ON workspace_members (user_id);

PRAGMA foreign_keys = ON;
