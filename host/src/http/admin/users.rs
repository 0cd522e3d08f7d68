//! `/admin/realms/{realm}/users…`, `/groups…` and `/roles`: realm users (service accounts
//! included) — read, change, delete, reset a password, log out —, their groups, and the role
//! mappings of users and groups.
//!
//! Changing a user who holds an administrative role needs more than `manage-users`: in a realm,
//! `manage-realm`; in the master realm, a server administrator. The master realm always keeps
//! one enabled user with its `admin` role: a change that would leave none is refused.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::clients::client;
use super::{AdminResult, enter, json, no_content, object, param, query, take_bool, take_string};
use crate::auth::{AdminNeed, Principal};
use crate::error::Error;
use crate::http::AppState;
use crate::resource_kind::ResourceKind;
use crate::store::accounts::{self, Account, AccountChanges};
use crate::store::clients::ADMIN_ROLE;
use crate::store::realms::MASTER;
use crate::store::roles::{self, Holder, Role};
use crate::store::{Realm, events, protection, sessions};

pub(super) fn account_representation(a: &Account, service_account_of: Option<&str>) -> Value {
    let mut m = json!({
        "id": a.id,
        "username": a.username,
        "enabled": a.enabled,
        "createdTimestamp": a.created,
        "emailVerified": false,
    });
    for (k, v) in [("email", &a.email), ("firstName", &a.first_name), ("lastName", &a.last_name)] {
        if let Some(v) = v {
            m[k] = json!(v);
        }
    }
    if let Some(cid) = service_account_of {
        m["serviceAccountClientId"] = json!(cid);
    }
    m
}

pub(super) fn role_representation(r: &Role, client_uuid: Option<&str>, realm: &str) -> Value {
    let mut m = json!({
        "id": r.id,
        "name": r.name,
        "composite": false,
        "clientRole": r.client_pk != 0,
        "containerId": client_uuid.unwrap_or(realm),
    });
    if let Some(d) = &r.description {
        m["description"] = json!(d);
    }
    m
}

pub(super) fn account(app: &AppState, realm: &Realm, id: &str) -> Result<Account, Error> {
    app.store
        .read(|c| accounts::account_by_id(c, realm.id, id))?
        .ok_or_else(|| Error::NotFound(format!("user '{id}' does not exist in realm '{}'", realm.name)))
}

/// What changing `account` needs beyond what the endpoint asks: a user holding an
/// administrative role is changed only by a realm administrator (in the master realm, a server
/// administrator), so `manage-users` never becomes more; a service account belongs to its
/// client, which is the realm administrator's.
pub(super) fn require_for(principal: &Principal, realm: &Realm, account: &Account) -> Result<(), Error> {
    require_for_protected(principal, realm, account.protected, &format!("user '{}'", account.username))?;
    if account.service_account {
        principal.require_admin(&realm.name, AdminNeed::ManageRealm).map_err(|_| {
            Error::Forbidden(format!(
                "user '{}' is a client's service account; changing it needs manage-realm",
                account.username
            ))
        })?;
    }
    Ok(())
}

/// What changing something that holds an administrative role (`what`: a user, a group, a
/// client whose service account does) needs: `manage-realm`, or in the master realm a server
/// administrator.
pub(super) fn require_for_protected(
    principal: &Principal,
    realm: &Realm,
    protected: bool,
    what: &str,
) -> Result<(), Error> {
    if !protected {
        return Ok(());
    }
    let need = if realm.name == MASTER { AdminNeed::Server } else { AdminNeed::ManageRealm };
    principal.require_admin(&realm.name, need).map_err(|_| {
        Error::Forbidden(format!(
            "{what} holds an administrative role; changing it needs {}",
            if realm.name == MASTER { "a server administrator" } else { "manage-realm" }
        ))
    })
}

/// How the admin API shows a user to a caller: in full, or (a user holding an administrative
/// role, to a caller who may not change it) only its id, username and state.
fn shown(principal: &Principal, realm: &Realm, a: &Account) -> Value {
    if require_for(principal, realm, a).is_ok() {
        return account_representation(a, None);
    }
    json!({"id": a.id, "username": a.username, "enabled": a.enabled})
}

