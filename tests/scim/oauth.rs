//! The realm's OpenID Connect endpoints as Keycloak serves them: the token endpoint's grants
//! (`client_credentials` with form or Basic client authentication, `password`,
//! `refresh_token`) and their OAuth errors, the JWKS, the discovery document, key rotation,
//! and client-credentials tokens driving SCIM end to end.

use anyhow::Result;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use scimd_tests::Server;
use scimd_tests::oauth::{Admin, admin_login, jwt_claims, jwt_header, now, scim, token_request};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Asserts an OAuth error response (RFC 6749 §5.2).
fn assert_oauth_error(r: &scimd_tests::Resp, status: u16, error: &str, description_contains: &str) {
    assert_eq!(r.status, status, "status of {}", r.text);
    assert_eq!(r.json["error"], error, "error of {}", r.text);
    let description = r.json["error_description"].as_str().unwrap_or_default();
    assert!(
        description.to_lowercase().contains(&description_contains.to_lowercase()),
        "error_description {description:?} should mention {description_contains:?}"
    );
    assert!(r.json.get("access_token").is_none(), "no token in an error: {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

/// A realm `r` with a service-account client `provisioner` holding manage-users.
async fn realm_with_provisioner(server: &Server) -> Result<(Admin, scimd_tests::oauth::ServiceAccount)> {
    let admin = Admin::master(server).await?;
    admin.create_realm("r").await?;
    let sa = admin.service_account("r", "provisioner", &["manage-users"]).await?;
    Ok((admin, sa))
}

#[tokio::test]
async fn client_credentials_token_provisions_users_end_to_end() -> Result<()> {
    let server = Server::start().await?;
    // Everything through the admin API as the master administrator, as kcadm would.
    let admin = Admin::master(&server).await?;
    let created = admin
        .post(
            "/realms",
            &json!({"realm": "acme", "enabled": true, "scimApiEnabled": true, "scimCompatibility": "strict"}),
        )
        .await?;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.header("location").is_some_and(|l| l.ends_with("/admin/realms/acme")));
    let client = admin
        .post(
            "/realms/acme/clients",
            &json!({"clientId": "entra-provisioning", "secret": "s3cret", "publicClient": false,
                    "serviceAccountsEnabled": true, "enabled": true}),
        )
        .await?;
    assert_eq!(client.status, 201, "{}", client.text);
    let location = client.header("location").unwrap_or_default().to_string();
    let uuid = location.rsplit('/').next().unwrap_or_default().to_string();
    assert!(location.ends_with(&format!("/admin/realms/acme/clients/{uuid}")), "{location}");
    let account = admin.get(&format!("/realms/acme/clients/{uuid}/service-account-user")).await?;
    assert_eq!(account.status, 200, "{}", account.text);
    assert_eq!(account.json["username"], "service-account-entra-provisioning");
    let user_id = account.json["id"].as_str().unwrap_or_default().to_string();
    let found = admin.get("/realms/acme/users?username=service-account-entra-provisioning&exact=true").await?;
    assert_eq!(found.json[0]["id"], user_id.as_str(), "{}", found.text);
    let roles = admin.get("/realms/acme/clients?clientId=realm-management").await?;
    let management = roles.json[0]["id"].as_str().unwrap_or_default().to_string();
    let role_list = admin.get(&format!("/realms/acme/clients/{management}/roles")).await?;
    let names: Vec<&str> = role_list.json.as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
    for role in ["manage-users", "view-users", "query-users", "query-groups", "view-realm", "manage-realm"] {
        assert!(names.contains(&role), "realm-management has {role}: {names:?}");
    }
    let mapped = admin
        .post(
            &format!("/realms/acme/users/{user_id}/role-mappings/clients/{management}"),
            &json!([{"name": "manage-users"}]),
        )
        .await?;
    assert_eq!(mapped.status, 204, "{}", mapped.text);

    let token = token_request(
        &server,
        "acme",
        &[("grant_type", "client_credentials"), ("client_id", "entra-provisioning"), ("client_secret", "s3cret")],
        None,
    )
    .await?;
    assert_eq!(token.status, 200, "{}", token.text);
    assert_eq!(token.json["token_type"], "Bearer");
    assert_eq!(token.json["expires_in"], 300);
    assert!(token.json.get("refresh_token").is_none(), "client credentials get no refresh token");
    assert_eq!(token.header("cache-control"), Some("no-store"));

    let c = scim(&server, "acme", token.json["access_token"].as_str().map(str::to_string));
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "bjensen", "title": "Guide"})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.id();
    let got = c.get(&format!("/Users/{id}")).await?;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["userName"], "bjensen");
    assert_eq!(got.json["title"], "Guide");
    let (total, ids) = c.ids("/Users").await?;
    assert_eq!((total, ids), (1, vec![id.clone()]), "the service account is not a SCIM user");
    Ok(())
}

