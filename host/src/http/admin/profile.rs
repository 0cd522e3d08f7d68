//! A realm's user profile (`/admin/realms/{realm}/users/profile`, Keycloak's endpoint) and
//! extension schemas (`/admin/realms/{realm}/scim/extensions`): what its SCIM engine maps and
//! declares. A change is tried on the realm's engine before it is stored, so a profile the
//! engine refuses is a 400 and never reaches SCIM requests.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{AdminResult, enter, json, no_content};
use crate::auth::AdminNeed;
use crate::error::Error;
use crate::http::{AppState, heavy};
use crate::store::{Realm, events, realms};

fn body(bytes: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::BadRequest(format!("the request body is not valid JSON: {e}")))
}

/// Builds the realm's engine with the changed settings; its refusal is the client's error.
fn try_on_engine(app: &AppState, candidate: &Realm) -> Result<(), Error> {
    heavy(|| {
        let loaded = app.component(candidate)?;
        app.runtime.probe(loaded, app.engine_config(candidate)).map(|_| ())
    })
}

pub async fn get_profile(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    Ok(json(StatusCode::OK, realm.profile.unwrap_or_else(|| json!({"attributes": []}))))
}

pub async fn put_profile(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let profile = body(&bytes)?;
    if !profile.is_object() {
        return Err(Error::InvalidValue("the user profile must be a JSON object with 'attributes'".into()).into());
    }
    try_on_engine(&app, &Realm { profile: Some(profile.clone()), ..realm.clone() })?;
    let (actor, realm_id) = (principal.actor(), realm.id);
    app.store
        .write(move |c| {
            realms::set_profile(c, realm_id, Some(&profile))?;
            events::record(c, realm_id, &actor, "UPDATE", "USER_PROFILE", "users/profile", Some(&profile))
        })
        .await?;
    app.forget();
    Ok(no_content())
}

pub async fn get_extensions(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    Ok(json(StatusCode::OK, realm.extensions.unwrap_or_else(|| json!([]))))
}

pub async fn put_extensions(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let extensions = body(&bytes)?;
    if !extensions.is_array() {
        return Err(Error::InvalidValue("the extensions must be a JSON array of schema declarations".into()).into());
    }
    try_on_engine(&app, &Realm { extensions: Some(extensions.clone()), ..realm.clone() })?;
    let (actor, realm_id) = (principal.actor(), realm.id);
    app.store
        .write(move |c| {
            realms::set_extensions(c, realm_id, Some(&extensions))?;
            events::record(c, realm_id, &actor, "UPDATE", "SCIM_EXTENSIONS", "scim/extensions", Some(&extensions))
        })
        .await?;
    app.forget();
    Ok(no_content())
}