/// Runs a write in the master realm that must leave an administrator: if the realm had an
/// enabled user with the `admin` role before and has none after, the write is refused (and
/// rolled back).
pub(super) fn keeping_an_admin<T>(
    c: &rusqlite::Connection,
    realm: &Realm,
    write: impl FnOnce(&rusqlite::Connection) -> crate::Result<T>,
) -> crate::Result<T> {
    let admin_role = if realm.name == MASTER { roles::role_by_name(c, realm.id, 0, ADMIN_ROLE)? } else { None };
    let Some(role) = admin_role else { return write(c) };
    let before = roles::other_holders(c, realm.id, &role, None)?;
    let out = write(c)?;
    if before > 0 && roles::other_holders(c, realm.id, &role, None)? == 0 {
        return Err(Error::Conflict(
            "this would leave the server without an enabled administrator (a master-realm user with the admin role)"
                .into(),
        ));
    }
    Ok(out)
}

/// The caller and the user a change is for, once the caller may make it: `manage-users`, and
/// what `require_for` asks of a user holding an administrative role.
fn changing(app: &AppState, headers: &HeaderMap, realm: &str, id: &str) -> Result<(Principal, Realm, Account), Error> {
    let (principal, realm) = enter(app, headers, realm, AdminNeed::ManageUsers)?;
    let target = account(app, &realm, id)?;
    require_for(&principal, &realm, &target)?;
    Ok((principal, realm, target))
}

/// Runs a change of a user as one write with its admin event (`operation` on `users/{id}` plus
/// `suffix`), leaving the master realm an administrator.
async fn write_user(
    app: &AppState,
    principal: &Principal,
    realm: Realm,
    target: Account,
    (operation, suffix): (&'static str, &'static str),
    mut change: impl FnMut(&rusqlite::Connection, &Account) -> crate::Result<()> + Send + 'static,
) -> AdminResult {
    let (actor, path) = (principal.actor(), format!("users/{}{suffix}", target.id));
    app.store
        .write(move |c| {
            // The user as it is now: one that became an administrator since it was read is not
            // changed by a caller who was only allowed to change a plain user.
            let now = accounts::account_by_pk(c, realm.id, target.pk)?
                .ok_or_else(|| Error::NotFound(format!("user '{}' is gone", target.id)))?;
            if now.protected && !target.protected {
                return Err(Error::Conflict(format!("user '{}' changed while this request ran; retry it", target.id)));
            }
            keeping_an_admin(c, &realm, |c| change(c, &now))?;
            events::record(c, realm.id, &actor, operation, ResourceKind::User.event_type(), &path, None)
        })
        .await?;
    Ok(no_content())
}

pub async fn list(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let q = query(raw.as_deref());
    let number = |name: &str, default: i64| -> Result<i64, Error> {
        param(&q, name)
            .map_or(Ok(default), |v| v.parse().map_err(|_| Error::InvalidValue(format!("'{name}' must be a number"))))
    };
    let (first, max) = (number("first", 0)?.max(0), number("max", 100)?.clamp(0, 1000));
    let username = param(&q, "username").or(param(&q, "search"));
    let exact = param(&q, "exact") == Some("true");
    let found = app.store.read(|c| accounts::accounts(c, realm.id, username, exact, first, max))?;
    Ok(json(StatusCode::OK, Value::Array(found.iter().map(|a| shown(&principal, &realm, a)).collect())))
}

pub async fn get_one(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    Ok(json(StatusCode::OK, shown(&principal, &realm, &account(&app, &realm, &id)?)))
}

/// `PUT /admin/realms/{realm}/users/{id}`: `username`, `enabled`, `email`, `firstName`,
/// `lastName` (other fields are ignored, as scimd keeps no more of a user here). Disabling a
/// user ends its sessions and its tokens at once.
pub async fn update(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    let (principal, realm, target) = changing(&app, &headers, &realm, &id)?;
    let mut m = object(&body)?;
    let optional = |m: &mut serde_json::Map<String, Value>, key: &str| -> Result<Option<Option<String>>, Error> {
        match m.remove(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(other) => Err(Error::InvalidValue(format!("'{key}' must be a string, not {other}"))),
        }
    };
    let changes = AccountChanges {
        username: take_string(&mut m, "username")?,
        enabled: take_bool(&mut m, "enabled")?,
        email: optional(&mut m, "email")?,
        first_name: optional(&mut m, "firstName")?,
        last_name: optional(&mut m, "lastName")?,
    };
    if changes.username.as_ref().is_some_and(|u| !u.eq_ignore_ascii_case(&target.username)) && target.service_account {
        return Err(Error::InvalidValue("a service account's username follows its client".into()).into());
    }
    write_user(&app, &principal, realm, target, ("UPDATE", ""), move |c, a| {
        accounts::update_account(c, a, changes.clone())
    })
    .await
}

