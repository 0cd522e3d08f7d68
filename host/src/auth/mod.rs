//! Authentication and authorization: a bearer token becomes a `Principal` of one realm with
//! its roles, and each operation names the roles it needs.
//!
//! Three kinds of bearer token are accepted: secret tokens made offline by `scimd token
//! create` (only their SHA-256 is stored; Entra's "Secret Token" field takes them), access
//! tokens issued by the realm's token endpoint (ES256 JWTs), and JWTs of an external issuer
//! the realm trusts (an Entra ID tenant). Whatever the kind, an invalid token is `401` and a
//! valid one without the role an operation needs is `403`.

pub mod jwt;
pub mod password;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use parking_lot::{Mutex, RwLock};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::runtime::bindings::ResourceKind;
use crate::store::clients::{self, ADMIN_ROLE, REALM_MANAGEMENT};
use crate::store::issuers::TrustedIssuer;
use crate::store::realms::{MASTER, realm_by_name};
use crate::store::{Actor, Realm, Store, TokenInfo};
use jwt::{Claims, VerifyingKey};

/// Roles of the `realm-management` client that scimd understands.
pub const MANAGE_USERS: &str = "manage-users";
pub const VIEW_USERS: &str = "view-users";
pub const QUERY_USERS: &str = "query-users";
pub const QUERY_GROUPS: &str = "query-groups";
pub const VIEW_REALM: &str = "view-realm";
pub const MANAGE_REALM: &str = "manage-realm";
pub const ROLES: &[&str] = &[MANAGE_USERS, VIEW_USERS, QUERY_USERS, QUERY_GROUPS, VIEW_REALM, MANAGE_REALM];

/// How long a looked-up token, key set or client state is trusted without asking the
/// database again (the offline commands can change them while the server runs).
const CACHE_TTL: Duration = Duration::from_secs(2);

/// Who is calling, in which realm, with which roles.
#[derive(Debug, Clone)]
pub struct Principal {
    pub realm_id: i64,
    pub realm: String,
    /// A user id, `token:<n>` for a secret token, or `<issuer>#<sub>` for an external token.
    pub subject: String,
    pub username: Option<String>,
    pub client_id: Option<String>,
    /// Roles of the realm's `realm-management` client.
    pub roles: Vec<String>,
    /// Realm roles (`admin` in `master`).
    pub realm_roles: Vec<String>,
}

/// What a SCIM operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Create, replace, patch, delete.
    Write,
    /// Read one resource.
    Read,
    /// List or search a resource type.
    List(ResourceKind),
    /// `ServiceProviderConfig`, `Schemas`, `ResourceTypes`.
    Discovery,
}

/// What an admin API operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminNeed {
    ViewRealm,
    ManageRealm,
    ViewUsers,
    ManageUsers,
    /// Creating and listing realms: master-realm administrators only.
    Server,
}

