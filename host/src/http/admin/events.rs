//! `/admin/realms/{realm}/admin-events`: who changed what, when (Keycloak's representation).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{AdminResult, enter, json, param, query};
use crate::auth::AdminNeed;
use crate::error::Error;
use crate::http::AppState;
use crate::store::events::EventQuery;

pub async fn list(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewRealm)?;
    let q = query(raw.as_deref());
    let number = |name: &str, default: i64| -> Result<i64, Error> {
        param(&q, name)
            .map_or(Ok(default), |v| v.parse().map_err(|_| Error::InvalidValue(format!("'{name}' must be a number"))))
    };
    let filter = EventQuery {
        operation: param(&q, "operationTypes").map(str::to_string),
        resource_type: param(&q, "resourceTypes").map(str::to_string),
        first: number("first", 0)?.max(0),
        max: number("max", 100)?.clamp(0, 1000),
    };
    let events = app.store.events(realm.id, &realm.name, &filter)?;
    let reps: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut m = json!({
                "time": e.time,
                "realmId": e.realm,
                "authDetails": {"realmId": e.actor.realm, "clientId": e.actor.client, "userId": e.actor.user},
                "operationType": e.operation,
                "resourceType": e.resource_type,
                "resourcePath": e.resource_path,
            });
            if let Some(r) = &e.representation {
                m["representation"] = json!(r.to_string());
            }
            m
        })
        .collect();
    Ok(json(StatusCode::OK, Value::Array(reps)))
}
