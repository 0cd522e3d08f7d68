//! The admin REST API under `/admin/realms`, shaped like Keycloak's for what scimd supports:
//! realms, clients and their secrets, the `realm-management` roles and role mappings of users
//! and groups, users (change, delete, reset a password, log out, join a group), brute-force
//! status, signing keys, trusted issuers and admin events. Errors are Keycloak's
//! `{"error", "errorMessage"}`. Every write is recorded as an admin event in its own
//! transaction.

mod attack_detection;
mod clients;
mod components;
mod events;
mod keys;
mod profile;
mod realms;
mod users;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::{Map, Value};

use super::AppState;
use crate::auth::{AdminNeed, Principal};
use crate::error::Error;
use crate::store::Realm;

/// An admin API error, answered in Keycloak's shape.
pub struct AdminError(Error);

impl From<Error> for AdminError {
    fn from(e: Error) -> Self {
        AdminError(e)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        self.0.into_admin_response()
    }
}

type AdminResult = Result<Response, AdminError>;

/// The caller, allowed to do `need` on `realm`, and the realm.
fn enter(app: &AppState, headers: &HeaderMap, realm: &str, need: AdminNeed) -> Result<(Principal, Realm), Error> {
    let principal = app.auth.authenticate_any(headers)?;
    principal.require_admin(realm, need)?;
    let realm = app.store.realm(realm)?.ok_or_else(|| Error::NotFound(format!("realm '{realm}' does not exist")))?;
    Ok((principal, realm))
}

fn json(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `201 Created` with the new resource's `Location`, as Keycloak answers.
fn created(location: String) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A JSON object request body.
fn object(body: &[u8]) -> Result<Map<String, Value>, Error> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::BadRequest("the request body must be a JSON object".into())),
        Err(e) => Err(Error::BadRequest(format!("the request body is not valid JSON: {e}"))),
    }
}

/// Takes an optional boolean field out of a representation.
fn take_bool(m: &mut Map<String, Value>, key: &str) -> Result<Option<bool>, Error> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(other) => Err(Error::InvalidValue(format!("'{key}' must be true or false, not {other}"))),
    }
}

/// Takes an optional string field out of a representation.
fn take_string(m: &mut Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match m.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Error::InvalidValue(format!("'{key}' must be a string, not {other}"))),
    }
}

/// Query parameters, decoded.
fn query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/realms", get(realms::list).post(realms::create))
        .route("/realms/{realm}", get(realms::get_one).put(realms::update).delete(realms::delete))
        .route("/realms/{realm}/clients", get(clients::list).post(clients::create))
        .route("/realms/{realm}/clients/{id}", get(clients::get_one).put(clients::update).delete(clients::delete))
        .route("/realms/{realm}/clients/{id}/client-secret", get(clients::get_secret).post(clients::regenerate_secret))
        .route("/realms/{realm}/clients/{id}/service-account-user", get(clients::service_account_user))
        .route("/realms/{realm}/clients/{id}/roles", get(clients::roles))
        .route("/realms/{realm}/clients/{id}/roles/{name}", get(clients::role))
        .route("/realms/{realm}/roles", get(users::realm_roles))
        .route("/realms/{realm}/users", get(users::list))
        .route("/realms/{realm}/users/profile", get(profile::get_profile).put(profile::put_profile))
        .route("/realms/{realm}/scim/extensions", get(profile::get_extensions).put(profile::put_extensions))
        .route("/realms/{realm}/users/{id}", get(users::get_one).put(users::update).delete(users::delete))
        .route("/realms/{realm}/users/{id}/reset-password", put(users::reset_password))
        .route("/realms/{realm}/users/{id}/logout", post(users::logout))
        .route("/realms/{realm}/users/{id}/groups", get(users::user_groups))
        .route("/realms/{realm}/users/{id}/groups/{group}", put(users::join_group).delete(users::leave_group))
        .route("/realms/{realm}/users/{id}/role-mappings", get(users::role_mappings))
        .route(
            "/realms/{realm}/users/{id}/role-mappings/clients/{client}",
            get(users::client_role_mappings).post(users::add_client_roles).delete(users::remove_client_roles),
        )
        .route(
            "/realms/{realm}/users/{id}/role-mappings/realm",
            get(users::realm_role_mappings).post(users::add_realm_roles).delete(users::remove_realm_roles),
        )
        .route("/realms/{realm}/groups", get(users::groups))
        .route("/realms/{realm}/groups/{id}", get(users::group_one))
        .route(
            "/realms/{realm}/groups/{id}/role-mappings/clients/{client}",
            get(users::group_client_role_mappings)
                .post(users::group_add_client_roles)
                .delete(users::group_remove_client_roles),
        )
        .route(
            "/realms/{realm}/groups/{id}/role-mappings/realm",
            get(users::group_realm_role_mappings)
                .post(users::group_add_realm_roles)
                .delete(users::group_remove_realm_roles),
        )
        .route("/realms/{realm}/attack-detection/brute-force/users", delete(attack_detection::clear_all))
        .route(
            "/realms/{realm}/attack-detection/brute-force/users/{id}",
            get(attack_detection::status).delete(attack_detection::clear),
        )
        .route("/realms/{realm}/admin-events", get(events::list))
        .route("/realms/{realm}/scim/component", axum::routing::put(components::deploy))
        .route("/realms/{realm}/scim/component/rollback", axum::routing::post(components::rollback))
        .route("/realms/{realm}/scim/components", get(components::list))
        .route("/realms/{realm}/scim/components/{version}", get(components::get_one))
        .route("/realms/{realm}/keys", get(keys::list).post(keys::rotate))
        .route("/realms/{realm}/trusted-issuers", get(keys::list_issuers).post(keys::add_issuer))
        .route("/realms/{realm}/trusted-issuers/{id}", axum::routing::delete(keys::remove_issuer))
        .fallback(|uri: axum::http::Uri| async move {
            Error::NotFound(format!("no admin endpoint at {}", uri.path())).into_admin_response()
        })
        .method_not_allowed_fallback(|| async {
            Error::MethodNotAllowed("this method is not allowed on this admin endpoint".into()).into_admin_response()
        })
}