#[tokio::test]
async fn access_token_carries_keycloak_claims() -> Result<()> {
    let server = Server::start().await?;
    let (_, sa) = realm_with_provisioner(&server).await?;
    let before = now();
    let token = sa.token(&server).await?;
    let header = jwt_header(&token)?;
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    let c = jwt_claims(&token)?;
    assert_eq!(c["iss"], server.url("/realms/r"));
    assert_eq!(c["sub"], sa.user_id.as_str());
    assert_eq!(c["azp"], "provisioner");
    assert_eq!(c["typ"], "Bearer");
    assert_eq!(c["preferred_username"], "service-account-provisioner");
    assert_eq!(c["resource_access"]["realm-management"]["roles"], json!(["manage-users"]));
    assert_eq!(c["scimd_cg"], 1, "the client secret's generation");
    let (iat, exp) = (c["iat"].as_i64().unwrap_or(0), c["exp"].as_i64().unwrap_or(0));
    assert!(iat >= before - 1 && iat <= now() + 1, "iat {iat}");
    assert_eq!(exp - iat, 300);
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_ne!(jwt_claims(&sa.token(&server).await?)?["jti"], c["jti"], "each token has its own jti");
    Ok(())
}

#[tokio::test]
async fn client_credentials_accepts_http_basic_client_authentication() -> Result<()> {
    let server = Server::start().await?;
    let (_, sa) = realm_with_provisioner(&server).await?;
    let r =
        token_request(&server, "r", &[("grant_type", "client_credentials")], Some(("provisioner", &sa.secret))).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(jwt_claims(&token)?["azp"], "provisioner");
    let c = scim(&server, "r", Some(token));
    assert_eq!(c.get("/Users").await?.status, 200);
    // A wrong secret over Basic is refused like one in the form.
    let bad =
        token_request(&server, "r", &[("grant_type", "client_credentials")], Some(("provisioner", "wrong"))).await?;
    assert_oauth_error(&bad, 401, "invalid_client", "invalid client credentials");
    assert!(bad.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")), "{:?}", bad.headers);
    Ok(())
}

#[tokio::test]
async fn wrong_client_secret_is_401_invalid_client() -> Result<()> {
    let server = Server::start().await?;
    let (_, _sa) = realm_with_provisioner(&server).await?;
    for secret in ["wrong", "", "provisioner-secretX", "PROVISIONER-SECRET"] {
        let r = token_request(
            &server,
            "r",
            &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", secret)],
            None,
        )
        .await?;
        assert_oauth_error(&r, 401, "invalid_client", "invalid client credentials");
    }
    let missing =
        token_request(&server, "r", &[("grant_type", "client_credentials"), ("client_id", "provisioner")], None)
            .await?;
    assert_oauth_error(&missing, 401, "invalid_client", "invalid client credentials");
    Ok(())
}

#[tokio::test]
async fn unknown_client_is_401_invalid_client() -> Result<()> {
    let server = Server::start().await?;
    let (_, sa) = realm_with_provisioner(&server).await?;
    let r = token_request(
        &server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", "x")],
        None,
    )
    .await?;
    // An unknown client is answered exactly as a wrong secret: nothing tells them apart.
    assert_oauth_error(&r, 401, "invalid_client", "invalid client credentials");
    // Clients are realm-scoped: the provisioner of realm r does not exist in master.
    let elsewhere = token_request(
        &server,
        "master",
        &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", &sa.secret)],
        None,
    )
    .await?;
    assert_oauth_error(&elsewhere, 401, "invalid_client", "invalid client credentials");
    Ok(())
}

#[tokio::test]
async fn public_client_cannot_use_client_credentials() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    admin.create_client("r", &json!({"clientId": "spa", "publicClient": true})).await?;
    let r = token_request(&server, "r", &[("grant_type", "client_credentials"), ("client_id", "spa")], None).await?;
    assert_oauth_error(&r, 400, "unauthorized_client", "public client");
    // Nor can the master realm's admin-cli.
    let cli =
        token_request(&server, "master", &[("grant_type", "client_credentials"), ("client_id", "admin-cli")], None)
            .await?;
    assert_oauth_error(&cli, 400, "unauthorized_client", "public client");
    Ok(())
}

