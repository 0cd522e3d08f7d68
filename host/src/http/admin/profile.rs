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

/// One of the two settings this module serves.
struct Setting {
    /// What the body must be, for the refusal of anything else.
    shape: fn(&Value) -> bool,
    shape_error: &'static str,
    /// The realm with the setting changed, to try on its engine.
    changed: fn(&Realm, Value) -> Realm,
    store: fn(&rusqlite::Connection, i64, Option<&Value>) -> crate::error::Result<()>,
    event_type: &'static str,
    event_path: &'static str,
}

const PROFILE: Setting = Setting {
    shape: Value::is_object,
    shape_error: "the user profile must be a JSON object with 'attributes'",
    changed: |r, v| Realm { profile: Some(v), ..r.clone() },
    store: realms::set_profile,
    event_type: "USER_PROFILE",
    event_path: "users/profile",
};

const EXTENSIONS: Setting = Setting {
    shape: Value::is_array,
    shape_error: "the extensions must be a JSON array of schema declarations",
    changed: |r, v| Realm { extensions: Some(v), ..r.clone() },
    store: realms::set_extensions,
    event_type: "SCIM_EXTENSIONS",
    event_path: "scim/extensions",
};

/// Checks a new value of a setting, builds the realm's engine with it (its refusal is the
/// client's error), then stores it with an admin event.
async fn put(app: AppState, realm: String, headers: HeaderMap, bytes: Bytes, setting: &'static Setting) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    if !(setting.shape)(&value) {
        return Err(Error::InvalidValue(setting.shape_error.into()).into());
    }
    let candidate = (setting.changed)(&realm, value.clone());
    heavy(|| {
        let loaded = app.realms.component(&candidate)?;
        app.runtime.probe(loaded, app.realms.engine_config(&candidate)).map(|_| ())
    })?;
    let (actor, realm_id) = (principal.actor(), realm.id);
    app.store
        .write(move |c| {
            (setting.store)(c, realm_id, Some(&value))?;
            events::record(c, realm_id, &actor, "UPDATE", setting.event_type, setting.event_path, Some(&value))
        })
        .await?;
    Ok(no_content())
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
    put(app, realm, headers, bytes, &PROFILE).await
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
    put(app, realm, headers, bytes, &EXTENSIONS).await
}
