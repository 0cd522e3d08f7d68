//! The SQLite schema of the realm model. `pk` columns are internal row ids that never leave
//! the host; `id` columns are the resources' public ids. `*_ci` columns hold the Unicode
//! lowercase of their neighbour so case-insensitive comparisons use an index.
//!
//! Keys that other rows point at (realms, users, groups, clients, roles, tokens, sessions) are
//! `AUTOINCREMENT`: a key is never given out twice, so nothing left pointing at a deleted
//! row (a role mapping, a cached verdict, a token's subject) can come to mean a new one.
//!
//! Triggers keep the security model's invariants in the same transaction as the change that
//! calls for them, whichever code path made it: a user disabled, deleted, given a new
//! password or new roles loses its sessions; a client disabled or deleted loses its sessions;
//! and every change that can make a cached authentication verdict wrong bumps `auth_epoch`,
//! which the store publishes after the commit (see `Store::auth_epoch`).

/// The version this build writes. Versions 1 and 2 were development schemas that never
/// shipped: their data directories are refused rather than guessed at. Version 3 is migrated
/// (see `MIGRATIONS`).
pub const SCHEMA_VERSION: i64 = 4;

/// The oldest schema this build migrates from.
pub const OLDEST_MIGRATED: i64 = 3;

pub const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS realms (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    enabled       INTEGER NOT NULL DEFAULT 1,
    scim_enabled  INTEGER NOT NULL DEFAULT 1,
    compatibility TEXT NOT NULL DEFAULT 'entra',
    created       INTEGER NOT NULL,
    -- The rest of the realm's representation (displayName, …), kept and given back as is.
    attributes    TEXT NOT NULL DEFAULT '{}',
    -- The deployed SCIM engine component in use (0: the built-in one).
    component_version INTEGER NOT NULL DEFAULT 0,
    -- The realm's user profile and extension schemas (JSON), given to its SCIM engine.
    profile       TEXT,
    extensions    TEXT,
    -- Bumped with every change of what the realm's engine is built from: engines are keyed
    -- by it (see `realms::engine_key`).
    settings_version INTEGER NOT NULL DEFAULT 0
);

