//! The Keycloak-shaped admin REST API: its errors are Keycloak's `{"error", "errorMessage"}`
//! with a message naming what is wrong (unknown realm, duplicates, a missing role, bad JSON,
//! no token), a refused request changes nothing, and every SCIM and admin write is recorded
//! as an admin event saying who (realm, client, user), what (operation, resource type and
//! path) and when.

use anyhow::Result;
use scimd_tests::oauth::{Admin, jwt_claims, now, scim};
use scimd_tests::{Resp, Server};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Asserts a Keycloak-shaped admin error.
fn assert_admin_error(r: &Resp, status: u16, error: &str, message_contains: &str) {
    assert_eq!(r.status, status, "status of {}", r.text);
    assert_eq!(r.json["error"], error, "error of {}", r.text);
    let message = r.json["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains(&message_contains.to_lowercase()),
        "errorMessage {message:?} should mention {message_contains:?}"
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn unknown_realm_is_404_naming_it() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    for (method, path) in [
        ("GET", "/realms/nope"),
        ("PUT", "/realms/nope"),
        ("DELETE", "/realms/nope"),
        ("GET", "/realms/nope/clients"),
        ("POST", "/realms/nope/clients"),
        ("GET", "/realms/nope/users"),
        ("GET", "/realms/nope/admin-events"),
        ("POST", "/realms/nope/keys"),
        ("GET", "/realms/nope/trusted-issuers"),
    ] {
        let body = matches!(method, "PUT" | "POST").then(|| json!({"clientId": "x"}).to_string());
        let r = admin.send(method, path, body).await?;
        assert_admin_error(&r, 404, "not_found", "realm 'nope' does not exist");
    }
    assert_eq!(admin.get("/realms/nope").await?.status, 404, "nothing was created");
    Ok(())
}

#[tokio::test]
async fn unknown_client_and_user_are_404_naming_them() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    assert_admin_error(&admin.get("/realms/r/clients/no-such-client").await?, 404, "not_found", "'no-such-client'");
    assert_admin_error(&admin.delete("/realms/r/clients/no-such-client").await?, 404, "not_found", "'no-such-client'");
    assert_admin_error(
        &admin.post("/realms/r/clients/no-such-client/client-secret", &json!({})).await?,
        404,
        "not_found",
        "'no-such-client'",
    );
    assert_admin_error(&admin.get("/realms/r/users/no-such-user").await?, 404, "not_found", "'no-such-user'");
    let management = admin.client_uuid("r", "realm-management").await?;
    let r = admin
        .post(
            &format!("/realms/r/users/no-such-user/role-mappings/clients/{management}"),
            &json!([{"name": "view-users"}]),
        )
        .await?;
    assert_admin_error(&r, 404, "not_found", "'no-such-user'");
    assert_admin_error(&admin.delete("/realms/r/trusted-issuers/nope").await?, 404, "not_found", "'nope'");
    Ok(())
}

#[tokio::test]
async fn duplicate_realm_is_409() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("acme").await?;
    let r = admin.post("/realms", &json!({"realm": "acme", "scimCompatibility": "strict"})).await?;
    assert_admin_error(&r, 409, "conflict", "realm 'acme' already exists");
    assert_admin_error(&admin.post("/realms", &json!({"realm": "master"})).await?, 409, "conflict", "'master'");
    // The first one is untouched.
    assert_eq!(admin.get("/realms/acme").await?.json["scimCompatibility"], "entra");
    let realms = admin.get("/realms").await?;
    let names: Vec<&str> = realms.json.as_array().into_iter().flatten().filter_map(|r| r["realm"].as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "acme").count(), 1, "{names:?}");
    Ok(())
}

