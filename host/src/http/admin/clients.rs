//! `/admin/realms/{realm}/clients…`: clients, their secrets, service-account users and roles.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::users::{account_representation, keeping_an_admin, require_for_protected, role_representation};
use super::{AdminResult, created, enter, json, no_content, object, param, query, take_bool, take_string};
use crate::auth::AdminNeed;
use crate::auth::Principal;
use crate::error::Error;
use crate::http::AppState;
use crate::store::clients::{
    self, ADMIN_CLI, Client, ClientChanges, DIRECT_ACCESS_GRANTS, NewClient, REALM_MANAGEMENT,
};
use crate::store::realms::MASTER;
use crate::store::{Realm, events};

pub(super) fn representation(c: &Client) -> Value {
    let mut m = c.attributes.clone();
    m.insert("id".into(), json!(c.id));
    m.insert("clientId".into(), json!(c.client_id));
    m.insert("enabled".into(), json!(c.enabled));
    m.insert("publicClient".into(), json!(c.public_client));
    m.insert("serviceAccountsEnabled".into(), json!(c.service_accounts_enabled));
    m.insert("bearerOnly".into(), json!(c.client_id == REALM_MANAGEMENT));
    m.insert(DIRECT_ACCESS_GRANTS.into(), json!(c.direct_access_grants()));
    m.insert("clientAuthenticatorType".into(), json!("client-secret"));
    Value::Object(m)
}

/// A client whose service account holds an administrative role is an administrator's
/// credential: changing it (its secret above all) needs what changing that user needs.
fn require_for_client(app: &AppState, principal: &Principal, realm: &Realm, client: &Client) -> Result<(), Error> {
    let Some(pk) = client.service_account_user_pk else { return Ok(()) };
    let protected =
        app.store.read(|c| crate::store::accounts::account_by_pk(c, realm.id, pk))?.is_some_and(|a| a.protected);
    require_for_protected(principal, realm, protected, &format!("client '{}' (its service account)", client.client_id))
}

/// Whether a client is the master realm's `admin-cli`.
fn is_admin_cli(realm: &Realm, client: &Client) -> bool {
    realm.name == MASTER && client.client_id == ADMIN_CLI
}

/// A client by its internal id (Keycloak's path parameter).
pub(super) fn client(app: &AppState, realm: &Realm, id: &str) -> Result<Client, Error> {
    app.store
        .read(|c| clients::client_by_id(c, realm.id, id))?
        .ok_or_else(|| Error::NotFound(format!("client '{id}' does not exist in realm '{}'", realm.name)))
}

fn changes(mut m: Map<String, Value>) -> Result<(Option<String>, ClientChanges), Error> {
    let client_id = take_string(&mut m, "clientId")?;
    m.remove("id");
    for derived in ["bearerOnly", "clientAuthenticatorType"] {
        m.remove(derived);
    }
    let c = ClientChanges {
        enabled: take_bool(&mut m, "enabled")?,
        public_client: take_bool(&mut m, "publicClient")?,
        service_accounts_enabled: take_bool(&mut m, "serviceAccountsEnabled")?,
        secret: take_string(&mut m, "secret")?,
        attributes: Some(m),
    };
    Ok((client_id, c))
}

pub async fn list(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let q = query(raw.as_deref());
    let all = app.store.read(|c| clients::clients(c, realm.id))?;
    let wanted = param(&q, "clientId");
    let reps: Vec<Value> = all.iter().filter(|c| wanted.is_none_or(|w| w == c.client_id)).map(representation).collect();
    Ok(json(StatusCode::OK, Value::Array(reps)))
}

pub async fn create(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let (client_id, c) = changes(object(&body)?)?;
    let client_id = client_id.ok_or_else(|| Error::InvalidValue("'clientId' is required".into()))?;
    let new = NewClient {
        client_id,
        enabled: c.enabled.unwrap_or(true),
        public_client: c.public_client.unwrap_or(false),
        service_accounts_enabled: c.service_accounts_enabled.unwrap_or(false),
        secret: c.secret,
        attributes: c.attributes.unwrap_or_default(),
    };
    let actor = principal.actor();
    let realm_id = realm.id;
    let client = app
        .store
        .write(move |c| {
            let (client, _) = clients::create_client(c, realm_id, new.clone())?;
            events::record(
                c,
                realm_id,
                &actor,
                "CREATE",
                "CLIENT",
                &format!("clients/{}", client.id),
                Some(&representation(&client)),
            )?;
            Ok(client)
        })
        .await?;
    Ok(created(format!("/admin/realms/{}/clients/{}", realm.name, client.id)))
}

pub async fn get_one(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    Ok(json(StatusCode::OK, representation(&client(&app, &realm, &id)?)))
}

