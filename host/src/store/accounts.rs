//! Realm users as the admin API and the token endpoint see them ("accounts"): the same rows
//! SCIM serves as `/Users`, plus service-account users, with their password hashes. Changes
//! made here bump the row's version like SCIM writes do, so SCIM clients see new ETags.

use rusqlite::{Connection, OptionalExtension, params};

use super::now_ms;
use crate::error::{Error, Result};

/// A realm user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub pk: i64,
    pub id: String,
    pub username: String,
    pub enabled: bool,
    pub service_account: bool,
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created: i64,
    /// Holds an administrative role (see `protection`).
    pub protected: bool,
}

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        pk: r.get(0)?,
        id: r.get(1)?,
        username: r.get(2)?,
        enabled: r.get(3)?,
        service_account: r.get(4)?,
        password_hash: r.get(5)?,
        email: r.get(6)?,
        first_name: r.get(7)?,
        last_name: r.get(8)?,
        created: r.get(9)?,
        protected: r.get(10)?,
    })
}

const ACCOUNT_COLUMNS: &str =
    "pk, id, username, enabled, service_account, password_hash, email, first_name, last_name, created, protected";

pub fn account_by_username(c: &Connection, realm_id: i64, username: &str) -> Result<Option<Account>> {
    Ok(c.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE realm_id = ?1 AND username_ci = ?2"))?
        .query_row(params![realm_id, username.to_lowercase()], account_row)
        .optional()?)
}

pub fn account_by_id(c: &Connection, realm_id: i64, id: &str) -> Result<Option<Account>> {
    Ok(c.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE realm_id = ?1 AND id = ?2"))?
        .query_row(params![realm_id, id], account_row)
        .optional()?)
}

pub fn account_by_pk(c: &Connection, realm_id: i64, pk: i64) -> Result<Option<Account>> {
    Ok(c.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE realm_id = ?1 AND pk = ?2"))?
        .query_row([realm_id, pk], account_row)
        .optional()?)
}

/// Realm users for the admin API, service accounts included, by username prefix.
pub fn accounts(
    c: &Connection,
    realm_id: i64,
    username: Option<&str>,
    exact: bool,
    first: i64,
    max: i64,
) -> Result<Vec<Account>> {
    let (cond, value) = match username {
        Some(u) if exact => ("AND username_ci = ?2", u.to_lowercase()),
        Some(u) => ("AND instr(username_ci, ?2) > 0", u.to_lowercase()),
        None => ("AND ?2 = ?2", String::new()),
    };
    let mut st = c.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users WHERE realm_id = ?1 {cond} ORDER BY username_ci LIMIT ?3 OFFSET ?4"
    ))?;
    let rows =
        st.query_map(params![realm_id, value, max, first], account_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Makes a realm user that logs in with a password (the bootstrap admin).
pub fn create_account(c: &Connection, realm_id: i64, username: &str, password_hash: &str) -> Result<Account> {
    let now = now_ms();
    let id = uuid::Uuid::new_v4().to_string();
    c.prepare_cached(
        "INSERT INTO users (realm_id, id, username, username_ci, enabled, created, last_modified, version, \
         password_hash) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, 1, ?6)",
    )?
    .execute(params![realm_id, id, username, username.to_lowercase(), now, password_hash])?;
    super::resources::bump_count(c, realm_id, crate::runtime::bindings::ResourceKind::User, 1)?;
    account_by_id(c, realm_id, &id)?.ok_or_else(|| Error::Internal("a user vanished".into()))
}

/// What the admin API may change about a user (Keycloak's `UserRepresentation` fields scimd
/// keeps in columns). `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    pub username: Option<String>,
    pub enabled: Option<bool>,
    pub email: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
}

/// Applies changes to a user — only the fields given, so that a concurrent change of another
/// field stands — with a new version for SCIM's ETags. Disabling ends its sessions (a schema
/// trigger).
pub fn update_account(c: &Connection, account: &Account, changes: AccountChanges) -> Result<()> {
    use rusqlite::types::Value as SqlValue;
    let mut sets = vec!["version = version + 1".to_string(), "last_modified = ?2".to_string()];
    let mut values = vec![SqlValue::Integer(account.pk), SqlValue::Integer(now_ms())];
    let mut set = |column: &str, v: SqlValue| {
        values.push(v);
        sets.push(format!("{column} = ?{}", values.len()));
    };
    let text = |v: &Option<String>| v.clone().map(SqlValue::Text).unwrap_or(SqlValue::Null);
    let folded = |v: &Option<String>| v.as_ref().map(|s| SqlValue::Text(s.to_lowercase())).unwrap_or(SqlValue::Null);
    if let Some(u) = &changes.username {
        if u.trim().is_empty() {
            return Err(Error::InvalidValue("username cannot be empty".into()));
        }
        set("username", SqlValue::Text(u.clone()));
        set("username_ci", SqlValue::Text(u.to_lowercase()));
    }
    if let Some(e) = changes.enabled {
        set("enabled", SqlValue::Integer(i64::from(e)));
    }
    for (column, value) in
        [("email", &changes.email), ("first_name", &changes.first_name), ("last_name", &changes.last_name)]
    {
        if let Some(v) = value {
            set(column, text(v));
            set(&format!("{column}_ci"), folded(v));
        }
    }
    let sql = format!("UPDATE users SET {} WHERE pk = ?1", sets.join(", "));
    match c.prepare(&sql)?.execute(rusqlite::params_from_iter(values.iter())) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
            Err(Error::Uniqueness(format!(
                "username '{}' is already taken in this realm",
                changes.username.as_deref().unwrap_or(&account.username)
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets a user's password hash; its sessions end (a schema trigger).
pub fn set_password(c: &Connection, account: &Account, password_hash: &str) -> Result<()> {
    c.prepare_cached("UPDATE users SET password_hash = ?2, version = version + 1, last_modified = ?3 WHERE pk = ?1")?
        .execute(params![account.pk, password_hash, now_ms()])?;
    Ok(())
}

/// Sets `enabled` alone (brute-force detection's permanent lockout).
pub fn set_enabled(c: &Connection, realm_id: i64, pk: i64, enabled: bool) -> Result<()> {
    c.prepare_cached(
        "UPDATE users SET enabled = ?3, version = version + 1, last_modified = ?4 WHERE pk = ?2 AND realm_id = ?1",
    )?
    .execute(params![realm_id, pk, enabled, now_ms()])?;
    Ok(())
}