#[tokio::test]
async fn invalid_realm_representations_are_400() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    assert_admin_error(&admin.post("/realms", &json!({"enabled": true})).await?, 400, "invalidValue", "'realm'");
    assert_admin_error(
        &admin.post("/realms", &json!({"realm": "a b/c"})).await?,
        400,
        "invalidValue",
        "not a valid realm name",
    );
    assert_admin_error(
        &admin.post("/realms", &json!({"realm": "x", "enabled": "yes"})).await?,
        400,
        "invalidValue",
        "'enabled'",
    );
    assert_admin_error(
        &admin.post("/realms", &json!({"realm": "x", "scimCompatibility": "loose"})).await?,
        400,
        "invalidValue",
        "compatibility",
    );
    admin.create_realm("r").await?;
    assert_admin_error(&admin.put("/realms/r", &json!({"realm": "renamed"})).await?, 400, "invalidValue", "renamed");
    assert_admin_error(&admin.delete("/realms/master").await?, 400, "invalidValue", "master realm cannot be deleted");
    assert_eq!(admin.get("/realms/x").await?.status, 404);
    assert_eq!(admin.get("/realms/renamed").await?.status, 404);
    Ok(())
}

#[tokio::test]
async fn duplicate_client_id_is_409() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let uuid = admin.create_client("r", &json!({"clientId": "app", "secret": "first"})).await?;
    let r =
        admin.post("/realms/r/clients", &json!({"clientId": "app", "secret": "second", "publicClient": true})).await?;
    assert_admin_error(&r, 409, "conflict", "clientId 'app' already exists");
    assert_admin_error(
        &admin.post("/realms/r/clients", &json!({"clientId": "realm-management"})).await?,
        409,
        "conflict",
        "'realm-management'",
    );
    // One client named app, still confidential, still with its first secret.
    let listed = admin.get("/realms/r/clients?clientId=app").await?;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(1), "{}", listed.text);
    assert_eq!(listed.json[0]["id"], uuid.as_str());
    assert_eq!(listed.json[0]["publicClient"], false);
    // The same clientId in another realm is fine.
    admin.create_realm("s").await?;
    admin.create_client("s", &json!({"clientId": "app"})).await?;
    Ok(())
}

#[tokio::test]
async fn mapping_a_missing_role_is_404_naming_the_role() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let sa = admin.service_account("r", "robot", &[]).await?;
    let management = admin.client_uuid("r", "realm-management").await?;
    let path = format!("/realms/r/users/{}/role-mappings/clients/{management}", sa.user_id);
    // One good role and one missing: nothing is mapped.
    let r = admin.post(&path, &json!([{"name": "view-users"}, {"name": "impersonation"}])).await?;
    assert_admin_error(&r, 404, "not_found", "client 'realm-management' has no role 'impersonation'");
    let r = admin.post(&path, &json!([{"id": "no-such-role-id"}])).await?;
    assert_admin_error(&r, 404, "not_found", "'no-such-role-id'");
    // A realm role is not a client role.
    let master_sa = admin.service_account("master", "m-robot", &[]).await?;
    let master_management = admin.client_uuid("master", "realm-management").await?;
    let r = admin
        .post(
            &format!("/realms/master/users/{}/role-mappings/clients/{master_management}", master_sa.user_id),
            &json!([{"name": "admin"}]),
        )
        .await?;
    assert_admin_error(&r, 404, "not_found", "has no role 'admin'");
    let r = admin
        .post(&format!("/realms/r/users/{}/role-mappings/realm", sa.user_id), &json!([{"name": "manage-users"}]))
        .await?;
    assert_admin_error(&r, 404, "not_found", "realm 'r' has no role 'manage-users'");
    // A client that is not there.
    let r = admin
        .post(&format!("/realms/r/users/{}/role-mappings/clients/nope", sa.user_id), &json!([{"name": "view-users"}]))
        .await?;
    assert_admin_error(&r, 404, "not_found", "client 'nope'");

    let mapped = admin.get(&path).await?;
    assert_eq!(mapped.status, 200);
    assert_eq!(mapped.json, json!([]), "nothing was mapped");
    let token = sa.token(&server).await?;
    assert!(jwt_claims(&token)?["resource_access"].get("realm-management").is_none());
    Ok(())
}

