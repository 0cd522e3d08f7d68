//! External token issuers a realm trusts: an Entra ID tenant, say, whose access tokens are
//! accepted without a secret of ours, checked against its JWKS and audience.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, now_ms};
use crate::error::{Error, Result};

/// A trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    pub id: String,
    pub issuer: String,
    /// The `aud` tokens must carry, when set.
    pub audience: Option<String>,
    /// The issuer's keys as a JWKS document, given inline…
    pub jwks: Option<String>,
    /// …or as a file the server reads.
    pub jwks_file: Option<String>,
    /// The `realm-management` roles its tokens are granted.
    pub roles: Vec<String>,
}

fn issuer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrustedIssuer> {
    let roles: String = r.get(5)?;
    Ok(TrustedIssuer {
        id: r.get(0)?,
        issuer: r.get(1)?,
        audience: r.get(2)?,
        jwks: r.get(3)?,
        jwks_file: r.get(4)?,
        roles: roles.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
    })
}

pub fn create(c: &Connection, realm_id: i64, t: &TrustedIssuer) -> Result<()> {
    if t.issuer.trim().is_empty() {
        return Err(Error::InvalidValue("issuer is required".into()));
    }
    if t.jwks.is_none() == t.jwks_file.is_none() {
        return Err(Error::InvalidValue("give the issuer's keys as exactly one of jwks or jwksFile".into()));
    }
    let exists: Option<i64> = c
        .prepare_cached("SELECT pk FROM trusted_issuers WHERE realm_id = ?1 AND issuer = ?2")?
        .query_row(params![realm_id, t.issuer], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(Error::Uniqueness(format!("issuer '{}' is already trusted", t.issuer)));
    }
    c.prepare_cached(
        "INSERT INTO trusted_issuers (realm_id, id, issuer, audience, jwks, jwks_file, roles, created) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![realm_id, t.id, t.issuer, t.audience, t.jwks, t.jwks_file, t.roles.join(","), now_ms()])?;
    Ok(())
}

pub fn delete(c: &Connection, realm_id: i64, id: &str) -> Result<bool> {
    Ok(c.prepare_cached("DELETE FROM trusted_issuers WHERE realm_id = ?1 AND id = ?2")?
        .execute(params![realm_id, id])?
        > 0)
}

impl Store {
    pub fn trusted_issuers(&self, realm_id: i64) -> Result<Vec<TrustedIssuer>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, issuer, audience, jwks, jwks_file, roles FROM trusted_issuers WHERE realm_id = ?1 ORDER BY issuer",
            )?;
            let rows = st.query_map([realm_id], issuer_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
