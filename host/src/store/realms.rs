//! Realms and the secret tokens that grant access to them. A new realm comes with what
//! Keycloak gives one: the `realm-management` client and its roles, and a signing key; the
//! `master` realm also gets the `admin` realm role and the `admin-cli` client.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::accounts;
use super::clients::{self, ADMIN_CLI, ADMIN_ROLE, MANAGEMENT_ROLES, NewClient, REALM_MANAGEMENT};
use super::roles::{self, Holder};
use super::{Store, keys, now_ms};
use crate::error::{Error, Result};

/// The realm that holds the server's administrators.
pub const MASTER: &str = "master";

/// A realm as the host needs it on every request.
#[derive(Debug, Clone, PartialEq)]
pub struct Realm {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub scim_enabled: bool,
    /// How literally the realm's engine reads the RFCs.
    pub compatibility: Compatibility,
    /// The rest of the realm's representation, kept as given.
    pub attributes: Map<String, Value>,
    /// The deployed engine component in use (0: the built-in one).
    pub component_version: i64,
    /// The realm's user profile (Keycloak's shape, see the engine's `profile`).
    pub profile: Option<Value>,
    /// Extension schemas the realm declares.
    pub extensions: Option<Value>,
    /// Changes with every change of what the realm's engine is configured with.
    pub settings_version: i64,
}

/// What a secret token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub realm_id: i64,
    /// The realm's name, read with the token so that a request needs no second query.
    pub realm: String,
    /// Whether the realm is enabled: a disabled realm's tokens are refused everywhere.
    pub realm_enabled: bool,
    pub roles: Vec<String>,
}

/// A new realm's settings.
#[derive(Debug, Clone)]
pub struct NewRealm {
    pub name: String,
    pub enabled: bool,
    pub scim_enabled: bool,
    pub compatibility: Compatibility,
    pub attributes: Map<String, Value>,
}

impl NewRealm {
    pub fn named(name: &str) -> NewRealm {
        NewRealm {
            name: name.to_string(),
            enabled: true,
            // The master realm holds the server's administrators: no SCIM client provisions it.
            scim_enabled: name != MASTER,
            compatibility: Compatibility::Entra,
            attributes: Map::new(),
        }
    }
}

fn realm_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Realm> {
    let attributes: String = r.get(5)?;
    Ok(Realm {
        id: r.get(0)?,
        name: r.get(1)?,
        enabled: r.get(2)?,
        scim_enabled: r.get(3)?,
        compatibility: r.get(4)?,
        attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        component_version: r.get(6)?,
        profile: r.get::<_, Option<String>>(7)?.and_then(|t| serde_json::from_str(&t).ok()),
        extensions: r.get::<_, Option<String>>(8)?.and_then(|t| serde_json::from_str(&t).ok()),
        settings_version: r.get(9)?,
    })
}

const REALM_COLUMNS: &str = "id, name, enabled, scim_enabled, compatibility, attributes, component_version, profile, extensions, settings_version";

/// Sets the realm's user profile (`None` removes it).
pub fn set_profile(c: &Connection, realm_id: i64, profile: Option<&Value>) -> Result<()> {
    c.prepare_cached("UPDATE realms SET profile = ?2, settings_version = settings_version + 1 WHERE id = ?1")?
        .execute(params![realm_id, profile.map(Value::to_string)])?;
    Ok(())
}

/// Sets the realm's extension schemas (`None` removes them).
pub fn set_extensions(c: &Connection, realm_id: i64, extensions: Option<&Value>) -> Result<()> {
    c.prepare_cached("UPDATE realms SET extensions = ?2, settings_version = settings_version + 1 WHERE id = ?1")?
        .execute(params![realm_id, extensions.map(Value::to_string)])?;
    Ok(())
}

pub fn valid_realm_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// How literally a realm's engine reads the RFCs: the WIT's `compatibility`, stored as its
/// name (`entra`, `strict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compatibility {
    /// What Microsoft Entra ID and Okta really send is accepted. The default.
    Entra,
    /// RFC 7643 / RFC 7644 as written.
    Strict,
}

