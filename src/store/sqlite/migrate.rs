//! The SQLite migrations, applied through rusqlite but booked exactly as sqlx 0.8 books them, so
//! that databases made by earlier versions (migrated by `sqlx::migrate!`) open unchanged and no
//! migration ever runs twice, and so that an older binary still accepts a database migrated here.
//!
//! sqlx's book is the `_sqlx_migrations` table: one row per applied migration with its version
//! (the number before the first `_` of the file name), its description (the rest of the name
//! without `.sql`, `_` read as a space), the SHA-384 of the file's text as its checksum, and
//! `success`. Each migration runs in its own `BEGIN IMMEDIATE` transaction together with its row,
//! so it is applied wholly or not at all; that transaction takes the database's write lock, and
//! the book is read again under it, so two processes starting at once apply each migration once
//! (the second waits on the lock, for the connection's busy timeout, then finds it applied).

use std::collections::BTreeMap;
use std::time::Instant;

use rusqlite::{params, Connection, TransactionBehavior};
use sha2::{Digest, Sha384};

/// The table exactly as sqlx 0.8 creates it on SQLite (`sqlx-sqlite`, `migrate.rs`).
const CREATE_BOOK: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);";

/// `(file name, text)` of each file, embedded at compile time.
macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        &[$((
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/", $file)),
        )),*]
    };
}

/// Every file of `migrations/sqlite/`. A new migration is added here too; a unit test fails while
/// the folder and this list differ.
const FILES: &[(&str, &str)] = embedded![
    "20261123000001_init.sql",
    "20261123000002_password_resets.sql",
    "20261201000001_listing_index.sql",
    "20261202000301_hashed_session_ids.sql",
    "20261202000302_cleanup_indexes.sql",
    "20261203000001_system_events.sql",
    "20261203000101_system_events_indexes.sql",
    "20261204000001_mfa.sql",
    "20261204000101_devices.sql",
    "20261204000201_settings_objects.sql",
    "20261206000001_mfa_hardening.sql",
    "20261206000101_instance_admins.sql",
    "20261206000201_activation_links.sql",
    "20261206000301_quotas.sql",
    "20261207000001_identities.sql",
    "20261207000101_passkeys.sql",
    "20261208000001_oidc_flows.sql",
    "20261209000001_webhooks.sql",
    "20261210000001_without_rowid.sql",
];

/// Why the database cannot be brought up to date. The server must not start on any of these.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "migration {version} ({description}) was applied from a different text than this \
         version carries (checksum mismatch): released migrations must never be edited"
    )]
    ChecksumMismatch { version: i64, description: String },
    #[error(
        "migration {0} failed part-way in an earlier run (success = false in _sqlx_migrations): \
         repair the database by hand and delete that row"
    )]
    PreviouslyFailed(i64),
    #[error(
        "the database records migration {0}, which this version does not have: it was made by a \
         newer version of the server"
    )]
    UnknownVersion(i64),
    #[error("migration file {0} is not named <version>_<description>.sql")]
    BadFileName(&'static str),
    #[error("migration {version} ({description}) failed: {source}")]
    Failed {
        version: i64,
        description: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "migration {version} ({description}) would leave rows whose foreign keys point nowhere \
         (PRAGMA foreign_key_check); nothing was changed"
    )]
    ForeignKeyViolations { version: i64, description: String },
    #[error("reading or writing _sqlx_migrations: {0}")]
    Database(#[from] rusqlite::Error),
}

/// One migration, as sqlx resolves it from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Migration {
    version: i64,
    description: String,
    sql: &'static str,
    checksum: Vec<u8>,
    /// The file starts with `-- no-transaction`, sqlx's mark. sqlx then runs it outside a
    /// transaction; we run it in one as every migration, with foreign keys off (see
    /// [`apply_all`]): such a file rebuilds tables, which SQLite only allows with them off.
    foreign_keys_off: bool,
}

impl Migration {
    /// Parses the file name as sqlx does: `<version>_<description>.sql`.
    fn from_file(name: &'static str, sql: &'static str) -> Result<Migration, MigrateError> {
        let (version, rest) = name
            .split_once('_')
            .ok_or(MigrateError::BadFileName(name))?;
        let version = version
            .parse::<i64>()
            .map_err(|_| MigrateError::BadFileName(name))?;
        let description = rest
            .strip_suffix(".sql")
            .ok_or(MigrateError::BadFileName(name))?;
        Ok(Migration {
            version,
            description: description.replace('_', " "),
            sql,
            checksum: Sha384::digest(sql.as_bytes()).to_vec(),
            foreign_keys_off: sql.starts_with("-- no-transaction"),
        })
    }
}

