//! The `scimd` binary as operators run it: the offline commands, and a server process that
//! is killed with SIGKILL, or stopped with SIGTERM, and restarted on the same data directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_scimd");

fn scimd(args: &[&str], data: &Path) -> std::process::Output {
    Command::new(BIN).args(args).arg("--data-dir").arg(data).output().expect("scimd runs")
}

/// Starts `scimd serve` on a free port; returns the child and its base URL.
fn serve(data: &Path) -> Result<(Child, String)> {
    serve_with(data, &[])
}

/// `serve` with extra environment (e.g. the first administrator's credentials).
fn serve_with(data: &Path, env: &[(&str, &str)]) -> Result<(Child, String)> {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("SCIMD_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let Some(line) = lines.next() else { break };
        let line = line?;
        if let Some(url) = line.strip_prefix("scimd listening on ") {
            // Keep draining stderr so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Ok((child, url.trim().to_string()));
        }
    }
    let _ = child.kill();
    Err("scimd did not report its address".into())
}

#[test]
fn token_create_prints_only_the_token() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = scimd(&["realm", "create", "acme"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "manage-users"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout)?;
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("scimd_") && stdout.trim().len() > 40, "{stdout:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operations_limit_is_set_by_flag_or_environment_and_advertised() -> Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(scimd(&["realm", "create", "acme"], dir.path()).status.success());
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "manage-users"], dir.path());
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let (mut child, url) = serve_with(dir.path(), &[("SCIMD_MAX_OPERATIONS", "2")])?;
    let http = reqwest::Client::new();
    let base = format!("{url}/realms/acme/scim/v2");
    let spc: serde_json::Value =
        http.get(format!("{base}/ServiceProviderConfig")).bearer_auth(&token).send().await?.json().await?;
    assert_eq!(spc["bulk"]["maxOperations"], 2);
    let op = json!({"method": "DELETE", "path": "/Users/x"});
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [op.clone(), op.clone(), op]});
    let r = http.post(format!("{base}/Bulk")).bearer_auth(&token).json(&bulk).send().await?;
    assert_eq!(r.status(), 413);
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

