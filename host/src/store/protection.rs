//! Admin-resource protection, as Keycloak's SCIM has it: users and groups that hold an
//! administrative role — any role of the realm's `realm-management` client, or the master
//! realm's `admin` — directly or through a group, are served over SCIM in minimal form and
//! cannot be changed over SCIM. Otherwise a leaked provisioning token could reset an
//! administrator's password (or add itself to an administrators' group) and become one.
//!
//! Protection is a column (`protected`) kept on each user and group row, so reads pay
//! nothing for it. Roles reach a user through its groups and through the groups those groups
//! are in, so the column is recomputed here, in the transaction of every change that can move
//! it: a role mapping of a user or a group, or a membership changed through the admin API
//! (SCIM may not change the memberships of protected users and groups, so it cannot move it).

use std::rc::Rc;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};

use crate::error::Result;

/// Whether the role `r` is administrative.
const ADMIN_ROLE: &str = "(r.client_pk IN (SELECT cl.pk FROM clients cl WHERE cl.realm_id = r.realm_id \
     AND cl.client_id = 'realm-management') OR (r.client_pk = 0 AND r.name = 'admin' \
     AND r.realm_id IN (SELECT re.id FROM realms re WHERE re.name = 'master')))";

/// The groups of a realm that hold an administrative role, directly or as a member (at any
/// depth) of one that does.
fn protected_groups_cte() -> String {
    format!(
        "WITH RECURSIVE prot(g) AS (\
           SELECT m.group_pk FROM group_role_mappings m JOIN roles r ON r.pk = m.role_pk \
           WHERE r.realm_id = ?1 AND {ADMIN_ROLE} \
           UNION SELECT ms.member_pk FROM prot CROSS JOIN memberships ms ON ms.group_pk = prot.g \
           WHERE ms.member_kind = 1)"
    )
}

/// Whether the user row `users` holds an administrative role.
fn user_is_protected() -> String {
    format!(
        "(EXISTS (SELECT 1 FROM role_mappings rm JOIN roles r ON r.pk = rm.role_pk \
           WHERE rm.user_pk = users.pk AND {ADMIN_ROLE}) \
          OR EXISTS (SELECT 1 FROM memberships m JOIN groups g ON g.pk = m.group_pk \
           WHERE m.member_kind = 0 AND m.member_pk = users.pk AND g.protected = 1))"
    )
}

/// Recomputes one user.
pub fn refresh_user(c: &Connection, user_pk: i64) -> Result<()> {
    c.prepare_cached(&format!("UPDATE users SET protected = {} WHERE pk = ?1", user_is_protected()))?
        .execute([user_pk])?;
    Ok(())
}

/// Recomputes a realm's groups, then the users in any group whose protection changed.
pub fn refresh_groups(c: &Connection, realm_id: i64) -> Result<()> {
    let sql = format!(
        "{} UPDATE groups SET protected = (pk IN (SELECT g FROM prot)) \
         WHERE realm_id = ?1 AND protected <> (pk IN (SELECT g FROM prot)) RETURNING pk",
        protected_groups_cte()
    );
    let changed: Vec<i64> =
        c.prepare_cached(&sql)?.query_map([realm_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if changed.is_empty() {
        return Ok(());
    }
    let groups: Rc<Vec<SqlValue>> = Rc::new(changed.into_iter().map(SqlValue::Integer).collect());
    c.prepare_cached(&format!(
        "UPDATE users SET protected = {} WHERE pk IN \
         (SELECT member_pk FROM memberships WHERE member_kind = 0 AND group_pk IN rarray(?1))",
        user_is_protected()
    ))?
    .execute(params![groups])?;
    Ok(())
}

/// Recomputes every realm (when migrating a database made before protection existed).
pub fn refresh_all(c: &Connection) -> Result<()> {
    let realms: Vec<i64> =
        c.prepare("SELECT id FROM realms")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for realm in realms {
        refresh_groups(c, realm)?;
    }
    c.execute_batch(&format!("UPDATE users SET protected = {}", user_is_protected()))?;
    Ok(())
}
