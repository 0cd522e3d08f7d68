//! Group commit: one thread owns the writer connection and runs the writes that arrive
//! together in one SQLite transaction, each in a savepoint of its own.
//!
//! Every write stays atomic — a failing write rolls back to its savepoint and fails alone —
//! and is acknowledged only after the transaction holding it committed. What is shared is the
//! commit: pages that several writes touch (the table's last leaf, index roots) go to the WAL
//! once per batch instead of once per write, which is where a single-writer store spends its
//! time under concurrent load.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;

use super::epoch::Epoch;
use crate::error::{Error, Result};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 128;

/// What the writer runs: a write in its savepoint (or, given no connection, nothing: the
/// transaction could not begin), returning what to do once the outcome of the commit is known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Completion + Send>;
type Completion = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;

/// What the writer thread receives: a write, or the order to stop once the writes queued
/// before it are committed (then the stopper hears back, after the connection is closed).
enum Message {
    Write(Job),
    Stop(mpsc::Sender<()>),
}

/// The handle to the writer thread.
pub(super) struct Writer {
    jobs: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer thread; after each commit it publishes `epoch` (see `epoch`).
    pub(super) fn start(conn: Connection, epoch: Epoch) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name("scimd-writer".into())
            .spawn(move || run(conn, queue, epoch))
            .map_err(|e| Error::Internal(format!("starting the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Queues `f` and calls `done` with its result once its transaction has ended.
    pub(super) fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()> {
        let job: Job = Box::new(move |conn: Option<&Connection>| -> Completion {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(Error::Internal("the write transaction could not begin".into())),
            };
            Box::new(move |commit| {
                done(match commit {
                    Ok(()) => result,
                    Err(e) => Err(Error::Internal(format!("commit failed: {e}"))),
                })
            })
        });
        self.jobs.send(Message::Write(job)).map_err(|_| Error::Internal("the writer thread has stopped".into()))
    }

    /// Commits what was queued, closes the connection and stops the thread; writes submitted
    /// after this fail ("the writer thread has stopped").
    pub(super) fn stop(&self) {
        let (done, stopped) = mpsc::channel();
        if self.jobs.send(Message::Stop(done)).is_ok() {
            let _ = stopped.recv();
        }
    }
}

/// Runs `f` in a savepoint: released when it succeeds, rolled back when it fails or panics.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.prepare_cached("SAVEPOINT write")?.execute([])?;
    let result = catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(Error::Internal("a write panicked; it was rolled back".into())));
    if result.is_err() {
        conn.prepare_cached("ROLLBACK TO write")?.execute([])?;
    }
    conn.prepare_cached("RELEASE write")?.execute([])?;
    result
}

fn run(conn: Connection, queue: mpsc::Receiver<Message>, epoch: Epoch) {
    let wal = conn.path().map(|p| std::path::PathBuf::from(format!("{p}-wal")));
    let mut stopper = None;
    while stopper.is_none() {
        let mut batch = Vec::new();
        match queue.recv() {
            Ok(Message::Write(job)) => batch.push(job),
            Ok(Message::Stop(s)) => stopper = Some(s),
            Err(_) => break,
        }
        while stopper.is_none() && !batch.is_empty() && batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Message::Write(job)) => batch.push(job),
                Ok(Message::Stop(s)) => stopper = Some(s),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let began = conn.prepare_cached("BEGIN IMMEDIATE").and_then(|mut st| st.execute([]));
        if let Err(e) = began {
            let detail = format!("cannot begin a transaction: {e}");
            tracing::error!(%detail);
            for job in batch {
                job(None)(Err(detail.clone()));
            }
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().map(|job| job(Some(&conn))).collect();
        let committed =
            conn.prepare_cached("COMMIT").and_then(|mut st| st.execute([])).map(|_| ()).map_err(|e| e.to_string());
        if let Err(e) = &committed {
            tracing::error!(error = %e, "commit failed");
            let _ = conn.execute_batch("ROLLBACK");
        } else if let Err(e) = epoch.publish_from(&conn) {
            tracing::error!(error = %e, "reading the authentication epoch failed");
        }
        for done in completions {
            done(committed.clone());
        }
        // Acknowledged first; the next writes wait for the WAL to be brought back down.
        if let Some(wal) = &wal {
            super::checkpoint::hold_to_ceiling(&conn, wal);
        }
    }
    drop(conn);
    drop(queue);
    if let Some(stopper) = stopper {
        let _ = stopper.send(());
    }
}
