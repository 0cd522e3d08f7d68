//! The OpenID Connect pieces of a realm, as Keycloak serves them: the token endpoint
//! (`client_credentials`, `password`, `refresh_token`), logout, revocation (RFC 7009), the
//! JWKS and the discovery document.
//!
//! Every token belongs to a session (`store::sessions`). Refresh tokens rotate: each refresh
//! answers a new one and the old one stops working; presenting an old one again means a copy
//! is in someone else's hands, so the whole session ends. Client secrets and user passwords
//! are checked under brute-force detection (`auth::brute_force`), and an unknown client or
//! user costs and answers exactly what a wrong secret or password does.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{AppState, public_base};
use crate::auth::brute_force::{self, Subject};
use crate::auth::jwt::{self, ACCESS_TTL, Access, Claims, VerifyingKey};
use crate::auth::policy::Policy;
use crate::auth::roles_claims;
use crate::error::{Error, Result};
use crate::store::accounts::{self, Account};
use crate::store::clients::{self, Client};
use crate::store::roles;
use crate::store::sessions::{self, Refresh, Session};
use crate::store::{Realm, now_ms};

/// An error of the OAuth endpoints, answered in RFC 6749's shape whatever its kind.
pub struct OAuthError(Error);

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        OAuthError(e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        match self.0 {
            e @ Error::OAuth { .. } => e.into_response(),
            Error::Busy { retry_after, detail } => {
                let mut resp = oauth(503, "temporarily_unavailable", detail).into_response();
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                resp
            }
            e @ (Error::Store(_) | Error::Internal(_)) => {
                tracing::error!(error = %e, "internal error at the token endpoint");
                oauth(500, "server_error", "internal server error").into_response()
            }
            other => oauth(400, "invalid_request", other.to_string()).into_response(),
        }
    }
}

type OAuthResult = std::result::Result<Response, OAuthError>;

fn oauth(status: u16, error: &'static str, description: impl Into<String>) -> Error {
    Error::OAuth { status, error, description: description.into() }
}

/// What a failed client authentication answers, whatever failed: the client unknown, its
/// secret wrong or missing, it disabled, or its name locked out.
fn bad_client() -> Error {
    oauth(401, "invalid_client", "invalid client credentials")
}

/// What a failed password login answers, whatever failed.
fn bad_user() -> Error {
    oauth(401, "invalid_grant", "invalid user credentials")
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
pub async fn certs(State(app): State<AppState>, Path(realm): Path<String>) -> OAuthResult {
    let realm = realm_of(&app, &realm)?;
    let keys: Vec<Value> = app.store.signing_keys(realm.id)?.into_iter().map(|k| k.public_jwk).collect();
    Ok(json_response(json!({"keys": keys})))
}

/// `GET /realms/{realm}/.well-known/openid-configuration`
pub async fn discovery(State(app): State<AppState>, Path(realm): Path<String>, headers: HeaderMap) -> OAuthResult {
    let realm = realm_of(&app, &realm)?;
    let iss = issuer(&headers, &app, &realm.name);
    Ok(json_response(json!({
        "issuer": iss,
        "token_endpoint": format!("{iss}/protocol/openid-connect/token"),
        "end_session_endpoint": format!("{iss}/protocol/openid-connect/logout"),
        "revocation_endpoint": format!("{iss}/protocol/openid-connect/revoke"),
        "jwks_uri": format!("{iss}/protocol/openid-connect/certs"),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "profile", "email"],
    })))
}

/// A form request body of the OAuth endpoints.
struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    async fn read(body: Body) -> Result<Form> {
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| oauth(400, "invalid_request", "the request body cannot be read (at most 64 KiB)"))?;
        let pairs = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| oauth(400, "invalid_request", "the body must be application/x-www-form-urlencoded"))?;
        Ok(Form { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| oauth(400, "invalid_request", format!("{name} is required")))
    }
}

/// The client a request authenticates as: HTTP Basic (RFC 6749 §2.3.1) or form fields.
fn client_credentials(headers: &HeaderMap, form: &Form) -> Result<(String, Option<String>)> {
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
        form.get("client_id").ok_or_else(|| oauth(400, "invalid_client", "the request names no client (client_id)"))?;
    Ok((id.to_string(), form.get("client_secret").map(str::to_string)))
}

