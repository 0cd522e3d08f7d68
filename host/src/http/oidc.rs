//! The OpenID Connect pieces of a realm, as Keycloak serves them: the token endpoint
//! (`client_credentials`, `password`, `refresh_token`), the JWKS and the discovery document.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{AppState, heavy, public_base};
use crate::auth::jwt::{self, ACCESS_TTL, Access, Claims, REFRESH_TTL, VerifyingKey};
use crate::auth::password;
use crate::error::{Error, Result};
use crate::store::clients::{self, Account, Client, REALM_MANAGEMENT};
use crate::store::{Realm, now_ms};

fn oauth(status: u16, error: &'static str, description: impl Into<String>) -> Error {
    Error::OAuth { status, error, description: description.into() }
}

fn realm_of(app: &AppState, name: &str) -> Result<Realm> {
    match app.store.realm(name)? {
        Some(r) if r.enabled => Ok(r),
        Some(_) => Err(oauth(400, "invalid_request", format!("realm '{name}' is disabled"))),
        None => Err(oauth(404, "invalid_request", format!("realm '{name}' does not exist"))),
    }
}

fn issuer(headers: &HeaderMap, app: &AppState, realm: &str) -> String {
    format!("{}/realms/{realm}", public_base(headers, app))
}

fn json_response(body: Value) -> Response {
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// `GET /realms/{realm}/protocol/openid-connect/certs`
pub async fn certs(State(app): State<AppState>, Path(realm): Path<String>) -> Result<Response> {
    let realm = realm_of(&app, &realm)?;
    let keys: Vec<Value> = app.store.signing_keys(realm.id)?.into_iter().map(|k| k.public_jwk).collect();
    Ok(json_response(json!({"keys": keys})))
}

/// `GET /realms/{realm}/.well-known/openid-configuration`
pub async fn discovery(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> Result<Response> {
    let realm = realm_of(&app, &realm)?;
    let iss = issuer(&headers, &app, &realm.name);
    Ok(json_response(json!({
        "issuer": iss,
        "token_endpoint": format!("{iss}/protocol/openid-connect/token"),
        "jwks_uri": format!("{iss}/protocol/openid-connect/certs"),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "profile", "email"],
    })))
}

/// The client a token request authenticates as: HTTP Basic (RFC 6749 §2.3.1) or form fields.
fn client_credentials(headers: &HeaderMap, form: &[(String, String)]) -> Result<(String, Option<String>)> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| oauth(401, "invalid_client", "the Basic credentials cannot be decoded"))?;
        let (id, secret) =
            decoded.split_once(':').ok_or_else(|| oauth(401, "invalid_client", "the Basic credentials have no ':'"))?;
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|v| v.into_iter().next().map(|(_, v)| v))
                .unwrap_or_else(|| s.to_string())
        };
        return Ok((unescape(id), Some(unescape(secret))));
    }
    let id =
        field("client_id").ok_or_else(|| oauth(400, "invalid_client", "the request names no client (client_id)"))?;
    Ok((id, field("client_secret")))
}

/// `POST /realms/{realm}/protocol/openid-connect/token`
pub async fn token(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let realm = realm_of(&app, &realm)?;
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| oauth(400, "invalid_request", "the request body cannot be read"))?;
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| oauth(400, "invalid_request", "the body must be application/x-www-form-urlencoded"))?;
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let grant = field("grant_type").ok_or_else(|| oauth(400, "invalid_request", "grant_type is required"))?.to_string();
    let (client_id, secret) = client_credentials(&headers, &form)?;
    let client = app
        .store
        .read(|c| clients::client_by_client_id(c, realm.id, &client_id))?
        .ok_or_else(|| oauth(401, "invalid_client", format!("client '{client_id}' does not exist")))?;
    if !client.enabled {
        return Err(oauth(401, "invalid_client", format!("client '{client_id}' is disabled")));
    }
    if !client.public_client {
        let secret = secret.ok_or_else(|| oauth(401, "invalid_client", "the client secret is missing"))?;
        if !app.store.read(|c| clients::check_secret(c, &client, &secret))? {
            return Err(oauth(401, "invalid_client", "the client secret is not valid"));
        }
    }
    let iss = issuer(&headers, &app, &realm.name);
    let (account, with_refresh) = match grant.as_str() {
        "client_credentials" => {
            if client.public_client {
                return Err(oauth(400, "unauthorized_client", "a public client cannot use client credentials"));
            }
            let user_pk =
                client.service_account_user_pk.filter(|_| client.service_accounts_enabled).ok_or_else(|| {
                    oauth(400, "unauthorized_client", "the client has no service account (serviceAccountsEnabled)")
                })?;
            let account = app
                .store
                .read(|c| clients::account_by_pk(c, user_pk))?
                .ok_or_else(|| oauth(400, "unauthorized_client", "the client's service account is missing"))?;
            (account, false)
        }
        "password" => {
            let (Some(username), Some(pw)) = (field("username"), field("password")) else {
                return Err(oauth(400, "invalid_request", "username and password are required"));
            };
            let account = app.store.read(|c| clients::account_by_username(c, realm.id, username))?;
            let valid =
                account.as_ref().and_then(|a| a.password_hash.as_deref()).map(|h| heavy(|| password::verify(h, pw)));
            let Some(account) = account.filter(|_| valid == Some(true)) else {
                return Err(oauth(401, "invalid_grant", "invalid user credentials"));
            };
            (account, true)
        }
        "refresh_token" => {
            let refresh =
                field("refresh_token").ok_or_else(|| oauth(400, "invalid_request", "refresh_token is required"))?;
            let account = refreshed_account(&app, &realm, &client, refresh)?;
            (account, true)
        }
        other => return Err(oauth(400, "unsupported_grant_type", format!("grant_type '{other}' is not supported"))),
    };
    if !account.enabled {
        return Err(oauth(400, "invalid_grant", "the account is disabled"));
    }
    let body = issue(&app, &realm, &client, &account, &iss, with_refresh)?;
    let mut resp = json_response(body);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The account a refresh token was issued to, if the token is still good for this client.