#[test]
fn offline_commands_fail_clearly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = scimd(&["token", "create", "--realm", "ghost", "--role", "manage-users"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("realm 'ghost' does not exist"));
    assert!(scimd(&["realm", "create", "acme"], dir.path()).status.success());
    let out = scimd(&["realm", "create", "acme"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "superuser"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role 'superuser'"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_kill_9() -> Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(scimd(&["realm", "create", "acme"], dir.path()).status.success());
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "manage-users"], dir.path());
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let (mut child, url) = serve(dir.path())?;
    let http = reqwest::Client::new();
    let base = format!("{url}/realms/acme/scim/v2");
    let mut ids = Vec::new();
    for i in 0..200 {
        let r = http
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}")}))
            .send()
            .await?;
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await?;
        ids.push(body["id"].as_str().unwrap_or_default().to_string());
    }
    let group = http
        .post(format!("{base}/Groups"))
        .bearer_auth(&token)
        .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g", "members": [{"value": ids[0]}]}))
        .send()
        .await?;
    assert_eq!(group.status(), 201);
    child.kill()?; // SIGKILL: no shutdown, no checkpoint.
    child.wait()?;

    let (mut child, url) = serve(dir.path())?;
    let base = format!("{url}/realms/acme/scim/v2");
    for id in &ids {
        let r = http.get(format!("{base}/Users/{id}")).bearer_auth(&token).send().await?;
        assert_eq!(r.status(), 200, "user {id} was acknowledged but is gone");
    }
    let list: serde_json::Value = http
        .get(format!("{base}/Groups?filter=displayName%20eq%20%22g%22"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["members"][0]["value"], ids[0]);
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// What systemd, Docker and Kubernetes send to stop a server: `SIGTERM` lets a request under
/// way finish (here one whose body is still arriving), commits it, folds the WAL into the
/// database and exits 0, leaving no WAL for a restart to replay (docs/architecture.md §4).
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_the_request_in_flight_and_leaves_no_wal() -> Result<()> {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir()?;
    assert!(scimd(&["realm", "create", "acme"], dir.path()).status.success());
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "manage-users"], dir.path());
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let (mut child, url) = serve(dir.path())?;
    let http = reqwest::Client::new();
    let base = format!("{url}/realms/acme/scim/v2");
    for i in 0..20 {
        let r = http
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}")}))
            .send()
            .await?;
        assert_eq!(r.status(), 201);
    }
    let wal = dir.path().join("scimd.db-wal");
    assert!(wal.exists(), "a serving scimd writes through its WAL");

    // A request whose head is in and whose body is half sent when SIGTERM arrives.
    let addr = url.trim_start_matches("http://").to_string();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "in-flight"}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = std::net::TcpStream::connect(&addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        conn,
        "POST /realms/acme/scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )?;
    conn.flush()?;
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?.success());
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(rest.as_bytes())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    assert!(answer.starts_with("HTTP/1.1 201"), "the request in flight was not completed: {answer}");

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        assert!(Instant::now() < deadline, "scimd did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "scimd exited with {status}");
    assert!(!wal.exists(), "a clean shutdown leaves no WAL to replay");

    let (mut child, url) = serve(dir.path())?;
    let found: serde_json::Value = http
        .get(format!("{url}/realms/acme/scim/v2/Users?filter=userName%20eq%20%22in-flight%22"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(found["totalResults"], 1, "the request answered during the drain was committed");
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// The workspace root (this crate lives in `host/`).
fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ is in the workspace").to_path_buf()
}

/// `scimd admin …` against a server, with its own config file.
fn admin(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN).arg("admin").args(args).env("SCIMD_ADMIN_CONFIG", config).output().expect("scimd runs")
}

/// Keycloak's SCIM Realm API walkthrough (examples/keycloak-walkthrough.sh) runs as is, with
/// `scimd admin` for kcadm.sh, and leaves what it says it made.
#[tokio::test(flavor = "multi_thread")]
async fn keycloak_walkthrough_runs_as_is() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut child, url) = serve_with(dir.path(), &[("SCIMD_ADMIN", "admin"), ("SCIMD_ADMIN_PASSWORD", "admin")])?;
    let bin_dir = Path::new(BIN).parent().ok_or("no bin dir")?;
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg(root().join("examples/keycloak-walkthrough.sh"))
        .env("PATH", path)
        .env("SCIMD_URL", &url)
        .env("SCIMD_ADMIN_CONFIG", dir.path().join("kcadm.config"))
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "the walkthrough failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Discovery was served.
    assert!(stdout.contains("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"), "{stdout}");
    assert!(stdout.contains("urn:ietf:params:scim:schemas:core:2.0:Group"), "{stdout}");
    assert!(stdout.contains("\"endpoint\":\"/Users\""), "{stdout}");

    // What the walkthrough made is there, membership visible on both sides.
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/realms/myrealm/protocol/openid-connect/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "scim-client"), ("client_secret", "secret")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().ok_or("no access token")?.to_string();
    let scim = format!("{url}/realms/myrealm/scim/v2");
    let users: serde_json::Value = http
        .get(format!("{scim}/Users?filter=userName%20eq%20%22bjensen%22"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(users["totalResults"], 1);
    let user = &users["Resources"][0];
    assert_eq!(user["groups"][0]["display"], "Tour Guides");
    let groups: serde_json::Value = http
        .get(format!("{scim}/Groups?filter=displayName%20eq%20%22Tour%20Guides%22"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(groups["totalResults"], 1);
    assert_eq!(groups["Resources"][0]["members"][0]["value"], user["id"]);
    child.kill()?;
    child.wait()?;
    Ok(())
}

#[test]
fn admin_cli_errors_are_clear() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("kcadm.config");
    let (mut child, url) = serve_with(dir.path(), &[("SCIMD_ADMIN", "admin"), ("SCIMD_ADMIN_PASSWORD", "admin")])?;
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();

    let out = admin(&config, &["get", "realms"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not logged in"), "{}", stderr(&out));

    let out = admin(
        &config,
        &["config", "credentials", "--server", &url, "--realm", "master", "--user", "admin", "--password", "wrong"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid user credentials"), "{}", stderr(&out));

    let out = admin(
        &config,
        &["config", "credentials", "--server", &url, "--realm", "master", "--user", "admin", "--password", "admin"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let out = admin(&config, &["get", "realms/nosuch"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("realm 'nosuch' does not exist"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("backtrace"), "errors are sentences, not backtraces");

    assert!(admin(&config, &["create", "realms", "-s", "realm=acme"]).status.success());
    let out = admin(&config, &["create", "realms", "-s", "realm=acme"]);
    assert!(stderr(&out).contains("realm 'acme' already exists"), "{}", stderr(&out));

    let out = admin(
        &config,
        &["create", "clients", "-r", "acme", "-s", "clientId=app", "-s", "serviceAccountsEnabled=true", "-i"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout)?.trim().len(), 36, "-i prints the new client's id");
    let out = admin(&config, &["create", "clients", "-r", "acme", "-s", "clientId=app"]);
    assert!(stderr(&out).contains("a client with clientId 'app' already exists"), "{}", stderr(&out));

    let out = admin(
        &config,
        &[
            "add-roles",
            "-r",
            "acme",
            "--uusername",
            "service-account-app",
            "--cclientid",
            "realm-management",
            "--rolename",
            "no-such-role",
        ],
    );
    assert!(stderr(&out).contains("has no role 'no-such-role'"), "{}", stderr(&out));
    let out = admin(
        &config,
        &[
            "add-roles",
            "-r",
            "acme",
            "--uusername",
            "nobody",
            "--cclientid",
            "realm-management",
            "--rolename",
            "manage-users",
        ],
    );
    assert!(stderr(&out).contains("user 'nobody' does not exist"), "{}", stderr(&out));
    let out = admin(
        &config,
        &[
            "add-roles",
            "-r",
            "acme",
            "--uusername",
            "service-account-app",
            "--cclientid",
            "nope",
            "--rolename",
            "manage-users",
        ],
    );
    assert!(stderr(&out).contains("client 'nope' does not exist"), "{}", stderr(&out));

    let out = admin(&config, &["update", "realms/acme", "-s", "scimApiEnabled=false", "-s", "displayName=Acme"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = admin(&config, &["get", "realms/acme"]);
    let realm: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        (realm["scimApiEnabled"].clone(), realm["displayName"].clone()),
        (serde_json::json!(false), serde_json::json!("Acme"))
    );
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// The realm's user profile, extension schemas and engine component, from the command line
/// (kcadm's `update users/profile -f`, and `component deploy|list|get|rollback`).
#[test]
fn admin_cli_sets_the_profile_and_extensions_and_deploys_components() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("kcadm.config");
    let (mut child, url) = serve_with(dir.path(), &[("SCIMD_ADMIN", "admin"), ("SCIMD_ADMIN_PASSWORD", "admin")])?;
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    let json = |o: &std::process::Output| serde_json::from_slice::<serde_json::Value>(&o.stdout);
    let login =
        ["config", "credentials", "--server", &url, "--realm", "master", "--user", "admin", "--password", "admin"];
    assert!(admin(&config, &login).status.success());
    assert!(admin(&config, &["create", "realms", "-s", "realm=acme"]).status.success());

    let profile = serde_json::json!({"attributes": [{"name": "employeeNumber", "annotations": {
        "kc.scim.schema.attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}}]});
    let file = dir.path().join("profile.json");
    std::fs::write(&file, profile.to_string())?;
    let out = admin(&config, &["update", "users/profile", "-r", "acme", "-f", &file.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&admin(&config, &["get", "users/profile", "-r", "acme"]))?, profile);

    let extensions = serde_json::json!([{"schema": "urn:acme:params:scim:schemas:extension:hr:1.0:User",
        "resourceType": "User", "attributes": [{"name": "costCenter", "type": "string"}]}]);
    let file = dir.path().join("extensions.json");
    std::fs::write(&file, extensions.to_string())?;
    let out = admin(&config, &["update", "scim/extensions", "-r", "acme", "-f", &file.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&admin(&config, &["get", "scim/extensions", "-r", "acme"]))?, extensions);

    let wasm = dir.path().join("engine.wasm");
    std::fs::write(&wasm, scimd::runtime::DEFAULT_COMPONENT)?;
    let out = admin(&config, &["component", "deploy", "-r", "acme", &wasm.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)?["version"], 1);
    let list = json(&admin(&config, &["component", "list", "-r", "acme"]))?;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(json(&admin(&config, &["component", "get", "-r", "acme", "1"]))?["active"], true);
    let out = admin(&config, &["component", "rollback", "-r", "acme"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)?["version"], 0);

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm")?;
    let out = admin(&config, &["component", "deploy", "-r", "acme", &junk.to_string_lossy()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a valid WebAssembly component"), "{}", stderr(&out));
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// A server whose every administrator is lost (disabled here, the way a permanent lockout
/// would) is recovered offline with `scimd bootstrap-admin`, as with Keycloak's command; the
/// recovered administrator then sets another user's password with `scimd admin set-password`.
#[test]
fn bootstrap_admin_recovers_a_server_whose_administrators_are_lost() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("kcadm.config");
    let (mut child, url) = serve_with(dir.path(), &[("SCIMD_ADMIN", "admin"), ("SCIMD_ADMIN_PASSWORD", "admin")])?;
    let login = |user: &str, password: &str| {
        admin(
            &config,
            &["config", "credentials", "--server", &url, "--realm", "master", "--user", user, "--password", password],
        )
    };
    assert!(login("admin", "admin").status.success());
    // The last administrator cannot be disabled through the API; losing it takes the store.
    child.kill()?;
    child.wait()?;
    let db = rusqlite::Connection::open(dir.path().join("scimd.db"))?;
    db.execute("UPDATE users SET enabled = 0 WHERE username = 'admin'", [])?;
    drop(db);
    let (mut child, url) = serve(dir.path())?;
    let login = |user: &str, password: &str| {
        admin(
            &config,
            &["config", "credentials", "--server", &url, "--realm", "master", "--user", user, "--password", password],
        )
    };
    assert!(!login("admin", "admin").status.success(), "locked out");
    child.kill()?;
    child.wait()?;
    let recovered = Command::new(BIN)
        .args(["bootstrap-admin", "--username", "rescue", "--password-env", "RESCUE_PW", "--data-dir"])
        .arg(dir.path())
        .env("RESCUE_PW", "Rescue-Secret-1")
        .output()?;
    assert!(recovered.status.success(), "{}", String::from_utf8_lossy(&recovered.stderr));
    let (mut child, url) = serve(dir.path())?;
    let login = |user: &str, password: &str| {
        admin(
            &config,
            &["config", "credentials", "--server", &url, "--realm", "master", "--user", user, "--password", password],
        )
    };
    let out = login("rescue", "Rescue-Secret-1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The rescuer re-enables the old administrator with a new password.
    let found = admin(&config, &["get", "users", "-r", "master", "-q", "username=admin", "-q", "exact=true"]);
    let users: serde_json::Value = serde_json::from_slice(&found.stdout)?;
    let id = users[0]["id"].as_str().ok_or("no admin user")?.to_string();
    assert!(admin(&config, &["update", &format!("users/{id}"), "-r", "master", "-s", "enabled=true"]).status.success());
    let set =
        admin(&config, &["set-password", "-r", "master", "--username", "admin", "--new-password", "Admin-Secret-2"]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert!(login("admin", "Admin-Secret-2").status.success());
    assert!(!login("admin", "admin").status.success(), "the old password is gone");
    child.kill()?;
    child.wait()?;
    Ok(())
}
