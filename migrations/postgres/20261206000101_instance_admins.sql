-- Instance administrators (contract section 13): people who run this server, beyond any one
-- organization (they manage activation links). Granted and revoked with `workspaces admin
-- grant|revoke EMAIL`. Mirrors migrations/sqlite.
ALTER TABLE users ADD COLUMN instance_admin BOOLEAN NOT NULL DEFAULT FALSE;