/// Counts a failed login of `name` under the realm's brute-force policy; with
/// `permanentLockout` reached, disables the user `disable` names — unless it is the master
/// realm's last enabled administrator, whom no guesser may lock out for good.
async fn record_failure(
    app: &AppState,
    realm: &Realm,
    policy: &Policy,
    subject: Subject,
    name: &str,
    disable: Option<i64>,
) -> Result<()> {
    if !policy.brute_force.enabled {
        return Ok(());
    }
    let after = app.brute_force.failed(&policy.brute_force, realm.id, subject, name, now_ms());
    if let (true, Some(pk)) = (after.disable, disable) {
        let realm_id = realm.id;
        app.store
            .write(move |c| {
                if roles::is_last_admin(c, realm_id, pk)? {
                    return Ok(());
                }
                accounts::set_enabled(c, realm_id, pk, false)
            })
            .await?;
    }
    Ok(())
}

/// Whether `name` is locked out now, and whether it has failures to forget on success.
fn lockout(app: &AppState, realm: &Realm, policy: &Policy, subject: Subject, name: &str) -> (bool, bool) {
    if !policy.brute_force.enabled {
        return (false, false);
    }
    let f = app.brute_force.failures(realm.id, subject, name);
    (brute_force::is_locked(f.as_ref(), now_ms()), f.is_some())
}

