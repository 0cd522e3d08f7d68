//! Authentication and authorization: a bearer token becomes a `Principal` of one realm with a
//! set of roles, and each SCIM operation names the roles it needs.
//!
//! Today's tokens are secret tokens made offline by `scimd token create` (only their SHA-256
//! is stored). Access tokens issued by the realm come next; they produce the same `Principal`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use parking_lot::RwLock;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{Realm, Store, TokenInfo};

/// Roles of the `realm-management` client that SCIM understands.
pub const MANAGE_USERS: &str = "manage-users";
pub const VIEW_USERS: &str = "view-users";
pub const ROLES: &[&str] = &[MANAGE_USERS, VIEW_USERS];

/// How long a looked-up token is trusted without asking the database again.
const CACHE_TTL: Duration = Duration::from_secs(2);

/// Who is calling, in which realm, with which roles.
#[derive(Debug, Clone)]
pub struct Principal {
    pub realm_id: i64,
    pub subject: String,
    pub roles: Vec<String>,
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
}

impl Principal {
    fn has(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn require(&self, need: Need) -> Result<()> {
        let ok = match need {
            Need::Read => self.has(MANAGE_USERS) || self.has(VIEW_USERS),
            Need::Write => self.has(MANAGE_USERS),
        };
        if ok {
            return Ok(());
        }
        Err(Error::Forbidden(match need {
            Need::Read => {
                "this token may not read users and groups: it needs the view-users or manage-users role".into()
            }
            Need::Write => "this token may not change users and groups: it needs the manage-users role".into(),
        }))
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

/// Token hashes already looked up, with when.
type TokenCache = HashMap<[u8; 32], (Instant, Option<TokenInfo>)>;

/// Checks bearer tokens against the store, with a short-lived cache.
pub struct Authenticator {
    store: Arc<Store>,
    cache: RwLock<TokenCache>,
}

impl Authenticator {
    pub fn new(store: Arc<Store>) -> Self {
        Authenticator { store, cache: RwLock::new(HashMap::new()) }
    }

    fn lookup(&self, hash: [u8; 32]) -> Result<Option<TokenInfo>> {
        if let Some((at, info)) = self.cache.read().get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(info.clone());
        }
        let info = self.store.token_by_hash(&hash)?;
        let mut cache = self.cache.write();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(hash, (Instant::now(), info.clone()));
        Ok(info)
    }

    /// The principal a request's bearer token names, for `realm`.
    pub fn authenticate(&self, headers: &HeaderMap, realm: &Realm) -> Result<Principal> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(Error::Unauthorized("this endpoint needs an Authorization: Bearer token".into()));
        };
        let value =
            value.to_str().map_err(|_| Error::Unauthorized("the Authorization header is not valid text".into()))?;
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() => rest.trim(),
            _ => {
                return Err(Error::Unauthorized("the Authorization header must be 'Bearer <token>'".into()));
            }
        };
        let Some(info) = self.lookup(hash_token(token))? else {
            return Err(Error::Unauthorized("the bearer token is not valid".into()));
        };
        if info.realm_id != realm.id {
            return Err(Error::Unauthorized(format!("the bearer token is not valid for realm '{}'", realm.name)));
        }
        Ok(Principal { realm_id: info.realm_id, subject: format!("token:{}", info.id), roles: info.roles })
    }
}
