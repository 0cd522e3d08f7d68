//! `/admin/realms/{realm}/users…` and `/roles`: realm users (service accounts included) and
//! their role mappings.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::clients::client;
use super::{AdminResult, enter, json, no_content, param, query};
use crate::auth::AdminNeed;
use crate::error::Error;
use crate::http::AppState;
use crate::store::clients::{self, Account, Role};
use crate::store::{Realm, events};

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

fn account(app: &AppState, realm: &Realm, id: &str) -> Result<Account, Error> {
    app.store
        .read(|c| clients::account_by_id(c, realm.id, id))?
        .ok_or_else(|| Error::NotFound(format!("user '{id}' does not exist in realm '{}'", realm.name)))
}

pub async fn list(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let q = query(raw.as_deref());
    let number = |name: &str, default: i64| -> Result<i64, Error> {
        param(&q, name)
            .map_or(Ok(default), |v| v.parse().map_err(|_| Error::InvalidValue(format!("'{name}' must be a number"))))
    };
    let (first, max) = (number("first", 0)?.max(0), number("max", 100)?.clamp(0, 1000));
    let username = param(&q, "username").or(param(&q, "search"));
    let exact = param(&q, "exact") == Some("true");
    let found = app.store.read(|c| clients::accounts(c, realm.id, username, exact, first, max))?;
    Ok(json(StatusCode::OK, Value::Array(found.iter().map(|a| account_representation(a, None)).collect())))
}

pub async fn get_one(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    Ok(json(StatusCode::OK, account_representation(&account(&app, &realm, &id)?, None)))
}

pub async fn role_mappings(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let a = account(&app, &realm, &id)?;
    let mapped = app.store.read(|c| clients::user_roles(c, a.pk))?;
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

async fn change_roles(
    app: AppState,
    headers: HeaderMap,
    realm: String,
    id: String,
    client_uuid: Option<String>,
    body: Bytes,
    grant: bool,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let a = account(&app, &realm, &id)?;
    let (client_pk, container, path) = match &client_uuid {
        Some(cid) => {
            let c = client(&app, &realm, cid)?;
            (c.pk, format!("client '{}'", c.client_id), format!("users/{}/role-mappings/clients/{}", a.id, c.id))
        }
        None => (0, format!("realm '{}'", realm.name), format!("users/{}/role-mappings/realm", a.id)),
    };
    let available = app.store.read(|c| clients::roles(c, realm.id, client_pk))?;
    let roles = named_roles(&body, &available, &container)?;
    // Realm roles (the master realm's `admin` above all) are the server administrators' to
    // give: a realm administrator maps its realm's client roles, and cannot make itself (or
    // anyone) a server administrator.
    if client_uuid.is_none() && !principal.is_server_admin() {
        return Err(Error::Forbidden("only a server administrator can map realm roles".into()).into());
    }
    let (actor, realm_id) = (principal.actor(), realm.id);
    let rep = Value::Array(roles.iter().map(|r| role_representation(r, client_uuid.as_deref(), &realm.name)).collect());
    let kind = if client_uuid.is_some() { "CLIENT_ROLE_MAPPING" } else { "REALM_ROLE_MAPPING" };
    app.store
        .write(move |c| {
            if grant {
                clients::map_roles(c, a.pk, &roles)?;
            } else {
                clients::unmap_roles(c, a.pk, &roles)?;
            }
            events::record(c, realm_id, &actor, if grant { "CREATE" } else { "DELETE" }, kind, &path, Some(&rep))
        })
        .await?;
    app.forget();
    Ok(no_content())
}

async fn list_roles(
    app: AppState,
    headers: HeaderMap,
    realm: String,
    id: String,
    client_uuid: Option<String>,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let a = account(&app, &realm, &id)?;
    let client_pk = match &client_uuid {
        Some(cid) => client(&app, &realm, cid)?.pk,
        None => 0,
    };
    let mapped = app.store.read(|c| clients::user_roles(c, a.pk))?;
    let reps: Vec<Value> = mapped
        .iter()
        .filter(|(_, r)| r.client_pk == client_pk)
        .map(|(_, r)| role_representation(r, client_uuid.as_deref(), &realm.name))
        .collect();
    Ok(json(StatusCode::OK, Value::Array(reps)))
}

pub async fn client_role_mappings(
    State(app): State<AppState>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    list_roles(app, headers, realm, id, Some(client)).await
}

pub async fn add_client_roles(
    State(app): State<AppState>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    change_roles(app, headers, realm, id, Some(client), body, true).await
}

pub async fn remove_client_roles(
    State(app): State<AppState>,
    Path((realm, id, client)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    change_roles(app, headers, realm, id, Some(client), body, false).await
}

pub async fn realm_role_mappings(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    list_roles(app, headers, realm, id, None).await
}

pub async fn add_realm_roles(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    change_roles(app, headers, realm, id, None, body, true).await
}

pub async fn remove_realm_roles(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    change_roles(app, headers, realm, id, None, body, false).await
}

pub async fn realm_roles(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let roles = app.store.read(|c| clients::roles(c, realm.id, 0))?;
    Ok(json(StatusCode::OK, Value::Array(roles.iter().map(|r| role_representation(r, None, &realm.name)).collect())))
}
