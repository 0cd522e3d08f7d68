//! Login sessions. Every token the token endpoint issues belongs to a session (its `sid`);
//! a session ends when it is deleted — by logout, revocation, reuse of a rotated refresh
//! token, or the schema's triggers (its user disabled, deleted, re-passworded or given other
//! roles, its client disabled or deleted) — or when its idle or maximum time is up.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// A live session as a token's verification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub realm_id: i64,
    pub user_pk: i64,
    pub client_pk: i64,
    pub refresh_seq: i64,
    /// Milliseconds since the epoch.
    pub idle_until: i64,
    pub expires: i64,
}

impl Session {
    /// Whether the session is still in force at `now` (ms).
    pub fn live_at(&self, now: i64) -> bool {
        now < self.idle_until && now < self.expires
    }
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        realm_id: r.get(1)?,
        user_pk: r.get(2)?,
        client_pk: r.get(3)?,
        refresh_seq: r.get(4)?,
        idle_until: r.get(5)?,
        expires: r.get(6)?,
    })
}

const COLUMNS: &str = "id, realm_id, user_pk, client_pk, refresh_seq, idle_until, expires";

/// Starts a session; `idle` and `max` in milliseconds.
pub fn start(
    c: &Connection,
    realm_id: i64,
    user_pk: i64,
    client_pk: i64,
    now: i64,
    idle: i64,
    max: i64,
) -> Result<Session> {
    let id = uuid::Uuid::new_v4().to_string();
    let expires = now.saturating_add(max);
    let idle_until = now.saturating_add(idle).min(expires);
    c.prepare_cached(
        "INSERT INTO sessions (id, realm_id, user_pk, client_pk, started, refresh_seq, idle_until, expires) \
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
    )?
    .execute(params![id, realm_id, user_pk, client_pk, now, idle_until, expires])?;
    Ok(Session { id, realm_id, user_pk, client_pk, refresh_seq: 0, idle_until, expires })
}

/// A session by id, live or not.
pub fn find(c: &Connection, realm_id: i64, id: &str) -> Result<Option<Session>> {
    Ok(c.prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1 AND realm_id = ?2"))?
        .query_row(params![id, realm_id], session_row)
        .optional()?)
}

/// What presenting refresh token number `seq` of a session does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The session goes on; the new refresh token carries this number.
    Rotated(Session),
    /// The token was already rotated: someone holds a copy. The session is ended.
    Reused,
    /// There is no such session, or its time is up (it is ended).
    Ended,
}

/// Rotates a session's refresh token (inside the write that issues the new one).
pub fn refresh(c: &Connection, realm_id: i64, id: &str, seq: i64, now: i64, idle: i64) -> Result<Refresh> {
    let Some(s) = find(c, realm_id, id)? else { return Ok(Refresh::Ended) };
    if !s.live_at(now) {
        end(c, realm_id, id)?;
        return Ok(Refresh::Ended);
    }
    if s.refresh_seq != seq {
        end(c, realm_id, id)?;
        return Ok(Refresh::Reused);
    }
    let idle_until = now.saturating_add(idle).min(s.expires);
    c.prepare_cached(
        "UPDATE sessions SET refresh_seq = refresh_seq + 1, idle_until = ?3 WHERE id = ?1 AND realm_id = ?2",
    )?
    .execute(params![id, realm_id, idle_until])?;
    Ok(Refresh::Rotated(Session { refresh_seq: seq + 1, idle_until, ..s }))
}

/// Ends a session; whether there was one.
pub fn end(c: &Connection, realm_id: i64, id: &str) -> Result<bool> {
    Ok(c.prepare_cached("DELETE FROM sessions WHERE id = ?1 AND realm_id = ?2")?.execute(params![id, realm_id])? > 0)
}

/// Ends every session of a user; how many there were.
pub fn end_for_user(c: &Connection, realm_id: i64, user_pk: i64) -> Result<usize> {
    Ok(c.prepare_cached("DELETE FROM sessions WHERE user_pk = ?1 AND realm_id = ?2")?.execute([user_pk, realm_id])?)
}

/// Deletes up to `limit` sessions whose time is up; how many. (`idle_until` is never later
/// than `expires`, so it alone tells.)
pub fn sweep(c: &Connection, now: i64, limit: i64) -> Result<usize> {
    Ok(c.prepare_cached("DELETE FROM sessions WHERE pk IN (SELECT pk FROM sessions WHERE idle_until <= ?1 LIMIT ?2)")?
        .execute([now, limit])?)
}
