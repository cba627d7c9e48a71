//! The one writing connection, on a thread of its own, with group commit.
//!
//! SQLite admits one writer at a time, and with `synchronous=FULL` every commit waits for an
//! fsync of the WAL: committing each write on its own caps the server at the disk's fsync rate
//! (about 4-6k/s here, BENCHMARKS.md). So writes are jobs sent to this thread, which runs every
//! job that is waiting in one transaction, each job inside a savepoint of its own, and commits
//! once. A job's answer is sent only after that commit returned, so every acknowledged write is
//! on disk; a job that fails rolls back its savepoint alone; when the commit itself fails, every
//! job of the batch fails. A job that arrives while the thread is idle is committed at once: no
//! request ever waits for a batch to fill.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::{StoreError, StoreResult};

/// Jobs committed together at most; bounds the time a batch holds the write lock.
const MAX_BATCH: usize = 256;

pub struct Writer {
    jobs: Sender<Box<dyn Job>>,
    stats: Arc<WriterStats>,
}

/// What the writing thread has done, for metrics and tests.
#[derive(Default)]
pub struct WriterStats {
    busy: AtomicBool,
    /// Transactions committed or failed.
    pub batches: AtomicU64,
    /// Jobs run in them.
    pub jobs: AtomicU64,
    /// Jobs sent to the thread so far (those not in `jobs` yet are waiting or running).
    pub sent: AtomicU64,
}

impl Writer {
    /// Starts the writing thread on `conn`. It ends when the `Writer` is dropped.
    pub fn start(conn: Connection) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let shared = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue, &shared))?;
        Ok(Writer { jobs, stats })
    }

    /// Runs `work` in a write transaction and answers once it is committed. `work` is all-or-
    /// nothing: when it returns an error, its changes are rolled back (and only its own).
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped"))?;
        self.stats.sent.fetch_add(1, Ordering::Relaxed);
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped"))?
    }

    /// True while a batch is running.
    pub fn is_busy(&self) -> bool {
        self.stats.busy.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// A write waiting for its batch, type-erased.
trait Job: Send {
    /// Runs inside the batch's transaction; true when its changes are to be kept.
    fn run(&mut self, conn: &mut Connection) -> bool;
    /// Answers, once the batch is committed (`Ok`) or has failed.
    fn finish(self: Box<Self>, batch: Result<(), &Arc<rusqlite::Error>>);
}

struct Pending<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &mut Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or(Err(StoreError::Unavailable("a write panicked")));
        let keep = result.is_ok();
        self.result = Some(result);
        keep
    }

    fn finish(self: Box<Self>, batch: Result<(), &Arc<rusqlite::Error>>) {
        let answer = match (batch, self.result) {
            // Its own failure says more than the batch's.
            (_, Some(Err(own))) => Err(own),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(error), _) => Err(StoreError::Commit(error.clone())),
            (Ok(()), None) => Err(StoreError::Unavailable("a write was not run")),
        };
        // The requester may be gone (client disconnected); the write stands all the same.
        let _ = self.reply.send(answer);
    }
}

fn run(mut conn: Connection, queue: Receiver<Box<dyn Job>>, stats: &WriterStats) {
    while let Ok(first) = queue.recv() {
        stats.busy.store(true, Ordering::Relaxed);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut batch).map_err(Arc::new);
        if let Err(error) = &outcome {
            tracing::error!(%error, jobs = batch.len(), "SQLite write batch failed");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        for job in batch {
            job.finish(outcome.as_ref().map(|_| ()));
        }
        stats.busy.store(false, Ordering::Relaxed);
    }
}

