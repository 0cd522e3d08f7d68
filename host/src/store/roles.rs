//! Roles and who holds them, as in Keycloak: realm roles (`client_pk` 0) and client roles,
//! mapped to users directly or to groups (whose members, at any depth, hold them too).
//!
//! Every lookup and mapping is scoped to one realm: a mapping is written only when the user
//! (or group) and the role are both of that realm. A change of mappings recomputes
//! admin-resource protection (`protection`) in the same transaction; the schema's triggers
//! end the sessions of the users whose roles changed.

use rusqlite::{Connection, OptionalExtension, params};

use super::protection;
use crate::error::{Error, Result};

/// A role: a realm role (`client_pk` 0) or a client role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub pk: i64,
    pub id: String,
    pub name: String,
    pub client_pk: i64,
    pub description: Option<String>,
}

fn role_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Role> {
    Ok(Role { pk: r.get(0)?, id: r.get(1)?, name: r.get(2)?, client_pk: r.get(3)?, description: r.get(4)? })
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
    let id = uuid::Uuid::new_v4().to_string();
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

/// Deletes a client's roles with every mapping of them (the client is being deleted).
pub fn delete_client_roles(c: &Connection, realm_id: i64, client_pk: i64) -> Result<()> {
    for table in ["role_mappings", "group_role_mappings"] {
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE role_pk IN (SELECT pk FROM roles WHERE realm_id = ?1 AND client_pk = ?2)"
        ))?
        .execute([realm_id, client_pk])?;
    }
    c.prepare_cached("DELETE FROM roles WHERE realm_id = ?1 AND client_pk = ?2")?.execute([realm_id, client_pk])?;
    protection::refresh_groups(c, realm_id)?;
    Ok(())
}

/// Who roles are mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User(i64),
    Group(i64),
}

impl Holder {
    fn sql(self) -> (&'static str, &'static str, &'static str, i64) {
        match self {
            Holder::User(pk) => ("role_mappings", "user_pk", "users", pk),
            Holder::Group(pk) => ("group_role_mappings", "group_pk", "groups", pk),
        }
    }
}

/// Grants roles of the realm to a user or group of the realm; returns how many were new.
/// A role or holder of another realm is never mapped.
pub fn map_roles(c: &Connection, realm_id: i64, holder: Holder, roles: &[Role]) -> Result<usize> {
    let (table, column, owners, pk) = holder.sql();
    let mut added = 0;
    for r in roles {
        added += c
            .prepare_cached(&format!(
                "INSERT OR IGNORE INTO {table} ({column}, role_pk) SELECT ?1, ?2 \
                 WHERE EXISTS (SELECT 1 FROM {owners} WHERE pk = ?1 AND realm_id = ?3) \
                 AND EXISTS (SELECT 1 FROM roles WHERE pk = ?2 AND realm_id = ?3)"
            ))?
            .execute([pk, r.pk, realm_id])?;
    }
    refresh(c, realm_id, holder)?;
    Ok(added)
}

/// Takes roles from a user or group; returns how many it held.
pub fn unmap_roles(c: &Connection, realm_id: i64, holder: Holder, roles: &[Role]) -> Result<usize> {
    let (table, column, _, pk) = holder.sql();
    let mut removed = 0;
    for r in roles {
        removed += c
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE {column} = ?1 AND role_pk = ?2 \
                 AND role_pk IN (SELECT pk FROM roles WHERE realm_id = ?3)"
            ))?
            .execute([pk, r.pk, realm_id])?;
    }
    refresh(c, realm_id, holder)?;
    Ok(removed)
}

/// After a holder's roles changed: protection is recomputed, and a group's users — its members
/// and the members of groups inside it, at any depth — lose their sessions (a user's own
/// sessions end by a schema trigger).
fn refresh(c: &Connection, realm_id: i64, holder: Holder) -> Result<()> {
    match holder {
        Holder::User(pk) => protection::refresh_user(c, pk),
        Holder::Group(pk) => {
            end_sessions_under(c, pk)?;
            protection::refresh_groups(c, realm_id)
        }
    }
}

/// Whether a group holds roles, itself or through a group it is in (at any depth).
pub fn holds_roles(c: &Connection, group_pk: i64) -> Result<bool> {
    Ok(c.prepare_cached(
        "WITH RECURSIVE up(g) AS (SELECT ?1 UNION SELECT m.group_pk FROM up CROSS JOIN memberships m \
         ON m.member_kind = 1 AND m.member_pk = up.g) \
         SELECT EXISTS (SELECT 1 FROM group_role_mappings WHERE group_pk IN (SELECT g FROM up))",
    )?
    .query_row([group_pk], |r| r.get(0))?)
}

