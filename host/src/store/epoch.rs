//! The store's epochs: counters the schema's triggers bump in the same transaction as every
//! change that can make something cached outside the database wrong, whichever code path made
//! the change (see `schema`).
//!
//! - `auth`: a session ended, a user disabled, a role granted, a client disabled, a key added…
//!   Caches of authentication verdicts (`auth`) are not trusted once it moved.
//! - `realms`: any change of a realm's row (settings, profile, extensions, component, its
//!   creation or deletion). The realms service (`crate::realms`) drops the realms and engines
//!   it holds once it moved.
//!
//! The writer publishes the counters right after each commit, before any write of the batch is
//! acknowledged, so a change is in force for every request that starts after its writer was
//! answered. (Should that read fail, the writes are acknowledged anyway, as they are committed;
//! the watcher publishes the counters within half a second.) A watcher thread also reads them twice a second, so changes made by another
//! process on the same database (the offline commands, later another node) take effect within
//! that time: invalidation comes from the database, never from the handler that made a change.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use super::periodic::Periodic;
use crate::error::Result;

/// How often the watcher looks for changes made by other processes.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// The published epochs, shared by the store's threads and whoever caches.
#[derive(Clone, Default)]
pub struct Epochs(Arc<Counters>);

#[derive(Default)]
struct Counters {
    auth: AtomicU64,
    realms: AtomicU64,
}

impl Epochs {
    pub fn auth(&self) -> u64 {
        self.0.auth.load(Ordering::SeqCst)
    }

    pub fn realms(&self) -> u64 {
        self.0.realms.load(Ordering::SeqCst)
    }

    /// Reads the counters and publishes them (they only move forward).
    pub(super) fn publish_from(&self, c: &Connection) -> rusqlite::Result<()> {
        let (auth, realms): (i64, i64) = c
            .prepare_cached("SELECT (SELECT n FROM auth_epoch WHERE id = 1), (SELECT n FROM realm_epoch WHERE id = 1)")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        self.0.auth.fetch_max(auth as u64, Ordering::SeqCst);
        self.0.realms.fetch_max(realms as u64, Ordering::SeqCst);
        Ok(())
    }
}

/// Starts the watcher thread (see `periodic`).
pub(super) fn watch(path: &Path, epochs: Epochs) -> Result<Periodic> {
    let conn = Connection::open(path)?;
    super::configure(&conn, super::Cache::Service)?;
    Periodic::start("scimd-epoch-watch", WATCH_EVERY, move || {
        if let Err(e) = epochs.publish_from(&conn) {
            tracing::warn!(error = %e, "reading the store's epochs failed");
        }
    })
}
