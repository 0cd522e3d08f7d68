//! `scimd admin`: a client of the admin REST API that takes kcadm.sh's verbs and flags, so
//! Keycloak's walkthroughs run with `scimd admin` in place of `kcadm.sh`:
//!
//! ```text
//! scimd admin config credentials --server http://localhost:8080 --realm master --user admin --password admin
//! scimd admin create realms -s realm=myrealm -s enabled=true
//! scimd admin create clients -r myrealm -s clientId=scim-client -s secret=secret
//! scimd admin add-roles -r myrealm --uusername service-account-scim-client --cclientid realm-management --rolename manage-users
//! scimd admin get clients -r myrealm -q clientId=scim-client
//! scimd admin update realms/myrealm -s scimApiEnabled=false
//! scimd admin delete clients/<id> -r myrealm
//! scimd admin set-password -r myrealm --username alice --new-password 'S3cret!'
//! ```
//!
//! Like kcadm, `config credentials` logs in (password grant) and keeps the tokens in a config
//! file (`~/.scimd/kcadm.config`, or `--config` / `SCIMD_ADMIN_CONFIG`), refreshing them as
//! they expire.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Args)]
pub struct Admin {
    /// The config file holding the server and tokens.
    #[arg(long, env = "SCIMD_ADMIN_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Subcommand)]
enum Verb {
    /// Log in and remember the session (`config credentials`).
    Config {
        #[command(subcommand)]
        what: ConfigWhat,
    },
    /// Create a resource: `create realms -s realm=x`, `create clients -r x -s clientId=y`.
    Create(Write),
    /// Read a resource or list: `get realms`, `get clients -r x -q clientId=y`.
    Get(Read),
    /// Change a resource (read, merge, write back): `update realms/x -s enabled=false`.
    Update(Write),
    /// Delete a resource: `delete clients/<id> -r x`.
    Delete(Target),
    /// Grant roles to a user: `add-roles -r x --uusername u --cclientid realm-management --rolename manage-users`.
    AddRoles(Roles),
    /// Take roles from a user (same flags as add-roles).
    RemoveRoles(Roles),
    /// Set a user's password: `set-password -r x --username u --new-password p` (its sessions end).
    SetPassword(SetPassword),
    /// A realm's SCIM engine component: deploy, list, inspect, roll back.
    Component {
        #[command(subcommand)]
        what: ComponentWhat,
    },
}

#[derive(Subcommand)]
enum ComponentWhat {
    /// Deploy a `.wasm` component as the realm's SCIM engine (checked, then swapped in).
    Deploy {
        #[arg(short = 'r', long = "target-realm")]
        realm: Option<String>,
        file: PathBuf,
    },
    /// List the realm's deployments (version 0 is the built-in engine).
    List {
        #[arg(short = 'r', long = "target-realm")]
        realm: Option<String>,
    },
    /// Show one deployment.
    Get {
        #[arg(short = 'r', long = "target-realm")]
        realm: Option<String>,
        version: i64,
    },
    /// Go back to the version that ran before the current one, or to `--to VERSION` (0: the
    /// built-in engine).
    Rollback {
        #[arg(short = 'r', long = "target-realm")]
        realm: Option<String>,
        #[arg(long)]
        to: Option<i64>,
    },
}

#[derive(Subcommand)]
enum ConfigWhat {
    Credentials {
        /// The server's base URL, e.g. http://localhost:8080.
        #[arg(long)]
        server: String,
        /// The realm to log in to.
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        password: String,
        /// The client to log in with.
        #[arg(long, default_value = "admin-cli")]
        client: String,
        /// The client's secret, for a confidential client.
        #[arg(long)]
        secret: Option<String>,
    },
}

#[derive(Args)]
struct Target {
    /// `realms`, `realms/<name>`, `clients`, `clients/<id>`, `users`, … (relative to -r).
    endpoint: String,
    /// The target realm (default: the realm logged in to).
    #[arg(short = 'r', long = "target-realm")]
    realm: Option<String>,
}

#[derive(Args)]
struct Write {
    #[command(flatten)]
    target: Target,
    /// A field of the body: `-s key=value` (the value as JSON when it parses, a string
    /// otherwise; `a.b=c` nests). Repeatable.
    #[arg(short = 's', long = "set")]
    set: Vec<String>,
    /// A JSON file for the body (`-` for stdin); `-s` fields go on top.
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Print only the new resource's id.
    #[arg(short = 'i', long = "id")]
    id_only: bool,
}

#[derive(Args)]
struct Read {
    #[command(flatten)]
    target: Target,
    /// A query parameter: `-q clientId=x`. Repeatable.
    #[arg(short = 'q', long = "query")]
    query: Vec<String>,
}

#[derive(Args)]
struct Roles {
    #[arg(short = 'r', long = "target-realm")]
    realm: Option<String>,
    /// The user, by username…
    #[arg(long = "uusername")]
    username: Option<String>,
    /// …or by id.
    #[arg(long = "uid")]
    user_id: Option<String>,
    /// The client whose roles these are, by clientId… (realm roles without it)
    #[arg(long = "cclientid")]
    client_id: Option<String>,
    /// …or by id.
    #[arg(long = "cid")]
    client_uuid: Option<String>,
    /// A role name. Repeatable.
    #[arg(long = "rolename", required = true)]
    roles: Vec<String>,
}

#[derive(Args)]
struct SetPassword {
    #[arg(short = 'r', long = "target-realm")]
    realm: Option<String>,
    /// The user, by username…
    #[arg(long = "username")]
    username: Option<String>,
    /// …or by id.
    #[arg(long = "userid")]
    user_id: Option<String>,
    #[arg(long = "new-password")]
    new_password: String,
    /// kcadm's flag; scimd has no login page to change a temporary password, so it refuses it.
    #[arg(long)]
    temporary: bool,
}

/// What `config credentials` keeps.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Session {
    server_url: String,
    realm: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    token: String,
    refresh_token: Option<String>,
    expires_at: u64,
    refresh_expires_at: u64,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn config_path(explicit: &Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.clone());
    }
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow!("HOME is not set; pass --config FILE"))?;
    Ok(PathBuf::from(home).join(".scimd").join("kcadm.config"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// A response: status, `Location`, body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

fn answer(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>, url: &str) -> Result<Answer> {
    let resp = resp.map_err(|e| anyhow!("cannot reach {url}: {e}"))?;
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = resp.into_body().read_to_string().unwrap_or_default();
    Ok(Answer { status, location, body })
}

/// The error message of an admin API or OAuth error body.
fn message(a: &Answer) -> String {
    let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
    for key in ["errorMessage", "error_description", "detail", "error"] {
        if let Some(m) = v.get(key).and_then(Value::as_str) {
            return m.to_string();
        }
    }
    if a.body.trim().is_empty() { format!("HTTP {}", a.status) } else { a.body.trim().to_string() }
}

fn token_request(server: &str, realm: &str, form: &[(&str, &str)]) -> Result<Value> {
    let url = format!("{}/realms/{realm}/protocol/openid-connect/token", server.trim_end_matches('/'));
    let a = answer(agent().post(&url).send_form(form.iter().copied()), &url)?;
    if a.status != 200 {
        bail!("login failed: {}", message(&a));
    }
    serde_json::from_str(&a.body).context("the token endpoint answered something that is not JSON")
}

fn session_from(v: &Value, base: Session) -> Session {
    let t = now();
    Session {
        token: v["access_token"].as_str().unwrap_or_default().to_string(),
        refresh_token: v["refresh_token"].as_str().map(str::to_string),
        expires_at: t + v["expires_in"].as_u64().unwrap_or(60),
        refresh_expires_at: t + v["refresh_expires_in"].as_u64().unwrap_or(0),
        ..base
    }
}

/// Writes the session: it holds tokens, so the file is `0600` from the moment it exists (a
/// new directory for it `0700`), never readable by others in between.
fn save(path: &PathBuf, s: &Session) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // A file an older version left readable is made private before anything goes in.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(serde_json::to_string_pretty(s)?.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The saved session, refreshed when its access token is (nearly) expired.
fn session(path: &PathBuf) -> Result<Session> {
    let text = std::fs::read_to_string(path).map_err(|_| {
        anyhow!("not logged in: run `scimd admin config credentials --server URL --realm master --user USER --password PASSWORD`")
    })?;
    let s: Session =
        serde_json::from_str(&text).with_context(|| format!("{} is not a scimd admin config", path.display()))?;
    if s.expires_at > now() + 10 {
        return Ok(s);
    }
    let Some(refresh) = s.refresh_token.clone().filter(|_| s.refresh_expires_at > now() + 5) else {
        bail!("the session has expired: run `scimd admin config credentials` again");
    };
    let mut form =
        vec![("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", s.client_id.as_str())];
    let secret = s.client_secret.clone();
    if let Some(sec) = &secret {
        form.push(("client_secret", sec));
    }
    let v = token_request(&s.server_url, &s.realm, &form)?;
    let fresh = session_from(&v, Session { refresh_token: Some(refresh.clone()), ..s });
    let fresh = Session { refresh_token: fresh.refresh_token.or(Some(refresh)), ..fresh };
    save(path, &fresh)?;
    Ok(fresh)
}

/// The admin URL of an endpoint: `realms…` is absolute, anything else is inside the realm.
fn url(s: &Session, target: &Target) -> String {
    let endpoint = target.endpoint.trim_matches('/');
    let base = format!("{}/admin", s.server_url.trim_end_matches('/'));
    if endpoint == "realms" || endpoint.starts_with("realms/") {
        return format!("{base}/{endpoint}");
    }
    let realm = target.realm.as_deref().unwrap_or(&s.realm);
    format!("{base}/realms/{realm}/{endpoint}")
}

/// Builds a body from `-f` and `-s`.
fn body(write: &Write) -> Result<Value> {
    let mut body = match &write.file {
        Some(f) => {
            let text = if f == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(f).with_context(|| format!("reading {f}"))?
            };
            serde_json::from_str(&text).with_context(|| format!("{f} is not JSON"))?
        }
        None => Value::Object(Map::new()),
    };
    for pair in &write.set {
        let (key, raw) = pair.split_once('=').ok_or_else(|| anyhow!("-s {pair}: expected key=value"))?;
        let value = serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        let mut node = &mut body;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let obj = node
                .as_object_mut()
                .ok_or_else(|| anyhow!("-s {pair}: '{part}' is inside a value that is not an object"))?;
            if i == parts.len() - 1 {
                obj.insert(part.to_string(), value.clone());
                break;
            }
            node = obj.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
        }
    }
    Ok(body)
}

