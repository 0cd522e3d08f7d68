//! `scimd-baseline`: the floor that scimd's benchmark (`scripts/bench.sh`) measures it against.
//!
//! A bare axum + SQLite server answering the URLs the benchmark uses, for one realm:
//! `POST /realms/{realm}/scim/v2/Users`, `GET .../Users/{id}`, `GET .../Users?filter=...`,
//! `GET .../Users?startIndex=..&count=..`, `PATCH .../Users/{id}` and `POST .../Bulk` of user
//! creates. It does the HTTP and
//! SQLite work scimd does per request and no SCIM logic: no schema validation, no filter
//! language (only `userName eq "x"`, taken apart with string operations), no attribute
//! tables, no projections, and a PATCH that replaces one top-level field of the stored JSON.
//! The body a client POSTs is stored as JSON text and given back with `id` and `meta` added.
//!
//! For a fair comparison it is set up like scimd's store (host/src/store/mod.rs): WAL,
//! `synchronous = NORMAL`, one writer connection behind a mutex with every write one
//! `BEGIN IMMEDIATE` transaction, a pool of reader connections, `userName` unique through an
//! index on its lowercase (a duplicate is a 409); the bearer token is checked against a
//! SHA-256 held in memory. And as scimd runs its SQLite work and its wasm guest calls inline
//! on the tokio worker threads (a thread hand-off per request costs more than the work), this
//! server runs its SQLite and JSON work inline too. What scimd is slower than this by is the
//! cost of its SCIM logic (the wasm engine, the relational model), not of axum, tokio or SQLite.
//!
//! One difference to know when reading the numbers: an unfiltered page here counts the rows
//! with `count(*)` (a scan of an index over all users), where scimd reads a counter table.
//!
//! This is not a SCIM server; use it for nothing but benchmarks.

// Errors are ready-made responses, built at most once per request.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, HOST, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Parser)]
#[command(name = "scimd-baseline", about = "Benchmark baseline for scimd (not a SCIM server)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: String,
    /// Where the SQLite database lives.
    #[arg(long, default_value = "./baseline-data")]
    data_dir: PathBuf,
    /// The bearer token clients must send (only its SHA-256 is kept).
    #[arg(long, env = "BASELINE_TOKEN")]
    token: String,
    /// The one realm served.
    #[arg(long, default_value = "bench")]
    realm: String,
}

const SCIM_JSON: &str = "application/scim+json";
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The largest page, and the default `count` (scimd's default `--max-results`).
const MAX_RESULTS: i64 = 1000;
const COLUMNS: &str = "pk, id, body, created, modified, version";

const DDL: &str = "CREATE TABLE IF NOT EXISTS users (
    pk          INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    username    TEXT NOT NULL,
    username_ci TEXT NOT NULL,
    body        TEXT NOT NULL,
    created     INTEGER NOT NULL,
    modified    INTEGER NOT NULL,
    version     INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_id ON users(id);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_username ON users(username_ci);";

/// scimd's connection settings (host/src/store/mod.rs).
fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(Duration::from_secs(10))?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32000;",
    )?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// One writer connection, a pool of readers: as scimd's `Store`.
struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Db {
    fn open(path: &FsPath) -> rusqlite::Result<Db> {
        let writer = Connection::open(path)?;
        configure(&writer)?;
        writer.execute_batch(DDL)?;
        Ok(Db { path: path.to_path_buf(), writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let conn = match self.readers.lock().pop() {
            Some(c) => c,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = Connection::open_with_flags(&self.path, flags)?;
                configure(&c)?;
                c
            }
        };
        let result = f(&conn);
        let mut readers = self.readers.lock();
        if readers.len() < 64 {
            readers.push(conn);
        }
        result
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let mut conn = self.writer.lock();
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

struct App {
    db: Db,
    token_sha256: [u8; 32],
    realm: String,
}

type Shared = Arc<App>;
/// Errors are responses too.
type Reply = Result<Response, Response>;

fn scim(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, SCIM_JSON)], body).into_response()
}

fn error(status: StatusCode, detail: &str) -> Response {
    let body = json!({"schemas": [ERROR], "status": status.as_str(), "detail": detail});
    scim(status, body.to_string())
}

fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

fn bad_request(detail: &str) -> Response {
    error(StatusCode::BAD_REQUEST, detail)
}

fn write_error(e: rusqlite::Error) -> Response {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
            error(StatusCode::CONFLICT, "userName is already taken")
        }
        _ => internal(e),
    }
}

/// The realm exists and the bearer token is the one: the request may go on.
fn enter(app: &App, realm: &str, headers: &HeaderMap) -> Result<(), Response> {
    if realm != app.realm {
        return Err(error(StatusCode::NOT_FOUND, "no such realm"));
    }
    let token = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(t) if Sha256::digest(t.trim().as_bytes()).as_slice() == app.token_sha256 => Ok(()),
        _ => Err(error(StatusCode::UNAUTHORIZED, "the bearer token is not valid")),
    }
}

