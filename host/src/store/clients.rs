//! OAuth clients, shaped like Keycloak's: every realm has a `realm-management` client whose
//! roles (`manage-users`, `view-users`, …, see `roles`) grant access to the realm's SCIM and
//! admin APIs; a client with service accounts has a realm user, `service-account-<clientId>`,
//! that roles are mapped to.

use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::roles;
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

impl Client {
    /// Whether the client may use the `password` grant (Keycloak's `directAccessGrantsEnabled`,
    /// off unless set; `admin-cli` has it).
    pub fn direct_access_grants(&self) -> bool {
        matches!(self.attributes.get(DIRECT_ACCESS_GRANTS), Some(Value::Bool(true)))
            || matches!(self.attributes.get(DIRECT_ACCESS_GRANTS), Some(Value::String(s)) if s == "true")
    }
}

/// The representation field that lets a client use the `password` grant.
pub const DIRECT_ACCESS_GRANTS: &str = "directAccessGrantsEnabled";

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
    roles::delete_client_roles(c, client.realm_id, client.pk)?;
    if let Some(user_pk) = client.service_account_user_pk {
        // Its role mappings and sessions go with it (schema triggers).
        c.prepare_cached("DELETE FROM users WHERE pk = ?1 AND realm_id = ?2 AND service_account = 1")?
            .execute(params![user_pk, client.realm_id])?;
    }
    c.prepare_cached("DELETE FROM clients WHERE pk = ?1")?.execute([client.pk])?;
    Ok(())
}

/// Checks a client's secret; `None` (an unknown client) is checked against a stored form of
/// no secret at the same cost, so an unknown client answers like a wrong secret, as slowly.
pub fn check_secret(c: &Connection, client: Option<&Client>, secret: &str) -> Result<bool> {
    static NOBODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let Some(client) = client else {
        let nobody = NOBODY.get_or_init(|| hash_secret(&generate_secret()));
        secret_matches(nobody, secret);
        return Ok(false);
    };
    let stored: Option<String> =
        c.prepare_cached("SELECT secret_hash FROM clients WHERE pk = ?1")?.query_row([client.pk], |r| r.get(0))?;
    Ok(stored.is_some_and(|s| secret_matches(&s, secret)))
}

impl Store {
    pub fn client_by_client_id(&self, realm_id: i64, client_id: &str) -> Result<Option<Client>> {
        self.read(|c| client_by_client_id(c, realm_id, client_id))
    }
}
