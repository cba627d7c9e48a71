-- The browser flow of sign-in with identity providers (contract section 12), kept in the
-- database so that the callback and the completion may reach any instance. Mirrors
-- migrations/postgres.
--
-- A flow begun by `GET /auth/oidc/{name}/start`: the row is found by the SHA-256 of its `state`
-- (only the browser and the provider see the state itself); `sealed` holds the nonce and the PKCE
-- verifier, AES-256-GCM under a key derived from the state, so a copy of the table yields
-- neither. Spent once by the callback (`spent_at`), with one conditional UPDATE.
CREATE TABLE oidc_flows (
    state_hash  BLOB PRIMARY KEY,
    provider    TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    return_path TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);

-- A one-time code handed to the console by the callback (`/console/signed-in#code=...`) for
-- `POST /auth/oidc/complete`: found by its SHA-256; `sealed` holds the login answer under a key
-- derived from the code. Lives 60 s, spent once.
CREATE TABLE oidc_codes (
    code_hash  BLOB PRIMARY KEY,
    sealed     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);
