//! Authentication and authorization: a bearer token becomes a `Principal` of one realm with
//! its roles, and each operation names the roles it needs.
//!
//! Three kinds of bearer token are accepted: secret tokens made offline by `scimd token
//! create` (only their SHA-256 is stored; Entra's "Secret Token" field takes them), access
//! tokens issued by the realm's token endpoint (ES256 JWTs), and JWTs of an external issuer
//! the realm trusts (an Entra ID tenant). Whatever the kind, an invalid token is `401` and a
//! valid one without the role an operation needs is `403`.
//!
//! Verdicts are cached briefly, and never past a change that could make them wrong: each
//! cached entry remembers the store's authentication epoch (`store::Epochs`), which the store
//! moves in the transaction of every such change (a session ended, a user disabled, a role
//! mapped, a client disabled, a realm disabled, a key added, …).

pub mod brute_force;
pub mod jwks_file;
pub mod jwt;
pub mod password;
pub mod policy;

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
use crate::store::roles::{self, Holder};
use crate::store::{Actor, Realm, Store, TokenInfo, accounts, now_ms, sessions};
use jwt::{Access, Claims, VerifyingKey};

/// Roles of the `realm-management` client that scimd understands.
pub const MANAGE_USERS: &str = "manage-users";
pub const VIEW_USERS: &str = "view-users";
pub const QUERY_USERS: &str = "query-users";
pub const QUERY_GROUPS: &str = "query-groups";
pub const VIEW_REALM: &str = "view-realm";
pub const MANAGE_REALM: &str = "manage-realm";
pub const ROLES: &[&str] = &[MANAGE_USERS, VIEW_USERS, QUERY_USERS, QUERY_GROUPS, VIEW_REALM, MANAGE_REALM];

/// How long a cached verdict is trusted at most, even with no change seen (trusted issuers'
/// JWKS files can change on disk).
const CACHE_TTL: Duration = Duration::from_secs(2);

/// Entries a cache holds at most (see `Cache`).
const CACHE_ENTRIES: usize = 10_000;

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

/// The roles a user holds (directly and through its groups), as token claims: realm roles,
/// and client roles by clientId.
pub fn roles_claims(
    c: &rusqlite::Connection,
    realm_id: i64,
    user_pk: i64,
) -> Result<(Vec<String>, HashMap<String, Access>)> {
    let mut realm_roles = Vec::new();
    let mut resource_access: HashMap<String, Access> = HashMap::new();
    for (client_id, role) in roles::held_roles(c, realm_id, Holder::User(user_pk), true)? {
        match client_id {
            None => realm_roles.push(role.name),
            Some(cid) => resource_access.entry(cid).or_default().roles.push(role.name),
        }
    }
    Ok((realm_roles, resource_access))
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

/// A cached value, with the epoch and instant it was read at.
struct Cached<T> {
    epoch: u64,
    at: Instant,
    value: T,
}

/// A bounded map of cached verdicts: an entry is good while the epoch it was read under is the
/// store's and it is younger than `CACHE_TTL`.
///
/// Two generations of at most `CACHE_ENTRIES / 2` each: new entries go into the current one,
/// which becomes the previous one when full (the older previous one is dropped whole), and an
/// entry found in the previous generation moves back into the current one. So what is in use
/// stays however many new keys arrive (a sprayed token costs nothing but its own entry), and
/// every operation takes constant time.
struct Cache<K, V>(RwLock<Generations<K, V>>);

struct Generations<K, V> {
    current: HashMap<K, Cached<V>>,
    previous: HashMap<K, Cached<V>>,
}

impl<K: std::hash::Hash + Eq, V> Generations<K, V> {
    fn insert(&mut self, key: K, entry: Cached<V>) {
        if self.current.len() >= CACHE_ENTRIES / 2 && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, entry);
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Cache(RwLock::new(Generations { current: HashMap::new(), previous: HashMap::new() }))
    }

    fn get(&self, key: &K, epoch: u64) -> Option<V> {
        let good = |c: &Cached<V>| c.epoch == epoch && c.at.elapsed() < CACHE_TTL;
        {
            let g = self.0.read();
            if let Some(c) = g.current.get(key) {
                return good(c).then(|| c.value.clone());
            }
            if !g.previous.get(key).is_some_and(good) {
                return None;
            }
        }
        let mut g = self.0.write();
        let entry = g.previous.remove(key).filter(good)?;
        let value = entry.value.clone();
        g.insert(key.clone(), entry);
        Some(value)
    }

    /// Remembers a value read under `epoch` (read before the value was).
    fn put(&self, key: K, epoch: u64, value: V) {
        self.0.write().insert(key, Cached { epoch, at: Instant::now(), value });
    }
}

