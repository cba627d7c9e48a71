-- Quotas (contract section 13): each organization's count of live workspaces, which
-- `POST /workspace` reads under `--max-workspaces-per-org` instead of counting the organization's
-- workspaces (a count costs about 450 instructions per live workspace; BENCHMARKS.md, "Quotas").
-- The create and the soft delete move it in their own transactions, limit or not, so it is
-- right the day a limit is set (store::workspaces, `MOVE_LIVE_WORKSPACES`). Statements, not
-- triggers: a trigger's frame costs every create twice as much (BENCHMARKS.md).
--
-- SQLite only: here the one writer makes a row update cheap and uncontended. PostgreSQL keeps no
-- such count (every create would then write, and lock until commit, its organization's row,
-- serializing an organization's creates limit or not); it counts under a lock only when a limit
-- is set (migrations/postgres/20261206000301_quotas.sql).
ALTER TABLE organizations ADD COLUMN live_workspaces INTEGER NOT NULL DEFAULT 0;

UPDATE organizations SET live_workspaces =
    (SELECT COUNT(*) FROM workspaces w WHERE w.org_id = organizations.id AND w.deleted_at IS NULL);