fn send(s: &Session, method: &str, url: &str, body: Option<&Value>) -> Result<Answer> {
    let agent = agent();
    let auth = format!("Bearer {}", s.token);
    let resp = match (method, body) {
        ("GET", _) => agent.get(url).header("Authorization", &auth).call(),
        ("DELETE", None) => agent.delete(url).header("Authorization", &auth).call(),
        ("DELETE", Some(b)) => agent.delete(url).header("Authorization", &auth).force_send_body().send_json(b),
        ("POST", Some(b)) => agent.post(url).header("Authorization", &auth).send_json(b),
        ("POST", None) => agent.post(url).header("Authorization", &auth).send_empty(),
        ("PUT", Some(b)) => agent.put(url).header("Authorization", &auth).send_json(b),
        _ => bail!("unsupported request {method} {url}"),
    };
    let a = answer(resp, url)?;
    if a.status >= 400 {
        bail!("{} ({} {})", message(&a), a.status, url);
    }
    Ok(a)
}

fn get_json(s: &Session, url: &str) -> Result<Value> {
    let a = send(s, "GET", url, None)?;
    serde_json::from_str(&a.body).with_context(|| format!("{url} answered something that is not JSON"))
}

/// The singular of an endpoint's collection, for messages like kcadm's.
fn noun(endpoint: &str) -> &str {
    let last = endpoint.trim_matches('/').rsplit('/').next().unwrap_or(endpoint);
    last.strip_suffix('s').unwrap_or(last)
}

