//! Forged, stale and foreign bearer tokens. Each is answered `401` with a SCIM error body and
//! a `WWW-Authenticate: Bearer … error="invalid_token"` challenge, and changes nothing: the
//! write it carried creates no user and records no admin event. The tokens that need a valid
//! signature are signed with the realm's own private key, read from the store. Last, tokens of
//! an external issuer the realm trusts are accepted with the roles configured for it.

use anyhow::Result;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scimd_tests::oauth::{
    Admin, ServiceAccount, TestIssuer, assemble, b64, forge, jwt_claims, jwt_header, now, realm_key, scim,
    token_request,
};
use scimd_tests::{Client, Resp, Server, q};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A realm `r`, a service account `provisioner` with manage-users, the master admin, and a
/// secret token to look at the store with.
struct Fixture {
    server: Server,
    admin: Admin,
    sa: ServiceAccount,
    seed: Client,
}

impl Fixture {
    async fn new() -> Result<Fixture> {
        let server = Server::start().await?;
        let admin = Admin::master(&server).await?;
        admin.create_realm("r").await?;
        let sa = admin.service_account("r", "provisioner", &["manage-users"]).await?;
        let seed = scim(&server, "r", Some(server.token(server.realm_id("r")?, &["manage-users"])?));
        Ok(Fixture { server, admin, sa, seed })
    }

    /// Claims of a genuine access token of the provisioner, to start a forgery from.
    async fn genuine_claims(&self) -> Result<Value> {
        jwt_claims(&self.sa.token(&self.server).await?)
    }

    /// Asserts that `token` is refused on realm `r` for a write and a read, with `why` in the
    /// detail, and that the write changed nothing.
    async fn assert_rejected(&self, token: &str, why: &str) -> Result<()> {
        let events_before = self.admin.events("r").await?.len();
        let c = scim(&self.server, "r", Some(token.to_string()));
        let r = c.post("/Users", &json!({"schemas": [USER], "userName": "mallory"})).await?;
        assert_unauthorized(&r, why);
        assert_unauthorized(&c.get("/Users").await?, why);
        assert_unauthorized(&c.get("/ServiceProviderConfig").await?, why);
        let (total, _) = self.seed.ids(&format!("/Users?filter={}", q("userName eq \"mallory\""))).await?;
        assert_eq!(total, 0, "no user was created with a refused token");
        assert_eq!(self.admin.events("r").await?.len(), events_before, "no admin event was recorded");
        Ok(())
    }
}

/// A 401 with a SCIM body naming `why` and a Bearer `invalid_token` challenge.
fn assert_unauthorized(r: &Resp, why: &str) {
    r.assert_error(401, None, why);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "challenge {challenge:?}");
    assert!(challenge.contains("error=\"invalid_token\""), "challenge {challenge:?}");
}

#[tokio::test]
async fn genuine_token_is_accepted_as_the_baseline() -> Result<()> {
    let f = Fixture::new().await?;
    let c = scim(&f.server, "r", Some(forge(&realm_key(&f.server, "r")?, &f.genuine_claims().await?)?));
    assert_eq!(c.post("/Users", &json!({"schemas": [USER], "userName": "alice"})).await?.status, 201);
    // Bearer is case-insensitive (RFC 7235 §2.1).
    let token = f.sa.token(&f.server).await?;
    let lower =
        c.with_token(None).send("GET", "/Users", None, &[("authorization", &format!("bearer {token}"))]).await?;
    assert_eq!(lower.status, 200, "{}", lower.text);
    Ok(())
}

#[tokio::test]
async fn alg_none_token_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let claims = f.genuine_claims().await?;
    let kid = realm_key(&f.server, "r")?.kid;
    for alg in ["none", "None", "NONE"] {
        let token = assemble(&json!({"alg": alg, "typ": "JWT", "kid": kid}), &claims, b"");
        f.assert_rejected(&token, "not valid").await?;
        let no_signature = token.trim_end_matches('.').to_string();
        f.assert_rejected(&no_signature, "not valid").await?;
    }
    Ok(())
}