#[tokio::test]
async fn malformed_json_is_400() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let sa = admin.service_account("r", "robot", &[]).await?;
    let management = admin.client_uuid("r", "realm-management").await?;
    let events_before = admin.events("r").await?.len();
    for (method, path) in [
        ("POST", "/realms".to_string()),
        ("PUT", "/realms/r".to_string()),
        ("POST", "/realms/r/clients".to_string()),
        ("PUT", format!("/realms/r/clients/{}", sa.uuid)),
        ("POST", format!("/realms/r/users/{}/role-mappings/clients/{management}", sa.user_id)),
        ("POST", "/realms/r/trusted-issuers".to_string()),
    ] {
        for body in ["{not json", "", "{\"clientId\": \"x\""] {
            let r = admin.send(method, &path, Some(body.to_string())).await?;
            assert_admin_error(&r, 400, "invalidSyntax", "not valid JSON");
        }
    }
    // Valid JSON of the wrong shape.
    assert_admin_error(&admin.post("/realms", &json!(["r2"])).await?, 400, "invalidSyntax", "JSON object");
    let r = admin
        .post(
            &format!("/realms/r/users/{}/role-mappings/clients/{management}", sa.user_id),
            &json!({"name": "view-users"}),
        )
        .await?;
    assert_admin_error(&r, 400, "invalidSyntax", "array");
    let r = admin.post("/realms/r/trusted-issuers", &json!({"issuer": "https://x", "jwks": {"nokeys": 1}})).await?;
    assert_admin_error(&r, 400, "invalidValue", "JWKS");
    let r = admin
        .post("/realms/r/trusted-issuers", &json!({"issuer": "https://x", "jwks": {"keys": []}, "roles": ["admin"]}))
        .await?;
    assert_admin_error(&r, 400, "invalidValue", "roles");
    // Nothing changed.
    assert_eq!(admin.events("r").await?.len(), events_before);
    assert_eq!(admin.get("/realms/r/trusted-issuers").await?.json, json!([]));
    assert_eq!(admin.get("/realms/r/clients?clientId=x").await?.json, json!([]));
    Ok(())
}

#[tokio::test]
async fn no_or_bad_token_is_401_with_a_bearer_challenge() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    for token in [None, Some("garbage"), Some("a.b.c"), Some("scimd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
        let anon = Admin::with_token(&server, token.map(str::to_string));
        for (method, path) in [
            ("GET", "/realms"),
            ("POST", "/realms"),
            ("GET", "/realms/r"),
            ("DELETE", "/realms/r"),
            ("GET", "/realms/r/clients"),
            ("POST", "/realms/r/clients"),
            ("GET", "/realms/r/admin-events"),
            ("POST", "/realms/r/keys"),
        ] {
            let body = (method == "POST").then(|| json!({"realm": "x", "clientId": "x"}).to_string());
            let r = anon.send(method, path, body).await?;
            assert_admin_error(&r, 401, "unauthorized", if token.is_none() { "Bearer" } else { "not valid" });
            let challenge = r.header("www-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Bearer "), "{method} {path}: challenge {challenge:?}");
        }
    }
    // Nothing happened.
    assert_eq!(admin.get("/realms/r").await?.status, 200);
    assert_eq!(admin.get("/realms/x").await?.status, 404);
    assert_eq!(admin.get("/realms/r/clients?clientId=x").await?.json, json!([]));
    Ok(())
}

#[tokio::test]
async fn realm_tokens_cannot_create_realms() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let sa = admin.service_account("r", "robot", &["manage-realm", "manage-users", "view-realm"]).await?;
    let robot = Admin::with_token(&server, Some(sa.token(&server).await?));
    assert_admin_error(
        &robot.post("/realms", &json!({"realm": "mine"})).await?,
        403,
        "forbidden",
        "master realm's admin role",
    );
    // A secret token with every role neither.
    let secret = server.token(server.realm_id("r")?, &["manage-realm", "manage-users"])?;
    let r = Admin::with_token(&server, Some(secret)).post("/realms", &json!({"realm": "mine"})).await?;
    assert_admin_error(&r, 403, "forbidden", "master realm's admin role");
    assert_eq!(admin.get("/realms/mine").await?.status, 404);
    Ok(())
}

/// The events matching `path`, oldest first.
fn events_at<'a>(events: &'a [Value], path: &str) -> Vec<&'a Value> {
    let mut v: Vec<&Value> = events.iter().filter(|e| e["resourcePath"] == path).collect();
    v.reverse();
    v
}

fn assert_when(event: &Value, from_ms: i64, to_ms: i64) {
    let t = event["time"].as_i64().unwrap_or(0);
    assert!(t >= from_ms && t <= to_ms, "event time {t} within [{from_ms}, {to_ms}]: {event}");
}

