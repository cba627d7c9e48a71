-- The audit trail (contract section 7): one row per successful change, written in the change's
-- own transaction. Mirrors migrations/sqlite.
--
-- No foreign keys: an event outlives what it names (a deleted workspace, a user who left), and
-- retention deletes old events in batches without touching anything else. `context` and `event`
-- are the contract's indices (0..=13, 0..=2). `actor_id` is the user who made the change;
-- `json_data` the change as a JSON text (never a secret). Ids come from an identity column, so
-- they increase in commit-independent order and are never reused.
CREATE TABLE system_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       UUID NOT NULL,
    actor_id     UUID NOT NULL,
    workspace_id UUID,
    context      SMALLINT NOT NULL CHECK (context BETWEEN 0 AND 13),
    event        SMALLINT NOT NULL CHECK (event BETWEEN 0 AND 2),
    context_id   UUID NOT NULL,
    json_data    TEXT,
    created_at   BIGINT NOT NULL
);

-- Which events a user has marked read (per user; absent means unread).
CREATE TABLE system_event_reads (
    user_id  UUID NOT NULL,
    event_id BIGINT NOT NULL REFERENCES system_events (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, event_id)
);
CREATE INDEX system_event_reads_event ON system_event_reads (event_id);