impl Principal {
    fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    fn has_any(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.has(r))
    }

    /// A master-realm administrator manages every realm.
    pub fn is_server_admin(&self) -> bool {
        self.realm == MASTER && self.realm_roles.iter().any(|r| r == ADMIN_ROLE)
    }

    /// Checks a SCIM operation (the token's realm is checked when authenticating).
    pub fn require(&self, need: Need) -> Result<()> {
        let (ok, wanted) = match need {
            Need::Write => (self.has(MANAGE_USERS), "manage-users"),
            Need::Read => (self.has_any(&[MANAGE_USERS, VIEW_USERS]), "view-users or manage-users"),
            Need::List(ResourceKind::User) => {
                (self.has_any(&[MANAGE_USERS, VIEW_USERS, QUERY_USERS]), "query-users, view-users or manage-users")
            }
            Need::List(ResourceKind::Group) => {
                (self.has_any(&[MANAGE_USERS, VIEW_USERS, QUERY_GROUPS]), "query-groups, view-users or manage-users")
            }
            Need::Discovery => (
                self.has_any(&[VIEW_REALM, MANAGE_USERS, VIEW_USERS, QUERY_USERS, QUERY_GROUPS, MANAGE_REALM]),
                "view-realm or a users role",
            ),
        };
        if ok {
            return Ok(());
        }
        Err(Error::Forbidden(format!("this operation needs the realm-management role {wanted}")))
    }

    /// Checks an admin API operation on `realm`.
    pub fn require_admin(&self, realm: &str, need: AdminNeed) -> Result<()> {
        if self.is_server_admin() {
            return Ok(());
        }
        let (ok, wanted) = match need {
            AdminNeed::Server => (false, "the master realm's admin role"),
            _ if self.realm != realm => (false, "a token of this realm or of a master-realm administrator"),
            AdminNeed::ViewRealm => (self.has_any(&[VIEW_REALM, MANAGE_REALM]), "view-realm or manage-realm"),
            AdminNeed::ManageRealm => (self.has(MANAGE_REALM), "manage-realm"),
            AdminNeed::ViewUsers => (self.has_any(&[VIEW_USERS, MANAGE_USERS]), "view-users or manage-users"),
            AdminNeed::ManageUsers => (self.has(MANAGE_USERS), "manage-users"),
        };
        if ok {
            return Ok(());
        }
        Err(Error::Forbidden(format!("this operation needs {wanted}")))
    }

    /// The principal as recorded in admin events.
    pub fn actor(&self) -> Actor {
        Actor { realm: Some(self.realm.clone()), client: self.client_id.clone(), user: Some(self.subject.clone()) }
    }
}

/// A new secret token: 32 random bytes, URL-safe base64, with a recognisable prefix.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("scimd_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A realm's own verifying key.
#[derive(Clone)]
struct RealmKey {
    realm_id: i64,
    realm: String,
    key: VerifyingKey,
}

/// An external issuer's keys.
struct Trusted {
    issuer: TrustedIssuer,
    keys: jsonwebtoken::jwk::JwkSet,
}

/// Token hashes already looked up, with when.
type TokenCache = HashMap<[u8; 32], (Instant, Option<TokenInfo>)>;
/// Whether a token's client and user are still there and enabled, by (realm, client, user,
/// secret generation).
type LiveCache = HashMap<(i64, String, String, Option<i64>), (Instant, std::result::Result<(), String>)>;

/// The issuers each realm trusts, with when they were read.
type TrustedCache = HashMap<i64, (Instant, Arc<Vec<Trusted>>)>;

/// Checks bearer tokens, with short-lived caches.
pub struct Authenticator {
    store: Arc<Store>,
    tokens: RwLock<TokenCache>,
    keys: RwLock<HashMap<String, RealmKey>>,
    keys_loaded: Mutex<Option<Instant>>,
    live: RwLock<LiveCache>,
    trusted: RwLock<TrustedCache>,
}

fn bearer(headers: &HeaderMap) -> Result<&str> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(Error::Unauthorized("this endpoint needs an Authorization: Bearer token".into()));
    };
    let value = value.to_str().map_err(|_| Error::Unauthorized("the Authorization header is not valid text".into()))?;
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() => Ok(rest.trim()),
        _ => Err(Error::Unauthorized("the Authorization header must be 'Bearer <token>'".into())),
    }
}

fn roles_of(claims: &Claims) -> (Vec<String>, Vec<String>) {
    let client = claims.resource_access.get(REALM_MANAGEMENT).map(|a| a.roles.clone()).unwrap_or_default();
    let realm = claims.realm_access.as_ref().map(|a| a.roles.clone()).unwrap_or_default();
    (client, realm)
}

impl Authenticator {
    pub fn new(store: Arc<Store>) -> Self {
        Authenticator {
            store,
            tokens: RwLock::new(HashMap::new()),
            keys: RwLock::new(HashMap::new()),
            keys_loaded: Mutex::new(None),
            live: RwLock::new(HashMap::new()),
            trusted: RwLock::new(HashMap::new()),
        }
    }

    /// Forgets what is cached about a realm after the admin API changed it.
    pub fn forget(&self) {
        self.tokens.write().clear();
        self.live.write().clear();
        self.trusted.write().clear();
        *self.keys_loaded.lock() = None;
    }

