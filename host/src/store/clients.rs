//! OAuth clients, roles and role mappings, shaped like Keycloak's: every realm has a
//! `realm-management` client whose roles (`manage-users`, `view-users`, …) grant access to
//! the realm's SCIM and admin APIs; a client with service accounts has a realm user,
//! `service-account-<clientId>`, that roles are mapped to.

use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Store, now_ms};
use crate::error::{Error, Result};

/// The client whose roles govern a realm.
pub const REALM_MANAGEMENT: &str = "realm-management";
/// The public client admins log in with (kcadm's `admin-cli`).
pub const ADMIN_CLI: &str = "admin-cli";
/// The roles of `realm-management` scimd understands.
pub const MANAGEMENT_ROLES: &[(&str, &str)] = &[
    ("manage-users", "Create, change and delete users and groups"),
    ("view-users", "Read users and groups"),
    ("query-users", "List and search users"),
    ("query-groups", "List and search groups"),
    ("view-realm", "Read the realm's settings and discovery documents"),
    ("manage-realm", "Change the realm's settings, clients and role mappings"),
];
/// The master realm's role that manages every realm.
pub const ADMIN_ROLE: &str = "admin";

/// A client.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub pk: i64,
    pub realm_id: i64,
    pub id: String,
    pub client_id: String,
    pub enabled: bool,
    pub public_client: bool,
    pub service_accounts_enabled: bool,
    pub has_secret: bool,
    pub secret_generation: i64,
    pub service_account_user_pk: Option<i64>,
    /// The rest of the representation, kept as given.
    pub attributes: Map<String, Value>,
}

/// A role: a realm role (`client_pk` 0) or a client role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub pk: i64,
    pub id: String,
    pub name: String,
    pub client_pk: i64,
    pub description: Option<String>,
}

/// A realm user as the admin API and token endpoint see it.
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
}

/// What a new client is made of.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub client_id: String,
    pub enabled: bool,
    pub public_client: bool,
    pub service_accounts_enabled: bool,
    pub secret: Option<String>,
    pub attributes: Map<String, Value>,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random secret for confidential clients that were given none.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `sha256$<salt>$<digest>`: client secrets are machine credentials checked on every token
/// request, so a salted fast hash, not a password KDF.
fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let digest = Sha256::new().chain_update(salt).chain_update(secret.as_bytes()).finalize();
    format!("sha256${}${}", hex::encode(salt), hex::encode(digest))
}

fn secret_matches(stored: &str, secret: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("sha256"), Some(salt), Some(digest), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(salt), Ok(digest)) = (hex::decode(salt), hex::decode(digest)) else { return false };
    let actual = Sha256::new().chain_update(&salt).chain_update(secret.as_bytes()).finalize();
    // Constant-time comparison.
    actual.len() == digest.len() && actual.iter().zip(&digest).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn client_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Client> {
    let attributes: String = r.get(10)?;
    Ok(Client {
        pk: r.get(0)?,
        realm_id: r.get(1)?,
        id: r.get(2)?,
        client_id: r.get(3)?,
        enabled: r.get(4)?,
        public_client: r.get(5)?,
        service_accounts_enabled: r.get(6)?,
        has_secret: r.get::<_, Option<String>>(7)?.is_some(),
        secret_generation: r.get(8)?,
        service_account_user_pk: r.get(9)?,
        attributes: serde_json::from_str(&attributes).unwrap_or_default(),
    })
}

const CLIENT_COLUMNS: &str = "pk, realm_id, id, client_id, enabled, public_client, service_accounts_enabled, \
     secret_hash, secret_generation, service_account_user_pk, attributes";

fn role_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role { pk: r.get(0)?, id: r.get(1)?, name: r.get(2)?, client_pk: r.get(3)?, description: r.get(4)? })
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
    })
}

const ACCOUNT_COLUMNS: &str =
    "pk, id, username, enabled, service_account, password_hash, email, first_name, last_name, created";

pub fn client_by_client_id(c: &Connection, realm_id: i64, client_id: &str) -> Result<Option<Client>> {
    Ok(c.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE realm_id = ?1 AND client_id = ?2"))?
        .query_row(params![realm_id, client_id], client_row)
        .optional()?)
}

pub fn client_by_id(c: &Connection, realm_id: i64, id: &str) -> Result<Option<Client>> {
    Ok(c.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE realm_id = ?1 AND id = ?2"))?
        .query_row(params![realm_id, id], client_row)
        .optional()?)
}

