-- The indexes of the event query (POST /systemevent), so that a page costs the same however
-- many events the organization holds: each walks one index in the answer's order (newest first:
-- created_at, then id) from the top of the window and stops after the page.
--
-- The organization-wide scope (OWNER, ADMINISTRATORS) and every filter combined with it.
CREATE INDEX system_events_org_time ON system_events (org_id, created_at DESC, id DESC);
-- The member scope's two halves: what the caller did, what happened in their workspaces; and the
-- userId and workspaceId filters.
CREATE INDEX system_events_actor_time ON system_events (actor_id, created_at DESC, id DESC);
CREATE INDEX system_events_workspace_time ON system_events (workspace_id, created_at DESC, id DESC)
    WHERE workspace_id IS NOT NULL;
-- The contextId filter: the history of one entity.
CREATE INDEX system_events_context_time ON system_events (context_id, created_at DESC, id DESC);
