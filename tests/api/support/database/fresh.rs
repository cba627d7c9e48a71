//! A fresh database per test on the backend under test: a file in a temporary directory on
//! SQLite, a database of its own on the PostgreSQL server `TEST_DATABASE_URL` names; taking it
//! away again; and [`FreshDatabase`], for tests that run the server only as separate processes.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection as _, PgConnection};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::support::app::TestApp;
use crate::support::database::leftovers::{
    drop_leftover_databases, host_tag, test_database_name, unix_seconds, LEFTOVERS_DROPPED,
};
use crate::support::database::Db;

/// Where a test's database lives, and what to clean up after it: dropping a `Place` drops its
/// PostgreSQL database (a SQLite file goes with its temporary directory).
pub enum Place {
    Sqlite {
        dir: tempfile::TempDir,
        file: PathBuf,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Place::Postgres { admin_url, name } = self {
            drop_postgres_database(admin_url.clone(), name.clone());
        }
    }
}

/// A fresh, empty database on the backend under test: its URL and where it lives.
pub async fn fresh_database() -> (String, Place) {
    fresh(Schema::Empty).await
}

/// A fresh database with the server's migrations already applied, for a server started in this
/// process. On PostgreSQL it is a copy of a template migrated once per test process (`CREATE
/// DATABASE ... TEMPLATE`), which takes a fraction of the time of running every migration per
/// test; the server still runs its migrator at start, which finds nothing to do. SQLite files
/// are migrated by the server (it takes milliseconds there).
pub async fn fresh_migrated_database() -> (String, Place) {
    fresh(Schema::Migrated).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Schema {
    Empty,
    Migrated,
}

/// The migrated template of this test process: named like a test database, so that once the
/// process has ended the next run drops it with the other leftovers.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

async fn fresh(schema: Schema) -> (String, Place) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL is set but PostgreSQL is not reachable");
            LEFTOVERS_DROPPED
                .get_or_init(|| drop_leftover_databases(&admin))
                .await;
            let name = test_database_name(unix_seconds(), &host_tag(), std::process::id());
            let create = match schema {
                Schema::Empty => format!("CREATE DATABASE {name}"),
                Schema::Migrated => {
                    let template = TEMPLATE
                        .get_or_init(|| migrated_template(&admin, &admin_url))
                        .await;
                    format!("CREATE DATABASE {name} TEMPLATE {template}")
                }
            };
            sqlx::query(&create).execute(&admin).await.unwrap();
            admin.close().await;
            let url = with_database(&admin_url, &name);
            (url, Place::Postgres { admin_url, name })
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("test.db");
            let url = format!("sqlite://{}", file.display());
            (url, Place::Sqlite { dir, file })
        }
    }
}

/// Creates a database and applies the server's own migrations to it (the same files, so the
/// server's migrator later finds every one of them booked with its checksum); every connection
/// to it is closed before it serves as a template.
async fn migrated_template(admin: &sqlx::PgPool, admin_url: &str) -> String {
    let name = test_database_name(unix_seconds(), &host_tag(), std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin)
        .await
        .unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&with_database(admin_url, &name))
        .await
        .unwrap();
    sqlx::migrate!("migrations/postgres")
        .run(&pool)
        .await
        .expect("the migrations apply to the template");
    pool.close().await;
    name
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

impl TestApp {
    /// The SQLite database file, on that backend.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        match &self.place {
            Place::Sqlite { file, .. } => Some(file),
            Place::Postgres { .. } => None,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.db, Db::Sqlite(_))
    }

    /// Takes the database away from the running server: on SQLite the file's directory goes,
    /// so nothing can open it again; on PostgreSQL the database is dropped, its connections
    /// (the server's included) terminated.
    pub async fn remove_database(&self) {
        match &self.place {
            Place::Sqlite { dir, .. } => std::fs::remove_dir_all(dir.path()).unwrap(),
            Place::Postgres { admin_url, name } => {
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(admin_url)
                    .await
                    .unwrap();
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
            }
        }
    }
}

