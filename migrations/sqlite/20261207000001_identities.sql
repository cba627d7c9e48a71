-- Sign-in with identity providers (contract section 12). An identity is the pair (provider,
-- subject), linked to one user; a user may have several. `email` is the address the provider
-- vouched for when the identity was linked (the user's own may change later). Mirrors
-- migrations/postgres.
CREATE TABLE identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user ON identities (user_id);

-- How a session signed in, for `GET /sessions`: LOCAL (a password), GOOGLE, MICROSOFT, GITHUB
-- or OIDC.
ALTER TABLE sessions ADD COLUMN login_method TEXT NOT NULL DEFAULT 'LOCAL';
