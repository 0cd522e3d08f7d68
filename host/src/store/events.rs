//! Admin events: every SCIM and admin write, recorded in the write's own transaction, so an
//! event exists exactly when its change does.

use rusqlite::{Connection, params};
use serde_json::Value;

use super::{Store, now_ms};
use crate::error::Result;

/// Who did something.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub realm: Option<String>,
    pub client: Option<String>,
    pub user: Option<String>,
}

/// One recorded write.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub time: i64,
    pub realm: String,
    /// `CREATE`, `UPDATE`, `DELETE` or `ACTION`.
    pub operation: String,
    /// `USER`, `GROUP`, `GROUP_MEMBERSHIP`, `REALM`, `CLIENT`, `CLIENT_ROLE_MAPPING`, …
    pub resource_type: String,
    /// Relative to the realm, e.g. `users/<id>`.
    pub resource_path: String,
    pub actor: Actor,
    pub representation: Option<Value>,
}

/// Records an event (inside the write that made the change).
pub fn record(
    c: &Connection,
    realm_id: i64,
    actor: &Actor,
    operation: &str,
    resource_type: &str,
    resource_path: &str,
    representation: Option<&Value>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO admin_events (realm_id, time, operation, resource_type, resource_path, auth_realm, auth_client, \
         auth_user, representation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        realm_id,
        now_ms(),
        operation,
        resource_type,
        resource_path,
        actor.realm,
        actor.client,
        actor.user,
        representation.map(Value::to_string),
    ])?;
    Ok(())
}

/// Deletes up to `limit` of a realm's events older than `before` (ms); how many.
pub fn expire(c: &Connection, realm_id: i64, before: i64, limit: i64) -> Result<usize> {
    Ok(c.prepare_cached(
        "DELETE FROM admin_events WHERE pk IN \
         (SELECT pk FROM admin_events WHERE realm_id = ?1 AND time < ?2 ORDER BY time LIMIT ?3)",
    )?
    .execute(params![realm_id, before, limit])?)
}

/// Filters for reading events.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub operation: Option<String>,
    pub resource_type: Option<String>,
    pub first: i64,
    pub max: i64,
}

impl Store {
    /// A realm's events, newest first.
    pub fn events(&self, realm_id: i64, realm: &str, q: &EventQuery) -> Result<Vec<Event>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT time, operation, resource_type, resource_path, auth_realm, auth_client, auth_user, representation \
                 FROM admin_events WHERE realm_id = ?1 AND (?2 IS NULL OR operation = ?2) \
                 AND (?3 IS NULL OR resource_type = ?3) ORDER BY time DESC, pk DESC LIMIT ?4 OFFSET ?5",
            )?;
            let rows = st
                .query_map(params![realm_id, q.operation, q.resource_type, q.max, q.first], |r| {
                    let rep: Option<String> = r.get(7)?;
                    Ok(Event {
                        time: r.get(0)?,
                        realm: realm.to_string(),
                        operation: r.get(1)?,
                        resource_type: r.get(2)?,
                        resource_path: r.get(3)?,
                        actor: Actor { realm: r.get(4)?, client: r.get(5)?, user: r.get(6)? },
                        representation: rep.and_then(|t| serde_json::from_str(&t).ok()),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