/// Runs the SQLite and JSON work off the async executor, as scimd does.
async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> Response {
    // Inline on the worker, as scimd does (see the module comment).
    match f() {
        Ok(r) | Err(r) => r,
    }
}

fn base_url(headers: &HeaderMap, realm: &str) -> String {
    let host = headers.get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}/realms/{realm}/scim/v2")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

struct Row {
    pk: i64,
    id: String,
    body: String,
    created: i64,
    modified: i64,
    version: i64,
}

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        pk: r.get(0)?,
        id: r.get(1)?,
        body: r.get(2)?,
        created: r.get(3)?,
        modified: r.get(4)?,
        version: r.get(5)?,
    })
}

fn find(c: &Connection, id: &str) -> rusqlite::Result<Option<Row>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?.query_row([id], row_of).optional()
}

/// The stored JSON with `id` and `meta` added.
fn render(base: &str, row: &Row) -> Result<Value, Response> {
    let mut v: Value = serde_json::from_str(&row.body).map_err(internal)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), Value::String(row.id.clone()));
        let meta = json!({
            "resourceType": "User",
            "created": rfc3339(row.created),
            "lastModified": rfc3339(row.modified),
            "version": format!("W/\"{}\"", row.version),
            "location": format!("{base}/Users/{}", row.id),
        });
        o.insert("meta".into(), meta);
    }
    Ok(v)
}

fn resource(status: StatusCode, base: &str, row: &Row) -> Reply {
    let mut resp = scim(status, render(base, row)?.to_string());
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", row.version)) {
        headers.insert(ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{base}/Users/{}", row.id)) {
        headers.insert(LOCATION, v);
    }
    Ok(resp)
}

fn list_response(base: &str, total: i64, start_index: i64, rows: &[Row]) -> Reply {
    let resources = rows.iter().map(|r| render(base, r)).collect::<Result<Vec<_>, _>>()?;
    let body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    });
    Ok(scim(StatusCode::OK, body.to_string()))
}

fn parse(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| bad_request(&format!("the body is not JSON: {e}")))
}

async fn create(State(app): State<Shared>, Path(realm): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = enter(&app, &realm, &headers) {
        return r;
    }
    let base = base_url(&headers, &realm);
    blocking(move || {
        let mut v = parse(&body)?;
        let username = v.get("userName").and_then(Value::as_str).ok_or_else(|| bad_request("userName is required"))?;
        let username = username.to_string();
        if let Some(o) = v.as_object_mut() {
            o.remove("id");
            o.remove("meta");
        }
        let now = now_ms();
        let mut row = Row {
            pk: 0,
            id: uuid::Uuid::new_v4().to_string(),
            body: v.to_string(),
            created: now,
            modified: now,
            version: 1,
        };
        row.pk = app
            .db
            .write(|tx| {
                tx.prepare_cached(
                    "INSERT INTO users (id, username, username_ci, body, created, modified, version) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)",
                )?
                .execute(params![row.id, username, username.to_lowercase(), row.body, now])?;
                Ok(tx.last_insert_rowid())
            })
            .map_err(write_error)?;
        resource(StatusCode::CREATED, &base, &row)
    })
    .await
}

/// `POST /Bulk` of user creates, the bare way: the whole request in one transaction, each
/// operation in a savepoint of its own (so each stays atomic), one answer per operation.
async fn bulk(State(app): State<Shared>, Path(realm): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = enter(&app, &realm, &headers) {
        return r;
    }
    let base = base_url(&headers, &realm);
    blocking(move || {
        let v = parse(&body)?;
        let ops = v.get("Operations").and_then(Value::as_array).ok_or_else(|| bad_request("Operations is required"))?;
        let now = now_ms();
        let answers = app
            .db
            .write(|tx| {
                let mut answers = Vec::with_capacity(ops.len());
                for op in ops {
                    let bulk_id = op.get("bulkId").cloned().unwrap_or(Value::Null);
                    let data = op.get("data").cloned().unwrap_or(Value::Null);
                    let Some(username) = data.get("userName").and_then(Value::as_str) else {
                        answers.push(json!({"method": "POST", "bulkId": bulk_id, "status": "400"}));
                        continue;
                    };
                    let id = uuid::Uuid::new_v4().to_string();
                    tx.execute_batch("SAVEPOINT op")?;
                    let inserted = tx
                        .prepare_cached(
                            "INSERT INTO users (id, username, username_ci, body, created, modified, version) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)",
                        )?
                        .execute(params![id, username, username.to_lowercase(), data.to_string(), now]);
                    match inserted {
                        Ok(_) => {
                            tx.execute_batch("RELEASE op")?;
                            answers.push(json!({"method": "POST", "bulkId": bulk_id, "status": "201",
                                "location": format!("{base}/Users/{id}"), "version": "W/\"1\""}));
                        }
                        Err(_) => {
                            tx.execute_batch("ROLLBACK TO op; RELEASE op")?;
                            answers.push(json!({"method": "POST", "bulkId": bulk_id, "status": "409"}));
                        }
                    }
                }
                Ok(answers)
            })
            .map_err(internal)?;
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": answers});
        Ok(scim(StatusCode::OK, body.to_string()))
    })
    .await
}