#[tokio::test]
async fn hs256_token_signed_with_the_realm_public_key_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let claims = f.genuine_claims().await?;
    let jwk = &key.public_jwk;
    let coordinate = |name: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap_or_default())
    };
    let mut sec1 = vec![4u8];
    sec1.extend(coordinate("x")?);
    sec1.extend(coordinate("y")?);
    let secrets: Vec<Vec<u8>> = vec![
        sec1,
        jwk.to_string().into_bytes(),
        format!("{}{}", jwk["x"].as_str().unwrap_or_default(), jwk["y"].as_str().unwrap_or_default()).into_bytes(),
    ];
    for secret in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some(key.kid.clone());
            let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)?)?;
            f.assert_rejected(&token, "algorithm").await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn expired_token_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let mut claims = f.genuine_claims().await?;
    // Well past the 5 s leeway, and a token that expired an hour ago.
    for (iat, exp) in [(now() - 330, now() - 30), (now() - 3900, now() - 3600)] {
        claims["iat"] = json!(iat);
        claims["exp"] = json!(exp);
        f.assert_rejected(&forge(&key, &claims)?, "expired").await?;
    }
    Ok(())
}

#[tokio::test]
async fn not_yet_valid_token_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let mut claims = f.genuine_claims().await?;
    claims["nbf"] = json!(now() + 3600);
    claims["exp"] = json!(now() + 7200);
    f.assert_rejected(&forge(&key, &claims)?, "not valid yet").await?;
    Ok(())
}

#[tokio::test]
async fn token_without_exp_or_issuer_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let genuine = f.genuine_claims().await?;
    let mut no_exp = genuine.clone();
    no_exp.as_object_mut().map(|m| m.remove("exp"));
    f.assert_rejected(&forge(&key, &no_exp)?, "not valid").await?;
    let mut no_iss = genuine;
    no_iss.as_object_mut().map(|m| m.remove("iss"));
    f.assert_rejected(&forge(&key, &no_iss)?, "not valid").await?;
    Ok(())
}

#[tokio::test]
async fn token_with_another_issuer_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let mut claims = f.genuine_claims().await?;
    for iss in [f.server.url("/realms/master"), f.server.url("/realms/r/x"), f.server.url("/realms/rr"), String::new()]
    {
        claims["iss"] = json!(iss);
        f.assert_rejected(&forge(&key, &claims)?, "another issuer").await?;
    }
    Ok(())
}

#[tokio::test]
async fn token_of_another_realm_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    f.admin.create_realm("other").await?;
    let other = f.admin.service_account("other", "provisioner", &["manage-users"]).await?;
    let token = other.token(&f.server).await?;
    f.assert_rejected(&token, "not valid for realm 'r'").await?;
    // Its own realm takes it.
    assert_eq!(scim(&f.server, "other", Some(token)).get("/Users").await?.status, 200);
    // The master administrator's token is a master-realm token: not one of realm r.
    let master = f.admin.token.clone().unwrap_or_default();
    f.assert_rejected(&master, "not valid for realm 'r'").await?;
    // A secret token of another realm neither.
    let secret = f.server.token(f.server.realm_id("other")?, &["manage-users"])?;
    f.assert_rejected(&secret, "not valid for realm 'r'").await?;
    Ok(())
}

#[tokio::test]
async fn tampered_payload_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let reader = f.admin.service_account("r", "reader", &["view-users"]).await?;
    let token = reader.token(&f.server).await?;
    let parts: Vec<&str> = token.split('.').collect();
    let claims = jwt_claims(&token)?;
    let tamper = |change: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        change(&mut c);
        format!("{}.{}.{}", parts[0], b64(c.to_string().as_bytes()), parts[2])
    };
    let escalated = tamper(&|c| c["resource_access"]["realm-management"]["roles"] = json!(["manage-users"]));
    f.assert_rejected(&escalated, "signature").await?;
    let impersonating = tamper(&|c| c["sub"] = json!(f.sa.user_id));
    f.assert_rejected(&impersonating, "signature").await?;
    let extended = tamper(&|c| c["exp"] = json!(now() + 86_400));
    f.assert_rejected(&extended, "signature").await?;
    // A signature bit flipped.
    let mut sig = parts[2].as_bytes().to_vec();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{}.{}.{}", parts[0], parts[1], String::from_utf8(sig)?);
    f.assert_rejected(&flipped, "not valid").await?;
    // The genuine token still reads but does not write.
    let c = scim(&f.server, "r", Some(token));
    assert_eq!(c.get("/Users").await?.status, 200);
    c.post("/Users", &json!({"schemas": [USER], "userName": "mallory"})).await?.assert_error(403, None, "manage-users");
    Ok(())
}

