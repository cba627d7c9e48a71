//! A fresh database with no server in this process, for tests that run the server only as
//! separate processes: the test holds no handle on the database except while it reads one
//! ([`FreshDatabase::rows`] opens a connection and closes it before answering).

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use uuid::Uuid;

use crate::support::database::fresh::drop_postgres_database;

pub struct FreshDatabase {
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    /// (admin URL, database name) to drop at the end.
    postgres: Option<(String, String)>,
}

impl FreshDatabase {
    /// A new PostgreSQL database when `TEST_DATABASE_URL` is set, else a path for a new SQLite
    /// file (created by the first server that opens it).
    pub async fn create() -> FreshDatabase {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("ws_test_{}", Uuid::new_v4().simple());
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin_url)
                    .await
                    .expect("TEST_DATABASE_URL is set but PostgreSQL is not reachable");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let url = with_database(&admin_url, &name);
                FreshDatabase {
                    url,
                    _sqlite_dir: None,
                    postgres: Some((admin_url, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                FreshDatabase {
                    url,
                    _sqlite_dir: Some(dir),
                    postgres: None,
                }
            }
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.postgres.is_none()
    }

    /// Every row of `sql` (no parameters) as (first column, second column) ids, the second one
    /// nullable; the connection is closed before this returns.
    pub async fn id_pairs(&self, sql: &str) -> Vec<(Uuid, Option<Uuid>)> {
        if self.is_sqlite() {
            let options = SqliteConnectOptions::from_str(&self.url).unwrap();
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        } else {
            let options = PgConnectOptions::from_str(&self.url).unwrap();
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }
}

/// `postgres://u@h:5432/test?x=y` with the database swapped for `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            drop_postgres_database(admin_url, name);
        }
    }
}