#[tokio::test]
async fn confidential_client_without_service_account_cannot_use_client_credentials() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    admin.create_client("r", &json!({"clientId": "web", "secret": "s", "serviceAccountsEnabled": false})).await?;
    let r = token_request(
        &server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "web"), ("client_secret", "s")],
        None,
    )
    .await?;
    assert_oauth_error(&r, 400, "unauthorized_client", "service account");
    Ok(())
}

#[tokio::test]
async fn password_grant_gives_the_master_admin_a_token_with_the_admin_role() -> Result<()> {
    let server = Server::start().await?;
    let r = admin_login(&server).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 300);
    assert!(r.json["refresh_token"].is_string(), "the password grant comes with a refresh token");
    assert_eq!(r.json["refresh_expires_in"], 1800);
    let claims = jwt_claims(r.json["access_token"].as_str().unwrap_or_default())?;
    assert_eq!(claims["iss"], server.url("/realms/master"));
    assert_eq!(claims["azp"], "admin-cli");
    assert_eq!(claims["preferred_username"], "admin");
    assert_eq!(claims["realm_access"]["roles"], json!(["admin"]));
    // The token works on the admin API.
    let admin = Admin::with_token(&server, r.json["access_token"].as_str().map(str::to_string));
    let realms = admin.get("/realms").await?;
    assert_eq!(realms.status, 200, "{}", realms.text);
    assert!(realms.json.as_array().is_some_and(|a| a.iter().any(|r| r["realm"] == "master")));
    Ok(())
}

#[tokio::test]
async fn password_grant_with_wrong_credentials_is_401_invalid_grant() -> Result<()> {
    let server = Server::start().await?;
    admin_login(&server).await?;
    for (user, pass) in [("admin", "wrong"), ("admin", ""), ("nobody", "admin"), ("admin", "ADMIN")] {
        let r = token_request(
            &server,
            "master",
            &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", user), ("password", pass)],
            None,
        )
        .await?;
        assert_oauth_error(&r, 401, "invalid_grant", "invalid user credentials");
    }
    let missing = token_request(
        &server,
        "master",
        &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", "admin")],
        None,
    )
    .await?;
    assert_oauth_error(&missing, 400, "invalid_request", "password");
    Ok(())
}

#[tokio::test]
async fn unsupported_grant_type_is_400() -> Result<()> {
    let server = Server::start().await?;
    for grant in ["authorization_code", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "PASSWORD"] {
        let r = token_request(&server, "master", &[("grant_type", grant), ("client_id", "admin-cli")], None).await?;
        assert_oauth_error(&r, 400, "unsupported_grant_type", grant);
    }
    let none = token_request(&server, "master", &[("client_id", "admin-cli")], None).await?;
    assert_oauth_error(&none, 400, "invalid_request", "grant_type");
    Ok(())
}

