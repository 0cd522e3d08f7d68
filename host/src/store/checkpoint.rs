//! Keeps the WAL bounded (`docs/architecture.md` §4).
//!
//! SQLite appends every commit to the WAL; a checkpoint copies those pages into the database,
//! and only a *restart* lets the WAL be written again from its start. A writer restarts it by
//! itself only when it begins while every frame is already checkpointed and no reader uses
//! one — which continuous reads and writes never allow, so without help the WAL grows by every
//! commit for as long as the load lasts. So this thread:
//!
//! - runs a `PASSIVE` checkpoint every `EVERY` (it never blocks a reader, nor the writer
//!   unless the WAL is past `CEILING`, see below; it copies what it can);
//! - once more than `RESTART_AT` frames are in the WAL, runs a `RESTART` checkpoint: it holds
//!   new writes back (for at most `RESTART_WAIT`, while the readers of older snapshots finish),
//!   copies the rest and makes the next commit start the WAL over. Writes wait for it as they
//!   wait for each other; a reader is never held up;
//! - `journal_size_limit` (set on every connection, see `store::configure`) truncates the file
//!   to `JOURNAL_SIZE_LIMIT` at each restart, so a burst (a large import) does not leave a large
//!   file behind.
//!
//! That keeps the WAL near `JOURNAL_SIZE_LIMIT` while checkpoints keep up. Under a sustained
//! burst of writes they may not (measured: a 10-minute soak of 2,000 user creations a second
//! into a million-user database peaked at 77 MiB), so the writer holds the line itself: after a
//! commit that leaves the WAL past `CEILING`, it checkpoints with `RESTART` before it takes the
//! next writes (`Ceiling::hold`), taking turns with this thread (`Turn`). Writers then wait, as they would for a slow disk; the WAL
//! never grows past `CEILING` and one batch of writes. On close the store checkpoints with
//! `TRUNCATE` and the last connection removes the WAL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;

use super::periodic::Periodic;
use crate::error::Result;

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(100);

/// WAL frames (pages, 4 KiB by default) past which the WAL is restarted: 16 MiB.
const RESTART_AT: i64 = 4096;

/// How long a `RESTART` checkpoint may hold writes back waiting for readers; past it, it is
/// tried again at the next tick.
const RESTART_WAIT: Duration = Duration::from_millis(200);

/// What `journal_size_limit` truncates the WAL file to after a restart, in bytes: what it
/// grows back to before the next restart anyway.
pub(super) const JOURNAL_SIZE_LIMIT: i64 = RESTART_AT * 4096;

/// The WAL size past which the writer checkpoints before writing more, in bytes.
const CEILING: u64 = 48 << 20;

/// How often, at most, the writer warns that it could not bring the WAL under `CEILING`.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// One checkpoint at a time per store. SQLite refuses a checkpoint while another connection
/// runs one (`SQLITE_BUSY` at once, with -1 frames, not a wait), so without this the writer's
/// `RESTART` failed every time it met the thread's, and the WAL went on growing past the
/// ceiling. With it, the writer waits for the thread's checkpoint. The count of `RESTART`s
/// that completed tells the writer whether the thread restarted the WAL meanwhile (the file
/// only shrinks at the next commit, so its size cannot tell). Another process's checkpoints
/// (an offline `import`) still meet these with `SQLITE_BUSY`; they are retried.
#[derive(Clone, Default)]
pub(super) struct Turn(Arc<Mutex<u64>>);

/// The writer's side: after each commit, keep the WAL under `CEILING` (see the module).
pub(super) struct Ceiling {
    wal: PathBuf,
    turn: Turn,
    /// The count of completed `RESTART`s when the writer last looked.
    restarts_seen: u64,
    warned_at: Option<Instant>,
    unsaid: u64,
}

impl Ceiling {
    pub(super) fn new(wal: PathBuf, turn: Turn) -> Ceiling {
        Ceiling { wal, turn, restarts_seen: 0, warned_at: None, unsaid: 0 }
    }

    /// When the WAL is past `CEILING`, copies it into the database and restarts it now, before
    /// any further write. Readers of older snapshots are waited for (the writer's busy
    /// timeout); a failure is logged (at most once per `WARN_EVERY`) and tried after the next
    /// commit.
    pub(super) fn hold(&mut self, conn: &Connection) {
        if self.wal_len() <= CEILING {
            return;
        }
        let turn = self.turn.0.clone();
        let outcome = {
            let mut restarts = turn.lock();
            if *restarts != self.restarts_seen {
                // The checkpoint thread restarted the WAL since: the next commit starts it over.
                self.restarts_seen = *restarts;
                return;
            }
            let outcome = checkpoint(conn, "RESTART");
            if matches!(outcome, Ok((false, _))) {
                *restarts += 1;
                self.restarts_seen = *restarts;
            }
            outcome
        };
        match outcome {
            Ok((false, _)) => {}
            Ok((true, frames)) => self.warn(&format!("readers kept the WAL from restarting ({frames} frames)")),
            Err(e) => self.warn(&format!("the checkpoint failed: {e}")),
        }
    }

    fn wal_len(&self) -> u64 {
        std::fs::metadata(&self.wal).map_or(0, |m| m.len())
    }

    fn warn(&mut self, what: &str) {
        if self.warned_at.is_some_and(|at| at.elapsed() < WARN_EVERY) {
            self.unsaid += 1;
            return;
        }
        tracing::warn!(times_since_last_warning = self.unsaid, "the WAL is past its ceiling: {what}");
        self.warned_at = Some(Instant::now());
        self.unsaid = 0;
    }
}

pub(super) fn start(path: &Path, turn: Turn) -> Result<Periodic> {
    let conn = Connection::open(path)?;
    super::configure(&conn, super::Cache::Service)?;
    conn.busy_timeout(RESTART_WAIT)?;
    Periodic::start("scimd-checkpoint", EVERY, move || {
        let mut restarts = turn.0.lock();
        if let Err(e) = tick(&conn, &mut restarts) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    })
}

fn tick(conn: &Connection, restarts: &mut u64) -> rusqlite::Result<()> {
    let (_, frames) = checkpoint(conn, "PASSIVE")?;
    if frames > RESTART_AT {
        let (busy, frames) = checkpoint(conn, "RESTART")?;
        if busy {
            tracing::debug!(frames, "WAL restart postponed: readers still use it");
        } else {
            *restarts += 1;
        }
    }
    Ok(())
}

/// Runs `PRAGMA wal_checkpoint(mode)`: whether it was kept from finishing, and the frames in
/// the WAL.
pub(super) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(bool, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(0)? != 0, r.get::<_, i64>(1)?))
    })
}
