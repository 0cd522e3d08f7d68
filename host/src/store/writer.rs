//! Group commit: one thread owns the writer connection and runs the writes that arrive
//! together in one SQLite transaction.
//!
//! Every write stays atomic — a failing write fails alone, leaving nothing behind — and is
//! acknowledged only after the transaction holding it committed. What is shared is the
//! commit: pages that several writes touch (the table's last leaf, index roots) go to the WAL
//! once per batch instead of once per write, which is where a single-writer store spends its
//! time under concurrent load.
//!
//! A batch runs optimistically first, its writes one after another with no savepoints: a
//! savepoint copies every page a write touches into SQLite's statement journal, and that copy
//! was a sixth of the writer's work. When a write fails, the transaction is rolled back, the
//! writes before it run again as they did (no savepoints), the failed one keeps its outcome
//! without running again, and the writes after it run each in a savepoint of its own, so that
//! another failure is undone alone. A batch therefore costs at most its work twice, whoever
//! sends failing writes, and a write must be a function of the connection only (`FnMut`, no
//! effects outside SQLite), as it may run twice.
//!
//! A failure of SQLite itself (the transaction ended inside a write, a savepoint that cannot
//! be rolled back or released) fails the whole batch: nothing of it is committed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;

use super::epoch::Epochs;
use crate::error::{Error, Result};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 128;

/// A queued write with whoever waits for its outcome.
trait Job: Send {
    /// Runs the write (again, if it ran before), in a savepoint of its own when `isolated`;
    /// whether it succeeded, or `Err` when the transaction is no longer usable.
    fn run(&mut self, conn: &Connection, isolated: bool) -> std::result::Result<bool, String>;
    /// Reports the outcome of the write's last run, given how its transaction ended.
    fn finish(self: Box<Self>, commit: std::result::Result<(), String>);
}

struct Pending<T, F, D> {
    write: F,
    done: D,
    /// The outcome of the last run; none when the transaction could not begin.
    outcome: Option<Result<T>>,
}

impl<T, F, D> Job for Pending<T, F, D>
where
    T: Send,
    F: FnMut(&Connection) -> Result<T> + Send,
    D: FnOnce(Result<T>) + Send,
{
    fn run(&mut self, conn: &Connection, isolated: bool) -> std::result::Result<bool, String> {
        let outcome = if isolated { in_savepoint(conn, &mut self.write)? } else { guarded(conn, &mut self.write) };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        if conn.is_autocommit() {
            // SQLite rolled the transaction back itself (disk full, I/O error): what ran after
            // would commit statement by statement.
            return Err("the transaction ended inside a write".into());
        }
        Ok(ok)
    }

    fn finish(self: Box<Self>, commit: std::result::Result<(), String>) {
        let Pending { done, outcome, .. } = *self;
        done(match (commit, outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(Error::Internal("the write did not run".into())),
            (Err(e), None) => Err(Error::Internal(format!("the write transaction could not begin: {e}"))),
            (Err(e), Some(_)) => Err(Error::Internal(format!("commit failed: {e}"))),
        })
    }
}

/// What the writer thread receives: a write, or the order to stop once the writes queued
/// before it are committed (then the stopper hears back, after the connection is closed).
enum Message {
    Write(Box<dyn Job>),
    Stop(mpsc::Sender<()>),
}

