//! The attacks the trust model stops (README, "Security model"), one test each, named after
//! what the attacker tries: a leaked provisioning token, a realm administrator, a deployed
//! engine, or anyone at all trying to get more than they were given. Each test fails on a
//! server without the defence and passes with it.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use anyhow::Result;
use scimd_tests::guests::misbehaving;
use scimd_tests::oauth::{Admin, ServiceAccount, TestIssuer, password_login, scim};
use scimd_tests::{Client, Server, q};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A realm `r` with a provisioning client (`manage-users`, as Entra's) and the master admin.
struct Realm {
    server: Server,
    admin: Admin,
    provisioner: ServiceAccount,
    scim: Client,
}

impl Realm {
    async fn new() -> Result<Realm> {
        Realm::on(Server::start().await?).await
    }

    async fn on(server: Server) -> Result<Realm> {
        let admin = Admin::master(&server).await?;
        admin.create_realm("r").await?;
        let provisioner = admin.service_account("r", "provisioner", &["manage-users"]).await?;
        let scim = provisioner.scim(&server).await?;
        Ok(Realm { server, admin, provisioner, scim })
    }

    /// A user made over SCIM, with a password, then granted `roles` by the master admin.
    async fn user(&self, name: &str, password: &str, roles: &[&str]) -> Result<String> {
        let id = self.scim.create_user(name, json!({"password": password})).await?;
        self.admin.grant("r", &id, roles).await?;
        Ok(id)
    }
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// A 403 saying the resource holds an administrative role.
fn assert_protected(r: &scimd_tests::Resp) {
    r.assert_error(403, None, "administrative role");
}

/// A protected resource shows nothing but its schemas, id and name.
fn assert_minimal(doc: &Value, name_attr: &str) {
    let mut keys: Vec<&str> = doc.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    keys.sort_unstable();
    let mut expected = vec!["id", "schemas", name_attr];
    expected.sort_unstable();
    assert_eq!(keys, expected, "minimal form of {doc}");
}

#[tokio::test]
async fn manage_users_token_cannot_reset_an_admins_password_and_log_in_as_them() -> Result<()> {
    let r = Realm::new().await?;
    let alice = r.user("alice", "Alice-Secret-1", &["manage-realm"]).await?;
    let events_before = r.admin.events("r").await?.len();
    // The takeover: replace the administrator's password over SCIM…
    let reset = patch(json!([{"op": "replace", "path": "password", "value": "Mallory-Owns-1"}]));
    assert_protected(&r.scim.patch(&format!("/Users/{alice}"), &reset).await?);
    assert_protected(
        &r.scim
            .patch(&format!("/Users/{alice}"), &patch(json!([{"op": "replace", "value": {"password": "x-Y-z-123"}}])))
            .await?,
    );
    assert_protected(
        &r.scim
            .put(
                &format!("/Users/{alice}"),
                &json!({"schemas": [USER], "userName": "alice", "password": "Mallory-Owns-1"}),
            )
            .await?,
    );
    assert_protected(&r.scim.delete(&format!("/Users/{alice}")).await?);
    // …then log in as them with the provisioning client's own secret.
    let login =
        password_login(&r.server, "r", ("provisioner", Some(&r.provisioner.secret)), "alice", "Mallory-Owns-1").await?;
    assert_eq!((login.status, login.json["error"].as_str()), (400, Some("unauthorized_client")), "{}", login.text);
    assert_eq!(r.admin.events("r").await?.len(), events_before, "nothing was written");
    // The administrator is served in minimal form, alone or in a list.
    let shown = r.scim.get(&format!("/Users/{alice}")).await?;
    assert_eq!(shown.status, 200);
    assert_minimal(&shown.json, "userName");
    let listed = r.scim.get(&format!("/Users?filter={}", q("userName eq \"alice\""))).await?;
    assert_minimal(&listed.json["Resources"][0], "userName");
    // And the administrator still logs in with their own password, through a login client.
    r.admin.login_client("r", "app").await?;
    let own = password_login(&r.server, "r", ("app", None), "alice", "Alice-Secret-1").await?;
    assert_eq!(own.status, 200, "{}", own.text);
    Ok(())
}

#[tokio::test]
async fn scim_cannot_join_change_or_empty_an_administrators_group() -> Result<()> {
    let r = Realm::new().await?;
    let bob = r.scim.create_user("bob", json!({})).await?;
    let carol = r.user("carol", "Carol-Secret-1", &[]).await?;
    let admins = r.scim.create_group("admins", &[]).await?;
    let staff = r.scim.create_group("staff", &[&carol]).await?;
    r.admin.grant_group("r", &admins, &["manage-realm"]).await?;
    // The group holds an administrative role: joining it would make bob an administrator.
    let join = patch(json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]));
    assert_protected(&r.scim.patch(&format!("/Groups/{admins}"), &join).await?);
    assert_protected(
        &r.scim
            .put(
                &format!("/Groups/{admins}"),
                &json!({"schemas": [GROUP], "displayName": "admins", "members": [{"value": bob}]}),
            )
            .await?,
    );
    assert_protected(&r.scim.delete(&format!("/Groups/{admins}")).await?);
    let created = r
        .scim
        .post("/Groups", &json!({"schemas": [GROUP], "displayName": "sneaky", "members": [{"value": admins}]}))
        .await?;
    assert_protected(&created);
    assert_minimal(&r.scim.get(&format!("/Groups/{admins}")).await?.json, "displayName");
    // A member of it is an administrator too (roles through a group): protected, and its
    // memberships elsewhere cannot change either.
    let put = r.admin.put(&format!("/realms/r/users/{carol}/groups/{admins}"), &json!({})).await?;
    assert_eq!(put.status, 204, "{}", put.text);
    assert_protected(
        &r.scim
            .patch(&format!("/Users/{carol}"), &patch(json!([{"op": "replace", "path": "active", "value": false}])))
            .await?,
    );
    let leave = patch(json!([{"op": "remove", "path": format!("members[value eq \"{carol}\"]")}]));
    assert_protected(&r.scim.patch(&format!("/Groups/{staff}"), &leave).await?);
    assert_protected(&r.scim.delete(&format!("/Groups/{staff}")).await?);
    assert_minimal(&r.scim.get(&format!("/Users/{carol}")).await?.json, "userName");
    // Its tokens carry the group's role.
    r.admin.login_client("r", "app").await?;
    let login = password_login(&r.server, "r", ("app", None), "carol", "Carol-Secret-1").await?;
    let claims = scimd_tests::oauth::jwt_claims(login.json["access_token"].as_str().unwrap_or_default())?;
    assert_eq!(claims["resource_access"]["realm-management"]["roles"], json!(["manage-realm"]), "{claims}");
    // Ordinary users and groups are as writable as ever.
    let ok = r
        .scim
        .patch(
            &format!("/Groups/{staff}"),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": bob}]}])),
        )
        .await?;
    assert_eq!(ok.status, 204, "{}", ok.text);
    Ok(())
}

