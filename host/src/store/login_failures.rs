//! Failed logins, kept per realm and per name tried (a username, lower-cased, or a clientId),
//! for brute-force detection (`auth::brute_force` decides what they mean). Names that do not
//! exist are counted like names that do, so the answers do not tell them apart.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    User,
    Client,
}

impl Subject {
    fn code(self) -> i64 {
        match self {
            Subject::User => 0,
            Subject::Client => 1,
        }
    }
}

/// The failures of one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: i64,
    /// Milliseconds since the epoch; 0: never.
    pub last_failure: i64,
    /// Until when logins are refused (ms); 0: not locked.
    pub locked_until: i64,
}

fn key(subject: Subject, name: &str) -> (i64, String) {
    (subject.code(), name.to_lowercase())
}

pub fn get(c: &Connection, realm_id: i64, subject: Subject, name: &str) -> Result<Option<Failures>> {
    let (kind, name) = key(subject, name);
    Ok(c.prepare_cached(
        "SELECT failures, last_failure, locked_until FROM login_failures WHERE realm_id = ?1 AND kind = ?2 AND subject = ?3",
    )?
    .query_row(params![realm_id, kind, name], |r| {
        Ok(Failures { count: r.get(0)?, last_failure: r.get(1)?, locked_until: r.get(2)? })
    })
    .optional()?)
}

pub fn put(c: &Connection, realm_id: i64, subject: Subject, name: &str, f: Failures) -> Result<()> {
    let (kind, name) = key(subject, name);
    c.prepare_cached(
        "INSERT INTO login_failures (realm_id, kind, subject, failures, last_failure, locked_until) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (realm_id, kind, subject) DO UPDATE SET \
         failures = excluded.failures, last_failure = excluded.last_failure, locked_until = excluded.locked_until",
    )?
    .execute(params![realm_id, kind, name, f.count, f.last_failure, f.locked_until])?;
    Ok(())
}

/// Forgets a name's failures (a successful login, or an administrator's unlock).
pub fn clear(c: &Connection, realm_id: i64, subject: Subject, name: &str) -> Result<bool> {
    let (kind, name) = key(subject, name);
    Ok(c.prepare_cached("DELETE FROM login_failures WHERE realm_id = ?1 AND kind = ?2 AND subject = ?3")?
        .execute(params![realm_id, kind, name])?
        > 0)
}

/// Forgets every failure of a realm's users.
pub fn clear_users(c: &Connection, realm_id: i64) -> Result<usize> {
    Ok(c.prepare_cached("DELETE FROM login_failures WHERE realm_id = ?1 AND kind = ?2")?
        .execute(params![realm_id, Subject::User.code()])?)
}

/// Deletes up to `limit` records older than `before` (ms) that lock nothing any more.
pub fn sweep(c: &Connection, before: i64, now: i64, limit: i64) -> Result<usize> {
    Ok(c.prepare_cached(
        "DELETE FROM login_failures WHERE (realm_id, kind, subject) IN (SELECT realm_id, kind, subject \
         FROM login_failures WHERE last_failure < ?1 AND locked_until < ?2 LIMIT ?3)",
    )?
    .execute([before, now, limit])?)
}
