//! The realm model in SQLite: one writer connection (every write is one `BEGIN IMMEDIATE`
//! transaction) and a pool of reader connections, all in WAL mode.
//!
//! `synchronous = NORMAL` in WAL mode makes a committed transaction survive a crash of the
//! process (`kill -9`): the commit is in the WAL file before the client is answered; only an
//! operating-system crash or power loss can lose the last transactions.

pub mod accounts;
mod checkpoint;
pub mod clients;
pub mod components;
mod epoch;
pub mod events;
pub mod issuers;
mod keys;
mod periodic;
pub mod protection;
mod query;
pub mod realms;
mod resources;
pub mod roles;
mod schema;
mod secrets;
pub mod sessions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

pub use epoch::Epochs;
pub use events::Actor;
pub use keys::SigningKey;
pub use query::{Page, PageRequest, Paging, Position, Resume, candidates, cursor_page, run_exact};
pub use realms::{Compatibility, Realm, TokenInfo, valid_realm_name};
pub use resources::{
    GroupRef, MemberKey, Row, admin_membership, apply_members, attributes_of, delete, delete_user_row, find, group_ref,
    group_refs, has_more_members, insert, kind_code, kind_of as kind_of_model, load, members_after, protected_error,
    relations, relations_many, repeated_attribute, update,
};

use crate::error::{Error, Result};
use periodic::Periodic;

/// The database of one data directory.
pub struct Store {
    path: PathBuf,
    writer: writer::Writer,
    readers: Mutex<Vec<Connection>>,
    closed: AtomicBool,
    epochs: Epochs,
    checkpointer: Periodic,
    epoch_watcher: Periodic,
}

/// SQLite's page cache of a connection, in KiB. Every connection has its own, on top of the
/// operating system's cache of the file, so these are what the store's memory grows to with the
/// database: the writer's is the largest (a write walks every index of its table), a reader's
/// holds the pages of the requests it serves (the upper levels of the indexes, mostly; the
/// rest comes from the OS cache in microseconds), and the checkpointer and the epoch watcher
/// read next to nothing. Measured: with 32 MiB each, RSS was 121 MiB after 100k users and a
/// 100k-member group; 62.7–64.1 MiB with 16 MiB for the writer and 4 MiB per reader, at the
/// 64 MiB bound; about 61 MiB as sized here. A smaller writer cache costs writes: at 8 MiB, a
/// PATCH of a 10k-user realm cost a tenth more CPU. See the README's memory figures.
#[derive(Clone, Copy)]
enum Cache {
    Writer = 12 * 1024,
    Reader = 2 * 1024,
    Service = 256,
}

/// Reader connections kept for reuse; more may be open at a time, and are closed when given
/// back past this.
const READERS_KEPT: usize = 16;