impl Compatibility {
    pub fn parse(name: &str) -> Result<Compatibility> {
        match name {
            "entra" => Ok(Compatibility::Entra),
            "strict" => Ok(Compatibility::Strict),
            other => Err(Error::InvalidValue(format!("compatibility must be entra or strict, not '{other}'"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compatibility::Entra => "entra",
            Compatibility::Strict => "strict",
        }
    }
}

impl std::fmt::Display for Compatibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::ToSql for Compatibility {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Compatibility {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        // Only a hand edit stores anything else (every writer parses): such a realm fails
        // loudly rather than running in the tolerant mode.
        Compatibility::parse(v.as_str()?).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

pub fn realm_by_id(c: &Connection, id: i64) -> Result<Option<Realm>> {
    Ok(c.prepare_cached(&format!("SELECT {REALM_COLUMNS} FROM realms WHERE id = ?1"))?
        .query_row([id], realm_row)
        .optional()?)
}

pub fn realm_by_name(c: &Connection, name: &str) -> Result<Option<Realm>> {
    Ok(c.prepare_cached(&format!("SELECT {REALM_COLUMNS} FROM realms WHERE name = ?1"))?
        .query_row([name], realm_row)
        .optional()?)
}

/// Creates a realm with its `realm-management` client, roles and signing key.
/// The master realm's SCIM API stays off: its users are the server's administrators, and a
/// SCIM token could otherwise reset their passwords.
fn check_master_scim(name: &str, scim_enabled: bool) -> Result<()> {
    if name == MASTER && scim_enabled {
        return Err(Error::InvalidValue("the master realm holds the administrators; its SCIM API stays off".into()));
    }
    Ok(())
}

pub fn create_realm(c: &Connection, new: NewRealm) -> Result<Realm> {
    if !valid_realm_name(&new.name) {
        return Err(Error::InvalidValue(format!(
            "'{}' is not a valid realm name (letters, digits, '-', '_' and '.', at most 100)",
            new.name
        )));
    }
    if realm_by_name(c, &new.name)?.is_some() {
        return Err(Error::Uniqueness(format!("realm '{}' already exists", new.name)));
    }
    check_master_scim(&new.name, new.scim_enabled)?;
    c.execute(
        "INSERT INTO realms (name, enabled, scim_enabled, compatibility, created, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            new.name,
            new.enabled,
            new.scim_enabled,
            new.compatibility,
            now_ms(),
            Value::Object(new.attributes.clone()).to_string()
        ],
    )?;
    let realm_id = c.last_insert_rowid();
    let (management, _) = clients::create_client(
        c,
        realm_id,
        NewClient { client_id: REALM_MANAGEMENT.into(), enabled: true, ..Default::default() },
    )?;
    for (role, description) in MANAGEMENT_ROLES {
        roles::create_role(c, realm_id, management.pk, role, Some(description))?;
    }
    if new.name == MASTER {
        roles::create_role(c, realm_id, 0, ADMIN_ROLE, Some("Administrator of every realm"))?;
        let mut attributes = Map::new();
        attributes.insert(clients::DIRECT_ACCESS_GRANTS.into(), Value::Bool(true));
        clients::create_client(
            c,
            realm_id,
            NewClient {
                client_id: ADMIN_CLI.into(),
                enabled: true,
                public_client: true,
                attributes,
                ..Default::default()
            },
        )?;
    }
    keys::create(c, realm_id)?;
    realm_by_name(c, &new.name)?.ok_or_else(|| Error::Internal("a realm vanished".into()))
}

/// What an update may change about a realm.
#[derive(Debug, Clone, Default)]
pub struct RealmChanges {
    pub enabled: Option<bool>,
    pub scim_enabled: Option<bool>,
    pub compatibility: Option<Compatibility>,
    pub attributes: Option<Map<String, Value>>,
}

pub fn update_realm(c: &Connection, realm: &Realm, changes: RealmChanges) -> Result<Realm> {
    check_master_scim(&realm.name, changes.scim_enabled.unwrap_or(realm.scim_enabled))?;
    // Disabling the master realm would lock every administrator out of the server.
    if realm.name == MASTER && changes.enabled == Some(false) {
        return Err(Error::InvalidValue("the master realm holds the administrators; it cannot be disabled".into()));
    }
    c.prepare_cached(
        "UPDATE realms SET enabled = ?2, scim_enabled = ?3, compatibility = COALESCE(?4, compatibility), attributes = ?5, \
         settings_version = settings_version + 1 WHERE id = ?1",
    )?
    .execute(params![
        realm.id,
        changes.enabled.unwrap_or(realm.enabled),
        changes.scim_enabled.unwrap_or(realm.scim_enabled),
        changes.compatibility,
        Value::Object(changes.attributes.unwrap_or_else(|| realm.attributes.clone())).to_string(),
    ])?;
    realm_by_name(c, &realm.name)?.ok_or_else(|| Error::Internal("a realm vanished".into()))
}

/// Deletes a realm and everything in it.
pub fn delete_realm(c: &Connection, realm: &Realm) -> Result<()> {
    if realm.name == MASTER {
        return Err(Error::InvalidValue("the master realm cannot be deleted".into()));
    }
    let id = realm.id;
    c.execute("DELETE FROM memberships WHERE group_pk IN (SELECT pk FROM groups WHERE realm_id = ?1)", [id])?;
    c.execute(
        "DELETE FROM role_mappings WHERE user_pk IN (SELECT pk FROM users WHERE realm_id = ?1) \
         OR role_pk IN (SELECT pk FROM roles WHERE realm_id = ?1)",
        [id],
    )?;
    c.execute(
        "DELETE FROM group_role_mappings WHERE group_pk IN (SELECT pk FROM groups WHERE realm_id = ?1) \
         OR role_pk IN (SELECT pk FROM roles WHERE realm_id = ?1)",
        [id],
    )?;
    for table in [
        "user_attributes",
        "group_attributes",
        "users",
        "groups",
        "resource_counts",
        "roles",
        "clients",
        "signing_keys",
        "trusted_issuers",
        "tokens",
        "admin_events",
        "components",
        "component_activations",
        "sessions",
    ] {
        c.execute(&format!("DELETE FROM {table} WHERE realm_id = ?1"), [id])?;
    }
    c.execute("DELETE FROM realms WHERE id = ?1", [id])?;
    Ok(())
}

pub fn realms(c: &Connection) -> Result<Vec<Realm>> {
    let mut st = c.prepare(&format!("SELECT {REALM_COLUMNS} FROM realms ORDER BY name"))?;
    let rows = st.query_map([], realm_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl Store {
    /// Creates a realm (offline commands and tests).
    pub fn create_realm(&self, name: &str, compatibility: &str) -> Result<Realm> {
        let new = NewRealm { compatibility: Compatibility::parse(compatibility)?, ..NewRealm::named(name) };
        self.write_blocking(move |c| create_realm(c, new.clone()))
    }

    pub fn set_realm_compatibility(&self, name: &str, compatibility: &str) -> Result<()> {
        let (name, compatibility) = (name.to_string(), Compatibility::parse(compatibility)?);
        self.write_blocking(move |c| {
            let realm =
                realm_by_name(c, &name)?.ok_or_else(|| Error::NotFound(format!("realm '{name}' does not exist")))?;
            update_realm(c, &realm, RealmChanges { compatibility: Some(compatibility), ..Default::default() })?;
            Ok(())
        })
    }

    pub fn realm(&self, name: &str) -> Result<Option<Realm>> {
        self.read(|c| realm_by_name(c, name))
    }

    pub fn realms(&self) -> Result<Vec<Realm>> {
        self.read(realms)
    }

    /// The ids of every realm.
    pub fn realm_ids(&self) -> Result<Vec<i64>> {
        self.read(|c| {
            let ids = c
                .prepare_cached("SELECT id FROM realms")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ids)
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
                .prepare_cached(
                    "SELECT t.id, t.realm_id, t.roles, r.name, r.enabled FROM tokens t JOIN realms r ON r.id = t.realm_id \
                     WHERE t.hash = ?1",
                )?
                .query_row([hash], |r| {
                    Ok(TokenInfo {
                        id: r.get(0)?,
                        realm_id: r.get(1)?,
                        roles: r.get::<_, String>(2)?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                        realm: r.get(3)?,
                        realm_enabled: r.get(4)?,
                    })
                })
                .optional()?;
            Ok(row)
        })
    }

    /// On first start with `SCIMD_ADMIN` / `SCIMD_ADMIN_PASSWORD`: the master realm (made if
    /// missing) gets that administrator. Returns whether an administrator was created.
    pub fn bootstrap_admin(&self, username: &str, password_hash: String) -> Result<bool> {
        let username = username.to_string();
        self.write_blocking(move |c| {
            let master = master(c)?;
            if accounts::account_by_username(c, master.id, &username)?.is_some() {
                return Ok(false);
            }
            let admin = accounts::create_account(c, master.id, &username, &password_hash)?;
            grant_admin(c, master.id, admin.pk)?;
            Ok(true)
        })
    }

    /// Recovers a server whose administrators are lost (`scimd bootstrap-admin`, offline):
    /// the master realm's user `username` is made (or, if it exists, enabled and given this
    /// password) and granted the `admin` role (failed logins are counted in memory, so the
    /// restart that follows forgets them). Returns whether the user was new.
    pub fn recover_admin(&self, username: &str, password_hash: String) -> Result<bool> {
        let username = username.to_string();
        self.write_blocking(move |c| {
            let master = master(c)?;
            let (account, created) = match accounts::account_by_username(c, master.id, &username)? {
                Some(a) if a.service_account => {
                    return Err(Error::InvalidValue(format!("'{username}' is a service account; choose another name")));
                }
                Some(a) => {
                    accounts::set_password(c, &a, &password_hash)?;
                    accounts::set_enabled(c, master.id, a.pk, true)?;
                    (a, false)
                }
                None => (accounts::create_account(c, master.id, &username, &password_hash)?, true),
            };
            grant_admin(c, master.id, account.pk)?;
            // The way in is admin-cli: it must be there, enabled, allowed the password grant.
            if let Some(cli) = clients::client_by_client_id(c, master.id, ADMIN_CLI)? {
                let mut attributes = cli.attributes.clone();
                attributes.insert(clients::DIRECT_ACCESS_GRANTS.into(), Value::Bool(true));
                clients::update_client(
                    c,
                    &cli,
                    clients::ClientChanges { enabled: Some(true), attributes: Some(attributes), ..Default::default() },
                )?;
            }
            let realm = realm_by_name(c, MASTER)?.ok_or_else(|| Error::Internal("the master realm vanished".into()))?;
            if !realm.enabled {
                update_realm(c, &realm, RealmChanges { enabled: Some(true), ..Default::default() })?;
            }
            Ok(created)
        })
    }
}

/// The master realm, made if missing.
fn master(c: &Connection) -> Result<Realm> {
    match realm_by_name(c, MASTER)? {
        Some(r) => Ok(r),
        None => create_realm(c, NewRealm::named(MASTER)),
    }
}

/// Grants the master realm's `admin` role to a user of it.
fn grant_admin(c: &Connection, master_id: i64, user_pk: i64) -> Result<()> {
    let role = roles::role_by_name(c, master_id, 0, ADMIN_ROLE)?
        .ok_or_else(|| Error::Internal("the master realm has no admin role".into()))?;
    roles::map_roles(c, master_id, Holder::User(user_pk), &[role])?;
    Ok(())
}