/// Ends the sessions of every user in a group, directly or through groups inside it.
pub fn end_sessions_under(c: &Connection, group_pk: i64) -> Result<usize> {
    Ok(c.prepare_cached(
        "WITH RECURSIVE sub(g) AS (SELECT ?1 UNION SELECT m.member_pk FROM sub CROSS JOIN memberships m \
         ON m.group_pk = sub.g AND m.member_kind = 1) \
         DELETE FROM sessions WHERE user_pk IN \
         (SELECT member_pk FROM memberships WHERE member_kind = 0 AND group_pk IN (SELECT g FROM sub))",
    )?
    .execute([group_pk])?)
}

/// Ends the sessions a member's joining or leaving a role-holding group changes the roles of:
/// a user's own, or those of every user under a group.
pub fn end_sessions_of_member(c: &Connection, kind: crate::runtime::bindings::ResourceKind, pk: i64) -> Result<()> {
    match kind {
        crate::runtime::bindings::ResourceKind::User => {
            c.prepare_cached("DELETE FROM sessions WHERE user_pk = ?1")?.execute([pk])?;
        }
        crate::runtime::bindings::ResourceKind::Group => {
            end_sessions_under(c, pk)?;
        }
    }
    Ok(())
}

/// The groups a user is in, directly or through groups in groups (a recursive query).
const USER_GROUPS: &str = "WITH RECURSIVE ug(g) AS (\
       SELECT group_pk FROM memberships WHERE member_kind = 0 AND member_pk = ?2 \
       UNION SELECT m.group_pk FROM ug CROSS JOIN memberships m ON m.member_kind = 1 AND m.member_pk = ug.g)";

/// The roles mapped to a holder, with the clientId of client roles: only its own mappings
/// (`effective` false, as the admin API lists them), or also those of every group it is in
/// (`effective` true, as tokens carry them).
pub fn held_roles(
    c: &Connection,
    realm_id: i64,
    holder: Holder,
    effective: bool,
) -> Result<Vec<(Option<String>, Role)>> {
    let select = "SELECT DISTINCT r.pk, r.id, r.name, r.client_pk, r.description, cl.client_id FROM roles r \
                  LEFT JOIN clients cl ON cl.pk = r.client_pk AND r.client_pk <> 0";
    let sql = match (holder, effective) {
        (Holder::User(_), true) => format!(
            "{USER_GROUPS} {select} WHERE r.realm_id = ?1 AND (r.pk IN (SELECT role_pk FROM role_mappings WHERE user_pk = ?2) \
             OR r.pk IN (SELECT role_pk FROM group_role_mappings WHERE group_pk IN (SELECT g FROM ug))) \
             ORDER BY cl.client_id, r.name"
        ),
        _ => {
            let (table, column, _, _) = holder.sql();
            format!(
                "{select} WHERE r.realm_id = ?1 AND r.pk IN (SELECT role_pk FROM {table} WHERE {column} = ?2) \
                 ORDER BY cl.client_id, r.name"
            )
        }
    };
    let pk = holder.sql().3;
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map([realm_id, pk], |r| Ok((r.get::<_, Option<String>>(5)?, role_row(r)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Whether a user is the master realm's only enabled holder of the `admin` role (no lockout
/// may disable it).
pub fn is_last_admin(c: &Connection, realm_id: i64, user_pk: i64) -> Result<bool> {
    let master: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM realms WHERE id = ?1 AND name = 'master')")?
        .query_row([realm_id], |r| r.get(0))?;
    let Some(admin) = (if master { role_by_name(c, realm_id, 0, "admin")? } else { None }) else {
        return Ok(false);
    };
    let holds = held_roles(c, realm_id, Holder::User(user_pk), true)?.iter().any(|(_, r)| r.pk == admin.pk);
    Ok(holds && other_holders(c, realm_id, &admin, Some(user_pk))? == 0)
}

/// How many enabled users of the realm hold its realm role `role` (directly or through a
/// group), other than `except` when given: the master realm keeps at least one administrator.
pub fn other_holders(c: &Connection, realm_id: i64, role: &Role, except: Option<i64>) -> Result<i64> {
    let sql = "WITH RECURSIVE holders(kind, pk) AS (\
           SELECT 1, group_pk FROM group_role_mappings WHERE role_pk = ?2 \
           UNION SELECT m.member_kind, m.member_pk FROM holders h CROSS JOIN memberships m ON h.kind = 1 AND m.group_pk = h.pk) \
         SELECT count(*) FROM users u WHERE u.realm_id = ?1 AND u.enabled = 1 AND u.pk IS NOT ?3 AND \
           (u.pk IN (SELECT user_pk FROM role_mappings WHERE role_pk = ?2) \
            OR u.pk IN (SELECT pk FROM holders WHERE kind = 0))";
    Ok(c.prepare_cached(sql)?.query_row(params![realm_id, role.pk, except], |r| r.get(0))?)
}