pub fn clients(c: &Connection, realm_id: i64) -> Result<Vec<Client>> {
    let mut st =
        c.prepare_cached(&format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE realm_id = ?1 ORDER BY client_id"))?;
    let rows = st.query_map([realm_id], client_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Creates a client (and its service-account user when asked for). Returns it with the
/// secret it was given or a generated one, for confidential clients.
pub fn create_client(c: &Connection, realm_id: i64, new: NewClient) -> Result<(Client, Option<String>)> {
    if new.client_id.trim().is_empty() {
        return Err(Error::InvalidValue("clientId is required".into()));
    }
    if client_by_client_id(c, realm_id, &new.client_id)?.is_some() {
        return Err(Error::Uniqueness(format!("a client with clientId '{}' already exists", new.client_id)));
    }
    if new.public_client && new.service_accounts_enabled {
        return Err(Error::InvalidValue("a public client cannot have service accounts".into()));
    }
    let secret = if new.public_client { None } else { Some(new.secret.unwrap_or_else(generate_secret)) };
    let id = uuid();
    c.prepare_cached(
        "INSERT INTO clients (realm_id, id, client_id, enabled, public_client, service_accounts_enabled, secret_hash, \
         secret_generation, attributes, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9)",
    )?
    .execute(params![
        realm_id,
        id,
        new.client_id,
        new.enabled,
        new.public_client,
        new.service_accounts_enabled,
        secret.as_deref().map(hash_secret),
        Value::Object(new.attributes).to_string(),
        now_ms(),
    ])?;
    let pk = c.last_insert_rowid();
    if new.service_accounts_enabled {
        ensure_service_account(c, realm_id, pk, &new.client_id)?;
    }
    let client = client_by_id(c, realm_id, &id)?.ok_or_else(|| Error::Internal("a client vanished".into()))?;
    Ok((client, secret))
}

/// The service-account user of a client, made if missing.
fn ensure_service_account(c: &Connection, realm_id: i64, client_pk: i64, client_id: &str) -> Result<i64> {
    let existing: Option<i64> = c
        .prepare_cached("SELECT service_account_user_pk FROM clients WHERE pk = ?1")?
        .query_row([client_pk], |r| r.get(0))?;
    if let Some(pk) = existing {
        return Ok(pk);
    }
    let username = format!("service-account-{}", client_id.to_lowercase());
    let now = now_ms();
    let inserted = c
        .prepare_cached(
            "INSERT INTO users (realm_id, id, username, username_ci, enabled, created, last_modified, version, \
             service_account) VALUES (?1, ?2, ?3, ?3, 1, ?4, ?4, 1, 1)",
        )?
        .execute(params![realm_id, uuid(), username, now]);
    match inserted {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
            return Err(Error::Uniqueness(format!("a user named '{username}' already exists in this realm")));
        }
        Err(e) => return Err(e.into()),
    }
    let user_pk = c.last_insert_rowid();
    c.prepare_cached("UPDATE clients SET service_account_user_pk = ?2 WHERE pk = ?1")?.execute([client_pk, user_pk])?;
    Ok(user_pk)
}

/// What an update may change about a client.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub enabled: Option<bool>,
    pub public_client: Option<bool>,
    pub service_accounts_enabled: Option<bool>,
    pub secret: Option<String>,
    pub attributes: Option<Map<String, Value>>,
}

pub fn update_client(c: &Connection, client: &Client, changes: ClientChanges) -> Result<Client> {
    let public = changes.public_client.unwrap_or(client.public_client);
    let service = changes.service_accounts_enabled.unwrap_or(client.service_accounts_enabled);
    if public && service {
        return Err(Error::InvalidValue("a public client cannot have service accounts".into()));
    }
    c.prepare_cached(
        "UPDATE clients SET enabled = ?2, public_client = ?3, service_accounts_enabled = ?4, attributes = ?5 \
         WHERE pk = ?1",
    )?
    .execute(params![
        client.pk,
        changes.enabled.unwrap_or(client.enabled),
        public,
        service,
        Value::Object(changes.attributes.unwrap_or_else(|| client.attributes.clone())).to_string(),
    ])?;
    if let Some(secret) = changes.secret {
        set_secret(c, client.pk, &secret)?;
    }
    if service {
        ensure_service_account(c, client.realm_id, client.pk, &client.client_id)?;
    }
    client_by_id(c, client.realm_id, &client.id)?.ok_or_else(|| Error::Internal("a client vanished".into()))
}

/// Gives a client a new secret; tokens issued under the old one stop working.
pub fn set_secret(c: &Connection, client_pk: i64, secret: &str) -> Result<()> {
    c.prepare_cached("UPDATE clients SET secret_hash = ?2, secret_generation = secret_generation + 1 WHERE pk = ?1")?
        .execute(params![client_pk, hash_secret(secret)])?;
    Ok(())
}

/// Deletes a client with its roles, their mappings and its service-account user.
pub fn delete_client(c: &Connection, client: &Client) -> Result<()> {
    c.prepare_cached("DELETE FROM role_mappings WHERE role_pk IN (SELECT pk FROM roles WHERE client_pk = ?1)")?
        .execute([client.pk])?;
    c.prepare_cached("DELETE FROM roles WHERE client_pk = ?1")?.execute([client.pk])?;
    if let Some(user_pk) = client.service_account_user_pk {
        c.prepare_cached("DELETE FROM role_mappings WHERE user_pk = ?1")?.execute([user_pk])?;
        c.prepare_cached("DELETE FROM users WHERE pk = ?1 AND service_account = 1")?.execute([user_pk])?;
    }
    c.prepare_cached("DELETE FROM clients WHERE pk = ?1")?.execute([client.pk])?;
    Ok(())
}

/// Checks a client's secret.
pub fn check_secret(c: &Connection, client: &Client, secret: &str) -> Result<bool> {
    let stored: Option<String> =
        c.prepare_cached("SELECT secret_hash FROM clients WHERE pk = ?1")?.query_row([client.pk], |r| r.get(0))?;
    Ok(stored.is_some_and(|s| secret_matches(&s, secret)))
}

pub fn create_role(
    c: &Connection,
    realm_id: i64,
    client_pk: i64,
    name: &str,
    description: Option<&str>,
) -> Result<Role> {
    let existing = role_by_name(c, realm_id, client_pk, name)?;
    if existing.is_some() {
        return Err(Error::Uniqueness(format!("role '{name}' already exists")));
    }
    let id = uuid();
    c.prepare_cached("INSERT INTO roles (realm_id, id, client_pk, name, description) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![realm_id, id, client_pk, name, description])?;
    Ok(Role {
        pk: c.last_insert_rowid(),
        id,
        name: name.to_string(),
        client_pk,
        description: description.map(str::to_string),
    })
}

pub fn role_by_name(c: &Connection, realm_id: i64, client_pk: i64, name: &str) -> Result<Option<Role>> {
    Ok(c.prepare_cached(
        "SELECT pk, id, name, client_pk, description FROM roles WHERE realm_id = ?1 AND client_pk = ?2 AND name = ?3",
    )?
    .query_row(params![realm_id, client_pk, name], role_row)
    .optional()?)
}

/// The roles of a client (or, with `client_pk` 0, the realm roles).
pub fn roles(c: &Connection, realm_id: i64, client_pk: i64) -> Result<Vec<Role>> {
    let mut st = c.prepare_cached(
        "SELECT pk, id, name, client_pk, description FROM roles WHERE realm_id = ?1 AND client_pk = ?2 ORDER BY name",
    )?;
    let rows = st.query_map(params![realm_id, client_pk], role_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Grants roles to a user; returns how many were new.
pub fn map_roles(c: &Connection, user_pk: i64, roles: &[Role]) -> Result<usize> {
    let mut added = 0;
    for r in roles {
        added += c
            .prepare_cached("INSERT OR IGNORE INTO role_mappings (user_pk, role_pk) VALUES (?1, ?2)")?
            .execute([user_pk, r.pk])?;
    }
    Ok(added)
}

pub fn unmap_roles(c: &Connection, user_pk: i64, roles: &[Role]) -> Result<usize> {
    let mut removed = 0;
    for r in roles {
        removed += c
            .prepare_cached("DELETE FROM role_mappings WHERE user_pk = ?1 AND role_pk = ?2")?
            .execute([user_pk, r.pk])?;
    }
    Ok(removed)
}

/// The roles mapped to a user, with the clientId of client roles.
pub fn user_roles(c: &Connection, user_pk: i64) -> Result<Vec<(Option<String>, Role)>> {
    let mut st = c.prepare_cached(
        "SELECT r.pk, r.id, r.name, r.client_pk, r.description, cl.client_id FROM role_mappings m \
         JOIN roles r ON r.pk = m.role_pk LEFT JOIN clients cl ON cl.pk = r.client_pk \
         WHERE m.user_pk = ?1 ORDER BY cl.client_id, r.name",
    )?;
    let rows = st
        .query_map([user_pk], |r| Ok((r.get::<_, Option<String>>(5)?, role_row(r)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

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

pub fn account_by_pk(c: &Connection, pk: i64) -> Result<Option<Account>> {
    Ok(c.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE pk = ?1"))?
        .query_row([pk], account_row)
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
    let id = uuid();
    c.prepare_cached(
        "INSERT INTO users (realm_id, id, username, username_ci, enabled, created, last_modified, version, \
         password_hash) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, 1, ?6)",
    )?
    .execute(params![realm_id, id, username, username.to_lowercase(), now, password_hash])?;
    account_by_id(c, realm_id, &id)?.ok_or_else(|| Error::Internal("a user vanished".into()))
}

impl Store {
    pub fn client_by_client_id(&self, realm_id: i64, client_id: &str) -> Result<Option<Client>> {
        self.read(|c| client_by_client_id(c, realm_id, client_id))
    }
}
