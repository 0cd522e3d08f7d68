//! The authentication epoch: a counter the schema's triggers bump in the same transaction as
//! every change that can make a cached authentication verdict wrong (a session ended, a user
//! disabled, a role granted, a client disabled, a key added, …; see `schema`).
//!
//! Caches of verdicts (`auth`) remember the epoch they were filled under and are not trusted
//! once it moved. The writer publishes the counter right after each commit, before any write
//! of the batch is acknowledged, so a change is in force for every request that starts after
//! its writer was answered. A watcher thread also reads it twice a second, so changes made by
//! another process on the same database (the offline commands) take effect within that time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use super::periodic::Periodic;
use crate::error::Result;

/// How often the watcher looks for changes made by other processes.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// The published epoch, shared by the store's threads and whoever caches verdicts.
#[derive(Clone, Default)]
pub struct Epoch(Arc<AtomicU64>);

impl Epoch {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Reads the counter and publishes it (it only moves forward).
    pub(super) fn publish_from(&self, c: &Connection) -> rusqlite::Result<()> {
        let n: i64 = c.prepare_cached("SELECT n FROM auth_epoch WHERE id = 1")?.query_row([], |r| r.get(0))?;
        self.0.fetch_max(n as u64, Ordering::SeqCst);
        Ok(())
    }
}

/// Starts the watcher thread (see `periodic`).
pub(super) fn watch(path: &Path, epoch: Epoch) -> Result<Periodic> {
    let conn = Connection::open(path)?;
    super::configure(&conn, super::Cache::Service)?;
    Periodic::start("scimd-epoch-watch", WATCH_EVERY, move || {
        if let Err(e) = epoch.publish_from(&conn) {
            tracing::warn!(error = %e, "reading the authentication epoch failed");
        }
    })
}
