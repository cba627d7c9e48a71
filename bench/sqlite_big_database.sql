-- A large SQLite database for timing migrations (BENCHMARKS.md, "WITHOUT ROWID"): 100,000
-- organizations, 200,000 users, 1,000,000 sessions, 300,000 workspaces, 600,000 memberships,
-- random 16-byte keys. On a database a binary has migrated (`workspaces migrate`):
--   sqlite3 big.db < bench/sqlite_big_database.sql
-- then time the next version's `workspaces --database-url sqlite://big.db migrate` on a copy.
PRAGMA foreign_keys=OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100000)
INSERT INTO organizations (id, name, created_at, updated_at) SELECT randomblob(16), 'org'||i, i, i FROM n;
CREATE TEMP TABLE o (r INTEGER PRIMARY KEY, id BLOB); INSERT INTO o SELECT rowid, id FROM organizations;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200000)
INSERT INTO users (id, org_id, email, email_key, password_hash, first_name, last_name, org_role, validated, created_at, updated_at)
SELECT randomblob(16), (SELECT id FROM o WHERE r = 1 + (i % 100000)), 'u'||i||'@x.io', 'u'||i||'@x.io', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA', 'First', 'Last', 0, 1, i, i FROM n;
CREATE TEMP TABLE uu (r INTEGER PRIMARY KEY, id BLOB, org_id BLOB); INSERT INTO uu SELECT rowid, id, org_id FROM users;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000)
INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) SELECT randomblob(32), (SELECT id FROM uu WHERE r = 1 + (i % 200000)), i, i, i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300000)
INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) SELECT randomblob(16), (SELECT id FROM o WHERE r = 1 + (i % 100000)), 'ws'||i, 'ws'||i, i, i FROM n;
CREATE TEMP TABLE ww (r INTEGER PRIMARY KEY, id BLOB); INSERT INTO ww SELECT rowid, id FROM workspaces;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 900000)
INSERT OR IGNORE INTO workspace_members (workspace_id, user_id, role, created_at) SELECT (SELECT id FROM ww WHERE r = 1 + (i % 300000)), (SELECT id FROM uu WHERE r = 1 + ((i * 7) % 200000)), 'READ', i FROM n;
COMMIT;