/// One transaction for the whole batch, a savepoint per job, one commit.
fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock now, so another process writing (the `user verify` command)
    // makes this wait (busy timeout) rather than fail halfway.
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    for job in batch.iter_mut() {
        conn.prepare_cached("SAVEPOINT job")?.execute([])?;
        let keep = job.run(conn);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error): nothing of the
            // batch is written.
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the transaction was rolled back by SQLite".into()),
            ));
        }
        if !keep {
            conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
        }
        conn.prepare_cached("RELEASE job")?.execute([])?;
    }
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    use rusqlite::Connection;
    use tokio::time::timeout;

    use super::Writer;
    use crate::store::StoreError;

    fn writer(dir: &tempfile::TempDir) -> (Writer, std::path::PathBuf) {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (v INTEGER UNIQUE NOT NULL); \
             INSERT INTO t (v) VALUES (0)",
        )
        .unwrap();
        (Writer::start(conn).unwrap(), path)
    }

    fn values(path: &std::path::Path) -> Vec<i64> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let rows = stmt.query_map([], |row| row.get("v")).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// A write that holds the writer thread until `open` is sent, so that writes sent meanwhile
    /// queue up behind it (it waits on the writer's own thread, never on the runtime's).
    async fn hold(writer: &Arc<Writer>) -> (tokio::task::JoinHandle<()>, mpsc::Sender<()>) {
        let (open, gate) = mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let held = writer.clone();
        let task = tokio::spawn(async move {
            held.write(move |_| {
                started.send(()).unwrap();
                gate.recv_timeout(Duration::from_secs(10))
                    .map_err(|_| StoreError::Unavailable("the gate was never opened"))
            })
            .await
            .unwrap()
        });
        timeout(Duration::from_secs(10), running)
            .await
            .expect("the holding write starts")
            .unwrap();
        (task, open)
    }

    /// Waits (asynchronously) until `n` jobs have been sent to the writer.
    async fn until_sent(writer: &Writer, n: u64) {
        timeout(Duration::from_secs(10), async {
            while writer.stats().sent.load(Ordering::Relaxed) < n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the writes are queued");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_together_commit_together_and_a_failing_one_alone_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, path) = writer(&dir);
        let writer = Arc::new(writer);
        let (held, open) = hold(&writer).await;
        let mut tasks = Vec::new();
        for v in 0..200i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |conn| {
                        // Every write inserts its value; the even ones then insert 0, which
                        // is taken (UNIQUE), and must undo their own first insert only.
                        conn.execute("INSERT INTO t (v) VALUES (?1)", [v + 1])?;
                        if v % 2 == 0 {
                            conn.execute("INSERT INTO t (v) VALUES (0)", [])?;
                        }
                        Ok(v)
                    })
                    .await
            }));
        }
        until_sent(&writer, 201).await;
        open.send(()).unwrap();
        held.await.unwrap();
        let mut kept = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(v) => kept.push(v + 1),
                Err(StoreError::Sqlite(_)) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        kept.sort_unstable();
        assert_eq!(kept, (1..200).step_by(2).map(|v| v + 1).collect::<Vec<_>>());
        let mut stored = vec![0];
        stored.extend(&kept);
        assert_eq!(values(&path), stored);
        // The holding write alone, then the 200 that queued behind it in one transaction.
        let stats = writer.stats();
        assert_eq!(stats.jobs.load(Ordering::Relaxed), 201);
        assert_eq!(stats.batches.load(Ordering::Relaxed), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_that_wait_meanwhile_share_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _path) = writer(&dir);
        let writer = Arc::new(writer);
        let (held, open) = hold(&writer).await;
        let waiting: Vec<_> = (1..=10i64)
            .map(|v| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .write(move |conn| Ok(conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?))
                        .await
                })
            })
            .collect();
        until_sent(&writer, 11).await;
        open.send(()).unwrap();
        held.await.unwrap();
        for task in waiting {
            task.await.unwrap().unwrap();
        }
        let stats = writer.stats();
        assert_eq!(stats.jobs.load(Ordering::Relaxed), 11);
        assert_eq!(stats.batches.load(Ordering::Relaxed), 2);
    }

    /// A job that changes many existing pages journals each one's original in its savepoint; past
    /// `SQLITE_STMTJRNL_SPILL` (.cargo/config.toml) the journal moves from memory to a file. That
    /// move must work: with the threshold at 1 MiB, SQLite's unix VFS cut the move's 1 MiB
    /// writes to their low 17 bits and every such job failed with SQLITE_FULL (a retention pass,
    /// a migration rebuilding tables). Here one job rewrites about 8 MiB of rows, committed
    /// whole, and a job after it still commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_savepoint_journal_outgrows_memory_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, path) = writer(&dir);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB NOT NULL); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) \
             INSERT INTO big (id, body) SELECT i, zeroblob(1000) FROM n",
        )
        .unwrap();
        drop(conn);

        let changed = writer
            .write(|conn| Ok(conn.execute("UPDATE big SET body = randomblob(1000)", [])?))
            .await;
        let after = writer
            .write(|conn| Ok(conn.execute("INSERT INTO t (v) VALUES (1)", [])?))
            .await;

        assert_eq!(changed.unwrap(), 8000);
        assert_eq!(after.unwrap(), 1);
        let conn = Connection::open(&path).unwrap();
        let zeroed: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM big WHERE body = zeroblob(1000)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(zeroed, 0, "the whole job committed");
        assert_eq!(values(&path), [0, 1]);
    }

    /// A batch whose COMMIT fails: every job of it is answered with the commit's error, the ones
    /// whose own work succeeded too (their `Ok` must not win: nothing of theirs is on disk), and
    /// the writer goes on committing later batches.
    ///
    /// The failure is SQLite's own: a deferred foreign key, which no statement checks and COMMIT
    /// refuses (SQLITE_CONSTRAINT_FOREIGNKEY, leaving the transaction open for the writer to
    /// roll back).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_commit_fails_every_write_of_the_batch_fails_and_the_next_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; \
             CREATE TABLE t (v INTEGER UNIQUE NOT NULL); INSERT INTO t (v) VALUES (0); \
             CREATE TABLE child (parent INTEGER NOT NULL \
               REFERENCES t (v) DEFERRABLE INITIALLY DEFERRED)",
        )
        .unwrap();
        let writer = Arc::new(Writer::start(conn).unwrap());
        let (held, open) = hold(&writer).await;
        let insert = |v: i64| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |conn| Ok(conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?))
                    .await
            })
        };
        let mut others = (1..=5).map(insert).collect::<Vec<_>>();
        // Its own work succeeds (the key is only checked at COMMIT).
        let orphan = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(|conn| Ok(conn.execute("INSERT INTO child (parent) VALUES (99)", [])?))
                    .await
            })
        };
        until_sent(&writer, 7).await;
        others.extend((6..=10).map(insert));
        until_sent(&writer, 12).await;
        open.send(()).unwrap();
        held.await.unwrap();

        for task in others {
            match task.await.unwrap() {
                Err(StoreError::Commit(error)) => assert_eq!(
                    error.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::ConstraintViolation),
                    "{error}"
                ),
                other => panic!("a write of the failed batch answered {other:?}"),
            }
        }
        assert!(matches!(orphan.await.unwrap(), Err(StoreError::Commit(_))));
        assert_eq!(values(&path), vec![0], "nothing of the batch is stored");
        let stats = writer.stats();
        assert_eq!(stats.batches.load(Ordering::Relaxed), 2, "one failed batch");

        writer
            .write(|conn| Ok(conn.execute("INSERT INTO t (v) VALUES (11)", [])?))
            .await
            .expect("the writer commits again after a failed commit");
        assert_eq!(values(&path), vec![0, 11]);
    }

    #[tokio::test]
    async fn a_panicking_write_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, path) = writer(&dir);
        let failed = writer
            .write(|conn| -> Result<(), StoreError> {
                conn.execute("INSERT INTO t (v) VALUES (5)", [])?;
                panic!("boom")
            })
            .await;
        assert!(matches!(failed, Err(StoreError::Unavailable(_))));
        writer
            .write(|conn| Ok(conn.execute("INSERT INTO t (v) VALUES (6)", [])?))
            .await
            .unwrap();
        assert_eq!(values(&path), vec![0, 6]);
    }
}