fn refreshed_account(app: &AppState, realm: &Realm, client: &Client, token: &str) -> Result<Account> {
    let invalid = |why: &str| oauth(400, "invalid_grant", format!("the refresh token is not valid: {why}"));
    let header = jwt::header(token).map_err(|_| invalid("it is not a JWT"))?;
    let kid = header.kid.ok_or_else(|| invalid("it has no key id"))?;
    let key = app
        .store
        .signing_keys(realm.id)?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| invalid("it is signed with an unknown key"))?;
    let claims: Claims =
        jwt::verify(token, &VerifyingKey::of(&key)?, None, None).map_err(|e| invalid(&e.to_string()))?;
    if claims.typ != "Refresh" || !claims.iss.ends_with(&format!("/realms/{}", realm.name)) {
        return Err(invalid("it is not a refresh token of this realm"));
    }
    if claims.azp != client.client_id {
        return Err(invalid("it was issued to another client"));
    }
    app.store
        .read(|c| clients::account_by_id(c, realm.id, &claims.sub))?
        .ok_or_else(|| invalid("its user no longer exists"))
}

/// Signs an access token (and a refresh token when asked) for an account.
fn issue(
    app: &AppState,
    realm: &Realm,
    client: &Client,
    account: &Account,
    iss: &str,
    with_refresh: bool,
) -> Result<Value> {
    let key = app
        .store
        .signing_keys(realm.id)?
        .into_iter()
        .find(|k| k.active)
        .ok_or_else(|| Error::Internal(format!("realm '{}' has no signing key", realm.name)))?;
    let mapped = app.store.read(|c| clients::user_roles(c, account.pk))?;
    let mut realm_roles = Vec::new();
    let mut resource_access: std::collections::HashMap<String, Access> = Default::default();
    for (client_id, role) in mapped {
        match client_id {
            None => realm_roles.push(role.name),
            Some(cid) => resource_access.entry(cid).or_default().roles.push(role.name),
        }
    }
    resource_access.entry(REALM_MANAGEMENT.into()).or_default();
    resource_access.retain(|_, a| !a.roles.is_empty());
    let now = now_ms() / 1000;
    let claims = |typ: &str, ttl: i64| Claims {
        exp: now + ttl,
        iat: now,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        iss: iss.to_string(),
        sub: account.id.clone(),
        typ: typ.to_string(),
        azp: client.client_id.clone(),
        preferred_username: Some(account.username.clone()),
        realm_access: Some(Access { roles: realm_roles.clone() }),
        resource_access: resource_access.clone(),
        scope: Some("profile email".into()),
        secret_generation: (!client.public_client).then_some(client.secret_generation),
    };
    let access = jwt::sign(&key, &claims("Bearer", ACCESS_TTL))?;
    let mut body = json!({
        "access_token": access,
        "expires_in": ACCESS_TTL,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "profile email",
    });
    if with_refresh {
        body["refresh_token"] = json!(jwt::sign(&key, &claims("Refresh", REFRESH_TTL))?);
        body["refresh_expires_in"] = json!(REFRESH_TTL);
    }
    Ok(body)
}
