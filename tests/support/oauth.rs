//! OAuth test support: the master-realm administrator, the Keycloak-shaped admin REST API, the
//! token endpoint, and tokens forged with a realm's own signing key or with a test issuer's
//! key (for the attacks that need a valid signature).

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scimd::store::SigningKey;
use serde_json::{Value, json};

use crate::{Client, Resp, Server, q};

/// The master administrator's name and password.
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin";

/// Reads a response into a [`Resp`].
async fn into_resp(r: reqwest::Response) -> Result<Resp> {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await?;
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Resp { status, headers, text, json })
}

/// `application/x-www-form-urlencoded` of pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", q(k), q(v))).collect::<Vec<_>>().join("&")
}

/// A token request to a realm's token endpoint, with HTTP Basic client authentication when
/// `basic` is given.
pub async fn token_request(
    server: &Server,
    realm: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<Resp> {
    let mut req = reqwest::Client::new()
        .post(server.url(&format!("/realms/{realm}/protocol/openid-connect/token")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    into_resp(req.send().await?).await
}

/// The access token of a successful token response.
fn access_token(r: &Resp) -> Result<String> {
    ensure!(r.status == 200, "token request: {} {}", r.status, r.text);
    Ok(r.json["access_token"].as_str().context("no access_token")?.to_string())
}

/// A `client_credentials` access token (client secret in the form).
pub async fn client_token(server: &Server, realm: &str, client_id: &str, secret: &str) -> Result<String> {
    let r = token_request(
        server,
        realm,
        &[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)],
        None,
    )
    .await?;
    access_token(&r)
}

/// The master administrator's token response (`password` grant with `admin-cli`), making
/// the administrator on first use.
pub async fn admin_login(server: &Server) -> Result<Resp> {
    scimd::bootstrap_admin(&server.state, ADMIN, ADMIN_PASSWORD)?;
    token_request(
        server,
        "master",
        &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", ADMIN), ("password", ADMIN_PASSWORD)],
        None,
    )
    .await
}

/// A `password` grant: `client` with its secret (confidential) or without (public).
pub async fn password_login(
    server: &Server,
    realm: &str,
    client: (&str, Option<&str>),
    username: &str,
    password: &str,
) -> Result<Resp> {
    let mut pairs =
        vec![("grant_type", "password"), ("client_id", client.0), ("username", username), ("password", password)];
    if let Some(secret) = client.1 {
        pairs.push(("client_secret", secret));
    }
    token_request(server, realm, &pairs, None).await
}

/// A `refresh_token` grant for a public client.
pub async fn refresh(server: &Server, realm: &str, client_id: &str, refresh_token: &str) -> Result<Resp> {
    token_request(
        server,
        realm,
        &[("grant_type", "refresh_token"), ("client_id", client_id), ("refresh_token", refresh_token)],
        None,
    )
    .await
}

/// A form POST to one of a realm's OpenID Connect endpoints (`logout`, `revoke`, …).
pub async fn oidc_post(server: &Server, realm: &str, endpoint: &str, pairs: &[(&str, &str)]) -> Result<Resp> {
    let r = reqwest::Client::new()
        .post(server.url(&format!("/realms/{realm}/protocol/openid-connect/{endpoint}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await?;
    into_resp(r).await
}

/// The master administrator's access token.
pub async fn admin_token(server: &Server) -> Result<String> {
    access_token(&admin_login(server).await?)
}

/// A SCIM client of a realm with a bearer token (or none).
pub fn scim(server: &Server, realm: &str, token: Option<String>) -> Client {
    Client::new(server.url(&format!("/realms/{realm}/scim/v2")), token)
}

/// A confidential client with a service account, as made by [`Admin::service_account`].
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub realm: String,
    pub client_id: String,
    /// The client's internal id (the admin API's path parameter).
    pub uuid: String,
    pub secret: String,
    /// The id of the `service-account-<clientId>` user.
    pub user_id: String,
}

impl ServiceAccount {
    /// A fresh `client_credentials` access token.
    pub async fn token(&self, server: &Server) -> Result<String> {
        client_token(server, &self.realm, &self.client_id, &self.secret).await
    }

    /// A SCIM client of the account's realm with a fresh token.
    pub async fn scim(&self, server: &Server) -> Result<Client> {
        Ok(scim(server, &self.realm, Some(self.token(server).await?)))
    }
}

/// A client of the admin REST API (`/admin/...`) with a bearer token.
#[derive(Clone)]
pub struct Admin {
    pub base: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Admin {
    /// The admin API as the master administrator.
    pub async fn master(server: &Server) -> Result<Admin> {
        Ok(Admin::with_token(server, Some(admin_token(server).await?)))
    }

    /// The admin API with another token (or none).
    pub fn with_token(server: &Server, token: Option<String>) -> Admin {
        Admin { base: server.url("/admin"), token, http: reqwest::Client::new() }
    }

    /// Sends a request; a body is sent as `application/json`.
    pub async fn send(&self, method: &str, path: &str, body: Option<String>) -> Result<Resp> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        into_resp(req.send().await?).await
    }

    pub async fn get(&self, path: &str) -> Result<Resp> {
        self.send("GET", path, None).await
    }

    /// PUTs raw bytes (a component) as `application/wasm`.
    pub async fn put_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<Resp> {
        let mut req =
            self.http.put(format!("{}{path}", self.base)).header("content-type", "application/wasm").body(bytes);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        into_resp(req.send().await?).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Resp> {
        self.send("POST", path, Some(body.to_string())).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Resp> {
        self.send("PUT", path, Some(body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> Result<Resp> {
        self.send("DELETE", path, None).await
    }

    /// Creates a realm (SCIM enabled, `entra` compatibility).
    pub async fn create_realm(&self, name: &str) -> Result<()> {
        let r = self.post("/realms", &json!({"realm": name, "enabled": true})).await?;
        ensure!(r.status == 201, "creating realm {name}: {} {}", r.status, r.text);
        Ok(())
    }

    /// Creates a client from its representation; returns its internal id (from `Location`).
    pub async fn create_client(&self, realm: &str, rep: &Value) -> Result<String> {
        let r = self.post(&format!("/realms/{realm}/clients"), rep).await?;
        ensure!(r.status == 201, "creating client {rep}: {} {}", r.status, r.text);
        let location = r.header("location").context("no Location")?;
        let prefix = format!("/admin/realms/{realm}/clients/");
        let at = location.find(&prefix).context("unexpected Location")?;
        Ok(location[at + prefix.len()..].to_string())
    }

    /// The internal id of a client by its `clientId`.
    pub async fn client_uuid(&self, realm: &str, client_id: &str) -> Result<String> {
        let r = self.get(&format!("/realms/{realm}/clients?clientId={}", q(client_id))).await?;
        ensure!(r.status == 200, "listing clients: {} {}", r.status, r.text);
        Ok(r.json[0]["id"].as_str().with_context(|| format!("no client {client_id}: {}", r.text))?.to_string())
    }

    /// The id of a client's service-account user.
    pub async fn service_account_user(&self, realm: &str, client_uuid: &str) -> Result<String> {
        let r = self.get(&format!("/realms/{realm}/clients/{client_uuid}/service-account-user")).await?;
        ensure!(r.status == 200, "service account user: {} {}", r.status, r.text);
        Ok(r.json["id"].as_str().context("no id")?.to_string())
    }

    /// Maps `realm-management` roles to a user.
    pub async fn grant(&self, realm: &str, user_id: &str, roles: &[&str]) -> Result<()> {
        if roles.is_empty() {
            return Ok(());
        }
        let management = self.client_uuid(realm, "realm-management").await?;
        let body = Value::Array(roles.iter().map(|r| json!({"name": r})).collect());
        let r =
            self.post(&format!("/realms/{realm}/users/{user_id}/role-mappings/clients/{management}"), &body).await?;
        ensure!(r.status == 204, "mapping {roles:?}: {} {}", r.status, r.text);
        Ok(())
    }

    /// A confidential client `client_id` with a service account holding exactly `roles`.
    pub async fn service_account(&self, realm: &str, client_id: &str, roles: &[&str]) -> Result<ServiceAccount> {
        let secret = format!("{client_id}-secret");
        let uuid = self
            .create_client(
                realm,
                &json!({"clientId": client_id, "secret": secret, "publicClient": false,
                        "serviceAccountsEnabled": true, "enabled": true}),
            )
            .await?;
        let user_id = self.service_account_user(realm, &uuid).await?;
        self.grant(realm, &user_id, roles).await?;
        Ok(ServiceAccount { realm: realm.to_string(), client_id: client_id.to_string(), uuid, secret, user_id })
    }

    /// A public client allowed the password grant (`directAccessGrantsEnabled`), as login
    /// tests need one.
    pub async fn login_client(&self, realm: &str, client_id: &str) -> Result<String> {
        self.create_client(
            realm,
            &json!({"clientId": client_id, "publicClient": true, "directAccessGrantsEnabled": true, "enabled": true}),
        )
        .await
    }

    /// Changes a realm's settings (the fields given; the rest stay).
    pub async fn set_realm(&self, realm: &str, settings: &Value) -> Result<()> {
        let r = self.put(&format!("/realms/{realm}"), settings).await?;
        ensure!(r.status == 204, "setting {settings} on realm {realm}: {} {}", r.status, r.text);
        Ok(())
    }

    /// Maps `realm-management` roles to a group.
    pub async fn grant_group(&self, realm: &str, group_id: &str, roles: &[&str]) -> Result<()> {
        let management = self.client_uuid(realm, "realm-management").await?;
        let body = Value::Array(roles.iter().map(|r| json!({"name": r})).collect());
        let r =
            self.post(&format!("/realms/{realm}/groups/{group_id}/role-mappings/clients/{management}"), &body).await?;
        ensure!(r.status == 204, "mapping {roles:?} to group {group_id}: {} {}", r.status, r.text);
        Ok(())
    }

    /// A realm's admin events (newest first).
    pub async fn events(&self, realm: &str) -> Result<Vec<Value>> {
        let r = self.get(&format!("/realms/{realm}/admin-events")).await?;
        ensure!(r.status == 200, "admin events: {} {}", r.status, r.text);
        Ok(r.json.as_array().cloned().unwrap_or_default())
    }
}

/// URL-safe base64 without padding, as in JWTs.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn segment(token: &str, n: usize) -> Result<Value> {
    let part = token.split('.').nth(n).context("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part)?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The header of a JWT, unverified.
pub fn jwt_header(token: &str) -> Result<Value> {
    segment(token, 0)
}

/// The claims of a JWT, unverified.
pub fn jwt_claims(token: &str) -> Result<Value> {
    segment(token, 1)
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A realm's active signing key, private half included, read from the store.
pub fn realm_key(server: &Server, realm: &str) -> Result<SigningKey> {
    let id = server.realm_id(realm)?;
    server.state.store.signing_keys(id)?.into_iter().find(|k| k.active).context("no active key")
}

/// Signs claims with a realm's key, as scimd does (ES256, the key's `kid`).
pub fn forge(key: &SigningKey, claims: &Value) -> Result<String> {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    Ok(jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&key.private_der))?)
}

/// A token from its raw header and claims and a signature (any bytes).
pub fn assemble(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(signature))
}

/// An external token issuer for the tests: a fresh P-256 key pair, its public JWK, and
/// ES256 signing.
pub struct TestIssuer {
    pub issuer: String,
    pub kid: String,
    der: Vec<u8>,
    pub jwk: Value,
}

impl TestIssuer {
    pub fn new(issuer: &str, kid: &str) -> Result<TestIssuer> {
        use p256::elliptic_curve::sec1::ToSec1Point;
        use p256::pkcs8::EncodePrivateKey;
        use rand::RngCore;
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
                break k;
            }
        };
        let der = secret.to_pkcs8_der().map_err(|e| anyhow::anyhow!("pkcs8: {e}"))?.as_bytes().to_vec();
        let point = secret.public_key().to_sec1_point(false);
        let (x, y) = (point.x().context("no x")?, point.y().context("no y")?);
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                         "x": b64(x), "y": b64(y)});
        Ok(TestIssuer { issuer: issuer.to_string(), kid: kid.to_string(), der, jwk })
    }

    /// The issuer's JWKS document.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// Signs claims (ES256, this issuer's `kid`).
    pub fn sign(&self, claims: &Value) -> Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        Ok(jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.der))?)
    }

    /// Claims an Entra-like issuer would put in an app token: `iss`, `sub`, `aud`, `iat`, `exp`.
    pub fn claims(&self, aud: &str) -> Value {
        let now = now();
        json!({"iss": self.issuer, "sub": "ext-subject", "oid": "ext-object-id", "aud": aud,
               "iat": now, "nbf": now - 10, "exp": now + 300})
    }
}
