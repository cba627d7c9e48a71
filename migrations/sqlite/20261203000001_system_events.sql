-- The audit trail (contract section 7): one row per successful change, written in the change's
-- own transaction. Mirrors migrations/postgres.
--
-- No foreign keys: an event outlives what it names (a deleted workspace, a user who left), and
-- retention deletes old events in batches without touching anything else. `context` and `event`
-- are the contract's indices (0..=13, 0..=2). `actor_id` is the user who made the change;
-- `json_data` the change as a JSON text (never a secret). AUTOINCREMENT: ids increase and are
-- never reused, even after retention has deleted the newest rows.
CREATE TABLE system_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       BLOB NOT NULL,
    actor_id     BLOB NOT NULL,
    workspace_id BLOB,
    context      INTEGER NOT NULL CHECK (context BETWEEN 0 AND 13),
    event        INTEGER NOT NULL CHECK (event BETWEEN 0 AND 2),
    context_id   BLOB NOT NULL,
    json_data    TEXT,
    created_at   INTEGER NOT NULL
);

-- Which events a user has marked read (per user; absent means unread).
CREATE TABLE system_event_reads (
    user_id  BLOB NOT NULL,
    event_id INTEGER NOT NULL REFERENCES system_events (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, event_id)
) WITHOUT ROWID;
CREATE INDEX system_event_reads_event ON system_event_reads (event_id);
