//! Test support: a real scimd (the library's `app`, the embedded component, a fresh SQLite
//! file in a temporary directory) on `127.0.0.1:0`, and a small HTTP client for it.

pub mod guests;
pub mod oauth;

use std::path::Path;

use anyhow::{Context, Result};
use scimd::auth::{generate_token, hash_token};
use scimd::{AppState, Settings};
use serde_json::Value;

/// A running server.
pub struct Server {
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Result<Server> {
        Server::start_with(|_| {}).await
    }

    /// Starts a server after `configure` adjusts its settings.
    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> Result<Server> {
        Server::start_in(tempfile::tempdir()?, configure).await
    }

    /// Stops this server and starts a new one on the same data directory, as a restart would.
    pub async fn restart(mut self) -> Result<Server> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let dir = tempfile::TempDir::new()?;
        let dir = std::mem::replace(&mut self.dir, dir);
        drop(self);
        Server::start_in(dir, |_| {}).await
    }

    /// Starts a server on a data directory made beforehand (a fixture of an older build).
    pub async fn start_on(dir: tempfile::TempDir) -> Result<Server> {
        Server::start_in(dir, |_| {}).await
    }

    async fn start_in(dir: tempfile::TempDir, configure: impl FnOnce(&mut Settings)) -> Result<Server> {
        let mut settings = Settings::new(dir.path().to_path_buf());
        configure(&mut settings);
        let state = tokio::task::spawn_blocking(move || AppState::new(settings)).await??;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            let _ = scimd::serve(listener, serving, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Server { addr, state, shutdown: Some(tx), dir })
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates a realm (compatibility `entra` or `strict`) and a client with `roles`.
    pub fn realm(&self, name: &str, compatibility: &str, roles: &[&str]) -> Result<Client> {
        let realm = self.state.store.create_realm(name, compatibility)?;
        let token = self.token(realm.id, roles)?;
        Ok(Client::new(self.url(&format!("/realms/{name}/scim/v2")), Some(token)))
    }

    /// A new token for a realm.
    pub fn token(&self, realm_id: i64, roles: &[&str]) -> Result<String> {
        let token = generate_token();
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        self.state.store.create_token(realm_id, &hash_token(&token), &roles, None)?;
        Ok(token)
    }

    /// The realm's id.
    pub fn realm_id(&self, name: &str) -> Result<i64> {
        Ok(self.state.store.realm(name)?.context("no such realm")?.id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response, with the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `scimType` of an error body.
    pub fn scim_type(&self) -> Option<&str> {
        self.json.get("scimType").and_then(Value::as_str)
    }

    pub fn detail(&self) -> &str {
        self.json.get("detail").and_then(Value::as_str).unwrap_or("")
    }

    /// Asserts an admin API error: status and Keycloak's `{"error", "errorMessage"}` with a
    /// message mentioning `message_contains`.
    pub fn assert_admin_error(&self, status: u16, message_contains: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert!(self.json["error"].is_string(), "error in {}", self.text);
        let message = self.json["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&message_contains.to_lowercase()),
            "errorMessage {message:?} should mention {message_contains:?}"
        );
    }

    /// Asserts an error response: status, `scimType`, the SCIM error schema and content type,
    /// and a detail mentioning `detail_contains`.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>, detail_contains: &str) {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.scim_type(), scim_type, "scimType of {}", self.text);
        assert_eq!(
            self.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "error schema in {}",
            self.text
        );
        assert_eq!(self.json["status"], status.to_string(), "status string in {}", self.text);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
        assert!(
            self.detail().to_lowercase().contains(&detail_contains.to_lowercase()),
            "detail {:?} should mention {detail_contains:?}",
            self.detail()
        );
    }

    /// The `id` of a resource body.
    pub fn id(&self) -> String {
        self.json["id"].as_str().unwrap_or_default().to_string()
    }
}

/// An HTTP client for one realm's SCIM base.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: String, token: Option<String>) -> Client {
        Client { base, token, http: reqwest::Client::new() }
    }

    /// The same realm with another token (or none).
    pub fn with_token(&self, token: Option<String>) -> Client {
        Client { token, ..self.clone() }
    }

    /// The same realm and token on another server (the same one restarted, on a new port).
    pub fn with_base(&self, server: &Server) -> Client {
        let path = self.base.find("/realms/").map_or("", |i| &self.base[i..]);
        Client { base: server.url(path), ..self.clone() }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<String>, headers: &[(&str, &str)]) -> Result<Resp> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let mut req = self.http.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Resp { status, headers, text, json })
    }

    pub async fn get(&self, path: &str) -> Result<Resp> {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Resp> {
        self.send("POST", path, Some(body.to_string()), &[]).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Resp> {
        self.send("PUT", path, Some(body.to_string()), &[]).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Resp> {
        self.send("PATCH", path, Some(body.to_string()), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Result<Resp> {
        self.send("DELETE", path, None, &[]).await
    }

    /// Creates a user with a userName and extra attributes; returns its id.
    pub async fn create_user(&self, user_name: &str, extra: Value) -> Result<String> {
        let mut body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
        });
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            // Every extension used is listed in `schemas`, as RFC 7643 §3 asks.
            let extensions: Vec<Value> =
                e.keys().filter(|k| k.starts_with("urn:")).map(|k| Value::String(k.clone())).collect();
            b.extend(e);
            if let Some(Value::Array(s)) = b.get_mut("schemas") {
                s.extend(extensions);
            }
        }
        let r = self.post("/Users", &body).await?;
        anyhow::ensure!(r.status == 201, "creating {user_name}: {} {}", r.status, r.text);
        Ok(r.id())
    }

    /// Creates a group; returns its id.
    pub async fn create_group(&self, name: &str, members: &[&str]) -> Result<String> {
        let members: Vec<Value> = members.iter().map(|m| serde_json::json!({"value": m})).collect();
        let r = self
            .post(
                "/Groups",
                &serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": name,
                    "members": members,
                }),
            )
            .await?;
        anyhow::ensure!(r.status == 201, "creating group {name}: {} {}", r.status, r.text);
        Ok(r.id())
    }

    /// `totalResults` and the `id`s of a list or search response.
    pub async fn ids(&self, path: &str) -> Result<(i64, Vec<String>)> {
        let r = self.get(path).await?;
        anyhow::ensure!(r.status == 200, "GET {path}: {} {}", r.status, r.text);
        let ids = r.json["Resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Ok((r.json["totalResults"].as_i64().unwrap_or(-1), ids))
    }
}

/// Percent-encodes a query value.
pub fn q(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
