//! SCIM engine components deployed to realms. Every deployment is a new version, kept with
//! its bytes, so a restart loads it again and a rollback is a pointer move; version 0 is the
//! engine built into scimd. The versions a realm was switched to are kept in order, so that
//! "roll back" means "back to what ran before", not "to the next lower number".

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::error::{Error, Result};

/// A deployed version, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub version: i64,
    /// SHA-256 of the component, hex.
    pub hash: String,
    /// The `scim:engine` version the component says it implements.
    pub api_version: String,
    pub name: String,
    pub size: i64,
    pub deployed_at: i64,
    pub deployed_by: Option<String>,
}

fn deployment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        version: r.get(0)?,
        hash: r.get(1)?,
        api_version: r.get(2)?,
        name: r.get(3)?,
        size: r.get(4)?,
        deployed_at: r.get(5)?,
        deployed_by: r.get(6)?,
    })
}

/// Stores a new version and makes it the realm's engine; returns the version.
pub fn deploy(c: &Connection, realm_id: i64, wasm: &[u8], d: &Deployment) -> Result<i64> {
    let version: i64 = c
        .prepare_cached("SELECT COALESCE(MAX(version), 0) + 1 FROM components WHERE realm_id = ?1")?
        .query_row([realm_id], |r| r.get(0))?;
    c.prepare_cached(
        "INSERT INTO components (realm_id, version, hash, api_version, name, size, wasm, deployed_at, deployed_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        realm_id,
        version,
        d.hash,
        d.api_version,
        d.name,
        wasm.len() as i64,
        wasm,
        d.deployed_at,
        d.deployed_by
    ])?;
    activate(c, realm_id, version)?;
    Ok(version)
}

/// Makes a version (0: the built-in engine) the realm's engine.
pub fn activate(c: &Connection, realm_id: i64, version: i64) -> Result<()> {
    if version != 0 && deployment(c, realm_id, version)?.is_none() {
        return Err(Error::NotFound(format!("there is no component version {version} in this realm")));
    }
    let newest = history(c, realm_id, 1)?.first().copied();
    if newest.is_none() {
        // A realm from before the history was kept: what it runs now is where it starts.
        let running = running(c, realm_id)?;
        if running != 0 && running != version {
            push(c, realm_id, running)?;
        }
    }
    if newest != Some(version) {
        push(c, realm_id, version)?;
    }
    set_current(c, realm_id, version)
}

fn push(c: &Connection, realm_id: i64, version: i64) -> Result<()> {
    c.prepare_cached("INSERT INTO component_activations (realm_id, version) VALUES (?1, ?2)")?
        .execute(params![realm_id, version])?;
    Ok(())
}

/// The newest `n` versions of the realm's history, newest first.
fn history(c: &Connection, realm_id: i64, n: i64) -> Result<Vec<i64>> {
    Ok(c.prepare_cached("SELECT version FROM component_activations WHERE realm_id = ?1 ORDER BY pk DESC LIMIT ?2")?
        .query_map(params![realm_id, n], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn running(c: &Connection, realm_id: i64) -> Result<i64> {
    Ok(c.prepare_cached("SELECT component_version FROM realms WHERE id = ?1")?.query_row([realm_id], |r| r.get(0))?)
}

fn set_current(c: &Connection, realm_id: i64, version: i64) -> Result<()> {
    c.prepare_cached(
        "UPDATE realms SET component_version = ?2, settings_version = settings_version + 1 WHERE id = ?1",
    )?
    .execute(params![realm_id, version])?;
    Ok(())
}

/// The version that ran before the current one (`None`: there is none to go back to). The
/// history's first entry was preceded by the built-in engine; realms from before the history
/// was kept fall back to the next lower version.
pub fn previous(c: &Connection, realm_id: i64, current: i64) -> Result<Option<i64>> {
    let before = match history(c, realm_id, 2)?.as_slice() {
        [top, before, ..] if *top == current => Some(*before),
        [top] if *top == current => Some(0),
        _ => deployments(c, realm_id)?.iter().map(|d| d.version).filter(|v| *v < current).max().or(Some(0)),
    };
    Ok(before.filter(|v| *v != current))
}

/// Steps back: the current version leaves the history and `to` (from `previous`) runs.
pub fn step_back(c: &Connection, realm_id: i64, current: i64, to: i64) -> Result<()> {
    if running(c, realm_id)? != current || previous(c, realm_id, current)? != Some(to) {
        return Err(Error::Conflict("the realm's component changed meanwhile; roll back again".into()));
    }
    c.prepare_cached(
        "DELETE FROM component_activations WHERE pk = \
         (SELECT MAX(pk) FROM component_activations WHERE realm_id = ?1) AND version = ?2",
    )?
    .execute(params![realm_id, current])?;
    set_current(c, realm_id, to)
}

pub fn deployment(c: &Connection, realm_id: i64, version: i64) -> Result<Option<Deployment>> {
    Ok(c.prepare_cached(
        "SELECT version, hash, api_version, name, size, deployed_at, deployed_by FROM components \
         WHERE realm_id = ?1 AND version = ?2",
    )?
    .query_row(params![realm_id, version], deployment_row)
    .optional()?)
}

pub fn deployments(c: &Connection, realm_id: i64) -> Result<Vec<Deployment>> {
    let mut st = c.prepare_cached(
        "SELECT version, hash, api_version, name, size, deployed_at, deployed_by FROM components \
         WHERE realm_id = ?1 ORDER BY version",
    )?;
    let rows = st.query_map([realm_id], deployment_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl Store {
    /// The bytes of a deployed version.
    pub fn component_wasm(&self, realm_id: i64, version: i64) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT wasm FROM components WHERE realm_id = ?1 AND version = ?2")?
                .query_row(params![realm_id, version], |r| r.get(0))
                .optional()?)
        })
    }
}