/// Every realm's verifying keys by `kid`, with the epoch and instant they were read at.
type LoadedKeys = (u64, Instant, Arc<HashMap<String, RealmKey>>);

/// Whether a token's client, user, session and realm still stand; `Ok` holds until when (ms).
type Liveness = std::result::Result<i64, String>;

/// What a token's liveness is cached by: realm, client, subject, secret generation, session.
type LiveKey = (i64, String, String, Option<i64>, Option<String>);

/// Checks bearer tokens, with short-lived caches.
pub struct Authenticator {
    store: Arc<Store>,
    /// Where trusted issuers' JWKS files may be (`--trusted-jwks-dir`).
    jwks_dir: Option<std::path::PathBuf>,
    tokens: Cache<[u8; 32], Option<TokenInfo>>,
    keys: RwLock<Option<LoadedKeys>>,
    live: Cache<LiveKey, Liveness>,
    trusted: Cache<i64, Arc<Vec<Trusted>>>,
    /// Serialises reloading the realm keys after an unknown `kid`.
    keys_loading: Mutex<()>,
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
    pub fn new(store: Arc<Store>, jwks_dir: Option<std::path::PathBuf>) -> Self {
        Authenticator {
            store,
            jwks_dir,
            tokens: Cache::new(),
            keys: RwLock::new(None),
            live: Cache::new(),
            trusted: Cache::new(),
            keys_loading: Mutex::new(()),
        }
    }

