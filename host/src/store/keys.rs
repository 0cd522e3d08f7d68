//! Each realm's token signing keys (ES256). The newest active key signs; every stored key
//! still verifies, so a rotation does not end the tokens already issued.

use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::EncodePrivateKey;
use rand::RngCore;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::{Store, now_ms};
use crate::error::{Error, Result};

/// A signing key of a realm.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The public key as a JWK (RFC 7517), as served at the realm's `certs` endpoint.
    pub public_jwk: Value,
    pub active: bool,
    pub created: i64,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Makes a new P-256 key and stores it as the realm's active key.
pub(super) fn create(c: &Connection, realm_id: i64) -> Result<String> {
    let secret = loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // Out-of-range scalars (probability about 2^-32) are drawn again.
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            break k;
        }
    };
    let der =
        secret.to_pkcs8_der().map_err(|e| Error::Internal(format!("encoding a signing key: {e}")))?.as_bytes().to_vec();
    let point = secret.public_key().to_sec1_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(Error::Internal("a P-256 public key without coordinates".into()));
    };
    let mut kid_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut kid_bytes);
    let kid = b64(&kid_bytes);
    let jwk = json!({"kid": kid, "kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64(x), "y": b64(y)});
    c.prepare_cached("UPDATE signing_keys SET active = 0 WHERE realm_id = ?1")?.execute([realm_id])?;
    c.prepare_cached(
        "INSERT INTO signing_keys (realm_id, kid, alg, private_der, public_jwk, active, created) \
         VALUES (?1, ?2, 'ES256', ?3, ?4, 1, ?5)",
    )?
    .execute(params![realm_id, kid, der, jwk.to_string(), now_ms()])?;
    // Old keys verify the tokens they signed for a while; a realm keeps its newest few, so that
    // rotating again and again cannot grow the table (or every verifier's key set) unbounded.
    c.prepare_cached(
        "DELETE FROM signing_keys WHERE realm_id = ?1 AND pk NOT IN \
         (SELECT pk FROM signing_keys WHERE realm_id = ?1 ORDER BY pk DESC LIMIT ?2)",
    )?
    .execute(params![realm_id, KEYS_KEPT])?;
    Ok(kid)
}

/// Signing keys a realm keeps: the active one and the last ones it replaced.
const KEYS_KEPT: i64 = 10;

impl Store {
    /// Every signing key of a realm, the active one first.
    pub fn signing_keys(&self, realm_id: i64) -> Result<Vec<SigningKey>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT kid, alg, private_der, public_jwk, active, created FROM signing_keys \
                 WHERE realm_id = ?1 ORDER BY active DESC, created DESC",
            )?;
            let keys = st
                .query_map([realm_id], |r| {
                    let jwk: String = r.get(3)?;
                    Ok(SigningKey {
                        kid: r.get(0)?,
                        alg: r.get(1)?,
                        private_der: r.get(2)?,
                        public_jwk: serde_json::from_str(&jwk).unwrap_or(Value::Null),
                        active: r.get(4)?,
                        created: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(keys)
        })
    }

    /// Makes a new active key; older keys stay for verification.
    pub async fn rotate_signing_key(&self, realm_id: i64) -> Result<String> {
        self.write(move |c| create(c, realm_id)).await
    }
}
