//! The realms this server serves, and the engine each runs: the one owner of the realm rows
//! requests read, of the configuration each realm's engine is built from, and of the loaded
//! engines themselves (through `runtime::Runtime`, which pools their instances).
//!
//! Nothing here is invalidated by hand. Every cached realm is tied to the store's realms epoch
//! (`store::Epochs`), which the database bumps in the transaction of any change of a realm's
//! row — an admin request, an offline command, later another node on the same database — and
//! the store publishes after the commit. A lookup under a newer epoch reads the realm again,
//! and the engines of realms that no longer exist are dropped (docs/architecture.md §6).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use serde_json::json;

use crate::error::{Error, Result};
use crate::runtime::bindings::{self, RealmConfig};
use crate::runtime::{Loaded, RealmEngine, Runtime};
use crate::settings::Settings;
use crate::store::{self, Actor, Realm, Store, components, events, valid_realm_name};

/// The realms read under one epoch of the store.
#[derive(Default)]
struct Cache {
    epoch: u64,
    by_name: HashMap<String, Arc<Realm>>,
}

/// What every realm's engine is configured with besides the realm's own settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineDefaults {
    pub max_results: u32,
    pub max_operations: u32,
    pub max_payload_size: u32,
    pub cursor_timeout_secs: u32,
}

impl EngineDefaults {
    pub fn of(settings: &Settings) -> EngineDefaults {
        EngineDefaults {
            max_results: settings.max_results,
            max_operations: settings.max_operations,
            // The WIT carries both as `u32`; more than 4 GiB or 136 years means "no limit".
            max_payload_size: u32::try_from(settings.max_body).unwrap_or(u32::MAX),
            cursor_timeout_secs: u32::try_from(settings.cursor_timeout.as_secs()).unwrap_or(u32::MAX),
        }
    }
}

/// The realms service (see the module's documentation).
pub struct Realms {
    store: Arc<Store>,
    runtime: Arc<Runtime>,
    defaults: EngineDefaults,
    cache: RwLock<Cache>,
    /// The last epoch under which the runtime's engines were swept (see `sweep`).
    swept: AtomicU64,
}

impl Realms {
    /// The service, which also has every engine failure (trap, timeout, memory, contract
    /// breach) recorded as an admin event of the realm whose engine failed.
    pub fn new(store: Arc<Store>, runtime: Arc<Runtime>, defaults: EngineDefaults) -> Realms {
        let reporter = store.clone();
        runtime.on_failure(Arc::new(move |realm_id, error| {
            let detail = json!({"error": error.to_string()});
            reporter.write_detached(move |c| {
                let actor = Actor { realm: None, client: None, user: Some("scimd".into()) };
                events::record(c, realm_id, &actor, "ACTION", "SCIM_ENGINE_FAILURE", "scim/component", Some(&detail))
            });
        }));
        Realms { store, runtime, defaults, cache: RwLock::new(Cache::default()), swept: AtomicU64::new(0) }
    }

    /// A realm by name as of the latest committed change, or `None`. Reads the store only
    /// when the realm was not read under the current epoch. Only realms that exist are kept (so
    /// the cache holds at most every realm once): a name no realm has is read each time, and
    /// one that no realm could have is refused without a read (the lookup comes before
    /// authentication, so anyone can name any realm).
    pub fn find(&self, name: &str) -> Result<Option<Arc<Realm>>> {
        if !valid_realm_name(name) {
            return Ok(None);
        }
        // The epoch is taken before the read: a change committed in between moves it again,
        // so what this read cached is not trusted by the next lookup.
        let epoch = self.store.realms_epoch();
        {
            let cache = self.cache.read();
            if cache.epoch == epoch
                && let Some(realm) = cache.by_name.get(name)
            {
                return Ok(Some(realm.clone()));
            }
        }
        self.sweep(epoch)?;
        let Some(realm) = self.store.realm(name)?.map(Arc::new) else { return Ok(None) };
        let mut cache = self.cache.write();
        if cache.epoch != epoch {
            if cache.epoch > epoch {
                // A lookup under a newer epoch got here first; this read may be older.
                return Ok(Some(realm));
            }
            *cache = Cache { epoch, by_name: HashMap::new() };
        }
        cache.by_name.insert(name.to_string(), realm.clone());
        Ok(Some(realm))
    }

