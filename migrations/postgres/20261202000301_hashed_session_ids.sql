-- Sessions are now named by a hash of a secret that only their tokens carry (auth::SessionSecret),
-- so that a copy of the database (JWT key included) cannot be turned into a working token. The
-- sessions stored so far are named by the ids their access tokens carry in plain text: they end
-- here. Upgrading signs everyone out once.
DELETE FROM refresh_tokens;
DELETE FROM sessions;