async fn get_one(State(app): State<Shared>, Path((realm, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if let Err(r) = enter(&app, &realm, &headers) {
        return r;
    }
    let base = base_url(&headers, &realm);
    blocking(move || match app.db.read(|c| find(c, &id)).map_err(internal)? {
        Some(row) => resource(StatusCode::OK, &base, &row),
        None => Err(error(StatusCode::NOT_FOUND, "no such user")),
    })
    .await
}

async fn list(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&app, &realm, &headers) {
        return r;
    }
    let base = base_url(&headers, &realm);
    blocking(move || {
        if let Some(filter) = query.get("filter") {
            // Only `userName eq "value"`, by string operations: no filter language here.
            let value = filter
                .strip_prefix("userName eq \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .ok_or_else(|| bad_request("the baseline understands only userName eq \"...\""))?;
            let sql = format!("SELECT {COLUMNS} FROM users WHERE username_ci = ?1");
            let row = app
                .db
                .read(|c| c.prepare_cached(&sql)?.query_row([value.to_lowercase()], row_of).optional())
                .map_err(internal)?;
            let rows: Vec<Row> = row.into_iter().collect();
            return list_response(&base, rows.len() as i64, 1, &rows);
        }
        let number = |name: &str, default: i64| query.get(name).and_then(|s| s.parse::<i64>().ok()).unwrap_or(default);
        let start_index = number("startIndex", 1).max(1);
        let count = number("count", MAX_RESULTS).clamp(0, MAX_RESULTS);
        let (total, rows) = app
            .db
            .read(|c| {
                let total: i64 = c.prepare_cached("SELECT count(*) FROM users")?.query_row([], |r| r.get(0))?;
                let sql = format!("SELECT {COLUMNS} FROM users ORDER BY pk LIMIT ?1 OFFSET ?2");
                let rows = c
                    .prepare_cached(&sql)?
                    .query_map(params![count, start_index - 1], row_of)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((total, rows))
            })
            .map_err(internal)?;
        list_response(&base, total, start_index, &rows)
    })
    .await
}

async fn patch(
    State(app): State<Shared>,
    Path((realm, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = enter(&app, &realm, &headers) {
        return r;
    }
    let base = base_url(&headers, &realm);
    blocking(move || {
        // The trivial patch: the first operation's `path` names a top-level attribute that
        // becomes its `value` (whatever `op` says).
        let ops = parse(&body)?;
        let first = ops.get("Operations").and_then(|o| o.get(0));
        let path = first.and_then(|o| o.get("path")).and_then(Value::as_str);
        let value = first.and_then(|o| o.get("value"));
        let (Some(path), Some(value)) = (path, value) else {
            return Err(bad_request("the baseline needs Operations[0] with a path and a value"));
        };
        // Optimistic, as scimd: read on a reader, write only if the version is still current.
        for _ in 0..5 {
            let current = app.db.read(|c| find(c, &id)).map_err(internal)?;
            let current = current.ok_or_else(|| error(StatusCode::NOT_FOUND, "no such user"))?;
            let mut v: Value = serde_json::from_str(&current.body).map_err(internal)?;
            if let Some(o) = v.as_object_mut() {
                o.insert(path.to_string(), value.clone());
            }
            let username = v.get("userName").and_then(Value::as_str).unwrap_or_default().to_string();
            let row = Row { body: v.to_string(), modified: now_ms(), version: current.version + 1, ..current };
            let changed = app
                .db
                .write(|tx| {
                    tx.prepare_cached(
                        "UPDATE users SET username = ?3, username_ci = ?4, body = ?5, modified = ?6, \
                         version = version + 1 WHERE pk = ?1 AND version = ?2",
                    )?
                    .execute(params![
                        row.pk,
                        row.version - 1,
                        username,
                        username.to_lowercase(),
                        row.body,
                        row.modified
                    ])
                })
                .map_err(write_error)?;
            if changed == 1 {
                return resource(StatusCode::OK, &base, &row);
            }
        }
        Err(error(StatusCode::CONFLICT, "the user kept changing; retry"))
    })
    .await
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.data_dir)?;
    let app = Arc::new(App {
        db: Db::open(&args.data_dir.join("baseline.db"))?,
        token_sha256: Sha256::digest(args.token.as_bytes()).into(),
        realm: args.realm,
    });
    let router = Router::new()
        .route("/realms/{realm}/scim/v2/Users", get(list).post(create))
        .route("/realms/{realm}/scim/v2/Users/{id}", get(get_one).patch(patch))
        .route("/realms/{realm}/scim/v2/Bulk", axum::routing::post(bulk))
        .route("/health", get(|| async { "ok" }))
        .with_state(app);
    // scimd's runtime: tokio's default multi-threaded one.
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen).await?;
        eprintln!("scimd-baseline listening on {}", listener.local_addr()?);
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
