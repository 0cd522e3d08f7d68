//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` (RFC 7644 §4): the engine's own
//! documents, with `meta.location` added for the realm.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::response::{self, json};
use super::{AppState, Scim};
use crate::auth::Need;
use crate::error::{Error, Result};

fn parse(doc: &str, what: &str) -> Result<Value> {
    serde_json::from_str(doc).map_err(|e| Error::EngineFault(format!("the engine's {what} is not valid JSON: {e}")))
}

fn with_location(mut v: Value, location: String) -> Value {
    if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("location".into(), Value::String(location));
    } else if let Some(obj) = v.as_object_mut() {
        obj.insert("meta".into(), serde_json::json!({"location": location}));
    }
    v
}

pub async fn service_provider_config(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let scim = Scim::enter(&app, &realm, &headers, Need::Discovery)?;
    let engine = scim.engine()?;
    let mut spc = parse(&engine.info().service_provider_config, "ServiceProviderConfig")?;
    // The host pages (RFC 9865 §5); an engine older than 0.2 does not say so itself.
    if let Some(obj) = spc.as_object_mut().filter(|o| !o.contains_key("pagination")) {
        let max = app.settings.max_results;
        obj.insert(
            "pagination".into(),
            serde_json::json!({
                "cursor": true,
                "index": true,
                "defaultPaginationMethod": "index",
                "defaultPageSize": max,
                "maxPageSize": max,
                "cursorTimeout": app.settings.cursor_timeout.as_secs(),
            }),
        );
    }
    let spc = with_location(spc, format!("{}/ServiceProviderConfig", scim.ctx.base_url));
    Ok(json(StatusCode::OK, spc.to_string()))
}

/// The documents of a discovery list, each with its location.
fn documents(scim: &Scim, endpoint: &str) -> Result<Vec<Value>> {
    let engine = scim.engine()?;
    let info = engine.info();
    let (text, what) = match endpoint {
        "Schemas" => (&info.schemas, "schema list"),
        _ => (&info.resource_types, "resource type list"),
    };
    let Value::Array(items) = parse(text, what)? else {
        return Err(Error::EngineFault(format!("the engine's {what} is not a JSON array")));
    };
    Ok(items
        .into_iter()
        .map(|item| {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            with_location(item, format!("{}/{endpoint}/{id}", scim.ctx.base_url))
        })
        .collect())
}

fn list(scim: &Scim, endpoint: &str) -> Result<Response> {
    let docs = documents(scim, endpoint)?;
    let rendered: Vec<String> = docs.iter().map(Value::to_string).collect();
    Ok(response::list(Some(rendered.len() as i64), Some(1), response::Cursors::default(), &rendered))
}

fn one(scim: &Scim, endpoint: &str, id: &str) -> Result<Response> {
    documents(scim, endpoint)?
        .into_iter()
        .find(|d| d.get("id").and_then(Value::as_str).is_some_and(|d| d.eq_ignore_ascii_case(id)))
        .map(|d| json(StatusCode::OK, d.to_string()))
        .ok_or_else(|| Error::NotFound(format!("there is no {} '{id}'", endpoint.trim_end_matches('s'))))
}

pub async fn schemas(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> Result<Response> {
    list(&Scim::enter(&app, &realm, &headers, Need::Discovery)?, "Schemas")
}

pub async fn schema(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    one(&Scim::enter(&app, &realm, &headers, Need::Discovery)?, "Schemas", &id)
}

pub async fn resource_types(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    list(&Scim::enter(&app, &realm, &headers, Need::Discovery)?, "ResourceTypes")
}

pub async fn resource_type(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    one(&Scim::enter(&app, &realm, &headers, Need::Discovery)?, "ResourceTypes", &id)
}
