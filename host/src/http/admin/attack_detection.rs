//! `/admin/realms/{realm}/attack-detection/brute-force/users…`, Keycloak's: a user's failed
//! logins and lockout, and their reset (an unlock).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::users::{account, require_for};
use super::{AdminResult, enter, json, no_content};
use crate::auth::AdminNeed;
use crate::auth::brute_force::{self, Subject};
use crate::http::AppState;
use crate::store::{events, now_ms};

/// `GET …/users/{id}`: `numFailures`, `disabled` (locked out now), `lastFailure`.
pub async fn status(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (_, realm) = enter(&app, &headers, &realm, AdminNeed::ViewUsers)?;
    let a = account(&app, &realm, &id)?;
    let f = app.brute_force.failures(realm.id, Subject::User, &a.username);
    let f_ref = f.as_ref();
    Ok(json(
        StatusCode::OK,
        json!({
            "numFailures": f_ref.map_or(0, |f| f.count),
            "disabled": brute_force::is_locked(f_ref, now_ms()),
            "lastIPFailure": "n/a",
            "lastFailure": f_ref.map_or(0, |f| f.last_failure),
        }),
    ))
}

/// `DELETE …/users/{id}`: forgets the user's failures, ending a temporary lockout. Unlocking an
/// administrator (which lets guessing of its password go on) needs what changing it needs.
pub async fn clear(
    State(app): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageUsers)?;
    let a = account(&app, &realm, &id)?;
    require_for(&principal, &realm, &a)?;
    app.brute_force.clear(realm.id, Subject::User, &a.username);
    let (actor, realm_id, path) = (principal.actor(), realm.id, format!("attack-detection/brute-force/users/{}", a.id));
    app.store.write(move |c| events::record(c, realm_id, &actor, "DELETE", "USER_LOGIN_FAILURE", &path, None)).await?;
    Ok(no_content())
}

/// `DELETE …/users`: forgets every user's failures (administrators' included, so it needs
/// `manage-realm`).
pub async fn clear_all(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> AdminResult {
    let (principal, realm) = enter(&app, &headers, &realm, AdminNeed::ManageRealm)?;
    app.brute_force.clear_realm(realm.id, Subject::User);
    let (actor, realm_id) = (principal.actor(), realm.id);
    let path = "attack-detection/brute-force/users";
    app.store.write(move |c| events::record(c, realm_id, &actor, "DELETE", "USER_LOGIN_FAILURE", path, None)).await?;
    Ok(no_content())
}