pub fn run(admin: Admin) -> Result<()> {
    let path = config_path(&admin.config)?;
    match admin.command {
        Verb::Config { what: ConfigWhat::Credentials { server, realm, user, password, client, secret } } => {
            let mut form = vec![
                ("grant_type", "password"),
                ("client_id", client.as_str()),
                ("username", user.as_str()),
                ("password", password.as_str()),
            ];
            if let Some(sec) = &secret {
                form.push(("client_secret", sec));
            }
            let v = token_request(&server, &realm, &form)?;
            let s = session_from(
                &v,
                Session {
                    server_url: server.trim_end_matches('/').to_string(),
                    realm: realm.clone(),
                    client_id: client,
                    client_secret: secret,
                    ..Default::default()
                },
            );
            save(&path, &s)?;
            eprintln!("Logging into {server} as user {user} of realm {realm}");
            Ok(())
        }
        Verb::Create(w) => {
            let s = session(&path)?;
            let u = url(&s, &w.target);
            let a = send(&s, "POST", &u, Some(&body(&w)?))?;
            let id = a.location.as_deref().and_then(|l| l.rsplit('/').next()).unwrap_or_default().to_string();
            if w.id_only {
                println!("{id}");
            } else if !a.body.trim().is_empty() {
                println!("{}", a.body);
            } else {
                eprintln!("Created new {} with id '{id}'", noun(&w.target.endpoint));
            }
            Ok(())
        }
        Verb::Get(r) => {
            let s = session(&path)?;
            let mut u = url(&s, &r.target);
            if !r.query.is_empty() {
                let pairs: Vec<(&str, &str)> =
                    r.query.iter().map(|q| q.split_once('=').unwrap_or((q.as_str(), ""))).collect();
                u = format!("{u}?{}", serde_urlencoded::to_string(pairs)?);
            }
            println!("{}", serde_json::to_string_pretty(&get_json(&s, &u)?)?);
            Ok(())
        }
        Verb::Update(w) => {
            let s = session(&path)?;
            let u = url(&s, &w.target);
            // An object is merged field by field (kcadm's update); anything else, such as the
            // list of `scim/extensions`, is replaced.
            let next = match (get_json(&s, &u)?, body(&w)?) {
                (Value::Object(mut current), Value::Object(changes)) => {
                    current.extend(changes);
                    Value::Object(current)
                }
                (_, replacement) => replacement,
            };
            send(&s, "PUT", &u, Some(&next))?;
            Ok(())
        }
        Verb::Delete(t) => {
            let s = session(&path)?;
            send(&s, "DELETE", &url(&s, &t), None)?;
            Ok(())
        }
        Verb::Component { what } => component(&path, what),
        Verb::AddRoles(r) => roles(&path, r, true),
        Verb::RemoveRoles(r) => roles(&path, r, false),
        Verb::SetPassword(p) => {
            let s = session(&path)?;
            let realm = p.realm.clone().unwrap_or_else(|| s.realm.clone());
            let base = format!("{}/admin/realms/{realm}", s.server_url);
            let id = user_id(&s, &base, &realm, &p.user_id, &p.username)?;
            let body = serde_json::json!({"type": "password", "value": p.new_password, "temporary": p.temporary});
            send(&s, "PUT", &format!("{base}/users/{id}/reset-password"), Some(&body))?;
            Ok(())
        }
    }
}

