-- Listings read each member's role and joining time from this index alone, instead of seeking
-- into the table once per member (+13% listings per second in the benchmark, BENCHMARKS.md).
-- SQLite only: PostgreSQL reads an index alone only for pages VACUUM has marked all-visible.
CREATE INDEX workspace_members_listing ON workspace_members (workspace_id, user_id, role, created_at);
