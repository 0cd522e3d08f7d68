//! Access tokens as Keycloak issues them: ES256 JWTs signed with the realm's key, carrying
//! `iss`, `sub`, `azp`, `exp`, `iat`, `realm_access` and `resource_access` roles. Verification
//! pins the algorithm to the key's (no `none`, no HS256 with a public key), requires `exp`,
//! honours `nbf`, and checks the issuer against the realm the key belongs to.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::SigningKey;

/// How long an access token lives (Keycloak's default).
pub const ACCESS_TTL: i64 = 300;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 5;

/// Roles in a token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Access {
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The claims scimd puts in (and reads from) its tokens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    pub iss: String,
    pub sub: String,
    /// `Bearer` for access tokens, `Refresh` for refresh tokens.
    pub typ: String,
    pub azp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_access: Option<Access>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub resource_access: HashMap<String, Access>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The generation of the client secret the token was issued under: a new secret ends
    /// the tokens of the old one.
    #[serde(default, rename = "scimd_cg", skip_serializing_if = "Option::is_none")]
    pub secret_generation: Option<i64>,
    /// The session the token belongs to (`store::sessions`); when it ends, the token does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// A refresh token's place in its session's rotation: only the latest is accepted.
    #[serde(default, rename = "scimd_rs", skip_serializing_if = "Option::is_none")]
    pub refresh_seq: Option<i64>,
}

/// Signs claims with a realm's active key.
pub fn sign(key: &SigningKey, claims: &Claims) -> Result<String> {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&key.private_der))
        .map_err(|e| Error::Internal(format!("signing a token: {e}")))
}

/// A key that verifies tokens, with the one algorithm it verifies.
#[derive(Clone)]
pub struct VerifyingKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

impl VerifyingKey {
    /// The verifying half of a realm's signing key.
    pub fn of(key: &SigningKey) -> Result<VerifyingKey> {
        let x = key.public_jwk.get("x").and_then(|v| v.as_str()).unwrap_or_default();
        let y = key.public_jwk.get("y").and_then(|v| v.as_str()).unwrap_or_default();
        let decoding = DecodingKey::from_ec_components(x, y)
            .map_err(|e| Error::Internal(format!("a stored signing key is unusable: {e}")))?;
        Ok(VerifyingKey { alg: Algorithm::ES256, key: decoding })
    }
}

fn unauthorized(reason: &str) -> Error {
    Error::Unauthorized(format!("the bearer token is not valid: {reason}"))
}

/// What is wrong with a token, in words a client can act on.
fn reason(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "it has expired".into(),
        ImmatureSignature => "it is not valid yet".into(),
        InvalidSignature => "its signature does not verify".into(),
        InvalidAlgorithm => "it is not signed with the key's algorithm".into(),
        InvalidIssuer => "it was issued by another issuer".into(),
        InvalidAudience => "it is meant for another audience".into(),
        MissingRequiredClaim(c) => format!("it has no '{c}' claim"),
        _ => "it cannot be decoded".into(),
    }
}

/// Verifies a token's signature, algorithm, `exp`, `nbf` and (when given) `iss` and `aud`,
/// and decodes its claims.
pub fn verify<T: serde::de::DeserializeOwned>(
    token: &str,
    key: &VerifyingKey,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<T> {
    let mut v = Validation::new(key.alg);
    v.leeway = LEEWAY;
    v.validate_nbf = true;
    v.required_spec_claims = ["exp".to_string()].into_iter().collect();
    if let Some(iss) = issuer {
        v.set_issuer(&[iss]);
    }
    match audience {
        Some(aud) => {
            v.set_audience(&[aud]);
            // A configured audience must be there, not merely not contradicted.
            v.required_spec_claims.insert("aud".to_string());
        }
        None => v.validate_aud = false,
    }
    jsonwebtoken::decode::<T>(token, &key.key, &v).map(|d| d.claims).map_err(|e| unauthorized(&reason(&e)))
}

/// The header of a token, without verifying anything.
pub fn header(token: &str) -> Result<Header> {
    jsonwebtoken::decode_header(token).map_err(|_| unauthorized("it is not a JWT"))
}

/// The `iss` of a token, without verifying anything; used only to choose the key to verify
/// it with.
pub fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    jsonwebtoken::dangerous::insecure_decode_claims::<Iss>(token).ok()?.iss
}

/// The verifying key for an external issuer's JWK, with the algorithm it names or its key
/// type implies.
pub fn from_jwk(jwk: &jsonwebtoken::jwk::Jwk) -> Result<VerifyingKey> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
    let alg = match (jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), _) => Algorithm::RS256,
        (Some(KeyAlgorithm::RS384), _) => Algorithm::RS384,
        (Some(KeyAlgorithm::RS512), _) => Algorithm::RS512,
        (Some(KeyAlgorithm::PS256), _) => Algorithm::PS256,
        (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
        (Some(KeyAlgorithm::ES384), _) => Algorithm::ES384,
        (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
        (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P384 => Algorithm::ES384,
        _ => return Err(unauthorized("the issuer's key uses an unsupported algorithm")),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| unauthorized("the issuer's key cannot be used"))?;
    Ok(VerifyingKey { alg, key })
}
