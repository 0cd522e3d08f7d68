//! Role boundaries. On SCIM, each `realm-management` role of a service account's
//! client-credentials token allows exactly its operation classes and every other one is
//! `403` with a SCIM error naming the role it needs, changing nothing. On the admin API, a
//! realm's manage-realm token manages that realm only, view-realm reads only, and the master
//! administrator does everything. A realm with the SCIM API disabled has no SCIM base.

use anyhow::Result;
use scimd_tests::oauth::{Admin, ServiceAccount, scim};
use scimd_tests::{Client, Resp, Server};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// What a role may do on SCIM: write, read a user, read a group, list users, list groups,
/// search users, search groups, discovery.
struct Allowed {
    write: bool,
    read_user: bool,
    read_group: bool,
    list_users: bool,
    list_groups: bool,
    search_users: bool,
    search_groups: bool,
    discovery: bool,
}

const fn allowed(bits: [bool; 8]) -> Allowed {
    let [write, read_user, read_group, list_users, list_groups, search_users, search_groups, discovery] = bits;
    Allowed { write, read_user, read_group, list_users, list_groups, search_users, search_groups, discovery }
}

const Y: bool = true;
const N: bool = false;

/// The rules of `Principal::require`, one row per role.
#[rustfmt::skip]
const TABLE: &[(&str, &[&str], Allowed)] = &[
    //                                          write read-u read-g list-u list-g srch-u srch-g discovery
    ("manage-users", &["manage-users"], allowed([Y,    Y,     Y,     Y,     Y,     Y,     Y,     Y])),
    ("view-users",   &["view-users"],   allowed([N,    Y,     Y,     Y,     Y,     Y,     Y,     Y])),
    ("query-users",  &["query-users"],  allowed([N,    N,     N,     Y,     N,     Y,     N,     Y])),
    ("query-groups", &["query-groups"], allowed([N,    N,     N,     N,     Y,     N,     Y,     Y])),
    ("view-realm",   &["view-realm"],   allowed([N,    N,     N,     N,     N,     N,     N,     Y])),
    ("manage-realm", &["manage-realm"], allowed([N,    N,     N,     N,     N,     N,     N,     Y])),
    ("no-role",      &[],               allowed([N,    N,     N,     N,     N,     N,     N,     N])),
];

/// Asserts `r` is allowed (`ok` status) or a 403 naming `needs`.
fn check(role: &str, what: &str, r: &Resp, allowed: bool, ok: u16, needs: &str) {
    if allowed {
        assert_eq!(r.status, ok, "{role} may {what}: {}", r.text);
    } else {
        assert_eq!(r.status, 403, "{role} may not {what}: {}", r.text);
        r.assert_error(403, None, needs);
        assert!(r.header("www-authenticate").is_none(), "a 403 is not a challenge");
    }
}

/// The version of a resource as the seeding token sees it.
async fn version(seed: &Client, path: &str) -> Result<Value> {
    let r = seed.get(path).await?;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    Ok(r.json["meta"]["version"].clone())
}

