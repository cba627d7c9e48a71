//! Read-only connections, used on the caller's own thread.
//!
//! A read runs synchronously inside the async task that asks for it. That is deliberate: in WAL
//! mode a reader never waits for a writer, every read the server makes is a single statement over
//! indexed rows (microseconds), and the database file is in the OS page cache in any sensible
//! deployment. Handing each read to another thread, as a generic async driver must, cost more
//! than the read itself: thread wake-ups and context switches were 40-50% of the server's CPU on
//! `GET /workspace/{id}` with sqlx's SQLite driver (BENCHMARKS.md).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rusqlite::Connection;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::open_connection;
use crate::store::{StoreError, StoreResult};

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// At most this many connections exist; a read beyond waits (asynchronously) for one.
    permits: Semaphore,
    open: AtomicU32,
}

impl ReadPool {
    pub fn new(path: PathBuf, max_connections: u32) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max_connections.max(1) as usize),
            open: AtomicU32::new(0),
        }
    }

    /// A pooled connection (one is opened when none is idle), held until the lease is dropped.
    pub async fn lease(&self) -> StoreResult<Lease<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the read pool is closed"))?;
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = open_connection(&self.path, true)?;
                self.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(Lease {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        })
    }

    /// (open, idle) connections.
    pub fn connections(&self) -> (u32, u32) {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).len();
        (self.open.load(Ordering::Relaxed), idle as u32)
    }
}

/// A connection out of the pool. It goes back when dropped: also when the read panicked (its
/// statements are reset as they unwind) or its future was dropped halfway through a read
/// transaction (rolled back here).
pub struct Lease<'p> {
    pool: &'p ReadPool,
    conn: Option<Connection>,
    _permit: SemaphorePermit<'p>,
}

impl Lease<'_> {
    pub fn conn_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
                // A connection in an unknown state is not worth keeping.
                self.pool.open.fetch_sub(1, Ordering::Relaxed);
                return;
            }
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }
}