/// The handle to the writer thread.
pub(super) struct Writer {
    jobs: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer thread; after each commit it publishes `epochs` (see `epoch`).
    pub(super) fn start(conn: Connection, epochs: Epochs, turn: super::checkpoint::Turn) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name("scimd-writer".into())
            .spawn(move || run(conn, queue, epochs, turn))
            .map_err(|e| Error::Internal(format!("starting the writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Queues `write` and calls `done` with its result once its transaction has ended.
    /// `write` may run twice (see the module documentation).
    pub(super) fn submit<T: Send + 'static>(
        &self,
        write: impl FnMut(&Connection) -> Result<T> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()> {
        let job = Box::new(Pending { write, done, outcome: None });
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

/// Runs `f`, a panic counting as a failure.
fn guarded<T>(conn: &Connection, f: &mut impl FnMut(&Connection) -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(Error::Internal("a write panicked; it was rolled back".into())))
}

/// Runs `f` in a savepoint: released when it succeeds, rolled back when it fails or panics.
/// `Err` when the savepoint itself fails: the transaction then holds what it should not.
fn in_savepoint<T>(
    conn: &Connection,
    f: &mut impl FnMut(&Connection) -> Result<T>,
) -> std::result::Result<Result<T>, String> {
    let statement = |sql: &str| -> std::result::Result<(), String> {
        conn.prepare_cached(sql).and_then(|mut st| st.execute([])).map(|_| ()).map_err(|e| format!("{sql}: {e}"))
    };
    if conn.is_autocommit() {
        return Err("no transaction is open".into());
    }
    statement("SAVEPOINT write")?;
    let result = guarded(conn, f);
    if result.is_err() {
        statement("ROLLBACK TO write")?;
    }
    statement("RELEASE write")?;
    Ok(result)
}

fn begin(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([]).map(|_| ())
}

/// The index of the first of `jobs` that fails, run in order without savepoints.
fn first_failure(conn: &Connection, jobs: &mut [Box<dyn Job>]) -> std::result::Result<Option<usize>, String> {
    for (i, job) in jobs.iter_mut().enumerate() {
        if !job.run(conn, false)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn restart(conn: &Connection) -> std::result::Result<(), String> {
    conn.execute_batch("ROLLBACK")
        .and_then(|()| begin(conn))
        .map_err(|e| format!("cannot begin a transaction again after a failed write: {e}"))
}

/// Runs a batch in the open transaction (see the module documentation). `Err` when the
/// transaction is no longer usable: then none of the batch may be committed.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> std::result::Result<(), String> {
    let Some(failed) = first_failure(conn, batch)? else {
        return Ok(());
    };
    restart(conn)?;
    if first_failure(conn, &mut batch[..failed])?.is_some() {
        // A write that succeeded before failed on the same state (it depends on more than
        // the database, e.g. the clock): every write in a savepoint of its own.
        restart(conn)?;
        for job in batch.iter_mut() {
            job.run(conn, true)?;
        }
        return Ok(());
    }
    for job in batch[failed + 1..].iter_mut() {
        job.run(conn, true)?;
    }
    Ok(())
}

fn run(conn: Connection, queue: mpsc::Receiver<Message>, epochs: Epochs, turn: super::checkpoint::Turn) {
    let mut ceiling =
        conn.path().map(|p| super::checkpoint::Ceiling::new(std::path::PathBuf::from(format!("{p}-wal")), turn));
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
        if !conn.is_autocommit() {
            // A rollback that failed after a failed batch: nothing of it may stay.
            tracing::error!("the writer found a transaction open; rolling it back");
            let _ = conn.execute_batch("ROLLBACK");
        }
        if let Err(e) = begin(&conn) {
            let detail = format!("cannot begin a transaction: {e}");
            tracing::error!(%detail);
            for job in batch {
                job.finish(Err(detail.clone()));
            }
            continue;
        }
        let committed = run_batch(&conn, &mut batch).and_then(|()| {
            conn.prepare_cached("COMMIT").and_then(|mut st| st.execute([])).map(|_| ()).map_err(|e| e.to_string())
        });
        if let Err(e) = &committed {
            tracing::error!(error = %e, "commit failed");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        } else if let Err(e) = epochs.publish_from(&conn) {
            tracing::error!(error = %e, "reading the store's epochs failed");
        }
        for job in batch {
            job.finish(committed.clone());
        }
        // Acknowledged first; the next writes wait for the WAL to be brought back down.
        if let Some(ceiling) = &mut ceiling {
            ceiling.hold(&conn);
        }
    }
    drop(conn);
    drop(queue);
    if let Some(stopper) = stopper {
        let _ = stopper.send(());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{Receiver, channel};

    use super::super::Store;
    use crate::error::{Error, Result};

    type TestWrite = Box<dyn FnMut(&rusqlite::Connection) -> Result<()> + Send>;

    /// A store with a scratch table `t(k TEXT PRIMARY KEY)`.
    fn store() -> Result<(tempfile::TempDir, Store)> {
        let dir = tempfile::tempdir().map_err(|e| Error::Internal(e.to_string()))?;
        let store = Store::open(&dir.path().join("scimd.db"))?;
        store.write_blocking(|c| Ok(c.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)")?))?;
        Ok((dir, store))
    }

    fn insert(key: &'static str) -> impl FnMut(&rusqlite::Connection) -> Result<()> + Send + 'static {
        move |c| {
            c.execute("INSERT INTO t (k) VALUES (?1)", [key])?;
            Ok(())
        }
    }

    /// Queues `writes` behind a write that holds the writer until all are queued, so that they
    /// run as one batch; their outcomes, in order.
    fn one_batch(store: &Store, writes: Vec<TestWrite>) -> Vec<Result<()>> {
        let (release, held) = channel::<()>();
        let held = std::sync::Mutex::new(Some(held));
        let (started_tx, started) = channel::<()>();
        store
            .submit(
                move |_| {
                    if let Some(held) = held.lock().map_err(|_| Error::Internal("poisoned".into()))?.take() {
                        let _ = started_tx.send(());
                        let _ = held.recv();
                    }
                    Ok(())
                },
                |_| {},
            )
            .expect("queued");
        started.recv().expect("the holding write started");
        let outcomes: Vec<Receiver<Result<()>>> = writes
            .into_iter()
            .map(|mut w| {
                let (tx, rx) = channel();
                store.submit(move |c| w(c), move |r| drop(tx.send(r))).expect("queued");
                rx
            })
            .collect();
        release.send(()).expect("released");
        outcomes.into_iter().map(|rx| rx.recv().expect("an outcome")).collect()
    }

    type Counted = (Arc<AtomicUsize>, TestWrite);

    /// `insert(key)`, counting its runs.
    fn counted(key: &'static str) -> Counted {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut write = insert(key);
        let counter = runs.clone();
        (
            runs,
            Box::new(move |c: &rusqlite::Connection| {
                counter.fetch_add(1, Ordering::SeqCst);
                write(c)
            }),
        )
    }

    fn keys(store: &Store) -> Result<Vec<String>> {
        store.read(|c| {
            let mut st = c.prepare("SELECT k FROM t ORDER BY k")?;
            let rows = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
    }

    #[test]
    fn a_failing_write_in_a_batch_fails_alone() -> Result<()> {
        let (_dir, store) = store()?;
        let ((a_runs, a), (c_runs, c)) = (counted("a"), counted("c"));
        let failing_runs = Arc::new(AtomicUsize::new(0));
        let counter = failing_runs.clone();
        let outcomes = one_batch(
            &store,
            vec![
                a,
                Box::new(move |c: &rusqlite::Connection| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    c.execute("INSERT INTO t (k) VALUES ('b')", [])?;
                    Err(Error::InvalidValue("refused after writing".into()))
                }),
                c,
            ],
        );
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
        assert!(matches!(outcomes[1], Err(Error::InvalidValue(_))), "{outcomes:?}");
        assert_eq!(keys(&store)?, ["a", "c"]);
        // The write before the failed one runs again after the rollback; the failed one keeps
        // its outcome; the one after it runs once, in its own savepoint.
        let runs = |n: &Arc<AtomicUsize>| n.load(Ordering::SeqCst);
        assert_eq!((runs(&a_runs), runs(&failing_runs), runs(&c_runs)), (2, 1, 1));
        Ok(())
    }

    #[test]
    fn several_failing_writes_in_a_batch_each_fail_alone() -> Result<()> {
        let (_dir, store) = store()?;
        let outcomes = one_batch(
            &store,
            vec![
                Box::new(insert("a")),
                Box::new(insert("a")),
                Box::new(insert("b")),
                Box::new(insert("b")),
                Box::new(insert("c")),
            ],
        );
        let ok: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, true, false, true], "{outcomes:?}");
        assert_eq!(keys(&store)?, ["a", "b", "c"]);
        Ok(())
    }

    #[test]
    fn a_write_that_conflicts_with_an_earlier_one_of_its_batch_fails_alone() -> Result<()> {
        let (_dir, store) = store()?;
        let outcomes = one_batch(&store, vec![Box::new(insert("a")), Box::new(insert("a")), Box::new(insert("b"))]);
        assert!(outcomes[0].is_ok() && outcomes[1].is_err() && outcomes[2].is_ok(), "{outcomes:?}");
        assert_eq!(keys(&store)?, ["a", "b"]);
        Ok(())
    }

    #[test]
    fn a_panicking_write_in_a_batch_fails_alone() -> Result<()> {
        let (_dir, store) = store()?;
        let outcomes = one_batch(
            &store,
            vec![
                Box::new(insert("a")),
                Box::new(|c: &rusqlite::Connection| {
                    c.execute("INSERT INTO t (k) VALUES ('b')", [])?;
                    panic!("a write that panics")
                }),
                Box::new(insert("c")),
            ],
        );
        assert!(outcomes[0].is_ok() && outcomes[1].is_err() && outcomes[2].is_ok(), "{outcomes:?}");
        assert_eq!(keys(&store)?, ["a", "c"]);
        Ok(())
    }

    #[test]
    fn writes_of_a_clean_batch_run_once() -> Result<()> {
        let (_dir, store) = store()?;
        let ((a_runs, a), (b_runs, b)) = (counted("a"), counted("b"));
        let outcomes = one_batch(&store, vec![a, b]);
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        assert_eq!((a_runs.load(Ordering::SeqCst), b_runs.load(Ordering::SeqCst)), (1, 1));
        assert_eq!(keys(&store)?, ["a", "b"]);
        Ok(())
    }
}
