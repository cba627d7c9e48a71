-- Quotas (contract section 13): whether an organization may hold one more live workspace under
-- `--max-workspaces-per-org`. Called from the one statement that creates a workspace, only when a
-- limit is configured, so the check adds no round trip and the unlimited create is unchanged.
--
-- Why a function, and why VOLATILE: the statement's own snapshot is taken when it starts, so a
-- count in it would miss a workspace another transaction commits meanwhile, and two creates at
-- the limit would both pass. Here the organization's row is locked first (creates of one
-- organization take turns, across every server process), and then, because each statement of a
-- VOLATILE function takes a fresh snapshot under READ COMMITTED, the count sees what the
-- previous holder of the lock committed. FOR NO KEY UPDATE, not FOR UPDATE: it does not block
-- the FOR KEY SHARE locks that inserts referencing the organization take (its foreign keys).
-- The lock is held until the creating statement's transaction ends. No SQLite counterpart: there
-- the count runs on the one writer, inside the write's transaction.
CREATE FUNCTION workspaces_quota_allows(org UUID, max_live BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    live BIGINT;
BEGIN
    PERFORM 1 FROM organizations WHERE id = org FOR NO KEY UPDATE;
    SELECT COUNT(*) INTO live FROM workspaces WHERE org_id = org AND deleted_at IS NULL;
    RETURN live < max_live;
END
$$;