-- SCIM engine components deployed to realms: every version is kept, for rollback.
CREATE TABLE IF NOT EXISTS components (
    pk          INTEGER PRIMARY KEY,
    realm_id    INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    api_version TEXT NOT NULL,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    wasm        BLOB NOT NULL,
    deployed_at INTEGER NOT NULL,
    deployed_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS components_by_version ON components(realm_id, version);

-- The versions each realm was switched to, in order (0: the built-in engine); a rollback
-- without a target steps back along it.
CREATE TABLE IF NOT EXISTS component_activations (
    pk       INTEGER PRIMARY KEY,
    realm_id INTEGER NOT NULL,
    version  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS component_activations_by_realm ON component_activations(realm_id, pk);

-- OAuth clients (Keycloak's). The secret is kept as a salted SHA-256; `secret_generation`
-- goes up with every new secret, and tokens carry the generation they were issued under.
CREATE TABLE IF NOT EXISTS clients (
    pk                       INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id                 INTEGER NOT NULL,
    id                       TEXT NOT NULL,
    client_id                TEXT NOT NULL,
    enabled                  INTEGER NOT NULL DEFAULT 1,
    public_client            INTEGER NOT NULL DEFAULT 0,
    service_accounts_enabled INTEGER NOT NULL DEFAULT 0,
    secret_hash              TEXT,
    secret_generation        INTEGER NOT NULL DEFAULT 0,
    service_account_user_pk  INTEGER,
    attributes               TEXT NOT NULL DEFAULT '{}',
    created                  INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS clients_by_id ON clients(realm_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS clients_by_client_id ON clients(realm_id, client_id);

-- Realm roles (client_pk 0) and client roles.
CREATE TABLE IF NOT EXISTS roles (
    pk          INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id    INTEGER NOT NULL,
    id          TEXT NOT NULL,
    client_pk   INTEGER NOT NULL DEFAULT 0,
    name        TEXT NOT NULL,
    description TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS roles_by_name ON roles(realm_id, client_pk, name);
CREATE UNIQUE INDEX IF NOT EXISTS roles_by_id ON roles(realm_id, id);

CREATE TABLE IF NOT EXISTS role_mappings (
    user_pk INTEGER NOT NULL,
    role_pk INTEGER NOT NULL,
    PRIMARY KEY (user_pk, role_pk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS role_mappings_by_role ON role_mappings(role_pk);

-- Roles granted to a group: its members (and the members of groups inside it) hold them.
CREATE TABLE IF NOT EXISTS group_role_mappings (
    group_pk INTEGER NOT NULL,
    role_pk  INTEGER NOT NULL,
    PRIMARY KEY (group_pk, role_pk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_role_mappings_by_role ON group_role_mappings(role_pk);

-- Login sessions: every token the token endpoint issues belongs to one (`sid`). A refresh
-- token is good only while its `refresh_seq` is the session's; the session ends at
-- `idle_until` (never later than `expires`, the maximum lifespan), or when it is deleted.
CREATE TABLE IF NOT EXISTS sessions (
    pk          INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    realm_id    INTEGER NOT NULL,
    user_pk     INTEGER NOT NULL,
    client_pk   INTEGER NOT NULL,
    started     INTEGER NOT NULL,
    refresh_seq INTEGER NOT NULL DEFAULT 0,
    idle_until  INTEGER NOT NULL,
    expires     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user_pk);
CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions(client_pk);
CREATE INDEX IF NOT EXISTS sessions_by_idle ON sessions(idle_until);

-- One counter, bumped in the transaction of every change that can make a cached
-- authentication verdict wrong (the triggers below).
CREATE TABLE IF NOT EXISTS auth_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT OR IGNORE INTO auth_epoch (id, n) VALUES (1, 0);

-- Another, bumped in the transaction of every change of a realm's row (its settings, profile,
-- extensions, component; its creation and deletion): what the server's cache of realms and
-- their engines is keyed by (see `store::epoch`), so no code path can forget to invalidate it.
CREATE TABLE IF NOT EXISTS realm_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT OR IGNORE INTO realm_epoch (id, n) VALUES (1, 0);

-- Each realm's token signing keys; the newest active key signs, every key verifies.
CREATE TABLE IF NOT EXISTS signing_keys (
    pk          INTEGER PRIMARY KEY,
    realm_id    INTEGER NOT NULL,
    kid         TEXT NOT NULL UNIQUE,
    alg         TEXT NOT NULL,
    private_der BLOB NOT NULL,
    public_jwk  TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS signing_keys_by_realm ON signing_keys(realm_id);

-- External token issuers a realm trusts (e.g. Entra ID), with the roles their tokens get.
CREATE TABLE IF NOT EXISTS trusted_issuers (
    pk        INTEGER PRIMARY KEY,
    realm_id  INTEGER NOT NULL,
    id        TEXT NOT NULL,
    issuer    TEXT NOT NULL,
    audience  TEXT,
    jwks      TEXT,
    jwks_file TEXT,
    roles     TEXT NOT NULL,
    created   INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS trusted_issuers_by_issuer ON trusted_issuers(realm_id, issuer);

-- Every SCIM and admin write: who, where, what, when.
CREATE TABLE IF NOT EXISTS admin_events (
    pk             INTEGER PRIMARY KEY,
    realm_id       INTEGER NOT NULL,
    time           INTEGER NOT NULL,
    operation      TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_path  TEXT NOT NULL,
    auth_realm     TEXT,
    auth_client    TEXT,
    auth_user      TEXT,
    representation TEXT
);
CREATE INDEX IF NOT EXISTS admin_events_by_realm ON admin_events(realm_id, time);

CREATE TABLE IF NOT EXISTS tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id    INTEGER NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    roles       TEXT NOT NULL,
    description TEXT,
    created     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    pk            INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id      INTEGER NOT NULL,
    id            TEXT NOT NULL,
    username      TEXT NOT NULL,
    username_ci   TEXT NOT NULL,
    email         TEXT,
    email_ci      TEXT,
    first_name    TEXT,
    first_name_ci TEXT,
    last_name     TEXT,
    last_name_ci  TEXT,
    enabled       INTEGER NOT NULL,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    password_hash TEXT,
    -- The attributes as one JSON text for reads; `user_attributes` has them for searches.
    attributes    TEXT NOT NULL DEFAULT '[]',
    -- How many groups the user is a direct member of (0: no need to look for relations).
    member_of     INTEGER NOT NULL DEFAULT 0,
    -- Service-account users of clients are realm users, but not SCIM resources.
    service_account INTEGER NOT NULL DEFAULT 0,
    -- 1 when the user holds an administrative role, directly or through a group (see
    -- `protection`): SCIM serves it in minimal form and refuses to change it.
    protected     INTEGER NOT NULL DEFAULT 0
);
-- Every index is paid for on every write: these serve the filters clients really send
-- (userName, name, meta.lastModified for delta syncs) and paging in insertion order
-- (`users_by_id` holds (realm_id, id, pk); an unfiltered page walks `users_by_realm`).
CREATE UNIQUE INDEX IF NOT EXISTS users_by_id ON users(realm_id, id);
CREATE INDEX IF NOT EXISTS users_by_realm ON users(realm_id);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_username ON users(realm_id, username_ci);
CREATE INDEX IF NOT EXISTS users_by_first_name ON users(realm_id, first_name_ci);
CREATE INDEX IF NOT EXISTS users_by_last_name ON users(realm_id, last_name_ci);
CREATE INDEX IF NOT EXISTS users_by_last_modified ON users(realm_id, last_modified);
-- Sorted pages read these in order (see `query::Phase`); email, given and family names are
-- the columns a sort may find empty.
CREATE INDEX IF NOT EXISTS users_by_created ON users(realm_id, created);

CREATE TABLE IF NOT EXISTS user_attributes (
    owner    INTEGER NOT NULL,
    name     TEXT NOT NULL,
    ord      INTEGER NOT NULL,
    realm_id INTEGER NOT NULL,
    value    TEXT NOT NULL,
    value_ci TEXT NOT NULL,
    PRIMARY KEY (owner, name, ord)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_attributes_by_value ON user_attributes(realm_id, name, value_ci);

CREATE TABLE IF NOT EXISTS groups (
    pk            INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id      INTEGER NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_ci       TEXT NOT NULL,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    attributes    TEXT NOT NULL DEFAULT '[]',
    member_of     INTEGER NOT NULL DEFAULT 0,
    -- As for users: the group, or a group it is in, holds an administrative role.
    protected     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS groups_by_id ON groups(realm_id, id);
CREATE INDEX IF NOT EXISTS groups_by_realm ON groups(realm_id);
CREATE UNIQUE INDEX IF NOT EXISTS groups_by_name ON groups(realm_id, name_ci);
CREATE INDEX IF NOT EXISTS groups_by_last_modified ON groups(realm_id, last_modified);
CREATE INDEX IF NOT EXISTS groups_by_created ON groups(realm_id, created);

CREATE TABLE IF NOT EXISTS group_attributes (
    owner    INTEGER NOT NULL,
    name     TEXT NOT NULL,
    ord      INTEGER NOT NULL,
    realm_id INTEGER NOT NULL,
    value    TEXT NOT NULL,
    value_ci TEXT NOT NULL,
    PRIMARY KEY (owner, name, ord)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_attributes_by_value ON group_attributes(realm_id, name, value_ci);

-- member_kind: 0 = user, 1 = group. Direct memberships only.
CREATE TABLE IF NOT EXISTS memberships (
    group_pk    INTEGER NOT NULL,
    member_kind INTEGER NOT NULL,
    member_pk   INTEGER NOT NULL,
    -- The member's `display` as the SCIM client sent it (NULL: none), given back as is.
    display     TEXT,
    PRIMARY KEY (group_pk, member_kind, member_pk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_by_member ON memberships(member_kind, member_pk, group_pk);

-- Resources per realm and kind, so an unfiltered list does not count a million rows.
CREATE TABLE IF NOT EXISTS resource_counts (
    realm_id INTEGER NOT NULL,
    kind     INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (realm_id, kind)
) WITHOUT ROWID;

-- Secrets the server makes for itself on first use (see `secrets`).
CREATE TABLE IF NOT EXISTS server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- The security model's invariants (see the module documentation).
CREATE TRIGGER IF NOT EXISTS sessions_ended AFTER DELETE ON sessions
BEGIN UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS users_disabled AFTER UPDATE OF enabled ON users
WHEN NEW.enabled = 0 AND OLD.enabled <> 0
BEGIN DELETE FROM sessions WHERE user_pk = NEW.pk; UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS users_enabled AFTER UPDATE OF enabled ON users
WHEN NEW.enabled <> 0 AND OLD.enabled = 0
BEGIN UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS users_repassworded AFTER UPDATE OF password_hash ON users
WHEN OLD.password_hash IS NOT NEW.password_hash
BEGIN DELETE FROM sessions WHERE user_pk = NEW.pk; UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS users_deleted AFTER DELETE ON users
BEGIN
    DELETE FROM sessions WHERE user_pk = OLD.pk;
    DELETE FROM role_mappings WHERE user_pk = OLD.pk;
    UPDATE auth_epoch SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS role_mappings_added AFTER INSERT ON role_mappings
BEGIN DELETE FROM sessions WHERE user_pk = NEW.user_pk; UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS role_mappings_removed AFTER DELETE ON role_mappings
BEGIN DELETE FROM sessions WHERE user_pk = OLD.user_pk; UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS group_role_mappings_added AFTER INSERT ON group_role_mappings
BEGIN
    DELETE FROM sessions WHERE user_pk IN
        (SELECT member_pk FROM memberships WHERE group_pk = NEW.group_pk AND member_kind = 0);
    UPDATE auth_epoch SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS group_role_mappings_removed AFTER DELETE ON group_role_mappings
BEGIN
    DELETE FROM sessions WHERE user_pk IN
        (SELECT member_pk FROM memberships WHERE group_pk = OLD.group_pk AND member_kind = 0);
    UPDATE auth_epoch SET n = n + 1;
END;

-- A user joining or leaving a group that holds roles gains or loses them.
CREATE TRIGGER IF NOT EXISTS memberships_added AFTER INSERT ON memberships
WHEN NEW.member_kind = 0 AND EXISTS (SELECT 1 FROM group_role_mappings WHERE group_pk = NEW.group_pk)
BEGIN DELETE FROM sessions WHERE user_pk = NEW.member_pk; END;

CREATE TRIGGER IF NOT EXISTS memberships_removed AFTER DELETE ON memberships
WHEN OLD.member_kind = 0 AND EXISTS (SELECT 1 FROM group_role_mappings WHERE group_pk = OLD.group_pk)
BEGIN DELETE FROM sessions WHERE user_pk = OLD.member_pk; END;

CREATE TRIGGER IF NOT EXISTS groups_deleted AFTER DELETE ON groups
BEGIN
    DELETE FROM sessions WHERE user_pk IN
        (SELECT member_pk FROM memberships WHERE group_pk = OLD.pk AND member_kind = 0)
        AND EXISTS (SELECT 1 FROM group_role_mappings WHERE group_pk = OLD.pk);
    DELETE FROM group_role_mappings WHERE group_pk = OLD.pk;
END;

CREATE TRIGGER IF NOT EXISTS clients_changed AFTER UPDATE OF enabled, secret_hash, secret_generation,
    public_client, service_accounts_enabled, attributes ON clients
BEGIN
    DELETE FROM sessions WHERE client_pk = NEW.pk AND NEW.enabled = 0;
    UPDATE auth_epoch SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS clients_deleted AFTER DELETE ON clients
BEGIN DELETE FROM sessions WHERE client_pk = OLD.pk; UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS realms_changed AFTER UPDATE OF enabled, attributes ON realms
BEGIN UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS realms_deleted AFTER DELETE ON realms
BEGIN DELETE FROM sessions WHERE realm_id = OLD.id; UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS realm_epoch_on_insert AFTER INSERT ON realms
BEGIN UPDATE realm_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS realm_epoch_on_update AFTER UPDATE ON realms
BEGIN UPDATE realm_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS realm_epoch_on_delete AFTER DELETE ON realms
BEGIN UPDATE realm_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS tokens_deleted AFTER DELETE ON tokens
BEGIN UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS signing_keys_changed AFTER INSERT ON signing_keys
BEGIN UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS trusted_issuers_added AFTER INSERT ON trusted_issuers
BEGIN UPDATE auth_epoch SET n = n + 1; END;

CREATE TRIGGER IF NOT EXISTS trusted_issuers_removed AFTER DELETE ON trusted_issuers
BEGIN UPDATE auth_epoch SET n = n + 1; END;
"#;

/// Columns added to version 4 since it was first released, with their definitions: a
/// database made before them gets them when it is opened (`add_columns`), so the schema
/// version does not change for a nullable column.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("memberships", "display", "TEXT")];

/// Adds the `ADDED_COLUMNS` a database does not have yet, inside the caller's transaction.
pub fn add_columns(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    for (table, column, definition) in ADDED_COLUMNS {
        let has: bool = c
            .prepare(&format!("SELECT EXISTS (SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1)"))?
            .query_row([column], |r| r.get(0))?;
        if !has {
            c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {definition}"))?;
        }
    }
    Ok(())
}

/// Tables whose key became `AUTOINCREMENT` in version 4; the migration rebuilds them.
const REKEYED: &[&str] = &["realms", "clients", "roles", "tokens", "users", "groups"];

/// Brings a version-3 database to version 4, inside the caller's transaction: the rekeyed
/// tables are rebuilt under the new `DDL` (their rows and keys kept), role mappings that point
/// at deleted users or roles are dropped (a reused key could have brought them back to life),
/// and the master realm's admin-cli is allowed the password grant. The caller then computes
/// protection flags for the first time.
pub fn migrate_3_to_4(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    for table in REKEYED {
        c.execute_batch(&format!("ALTER TABLE {table} RENAME TO {table}_v3"))?;
        // Indexes keep their names when their table is renamed; the new table needs them.
        let indexes: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")?
            .query_map([format!("{table}_v3")], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for index in indexes {
            c.execute_batch(&format!("DROP INDEX {index}"))?;
        }
    }
    c.execute_batch(DDL)?;
    for table in REKEYED {
        let columns = |name: &str| -> rusqlite::Result<Vec<String>> {
            c.prepare(&format!("PRAGMA table_info({name})"))?.query_map([], |r| r.get::<_, String>(1))?.collect()
        };
        let new = columns(table)?;
        let shared: Vec<String> =
            columns(&format!("{table}_v3"))?.into_iter().filter(|col| new.contains(col)).collect();
        let list = shared.join(", ");
        c.execute_batch(&format!(
            "INSERT INTO {table} ({list}) SELECT {list} FROM {table}_v3; DROP TABLE {table}_v3;"
        ))?;
    }
    c.execute_batch(
        "DELETE FROM role_mappings WHERE user_pk NOT IN (SELECT pk FROM users) OR role_pk NOT IN (SELECT pk FROM roles);",
    )?;
    // The password grant now needs `directAccessGrantsEnabled`; administrators log in through
    // the master realm's admin-cli, which has always had it in spirit.
    c.execute_batch(
        "UPDATE clients SET attributes = json_set(attributes, '$.directAccessGrantsEnabled', json('true')) \
         WHERE client_id = 'admin-cli' AND realm_id IN (SELECT id FROM realms WHERE name = 'master');",
    )?;
    Ok(())
}
