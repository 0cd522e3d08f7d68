//! scimd: a SCIM 2.0 (RFC 7643/7644) provisioning server. The host (this crate) owns HTTP,
//! authentication, the clock, ids and the SQLite store; every SCIM rule lives in a
//! WebAssembly component that implements `wit/since_v0.2.0/scim-engine.wit`.
//!
//! Layout: `http` (routes, SCIM envelope), `auth` (tokens → principals), `store` (the realm
//! model in SQLite), `runtime` (wasmtime, per-realm engines), `realms` (the realms served and the
//! engine each runs, kept fresh by the store), `housekeeping` (expiry of old rows), `import` (offline loading of users), `resource_kind` (the names of Users and
//! Groups), `settings`, `error`.

pub mod auth;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod import;
pub mod realms;
pub mod resource_kind;
pub mod runtime;
pub mod settings;
pub mod store;

pub use error::{Error, Result};
pub use http::{AppState, app};
pub use settings::Settings;

/// Gives the master realm an administrator, unless one of that name exists; returns whether
/// it was created.
pub fn bootstrap_admin(state: &AppState, username: &str, password: &str) -> Result<bool> {
    state.store.bootstrap_admin(username, auth::password::hash(password)?)
}

/// Serves the application on a bound listener until `shutdown` resolves, then drains the
/// requests under way (see `http::wire`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    http::wire::serve(listener, state, shutdown).await
}
