-- The devices a user signs in from (contract section 9), one row per user and fingerprint (a
-- SHA-256 the server computes from the device's stable fields, domain/device.rs). A login upserts
-- its device and its session points at it. Mirrors migrations/sqlite.
CREATE TABLE devices (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id),
    fingerprint   TEXT NOT NULL,
    device_name   TEXT NOT NULL,
    device_type   TEXT NOT NULL,
    os            TEXT NOT NULL,
    browser       TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    ip_address    TEXT,
    -- How much the device said about itself: MEDIUM with the client's deviceInfo, LOW from a bare
    -- User-Agent. A live trust (trusted_until in the future) reads as HIGH instead.
    seen_level    TEXT NOT NULL CHECK (seen_level IN ('LOW', 'MEDIUM')),
    trusted_until BIGINT,
    created_at    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL
);
CREATE UNIQUE INDEX devices_user_fingerprint ON devices (user_id, fingerprint);

-- A removed device leaves its (revoked) sessions to the clean-up, no longer pointing at it.
ALTER TABLE sessions ADD COLUMN device_id UUID REFERENCES devices (id) ON DELETE SET NULL;
-- The client address the session was opened from.
ALTER TABLE sessions ADD COLUMN ip_address TEXT;
CREATE INDEX sessions_device ON sessions (device_id) WHERE device_id IS NOT NULL;
