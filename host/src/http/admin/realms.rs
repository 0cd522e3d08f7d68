//! `/admin/realms` and `/admin/realms/{realm}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::{AdminResult, created, enter, json, no_content, object, take_bool, take_string};
use crate::auth::AdminNeed;
use crate::auth::policy::Policy;
use crate::error::Error;
use crate::http::AppState;
use crate::store::Realm;
use crate::store::events;
use crate::store::realms::{self, Compatibility, MASTER, NewRealm, RealmChanges};

/// A realm's representation: Keycloak's fields scimd knows (the security settings with their
/// defaults when not set), and whatever else it was given.
pub(super) fn representation(r: &Realm) -> Value {
    let mut m = r.attributes.clone();
    Policy::fill_defaults(&mut m);
    m.insert("id".into(), json!(r.name));
    m.insert("realm".into(), json!(r.name));
    m.insert("enabled".into(), json!(r.enabled));
    m.insert("scimApiEnabled".into(), json!(r.scim_enabled));
    m.insert("scimCompatibility".into(), json!(r.compatibility.as_str()));
    Value::Object(m)
}

/// Splits a representation into what scimd uses and the rest, which it keeps.
fn settings(mut m: Map<String, Value>) -> Result<(Option<String>, RealmChanges), Error> {
    let name = take_string(&mut m, "realm")?;
    m.remove("id");
    // The security settings are kept with the rest, but must read.
    Policy::of(&m)?;
    let changes = RealmChanges {
        enabled: take_bool(&mut m, "enabled")?,
        scim_enabled: take_bool(&mut m, "scimApiEnabled")?,
        compatibility: take_string(&mut m, "scimCompatibility")?.map(|c| Compatibility::parse(&c)).transpose()?,
        attributes: Some(m),
    };
    Ok((name, changes))
}

pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> AdminResult {
    let principal = app.auth.authenticate_any(&headers)?;
    let all = app.store.realms()?;
    let visible: Vec<Value> = all
        .iter()
        .filter(|r| principal.require_admin(&r.name, AdminNeed::ViewRealm).is_ok())
        .map(representation)
        .collect();
    Ok(json(StatusCode::OK, Value::Array(visible)))
}

pub async fn create(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> AdminResult {
    let (principal, master) = enter(&app, &headers, MASTER, AdminNeed::Server)?;
    let (name, changes) = settings(object(&body)?)?;
    let name = name.ok_or_else(|| Error::InvalidValue("'realm' (the realm's name) is required".into()))?;
    let new = NewRealm {
        name: name.clone(),
        enabled: changes.enabled.unwrap_or(true),
        scim_enabled: changes.scim_enabled.unwrap_or(true),
        compatibility: changes.compatibility.unwrap_or(Compatibility::Entra),
        attributes: changes.attributes.unwrap_or_default(),
    };
    let actor = principal.actor();
    let realm = app
        .store
        .write(move |c| {
            let realm = realms::create_realm(c, new.clone())?;
            let rep = representation(&realm);
            events::record(c, master.id, &actor, "CREATE", "REALM", &format!("realms/{}", realm.name), Some(&rep))?;
            Ok(realm)
        })
        .await?;
    Ok(created(format!("/admin/realms/{}", realm.name)))
}

pub async fn get_one(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    Ok(json(StatusCode::OK, representation(&realm)))
}

pub async fn update(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let (name, mut changes) = settings(object(&body)?)?;
    if name.is_some_and(|n| n != realm.name) {
        return Err(Error::InvalidValue("a realm cannot be renamed".into()).into());
    }
    // Fields not given keep their values, as in Keycloak.
    let mut attributes = realm.attributes.clone();
    attributes.extend(changes.attributes.take().unwrap_or_default());
    // How long the realm's audit trail is kept is a server administrator's to change: a realm
    // administrator could otherwise erase its own.
    let retention = Policy::of(&attributes)?.admin_events_expiration;
    if retention != Policy::of_or_default(&realm.attributes).admin_events_expiration && !principal.is_server_admin() {
        return Err(Error::Forbidden("only a server administrator changes adminEventsExpiration".into()).into());
    }
    changes.attributes = Some(attributes);
    let actor = principal.actor();
    app.store
        .write(move |c| {
            let updated = realms::update_realm(c, &realm, changes.clone())?;
            events::record(c, realm.id, &actor, "UPDATE", "REALM", "", Some(&representation(&updated)))
        })
        .await?;
    Ok(no_content())
}

pub async fn delete(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (principal, master) = enter(&app, &headers, MASTER, AdminNeed::Server)?;
    let target = app.store.realm(&realm)?.ok_or_else(|| Error::NotFound(format!("realm '{realm}' does not exist")))?;
    let actor = principal.actor();
    app.store
        .write(move |c| {
            realms::delete_realm(c, &target)?;
            events::record(c, master.id, &actor, "DELETE", "REALM", &format!("realms/{}", target.name), None)
        })
        .await?;
    Ok(no_content())
}