#[tokio::test]
async fn admin_events_record_scim_writes_with_who_what_and_when() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let sa = admin.service_account("r", "provisioner", &["manage-users"]).await?;
    let c = sa.scim(&server).await?;
    let from = now() * 1000 - 1000;

    let user = c.create_user("bjensen", json!({})).await?;
    let r =
        c.put(&format!("/Users/{user}"), &json!({"schemas": [USER], "userName": "bjensen", "title": "Boss"})).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "CEO"}]});
    assert_eq!(c.patch(&format!("/Users/{user}"), &patch).await?.status, 200);
    let group = c.create_group("staff", &[&user]).await?;
    assert_eq!(c.delete(&format!("/Users/{user}")).await?.status, 204);
    // Refused and failed writes are not events.
    let reader = scim(&server, "r", Some(server.token(server.realm_id("r")?, &["view-users"])?));
    reader.post("/Users", &json!({"schemas": [USER], "userName": "x"})).await?.assert_error(403, None, "manage-users");
    assert_eq!(c.post("/Groups", &json!({"schemas": [GROUP], "displayName": "staff"})).await?.status, 409);
    assert_eq!(c.delete(&format!("/Users/{user}")).await?.status, 404);
    let to = now() * 1000 + 1000;

    let events = admin.events("r").await?;
    let on_user = events_at(&events, &format!("users/{user}"));
    let ops: Vec<&str> = on_user.iter().filter_map(|e| e["operationType"].as_str()).collect();
    assert_eq!(ops, vec!["CREATE", "UPDATE", "UPDATE", "DELETE"], "{events:?}");
    let on_group = events_at(&events, &format!("groups/{group}"));
    assert_eq!(on_group.len(), 1, "{events:?}");
    assert_eq!(on_group[0]["operationType"], "CREATE");
    assert_eq!(on_group[0]["resourceType"], "GROUP");
    for e in on_user.iter().chain(&on_group) {
        if e["resourcePath"].as_str().is_some_and(|p| p.starts_with("users/")) {
            assert_eq!(e["resourceType"], "USER", "{e}");
        }
        assert_eq!(e["realmId"], "r", "{e}");
        assert_eq!(e["authDetails"]["realmId"], "r", "{e}");
        assert_eq!(e["authDetails"]["clientId"], "provisioner", "{e}");
        assert_eq!(e["authDetails"]["userId"], sa.user_id.as_str(), "{e}");
        assert_when(e, from, to);
    }
    // Newest first.
    let times: Vec<i64> = events.iter().filter_map(|e| e["time"].as_i64()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // Exactly the successful SCIM writes, no more (the refused ones are not there).
    let scim_events = events.iter().filter(|e| matches!(e["resourceType"].as_str(), Some("USER" | "GROUP"))).count();
    assert_eq!(scim_events, 5, "{events:?}");

    // A secret token's writes are recorded as the token's.
    let secret_client = scim(&server, "r", Some(server.token(server.realm_id("r")?, &["manage-users"])?));
    let other = secret_client.create_user("other", json!({})).await?;
    let events = admin.events("r").await?;
    let e = events_at(&events, &format!("users/{other}"))[0];
    assert_eq!(e["authDetails"]["realmId"], "r");
    assert_eq!(e["authDetails"]["clientId"], Value::Null);
    assert!(e["authDetails"]["userId"].as_str().is_some_and(|u| u.starts_with("token:")), "{e}");

    // Filters.
    let deletes = admin.get("/realms/r/admin-events?operationTypes=DELETE&resourceTypes=USER").await?;
    assert_eq!(deletes.json.as_array().map(Vec::len), Some(1), "{}", deletes.text);
    assert_eq!(deletes.json[0]["resourcePath"], format!("users/{user}"));
    let page = admin.get("/realms/r/admin-events?first=1&max=2").await?;
    assert_eq!(page.json.as_array().map(Vec::len), Some(2), "{}", page.text);
    assert_eq!(page.json[0], events[1]);
    Ok(())
}