/// The embedded migrations, oldest first.
fn embedded() -> Result<Vec<Migration>, MigrateError> {
    let mut migrations = FILES
        .iter()
        .map(|(name, sql)| Migration::from_file(name, sql))
        .collect::<Result<Vec<_>, _>>()?;
    migrations.sort_by_key(|m| m.version);
    Ok(migrations)
}

/// A row of `_sqlx_migrations`.
struct Applied {
    checksum: Vec<u8>,
    success: bool,
}

/// Applies every pending migration of `migrations/sqlite/`, refusing a database whose book
/// disagrees with them. Idempotent. Give `conn` a busy timeout: a second process starting at
/// the same moment waits for the first one's migration on it.
pub fn run(conn: &mut Connection) -> Result<(), MigrateError> {
    apply_all(conn, &embedded()?)
}

fn apply_all(conn: &mut Connection, migrations: &[Migration]) -> Result<(), MigrateError> {
    // Up to date (every start but the first of each version): decided by reads alone, so starting
    // never queues for the write lock behind a running server.
    if let Some(applied) = read_book(conn)? {
        if validate(&applied, migrations)? == 0 {
            return Ok(());
        }
    }
    for migration in migrations {
        if !migration.foreign_keys_off {
            apply(conn, migration, migrations)?;
            continue;
        }
        // `foreign_keys` cannot change inside a transaction: off before it, back after it,
        // whatever the outcome. What the rebuild could break is checked before the commit.
        let before: bool = conn.query_row("PRAGMA foreign_keys", [], |row| row.get(0))?;
        conn.pragma_update(None, "foreign_keys", false)?;
        let applied = apply(conn, migration, migrations);
        conn.pragma_update(None, "foreign_keys", before)?;
        applied?;
    }
    Ok(())
}

/// Applies `migration` in a transaction of its own with its row in the book, unless the book
/// (read again under the write lock) already has it.
fn apply(
    conn: &mut Connection,
    migration: &Migration,
    migrations: &[Migration],
) -> Result<(), MigrateError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(CREATE_BOOK)?;
    // Read again under the write lock: another process may have migrated in between.
    let applied = read_book(&tx)?.unwrap_or_default();
    validate(&applied, migrations)?;
    if applied.contains_key(&migration.version) {
        return Ok(()); // dropping `tx` rolls it back: nothing was written
    }
    let started = Instant::now();
    tx.execute_batch(migration.sql)
        .map_err(|source| MigrateError::Failed {
            version: migration.version,
            description: migration.description.clone(),
            source,
        })?;
    if migration.foreign_keys_off {
        let violations: i64 =
            tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })?;
        if violations > 0 {
            return Err(MigrateError::ForeignKeyViolations {
                version: migration.version,
                description: migration.description.clone(),
            });
        }
    }
    // sqlx books nanoseconds; it measures after its commit, in a second statement, which
    // a crash can lose: measured here instead, one write less and always booked.
    let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (?1, ?2, TRUE, ?3, ?4)",
        params![
            migration.version,
            migration.description,
            migration.checksum,
            nanos
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The book, by version; None when there is no book yet (a new database).
fn read_book(conn: &Connection) -> rusqlite::Result<Option<BTreeMap<i64, Applied>>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
         AND name = '_sqlx_migrations') AS present",
        [],
        |row| row.get("present"),
    )?;
    if !exists {
        return Ok(None);
    }
    let mut statement =
        conn.prepare("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, i64>("version")?,
            Applied {
                checksum: row.get("checksum")?,
                success: row.get("success")?,
            },
        ))
    })?;
    rows.collect::<rusqlite::Result<_>>().map(Some)
}