pub async fn update(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let current = client(&app, &realm, &id)?;
    require_for_client(&app, &principal, &realm, &current)?;
    let (client_id, mut c) = changes(object(&body)?)?;
    if client_id.is_some_and(|cid| cid != current.client_id) {
        return Err(Error::InvalidValue("a client's clientId cannot be changed".into()).into());
    }
    let mut attributes = current.attributes.clone();
    attributes.extend(c.attributes.take().unwrap_or_default());
    c.attributes = Some(attributes);
    // admin-cli is how administrators log in: turning it off would lock every one of them out.
    if is_admin_cli(&realm, &current) {
        let locks_out = c.enabled == Some(false)
            || c.public_client == Some(false)
            || !Client { attributes: c.attributes.clone().unwrap_or_default(), ..current.clone() }
                .direct_access_grants();
        if locks_out {
            return Err(Error::InvalidValue(
                "admin-cli is how the master realm's administrators log in; it stays enabled, public and allowed \
                 the password grant"
                    .into(),
            )
            .into());
        }
    }
    let actor = principal.actor();
    let realm_id = realm.id;
    app.store
        .write(move |conn| {
            let updated = clients::update_client(conn, &current, c.clone())?;
            events::record(
                conn,
                realm_id,
                &actor,
                "UPDATE",
                "CLIENT",
                &format!("clients/{}", updated.id),
                Some(&representation(&updated)),
            )
        })
        .await?;
    Ok(no_content())
}

pub async fn delete(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let current = client(&app, &realm, &id)?;
    if current.client_id == REALM_MANAGEMENT {
        return Err(Error::InvalidValue("the realm-management client cannot be deleted".into()).into());
    }
    if is_admin_cli(&realm, &current) {
        return Err(Error::InvalidValue("admin-cli is how administrators log in; it cannot be deleted".into()).into());
    }
    require_for_client(&app, &principal, &realm, &current)?;
    let (actor, realm_id) = (principal.actor(), realm.id);
    app.store
        .write(move |c| {
            // Its service account goes with it, and may be an administrator.
            keeping_an_admin(c, &realm, |c| clients::delete_client(c, &current))?;
            events::record(c, realm_id, &actor, "DELETE", "CLIENT", &format!("clients/{}", current.id), None)
        })
        .await?;
    Ok(no_content())
}

/// Secrets are kept hashed, so they can be set or regenerated, not read back.
pub async fn get_secret(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    client(&app, &realm, &id)?;
    Err(Error::InvalidValue(
        "client secrets are stored hashed and cannot be read back; POST to this endpoint makes a new one".into(),
    )
    .into())
}

/// Makes a new secret and answers it once; tokens issued under the old one stop working.
pub async fn regenerate_secret(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let current = client(&app, &realm, &id)?;
    require_for_client(&app, &principal, &realm, &current)?;
    if current.public_client {
        return Err(Error::InvalidValue("a public client has no secret".into()).into());
    }
    let secret = clients::generate_secret();
    let (actor, realm_id, value) = (principal.actor(), realm.id, secret.clone());
    app.store
        .write(move |c| {
            clients::set_secret(c, current.pk, &value)?;
            events::record(
                c,
                realm_id,
                &actor,
                "ACTION",
                "CLIENT",
                &format!("clients/{}/client-secret", current.id),
                None,
            )
        })
        .await?;
    Ok(json(StatusCode::OK, json!({"type": "secret", "value": secret})))
}

pub async fn service_account_user(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let c = client(&app, &realm, &id)?;
    let pk = c
        .service_account_user_pk
        .filter(|_| c.service_accounts_enabled)
        .ok_or_else(|| Error::NotFound(format!("client '{}' has no service account", c.client_id)))?;
    let account = app
        .store
        .read(|conn| crate::store::accounts::account_by_pk(conn, realm.id, pk))?
        .ok_or_else(|| Error::NotFound("no service account".into()))?;
    Ok(json(StatusCode::OK, account_representation(&account, Some(&c.client_id))))
}

pub async fn roles(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let c = client(&app, &realm, &id)?;
    let roles = app.store.read(|conn| crate::store::roles::roles(conn, realm.id, c.pk))?;
    Ok(json(
        StatusCode::OK,
        Value::Array(roles.iter().map(|r| role_representation(r, Some(&c.id), &realm.name)).collect()),
    ))
}

pub async fn role(
    State(app): State<AppState>,
    Path((realm, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let c = client(&app, &realm, &id)?;
    let role = app
        .store
        .read(|conn| crate::store::roles::role_by_name(conn, realm.id, c.pk, &name))?
        .ok_or_else(|| Error::NotFound(format!("client '{}' has no role '{name}'", c.client_id)))?;
    Ok(json(StatusCode::OK, role_representation(&role, Some(&c.id), &realm.name)))
}
