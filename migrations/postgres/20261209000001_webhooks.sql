-- Webhooks (contract section 15): an organization's subscriptions to its audit trail, what is
-- queued for each, and every attempt. Mirrors migrations/sqlite, except for the ordering column
-- of system_events below.
--
-- The events themselves are never copied: a delivery names its event by id, and each webhook
-- keeps a cursor into system_events (store::webhooks explains the cursor).
--
-- `xid`: the transaction that wrote each event (xid8). Event ids come from a sequence, and a
-- transaction that drew a lower id may commit after one that drew a higher id has been read, so
-- a cursor over ids alone could step over an event for good. The dispatcher reads events in
-- (xid, id) order and only those whose transaction is older than every running one
-- (`pg_snapshot_xmin(pg_current_snapshot())`): that set never grows behind the cursor. Added
-- without a default first so existing rows are not rewritten (they stay NULL: older than any
-- webhook), then defaulted for every new row.
ALTER TABLE system_events ADD COLUMN xid xid8;
ALTER TABLE system_events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
-- The dispatcher's scan: one organization's events after a cursor, in (xid, id) order.
CREATE INDEX system_events_org_xid ON system_events (org_id, xid, id);

CREATE TABLE webhooks (
    id                 UUID PRIMARY KEY,
    org_id             UUID NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                TEXT NOT NULL,
    -- The patterns subscribed to, a JSON array of strings ("workspace.created", "user.*", "*").
    events             TEXT NOT NULL,
    description        TEXT,
    enabled            BOOLEAN NOT NULL,
    -- Why the dispatcher disabled it (410, or 3 days of failures); NULL once enabled again.
    disabled_reason    TEXT,
    -- The signing secret, AES-256-GCM sealed with the server's key (auth::mfa::SecretBox).
    secret             BYTEA NOT NULL,
    -- The secret before the last rotation, which keeps signing beside the new one until then.
    previous_secret    BYTEA,
    previous_expires_at BIGINT,
    created_at         BIGINT NOT NULL,
    -- The last event looked at for this webhook: (transaction, id) on PostgreSQL.
    cursor_xid         BIGINT NOT NULL DEFAULT 0,
    cursor_id          BIGINT NOT NULL DEFAULT 0,
    -- The next delivery's place in this webhook's order.
    next_seq           BIGINT NOT NULL DEFAULT 0,
    -- When the dispatcher should look at it again (the failing head's next attempt), ms.
    next_run_at        BIGINT NOT NULL DEFAULT 0,
    -- Since when its deliveries have failed without a success between, ms.
    failing_since      BIGINT,
    -- The dispatcher instance delivering for it now, and until when it may.
    lease_owner        UUID,
    lease_expires_at   BIGINT
);
CREATE INDEX webhooks_org ON webhooks (org_id, created_at);

CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    webhook_id       UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    -- NULL for a test delivery.
    event_id         BIGINT,
    type             TEXT NOT NULL,
    -- 0 pending, 1 delivered, 2 failed.
    status           SMALLINT NOT NULL CHECK (status BETWEEN 0 AND 2),
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT,
    last_attempt_at  BIGINT,
    response_status  BIGINT,
    response_body    TEXT,
    duration_ms      BIGINT,
    UNIQUE (webhook_id, seq)
);
-- The head of each webhook's queue.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE status = 0;
-- The clean-up.
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

CREATE TABLE webhook_attempts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at    BIGINT NOT NULL,
    -- The answer's status; NULL when there was none (refused address, timeout, connection).
    response_status BIGINT,
    response_body   TEXT,
    duration_ms     BIGINT NOT NULL,
    error           TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
CREATE INDEX webhook_attempts_time ON webhook_attempts (attempted_at);