/// A user's id, given or looked up by username.
fn user_id(s: &Session, base: &str, realm: &str, id: &Option<String>, name: &Option<String>) -> Result<String> {
    match (id, name) {
        (Some(id), _) => Ok(id.clone()),
        (None, Some(name)) => {
            let q = serde_urlencoded::to_string([("username", name.as_str()), ("exact", "true")])?;
            let found = get_json(s, &format!("{base}/users?{q}"))?;
            found
                .as_array()
                .and_then(|a| a.iter().find(|u| u["username"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))))
                .and_then(|u| u["id"].as_str())
                .map(str::to_string)
                .ok_or_else(|| anyhow!("user '{name}' does not exist in realm '{realm}'"))
        }
        (None, None) => bail!("name the user with --username/--uusername or --userid/--uid"),
    }
}

fn component(path: &PathBuf, what: ComponentWhat) -> Result<()> {
    let s = session(path)?;
    let base =
        |realm: &Option<String>| format!("{}/admin/realms/{}/scim", s.server_url, realm.as_deref().unwrap_or(&s.realm));
    let print = |a: &Answer| -> Result<()> {
        let v: Value = serde_json::from_str(&a.body).context("the server answered something that is not JSON")?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        Ok(())
    };
    match what {
        ComponentWhat::Deploy { realm, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let url = format!("{}/component", base(&realm));
            let resp = agent()
                .put(&url)
                .header("Authorization", &format!("Bearer {}", s.token))
                .header("Content-Type", "application/wasm")
                .send(&bytes[..]);
            let a = answer(resp, &url)?;
            if a.status >= 400 {
                bail!("{} ({} {})", message(&a), a.status, url);
            }
            print(&a)
        }
        ComponentWhat::List { realm } => print(&send(&s, "GET", &format!("{}/components", base(&realm)), None)?),
        ComponentWhat::Get { realm, version } => {
            print(&send(&s, "GET", &format!("{}/components/{version}", base(&realm)), None)?)
        }
        ComponentWhat::Rollback { realm, to } => {
            let url = match to {
                Some(v) => format!("{}/component/rollback?to={v}", base(&realm)),
                None => format!("{}/component/rollback", base(&realm)),
            };
            print(&send(&s, "POST", &url, None)?)
        }
    }
}

fn roles(path: &PathBuf, r: Roles, grant: bool) -> Result<()> {
    let s = session(path)?;
    let realm = r.realm.clone().unwrap_or_else(|| s.realm.clone());
    let base = format!("{}/admin/realms/{realm}", s.server_url);
    let user_id = user_id(&s, &base, &realm, &r.user_id, &r.username)?;
    let client = match (&r.client_uuid, &r.client_id) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(cid)) => {
            let q = serde_urlencoded::to_string([("clientId", cid.as_str())])?;
            let found = get_json(&s, &format!("{base}/clients?{q}"))?;
            Some(
                found
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(|c| c["id"].as_str())
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("client '{cid}' does not exist in realm '{realm}'"))?,
            )
        }
        (None, None) => None,
    };
    let mapping = match &client {
        Some(c) => format!("{base}/users/{user_id}/role-mappings/clients/{c}"),
        None => format!("{base}/users/{user_id}/role-mappings/realm"),
    };
    let body = Value::Array(r.roles.iter().map(|n| serde_json::json!({"name": n})).collect());
    send(&s, if grant { "POST" } else { "DELETE" }, &mapping, Some(&body))?;
    Ok(())
}
