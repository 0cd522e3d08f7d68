//! Realms and the secret tokens that grant access to them.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, now_ms};
use crate::error::{Error, Result};

/// A realm as the host needs it on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realm {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub scim_enabled: bool,
    /// `entra` or `strict`, passed to the realm's engine.
    pub compatibility: String,
}

/// What a secret token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub realm_id: i64,
    pub roles: Vec<String>,
}

fn realm_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Realm> {
    Ok(Realm { id: r.get(0)?, name: r.get(1)?, enabled: r.get(2)?, scim_enabled: r.get(3)?, compatibility: r.get(4)? })
}

pub fn valid_realm_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Store {
    pub fn create_realm(&self, name: &str, compatibility: &str) -> Result<Realm> {
        if !valid_realm_name(name) {
            return Err(Error::InvalidValue(format!(
                "'{name}' is not a valid realm name (letters, digits, '-', '_' and '.', at most 100)"
            )));
        }
        if !matches!(compatibility, "entra" | "strict") {
            return Err(Error::InvalidValue(format!("compatibility must be entra or strict, not '{compatibility}'")));
        }
        let (name, compatibility) = (name.to_string(), compatibility.to_string());
        self.write_blocking(move |tx| {
            let exists: Option<i64> =
                tx.query_row("SELECT id FROM realms WHERE name = ?1", [&name], |r| r.get(0)).optional()?;
            if exists.is_some() {
                return Err(Error::Uniqueness(format!("realm '{name}' already exists")));
            }
            tx.execute(
                "INSERT INTO realms (name, compatibility, created) VALUES (?1, ?2, ?3)",
                params![name, compatibility, now_ms()],
            )?;
            Ok(Realm { id: tx.last_insert_rowid(), name, enabled: true, scim_enabled: true, compatibility })
        })
    }

    pub fn set_realm_compatibility(&self, name: &str, compatibility: &str) -> Result<()> {
        if !matches!(compatibility, "entra" | "strict") {
            return Err(Error::InvalidValue(format!("compatibility must be entra or strict, not '{compatibility}'")));
        }
        let (name, compatibility) = (name.to_string(), compatibility.to_string());
        self.write_blocking(move |tx| {
            let n = tx.execute("UPDATE realms SET compatibility = ?2 WHERE name = ?1", params![name, compatibility])?;
            if n == 0 {
                return Err(Error::NotFound(format!("realm '{name}' does not exist")));
            }
            Ok(())
        })
    }

    pub fn realm(&self, name: &str) -> Result<Option<Realm>> {
        self.read(|c| realm_by_name(c, name))
    }

    pub fn realms(&self) -> Result<Vec<Realm>> {
        self.read(|c| {
            let mut st =
                c.prepare("SELECT id, name, enabled, scim_enabled, compatibility FROM realms ORDER BY name")?;
            let rows = st.query_map([], realm_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Stores a token's hash and what it grants.
    pub fn create_token(&self, realm_id: i64, hash: &[u8], roles: &[String], description: Option<&str>) -> Result<i64> {
        let (hash, roles, description) = (hash.to_vec(), roles.join(","), description.map(str::to_string));
        self.write_blocking(move |tx| {
            tx.execute(
                "INSERT INTO tokens (realm_id, hash, roles, description, created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![realm_id, hash, roles, description, now_ms()],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    pub fn token_by_hash(&self, hash: &[u8]) -> Result<Option<TokenInfo>> {
        self.read(|c| {
            let row = c
                .prepare_cached("SELECT id, realm_id, roles FROM tokens WHERE hash = ?1")?
                .query_row([hash], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))
                .optional()?;
            Ok(row.map(|(id, realm_id, roles)| TokenInfo {
                id,
                realm_id,
                roles: roles.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            }))
        })
    }
}

pub fn realm_by_name(c: &Connection, name: &str) -> Result<Option<Realm>> {
    Ok(c.prepare_cached("SELECT id, name, enabled, scim_enabled, compatibility FROM realms WHERE name = ?1")?
        .query_row([name], realm_row)
        .optional()?)
}