#[tokio::test]
async fn admin_events_record_admin_writes_with_who_what_and_when() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let admin_id =
        jwt_claims(admin.token.as_deref().unwrap_or_default())?["sub"].as_str().unwrap_or_default().to_string();
    let from = now() * 1000 - 1000;
    admin.create_realm("r").await?;
    let uuid = admin
        .create_client(
            "r",
            &json!({"clientId": "robot", "secret": "very-secret-value", "serviceAccountsEnabled": true}),
        )
        .await?;
    let user = admin.service_account_user("r", &uuid).await?;
    admin.grant("r", &user, &["manage-users"]).await?;
    let r = admin.post(&format!("/realms/r/clients/{uuid}/client-secret"), &json!({})).await?;
    let new_secret = r.json["value"].as_str().unwrap_or_default().to_string();
    assert_eq!(admin.put(&format!("/realms/r/clients/{uuid}"), &json!({"enabled": true})).await?.status, 204);
    assert_eq!(admin.put("/realms/r", &json!({"displayName": "R"})).await?.status, 204);
    assert_eq!(admin.post("/realms/r/keys", &json!({})).await?.status, 200);
    assert_eq!(admin.delete(&format!("/realms/r/clients/{uuid}")).await?.status, 204);
    // Refused writes are not events.
    assert_eq!(admin.post("/realms/r/clients", &json!({"clientId": "realm-management"})).await?.status, 409);
    let to = now() * 1000 + 1000;

    let events = admin.events("r").await?;
    let mut seen: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("operationType"), s("resourceType"), s("resourcePath"))
        })
        .collect();
    seen.reverse();
    let management = admin.client_uuid("r", "realm-management").await?;
    let expected: Vec<(String, String, String)> = [
        ("CREATE", "CLIENT", format!("clients/{uuid}")),
        ("CREATE", "CLIENT_ROLE_MAPPING", format!("users/{user}/role-mappings/clients/{management}")),
        ("ACTION", "CLIENT", format!("clients/{uuid}/client-secret")),
        ("UPDATE", "CLIENT", format!("clients/{uuid}")),
        ("UPDATE", "REALM", String::new()),
        ("ACTION", "REALM", "keys".to_string()),
        ("DELETE", "CLIENT", format!("clients/{uuid}")),
    ]
    .into_iter()
    .map(|(o, t, p)| (o.to_string(), t.to_string(), p))
    .collect();
    assert_eq!(seen, expected, "{events:?}");
    for e in &events {
        assert_eq!(e["realmId"], "r", "{e}");
        assert_eq!(e["authDetails"]["realmId"], "master", "{e}");
        assert_eq!(e["authDetails"]["clientId"], "admin-cli", "{e}");
        assert_eq!(e["authDetails"]["userId"], admin_id.as_str(), "{e}");
        assert_when(e, from, to);
    }
    // Representations say what was written, never a secret.
    let created = events
        .iter()
        .find(|e| e["operationType"] == "CREATE" && e["resourceType"] == "CLIENT")
        .cloned()
        .unwrap_or_default();
    let rep: Value = serde_json::from_str(created["representation"].as_str().unwrap_or("null"))?;
    assert_eq!(rep["clientId"], "robot", "{created}");
    let all = serde_json::to_string(&events)?;
    assert!(!all.contains("very-secret-value") && !all.contains(&new_secret), "no secret in events: {all}");

    // The realm's creation is an event of the master realm.
    let master_events = admin.events("master").await?;
    let made = master_events.iter().find(|e| e["resourcePath"] == "realms/r").cloned().unwrap_or_default();
    assert_eq!(
        (&made["operationType"], &made["resourceType"]),
        (&json!("CREATE"), &json!("REALM")),
        "{master_events:?}"
    );
    assert_eq!(made["authDetails"]["userId"], admin_id.as_str());
    assert_when(&made, from, to);
    Ok(())
}

#[tokio::test]
async fn admin_events_are_readable_by_their_realm_only() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("a").await?;
    admin.create_realm("b").await?;
    let viewer = admin.service_account("a", "viewer", &["view-realm"]).await?;
    let writer = admin.service_account("b", "writer", &["manage-users"]).await?;
    writer.scim(&server).await?.create_user("in-b", json!({})).await?;
    let v = Admin::with_token(&server, Some(viewer.token(&server).await?));
    let own = v.get("/realms/a/admin-events").await?;
    assert_eq!(own.status, 200, "{}", own.text);
    assert!(own.json.as_array().is_some_and(|a| a.iter().all(|e| e["realmId"] == "a")), "{}", own.text);
    assert!(!own.text.contains("in-b") && !own.text.contains("\"USER\""), "{}", own.text);
    assert_admin_error(&v.get("/realms/b/admin-events").await?, 403, "forbidden", "this realm");
    // A users role is not enough to read them.
    let w = Admin::with_token(&server, Some(writer.token(&server).await?));
    assert_admin_error(&w.get("/realms/b/admin-events").await?, 403, "forbidden", "view-realm");
    Ok(())
}

