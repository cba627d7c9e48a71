-- The background clean-up (store/cleanup.rs) finds what expired through these, in bounded batches,
-- instead of scanning whole tables. Mirrors migrations/postgres.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX email_verifications_expires ON email_verifications (expires_at);
CREATE INDEX password_resets_expires ON password_resets (expires_at);
CREATE INDEX users_unverified ON users (created_at) WHERE NOT validated;