/// `DELETE /admin/realms/{realm}/users/{id}`: the user with its attributes, memberships, role
/// mappings and sessions. A service account goes with its client, not alone.
pub async fn delete(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm, target) = changing(&app, &headers, &realm, &id)?;
    if target.service_account {
        return Err(Error::InvalidValue("a service account is deleted with its client".into()).into());
    }
    let realm_id = realm.id;
    write_user(&app, &principal, realm, target, ("DELETE", ""), move |c, a| {
        crate::store::delete_user_row(c, realm_id, a.pk, crate::store::now_ms())
    })
    .await
}

/// `PUT /admin/realms/{realm}/users/{id}/reset-password` with
/// `{"type": "password", "value": "…", "temporary": false}`. The user's sessions end.
pub async fn reset_password(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    let (principal, realm, target) = changing(&app, &headers, &realm, &id)?;
    if target.service_account {
        return Err(
            Error::InvalidValue("a service account logs in with its client's secret, not a password".into()).into()
        );
    }
    let mut m = object(&body)?;
    if take_string(&mut m, "type")?.is_some_and(|t| t != "password") {
        return Err(Error::InvalidValue("only credentials of type 'password' can be set".into()).into());
    }
    if take_bool(&mut m, "temporary")? == Some(true) {
        return Err(Error::InvalidValue(
            "temporary passwords need a login page to change them, which scimd has not; set 'temporary': false".into(),
        )
        .into());
    }
    let value = take_string(&mut m, "value")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::InvalidValue("'value' (the new password) is required and cannot be empty".into()))?;
    let hash = app.passwords.hash(value).await?;
    write_user(&app, &principal, realm, target, ("ACTION", "/reset-password"), move |c, a| {
        accounts::set_password(c, a, &hash)
    })
    .await
}

/// `POST /admin/realms/{realm}/users/{id}/logout`: ends every session of the user.
pub async fn logout(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm, target) = changing(&app, &headers, &realm, &id)?;
    let realm_id = realm.id;
    write_user(&app, &principal, realm, target, ("ACTION", "/logout"), move |c, a| {
        sessions::end_for_user(c, realm_id, a.pk).map(|_| ())
    })
    .await
}

/// A group by id, with whether it is protected.
fn group(app: &AppState, realm: &Realm, id: &str) -> Result<crate::store::GroupRef, Error> {
    app.store
        .read(|c| crate::store::group_ref(c, realm.id, id))?
        .ok_or_else(|| Error::NotFound(format!("group '{id}' does not exist in realm '{}'", realm.name)))
}

fn group_representation(g: &crate::store::GroupRef) -> Value {
    json!({"id": g.id, "name": g.name, "path": format!("/{}", g.name), "subGroups": []})
}

/// `GET /admin/realms/{realm}/groups`
pub async fn groups(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let q = query(raw.as_deref());
    let first = param(&q, "first").and_then(|v| v.parse().ok()).unwrap_or(0i64).max(0);
    let max = param(&q, "max").and_then(|v| v.parse().ok()).unwrap_or(100i64).clamp(0, 1000);
    let found = app.store.read(|c| crate::store::group_refs(c, realm.id, None, first, max))?;
    Ok(json(StatusCode::OK, Value::Array(found.iter().map(group_representation).collect())))
}

/// `GET /admin/realms/{realm}/groups/{id}`
pub async fn group_one(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    Ok(json(StatusCode::OK, group_representation(&group(&app, &realm, &id)?)))
}

/// `GET /admin/realms/{realm}/users/{id}/groups`: the groups the user is directly in.
pub async fn user_groups(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let a = account(&app, &realm, &id)?;
    let found = app.store.read(|c| crate::store::group_refs(c, realm.id, Some(a.pk), 0, i64::MAX))?;
    Ok(json(StatusCode::OK, Value::Array(found.iter().map(group_representation).collect())))
}