#[tokio::test]
async fn unknown_kid_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let claims = f.genuine_claims().await?;
    for kid in [Some("no-such-kid"), None] {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_string);
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.private_der))?;
        f.assert_rejected(&token, "unknown key").await?;
    }
    // The realm's kid on a token signed with some other key.
    let impostor = TestIssuer::new(&f.server.url("/realms/r"), &key.kid)?;
    f.assert_rejected(&impostor.sign(&claims)?, "signature").await?;
    // Another realm's kid on a token of realm r.
    let master_kid = realm_key(&f.server, "master")?.kid;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(master_kid);
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.private_der))?;
    f.assert_rejected(&token, "not valid").await?;
    Ok(())
}

#[tokio::test]
async fn token_of_a_regenerated_client_secret_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let old = f.sa.token(&f.server).await?;
    assert_eq!(scim(&f.server, "r", Some(old.clone())).get("/Users").await?.status, 200);
    let r = f.admin.post(&format!("/realms/r/clients/{}/client-secret", f.sa.uuid), &json!({})).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_secret = r.json["value"].as_str().unwrap_or_default().to_string();
    assert!(!new_secret.is_empty() && new_secret != f.sa.secret);
    f.assert_rejected(&old, "secret has been changed").await?;
    // The old secret gets no token; the new one does, and it works.
    let refused = token_request(
        &f.server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", &f.sa.secret)],
        None,
    )
    .await?;
    assert_eq!((refused.status, refused.json["error"].as_str()), (401, Some("invalid_client")), "{}", refused.text);
    let renewed = ServiceAccount { secret: new_secret, ..f.sa.clone() };
    let c = renewed.scim(&f.server).await?;
    assert_eq!(c.post("/Users", &json!({"schemas": [USER], "userName": "alice"})).await?.status, 201);
    Ok(())
}

#[tokio::test]
async fn token_of_a_deleted_client_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let token = f.sa.token(&f.server).await?;
    let r = f.admin.delete(&format!("/realms/r/clients/{}", f.sa.uuid)).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    f.assert_rejected(&token, "no longer exists").await?;
    // Its service account went with it, and it gets no new token.
    let users = f.admin.get("/realms/r/users?username=service-account-provisioner&exact=true").await?;
    assert_eq!(users.json, json!([]));
    let r = token_request(
        &f.server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", &f.sa.secret)],
        None,
    )
    .await?;
    assert_eq!((r.status, r.json["error"].as_str()), (401, Some("invalid_client")), "{}", r.text);
    Ok(())
}

#[tokio::test]
async fn token_of_a_disabled_client_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let token = f.sa.token(&f.server).await?;
    let r = f.admin.put(&format!("/realms/r/clients/{}", f.sa.uuid), &json!({"enabled": false})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    f.assert_rejected(&token, "disabled").await?;
    let r = token_request(
        &f.server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", &f.sa.secret)],
        None,
    )
    .await?;
    // Answered as any failed client authentication is: nothing tells a disabled client apart.
    assert_eq!((r.status, r.json["error"].as_str()), (401, Some("invalid_client")), "{}", r.text);
    assert_eq!(r.json["error_description"], "invalid client credentials", "{}", r.text);
    Ok(())
}

#[tokio::test]
async fn validly_signed_token_of_a_missing_client_or_user_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let key = realm_key(&f.server, "r")?;
    let genuine = f.genuine_claims().await?;
    let mut ghost_client = genuine.clone();
    ghost_client["azp"] = json!("ghost");
    f.assert_rejected(&forge(&key, &ghost_client)?, "client no longer exists").await?;
    let mut ghost_user = genuine;
    ghost_user["sub"] = json!("00000000-0000-0000-0000-000000000000");
    f.assert_rejected(&forge(&key, &ghost_user)?, "user no longer exists").await?;
    Ok(())
}

#[tokio::test]
async fn refresh_token_is_not_an_access_token() -> Result<()> {
    let f = Fixture::new().await?;
    // A refresh token of realm r, as its password grant would issue it.
    let key = realm_key(&f.server, "r")?;
    let mut claims = f.genuine_claims().await?;
    claims["typ"] = json!("Refresh");
    f.assert_rejected(&forge(&key, &claims)?, "not an access token").await?;
    Ok(())
}