    /// The principal of a SCIM request on `realm`: the token must belong to that realm.
    pub fn authenticate(&self, headers: &HeaderMap, realm: &Realm) -> Result<Principal> {
        let token = bearer(headers)?;
        if token.starts_with("scimd_") {
            let p = self.secret_token(token)?;
            return self.same_realm(p, realm);
        }
        let header = jwt::header(token)?;
        if let Some(key) = header.kid.as_deref().map(|k| self.realm_key(k)).transpose()?.flatten() {
            let p = self.own_token(token, &key)?;
            return self.same_realm(p, realm);
        }
        self.external_token(token, &header, realm)
    }

    /// The principal of an admin API request: a token of any realm (what it may do is
    /// checked per operation).
    pub fn authenticate_any(&self, headers: &HeaderMap) -> Result<Principal> {
        let token = bearer(headers)?;
        if token.starts_with("scimd_") {
            return self.secret_token(token);
        }
        let header = jwt::header(token)?;
        let kid = header.kid.as_deref().ok_or_else(|| Error::Unauthorized("the bearer token has no key id".into()))?;
        match self.realm_key(kid)? {
            Some(key) => self.own_token(token, &key),
            None => Err(Error::Unauthorized("the bearer token is signed with an unknown key".into())),
        }
    }

    fn same_realm(&self, p: Principal, realm: &Realm) -> Result<Principal> {
        if p.realm_id != realm.id {
            return Err(Error::Unauthorized(format!("the bearer token is not valid for realm '{}'", realm.name)));
        }
        Ok(p)
    }