/// Checks the book against the migrations in sqlx's order (a failed one first, then one this
/// version does not know, then a changed one) and answers how many are pending.
fn validate(
    applied: &BTreeMap<i64, Applied>,
    migrations: &[Migration],
) -> Result<usize, MigrateError> {
    if let Some((version, _)) = applied.iter().find(|(_, row)| !row.success) {
        return Err(MigrateError::PreviouslyFailed(*version));
    }
    if let Some(version) = applied
        .keys()
        .find(|version| !migrations.iter().any(|m| m.version == **version))
    {
        return Err(MigrateError::UnknownVersion(*version));
    }
    let mut pending = 0;
    for migration in migrations {
        match applied.get(&migration.version) {
            Some(row) if row.checksum != migration.checksum => {
                return Err(MigrateError::ChecksumMismatch {
                    version: migration.version,
                    description: migration.description.clone(),
                })
            }
            Some(_) => {}
            None => pending += 1,
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use rusqlite::Connection;

    use super::{apply_all, MigrateError, Migration};
    use super::{embedded, run, FILES};

    fn open(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn
    }

    fn database() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("migrate.db");
        (dir, path)
    }

    /// The book, whole, as text: `version|description|installed_on|success|hex(checksum)|time`.
    fn book(conn: &Connection) -> Vec<String> {
        let mut statement = conn
            .prepare(
                "SELECT version || '|' || description || '|' || installed_on || '|' || success \
                 || '|' || hex(checksum) || '|' || execution_time AS line FROM _sqlx_migrations \
                 ORDER BY version",
            )
            .unwrap();
        let rows = statement.query_map([], |row| row.get("line")).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// What the migrations made, `_sqlx_migrations` included: every table, index and trigger
    /// with its SQL.
    fn schema(conn: &Connection) -> Vec<String> {
        let mut statement = conn
            .prepare(
                "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') AS line \
                 FROM sqlite_master ORDER BY type, name",
            )
            .unwrap();
        let rows = statement.query_map([], |row| row.get("line")).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    fn versions(conn: &Connection) -> Vec<i64> {
        let mut statement = conn
            .prepare("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .unwrap();
        let rows = statement.query_map([], |row| row.get("version")).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    fn all_versions() -> Vec<i64> {
        embedded().unwrap().iter().map(|m| m.version).collect()
    }

    /// sqlx's own migrator, as the server ran it before, on the file at `path`.
    fn migrate_with_sqlx(path: &Path) -> Result<(), sqlx::migrate::MigrateError> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap();
            let migrated = sqlx::migrate!("migrations/sqlite").run(&pool).await;
            pool.close().await;
            migrated
        })
    }

    #[test]
    fn the_list_names_every_file_of_the_folder() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        let mut on_disk: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "FILES in migrate.rs must list the folder");
    }

    #[test]
    fn versions_descriptions_texts_and_checksums_are_those_sqlx_resolves() {
        let sqlx = sqlx::migrate!("migrations/sqlite");
        let theirs: Vec<(i64, String, &str, Vec<u8>)> = sqlx
            .iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    &*m.sql,
                    m.checksum.to_vec(),
                )
            })
            .collect();
        let ours: Vec<(i64, String, &str, Vec<u8>)> = embedded()
            .unwrap()
            .into_iter()
            .map(|m| (m.version, m.description, m.sql, m.checksum))
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours[1].1, "password resets");
        assert_eq!(ours[0].3.len(), 48, "SHA-384");
    }

    #[test]
    fn a_fresh_database_gets_every_migration_in_the_table_sqlx_would_make() {
        let (_dir, path) = database();
        let mut conn = open(&path);

        run(&mut conn).unwrap();

        assert_eq!(versions(&conn), all_versions());
        for table in [
            "users",
            "workspaces",
            "workspace_members",
            "password_resets",
        ] {
            let found: i64 = conn
                .query_row(
                    "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |row| row.get("n"),
                )
                .unwrap();
            assert_eq!(found, 1, "table {table}");
        }
        // The same schema as sqlx's migrator makes, its book's table included.
        let (_other, by_sqlx) = database();
        migrate_with_sqlx(&by_sqlx).unwrap();
        assert_eq!(schema(&conn), schema(&open(&by_sqlx)));
    }

    #[test]
    fn running_twice_changes_nothing() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        run(&mut conn).unwrap();
        let (booked, made) = (book(&conn), schema(&conn));

        run(&mut conn).unwrap();
        run(&mut open(&path)).unwrap();

        assert_eq!(book(&conn), booked);
        assert_eq!(schema(&conn), made);
    }

    #[test]
    fn a_database_migrated_by_sqlx_is_accepted_and_not_migrated_again() {
        let (_dir, path) = database();
        migrate_with_sqlx(&path).unwrap();
        let conn = open(&path);
        let (booked, made) = (book(&conn), schema(&conn));
        drop(conn);

        let mut conn = open(&path);
        run(&mut conn).unwrap();

        assert_eq!(book(&conn), booked, "no row rewritten, none added");
        assert_eq!(schema(&conn), made);
    }

    #[test]
    fn a_database_migrated_here_is_accepted_by_sqlx() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        run(&mut conn).unwrap();
        let booked = book(&conn);
        drop(conn);

        migrate_with_sqlx(&path).unwrap();

        assert_eq!(book(&open(&path)), booked);
    }

    /// Undoes what the last migration (20261208000001_oidc_flows.sql) made.
    /// What the last migration changed, undone closely enough for it to run again: the tables
    /// it rebuilt WITHOUT ROWID stay so (the rebuild works on either kind), the index it
    /// dropped comes back.
    const UNDO_LAST_MIGRATION: &str = "CREATE INDEX workspace_members_listing \
         ON workspace_members (workspace_id, user_id, role, created_at);";

    /// The tables `20261210000001_without_rowid.sql` rebuilds.
    const REBUILT: [&str; 5] = [
        "organizations",
        "users",
        "sessions",
        "workspaces",
        "workspace_members",
    ];

    /// A database migrated up to the last migration but one, holding a row in each table the
    /// last one rebuilds and in tables that refer to them, written with foreign keys on.
    fn before_the_rebuild() -> (tempfile::TempDir, PathBuf) {
        let (dir, path) = database();
        let mut conn = open(&path);
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        let migrations = embedded().unwrap();
        apply_all(&mut conn, &migrations[..migrations.len() - 1]).unwrap();
        conn.execute_batch(
            "INSERT INTO organizations (id, name, created_at, updated_at, live_workspaces) \
             VALUES (x'01', 'Acme', 1, 1, 1); \
             INSERT INTO users (id, org_id, email, email_key, first_name, last_name, org_role, \
             validated, created_at, updated_at) \
             VALUES (x'02', x'01', 'a@x.io', 'a@x.io', 'A', 'B', 255, 1, 1, 1); \
             INSERT INTO devices (id, user_id, fingerprint, device_name, device_type, os, \
             browser, user_agent, seen_level, created_at, last_seen) \
             VALUES (x'03', x'02', 'f', 'd', 't', 'o', 'b', 'ua', 'LOW', 1, 1); \
             INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, device_id) \
             VALUES (x'04', x'02', 1, 1, 9, x'03'); \
             INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
             VALUES (x'05', x'04', 1, 9); \
             INSERT INTO workspaces (id, org_id, name, name_key, created_at, updated_at) \
             VALUES (x'06', x'01', 'W', 'w', 1, 1); \
             INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
             VALUES (x'06', x'02', 'ADMIN', 1);",
        )
        .unwrap();
        (dir, path)
    }

    fn foreign_keys_on(conn: &Connection) -> bool {
        conn.query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn the_rebuild_keeps_every_row_and_every_foreign_key() {
        let (_dir, path) = before_the_rebuild();
        let mut conn = open(&path);
        conn.pragma_update(None, "foreign_keys", true).unwrap();

        run(&mut conn).unwrap();

        assert_eq!(versions(&conn), all_versions());
        assert!(foreign_keys_on(&conn), "foreign keys are on again");
        for table in REBUILT {
            let sql: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |row| row.get(0),
                )
                .unwrap();
            assert!(sql.ends_with("WITHOUT ROWID"), "{table}: {sql}");
            let rows: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .unwrap();
            assert_eq!(rows, 1, "{table}");
        }
        let member: (String, i64) = conn
            .query_row(
                "SELECT role, created_at FROM workspace_members WHERE workspace_id = x'06'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(member, ("ADMIN".to_owned(), 1));
        let gone: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'workspace_members_listing'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(
            gone, 0,
            "the covering index is gone: the key's B-tree covers"
        );
        // The rows that refer to the rebuilt tables still do, and the keys still hold both ways.
        let refused = conn.execute(
            "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
             VALUES (x'06', x'99', 'READ', 1)",
            [],
        );
        assert!(refused.is_err(), "a member of no user is refused");
        let refused = conn.execute("DELETE FROM sessions WHERE id = x'04'", []);
        assert!(refused.is_err(), "a session its refresh token names stays");
        conn.execute("DELETE FROM devices WHERE id = x'03'", [])
            .unwrap();
        let device: Option<Vec<u8>> = conn
            .query_row(
                "SELECT device_id FROM sessions WHERE id = x'04'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(device, None, "ON DELETE SET NULL still acts");
    }

    #[test]
    fn a_rebuild_that_would_break_a_foreign_key_is_refused_and_changes_nothing() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        run(&mut conn).unwrap();
        let (booked, made) = (book(&conn), schema(&conn));
        let mut migrations = embedded().unwrap();
        migrations.push(
            Migration::from_file(
                "99991231000001_dangling.sql",
                "-- no-transaction\n\
                 INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
                 VALUES (x'06', x'02', 'READ', 1);",
            )
            .unwrap(),
        );

        let refused = apply_all(&mut conn, &migrations).unwrap_err();

        assert!(
            matches!(
                &refused,
                MigrateError::ForeignKeyViolations {
                    version: 99991231000001,
                    ..
                }
            ),
            "{refused:?}"
        );
        assert!(foreign_keys_on(&conn), "foreign keys are on again");
        assert_eq!((book(&conn), schema(&conn)), (booked, made));
        let members: i64 = conn
            .query_row("SELECT COUNT(*) FROM workspace_members", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(members, 0);
    }

    #[test]
    fn a_database_sqlx_migrated_part_way_gets_the_rest() {
        let (_dir, path) = database();
        migrate_with_sqlx(&path).unwrap();
        let mut conn = open(&path);
        let last = *all_versions().last().unwrap();
        conn.execute_batch(&format!(
            "{UNDO_LAST_MIGRATION} DELETE FROM _sqlx_migrations WHERE version = {last};"
        ))
        .unwrap();
        let kept = book(&conn);

        run(&mut conn).unwrap();

        assert_eq!(versions(&conn), all_versions());
        assert_eq!(book(&conn)[..kept.len()], kept[..]);
    }

    #[test]
    fn a_changed_checksum_is_refused_and_nothing_runs() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        run(&mut conn).unwrap();
        let first = all_versions()[0];
        conn.execute(
            "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = ?1",
            [first],
        )
        .unwrap();
        // And one pending, which must not run either.
        let last = *all_versions().last().unwrap();
        conn.execute_batch(&format!(
            "{UNDO_LAST_MIGRATION} DELETE FROM _sqlx_migrations WHERE version = {last};"
        ))
        .unwrap();
        let booked = book(&conn);

        let refused = run(&mut conn).unwrap_err();

        assert!(
            matches!(refused, MigrateError::ChecksumMismatch { version, .. } if version == first),
            "{refused:?}"
        );
        assert!(
            refused.to_string().contains("checksum mismatch"),
            "{refused}"
        );
        assert_eq!(book(&conn), booked);
    }

    #[test]
    fn a_migration_that_failed_before_is_refused() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        run(&mut conn).unwrap();
        let second = all_versions()[1];
        conn.execute(
            "UPDATE _sqlx_migrations SET success = FALSE WHERE version = ?1",
            [second],
        )
        .unwrap();

        let refused = run(&mut conn).unwrap_err();

        assert!(
            matches!(refused, MigrateError::PreviouslyFailed(v) if v == second),
            "{refused:?}"
        );
    }

    #[test]
    fn a_database_of_a_newer_version_is_refused() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        run(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99991231000001, 'from the future', TRUE, X'00', 0)",
            [],
        )
        .unwrap();

        let refused = run(&mut conn).unwrap_err();

        assert!(
            matches!(refused, MigrateError::UnknownVersion(99991231000001)),
            "{refused:?}"
        );
    }

    #[test]
    fn a_failing_migration_leaves_neither_its_changes_nor_its_row() {
        let (_dir, path) = database();
        let mut conn = open(&path);
        let mut migrations = embedded().unwrap();
        let broken = Migration::from_file(
            "99991231000001_broken.sql",
            "CREATE TABLE half_done (id INTEGER); INSERT INTO nowhere VALUES (1);",
        )
        .unwrap();
        migrations.push(broken);

        let failed = apply_all(&mut conn, &migrations).unwrap_err();

        assert!(
            matches!(&failed, MigrateError::Failed { version: 99991231000001, description, .. }
                if description == "broken"),
            "{failed:?}"
        );
        assert_eq!(versions(&conn), all_versions(), "the earlier ones stay");
        let half_done: i64 = conn
            .query_row(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half_done'",
                [],
                |row| row.get("n"),
            )
            .unwrap();
        assert_eq!(half_done, 0);
    }

    #[test]
    fn file_names_parse_as_sqlx_parses_them() {
        let m = Migration::from_file("20261123000002_password_resets.sql", "SELECT 1").unwrap();
        assert_eq!(
            (m.version, m.description.as_str()),
            (20261123000002, "password resets")
        );
        for bad in ["init.sql", "x_init.sql", "1_init.txt"] {
            assert!(
                matches!(
                    Migration::from_file(bad, ""),
                    Err(MigrateError::BadFileName(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn processes_starting_at_once_apply_each_migration_once() {
        for _ in 0..5 {
            let (_dir, path) = database();
            let start = Arc::new(Barrier::new(4));
            let racers: Vec<_> = (0..4)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        let mut conn = Connection::open(&path).unwrap();
                        conn.busy_timeout(Duration::from_secs(10)).unwrap();
                        start.wait();
                        run(&mut conn)
                    })
                })
                .collect();
            for racer in racers {
                racer.join().unwrap().unwrap();
            }
            assert_eq!(versions(&open(&path)), all_versions());
        }
    }
}
