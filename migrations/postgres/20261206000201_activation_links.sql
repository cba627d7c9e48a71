-- Activation links (contract section 13): an instance administrator's invitation for one e-mail
-- address to register a new organization. The link's token is not here: it is an HMAC of the id
-- under a key kept out of the database (auth::link_key), so a copy of this table opens nothing.
-- Deleting the row revokes the link. Mirrors migrations/sqlite.
CREATE TABLE activation_links (
    id                UUID PRIMARY KEY,
    email             TEXT NOT NULL,
    -- The invitee's name, for the e-mail's greeting; not shown in the API.
    name              TEXT,
    description       TEXT,
    created_by        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    -- Set once, by the activation that spends the link, with the account it made.
    activated_at      BIGINT,
    activated_user_id UUID,
    CHECK ((activated_at IS NULL) = (activated_user_id IS NULL))
);
-- The listing: newest first.
CREATE INDEX activation_links_created ON activation_links (created_at, id);