    fn secret_token(&self, token: &str) -> Result<Principal> {
        let hash = hash_token(token);
        let cached = self.tokens.read().get(&hash).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, i)| i.clone());
        let info = match cached {
            Some(i) => i,
            None => {
                let i = self.store.token_by_hash(&hash)?;
                let mut cache = self.tokens.write();
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(hash, (Instant::now(), i.clone()));
                i
            }
        };
        // Tokens go with their realm, so a token found has a realm (its name came with it).
        let Some(info) = info else {
            return Err(Error::Unauthorized("the bearer token is not valid".into()));
        };
        Ok(Principal {
            realm_id: info.realm_id,
            realm: info.realm,
            subject: format!("token:{}", info.id),
            username: None,
            client_id: None,
            roles: info.roles,
            realm_roles: Vec::new(),
        })
    }

    /// A realm key by `kid`, reloading the keys (at most once per TTL) when unknown.
    fn realm_key(&self, kid: &str) -> Result<Option<RealmKey>> {
        if let Some(k) = self.keys.read().get(kid) {
            return Ok(Some(k.clone()));
        }
        {
            let mut loaded = self.keys_loaded.lock();
            if loaded.is_some_and(|at| at.elapsed() < CACHE_TTL) {
                return Ok(None);
            }
            *loaded = Some(Instant::now());
        }
        let mut all = HashMap::new();
        for realm in self.store.realms()? {
            for k in self.store.signing_keys(realm.id)? {
                all.insert(
                    k.kid.clone(),
                    RealmKey { realm_id: realm.id, realm: realm.name.clone(), key: VerifyingKey::of(&k)? },
                );
            }
        }
        let found = all.get(kid).cloned();
        *self.keys.write() = all;
        Ok(found)
    }

    /// Verifies a token of one of our realms and checks that its client and user are still
    /// there, enabled, and (for client credentials) that the client's secret has not changed.
    fn own_token(&self, token: &str, key: &RealmKey) -> Result<Principal> {
        let claims: Claims = jwt::verify(token, &key.key, None, None)?;
        let expected = format!("/realms/{}", key.realm);
        if !claims.iss.ends_with(&expected) {
            return Err(Error::Unauthorized("the bearer token is not valid: it was issued by another issuer".into()));
        }
        if claims.typ != "Bearer" {
            return Err(Error::Unauthorized("the bearer token is not valid: it is not an access token".into()));
        }
        self.still_live(key.realm_id, &claims)?;
        let (roles, realm_roles) = roles_of(&claims);
        Ok(Principal {
            realm_id: key.realm_id,
            realm: key.realm.clone(),
            subject: claims.sub.clone(),
            username: claims.preferred_username.clone(),
            client_id: Some(claims.azp.clone()),
            roles,
            realm_roles,
        })
    }

    fn still_live(&self, realm_id: i64, claims: &Claims) -> Result<()> {
        let key = (realm_id, claims.azp.clone(), claims.sub.clone(), claims.secret_generation);
        let cached = self.live.read().get(&key).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, r)| r.clone());
        let verdict = match cached {
            Some(v) => v,
            None => {
                let v = self.store.read(|c| {
                    let Some(client) = clients::client_by_client_id(c, realm_id, &claims.azp)? else {
                        return Ok(Err("its client no longer exists".to_string()));
                    };
                    if !client.enabled {
                        return Ok(Err("its client is disabled".into()));
                    }
                    if claims.secret_generation.is_some_and(|g| g != client.secret_generation) {
                        return Ok(Err("its client's secret has been changed".into()));
                    }
                    match clients::account_by_id(c, realm_id, &claims.sub)? {
                        None => Ok(Err("its user no longer exists".into())),
                        Some(a) if !a.enabled => Ok(Err("its user is disabled".into())),
                        Some(_) => Ok(Ok(())),
                    }
                })?;
                let mut cache = self.live.write();
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(key, (Instant::now(), v.clone()));
                v
            }
        };
        verdict.map_err(|why| Error::Unauthorized(format!("the bearer token is not valid: {why}")))
    }

    fn trusted_issuers(&self, realm_id: i64) -> Result<Arc<Vec<Trusted>>> {
        if let Some((at, t)) = self.trusted.read().get(&realm_id)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(t.clone());
        }
        let mut out = Vec::new();
        for issuer in self.store.trusted_issuers(realm_id)? {
            let text = match (&issuer.jwks, &issuer.jwks_file) {
                (Some(j), _) => j.clone(),
                (None, Some(f)) => match std::fs::read_to_string(f) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(issuer = %issuer.issuer, file = %f, error = %e, "cannot read a trusted issuer's JWKS");
                        continue;
                    }
                },
                (None, None) => continue,
            };
            match serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(&text) {
                Ok(keys) => out.push(Trusted { issuer, keys }),
                Err(e) => tracing::warn!(issuer = %issuer.issuer, error = %e, "a trusted issuer's JWKS is not valid"),
            }
        }
        let out = Arc::new(out);
        self.trusted.write().insert(realm_id, (Instant::now(), out.clone()));
        Ok(out)
    }

    /// Verifies a token of an issuer the realm trusts.
    fn external_token(&self, token: &str, header: &jsonwebtoken::Header, realm: &Realm) -> Result<Principal> {
        let Some(iss) = jwt::unverified_issuer(token) else {
            return Err(Error::Unauthorized("the bearer token is not valid: it names no issuer".into()));
        };
        let trusted = self.trusted_issuers(realm.id)?;
        let Some(t) = trusted.iter().find(|t| t.issuer.issuer == iss) else {
            return Err(Error::Unauthorized(format!(
                "the bearer token is not valid: it is signed with an unknown key (issuer '{iss}' is not trusted by realm '{}')",
                realm.name
            )));
        };
        let jwk = match &header.kid {
            Some(kid) => t.keys.find(kid),
            None if t.keys.keys.len() == 1 => t.keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| Error::Unauthorized("the bearer token is not valid: it is signed with an unknown key".into()))?;
        let key = jwt::from_jwk(jwk)?;
        #[derive(serde::Deserialize)]
        struct External {
            sub: Option<String>,
            oid: Option<String>,
        }
        let claims: External = jwt::verify(token, &key, Some(&t.issuer.issuer), t.issuer.audience.as_deref())?;
        let sub = claims.oid.or(claims.sub).unwrap_or_default();
        Ok(Principal {
            realm_id: realm.id,
            realm: realm.name.clone(),
            subject: format!("{}#{sub}", t.issuer.issuer),
            username: None,
            client_id: None,
            roles: t.issuer.roles.clone(),
            realm_roles: Vec::new(),
        })
    }

    /// The realm a name denotes, for the token endpoint.
    pub fn realm(&self, name: &str) -> Result<Option<Realm>> {
        self.store.read(|c| realm_by_name(c, name))
    }
}