#[tokio::test]
async fn garbage_authorization_headers_are_401() -> Result<()> {
    let f = Fixture::new().await?;
    let token = f.sa.token(&f.server).await?;
    let c = scim(&f.server, "r", None);
    let values = [
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer    ".to_string(),
        "Bearer a.b.c".to_string(),
        "Bearer ...".to_string(),
        "Bearer eyJhbGciOiJFUzI1NiJ9".to_string(),
        "Bearer eyJhbGciOiJFUzI1NiJ9.eyJ9.x".to_string(),
        format!("Bearer {token}x"),
        format!("Bearer {}", &token[..token.len() / 2]),
        format!("Basic {token}"),
        format!("Token {token}"),
        token.clone(),
        "Bearer scimd_".to_string(),
    ];
    let events_before = f.admin.events("r").await?.len();
    for value in &values {
        let r = c
            .send(
                "POST",
                "/Users",
                Some(json!({"schemas": [USER], "userName": "mallory"}).to_string()),
                &[("authorization", value)],
            )
            .await?;
        assert_eq!(r.status, 401, "Authorization {value:?}: {}", r.text);
        assert_unauthorized(&r, "");
        let r = c.send("GET", "/Users", None, &[("authorization", value)]).await?;
        assert_eq!(r.status, 401, "Authorization {value:?}: {}", r.text);
    }
    assert_eq!(f.seed.ids("/Users").await?.0, 0, "no user was created");
    assert_eq!(f.admin.events("r").await?.len(), events_before);
    Ok(())
}

/// Trusts `issuer` in realm `realm` with an audience (or, given none, any audience, said
/// explicitly) and roles; returns the trusted issuer's admin path.
async fn trust(
    f: &Fixture,
    realm: &str,
    issuer: &TestIssuer,
    audience: Option<&str>,
    roles: &[&str],
) -> Result<String> {
    let mut body = json!({"issuer": issuer.issuer, "jwks": issuer.jwks(), "roles": roles});
    match audience {
        Some(a) => body["audience"] = json!(a),
        None => body["anyAudience"] = json!(true),
    }
    let r = f.admin.post(&format!("/realms/{realm}/trusted-issuers"), &body).await?;
    anyhow::ensure!(r.status == 201, "trusting {}: {} {}", issuer.issuer, r.status, r.text);
    Ok(r.header("location").unwrap_or_default().trim_start_matches("/admin").to_string())
}

const AUDIENCE: &str = "api://scimd";

#[tokio::test]
async fn token_of_an_untrusted_external_issuer_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let stranger = TestIssuer::new("https://login.example.com/stranger/v2.0", "k1")?;
    f.assert_rejected(&stranger.sign(&stranger.claims(AUDIENCE))?, "not trusted").await?;
    // Trusted by another realm only: still a stranger to r.
    f.admin.create_realm("other").await?;
    trust(&f, "other", &stranger, Some(AUDIENCE), &["manage-users"]).await?;
    f.assert_rejected(&stranger.sign(&stranger.claims(AUDIENCE))?, "not trusted").await?;
    // A token naming no issuer at all.
    let mut anonymous = stranger.claims(AUDIENCE);
    anonymous.as_object_mut().map(|m| m.remove("iss"));
    f.assert_rejected(&stranger.sign(&anonymous)?, "no issuer").await?;
    Ok(())
}

#[tokio::test]
async fn external_token_for_another_audience_is_401() -> Result<()> {
    let f = Fixture::new().await?;
    let idp = TestIssuer::new("https://login.example.com/tenant/v2.0", "k1")?;
    trust(&f, "r", &idp, Some(AUDIENCE), &["manage-users"]).await?;
    for aud in [json!("api://other"), json!(["api://other", "api://else"]), json!("")] {
        let mut claims = idp.claims(AUDIENCE);
        claims["aud"] = aud;
        f.assert_rejected(&idp.sign(&claims)?, "audience").await?;
    }
    Ok(())
}