#[tokio::test]
async fn password_grant_needs_direct_access_grants_on_the_client() -> Result<()> {
    let r = Realm::new().await?;
    r.user("dave", "Dave-Secret-1", &[]).await?;
    let refused =
        password_login(&r.server, "r", ("provisioner", Some(&r.provisioner.secret)), "dave", "Dave-Secret-1").await?;
    assert_eq!(
        (refused.status, refused.json["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{}",
        refused.text
    );
    let uuid = r.provisioner.uuid.clone();
    let on = r.admin.put(&format!("/realms/r/clients/{uuid}"), &json!({"directAccessGrantsEnabled": true})).await?;
    assert_eq!(on.status, 204, "{}", on.text);
    let allowed =
        password_login(&r.server, "r", ("provisioner", Some(&r.provisioner.secret)), "dave", "Dave-Secret-1").await?;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    let cli = r.admin.get("/realms/master/clients?clientId=admin-cli").await?;
    assert_eq!(cli.json[0]["directAccessGrantsEnabled"], true, "admin-cli has it: {}", cli.text);
    Ok(())
}

#[tokio::test]
async fn realm_admin_cannot_make_the_server_read_dev_zero_as_a_jwks_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let jwks_dir = dir.path().to_path_buf();
    let server = Server::start_with(move |s| s.trusted_jwks_dir = Some(jwks_dir)).await?;
    let r = Realm::on(server).await?;
    let realm_admin = r.admin.service_account("r", "realm-admin", &["manage-realm"]).await?;
    let as_realm_admin = Admin::with_token(&r.server, Some(realm_admin.token(&r.server).await?));
    let issuer = |file: &str| json!({"issuer": "https://idp.example/", "audience": "api://x", "jwksFile": file});
    as_realm_admin
        .post("/realms/r/trusted-issuers", &issuer("/dev/zero"))
        .await?
        .assert_admin_error(403, "server administrator");
    // Even a server administrator names only regular files under the directory given at start.
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json"))?;
    let fifo = dir.path().join("fifo.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    anyhow::ensure!(made.success(), "mkfifo failed");
    for (file, why) in [
        ("/dev/zero", "not under"),
        ("../../../../dev/zero", "not under"),
        ("zero.json", "not under"),
        ("fifo.json", "regular file"),
        ("missing.json", "cannot be opened"),
    ] {
        r.admin.post("/realms/r/trusted-issuers", &issuer(file)).await?.assert_admin_error(400, why);
    }
    // The server is still there, and reads nothing when a JWT comes.
    let idp = TestIssuer::new("https://idp.example/", "k")?;
    let c = scim(&r.server, "r", Some(idp.sign(&idp.claims("api://x"))?));
    c.get("/Users").await?.assert_error(401, None, "not trusted");
    assert_eq!(r.scim.get("/Users").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_server_without_a_jwks_directory_reads_no_jwks_file() -> Result<()> {
    let r = Realm::new().await?;
    let body = json!({"issuer": "https://idp.example/", "audience": "api://x", "jwksFile": "/etc/passwd"});
    r.admin.post("/realms/r/trusted-issuers", &body).await?.assert_admin_error(400, "--trusted-jwks-dir");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_plan_with_shared_children_is_the_engines_fault_not_the_hosts_exhaustion() -> Result<()> {
    let r = Realm::new().await?;
    let deployed = r.admin.put_bytes("/realms/r/scim/component", misbehaving()?).await?;
    assert_eq!(deployed.status, 201, "{}", deployed.text);
    let scim = r.provisioner.scim(&r.server).await?;
    let dag = scim.get(&format!("/Users?filter={}", q("userName eq \"dag\""))).await?;
    dag.assert_error(500, None, "used more than once");
    assert!(dag.detail().contains("engine '"), "the detail names the engine: {}", dag.detail());
    let wide = scim.get(&format!("/Users?filter={}", q("userName eq \"wide\""))).await?;
    wide.assert_error(500, None, "nodes");
    let events = r.admin.events("r").await?;
    assert!(
        events.iter().any(|e| e["resourcePath"] == "scim/component"
            && e["representation"].as_str().is_some_and(|d| d.contains("invalid query plan"))),
        "an admin event reports the engine's fault: {events:?}"
    );
    assert_eq!(scim.get("/Users").await?.status, 200, "the realm goes on");
    Ok(())
}

/// The queue's bound itself is shown by the runtime's unit test (`compiles_past_the_queue_are_busy`);
/// here, deploys that come together each end in a version of their own or a `503`, never a
/// conflict or a failure.
#[tokio::test(flavor = "multi_thread")]
async fn deploys_at_the_same_time_each_get_a_version_or_a_503() -> Result<()> {
    let r = Realm::new().await?;
    let wasm = misbehaving()?;
    let deploys = (0..8)
        .map(|_| {
            let (admin, wasm) = (r.admin.clone(), wasm.clone());
            tokio::spawn(async move { admin.put_bytes("/realms/r/scim/component", wasm).await })
        })
        .collect::<Vec<_>>();
    let mut versions = Vec::new();
    for d in deploys {
        let resp = d.await??;
        match resp.status {
            201 => versions.push(resp.json["version"].as_i64().unwrap_or_default()),
            503 => assert!(resp.header("retry-after").is_some(), "a full queue says when to retry: {:?}", resp.headers),
            other => panic!("a deploy ended {other}: {}", resp.text),
        }
    }
    versions.sort_unstable();
    let expected: Vec<i64> = (1..=versions.len() as i64).collect();
    assert_eq!(versions, expected, "one version each");
    Ok(())
}

#[tokio::test]
async fn a_deleted_admins_roles_do_not_pass_to_the_next_user() -> Result<()> {
    let r = Realm::new().await?;
    r.scim.create_user("before", json!({})).await?;
    // The newest user is an administrator; then it is deleted.
    let old = r.user("old-admin", "Old-Secret-1", &["manage-realm"]).await?;
    let deleted = r.admin.delete(&format!("/realms/r/users/{old}")).await?;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    // The next user would get the deleted one's key if keys were reused.
    let next = r.user("next", "Next-Secret-1", &[]).await?;
    let mappings = r.admin.get(&format!("/realms/r/users/{next}/role-mappings")).await?;
    assert_eq!(mappings.json["clientMappings"], json!({}), "{}", mappings.text);
    let changed = r
        .scim
        .patch(&format!("/Users/{next}"), &patch(json!([{"op": "replace", "path": "displayName", "value": "Next"}])))
        .await?;
    assert_eq!(changed.status, 200, "an ordinary user: {}", changed.text);
    r.admin.login_client("r", "app").await?;
    let login = password_login(&r.server, "r", ("app", None), "next", "Next-Secret-1").await?;
    let claims = scimd_tests::oauth::jwt_claims(login.json["access_token"].as_str().unwrap_or_default())?;
    assert!(claims.get("resource_access").is_none_or(|a| a.get("realm-management").is_none()), "{claims}");
    // No mapping is left pointing at the deleted user.
    let db = rusqlite::Connection::open(r.server.data_dir().join("scimd.db"))?;
    let orphans: i64 =
        db.query_row("SELECT count(*) FROM role_mappings WHERE user_pk NOT IN (SELECT pk FROM users)", [], |x| {
            x.get(0)
        })?;
    assert_eq!(orphans, 0);
    Ok(())
}

#[tokio::test]
async fn a_role_of_another_realm_cannot_be_mapped() -> Result<()> {
    let r = Realm::new().await?;
    r.admin.create_realm("other").await?;
    let user = r.scim.create_user("eve", json!({})).await?;
    let foreign = r
        .admin
        .get(&format!(
            "/realms/other/clients/{}/roles/manage-realm",
            r.admin.client_uuid("other", "realm-management").await?
        ))
        .await?;
    let management = r.admin.client_uuid("r", "realm-management").await?;
    let body = json!([{"id": foreign.json["id"]}]);
    r.admin
        .post(&format!("/realms/r/users/{user}/role-mappings/clients/{management}"), &body)
        .await?
        .assert_admin_error(404, "has no role");
    Ok(())
}

#[tokio::test]
async fn a_disabled_realms_admins_and_secret_tokens_reach_nothing() -> Result<()> {
    let r = Realm::new().await?;
    let realm_admin = r.admin.service_account("r", "realm-admin", &["manage-realm"]).await?;
    let admin_token = realm_admin.token(&r.server).await?;
    let secret = r.server.token(r.server.realm_id("r")?, &["manage-users", "manage-realm"])?;
    r.admin.set_realm("r", &json!({"enabled": false})).await?;
    for token in [admin_token, secret.clone()] {
        let as_admin = Admin::with_token(&r.server, Some(token.clone()));
        as_admin.get("/realms/r").await?.assert_admin_error(401, "disabled");
        as_admin.put("/realms/r", &json!({"enabled": true})).await?.assert_admin_error(401, "disabled");
        assert_eq!(scim(&r.server, "r", Some(token)).get("/Users").await?.status, 404, "the SCIM API is off");
    }
    // A server administrator still manages it.
    assert_eq!(r.admin.get("/realms/r").await?.status, 200);
    r.admin.set_realm("r", &json!({"enabled": true})).await?;
    assert_eq!(scim(&r.server, "r", Some(secret)).get("/Users").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_master_realm_admin_cannot_lock_every_administrator_out() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let master_user = {
        let r = admin
            .post(
                "/realms/master/clients",
                &json!({"clientId": "ops", "secret": "ops-secret", "serviceAccountsEnabled": true}),
            )
            .await?;
        assert_eq!(r.status, 201, "{}", r.text);
        let uuid = admin.client_uuid("master", "ops").await?;
        let user = admin.service_account_user("master", &uuid).await?;
        admin.grant("master", &user, &["manage-realm", "manage-users"]).await?;
        Admin::with_token(
            &server,
            Some(scimd_tests::oauth::client_token(&server, "master", "ops", "ops-secret").await?),
        )
    };
    master_user.put("/realms/master", &json!({"enabled": false})).await?.assert_admin_error(400, "cannot be disabled");
    let cli = admin.client_uuid("master", "admin-cli").await?;
    for body in [json!({"enabled": false}), json!({"directAccessGrantsEnabled": false}), json!({"publicClient": false})]
    {
        master_user.put(&format!("/realms/master/clients/{cli}"), &body).await?.assert_admin_error(400, "admin-cli");
    }
    master_user.delete(&format!("/realms/master/clients/{cli}")).await?.assert_admin_error(400, "admin-cli");
    // The last server administrator can be neither disabled, deleted, nor stripped of the role,
    // even by itself.
    let me = admin.get("/realms/master/users?username=admin&exact=true").await?.json[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    master_user
        .put(&format!("/realms/master/users/{me}"), &json!({"enabled": false}))
        .await?
        .assert_admin_error(403, "server administrator");
    admin
        .put(&format!("/realms/master/users/{me}"), &json!({"enabled": false}))
        .await?
        .assert_admin_error(409, "without an enabled administrator");
    admin
        .delete(&format!("/realms/master/users/{me}"))
        .await?
        .assert_admin_error(409, "without an enabled administrator");
    let admin_role = admin
        .get("/realms/master/roles")
        .await?
        .json
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == "admin").cloned())
        .unwrap_or_default();
    let r = admin
        .send(
            "DELETE",
            &format!("/realms/master/users/{me}/role-mappings/realm"),
            Some(json!([admin_role]).to_string()),
        )
        .await?;
    r.assert_admin_error(409, "without an enabled administrator");
    assert_eq!(admin.get("/realms").await?.status, 200, "the administrator is still one");
    Ok(())
}

#[tokio::test]
async fn forwarded_headers_from_anyone_choose_neither_issuer_nor_locations() -> Result<()> {
    let r = Realm::new().await?;
    let spoofed = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "host=evil.example;proto=https"),
    ];
    let discovery = reqwest::Client::new()
        .get(r.server.url("/realms/r/.well-known/openid-configuration"))
        .header(spoofed[0].0, spoofed[0].1)
        .header(spoofed[2].0, spoofed[2].1)
        .send()
        .await?
        .json::<Value>()
        .await?;
    let issuer = discovery["issuer"].as_str().unwrap_or_default();
    assert!(issuer.starts_with(&format!("http://{}", r.server.addr)), "{issuer}");
    let created = r
        .scim
        .send("POST", "/Users", Some(json!({"schemas": [USER], "userName": "fwd"}).to_string()), &spoofed)
        .await?;
    let location = created.json["meta"]["location"].as_str().unwrap_or_default();
    assert!(!location.contains("evil"), "{location}");
    Ok(())
}

#[tokio::test]
async fn forwarded_headers_are_honoured_when_the_operator_names_them() -> Result<()> {
    use scimd::settings::ProxyHeaders;
    for (mode, header) in [
        (ProxyHeaders::XForwarded, vec![("x-forwarded-host", "id.example.com"), ("x-forwarded-proto", "https")]),
        (ProxyHeaders::Forwarded, vec![("forwarded", "for=10.0.0.1;host=id.example.com;proto=https")]),
    ] {
        let server = Server::start_with(move |s| s.proxy_headers = mode).await?;
        server.state.store.create_realm("r", "entra")?;
        let mut req = reqwest::Client::new().get(server.url("/realms/r/.well-known/openid-configuration"));
        for (k, v) in &header {
            req = req.header(*k, *v);
        }
        let doc = req.send().await?.json::<Value>().await?;
        assert_eq!(doc["issuer"], "https://id.example.com/realms/r", "{mode:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_data_directory_and_database_are_private_to_the_server() -> Result<()> {
    let r = Realm::new().await?;
    r.scim.create_user("someone", json!({})).await?;
    let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode(r.server.data_dir())?, 0o700);
    for file in ["scimd.db", "scimd.db-wal", "scimd.db-shm"] {
        assert_eq!(mode(&r.server.data_dir().join(file))?, 0o600, "{file}");
    }
    // A data directory left readable by an older build is made private at start.
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
    std::fs::write(data.join("scimd.db"), b"")?;
    std::fs::set_permissions(data.join("scimd.db"), std::fs::Permissions::from_mode(0o644))?;
    drop(scimd::store::Store::open(&data.join("scimd.db"))?);
    assert_eq!(mode(&data)?, 0o700);
    assert_eq!(mode(&data.join("scimd.db"))?, 0o600);
    Ok(())
}

#[tokio::test]
async fn admin_events_expire_after_the_realms_setting() -> Result<()> {
    let r = Realm::new().await?;
    r.scim.create_user("one", json!({})).await?;
    assert!(!r.admin.events("r").await?.is_empty());
    let shown = r.admin.get("/realms/r").await?;
    assert_eq!(shown.json["adminEventsExpiration"], 7_776_000, "the default is shown: {}", shown.text);
    r.admin.set_realm("r", &json!({"adminEventsExpiration": 1})).await?;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    r.scim.create_user("two", json!({})).await?;
    scimd::housekeeping::sweep(&r.server.state.store)?;
    let left = r.admin.events("r").await?;
    assert_eq!(left.len(), 1, "only the newest event is younger than a second: {left:?}");
    r.admin
        .put("/realms/r", &json!({"adminEventsExpiration": "soon"}))
        .await?
        .assert_admin_error(400, "adminEventsExpiration");
    Ok(())
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_cut_off() -> Result<()> {
    let server = Server::start_with(|s| s.header_read_timeout = Duration::from_secs(1)).await?;
    let addr = server.addr;
    let cut = tokio::task::spawn_blocking(move || -> Result<bool> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")?;
        std::thread::sleep(Duration::from_millis(1500));
        let _ = s.write_all(b"X-Slow: 1\r\n");
        let mut buf = [0u8; 64];
        // The server has closed the connection (0 bytes) or reset it.
        Ok(matches!(s.read(&mut buf), Ok(0) | Err(_)))
    })
    .await??;
    assert!(cut, "the connection was closed while its headers were still coming");
    assert_eq!(reqwest::get(server.url("/health")).await?.status(), 200, "others are served");
    Ok(())
}

#[tokio::test]
async fn a_request_whose_body_never_comes_is_answered_408() -> Result<()> {
    let server = Server::start_with(|s| s.request_timeout = Duration::from_secs(1)).await?;
    server.state.store.create_realm("r", "entra")?;
    let token = server.token(server.realm_id("r")?, &["manage-users"])?;
    let addr = server.addr;
    let answer = tokio::task::spawn_blocking(move || -> Result<String> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "POST /realms/r/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                   Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\""
        )?;
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        Ok(out)
    })
    .await??;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("urn:ietf:params:scim:api:messages:2.0:Error"), "{answer}");
    Ok(())
}

#[tokio::test]
async fn responses_carry_nosniff_and_token_and_admin_answers_are_not_stored() -> Result<()> {
    let r = Realm::new().await?;
    let users = r.scim.get("/Users").await?;
    assert_eq!(users.header("x-content-type-options"), Some("nosniff"));
    let admin = r.admin.get("/realms/r").await?;
    assert_eq!(admin.header("cache-control"), Some("no-store"));
    assert_eq!(admin.header("x-content-type-options"), Some("nosniff"));
    let token = scimd_tests::oauth::token_request(
        &r.server,
        "r",
        &[("grant_type", "client_credentials"), ("client_id", "provisioner"), ("client_secret", &r.provisioner.secret)],
        None,
    )
    .await?;
    assert_eq!(token.header("cache-control"), Some("no-store"));
    Ok(())
}

#[tokio::test]
async fn hostile_filters_are_400_invalid_filter() -> Result<()> {
    let r = Realm::new().await?;
    let term = r#"userName eq "x""#;
    let hostile = [
        format!("{}{term}{}", "(".repeat(1000), ")".repeat(1000)),
        format!("{}{term}{}", "not (".repeat(1000), ")".repeat(1000)),
        vec![term; 10_000].join(" or "),
        vec![term; 10_000].join(" and "),
        "(".repeat(1000),
    ];
    for filter in &hostile {
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        let r1 = r.scim.post("/Users/.search", &search).await?;
        r1.assert_error(400, Some("invalidFilter"), "invalid filter");
        assert!(r1.detail().len() < 1000, "the detail does not echo the whole filter");
        if filter.len() < 60_000 {
            r.scim.get(&format!("/Users?filter={}", q(filter))).await?.assert_error(
                400,
                Some("invalidFilter"),
                "invalid filter",
            );
        }
    }
    assert_eq!(r.scim.get("/Users").await?.status, 200, "the engine goes on");
    Ok(())
}

#[tokio::test]
async fn errors_the_server_makes_itself_have_json_bodies() -> Result<()> {
    let r = Realm::new().await?;
    let scim_error = |resp: &scimd_tests::Resp, status: u16| {
        assert_eq!(resp.status, status, "{}", resp.text);
        assert_eq!(resp.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{}", resp.text);
        assert_eq!(resp.json["status"], status.to_string());
    };
    // A megabyte of query string, and a megabyte of header: hyper refuses them before any
    // handler runs (reqwest would not send them, so a plain socket does).
    let addr = r.server.addr;
    let raw = |head: String| {
        tokio::task::spawn_blocking(move || -> Result<scimd_tests::Resp> {
            let mut s = std::net::TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            s.write_all(head.as_bytes())?;
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            let text = String::from_utf8_lossy(&out).into_owned();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut headers = reqwest::header::HeaderMap::new();
            for line in head.lines().skip(1) {
                if let Some((k, v)) = line.split_once(':')
                    && let (Ok(k), Ok(v)) = (k.trim().parse::<reqwest::header::HeaderName>(), v.trim().parse())
                {
                    headers.insert(k, v);
                }
            }
            let json = serde_json::from_str(body).unwrap_or(Value::Null);
            Ok(scimd_tests::Resp { status, headers, text: body.to_string(), json })
        })
    };
    let long = raw(format!("GET /realms/r/scim/v2/Users?filter={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(1_000_000)))
        .await??;
    scim_error(&long, 431);
    assert_eq!(long.header("content-type"), Some("application/scim+json"));
    let uri = raw(format!("GET /realms/r/scim/v2/Users?filter={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)))
        .await??;
    scim_error(&uri, 414);
    let token_huge =
        raw(format!("POST /realms/r/protocol/openid-connect/token?{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)))
            .await??;
    assert_eq!(token_huge.status, 414);
    assert!(token_huge.json["error"].is_string(), "OAuth's shape under /protocol: {}", token_huge.text);
    scim_error(&r.scim.get("/Users/%ff%fe").await?, 400);
    scim_error(&r.scim.get("/Nothing/here/at/all").await?, 404);
    scim_error(&r.scim.send("PUT", "/Users", Some("{}".into()), &[]).await?, 405);
    scim_error(&r.scim.get(&format!("/Users?filter={}", "%ff")).await?, 400);
    // Under /protocol the shape is OAuth's, under /admin Keycloak's.
    let token_bad = scimd_tests::oauth::oidc_post(&r.server, "r", "nowhere", &[]).await?;
    assert_eq!(token_bad.status, 404);
    assert!(
        token_bad.json["error"].is_string() && token_bad.json["error_description"].is_string(),
        "{}",
        token_bad.text
    );
    let admin_bad = r.admin.get("/realms/r/users/%ff").await?;
    assert!(admin_bad.status >= 400 && admin_bad.json["errorMessage"].is_string(), "{}", admin_bad.text);
    Ok(())
}

#[tokio::test]
async fn a_master_realm_admin_cannot_take_over_an_administrators_client() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    // Automation with the server's admin role, as operators set it up.
    let robot = admin.service_account("master", "automation", &[]).await?;
    let admin_role = admin
        .get("/realms/master/roles")
        .await?
        .json
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == "admin").cloned())
        .unwrap_or_default();
    let r = admin
        .post(&format!("/realms/master/users/{}/role-mappings/realm", robot.user_id), &json!([admin_role]))
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    // A master user with manage-realm and manage-users, but not the admin role.
    let ops = admin.service_account("master", "ops", &["manage-realm", "manage-users"]).await?;
    let as_ops = Admin::with_token(&server, Some(ops.token(&server).await?));
    let path = format!("/realms/master/clients/{}", robot.uuid);
    as_ops.post(&format!("{path}/client-secret"), &json!({})).await?.assert_admin_error(403, "server administrator");
    as_ops.put(&path, &json!({"secret": "known-now"})).await?.assert_admin_error(403, "server administrator");
    as_ops.delete(&path).await?.assert_admin_error(403, "server administrator");
    assert!(robot.token(&server).await.is_ok(), "the automation's secret is unchanged");
    Ok(())
}

#[tokio::test]
async fn a_provisioning_token_on_the_admin_api_sees_administrators_minimally_and_cannot_unlock_them() -> Result<()> {
    let r = Realm::new().await?;
    let alice = r.user("alice", "Alice-Secret-1", &["manage-realm"]).await?;
    let as_provisioner = Admin::with_token(&r.server, Some(r.provisioner.token(&r.server).await?));
    let shown = as_provisioner.get(&format!("/realms/r/users/{alice}")).await?;
    assert_eq!(shown.status, 200);
    assert!(shown.json.get("email").is_none() && shown.json["username"] == "alice", "{}", shown.text);
    as_provisioner
        .delete(&format!("/realms/r/attack-detection/brute-force/users/{alice}"))
        .await?
        .assert_admin_error(403, "manage-realm");
    as_provisioner
        .put(&format!("/realms/r/users/{alice}"), &json!({"enabled": false}))
        .await?
        .assert_admin_error(403, "manage-realm");
    // Nor can it turn a client's service account off.
    let other = r.admin.service_account("r", "other", &[]).await?;
    as_provisioner
        .put(&format!("/realms/r/users/{}", other.user_id), &json!({"enabled": false}))
        .await?
        .assert_admin_error(403, "service account");
    Ok(())
}

#[tokio::test]
async fn filters_cannot_read_what_an_administrators_minimal_form_hides() -> Result<()> {
    let r = Realm::new().await?;
    r.user("alice", "Alice-Secret-1", &["manage-realm"]).await?;
    assert_eq!(r.scim.ids(&format!("/Users?filter={}", q("userName eq \"alice\""))).await?.0, 1, "found by name");
    for probe in [
        "userName eq \"alice\" and emails.value sw \"a\"",
        "userName eq \"alice\" and not (emails.value sw \"zzz\")",
        "emails pr",
        "active eq true",
    ] {
        let (total, ids) = r.scim.ids(&format!("/Users?filter={}", q(probe))).await?;
        assert_eq!(total, 0, "{probe}: {ids:?}");
    }
    // Sorting by a hidden attribute leaves them out too; the count agrees with the page.
    let sorted = r.scim.get("/Users?sortBy=emails.value").await?;
    assert_eq!(sorted.json["totalResults"].as_i64(), sorted.json["Resources"].as_array().map(|a| a.len() as i64));
    Ok(())
}

#[tokio::test]
async fn a_disabled_user_is_not_told_whether_its_password_was_right() -> Result<()> {
    let r = Realm::new().await?;
    let dave = r.user("dave", "Dave-Secret-1", &[]).await?;
    r.admin.login_client("r", "app").await?;
    assert_eq!(r.admin.put(&format!("/realms/r/users/{dave}"), &json!({"enabled": false})).await?.status, 204);
    let right = password_login(&r.server, "r", ("app", None), "dave", "Dave-Secret-1").await?;
    let wrong = password_login(&r.server, "r", ("app", None), "dave", "wrong").await?;
    assert_eq!((right.status, &right.text), (wrong.status, &wrong.text));
    Ok(())
}

#[tokio::test]
async fn guessing_cannot_disable_the_last_server_administrator() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.set_realm("master", &json!({"permanentLockout": true, "failureFactor": 2, "quickLoginCheckMilliSeconds": 0, "waitIncrementSeconds": 0})).await?;
    for _ in 0..4 {
        let r = password_login(&server, "master", ("admin-cli", None), "admin", "guess").await?;
        assert_eq!(r.status, 401);
    }
    let me = admin.get("/realms/master/users?username=admin&exact=true").await?;
    assert_eq!(me.json[0]["enabled"], true, "{}", me.text);
    assert_eq!(password_login(&server, "master", ("admin-cli", None), "admin", "admin").await?.status, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_cannot_change_another_realms_group_through_a_user() -> Result<()> {
    let r = Realm::new().await?;
    r.admin.create_realm("victim").await?;
    let victim = scim(&r.server, "victim", Some(r.server.token(r.server.realm_id("victim")?, &["manage-users"])?));
    // The victim realm's first group shares its internal key with realm r's first user.
    let member = victim.create_user("vu", json!({})).await?;
    let group = victim.create_group("vg", &[&member]).await?;
    let deployed = r.admin.put_bytes("/realms/r/scim/component", misbehaving()?).await?;
    assert_eq!(deployed.status, 201, "{}", deployed.text);
    let scim = r.provisioner.scim(&r.server).await?;
    let made = scim.post("/Users", &json!({"schemas": [USER], "userName": "members"})).await?;
    made.assert_error(500, None, "member changes for a user");
    let members = victim.get(&format!("/Groups/{group}")).await?;
    assert_eq!(members.json["members"][0]["value"], member.as_str(), "{}", members.text);
    Ok(())
}

#[tokio::test]
async fn a_realm_keeps_only_its_newest_signing_keys() -> Result<()> {
    let r = Realm::new().await?;
    for _ in 0..15 {
        assert_eq!(r.admin.post("/realms/r/keys", &json!({})).await?.status, 200);
    }
    let keys = r.admin.get("/realms/r/keys").await?;
    assert_eq!(keys.json["keys"].as_array().map(Vec::len), Some(10), "{}", keys.text);
    Ok(())
}

#[tokio::test]
async fn a_realm_admin_cannot_shorten_its_own_audit_trail() -> Result<()> {
    let r = Realm::new().await?;
    let realm_admin = r.admin.service_account("r", "realm-admin", &["manage-realm"]).await?;
    let as_realm_admin = Admin::with_token(&r.server, Some(realm_admin.token(&r.server).await?));
    as_realm_admin
        .put("/realms/r", &json!({"adminEventsExpiration": 1}))
        .await?
        .assert_admin_error(403, "adminEventsExpiration");
    // Saving the representation back unchanged is fine.
    let rep = as_realm_admin.get("/realms/r").await?.json;
    assert_eq!(as_realm_admin.put("/realms/r", &rep).await?.status, 204);
    Ok(())
}

/// Anyone can name a realm (the lookup comes before authentication): a name no realm could
/// have is answered 404 without being echoed back (nor read or cached), however long it is.
#[tokio::test]
async fn anyone_naming_an_impossible_realm_gets_a_short_404() -> Result<()> {
    let server = Server::start().await?;
    let name = "x".repeat(4000);
    let anyone = Client::new(server.url(&format!("/realms/{name}/scim/v2")), None);
    let r = anyone.get("/Users").await?;
    assert_eq!(r.status, 404, "{}", &r.text[..r.text.len().min(200)]);
    assert!(r.text.len() < 1024, "the answer echoes the name: {} bytes", r.text.len());
    // A valid name that no realm has is named in the answer, as Keycloak does.
    let r = Client::new(server.url("/realms/nowhere/scim/v2"), None).get("/Users").await?;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("'nowhere' does not exist"), "{}", r.text);
    Ok(())
}