#[tokio::test]
async fn each_role_allows_exactly_its_scim_operations() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let seed = scim(&server, "r", Some(server.token(server.realm_id("r")?, &["manage-users"])?));
    let user = seed.create_user("seeded", json!({"title": "Original"})).await?;
    let group = seed.create_group("seeded-group", &[&user]).await?;
    // Joining the group changed the user's `groups`, so its version.
    let seeded_version = version(&seed, &format!("/Users/{user}")).await?;

    for (role, roles, allow) in TABLE {
        let sa = admin.service_account("r", &format!("sa-{role}"), roles).await?;
        let c = sa.scim(&server).await?;
        let victim = seed.create_user(&format!("victim-of-{role}"), json!({})).await?;
        let (users_before, _) = seed.ids("/Users").await?;
        let (groups_before, _) = seed.ids("/Groups").await?;

        // Writes: create, replace, patch, delete, on users and groups.
        let w = allow.write;
        let needs = "manage-users";
        let r = c.post("/Users", &json!({"schemas": [USER], "userName": format!("made-by-{role}")})).await?;
        check(role, "create a user", &r, w, 201, needs);
        let r = c
            .put(
                &format!("/Users/{victim}"),
                &json!({"schemas": [USER], "userName": format!("victim-of-{role}"), "title": "Replaced"}),
            )
            .await?;
        check(role, "replace a user", &r, w, 200, needs);
        let patch =
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Patched"}]});
        let r = c.patch(&format!("/Users/{victim}"), &patch).await?;
        check(role, "patch a user", &r, w, 200, needs);
        let r = c.post("/Groups", &json!({"schemas": [GROUP], "displayName": format!("group-of-{role}")})).await?;
        check(role, "create a group", &r, w, 201, needs);
        let made_group = r.id();
        let r = c.patch(&format!("/Groups/{group}"), &json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": victim}]}]})).await?;
        check(role, "patch a group", &r, w, 204, needs);
        let r = c.delete(&format!("/Users/{victim}")).await?;
        check(role, "delete a user", &r, w, 204, needs);
        if w {
            assert_eq!(seed.delete(&format!("/Groups/{made_group}")).await?.status, 204);
        } else {
            // Nothing changed: no user or group made or deleted, the victim untouched.
            assert_eq!(seed.ids("/Users").await?.0, users_before, "{role}: no user created or deleted");
            assert_eq!(seed.ids("/Groups").await?.0, groups_before, "{role}: no group created");
            let untouched = seed.get(&format!("/Users/{victim}")).await?;
            assert_eq!(untouched.status, 200, "{role}: the victim lives");
            assert!(untouched.json.get("title").is_none(), "{role}: the victim is unchanged: {}", untouched.text);
            assert_eq!(untouched.json["meta"]["version"], "W/\"1\"", "{role}: the victim is unchanged");
            let g = seed.get(&format!("/Groups/{group}")).await?;
            assert_eq!(g.json["members"].as_array().map(Vec::len), Some(1), "{role}: membership unchanged");
            assert_eq!(seed.delete(&format!("/Users/{victim}")).await?.status, 204);
        }

        // Reads of one resource.
        let r = c.get(&format!("/Users/{user}")).await?;
        check(role, "read a user", &r, allow.read_user, 200, "view-users");
        if allow.read_user {
            assert_eq!(r.json["userName"], "seeded");
        }
        let r = c.get(&format!("/Groups/{group}")).await?;
        check(role, "read a group", &r, allow.read_group, 200, "view-users");

        // Lists and searches.
        let r = c.get("/Users").await?;
        check(role, "list users", &r, allow.list_users, 200, "query-users");
        let r = c.get(&format!("/Users?filter={}", scimd_tests::q("userName eq \"seeded\""))).await?;
        check(role, "filter users", &r, allow.list_users, 200, "query-users");
        if allow.list_users {
            assert_eq!(r.json["totalResults"], 1, "{}", r.text);
        }
        let r = c.get("/Groups").await?;
        check(role, "list groups", &r, allow.list_groups, 200, "query-groups");
        let r = c.post("/Users/.search", &json!({"schemas": [SEARCH], "filter": "userName sw \"s\""})).await?;
        check(role, "search users", &r, allow.search_users, 200, "query-users");
        let r = c.post("/Groups/.search", &json!({"schemas": [SEARCH]})).await?;
        check(role, "search groups", &r, allow.search_groups, 200, "query-groups");

        // Discovery.
        for path in [
            "/ServiceProviderConfig",
            "/Schemas",
            "/ResourceTypes",
            "/ResourceTypes/User",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        ] {
            let r = c.get(path).await?;
            check(role, &format!("read {path}"), &r, allow.discovery, 200, "view-realm");
        }
    }
    // The seeded user was only ever read.
    assert_eq!(version(&seed, &format!("/Users/{user}")).await?, seeded_version);
    assert_eq!(seed.get(&format!("/Users/{user}")).await?.json["title"], "Original");
    Ok(())
}

#[tokio::test]
async fn scim_roles_come_from_the_token_so_new_mappings_need_a_new_token() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let sa = admin.service_account("r", "reader", &["view-users"]).await?;
    let before = sa.scim(&server).await?;
    let user = json!({"schemas": [USER], "userName": "x"});
    before.post("/Users", &user).await?.assert_error(403, None, "manage-users");
    admin.grant("r", &sa.user_id, &["manage-users"]).await?;
    let after = sa.scim(&server).await?;
    assert_eq!(after.post("/Users", &user).await?.status, 201);
    Ok(())
}

/// A realm token (client credentials) for `role`, used on the admin API.
async fn realm_admin(
    server: &Server,
    admin: &Admin,
    realm: &str,
    client_id: &str,
    roles: &[&str],
) -> Result<(ServiceAccount, Admin)> {
    let sa = admin.service_account(realm, client_id, roles).await?;
    let token = sa.token(server).await?;
    Ok((sa, Admin::with_token(server, Some(token))))
}