/// Drops a test database, from a `Drop` impl: drop is synchronous, so the async clean-up runs on
/// a thread of its own.
fn drop_postgres_database(admin_url: String, name: String) {
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            if let Ok(admin) = PgPoolOptions::new()
                .max_connections(1)
                .connect(&admin_url)
                .await
            {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
            }
        });
    })
    .join();
}

/// A fresh database with no server in this process, for tests that run the server only as
/// separate processes: the test holds no handle on the database except while it reads one
/// ([`FreshDatabase::id_pairs`] opens a connection and closes it before answering).
pub struct FreshDatabase {
    pub url: String,
    place: Place,
}

impl FreshDatabase {
    /// A new PostgreSQL database when `TEST_DATABASE_URL` is set, else a path for a new SQLite
    /// file (created by the first server that opens it).
    pub async fn create() -> FreshDatabase {
        let (url, place) = fresh_database().await;
        FreshDatabase { url, place }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.place, Place::Sqlite { .. })
    }

    /// Every row of `sql` (no parameters) as (first column, second column) ids, the second one
    /// nullable; the connection is closed before this returns.
    pub async fn id_pairs(&self, sql: &str) -> Vec<(Uuid, Option<Uuid>)> {
        if self.is_sqlite() {
            let pool = self.sqlite_pool().await;
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        } else {
            let pool = self.postgres_pool().await;
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }

    /// Every row of `sql` (no parameters, one text column: `CAST(... AS TEXT)`), as
    /// [`FreshDatabase::id_pairs`] reads them.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        if self.is_sqlite() {
            let pool = self.sqlite_pool().await;
            let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        } else {
            let pool = self.postgres_pool().await;
            let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }

    /// A pool of one connection to the SQLite file, for one read (the caller closes it).
    async fn sqlite_pool(&self) -> sqlx::SqlitePool {
        let options = SqliteConnectOptions::from_str(&self.url).unwrap();
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap()
    }

    /// A pool of one connection to the PostgreSQL database, for one read (the caller closes it).
    async fn postgres_pool(&self) -> sqlx::PgPool {
        let options = PgConnectOptions::from_str(&self.url).unwrap();
        PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap()
    }

    /// Holds up every write of the server without holding up its reads, until released: SQLite's
    /// write lock (`BEGIN IMMEDIATE`: the server's writer waits for it, up to its 5 s busy
    /// timeout), or on PostgreSQL a `SHARE` lock on `tables` (their inserts, updates and deletes
    /// wait for it; reads do not), which must be tables every write of the test touches.
    pub async fn lock_writes(&self, tables: &str) -> WriteLock {
        match &self.place {
            Place::Sqlite { file, .. } => {
                let file = file.clone();
                let conn = tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open(file).unwrap();
                    conn.busy_timeout(std::time::Duration::from_secs(5))
                        .unwrap();
                    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                    conn
                })
                .await
                .unwrap();
                WriteLock::Sqlite(conn)
            }
            Place::Postgres { .. } => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query(&format!("LOCK TABLE {tables} IN SHARE MODE"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                WriteLock::Postgres(conn)
            }
        }
    }

    /// PostgreSQL: makes `value` the default of `setting` for every new session on this
    /// database (`ALTER DATABASE ... SET`), as an operator may have set it.
    pub async fn set_database_default(&self, setting: &str, value: &str) {
        let Place::Postgres { admin_url, name } = &self.place else {
            panic!("a database default is a PostgreSQL setting");
        };
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(admin_url)
            .await
            .unwrap();
        sqlx::query(&format!("ALTER DATABASE {name} SET {setting} = {value}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    }
}

/// A write lock a test holds on its database ([`FreshDatabase::lock_writes`]).
pub enum WriteLock {
    Sqlite(rusqlite::Connection),
    Postgres(PgConnection),
}

impl WriteLock {
    /// Lets the writes go (nothing was written under the lock) and closes the connection.
    pub async fn release(self) {
        match self {
            WriteLock::Sqlite(conn) => conn.execute_batch("ROLLBACK").unwrap(),
            WriteLock::Postgres(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}