/// `PUT` / `DELETE /admin/realms/{realm}/users/{id}/groups/{group}`: joins or leaves a group.
/// A group that holds an administrative role makes its members administrators, so joining or
/// leaving one needs what changing an administrator needs.
async fn membership(
    app: AppState,
    headers: HeaderMap,
    realm: String,
    id: String,
    group_id: String,
    join: bool,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageUsers)?;
    let a = account(&app, &realm, &id)?;
    let g = group(&app, &realm, &group_id)?;
    require_for(&principal, &realm, &a)?;
    require_for_protected(&principal, &realm, g.protected, &format!("group '{}'", g.name))?;
    let (actor, realm_c, path) = (principal.actor(), realm.clone(), format!("users/{}/groups/{}", a.id, g.id));
    app.store
        .write(move |c| {
            keeping_an_admin(c, &realm_c, |c| {
                crate::store::admin_membership(c, realm_c.id, g.pk, a.pk, join, crate::store::now_ms())?;
                protection::refresh_user(c, a.pk)
            })?;
            let op = if join { "CREATE" } else { "DELETE" };
            events::record(c, realm_c.id, &actor, op, "GROUP_MEMBERSHIP", &path, None)
        })
        .await?;
    Ok(no_content())
}

pub async fn join_group(
    State(app): State<AppState>,
    Path((realm, id, group)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    membership(app, headers, realm, id, group, true).await
}

pub async fn leave_group(
    State(app): State<AppState>,
    Path((realm, id, group)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    membership(app, headers, realm, id, group, false).await
}

pub async fn role_mappings(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let a = account(&app, &realm, &id)?;
    let mapped = app.store.read(|c| roles::held_roles(c, realm.id, Holder::User(a.pk), false))?;
    let mut realm_roles = Vec::new();
    let mut client_roles = serde_json::Map::new();
    for (client_id, role) in &mapped {
        match client_id {
            None => realm_roles.push(role_representation(role, None, &realm.name)),
            Some(cid) => {
                let entry = client_roles.entry(cid.clone()).or_insert_with(|| json!({"client": cid, "mappings": []}));
                if let Some(list) = entry["mappings"].as_array_mut() {
                    list.push(role_representation(role, None, &realm.name));
                }
            }
        }
    }
    Ok(json(StatusCode::OK, json!({"realmMappings": realm_roles, "clientMappings": client_roles})))
}

/// The roles a request body names (`[{"id"|"name": …}, …]`), resolved among `available`.
fn named_roles(body: &[u8], available: &[Role], container: &str) -> Result<Vec<Role>, Error> {
    let items: Vec<Value> = match serde_json::from_slice(body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(Error::BadRequest("the body must be a JSON array of roles".into())),
        Err(e) => return Err(Error::BadRequest(format!("the request body is not valid JSON: {e}"))),
    };
    items
        .iter()
        .map(|item| {
            let id = item.get("id").and_then(Value::as_str);
            let name = item.get("name").and_then(Value::as_str);
            available
                .iter()
                .find(|r| id.is_some_and(|i| i == r.id) || name.is_some_and(|n| n == r.name))
                .cloned()
                .ok_or_else(|| {
                    Error::NotFound(format!("{container} has no role '{}'", name.or(id).unwrap_or("(unnamed)")))
                })
        })
        .collect()
}

/// Whose role mappings a request changes: a user or a group, by id.
#[derive(Clone, Copy)]
enum Whose {
    User,
    Group,
}

#[allow(clippy::too_many_arguments)]
async fn change_roles(
    app: AppState,
    headers: HeaderMap,
    realm: String,
    whose: Whose,
    id: String,
    client_uuid: Option<String>,
    body: Bytes,
    grant: bool,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let (holder, holder_path) = match whose {
        Whose::User => {
            let a = account(&app, &realm, &id)?;
            // Another administrator's roles are changed only by a server administrator in the
            // master realm (a realm's manage-realm covers its own realm's administrators).
            require_for(&principal, &realm, &a)?;
            (Holder::User(a.pk), format!("users/{}", a.id))
        }
        Whose::Group => {
            let g = group(&app, &realm, &id)?;
            require_for_protected(&principal, &realm, g.protected, &format!("group '{}'", g.name))?;
            (Holder::Group(g.pk), format!("groups/{}", g.id))
        }
    };
    let (client_pk, container, path) = match &client_uuid {
        Some(cid) => {
            let c = client(&app, &realm, cid)?;
            (c.pk, format!("client '{}'", c.client_id), format!("{holder_path}/role-mappings/clients/{}", c.id))
        }
        None => (0, format!("realm '{}'", realm.name), format!("{holder_path}/role-mappings/realm")),
    };
    let available = app.store.read(|c| roles::roles(c, realm.id, client_pk))?;
    let roles = named_roles(&body, &available, &container)?;
    // Realm roles (the master realm's `admin` above all) are the server administrators' to
    // give: a realm administrator maps its realm's client roles, and cannot make itself (or
    // anyone) a server administrator.
    if client_uuid.is_none() && !principal.is_server_admin() {
        return Err(Error::Forbidden("only a server administrator can map realm roles".into()).into());
    }
    let (actor, realm_c) = (principal.actor(), realm.clone());
    let rep = Value::Array(roles.iter().map(|r| role_representation(r, client_uuid.as_deref(), &realm.name)).collect());
    let kind = if client_uuid.is_some() { "CLIENT_ROLE_MAPPING" } else { "REALM_ROLE_MAPPING" };
    app.store
        .write(move |c| {
            keeping_an_admin(c, &realm_c, |c| {
                if grant {
                    roles::map_roles(c, realm_c.id, holder, &roles)
                } else {
                    roles::unmap_roles(c, realm_c.id, holder, &roles)
                }
            })?;
            events::record(c, realm_c.id, &actor, if grant { "CREATE" } else { "DELETE" }, kind, &path, Some(&rep))
        })
        .await?;
    Ok(no_content())
}

async fn list_roles(
    app: AppState,
    headers: HeaderMap,
    realm: String,
    whose: Whose,
    id: String,
    client_uuid: Option<String>,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let holder = match whose {
        Whose::User => Holder::User(account(&app, &realm, &id)?.pk),
        Whose::Group => Holder::Group(group(&app, &realm, &id)?.pk),
    };
    let client_pk = match &client_uuid {
        Some(cid) => client(&app, &realm, cid)?.pk,
        None => 0,
    };
    let mapped = app.store.read(|c| roles::held_roles(c, realm.id, holder, false))?;
    let reps: Vec<Value> = mapped
        .iter()
        .filter(|(_, r)| r.client_pk == client_pk)
        .map(|(_, r)| role_representation(r, client_uuid.as_deref(), &realm.name))
        .collect();
    Ok(json(StatusCode::OK, Value::Array(reps)))
}

/// The role-mapping handlers of one holder kind: list, add and remove, for client roles
/// (`…/clients/{client}`) and realm roles (`…/realm`).
macro_rules! role_mapping_handlers {
    ($whose:expr, $client_list:ident, $client_add:ident, $client_remove:ident, $realm_list:ident, $realm_add:ident, $realm_remove:ident) => {
        pub async fn $client_list(
            State(app): State<AppState>,
            Path((realm, id, client)): Path<(String, String, String)>,
            headers: HeaderMap,
        ) -> AdminResult {
            list_roles(app, headers, realm, $whose, id, Some(client)).await
        }

        pub async fn $client_add(
            State(app): State<AppState>,
            Path((realm, id, client)): Path<(String, String, String)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> AdminResult {
            change_roles(app, headers, realm, $whose, id, Some(client), body, true).await
        }

        pub async fn $client_remove(
            State(app): State<AppState>,
            Path((realm, id, client)): Path<(String, String, String)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> AdminResult {
            change_roles(app, headers, realm, $whose, id, Some(client), body, false).await
        }

        pub async fn $realm_list(
            State(app): State<AppState>,
            Path((realm, id)): Path<(String, String)>,
            headers: HeaderMap,
        ) -> AdminResult {
            list_roles(app, headers, realm, $whose, id, None).await
        }

        pub async fn $realm_add(
            State(app): State<AppState>,
            Path((realm, id)): Path<(String, String)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> AdminResult {
            change_roles(app, headers, realm, $whose, id, None, body, true).await
        }

        pub async fn $realm_remove(
            State(app): State<AppState>,
            Path((realm, id)): Path<(String, String)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> AdminResult {
            change_roles(app, headers, realm, $whose, id, None, body, false).await
        }
    };
}

role_mapping_handlers!(
    Whose::User,
    client_role_mappings,
    add_client_roles,
    remove_client_roles,
    realm_role_mappings,
    add_realm_roles,
    remove_realm_roles
);

role_mapping_handlers!(
    Whose::Group,
    group_client_role_mappings,
    group_add_client_roles,
    group_remove_client_roles,
    group_realm_role_mappings,
    group_add_realm_roles,
    group_remove_realm_roles
);

pub async fn realm_roles(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let roles = app.store.read(|c| roles::roles(c, realm.id, 0))?;
    Ok(json(StatusCode::OK, Value::Array(roles.iter().map(|r| role_representation(r, None, &realm.name)).collect())))
}
