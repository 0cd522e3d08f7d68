//! HTTP: routes, content types, headers and the SCIM error envelope. Handlers authenticate,
//! then hand the request to the realm's engine and the store (see `runtime::heavy` for where the work runs).

mod admin;
mod bulk;
pub mod cursor;
mod discovery;
mod envelope;
mod oidc;
mod params;
mod prefer;
mod resources;
mod response;
mod root;
mod streamed;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::password::Passwords;
use crate::auth::{Authenticator, Need, Principal};
use crate::error::{Error, Result};
use crate::realms::{EngineDefaults, Realms};
use crate::runtime::bindings::Context;
use crate::runtime::{ComponentCache, Limits, RealmEngine, Runtime};
use crate::settings::{ProxyHeaders, Settings};
use crate::store::realms::{self, MASTER};
use crate::store::{Realm, Store};

/// Everything a request needs, shared by all handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<Store>,
    pub runtime: Arc<Runtime>,
    /// The realms served and their engines; the only cache of realm rows (see `realms`).
    pub realms: Realms,
    pub auth: Authenticator,
    /// Every password hash and check of a request goes through its bound.
    pub passwords: Passwords,
    /// Failed logins, counted per name (brute-force detection).
    pub brute_force: crate::auth::brute_force::Detector,
    pub settings: Settings,
    /// Seals and opens the realms' pagination cursors.
    pub cursors: cursor::Cursors,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings) -> Result<AppState> {
        let store = Arc::new(Store::open(&settings.database_path())?);
        // The master realm holds the administrators; it exists from the first start.
        if store.realm(MASTER)?.is_none() {
            store.write_blocking(|c| realms::create_realm(c, realms::NewRealm::named(MASTER)).map(|_| ()))?;
        }
        crate::housekeeping::start(&store);
        let runtime = Arc::new(Runtime::new(
            Limits { deadline: settings.guest_deadline, memory: settings.guest_memory },
            Some(ComponentCache::new(settings.component_cache_dir())),
        )?);
        let cursors = cursor::Cursors::new(&store.cursor_key()?, settings.cursor_timeout);
        let realms = Realms::new(store.clone(), runtime.clone(), EngineDefaults::of(&settings));
        Ok(AppState(Arc::new(Inner {
            cursors,
            realms,
            auth: Authenticator::new(store.clone(), settings.trusted_jwks_dir.clone()),
            passwords: Passwords::for_this_machine(),
            brute_force: Default::default(),
            store,
            runtime,
            settings,
        })))
    }
}

/// An authenticated SCIM request.
pub struct Scim {
    pub app: AppState,
    pub realm: Arc<Realm>,
    pub principal: Principal,
    pub ctx: Context,
}

impl Scim {
    fn enter(app: &AppState, realm: &str, headers: &HeaderMap, need: Need) -> Result<Scim> {
        let realm = app.realms.serving_scim(realm)?;
        let principal = app.auth.authenticate(headers, &realm)?;
        principal.require(need)?;
        let ctx = Context {
            realm: realm.name.clone(),
            base_url: format!("{}/realms/{}/scim/v2", public_base(headers, app), realm.name),
        };
        Ok(Scim { app: app.clone(), realm, principal, ctx })
    }

    fn engine(&self) -> Result<Arc<RealmEngine>> {
        self.app.realms.engine(&self.realm)
    }
}

/// The server's base URL: `SCIMD_PUBLIC_URL` when set; otherwise as the client reached it,
/// through a reverse proxy's forwarding headers only when the operator said which ones it sets
/// (`--proxy-headers`). A host that is not a plain host name is not echoed.
pub(crate) fn public_base(headers: &HeaderMap, app: &AppState) -> String {
    if let Some(url) = &app.settings.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    let first = |v: &str| v.split(',').next().unwrap_or_default().trim().to_string();
    let (proto, host) = match app.settings.proxy_headers {
        ProxyHeaders::Ignored => (None, None),
        ProxyHeaders::XForwarded => (header("x-forwarded-proto").map(first), header("x-forwarded-host").map(first)),
        ProxyHeaders::Forwarded => forwarded(header("forwarded").unwrap_or_default()),
    };
    let scheme = match proto.as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    let host = host.or_else(|| header("host").map(str::to_string)).filter(|h| plain_host(h));
    format!("{scheme}://{}", host.as_deref().unwrap_or("localhost"))
}

/// `proto` and `host` of the first element of an RFC 7239 `Forwarded` header.
fn forwarded(value: &str) -> (Option<String>, Option<String>) {
    let (mut proto, mut host) = (None, None);
    for pair in value.split(',').next().unwrap_or_default().split(';') {
        if let Some((k, v)) = pair.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = Some(v.to_ascii_lowercase()),
                "host" => host = Some(v),
                _ => {}
            }
        }
    }
    (proto, host)
}

/// A host name or address with an optional port, nothing that could change a URL's meaning.
fn plain_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// A request body of at most `limit` bytes; a larger one (declared or sent) is `413`.
pub(crate) async fn read_bytes(body: axum::body::Body, headers: &HeaderMap, limit: u64) -> Result<axum::body::Bytes> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::PayloadTooLarge(limit));
    }
    axum::body::to_bytes(body, limit as usize).await.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            Error::PayloadTooLarge(limit)
        } else {
            Error::BadRequest(format!("could not read the request body: {e}"))
        }
    })
}

/// Work that may take milliseconds runs through `runtime::heavy` (where request work runs, and why).
pub(crate) use crate::runtime::heavy;

async fn not_found(req: Request) -> Response {
    let path = req.uri().path();
    envelope::error_body(envelope::Api::of(path), StatusCode::NOT_FOUND, &format!("no endpoint at {path}"))
}

async fn method_not_allowed() -> Response {
    Error::MethodNotAllowed("this method is not allowed on this endpoint".into()).into_response()
}

/// The application: every route, with SCIM errors for everything that goes wrong.
pub fn app(state: AppState) -> Router {
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(discovery::service_provider_config))
        // The path Microsoft's reference test suite still uses.
        .route("/serviceConfiguration", get(discovery::service_provider_config))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/", get(root::list))
        .route("/.search", post(root::search))
        .route("/Bulk", post(bulk::bulk))
        .route("/{resource}", get(resources::list).post(resources::create))
        // Microsoft's reference test suite asks for `/Users/?filter=…`.
        .route("/{resource}/", get(resources::list).post(resources::create))
        .route("/{resource}/.search", post(resources::search))
        .route(
            "/{resource}/{id}",
            get(resources::get_one).put(resources::replace).patch(resources::patch).delete(resources::delete),
        )
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/realms/{realm}/scim/v2", scim)
        // The server root with a trailing slash (the nested "/" matches only without one).
        .route("/realms/{realm}/scim/v2/", get(root::list))
        .route("/realms/{realm}/protocol/openid-connect/token", post(oidc::token))
        .route("/realms/{realm}/protocol/openid-connect/logout", post(oidc::logout))
        .route("/realms/{realm}/protocol/openid-connect/revoke", post(oidc::revoke))
        .route("/realms/{realm}/protocol/openid-connect/certs", get(oidc::certs))
        .route("/realms/{realm}/.well-known/openid-configuration", get(oidc::discovery))
        .nest("/admin", admin::router())
        .route("/health", get(|| async { "ok" }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), envelope::envelope))
        .with_state(state)
}
