-- Settings objects (contract section 10): one free-form JSON object per user and per
-- organization. Mirrors migrations/postgres. (`settings`, the server's own key/value table, is
-- another thing.)
--
-- `settings` is the object as compact JSON text, computed and checked in Rust (at most 64 KiB,
-- 16 levels deep), so both backends store exactly the same text. No row means `{}`. A write's
-- read-modify-write runs under the one writer's lock of the database, so concurrent partial
-- updates all survive. The rows go with their user or organization.
CREATE TABLE user_settings (
    user_id    BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE org_settings (
    org_id     BLOB PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
