//! Keeps the WAL bounded (`docs/architecture.md` §4).
//!
//! SQLite appends every commit to the WAL; a checkpoint copies those pages into the database,
//! and only a *restart* lets the WAL be written again from its start. A writer restarts it by
//! itself only when it begins while every frame is already checkpointed and no reader uses
//! one — which continuous reads and writes never allow, so without help the WAL grows by every
//! commit for as long as the load lasts. So this thread:
//!
//! - runs a `PASSIVE` checkpoint every `EVERY` (it never blocks a reader or the writer, and
//!   copies what it can);
//! - once more than `RESTART_AT` frames are in the WAL, runs a `RESTART` checkpoint: it holds
//!   new writes back (for at most `RESTART_WAIT`, while the readers of older snapshots finish),
//!   copies the rest and makes the next commit start the WAL over. Writes wait for it as they
//!   wait for each other; a reader is never held up;
//! - `journal_size_limit` (set on every connection, see `store::configure`) truncates the file
//!   to `JOURNAL_SIZE_LIMIT` at each restart, so a burst (a large import) does not leave a large
//!   file behind.
//!
//! The bound: the WAL file stays under `JOURNAL_SIZE_LIMIT` plus what one `EVERY` of writes
//! adds. On close the store checkpoints with `TRUNCATE` and the last connection removes the WAL.

use std::path::Path;
use std::time::Duration;

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

pub(super) fn start(path: &Path) -> Result<Periodic> {
    let conn = Connection::open(path)?;
    super::configure(&conn, super::Cache::Service)?;
    conn.busy_timeout(RESTART_WAIT)?;
    Periodic::start("scimd-checkpoint", EVERY, move || {
        if let Err(e) = tick(&conn) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    })
}

fn tick(conn: &Connection) -> rusqlite::Result<()> {
    let (_, frames) = checkpoint(conn, "PASSIVE")?;
    if frames > RESTART_AT {
        let (busy, frames) = checkpoint(conn, "RESTART")?;
        if busy {
            tracing::debug!(frames, "WAL restart postponed: readers still use it");
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
