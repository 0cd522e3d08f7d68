//! The SQLite schema of the realm model. `pk` columns are internal row ids that never leave
//! the host; `id` columns are the resources' public ids. `*_ci` columns hold the Unicode
//! lowercase of their neighbour so case-insensitive comparisons use an index.

/// The version this build writes. Versions 1 and 2 were development schemas that never
/// shipped: their data directories are refused rather than guessed at.
pub const SCHEMA_VERSION: i64 = 3;

pub const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS realms (
    id            INTEGER PRIMARY KEY,
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
    -- Bumped with every change of the row: engines are keyed by it, and a cached realm is
    -- never replaced by an older read of it.
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
    pk                       INTEGER PRIMARY KEY,
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
    pk          INTEGER PRIMARY KEY,
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
    id          INTEGER PRIMARY KEY,
    realm_id    INTEGER NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    roles       TEXT NOT NULL,
    description TEXT,
    created     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    pk            INTEGER PRIMARY KEY,
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
    service_account INTEGER NOT NULL DEFAULT 0
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
    pk            INTEGER PRIMARY KEY,
    realm_id      INTEGER NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_ci       TEXT NOT NULL,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    attributes    TEXT NOT NULL DEFAULT '[]',
    member_of     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS groups_by_id ON groups(realm_id, id);
CREATE INDEX IF NOT EXISTS groups_by_realm ON groups(realm_id);
CREATE UNIQUE INDEX IF NOT EXISTS groups_by_name ON groups(realm_id, name_ci);
CREATE INDEX IF NOT EXISTS groups_by_last_modified ON groups(realm_id, last_modified);

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
"#;