/// Authenticates the calling client: a confidential client by its secret (under brute-force
/// detection), a public one by its id. Every failure answers `bad_client()`.
async fn authenticate_client(
    app: &AppState,
    realm: &Realm,
    policy: &Policy,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Client> {
    let (client_id, secret) = client_credentials(headers, form)?;
    let client = app.store.read(|c| clients::client_by_client_id(c, realm.id, &client_id))?;
    if let Some(c) = &client
        && c.public_client
    {
        return if c.enabled { Ok(c.clone()) } else { Err(bad_client()) };
    }
    let (locked, had_failures) = lockout(app, realm, policy, Subject::Client, &client_id);
    if locked {
        return Err(bad_client());
    }
    let secret = secret.unwrap_or_default();
    let valid = app.store.read(|c| clients::check_secret(c, client.as_ref(), &secret))?;
    let Some(client) = client.filter(|c| valid && c.enabled) else {
        record_failure(app, realm, policy, Subject::Client, &client_id, None).await?;
        return Err(bad_client());
    };
    if had_failures {
        app.brute_force.clear(realm.id, Subject::Client, &client_id);
    }
    Ok(client)
}

/// `POST /realms/{realm}/protocol/openid-connect/token`
pub async fn token(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> OAuthResult {
    let realm = realm_of(&app, &realm)?;
    let policy = Policy::of_or_default(&realm.attributes);
    let form = Form::read(body).await?;
    let grant = form.require("grant_type")?.to_string();
    let client = authenticate_client(&app, &realm, &policy, &headers, &form).await?;
    let iss = issuer(&headers, &app, &realm.name);
    let now = now_ms();
    let (account, session, with_refresh) = match grant.as_str() {
        "client_credentials" => {
            if client.public_client {
                return Err(oauth(400, "unauthorized_client", "a public client cannot use client credentials").into());
            }
            let user_pk =
                client.service_account_user_pk.filter(|_| client.service_accounts_enabled).ok_or_else(|| {
                    oauth(400, "unauthorized_client", "the client has no service account (serviceAccountsEnabled)")
                })?;
            let account = app
                .store
                .read(|c| accounts::account_by_pk(c, realm.id, user_pk))?
                .ok_or_else(|| oauth(400, "unauthorized_client", "the client's service account is missing"))?;
            if !account.enabled {
                return Err(oauth(400, "invalid_grant", "the account is disabled").into());
            }
            // A session that lives as long as its one access token: revocable, and ended
            // with its client.
            let ttl = ACCESS_TTL * 1000;
            let (realm_id, client_pk) = (realm.id, client.pk);
            let session =
                app.store.write(move |c| sessions::start(c, realm_id, user_pk, client_pk, now, ttl, ttl)).await?;
            (account, session, false)
        }
        "password" => {
            if !client.direct_access_grants() {
                return Err(oauth(
                    400,
                    "unauthorized_client",
                    "the client may not use the password grant (directAccessGrantsEnabled is off)",
                )
                .into());
            }
            let (username, password) = (form.require("username")?.to_string(), form.require("password")?.to_string());
            let (account, session) = password_login(&app, &realm, &policy, &client, &username, password).await?;
            (account, session, true)
        }
        "refresh_token" => {
            let (account, session) = refresh(&app, &realm, &policy, &client, form.require("refresh_token")?).await?;
            (account, session, true)
        }
        other => {
            return Err(oauth(400, "unsupported_grant_type", format!("grant_type '{other}' is not supported")).into());
        }
    };
    let body = issue(&app, &realm, &client, &account, &session, &iss, with_refresh)?;
    Ok(json_response(body))
}

/// The `password` grant: the user's password, under brute-force detection, then a new session.
async fn password_login(
    app: &AppState,
    realm: &Realm,
    policy: &Policy,
    client: &Client,
    username: &str,
    password: String,
) -> Result<(Account, Session)> {
    let (locked, had_failures) = lockout(app, realm, policy, Subject::User, username);
    if locked {
        return Err(bad_user());
    }
    let account = app.store.read(|c| accounts::account_by_username(c, realm.id, username))?;
    // Service accounts have no password, and a disabled user's is not checked (it would tell a
    // guesser it was right): both, like an unknown user, are checked against nobody's hash.
    let stored = account.as_ref().filter(|a| a.enabled).and_then(|a| a.password_hash.clone());
    let valid = app.passwords.verify(stored, password).await?;
    let pk = account.as_ref().map(|a| a.pk);
    let Some(account) = account.filter(|a| valid && a.enabled) else {
        record_failure(app, realm, policy, Subject::User, username, pk).await?;
        return Err(bad_user());
    };
    if had_failures {
        app.brute_force.clear(realm.id, Subject::User, username);
    }
    let (realm_id, user_pk, client_pk) = (realm.id, account.pk, client.pk);
    let (idle, max) = (policy.sessions.idle * 1000, policy.sessions.max * 1000);
    let session =
        app.store.write(move |c| sessions::start(c, realm_id, user_pk, client_pk, now_ms(), idle, max)).await?;
    Ok((account, session))
}

/// A refresh token of this realm, verified: signature, expiry, kind, realm and client.
fn verified_refresh_token(app: &AppState, realm: &Realm, client: &Client, token: &str) -> Result<Claims> {
    let invalid = |why: &str| oauth(400, "invalid_grant", format!("the refresh token is not valid: {why}"));
    let claims = own_claims(app, realm, token).map_err(|e| invalid(&e))?;
    if claims.typ != "Refresh" {
        return Err(invalid("it is not a refresh token"));
    }
    if claims.azp != client.client_id {
        return Err(invalid("it was issued to another client"));
    }
    Ok(claims)
}

/// The claims of a token signed with one of the realm's keys and issued for the realm.
fn own_claims(app: &AppState, realm: &Realm, token: &str) -> std::result::Result<Claims, String> {
    let header = jwt::header(token).map_err(|_| "it is not a JWT".to_string())?;
    let kid = header.kid.ok_or("it has no key id")?;
    let key = app
        .store
        .signing_keys(realm.id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|k| k.kid == kid)
        .ok_or("it is signed with an unknown key")?;
    let key = VerifyingKey::of(&key).map_err(|e| e.to_string())?;
    let claims: Claims = jwt::verify(token, &key, None, None).map_err(|e| e.to_string())?;
    if !claims.iss.ends_with(&format!("/realms/{}", realm.name)) {
        return Err("it was issued by another realm".into());
    }
    Ok(claims)
}

/// The `refresh_token` grant: the session's refresh token is rotated; an already rotated one
/// ends the session.
async fn refresh(
    app: &AppState,
    realm: &Realm,
    policy: &Policy,
    client: &Client,
    token: &str,
) -> Result<(Account, Session)> {
    let claims = verified_refresh_token(app, realm, client, token)?;
    let (Some(sid), Some(seq)) = (claims.sid.clone(), claims.refresh_seq) else {
        return Err(oauth(400, "invalid_grant", "the refresh token is not valid: it belongs to no session"));
    };
    let (realm_id, idle) = (realm.id, policy.sessions.idle * 1000);
    let outcome = app.store.write(move |c| sessions::refresh(c, realm_id, &sid, seq, now_ms(), idle)).await?;
    let session = match outcome {
        Refresh::Rotated(s) => s,
        Refresh::Reused => {
            tracing::warn!(realm = %realm.name, client = %client.client_id, "a rotated refresh token was presented again; its session is ended");
            return Err(oauth(
                400,
                "invalid_grant",
                "the refresh token was already used; its session has ended (log in again)",
            ));
        }
        Refresh::Ended => return Err(oauth(400, "invalid_grant", "the session has ended (log in again)")),
    };
    let account = app
        .store
        .read(|c| accounts::account_by_pk(c, realm.id, session.user_pk))?
        .filter(|a| a.enabled)
        .ok_or_else(|| oauth(400, "invalid_grant", "the account is disabled or gone"))?;
    Ok((account, session))
}

/// Signs an access token (and a refresh token when asked) of a session.
fn issue(
    app: &AppState,
    realm: &Realm,
    client: &Client,
    account: &Account,
    session: &Session,
    iss: &str,
    with_refresh: bool,
) -> Result<Value> {
    let key = app
        .store
        .signing_keys(realm.id)?
        .into_iter()
        .find(|k| k.active)
        .ok_or_else(|| Error::Internal(format!("realm '{}' has no signing key", realm.name)))?;
    let (realm_roles, resource_access) = app.store.read(|c| roles_claims(c, realm.id, account.pk))?;
    let now = now_ms() / 1000;
    let refresh_ttl = ((session.idle_until / 1000) - now).max(1);
    let claims = |typ: &str, ttl: i64, seq: Option<i64>| Claims {
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
        sid: Some(session.id.clone()),
        refresh_seq: seq,
    };
    let access_ttl = ACCESS_TTL.min(((session.expires / 1000) - now).max(1));
    let access = jwt::sign(&key, &claims("Bearer", access_ttl, None))?;
    let mut body = json!({
        "access_token": access,
        "expires_in": access_ttl,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "session_state": session.id,
        "scope": "profile email",
    });
    if with_refresh {
        body["refresh_token"] = json!(jwt::sign(&key, &claims("Refresh", refresh_ttl, Some(session.refresh_seq)))?);
        body["refresh_expires_in"] = json!(refresh_ttl);
    }
    Ok(body)
}

/// The realm, form and authenticated client of a logout or revocation request.
async fn client_request(app: &AppState, realm: &str, headers: &HeaderMap, body: Body) -> Result<(Realm, Form, Client)> {
    let realm = realm_of(app, realm)?;
    let policy = Policy::of_or_default(&realm.attributes);
    let form = Form::read(body).await?;
    let client = authenticate_client(app, &realm, &policy, headers, &form).await?;
    Ok((realm, form, client))
}

/// `POST /realms/{realm}/protocol/openid-connect/logout` with `client_id` (and its secret, for
/// a confidential client) and `refresh_token`: ends the token's session. `204`.
pub async fn logout(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> OAuthResult {
    let (realm, form, client) = client_request(&app, &realm, &headers, body).await?;
    let claims = verified_refresh_token(&app, &realm, &client, form.require("refresh_token")?)?;
    if let Some(sid) = claims.sid {
        let realm_id = realm.id;
        app.store.write(move |c| sessions::end(c, realm_id, &sid)).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /realms/{realm}/protocol/openid-connect/revoke` (RFC 7009) with `token`: ends the
/// session of a refresh or access token issued to the calling client. A token that is not
/// valid is answered `200` like a revoked one (§2.2); one issued to another client is refused.
pub async fn revoke(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> OAuthResult {
    let (realm, form, client) = client_request(&app, &realm, &headers, body).await?;
    let token = form.require("token")?;
    if let Ok(claims) = own_claims(&app, &realm, token) {
        if claims.azp != client.client_id {
            return Err(oauth(400, "unauthorized_client", "the token was issued to another client").into());
        }
        if let Some(sid) = claims.sid {
            let realm_id = realm.id;
            app.store.write(move |c| sessions::end(c, realm_id, &sid)).await?;
        }
    }
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