#[tokio::test]
async fn token_endpoint_of_an_unknown_realm_is_404() -> Result<()> {
    let server = Server::start().await?;
    let r = token_request(&server, "nope", &[("grant_type", "client_credentials"), ("client_id", "x")], None).await?;
    assert_oauth_error(&r, 404, "invalid_request", "'nope' does not exist");
    Ok(())
}

#[tokio::test]
async fn refresh_token_grant_issues_a_new_access_token() -> Result<()> {
    let server = Server::start().await?;
    let login = admin_login(&server).await?;
    let refresh = login.json["refresh_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(jwt_claims(&refresh)?["typ"], "Refresh");
    let r = token_request(
        &server,
        "master",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", "admin-cli")],
        None,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json["access_token"].as_str().unwrap_or_default().to_string();
    assert_ne!(access, login.json["access_token"].as_str().unwrap_or_default());
    let claims = jwt_claims(&access)?;
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["sub"], jwt_claims(login.json["access_token"].as_str().unwrap_or_default())?["sub"]);
    assert_eq!(claims["realm_access"]["roles"], json!(["admin"]));
    assert!(r.json["refresh_token"].is_string());
    let admin = Admin::with_token(&server, Some(access));
    assert_eq!(admin.get("/realms/master").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn refresh_token_grant_refuses_access_tokens_and_garbage() -> Result<()> {
    let server = Server::start().await?;
    let login = admin_login(&server).await?;
    let access = login.json["access_token"].as_str().unwrap_or_default();
    for (token, why) in [(access, "not a refresh token"), ("garbage", "not a JWT")] {
        let r = token_request(
            &server,
            "master",
            &[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", "admin-cli")],
            None,
        )
        .await?;
        assert_oauth_error(&r, 400, "invalid_grant", why);
    }
    let missing =
        token_request(&server, "master", &[("grant_type", "refresh_token"), ("client_id", "admin-cli")], None).await?;
    assert_oauth_error(&missing, 400, "invalid_request", "refresh_token");
    Ok(())
}

#[tokio::test]
async fn jwks_publishes_the_key_that_signs_tokens() -> Result<()> {
    let server = Server::start().await?;
    let (_, sa) = realm_with_provisioner(&server).await?;
    let r = reqwest::get(server.url("/realms/r/protocol/openid-connect/certs")).await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    let jwks: Value = r.json().await?;
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!((&key["kty"], &key["alg"], &key["crv"]), (&json!("EC"), &json!("ES256"), &json!("P-256")));
    assert!(key.get("d").is_none(), "no private part is published");
    let token = sa.token(&server).await?;
    assert_eq!(jwt_header(&token)?["kid"], key["kid"]);
    // The published key verifies the token's signature.
    let decoding =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap_or_default(), key["y"].as_str().unwrap_or_default())?;
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_aud = false;
    v.set_issuer(&[server.url("/realms/r")]);
    let verified = jsonwebtoken::decode::<Value>(&token, &decoding, &v)?;
    assert_eq!(verified.claims["azp"], "provisioner");
    // Each realm has its own key.
    let master: Value = reqwest::get(server.url("/realms/master/protocol/openid-connect/certs")).await?.json().await?;
    assert_ne!(master["keys"][0]["kid"], key["kid"]);
    let unknown = reqwest::get(server.url("/realms/nope/protocol/openid-connect/certs")).await?;
    assert_eq!(unknown.status(), 404);
    Ok(())
}

#[tokio::test]
async fn discovery_document_names_issuer_token_endpoint_and_jwks_uri() -> Result<()> {
    let server = Server::start().await?;
    let (_, sa) = realm_with_provisioner(&server).await?;
    let r = reqwest::get(server.url("/realms/r/.well-known/openid-configuration")).await?;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await?;
    let issuer = server.url("/realms/r");
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["token_endpoint"], format!("{issuer}/protocol/openid-connect/token"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/protocol/openid-connect/certs"));
    for grant in ["client_credentials", "password", "refresh_token"] {
        assert!(doc["grant_types_supported"].as_array().is_some_and(|g| g.contains(&json!(grant))), "{doc}");
    }
    // Tokens name the issuer the document names, and the advertised URLs work.
    assert_eq!(jwt_claims(&sa.token(&server).await?)?["iss"], doc["issuer"]);
    let certs = reqwest::get(doc["jwks_uri"].as_str().unwrap_or_default()).await?;
    assert_eq!(certs.status(), 200);
    let token = reqwest::Client::new()
        .post(doc["token_endpoint"].as_str().unwrap_or_default())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&client_id=provisioner&client_secret={}", sa.secret))
        .send()
        .await?;
    assert_eq!(token.status(), 200);
    Ok(())
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key() -> Result<()> {
    let server = Server::start().await?;
    let (admin, sa) = realm_with_provisioner(&server).await?;
    let old = sa.token(&server).await?;
    let old_kid = jwt_header(&old)?["kid"].as_str().unwrap_or_default().to_string();
    let rotated = admin.post("/realms/r/keys", &json!({})).await?;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_kid = rotated.json["kid"].as_str().unwrap_or_default().to_string();
    assert!(!new_kid.is_empty() && new_kid != old_kid, "{}", rotated.text);

    let listed = admin.get("/realms/r/keys").await?;
    let status_of = |kid: &str| {
        listed.json["keys"].as_array().into_iter().flatten().find(|k| k["kid"] == kid).map(|k| k["status"].clone())
    };
    assert_eq!(status_of(&new_kid), Some(json!("ACTIVE")), "{}", listed.text);
    assert_eq!(status_of(&old_kid), Some(json!("PASSIVE")), "{}", listed.text);
    let jwks: Value = reqwest::get(server.url("/realms/r/protocol/openid-connect/certs")).await?.json().await?;
    let kids: Vec<&str> = jwks["keys"].as_array().into_iter().flatten().filter_map(|k| k["kid"].as_str()).collect();
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{kids:?}");

    let new = sa.token(&server).await?;
    assert_eq!(jwt_header(&new)?["kid"], new_kid.as_str());
    for (name, token) in [("old", old), ("new", new)] {
        let c = scim(&server, "r", Some(token));
        let r = c.post("/Users", &json!({"schemas": [USER], "userName": format!("made-with-{name}")})).await?;
        assert_eq!(r.status, 201, "{name} token: {}", r.text);
    }
    // The rotation is an admin event.
    let events = admin.events("r").await?;
    assert!(events.iter().any(|e| e["operationType"] == "ACTION" && e["resourcePath"] == "keys"), "{events:?}");
    Ok(())
}

#[tokio::test]
async fn disabled_realm_issues_no_tokens_and_has_no_scim_api() -> Result<()> {
    let server = Server::start().await?;
    let (admin, sa) = realm_with_provisioner(&server).await?;
    let token = sa.token(&server).await?;
    let r = admin.put("/realms/r", &json!({"enabled": false})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let refused = token_request(
        &server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", &sa.secret)],
        None,
    )
    .await?;
    assert_oauth_error(&refused, 400, "invalid_request", "realm 'r' is disabled");
    let c = scim(&server, "r", Some(token));
    c.get("/Users").await?.assert_error(404, None, "disabled");
    c.post("/Users", &json!({"schemas": [USER], "userName": "x"})).await?.assert_error(404, None, "disabled");
    // Enabled again, it serves the same tokens, and nothing was written meanwhile.
    assert_eq!(admin.put("/realms/r", &json!({"enabled": true})).await?.status, 204);
    assert_eq!(c.ids("/Users").await?.0, 0);
    Ok(())
}