#[tokio::test]
async fn unknown_admin_endpoints_and_methods_answer_in_the_admin_error_shape() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    assert_admin_error(&admin.get("/realms/r/no-such-endpoint").await?, 404, "not_found", "no-such-endpoint");
    let r = admin.send("PATCH", "/realms/r", Some("{}".into())).await?;
    assert_eq!(r.status, 405, "{}", r.text);
    assert!(r.json["errorMessage"].is_string(), "a 405 says why: {:?}", r.text);
    Ok(())
}

/// Polls `probe` until it says yes, for at most 10 s: what another process writes reaches the
/// server through the store's epoch watcher, twice a second.
async fn eventually(mut probe: impl AsyncFnMut() -> Result<bool>) -> Result<bool> {
    for _ in 0..100 {
        if probe().await? {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(false)
}

#[tokio::test]
async fn a_realm_changed_by_the_admin_api_is_served_as_changed_by_the_next_request() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    assert_eq!(admin.post("/realms", &json!({"realm": "r"})).await?.status, 201);
    let c = scimd_tests::Client::new(
        server.url("/realms/r/scim/v2"),
        Some(server.token(server.realm_id("r")?, &["manage-users"])?),
    );
    assert_eq!(c.get("/Users").await?.status, 200);
    // Another compatibility is another engine: strict refuses what entra accepts.
    let lenient_patch =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let id = c.post("/Users", &json!({"schemas": [USER], "userName": "ann"})).await?.json["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(c.patch(&format!("/Users/{id}"), &lenient_patch).await?.status, 200);
    assert_eq!(admin.put("/realms/r", &json!({"scimCompatibility": "strict"})).await?.status, 204);
    assert_eq!(c.patch(&format!("/Users/{id}"), &lenient_patch).await?.status, 400);
    assert_eq!(admin.put("/realms/r", &json!({"scimApiEnabled": false})).await?.status, 204);
    assert_eq!(c.get("/Users").await?.status, 404);
    Ok(())
}

#[tokio::test]
async fn a_realm_changed_in_the_database_by_another_process_is_served_as_changed() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    assert_eq!(c.get("/Users").await?.status, 200);
    // What an offline command or another node does: change the row through its own connection.
    let other = rusqlite::Connection::open(server.state.store.path())?;
    other.busy_timeout(std::time::Duration::from_secs(5))?;
    other.execute("UPDATE realms SET scim_enabled = 0 WHERE name = 'r'", [])?;
    assert!(eventually(async || Ok(c.get("/Users").await?.status == 404)).await?, "the realm still serves SCIM");
    other.execute("UPDATE realms SET scim_enabled = 1 WHERE name = 'r'", [])?;
    assert!(eventually(async || Ok(c.get("/Users").await?.status == 200)).await?, "the realm does not serve SCIM");
    other.execute("DELETE FROM realms WHERE name = 'r'", [])?;
    assert!(eventually(async || Ok(c.get("/Users").await?.status == 404)).await?, "a deleted realm still serves SCIM");
    Ok(())
}

#[tokio::test]
async fn a_deleted_realms_engines_are_dropped() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let gone = server.realm("gone", "entra", &["manage-users"])?;
    let stays = server.realm("stays", "entra", &["manage-users"])?;
    let gone_id = server.realm_id("gone")?;
    assert_eq!(gone.get("/Users").await?.status, 200);
    assert_eq!(server.state.runtime.engines_of(gone_id), 1);
    assert_eq!(admin.delete("/realms/gone").await?.status, 204);
    // Any lookup under the store's new realms epoch sweeps the engines of realms that are gone.
    assert_eq!(stays.get("/Users").await?.status, 200);
    assert_eq!(server.state.runtime.engines_of(gone_id), 0);
    assert_eq!(gone.get("/Users").await?.status, 404);
    Ok(())
}