#[tokio::test]
async fn external_token_without_audience_is_401_when_an_audience_is_configured() -> Result<()> {
    let f = Fixture::new().await?;
    let idp = TestIssuer::new("https://login.example.com/tenant/v2.0", "k1")?;
    trust(&f, "r", &idp, Some(AUDIENCE), &["manage-users"]).await?;
    let mut no_aud = idp.claims(AUDIENCE);
    no_aud.as_object_mut().map(|m| m.remove("aud"));
    f.assert_rejected(&idp.sign(&no_aud)?, "aud").await?;
    Ok(())
}

#[tokio::test]
async fn forged_external_tokens_are_401() -> Result<()> {
    let f = Fixture::new().await?;
    let idp = TestIssuer::new("https://login.example.com/tenant/v2.0", "k1")?;
    trust(&f, "r", &idp, Some(AUDIENCE), &["manage-users"]).await?;
    // Same issuer and kid, another key.
    let impostor = TestIssuer::new(&idp.issuer, &idp.kid)?;
    f.assert_rejected(&impostor.sign(&impostor.claims(AUDIENCE))?, "signature").await?;
    // A kid the issuer's JWKS does not have.
    let stray = TestIssuer::new(&idp.issuer, "k2")?;
    f.assert_rejected(&stray.sign(&stray.claims(AUDIENCE))?, "unknown key").await?;
    // HS256 keyed with the issuer's public key.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(idp.kid.clone());
    let secret = idp.jwk.to_string();
    let hs = jsonwebtoken::encode(&header, &idp.claims(AUDIENCE), &EncodingKey::from_secret(secret.as_bytes())?)?;
    f.assert_rejected(&hs, "algorithm").await?;
    // alg none.
    f.assert_rejected(&assemble(&json!({"alg": "none", "kid": idp.kid}), &idp.claims(AUDIENCE), b""), "not valid")
        .await?;
    // Expired and not yet valid.
    let mut expired = idp.claims(AUDIENCE);
    expired["exp"] = json!(now() - 60);
    f.assert_rejected(&idp.sign(&expired)?, "expired").await?;
    let mut early = idp.claims(AUDIENCE);
    early["nbf"] = json!(now() + 3600);
    f.assert_rejected(&idp.sign(&early)?, "not valid yet").await?;
    // Tampered.
    let token = idp.sign(&idp.claims(AUDIENCE))?;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = idp.claims(AUDIENCE);
    claims["sub"] = json!("someone-else");
    f.assert_rejected(&format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2]), "signature")
        .await?;
    Ok(())
}

#[tokio::test]
async fn trusted_external_issuer_token_is_accepted_with_the_configured_roles() -> Result<()> {
    let f = Fixture::new().await?;
    let reader_idp = TestIssuer::new("https://login.example.com/readers/v2.0", "reader-key")?;
    trust(&f, "r", &reader_idp, Some(AUDIENCE), &["view-users"]).await?;
    let writer_idp = TestIssuer::new("https://login.example.com/writers/v2.0", "writer-key")?;
    let writer_path = trust(&f, "r", &writer_idp, Some(AUDIENCE), &["manage-users"]).await?;
    let listed = f.admin.get("/realms/r/trusted-issuers").await?;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(2), "{}", listed.text);

    // The writer issuer's token has manage-users.
    let writer = scim(&f.server, "r", Some(writer_idp.sign(&writer_idp.claims(AUDIENCE))?));
    let created = writer.post("/Users", &json!({"schemas": [USER], "userName": "from-entra"})).await?;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.id();
    // An audience list that includes ours is accepted too.
    let mut listed_aud = writer_idp.claims(AUDIENCE);
    listed_aud["aud"] = json!(["api://other", AUDIENCE]);
    let r = scim(&f.server, "r", Some(writer_idp.sign(&listed_aud)?)).get(&format!("/Users/{id}")).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    // The write is recorded as the external subject's.
    let events = f.admin.events("r").await?;
    let event = events.iter().find(|e| e["resourcePath"] == format!("users/{id}")).cloned().unwrap_or_default();
    assert_eq!(event["operationType"], "CREATE", "{events:?}");
    assert_eq!(event["authDetails"]["userId"], format!("{}#ext-object-id", writer_idp.issuer));
    assert_eq!(event["authDetails"]["realmId"], "r");

    // The reader issuer's token reads and lists, but may not write.
    let reader = scim(&f.server, "r", Some(reader_idp.sign(&reader_idp.claims(AUDIENCE))?));
    assert_eq!(reader.get(&format!("/Users/{id}")).await?.json["userName"], "from-entra");
    assert_eq!(reader.ids("/Users").await?.0, 1);
    assert_eq!(reader.get("/ServiceProviderConfig").await?.status, 200);
    reader.post("/Users", &json!({"schemas": [USER], "userName": "nope"})).await?.assert_error(
        403,
        None,
        "manage-users",
    );
    reader.delete(&format!("/Users/{id}")).await?.assert_error(403, None, "manage-users");
    assert_eq!(f.seed.ids("/Users").await?.0, 1);

    // External tokens open the realm's SCIM API only, never the admin API.
    let on_admin = Admin::with_token(&f.server, writer.token.clone()).get("/realms/r").await?;
    assert_eq!(on_admin.status, 401, "{}", on_admin.text);
    assert!(on_admin.json["errorMessage"].is_string(), "{}", on_admin.text);

    // Distrusting the issuer ends its tokens at once.
    assert_eq!(f.admin.delete(&writer_path).await?.status, 204);
    f.assert_rejected(writer.token.as_deref().unwrap_or_default(), "not trusted").await?;
    assert_eq!(reader.get("/Users").await?.status, 200, "the other issuer is still trusted");
    Ok(())
}

