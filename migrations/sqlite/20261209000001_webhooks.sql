-- Webhooks (contract section 15): an organization's subscriptions to its audit trail, what is
-- queued for each, and every attempt. Mirrors migrations/postgres, but for the event ordering:
-- SQLite's one writer commits events in id order, so a cursor over ids is sound here and
-- system_events needs no transaction column.
--
-- The events themselves are never copied: a delivery names its event by id, and each webhook
-- keeps a cursor into system_events (store::webhooks explains the cursor).

-- The dispatcher's scan: one organization's events after a cursor, in id order.
CREATE INDEX system_events_org_id ON system_events (org_id, id);

CREATE TABLE webhooks (
    id                 BLOB PRIMARY KEY NOT NULL,
    org_id             BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                TEXT NOT NULL,
    -- The patterns subscribed to, a JSON array of strings ("workspace.created", "user.*", "*").
    events             TEXT NOT NULL,
    description        TEXT,
    enabled            INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Why the dispatcher disabled it (410, or 3 days of failures); NULL once enabled again.
    disabled_reason    TEXT,
    -- The signing secret, AES-256-GCM sealed with the server's key (auth::mfa::SecretBox).
    secret             BLOB NOT NULL,
    -- The secret before the last rotation, which keeps signing beside the new one until then.
    previous_secret    BLOB,
    previous_expires_at INTEGER,
    created_at         INTEGER NOT NULL,
    -- The last event looked at for this webhook (cursor_xid is PostgreSQL's; 0 here).
    cursor_xid         INTEGER NOT NULL DEFAULT 0,
    cursor_id          INTEGER NOT NULL DEFAULT 0,
    -- The next delivery's place in this webhook's order.
    next_seq           INTEGER NOT NULL DEFAULT 0,
    -- When the dispatcher should look at it again (the failing head's next attempt), ms.
    next_run_at        INTEGER NOT NULL DEFAULT 0,
    -- Since when its deliveries have failed without a success between, ms.
    failing_since      INTEGER,
    -- The dispatcher process delivering for it now, and until when it may.
    lease_owner        BLOB,
    lease_expires_at   INTEGER
);
CREATE INDEX webhooks_org ON webhooks (org_id, created_at);

CREATE TABLE webhook_deliveries (
    id               BLOB PRIMARY KEY NOT NULL,
    webhook_id       BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    -- NULL for a test delivery.
    event_id         INTEGER,
    type             TEXT NOT NULL,
    -- 0 pending, 1 delivered, 2 failed.
    status           INTEGER NOT NULL CHECK (status BETWEEN 0 AND 2),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    last_attempt_at  INTEGER,
    response_status  INTEGER,
    response_body    TEXT,
    duration_ms      INTEGER,
    UNIQUE (webhook_id, seq)
);
-- The head of each webhook's queue.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE status = 0;
-- The clean-up.
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at    INTEGER NOT NULL,
    -- The answer's status; NULL when there was none (refused address, timeout, connection).
    response_status INTEGER,
    response_body   TEXT,
    duration_ms     INTEGER NOT NULL,
    error           TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
CREATE INDEX webhook_attempts_time ON webhook_attempts (attempted_at);