    /// Where trusted issuers' JWKS files may be.
    pub fn jwks_dir(&self) -> Option<&std::path::Path> {
        self.jwks_dir.as_deref()
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
        let epoch = self.store.auth_epoch();
        let info = match self.tokens.get(&hash, epoch) {
            Some(i) => i,
            None => {
                let i = self.store.token_by_hash(&hash)?;
                self.tokens.put(hash, epoch, i.clone());
                i
            }
        };
        // Tokens go with their realm, so a token found has a realm (its name came with it).
        let Some(info) = info else {
            return Err(Error::Unauthorized("the bearer token is not valid".into()));
        };
        if !info.realm_enabled {
            return Err(Error::Unauthorized(format!(
                "the bearer token is not valid: realm '{}' is disabled",
                info.realm
            )));
        }
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

    /// A realm key by `kid`. The key set is not dropped when the authentication epoch moves
    /// (every logout moves it, and reloading every realm's keys after each would let anyone with
    /// a login slow every request down); it is reloaded when a `kid` is not in it and the epoch
    /// moved since it was read (a new key's insert moves it), and at the latest after
    /// `CACHE_TTL` (so that a dropped key stops verifying).
    fn realm_key(&self, kid: &str) -> Result<Option<RealmKey>> {
        let epoch = self.store.auth_epoch();
        let fresh = |keys: &Option<LoadedKeys>| -> Option<Option<RealmKey>> {
            let (read_at_epoch, at, keys) = keys.as_ref()?;
            if at.elapsed() >= CACHE_TTL {
                return None;
            }
            match keys.get(kid) {
                Some(k) => Some(Some(k.clone())),
                None if *read_at_epoch == epoch => Some(None),
                None => None,
            }
        };
        if let Some(found) = fresh(&self.keys.read()) {
            return Ok(found);
        }
        let _one_at_a_time = self.keys_loading.lock();
        if let Some(found) = fresh(&self.keys.read()) {
            return Ok(found);
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
        *self.keys.write() = Some((epoch, Instant::now(), Arc::new(all)));
        Ok(found)
    }

    /// Verifies a token of one of our realms and checks that its realm, client, user and
    /// session are still there and in force.
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
        let key = (realm_id, claims.azp.clone(), claims.sub.clone(), claims.secret_generation, claims.sid.clone());
        let epoch = self.store.auth_epoch();
        let verdict = match self.live.get(&key, epoch) {
            Some(v) => v,
            None => {
                let v = self.store.read(|c| liveness(c, realm_id, claims))?;
                self.live.put(key, epoch, v.clone());
                v
            }
        };
        match verdict {
            Ok(until) if now_ms() < until => Ok(()),
            Ok(_) => Err(Error::Unauthorized("the bearer token is not valid: its session has ended".into())),
            Err(why) => Err(Error::Unauthorized(format!("the bearer token is not valid: {why}"))),
        }
    }

    fn trusted_issuers(&self, realm_id: i64) -> Result<Arc<Vec<Trusted>>> {
        let epoch = self.store.auth_epoch();
        if let Some(t) = self.trusted.get(&realm_id, epoch) {
            return Ok(t);
        }
        let mut out = Vec::new();
        for issuer in self.store.trusted_issuers(realm_id)? {
            let text = match (&issuer.jwks, &issuer.jwks_file) {
                (Some(j), _) => j.clone(),
                // A file is read off the worker's other tasks, bounded and only if allowed.
                (None, Some(f)) => match crate::runtime::heavy(|| jwks_file::read(self.jwks_dir(), f)) {
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
        self.trusted.put(realm_id, epoch, out.clone());
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

/// Whether the realm, client, user and session of one of our tokens still stand, and until
/// when (the session's end); the reason when not.
fn liveness(c: &rusqlite::Connection, realm_id: i64, claims: &Claims) -> Result<Liveness> {
    let realm = crate::store::realms::realm_by_id(c, realm_id)?;
    if !realm.is_some_and(|r| r.enabled) {
        return Ok(Err("its realm is disabled".into()));
    }
    let Some(client) = clients::client_by_client_id(c, realm_id, &claims.azp)? else {
        return Ok(Err("its client no longer exists".into()));
    };
    if !client.enabled {
        return Ok(Err("its client is disabled".into()));
    }
    if claims.secret_generation.is_some_and(|g| g != client.secret_generation) {
        return Ok(Err("its client's secret has been changed".into()));
    }
    let Some(account) = accounts::account_by_id(c, realm_id, &claims.sub)? else {
        return Ok(Err("its user no longer exists".into()));
    };
    if !account.enabled {
        return Ok(Err("its user is disabled".into()));
    }
    if account.service_account && client.service_account_user_pk == Some(account.pk) && !client.service_accounts_enabled
    {
        return Ok(Err("its client's service account is turned off".into()));
    }
    let Some(sid) = &claims.sid else {
        return Ok(Err("it belongs to no session (get a new token)".into()));
    };
    match sessions::find(c, realm_id, sid)? {
        Some(s) if s.user_pk == account.pk && s.client_pk == client.pk => Ok(Ok(s.idle_until.min(s.expires))),
        Some(_) => Ok(Err("its session belongs to another user or client".into())),
        None => Ok(Err("its session has ended".into())),
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn a_flood_of_new_keys_does_not_evict_a_verdict_in_use() {
        let cache: Cache<usize, usize> = Cache::new();
        cache.put(usize::MAX, 7, 42);
        for k in 0..10 * CACHE_ENTRIES {
            cache.put(k, 7, k);
            if k % 1000 == 0 {
                assert_eq!(cache.get(&usize::MAX, 7), Some(42), "after {k} new keys");
            }
        }
        let g = cache.0.read();
        assert!(g.current.len() + g.previous.len() <= CACHE_ENTRIES);
    }

    #[test]
    fn a_verdict_of_another_epoch_is_not_served() {
        let cache: Cache<usize, usize> = Cache::new();
        cache.put(1, 7, 1);
        assert_eq!(cache.get(&1, 8), None);
    }
}