fn assert_admin_error(r: &Resp, status: u16, error: &str, message_contains: &str) {
    assert_eq!(r.status, status, "status of {}", r.text);
    assert_eq!(r.json["error"], error, "error of {}", r.text);
    let message = r.json["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains(message_contains), "errorMessage {message:?} should mention {message_contains:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn manage_realm_token_manages_its_own_realm_only() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("a").await?;
    admin.create_realm("b").await?;
    let (_, a) = realm_admin(&server, &admin, "a", "a-admin", &["manage-realm"]).await?;

    // Its own realm: create, read, update, regenerate the secret of, map roles for and
    // delete a client; read and update the realm.
    let uuid =
        a.create_client("a", &json!({"clientId": "made-by-a", "secret": "s", "serviceAccountsEnabled": true})).await?;
    assert_eq!(a.get(&format!("/realms/a/clients/{uuid}")).await?.json["clientId"], "made-by-a");
    let r = a.put(&format!("/realms/a/clients/{uuid}"), &json!({"enabled": true, "description": "ours"})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = a.post(&format!("/realms/a/clients/{uuid}/client-secret"), &json!({})).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["type"], "secret");
    let user = a.service_account_user("a", &uuid).await?;
    a.grant("a", &user, &["view-users"]).await?;
    let r = a.put("/realms/a", &json!({"displayName": "Realm A"})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(a.get("/realms/a").await?.json["displayName"], "Realm A");
    assert_eq!(a.delete(&format!("/realms/a/clients/{uuid}")).await?.status, 204);
    // GET /admin/realms shows it only its own realm.
    let listed = a.get("/realms").await?;
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed.json.as_array().into_iter().flatten().filter_map(|r| r["realm"].as_str()).collect();
    assert_eq!(names, vec!["a"]);

    // Another realm: nothing, read or write.
    let clients_of_b = admin.get("/realms/b/clients").await?.json;
    let b_management = admin.client_uuid("b", "realm-management").await?;
    let r = a.post("/realms/b/clients", &json!({"clientId": "intruder", "secret": "s"})).await?;
    assert_admin_error(&r, 403, "forbidden", "this realm");
    assert_admin_error(&a.get("/realms/b/clients").await?, 403, "forbidden", "this realm");
    assert_admin_error(&a.get("/realms/b").await?, 403, "forbidden", "this realm");
    assert_admin_error(&a.put("/realms/b", &json!({"scimApiEnabled": false})).await?, 403, "forbidden", "this realm");
    assert_admin_error(&a.delete(&format!("/realms/b/clients/{b_management}")).await?, 403, "forbidden", "this realm");
    assert_admin_error(&a.post("/realms/b/keys", &json!({})).await?, 403, "forbidden", "this realm");
    assert_admin_error(&a.get("/realms/b/admin-events").await?, 403, "forbidden", "this realm");
    // Nor realms themselves, its own included, nor the master realm.
    assert_admin_error(&a.post("/realms", &json!({"realm": "c"})).await?, 403, "forbidden", "master");
    assert_admin_error(&a.delete("/realms/a").await?, 403, "forbidden", "master");
    assert_admin_error(&a.get("/realms/master/clients").await?, 403, "forbidden", "this realm");
    // Nothing changed in b, and no realm c.
    assert_eq!(admin.get("/realms/b/clients").await?.json, clients_of_b);
    assert_eq!(admin.get("/realms/b").await?.json["scimApiEnabled"], true);
    assert_eq!(admin.get("/realms/c").await?.status, 404);
    assert_eq!(admin.get("/realms/a").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn view_realm_token_reads_its_realm_but_cannot_write() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("a").await?;
    let (sa, v) = realm_admin(&server, &admin, "a", "a-viewer", &["view-realm"]).await?;

    assert_eq!(v.get("/realms/a").await?.status, 200);
    let clients = v.get("/realms/a/clients").await?;
    assert_eq!(clients.status, 200);
    let before = clients.json.clone();
    assert_eq!(v.get(&format!("/realms/a/clients/{}", sa.uuid)).await?.status, 200);
    assert_eq!(v.get(&format!("/realms/a/clients/{}/roles", sa.uuid)).await?.status, 200);
    assert_eq!(v.get("/realms/a/keys").await?.status, 200);
    assert_eq!(v.get("/realms/a/admin-events").await?.status, 200);
    assert_eq!(v.get("/realms/a/trusted-issuers").await?.status, 200);

    let needs = "manage-realm";
    assert_admin_error(&v.post("/realms/a/clients", &json!({"clientId": "x"})).await?, 403, "forbidden", needs);
    assert_admin_error(
        &v.put(&format!("/realms/a/clients/{}", sa.uuid), &json!({"enabled": false})).await?,
        403,
        "forbidden",
        needs,
    );
    assert_admin_error(&v.delete(&format!("/realms/a/clients/{}", sa.uuid)).await?, 403, "forbidden", needs);
    assert_admin_error(
        &v.post(&format!("/realms/a/clients/{}/client-secret", sa.uuid), &json!({})).await?,
        403,
        "forbidden",
        needs,
    );
    assert_admin_error(&v.put("/realms/a", &json!({"scimApiEnabled": false})).await?, 403, "forbidden", needs);
    assert_admin_error(&v.post("/realms/a/keys", &json!({})).await?, 403, "forbidden", needs);
    let management = admin.client_uuid("a", "realm-management").await?;
    let escalate = v
        .post(
            &format!("/realms/a/users/{}/role-mappings/clients/{management}", sa.user_id),
            &json!([{"name": "manage-realm"}]),
        )
        .await?;
    assert_admin_error(&escalate, 403, "forbidden", needs);
    assert_admin_error(
        &v.post(
            "/realms/a/trusted-issuers",
            &json!({"issuer": "https://evil", "audience": "api://x", "jwks": {"keys": []}}),
        )
        .await?,
        403,
        "forbidden",
        needs,
    );
    // It does not see users without a users role.
    assert_admin_error(&v.get("/realms/a/users").await?, 403, "forbidden", "view-users");

    // Nothing changed: same clients, same realm, one key, no new role.
    assert_eq!(admin.get("/realms/a/clients").await?.json, before);
    assert_eq!(admin.get("/realms/a").await?.json["scimApiEnabled"], true);
    assert_eq!(admin.get("/realms/a/keys").await?.json["keys"].as_array().map(Vec::len), Some(1));
    let mapped = admin.get(&format!("/realms/a/users/{}/role-mappings/clients/{management}", sa.user_id)).await?;
    let names: Vec<&str> = mapped.json.as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, vec!["view-realm"]);
    Ok(())
}

#[tokio::test]
async fn users_roles_do_not_grant_realm_administration() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("a").await?;
    let (_, m) = realm_admin(&server, &admin, "a", "a-provisioner", &["manage-users"]).await?;
    assert_admin_error(&m.get("/realms/a/clients").await?, 403, "forbidden", "view-realm");
    assert_admin_error(
        &m.post("/realms/a/clients", &json!({"clientId": "x"})).await?,
        403,
        "forbidden",
        "manage-realm",
    );
    // …but it may see the realm's users, as Keycloak's view-users would.
    assert_eq!(m.get("/realms/a/users").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn master_admin_may_do_everything() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("a").await?;
    assert_eq!(admin.get("/realms/a").await?.json["realm"], "a");
    let r = admin.put("/realms/a", &json!({"scimCompatibility": "strict"})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(admin.get("/realms/a").await?.json["scimCompatibility"], "strict");
    let sa = admin.service_account("a", "robot", &["manage-users", "manage-realm"]).await?;
    assert_eq!(admin.get(&format!("/realms/a/clients/{}", sa.uuid)).await?.json["serviceAccountsEnabled"], true);
    assert_eq!(admin.get(&format!("/realms/a/users/{}", sa.user_id)).await?.json["username"], "service-account-robot");
    let mappings = admin.get(&format!("/realms/a/users/{}/role-mappings", sa.user_id)).await?;
    assert_eq!(mappings.status, 200, "{}", mappings.text);
    let names: Vec<&str> = mappings.json["clientMappings"]["realm-management"]["mappings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, vec!["manage-realm", "manage-users"]);
    assert_eq!(admin.post(&format!("/realms/a/clients/{}/client-secret", sa.uuid), &json!({})).await?.status, 200);
    assert_eq!(admin.post("/realms/a/keys", &json!({})).await?.status, 200);
    let issuer = admin
        .post(
            "/realms/a/trusted-issuers",
            &json!({"issuer": "https://idp.example", "audience": "api://x", "jwks": {"keys": []}}),
        )
        .await?;
    assert_eq!(issuer.status, 201, "{}", issuer.text);
    let issuer_path = issuer.header("location").unwrap_or_default().trim_start_matches("/admin").to_string();
    assert_eq!(admin.delete(&issuer_path).await?.status, 204);
    assert!(!admin.events("a").await?.is_empty());
    assert_eq!(admin.delete(&format!("/realms/a/clients/{}", sa.uuid)).await?.status, 204);
    assert_eq!(admin.delete("/realms/a").await?.status, 204);
    assert_eq!(admin.get("/realms/a").await?.status, 404);
    Ok(())
}

#[tokio::test]
async fn scim_api_disabled_realm_answers_404_for_the_whole_scim_base() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let r = admin.post("/realms", &json!({"realm": "quiet", "scimApiEnabled": false})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(admin.get("/realms/quiet").await?.json["scimApiEnabled"], false);
    let sa = admin.service_account("quiet", "robot", &["manage-users"]).await?;
    // OAuth still works for the realm; SCIM does not exist there.
    let c = sa.scim(&server).await?;
    for (method, path) in [
        ("GET", "/ServiceProviderConfig"),
        ("GET", "/Schemas"),
        ("GET", "/ResourceTypes"),
        ("GET", "/Users"),
        ("GET", "/Users/x"),
        ("GET", "/Groups"),
        ("POST", "/Users"),
        ("POST", "/Users/.search"),
        ("DELETE", "/Users/x"),
    ] {
        let body = (method == "POST").then(|| json!({"schemas": [USER], "userName": "x"}).to_string());
        let r = c.send(method, path, body, &[]).await?;
        r.assert_error(404, None, "not enabled");
        // Without a token, too: the base is not there to authenticate against.
        let r = c.with_token(None).send(method, path, None, &[]).await?;
        r.assert_error(404, None, "not enabled");
    }
    let secret = scim(&server, "quiet", Some(server.token(server.realm_id("quiet")?, &["manage-users"])?));
    secret.get("/Users").await?.assert_error(404, None, "not enabled");

    // Enabling it opens the base, with nothing written while it was closed.
    let r = admin.put("/realms/quiet", &json!({"scimApiEnabled": true})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(c.get("/ServiceProviderConfig").await?.status, 200);
    assert_eq!(c.ids("/Users").await?.0, 0);
    // And disabling it again closes it at once.
    let r = admin.put("/realms/quiet", &json!({"scimApiEnabled": false})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    c.get("/Users").await?.assert_error(404, None, "not enabled");
    Ok(())
}

#[tokio::test]
async fn master_manage_realm_cannot_grant_itself_the_admin_role() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let (sa, m) = realm_admin(&server, &admin, "master", "m-realm-admin", &["manage-realm"]).await?;
    let r = m
        .post(&format!("/realms/master/users/{}/role-mappings/realm", sa.user_id), &json!([{"name": "admin"}]))
        .await?;
    assert_admin_error(&r, 403, "forbidden", "admin");
    // Its next token is no server administrator's.
    let again = Admin::with_token(&server, Some(sa.token(&server).await?));
    assert_admin_error(&again.post("/realms", &json!({"realm": "pwned"})).await?, 403, "forbidden", "admin role");
    assert_eq!(admin.get("/realms/pwned").await?.status, 404);
    let mapped = admin.get(&format!("/realms/master/users/{}/role-mappings/realm", sa.user_id)).await?;
    assert_eq!(mapped.json, json!([]), "{}", mapped.text);
    Ok(())
}

#[tokio::test]
async fn master_manage_users_cannot_take_over_the_admin_account_over_scim() -> Result<()> {
    use scimd_tests::oauth::{ADMIN, ADMIN_PASSWORD, token_request};
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let sa = admin.service_account("master", "m-provisioner", &["manage-users"]).await?;
    let c = sa.scim(&server).await?;
    let admin_id = admin.get(&format!("/realms/master/users?username={ADMIN}&exact=true")).await?.json[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let patch =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": "taken-over"}]});
    let r = c.patch(&format!("/Users/{admin_id}"), &patch).await?;
    assert!(
        matches!(r.status, 403 | 404),
        "a provisioning token may not change the administrator: {} {}",
        r.status,
        r.text
    );
    let login = |password: &'static str| {
        let server = &server;
        async move {
            token_request(
                server,
                "master",
                &[("grant_type", "password"), ("client_id", "admin-cli"), ("username", ADMIN), ("password", password)],
                None,
            )
            .await
        }
    };
    assert_eq!(login("taken-over").await?.status, 401, "the new password does not log in");
    assert_eq!(login(ADMIN_PASSWORD).await?.status, 200, "the administrator's password is unchanged");
    let r = c.delete(&format!("/Users/{admin_id}")).await?;
    assert!(
        matches!(r.status, 403 | 404),
        "a provisioning token may not delete the administrator: {} {}",
        r.status,
        r.text
    );
    assert_eq!(login(ADMIN_PASSWORD).await?.status, 200, "the administrator still exists");
    Ok(())
}