fn configure(conn: &Connection, cache: Cache) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = OFF;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.pragma_update(None, "cache_size", -(cache as i64))?;
    conn.pragma_update(None, "journal_size_limit", checkpoint::JOURNAL_SIZE_LIMIT)?;
    conn.set_prepared_statement_cache_capacity(128);
    // Plans must not depend on bound values, or SQLite re-prepares statements per binding.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    rusqlite::vtab::array::load_module(conn)?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        private_files(path)?;
        let writer = Connection::open(path)?;
        configure(&writer, Cache::Writer)?;
        let version: i64 = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if (1..schema::OLDEST_MIGRATED).contains(&version) {
            return Err(Error::Internal(format!(
                "the database {} was made by a development build of scimd (schema {version}); start with a new data directory",
                path.display()
            )));
        }
        if version > schema::SCHEMA_VERSION {
            return Err(Error::Internal(format!(
                "the database {} has schema version {version}, newer than this scimd ({})",
                path.display(),
                schema::SCHEMA_VERSION
            )));
        }
        // A new database gets the schema; an older one is migrated, all in one transaction.
        writer.execute_batch("BEGIN IMMEDIATE")?;
        let migrated = (|| -> Result<()> {
            if version == 0 {
                writer.execute_batch(schema::DDL)?;
            } else if version < schema::SCHEMA_VERSION {
                tracing::info!(from = version, to = schema::SCHEMA_VERSION, "migrating the database schema");
                schema::migrate_3_to_4(&writer)?;
                schema::add_columns(&writer)?;
                protection::refresh_all(&writer)?;
            } else {
                // Same version: tables, indexes and triggers a build may add stay present.
                writer.execute_batch(schema::DDL)?;
                schema::add_columns(&writer)?;
            }
            writer.execute_batch(&format!("PRAGMA user_version = {}", schema::SCHEMA_VERSION))?;
            Ok(())
        })();
        match migrated {
            Ok(()) => writer.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = writer.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        // The checkpoint thread does this work; a commit never runs a checkpoint itself.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        let epochs = Epochs::default();
        epochs.publish_from(&writer)?;
        let turn = checkpoint::Turn::default();
        Ok(Store {
            path: path.to_path_buf(),
            writer: writer::Writer::start(writer, epochs.clone(), turn.clone())?,
            readers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            checkpointer: checkpoint::start(path, turn)?,
            epoch_watcher: epoch::watch(path, epochs.clone())?,
            epochs,
        })
    }

    /// Closes the store for a clean shutdown: commits the writes already queued, stops the
    /// store's threads, checkpoints the whole WAL into the database and closes every
    /// connection, so that SQLite removes the WAL and a restart has nothing to replay. Reads
    /// and writes after this fail.
    pub fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::SeqCst);
        self.writer.stop();
        self.checkpointer.stop();
        self.epoch_watcher.stop();
        self.readers.lock().clear();
        let conn = Connection::open(&self.path)?;
        configure(&conn, Cache::Service)?;
        let (busy, frames) = checkpoint::checkpoint(&conn, "TRUNCATE")?;
        if busy {
            tracing::warn!(frames, "another process still uses the database; its WAL stays");
        }
        // Closing the last connection removes the WAL (and its index).
        conn.close().map_err(|(_, e)| Error::from(e))?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The authentication epoch (see `epoch`): cached verdicts filled under another are stale.
    pub fn auth_epoch(&self) -> u64 {
        self.epochs.auth()
    }

    /// The realms epoch (see `epoch`): realms and engines cached under another are stale.
    pub fn realms_epoch(&self) -> u64 {
        self.epochs.realms()
    }

    /// Runs `f` on a reader connection. Each query sees the latest commit; queries that must
    /// agree run in a read transaction of their own (see `query::run_exact`).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.reader()?;
        let result = f(&conn);
        self.give_back(conn);
        result
    }

    /// A read transaction that outlives one call: what a response streamed in chunks reads
    /// from, so that all of its chunks come from one snapshot. It holds a reader connection
    /// (and keeps the WAL from restarting past its snapshot) until dropped.
    pub fn snapshot(self: &Arc<Self>) -> Result<Snapshot> {
        let conn = self.reader()?;
        conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Snapshot { store: self.clone(), conn: Some(conn) })
    }

    fn reader(&self) -> Result<Connection> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Internal("the store is closed".into()));
        }
        if let Some(c) = self.readers.lock().pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&c, Cache::Reader)?;
        Ok(c)
    }

    fn give_back(&self, conn: Connection) {
        // A connection left inside a read transaction (a COMMIT that failed) would serve its
        // old snapshot to every later read: it is closed instead.
        if !conn.is_autocommit() {
            return;
        }
        let mut readers = self.readers.lock();
        if readers.len() < READERS_KEPT {
            readers.push(conn);
        }
    }

    /// Runs `f` as one atomic write and resolves once it is committed (see `writer`): all of
    /// it is stored, or, when `f` fails, none of it.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer.submit(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.map_err(|_| Error::Internal("the writer thread has stopped".into()))?
    }

    /// Queues a write and returns at once; `done` is called with its outcome once committed
    /// (or failed). For callers that keep many writes in flight (`import`).
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnMut(&Connection) -> Result<T> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()> {
        self.writer.submit(f, done)
    }

    /// Queues a write nobody waits for (reports of engine failures).
    pub fn write_detached(&self, f: impl FnMut(&Connection) -> Result<()> + Send + 'static) {
        let queued = self.writer.submit(f, |r| {
            if let Err(e) = r {
                tracing::warn!(error = %e, "a background write failed");
            }
        });
        if let Err(e) = queued {
            tracing::warn!(error = %e, "a background write could not be queued");
        }
    }

    /// `write` for callers outside an async runtime (the offline commands, tests).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnMut(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.writer.submit(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().map_err(|_| Error::Internal("the writer thread has stopped".into()))?
    }
}

/// See `Store::snapshot`.
pub struct Snapshot {
    store: Arc<Store>,
    conn: Option<Connection>,
}

impl Snapshot {
    pub fn conn(&self) -> &Connection {
        // Present from creation until drop.
        self.conn.as_ref().expect("a snapshot holds its connection until dropped")
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && conn.execute_batch("COMMIT").is_ok()
        {
            self.store.give_back(conn);
        }
    }
}

/// The database holds the realms' private signing keys and password hashes: its directory is
/// `0700` and its files `0600`, made so before SQLite creates them (SQLite gives the `-wal`
/// and `-shm` files the database file's mode) and put right when an older build left them
/// readable by others.
fn private_files(path: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let io = |what: &Path, e: std::io::Error| Error::Internal(format!("cannot secure {}: {e}", what.display()));
    let restrict = |p: &Path, mode: u32| -> Result<()> {
        match std::fs::metadata(p) {
            Ok(m) if m.permissions().mode() & 0o777 != mode => {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| io(p, e))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(p, e)),
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io(dir, e))?;
        restrict(dir, 0o700)?;
    }
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(|e| io(path, e))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        restrict(Path::new(&name), 0o600)?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch: the host's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// RFC 3339, UTC, millisecond precision: `2026-11-28T17:05:00.123Z`.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds_as_rfc3339() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_577_836_800_123), "2020-01-01T00:00:00.123Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
