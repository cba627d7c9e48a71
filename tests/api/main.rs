//! HTTP tests: each starts the real server on a random port with a fresh database. The backend is
//! SQLite unless `TEST_DATABASE_URL` names a PostgreSQL server, in which case every test gets a
//! fresh database created on it. `.ci/run` runs this suite once per backend.

mod helpers;

mod envelope;
mod ops;
mod profile;
mod registration;
mod sessions;
mod tokens;
mod workspaces_create;
