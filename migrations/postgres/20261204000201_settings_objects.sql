-- Settings objects (contract section 10): one free-form JSON object per user and per
-- organization. Mirrors migrations/sqlite. (`settings`, the server's own key/value table, is
-- another thing.)
--
-- `settings` is the object as compact JSON text, computed and checked in Rust (at most 64 KiB,
-- 16 levels deep), so both backends store exactly the same text. No row means `{}`. A write
-- locks the row (FOR UPDATE) for its read-modify-write, so concurrent partial updates from any
-- number of instances all survive. The rows go with their user or organization.
CREATE TABLE user_settings (
    user_id    UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE org_settings (
    org_id     UUID PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
