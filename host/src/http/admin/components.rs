//! `/admin/realms/{realm}/scim/component…`: deploying a realm's own SCIM engine.
//!
//! A deployment is compiled, type-checked against the `scim-guest` world, instantiated with
//! the realm's configuration, asked to `describe()` itself and put through a self-test; only
//! then is it stored (a new version, kept for rollback) and swapped in. Requests already under
//! way finish on the engine they started with.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{AdminResult, enter, json, param, query};
use crate::auth::AdminNeed;
use crate::error::Error;
use crate::http::{AppState, heavy, read_bytes};
use crate::runtime::{self, Loaded};
use crate::store::components::{self, Deployment};
use crate::store::{Realm, events, format_ms, realms};

fn representation(d: &Deployment, active: bool) -> Value {
    json!({
        "version": d.version,
        "hash": d.hash,
        "apiVersion": d.api_version,
        "name": d.name,
        "size": d.size,
        "deployedAt": format_ms(d.deployed_at),
        "deployedBy": d.deployed_by,
        "active": active,
    })
}

/// Version 0: the engine built into scimd.
fn builtin(active: bool) -> Value {
    let hash = runtime::component_hash(runtime::DEFAULT_COMPONENT);
    json!({"version": 0, "hash": hash, "name": "scimd-default (built in)",
           "size": runtime::DEFAULT_COMPONENT.len(), "active": active})
}

fn refused(e: Error) -> Error {
    let detail = match e {
        // Not the component's fault: the client may send it again.
        busy @ Error::Busy { .. } => return busy,
        Error::InvalidValue(d) => d,
        other => other.to_string(),
    };
    Error::InvalidValue(format!("the component was refused: {detail}"))
}

/// Builds and checks a component as the realm's engine; it is installed once stored.
fn checked(app: &AppState, realm: &Realm, loaded: Loaded) -> Result<std::sync::Arc<runtime::RealmEngine>, Error> {
    let probe = app.runtime.probe(loaded.clone(), app.realms.plain_engine_config(realm)).map_err(refused)?;
    let engine = app.runtime.build(realm.id, loaded, app.realms.engine_config(realm)).map_err(refused)?;
    runtime::self_test(&probe, &engine)
        .map_err(|m| Error::InvalidValue(format!("the component was refused: it failed its self-test ({m})")))?;
    Ok(engine)
}

/// The engine key of the realm as just stored: requests look the new engine up by it.
fn stored_key(c: &rusqlite::Connection, realm: &str) -> Result<String, Error> {
    let row = realms::realm_by_name(c, realm)?.ok_or_else(|| Error::NotFound(format!("realm '{realm}' is gone")))?;
    Ok(crate::realms::engine_key(&row))
}

/// `PUT /admin/realms/{realm}/scim/component` with the component's bytes.
pub async fn deploy(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let body = read_bytes(body, &headers, app.settings.max_component).await?;
    if body.is_empty() {
        return Err(Error::InvalidValue("the request body must be the component's .wasm bytes".into()).into());
    }
    let engine = heavy(|| {
        let loaded = app.runtime.compile(&body).map_err(refused)?;
        checked(&app, &realm, loaded)
    })?;
    let info = engine.info().clone();
    // The version is the next one when the write runs: deploys at the same time each get one.
    let d = Deployment {
        version: 0,
        hash: engine.component_hash().to_string(),
        api_version: info.api_version.clone(),
        name: info.name.clone(),
        size: body.len() as i64,
        deployed_at: crate::store::now_ms(),
        deployed_by: Some(principal.subject.clone()),
    };
    let (actor, realm_id, realm_name) = (principal.actor(), realm.id, realm.name.clone());
    let (key, rep) = app
        .store
        .write(move |c| {
            let version = components::deploy(c, realm_id, &body, &d)?;
            let rep = representation(&Deployment { version, ..d.clone() }, true);
            events::record(
                c,
                realm_id,
                &actor,
                "CREATE",
                "SCIM_COMPONENT",
                &format!("scim/components/{version}"),
                Some(&rep),
            )?;
            Ok((stored_key(c, &realm_name)?, rep))
        })
        .await?;
    app.realms.install(realm.id, &key, engine);
    Ok(json(StatusCode::CREATED, rep))
}

pub async fn list(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let all = app.store.read(|c| components::deployments(c, realm.id))?;
    let mut out = vec![builtin(realm.component_version == 0)];
    out.extend(all.iter().map(|d| representation(d, d.version == realm.component_version)));
    Ok(json(StatusCode::OK, Value::Array(out)))
}

pub async fn get_one(
    State(app): State<AppState>,
    Path((realm, version)): Path<(String, i64)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    if version == 0 {
        return Ok(json(StatusCode::OK, builtin(realm.component_version == 0)));
    }
    let d = app
        .store
        .read(|c| components::deployment(c, realm.id, version))?
        .ok_or_else(|| Error::NotFound(format!("there is no component version {version} in realm '{}'", realm.name)))?;
    Ok(json(StatusCode::OK, representation(&d, version == realm.component_version)))
}

/// `POST /admin/realms/{realm}/scim/component/rollback[?to=VERSION]`: back to the version
/// that ran before the current one (the realm's history of switches is kept, so rolling back
/// twice steps back twice), or to a given version (0: the built-in engine).
pub async fn rollback(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    let q = query(raw.as_deref());
    let current = realm.component_version;
    let explicit = match param(&q, "to") {
        Some(v) => Some(
            v.parse::<i64>().map_err(|_| Error::InvalidValue(format!("'to' must be a version number, not '{v}'")))?,
        ),
        None => None,
    };
    let target = match explicit {
        Some(v) => v,
        None => app.store.read(|c| components::previous(c, realm.id, current))?.ok_or_else(|| {
            Error::InvalidValue("the realm runs the first engine of its history; there is nothing to roll back".into())
        })?,
    };
    let loaded = if target == 0 {
        Loaded::builtin()?
    } else {
        let d = app.store.read(|c| components::deployment(c, realm.id, target))?.ok_or_else(|| {
            Error::NotFound(format!("there is no component version {target} in realm '{}'", realm.name))
        })?;
        app.runtime.component(&d.hash, || {
            app.store
                .component_wasm(realm.id, target)?
                .ok_or_else(|| Error::Internal("a component's bytes are gone".into()))
        })?
    };
    let engine = heavy(|| checked(&app, &realm, loaded))?;
    let (actor, realm_id, realm_name) = (principal.actor(), realm.id, realm.name.clone());
    let key = app
        .store
        .write(move |c| {
            match explicit {
                Some(v) => components::activate(c, realm_id, v)?,
                None => components::step_back(c, realm_id, current, target)?,
            }
            events::record(
                c,
                realm_id,
                &actor,
                "ACTION",
                "SCIM_COMPONENT",
                &format!("scim/components/{target}"),
                None,
            )?;
            stored_key(c, &realm_name)
        })
        .await?;
    app.realms.install(realm.id, &key, engine);
    Ok(json(StatusCode::OK, json!({"version": target})))
}