#[tokio::test]
async fn trusted_issuer_without_audience_is_refused_unless_any_audience_is_said() -> Result<()> {
    let f = Fixture::new().await?;
    let idp = TestIssuer::new("https://idp.example.org", "k")?;
    let r = f.admin.post("/realms/r/trusted-issuers", &json!({"issuer": idp.issuer, "jwks": idp.jwks()})).await?;
    r.assert_admin_error(400, "anyAudience");
    trust(&f, "r", &idp, None, &["query-users"]).await?;
    let listed = f.admin.get("/realms/r/trusted-issuers").await?;
    assert_eq!(listed.json[0]["anyAudience"], true, "{}", listed.text);
    let c = scim(&f.server, "r", Some(idp.sign(&idp.claims("whatever"))?));
    assert_eq!(c.get("/Users").await?.status, 200);
    c.get("/Groups").await?.assert_error(403, None, "query-groups");
    assert_eq!(jwt_header(c.token.as_deref().unwrap_or_default())?["kid"], "k");
    Ok(())
}

/// An issuer's keys can come from a file the server reads (`jwksFile`), as operators keep
/// Entra's published keys, under the directory named at start (`--trusted-jwks-dir`); a token
/// is checked against them like inline keys.
#[tokio::test]
async fn trusted_issuer_keys_from_a_jwks_file() -> Result<()> {
    let jwks_dir = tempfile::tempdir()?;
    let dir = jwks_dir.path().to_path_buf();
    let server = Server::start_with(move |s| s.trusted_jwks_dir = Some(dir)).await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let idp = TestIssuer::new("https://sts.windows.net/tenant-file/", "file-key")?;
    std::fs::write(jwks_dir.path().join("entra-keys.json"), idp.jwks().to_string())?;
    let body = json!({"issuer": idp.issuer, "audience": AUDIENCE, "jwksFile": "entra-keys.json",
                      "roles": ["manage-users"]});
    let r = admin.post("/realms/r/trusted-issuers", &body).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let entra = scim(&server, "r", Some(idp.sign(&idp.claims(AUDIENCE))?));
    let created = entra.post("/Users", &json!({"schemas": [USER], "userName": "via-file"})).await?;
    assert_eq!(created.status, 201, "{}", created.text);
    // Another key of the same issuer is not in the file: refused.
    let impostor = TestIssuer::new("https://sts.windows.net/tenant-file/", "file-key")?;
    let c = scim(&server, "r", Some(impostor.sign(&impostor.claims(AUDIENCE))?));
    c.get("/Users").await?.assert_error(401, None, "signature");
    // Both inline keys and a file at once is a clear 400.
    let both = json!({"issuer": "https://x/", "audience": AUDIENCE, "jwks": idp.jwks(), "jwksFile": "entra-keys.json"});
    let r = admin.post("/realms/r/trusted-issuers", &both).await?;
    assert_eq!(r.status, 400, "{}", r.text);
    Ok(())
}
