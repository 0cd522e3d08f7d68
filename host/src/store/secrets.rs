//! Secrets the server keeps for itself, made on first use and kept in the database, so that
//! every process serving the same database (a restart, or later another node) agrees on them.

use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::error::{Error, Result};

/// The key that seals pagination cursors (see `http::cursor`).
const CURSOR_KEY: &str = "cursor-key";

fn get_or_make(c: &Connection, name: &str) -> Result<[u8; 32]> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    // A concurrent first start keeps whichever insert came first; both then read it.
    c.prepare_cached("INSERT OR IGNORE INTO server_secrets (name, value) VALUES (?1, ?2)")?
        .execute(params![name, &fresh[..]])?;
    let stored: Option<Vec<u8>> = c
        .prepare_cached("SELECT value FROM server_secrets WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    stored
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| Error::Internal(format!("the server secret '{name}' is not 32 bytes")))
}

impl Store {
    /// The cursor-sealing key of this database.
    pub fn cursor_key(&self) -> Result<[u8; 32]> {
        self.write_blocking(|c| get_or_make(c, CURSOR_KEY))
    }
}
