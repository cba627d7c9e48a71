-- Instance administrators (contract section 13): people who run this server, beyond any one
-- organization (they manage activation links). Granted and revoked with `workspaces admin
-- grant|revoke EMAIL`. Mirrors migrations/postgres.
ALTER TABLE users ADD COLUMN instance_admin INTEGER NOT NULL DEFAULT 0 CHECK (instance_admin IN (0, 1));