    /// A realm whose SCIM API is served: it exists, is enabled and has SCIM enabled.
    pub fn serving_scim(&self, name: &str) -> Result<Arc<Realm>> {
        match self.find(name)? {
            Some(r) if r.enabled && r.scim_enabled => Ok(r),
            Some(r) if !r.enabled => Err(Error::NotFound(format!("realm '{name}' is disabled"))),
            Some(_) => Err(Error::NotFound(format!("the SCIM API is not enabled for realm '{name}'"))),
            None if !valid_realm_name(name) => {
                // Not echoed: it could be anything up to the size of a request head.
                Err(Error::NotFound("there is no realm of that name (not a valid realm name)".into()))
            }
            None => Err(Error::NotFound(format!("realm '{name}' does not exist"))),
        }
    }

    /// The runtime keeps a few engines per realm until told the realm is gone; the realms
    /// epoch is what tells it, whoever deleted the realm. Once per epoch, by the first lookup
    /// that sees it. (A realm created while the sweep reads the ids may lose an engine it just
    /// built: it is built again on its next request.)
    fn sweep(&self, epoch: u64) -> Result<()> {
        let swept = self.swept.load(Ordering::SeqCst);
        if swept >= epoch || self.swept.compare_exchange(swept, epoch, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return Ok(());
        }
        let live: HashSet<i64> = self.store.realm_ids()?.into_iter().collect();
        self.runtime.retain_realms(|id| live.contains(&id));
        Ok(())
    }

    /// The engine configuration of a realm (`realm-config` in the WIT).
    pub fn engine_config(&self, realm: &Realm) -> RealmConfig {
        let text = |v: &Option<serde_json::Value>| v.as_ref().filter(|v| !v.is_null()).map(|v| v.to_string());
        RealmConfig {
            profile: text(&realm.profile),
            extensions: text(&realm.extensions),
            ..self.plain_engine_config(realm)
        }
    }

    /// A realm's engine configuration without its user profile and extension schemas: what a
    /// component's self-test runs with (see `runtime::self_test`).
    pub fn plain_engine_config(&self, realm: &Realm) -> RealmConfig {
        let d = self.defaults;
        RealmConfig {
            compatibility: match realm.compatibility {
                store::Compatibility::Entra => bindings::Compatibility::Entra,
                store::Compatibility::Strict => bindings::Compatibility::Strict,
            },
            max_results: d.max_results,
            max_operations: d.max_operations,
            max_payload_size: d.max_payload_size,
            etag: true,
            cursor_timeout: d.cursor_timeout_secs,
            profile: None,
            extensions: None,
        }
    }

    /// The engine a realm runs now, built on first use and whenever what it is built from
    /// changed (see `engine_key`).
    pub fn engine(&self, realm: &Realm) -> Result<Arc<RealmEngine>> {
        let key = engine_key(realm);
        self.runtime.realm(realm.id, &key, || self.engine_config(realm), || self.component(realm)).map_err(
            |e| match e {
                // The request is not at fault when the realm's stored component or configuration
                // no longer compiles, links or starts (both were checked when they were stored).
                Error::ConfigRefused(d) => Error::EngineFault(format!(
                    "component version {} refused this realm's configuration: {d}",
                    realm.component_version
                )),
                Error::InvalidValue(d) => Error::EngineFault(format!(
                    "component version {} could not be started for this realm: {d}",
                    realm.component_version
                )),
                other => other,
            },
        )
    }

    /// Makes `engine` the one requests use for `realm` as stored with `key`, so that the first
    /// request after a deployment does not build it again.
    pub fn install(&self, realm_id: i64, key: &str, engine: Arc<RealmEngine>) {
        self.runtime.install(realm_id, key, engine);
    }

    /// The component a realm runs: the built-in engine, or its deployed version.
    pub fn component(&self, realm: &Realm) -> Result<Loaded> {
        if realm.component_version == 0 {
            return Loaded::builtin();
        }
        let deployment = self
            .store
            .read(|c| components::deployment(c, realm.id, realm.component_version))?
            .ok_or_else(|| Error::Internal(format!("realm '{}' runs a component version that is gone", realm.name)))?;
        self.runtime.component(&deployment.hash, || {
            self.store
                .component_wasm(realm.id, realm.component_version)?
                .ok_or_else(|| Error::Internal("a deployed component's bytes are gone".into()))
        })
    }
}

/// What a realm's engine is built from, in a few characters: a different key, a new engine.
pub fn engine_key(realm: &Realm) -> String {
    format!("{}:{}:{}", realm.compatibility, realm.component_version, realm.settings_version)
}
