//! The wasmtime side: one `Engine` per process, the default component compiled once, and for
//! each realm a loaded engine with a pool of ready instances (docs/architecture.md §5).
//!
//! A call borrows an instance for one request (a call on a warm instance costs microseconds;
//! instantiating costs tens). Every call runs under an epoch deadline and a memory cap; an
//! instance that trapped or ran out of time is dropped, never reused, and the host goes on.

pub mod bindings;
mod cache;
mod compat;
pub mod plan_check;
mod renders;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use wasmtime::component::{Component, Linker, Resource, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store, Trap};
use wasmtime_wasi::p2::DynOutputStream;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use bindings::{
    BulkRequest, Candidate, Context, EngineInfo, Frame, PageItem, Projection, QueryPlan, RealmConfig, Relation,
    ResourceKind, ScimError, SearchRequest, Stored, Write, v0_1, v0_2,
};

use crate::error::{Error, Result};
pub use cache::ComponentCache;

/// The default SCIM engine, built from `guest/component` by `build.rs`.
pub static DEFAULT_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/scimd_guest.wasm"));

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engines kept per realm: the current one and a few that requests may still ask for.
const ENGINES_KEPT: usize = 3;

/// Compiles waiting or running at once (see `Runtime::queued`).
const COMPILE_QUEUE: usize = 4;

/// Instances kept warm per realm.
const POOL_SIZE: usize = 64;

/// What one instance of an engine may hold besides its memory. A component made by
/// `wit-bindgen` (Rust) has a few core instances (the engine, shims), each with a memory or a
/// table; these bounds leave room for that and for other toolchains, not for abuse.
const MAX_MEMORIES: usize = 8;
const MAX_TABLES: usize = 16;
const MAX_TABLE_ELEMENTS: usize = 1 << 20;
const MAX_INSTANCES: usize = 32;

/// An instance's resource limits. The memory cap is the total over all of the instance's
/// linear memories (wasmtime's `StoreLimits` caps each one alone), and going over it traps
/// with a message naming the cap rather than letting the guest see a failed `memory.grow`.
pub struct GuestLimits {
    memory_cap: usize,
    memory_used: usize,
}

impl wasmtime::ResourceLimiter for GuestLimits {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let used = self.memory_used - current.min(self.memory_used) + desired;
        if used > self.memory_cap {
            return Err(wasmtime::Error::new(GuestMisuse(format!(
                "memory limit of {} MiB exceeded",
                self.memory_cap >> 20
            ))));
        }
        self.memory_used = used;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(GuestMisuse(format!(
                "table limit of {MAX_TABLE_ELEMENTS} elements exceeded"
            ))));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// How long an engine that ran out of time stays suspect (see `RealmEngine::with`).
const SUSPECT_FOR: Duration = Duration::from_secs(60);

/// Runs work that may take milliseconds without holding up the worker's other tasks.
///
/// Requests do their synchronous work (SQLite reads, engine calls) inline on the tokio
/// worker: measured here, handing each request to `spawn_blocking` cost a third of a GET's
/// throughput on two cores, as the hand-off takes as long as the work. Writes go to the
/// store's writer thread and are awaited. What can take long (password hashing, re-checking
/// many candidates, compiling a component, calls into an engine that has run out of time
/// before) goes through this function, which moves the worker's other tasks elsewhere first.
pub fn heavy<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Milliseconds since the process's first call, never 0.
fn uptime_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// The state of one instance's store.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: GuestLimits,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The process-wide wasmtime engine (wasmtime's compiler and code store, not a SCIM engine),
/// with its epoch ticker.
pub fn wasmtime_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).expect("a wasmtime configuration without optional features is valid");
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("scimd-epoch".into())
            .spawn(move || {
                while let Some(e) = ticker.upgrade() {
                    e.increment_epoch();
                    drop(e);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch thread");
        engine
    })
}

/// WASI for guests: what Rust's std imports, except that an engine may not print. wasmtime-wasi's
/// synchronous streams block on a Tokio runtime, which would panic on the request threads, and
/// an engine has nothing to say to the server's console anyway: `get-stdout`/`get-stderr` trap
/// with a message that names the cause (a panicking Rust engine writes to stderr first).
fn linker() -> Result<Linker<GuestState>> {
    let link = |e: wasmtime::Error| Error::Internal(format!("linking WASI: {e:#}"));
    let mut linker = Linker::new(wasmtime_engine());
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
    linker.allow_shadowing(true);
    for (interface, func, stream) in
        [("wasi:cli/stdout@0.2.12", "get-stdout", "stdout"), ("wasi:cli/stderr@0.2.12", "get-stderr", "stderr")]
    {
        linker
            .instance(interface)
            .and_then(|mut i| {
                i.func_wrap(func, move |_, (): ()| -> wasmtime::Result<(Resource<DynOutputStream>,)> {
                    Err(wasmtime::Error::new(GuestMisuse(format!(
                        "it tried to write to {stream} (a Rust engine does so when it panics)"
                    ))))
                })
            })
            .map_err(link)?;
    }
    Ok(linker)
}

/// A guest doing what engines may not; the message says what.
#[derive(Debug)]
struct GuestMisuse(String);

impl std::fmt::Display for GuestMisuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuestMisuse {}

/// Runs a call into a guest. Besides its own failures, a guest reaching a WASI function that
/// blocks on Tokio (polling, sleeping) makes wasmtime-wasi panic on a request thread; that
/// panic comes back through the guest's frames and is its failure, not the server's.
fn contained<T>(limits: Limits, call: impl FnOnce() -> wasmtime::Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(e, limits)),
        Err(_) => Err(Error::EngineFault(
            "it called a blocking WASI function (poll, sleep or I/O), which engines may not".into(),
        )),
    }
}

/// A component checked against a `scim-guest` world this host runs and ready to instantiate.
#[derive(Clone)]
pub struct Loaded {
    pre: Pre,
    /// SHA-256 of the component's bytes, hex.
    pub hash: String,
}

/// A component of one of the WIT versions scimd runs.
#[derive(Clone)]
enum Pre {
    V0_2(v0_2::ScimGuestPre<GuestState>),
    V0_1(v0_1::ScimGuestPre<GuestState>),
}

/// An instance of one of them.
enum Guest {
    V0_2(v0_2::ScimGuest),
    V0_1(v0_1::ScimGuest),
}

/// SHA-256 of a component, hex.
pub fn component_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

impl Loaded {
    /// Compiles and type-checks a component, or loads it compiled from `cache`. Only
    /// `Runtime::compile` calls it for uploaded bytes, so that every such compile goes through
    /// its queue.
    fn compile(bytes: &[u8], cache: Option<&ComponentCache>) -> Result<Loaded> {
        let hash = component_hash(bytes);
        let compile = || Component::new(wasmtime_engine(), bytes);
        let component = match cache {
            Some(cache) => cache.load_or_compile(wasmtime_engine(), bytes, &hash, compile),
            None => compile(),
        }
        .map_err(|e| Error::InvalidValue(format!("not a valid WebAssembly component: {e:#}")))?;
        let pre = linker()?
            .instantiate_pre(&component)
            .map_err(|e| Error::InvalidValue(format!("the component cannot be linked: {e:#}")))?;
        // The newest version first: a component exports one.
        let pre = match v0_2::ScimGuestPre::new(pre.clone()) {
            Ok(p) => Pre::V0_2(p),
            Err(newest) => match v0_1::ScimGuestPre::new(pre) {
                Ok(p) => Pre::V0_1(p),
                Err(_) => {
                    return Err(Error::InvalidValue(format!(
                        "the component does not export the `scim:engine/engine` interface of a version this scimd \
                         runs (0.2, wit/since_v0.2.0; or 0.1, wit/since_v0.1.0): {newest:#}"
                    )));
                }
            },
        };
        Ok(Loaded { pre, hash })
    }

    /// The built-in component (the default SCIM engine), compiled once per process (from the cache of the first `Runtime`
    /// made, when it has one).
    pub fn builtin() -> Result<Loaded> {
        Loaded::builtin_from(None)
    }

    fn builtin_from(cache: Option<&ComponentCache>) -> Result<Loaded> {
        static DEFAULT: OnceLock<Loaded> = OnceLock::new();
        if let Some(l) = DEFAULT.get() {
            return Ok(l.clone());
        }
        let loaded = Loaded::compile(DEFAULT_COMPONENT, cache)?;
        Ok(DEFAULT.get_or_init(|| loaded).clone())
    }
}

/// Limits for every call into a guest.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub deadline: Duration,
    pub memory: usize,
}

impl Loaded {
    /// The `scim:engine` version the component was built against.
    pub fn wit_version(&self) -> &'static str {
        match self.pre {
            Pre::V0_2(_) => "0.2",
            Pre::V0_1(_) => "0.1",
        }
    }
}

/// One instance with its configured `realm-engine` resource.
struct Instance {
    store: Store<GuestState>,
    guest: Guest,
    handle: ResourceAny,
}

/// A realm's engine: a loaded component, the realm's configuration and warm instances.
pub struct RealmEngine {
    loaded: Loaded,
    config: RealmConfig,
    limits: Limits,
    pool: Mutex<Vec<Instance>>,
    info: EngineInfo,
    /// Validated projections by (kind, attributes, excludedAttributes). The engine is a pure
    /// function of its inputs, so its answers can be reused.
    projections: RwLock<HashMap<ProjectionKey, Projection>>,
    /// Rendered resources by their inputs (see `renders`).
    renders: renders::Renders,
    /// Told of every trap or timeout (the host records them as admin events).
    on_failure: Option<FailureHook>,
    /// Until when (`uptime_ms`) calls run through `heavy`; 0: not suspect.
    suspect_until: AtomicU64,
}

/// What a realm's engine calls when an instance traps or runs out of time.
pub type FailureHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// What the runtime calls, with the realm's id, when any realm's engine fails.
pub type RuntimeFailureHook = Arc<dyn Fn(i64, &Error) + Send + Sync>;

type ProjectionKey = (bool, Option<String>, Option<String>);

/// Projections remembered per realm engine.
const PROJECTION_CACHE: usize = 256;

fn guest_error(e: ScimError) -> Error {
    Error::Scim { status: e.status, scim_type: e.scim_type, detail: e.detail }
}

impl RealmEngine {
    /// Instantiates a component for a realm's configuration and asks it to describe itself.
    pub fn new(
        loaded: Loaded,
        config: RealmConfig,
        limits: Limits,
        on_failure: Option<FailureHook>,
    ) -> Result<RealmEngine> {
        let mut engine = RealmEngine {
            loaded,
            config,
            limits,
            pool: Mutex::new(Vec::new()),
            info: empty_info(),
            projections: RwLock::new(HashMap::new()),
            renders: Default::default(),
            on_failure,
            suspect_until: AtomicU64::new(0),
        };
        let mut first = engine.instantiate()?;
        let (projections, renders) = (RwLock::new(HashMap::new()), renders::Renders::default());
        let mut s = Session { inst: &mut first, limits, poisoned: false, projections: &projections, renders: &renders };
        engine.info = s.describe()?;
        let poisoned = s.poisoned;
        if !poisoned {
            engine.pool.lock().push(first);
        }
        Ok(engine)
    }

    pub fn config(&self) -> &RealmConfig {
        &self.config
    }

    /// The hash of the component this engine runs.
    pub fn component_hash(&self) -> &str {
        &self.loaded.hash
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn instantiate(&self) -> Result<Instance> {
        let state = GuestState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: GuestLimits { memory_cap: self.limits.memory, memory_used: 0 },
        };
        let mut store = Store::new(wasmtime_engine(), state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(deadline_ticks(self.limits.deadline));
        store.epoch_deadline_trap();
        let refused = Error::ConfigRefused;
        let (guest, handle) = match &self.loaded.pre {
            Pre::V0_2(pre) => {
                let guest = contained(self.limits, || pre.instantiate(&mut store))?;
                let handle = contained(self.limits, || {
                    guest.scim_engine_engine().realm_engine().call_create(&mut store, &self.config)
                })?
                .map_err(|e| refused(e.detail))?;
                (Guest::V0_2(guest), handle)
            }
            Pre::V0_1(pre) => {
                let guest = contained(self.limits, || pre.instantiate(&mut store))?;
                let config = compat::config(&self.config);
                let handle = contained(self.limits, || {
                    guest.scim_engine_engine().realm_engine().call_create(&mut store, &config)
                })?
                .map_err(|e| refused(e.detail))?;
                (Guest::V0_1(guest), handle)
            }
        };
        Ok(Instance { store, guest, handle })
    }

    /// Runs `f` with an instance; the instance goes back to the pool unless it failed.
    ///
    /// Calls run inline on the request's worker (see `heavy`), so an engine that loops holds a
    /// worker until its deadline. Once an engine has run out of time it is suspect for a while
    /// and its calls move the worker's other tasks elsewhere first: a realm whose engine keeps
    /// looping then costs blocking threads, not the workers every other realm is served by.
    pub fn with<T>(&self, f: impl FnOnce(&mut Session<'_>) -> Result<T>) -> Result<T> {
        if self.is_suspect() {
            return heavy(|| self.run(f));
        }
        self.run(f)
    }

    /// An answer of the engine that breaks the contract (a model of the wrong kind, an
    /// attribute written twice): the engine's fault, not the client's, so `500` naming the
    /// engine, reported (an admin event) as a trap is.
    pub fn fault(&self, detail: &str) -> Error {
        let e = Error::EngineFault(format!("{detail} (engine '{}')", self.info.name));
        if let Some(hook) = &self.on_failure {
            hook(&e);
        }
        e
    }

    /// Whether the engine ran out of time lately.
    pub fn is_suspect(&self) -> bool {
        let until = self.suspect_until.load(Ordering::Relaxed);
        until != 0 && uptime_ms() < until
    }

    fn run<T>(&self, f: impl FnOnce(&mut Session<'_>) -> Result<T>) -> Result<T> {
        let pooled = self.pool.lock().pop();
        let mut inst = match pooled {
            Some(i) => i,
            None => self.instantiate()?,
        };
        let mut session = Session {
            inst: &mut inst,
            limits: self.limits,
            poisoned: false,
            projections: &self.projections,
            renders: &self.renders,
        };
        let mut result = f(&mut session);
        if !session.poisoned {
            let mut pool = self.pool.lock();
            if pool.len() < POOL_SIZE {
                pool.push(inst);
            }
        } else if let Err(e) = &mut result {
            // Say which engine failed: a realm may run a deployed one.
            if let Error::EngineFault(detail) = e {
                *detail = format!("{detail} (engine '{}')", self.info.name);
            }
            if matches!(e, Error::EngineTimeout(_)) {
                self.suspect_until.store(uptime_ms() + SUSPECT_FOR.as_millis() as u64, Ordering::Relaxed);
            }
            if let Some(hook) = &self.on_failure {
                hook(e);
            }
        }
        result
    }
}

fn empty_info() -> EngineInfo {
    EngineInfo {
        api_version: String::new(),
        name: String::new(),
        service_provider_config: "{}".into(),
        schemas: "[]".into(),
        resource_types: "[]".into(),
    }
}

fn deadline_ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Turns a wasmtime failure into a guest error.
fn classify(e: wasmtime::Error, limits: Limits) -> Error {
    if let Some(m) = e.downcast_ref::<GuestMisuse>() {
        return Error::EngineFault(m.0.clone());
    }
    if let Some(trap) = e.downcast_ref::<Trap>() {
        if *trap == Trap::Interrupt {
            return Error::EngineTimeout(limits.deadline.as_millis() as u64);
        }
        return Error::EngineFault(trap.to_string());
    }
    let text = format!("{e:#}");
    if text.contains("memory") && text.contains("grow") {
        return Error::EngineFault(format!("memory limit of {} MiB exceeded", limits.memory >> 20));
    }
    Error::EngineFault(text)
}

/// An instance borrowed for one request.
pub struct Session<'a> {
    inst: &'a mut Instance,
    limits: Limits,
    poisoned: bool,
    projections: &'a RwLock<HashMap<ProjectionKey, Projection>>,
    renders: &'a renders::Renders,
}

/// Calls one function of the realm engine, on whichever WIT version the instance speaks:
/// `$v2` with the 0.2 bindings, `$v1` with the 0.1 bindings (`g`: the interface, `st`: the
/// store, `h`: the resource handle). A failed call poisons the session.
macro_rules! guest_call {
    ($self:ident, |$g:ident, $st:ident, $h:ident| v2: $v2:expr, v1: $v1:expr) => {{
        if $self.poisoned {
            // A trapped instance is in no state to be called again.
            return Err(Error::EngineFault("its instance already failed in this request".into()));
        }
        let limits = $self.limits;
        let Instance { store: $st, guest, handle } = &mut *$self.inst;
        let $h = *handle;
        $st.set_epoch_deadline(deadline_ticks(limits.deadline));
        let r = contained(limits, || match guest {
            Guest::V0_2(g) => {
                let $g = g.scim_engine_engine().realm_engine();
                $v2
            }
            Guest::V0_1(g) => {
                #[allow(unused_variables)]
                let $g = g.scim_engine_engine().realm_engine();
                $v1
            }
        });
        if r.is_err() {
            $self.poisoned = true;
        }
        r
    }};
}

/// A call 0.1 does not have (the callers above never make it on a 0.1 engine).
fn not_in_v0_1(call: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("scim:engine 0.1 has no {call}"))
}

impl Session<'_> {
    /// Whether the instance speaks WIT 0.1 (the calls since 0.2 fall back or are refused).
    pub fn is_v0_1(&self) -> bool {
        matches!(self.inst.guest, Guest::V0_1(_))
    }

    pub fn describe(&mut self) -> Result<EngineInfo> {
        guest_call!(self, |g, st, h| v2: g.call_describe(st, h), v1: g.call_describe(st, h).map(compat::info_back))
    }

    pub fn create_resource(&mut self, ctx: &Context, kind: ResourceKind, body: &str) -> Result<Write> {
        let body = body.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_create_resource(st, h, ctx, kind, &body),
            v1: g.call_create_resource(st, h, &compat::context(ctx), compat::kind(kind), &body)
                .map(|r| r.map(compat::write_back).map_err(compat::error_back))
        )?
        .map_err(guest_error)
    }

    pub fn replace(&mut self, ctx: &Context, current: &Stored, body: &str) -> Result<Write> {
        let body = body.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_replace(st, h, ctx, current, &body),
            v1: g.call_replace(st, h, &compat::context(ctx), &compat::stored(current), &body)
                .map(|r| r.map(compat::write_back).map_err(compat::error_back))
        )?
        .map_err(guest_error)
    }

    pub fn patch(&mut self, ctx: &Context, current: &Stored, body: &str) -> Result<Write> {
        let body = body.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_patch(st, h, ctx, current, &body),
            v1: g.call_patch(st, h, &compat::context(ctx), &compat::stored(current), &body)
                .map(|r| r.map(compat::write_back).map_err(compat::error_back))
        )?
        .map_err(guest_error)
    }

    pub fn projection(
        &mut self,
        kind: ResourceKind,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection> {
        let key = (kind == ResourceKind::User, attributes.map(str::to_string), excluded.map(str::to_string));
        if let Some(p) = self.projections.read().get(&key) {
            return Ok(p.clone());
        }
        let p = guest_call!(self, |g, st, h|
            v2: g.call_projection(st, h, kind, attributes, excluded),
            v1: g.call_projection(st, h, compat::kind(kind), attributes, excluded)
                .map(|r| r.map(compat::projection_back).map_err(compat::error_back))
        )?
        .map_err(guest_error)?;
        let mut cache = self.projections.write();
        if cache.len() >= PROJECTION_CACHE {
            cache.clear();
        }
        cache.insert(key, p.clone());
        Ok(p)
    }

    pub fn render(
        &mut self,
        ctx: &Context,
        stored: &Stored,
        relations: &[Relation],
        projection: &Projection,
    ) -> Result<String> {
        guest_call!(self, |g, st, h|
            v2: g.call_render(st, h, ctx, stored, relations, projection),
            v1: g.call_render(
                st,
                h,
                &compat::context(ctx),
                &compat::stored(stored),
                &compat::relations(relations),
                &compat::projection(projection),
            )
            .map(|r| r.map_err(compat::error_back))
        )?
        .map_err(guest_error)
    }

    /// A page of resources, one JSON text each: one call for a 0.2 engine; for a 0.1 engine one
    /// `render` per item, a minimal item rendered through the projection of its name.
    ///
    /// What was rendered before from the same inputs is taken from the engine's memo
    /// (`renders`); the engine renders the rest.
    pub fn render_page(&mut self, ctx: &Context, items: &[PageItem], projection: &Projection) -> Result<Vec<String>> {
        let keys: Vec<u128> = items.iter().map(|item| renders::key(ctx, projection, item)).collect();
        let mut out: Vec<Option<String>> = keys.iter().map(|k| self.renders.get(*k).map(|r| r.to_string())).collect();
        let missing: Vec<usize> = (0..items.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let todo: Vec<PageItem> = missing.iter().map(|&i| items[i].clone()).collect();
            let rendered = self.render_page_uncached(ctx, &todo, projection)?;
            for (i, r) in missing.into_iter().zip(rendered) {
                self.renders.put(keys[i], &r);
                out[i] = Some(r);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    fn render_page_uncached(
        &mut self,
        ctx: &Context,
        items: &[PageItem],
        projection: &Projection,
    ) -> Result<Vec<String>> {
        if self.is_v0_1() {
            return items
                .iter()
                .map(|item| {
                    if item.minimal {
                        let kind = crate::store::kind_of_model(&item.stored.model);
                        let name = match kind {
                            ResourceKind::User => "userName",
                            ResourceKind::Group => "displayName",
                        };
                        let minimal = self.projection(kind, Some(name), None)?;
                        self.render(ctx, &item.stored, &[], &minimal)
                    } else {
                        self.render(ctx, &item.stored, &item.relations, projection)
                    }
                })
                .collect();
        }
        let rendered = guest_call!(self, |g, st, h|
            v2: g.call_render_page(st, h, ctx, items, projection),
            v1: Err(not_in_v0_1("render-page"))
        )?
        .map_err(guest_error)?;
        if rendered.len() != items.len() {
            self.poisoned = true;
            return Err(Error::EngineFault(format!(
                "render-page answered {} times for {} resources",
                rendered.len(),
                items.len()
            )));
        }
        Ok(rendered)
    }

    /// The frame of a resource whose relations are streamed; `None` for a 0.1 engine (which
    /// renders relations whole) or when the engine renders the resource whole.
    pub fn render_frame(&mut self, ctx: &Context, item: &PageItem, projection: &Projection) -> Result<Option<Frame>> {
        if self.is_v0_1() {
            return Ok(None);
        }
        guest_call!(self, |g, st, h|
            v2: g.call_render_frame(st, h, ctx, item, projection),
            v1: Err(not_in_v0_1("render-frame"))
        )?
        .map_err(guest_error)
    }

    /// A chunk of relations inside a frame (only engines that gave a frame are asked).
    pub fn render_relations(
        &mut self,
        ctx: &Context,
        kind: ResourceKind,
        relations: &[Relation],
        projection: &Projection,
    ) -> Result<String> {
        guest_call!(self, |g, st, h|
            v2: g.call_render_relations(st, h, ctx, kind, relations, projection),
            v1: Err(not_in_v0_1("render-relations"))
        )?
        .map_err(guest_error)
    }

    pub fn plan_query(
        &mut self,
        kind: ResourceKind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<QueryPlan> {
        let plan = guest_call!(self, |g, st, h|
            v2: g.call_plan_query(st, h, kind, filter, sort_by, sort_order),
            v1: g.call_plan_query(st, h, compat::kind(kind), filter, sort_by, sort_order)
                .map(|r| r.map(compat::plan_back).map_err(compat::error_back))
        )?
        .map_err(guest_error)?;
        self.checked(plan)
    }

    /// A plan the host can run; an invalid one is the engine's fault: its instance goes, and
    /// the failure is reported like a trap.
    fn checked(&mut self, plan: QueryPlan) -> Result<QueryPlan> {
        if let Err(why) = plan_check::check(&plan) {
            self.poisoned = true;
            return Err(Error::EngineFault(format!("it returned an invalid query plan: {why}")));
        }
        Ok(plan)
    }

    pub fn matches(&mut self, kind: ResourceKind, filter: &str, candidates: &[Candidate]) -> Result<Vec<bool>> {
        let filter = filter.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_matches(st, h, kind, &filter, candidates),
            v1: g.call_matches(st, h, compat::kind(kind), &filter, &compat::candidates(candidates))
                .map(|r| r.map_err(compat::error_back))
        )?
        .map_err(guest_error)
    }

    /// A query at the server root (see WIT `plan-root-query`). A 0.1 engine has no such call:
    /// its `plan-query` is used, so an attribute one type lacks is an error for that type.
    pub fn plan_root_query(
        &mut self,
        kind: ResourceKind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<QueryPlan> {
        if self.is_v0_1() {
            return self.plan_query(kind, filter, sort_by, sort_order);
        }
        let plan = guest_call!(self, |g, st, h|
            v2: g.call_plan_root_query(st, h, kind, filter, sort_by, sort_order),
            v1: Err(not_in_v0_1("plan-root-query"))
        )?
        .map_err(guest_error)?;
        self.checked(plan)
    }

    /// `matches` for a query at the server root (`matches` itself on a 0.1 engine).
    pub fn matches_at_root(&mut self, kind: ResourceKind, filter: &str, candidates: &[Candidate]) -> Result<Vec<bool>> {
        if self.is_v0_1() {
            return self.matches(kind, filter, candidates);
        }
        let filter = filter.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_matches_at_root(st, h, kind, &filter, candidates),
            v1: Err(not_in_v0_1("matches-at-root"))
        )?
        .map_err(guest_error)
    }

    /// A bulk request, read by the engine. A 0.1 engine has no bulk: `501`, as its
    /// `ServiceProviderConfig` says (`bulk.supported: false`).
    pub fn parse_bulk(&mut self, body: &str) -> Result<BulkRequest> {
        if self.is_v0_1() {
            return Err(Error::Scim {
                status: 501,
                scim_type: None,
                detail: "this realm's SCIM engine implements scim:engine 0.1, which has no bulk operations".into(),
            });
        }
        let body = body.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_parse_bulk(st, h, &body),
            v1: Err(not_in_v0_1("parse-bulk"))
        )?
        .map_err(guest_error)
    }

    pub fn parse_search(&mut self, body: &str) -> Result<SearchRequest> {
        let body = body.to_owned();
        guest_call!(self, |g, st, h|
            v2: g.call_parse_search(st, h, &body),
            v1: g.call_parse_search(st, h, &body).map(|r| r.map(compat::search_back).map_err(compat::error_back))
        )?
        .map_err(guest_error)
    }
}

/// A realm's engines with the keys they were built for, the current one first.
type RealmEngines = Vec<(String, Arc<RealmEngine>)>;

/// The engines of all realms, created on first use, and the components they run.
pub struct Runtime {
    limits: Limits,
    /// Each realm's engines by key (see `realm`), the current one first; a few older ones stay
    /// for requests that started before a swap.
    realms: RwLock<HashMap<i64, RealmEngines>>,
    /// Compiled components by hash.
    components: RwLock<HashMap<String, Loaded>>,
    /// One compile at a time…
    compiling: Mutex<()>,
    /// …and at most `COMPILE_QUEUE` waiting or running.
    compiles_queued: std::sync::atomic::AtomicUsize,
    on_failure: RwLock<Option<RuntimeFailureHook>>,
    /// Compiled components on disk, when the runtime has a data directory.
    cache: Option<ComponentCache>,
}

impl Runtime {
    pub fn new(limits: Limits, cache: Option<ComponentCache>) -> Result<Runtime> {
        // Compile now, so a broken build fails at start-up rather than at the first request.
        Loaded::builtin_from(cache.as_ref())?;
        Ok(Runtime {
            limits,
            cache,
            realms: RwLock::new(HashMap::new()),
            components: RwLock::new(HashMap::new()),
            compiling: Mutex::new(()),
            compiles_queued: std::sync::atomic::AtomicUsize::new(0),
            on_failure: RwLock::new(None),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sets what is told of a realm's engine failing (trap, timeout, memory).
    pub fn on_failure(&self, hook: RuntimeFailureHook) {
        *self.on_failure.write() = Some(hook);
    }

    fn hook_for(&self, realm_id: i64) -> Option<FailureHook> {
        let hook = self.on_failure.read().clone()?;
        Some(Arc::new(move |e: &Error| hook(realm_id, e)))
    }

    /// A component by hash, compiled once (`bytes` is asked for only when it is not cached).
    /// Compiling takes a while, so it runs through `heavy`, and one compilation at a time, so
    /// requests arriving together after a restart do not all compile the same component.
    pub fn component(&self, hash: &str, bytes: impl FnOnce() -> Result<Vec<u8>>) -> Result<Loaded> {
        if let Some(l) = self.components.read().get(hash) {
            return Ok(l.clone());
        }
        self.queued(|| {
            if let Some(l) = self.components.read().get(hash) {
                return Ok(l.clone());
            }
            let loaded = Loaded::compile(&bytes()?, self.cache.as_ref())?;
            self.components.write().insert(loaded.hash.clone(), loaded.clone());
            Ok(loaded)
        })
    }

    /// Compiles uploaded bytes (a deployment) through the same queue as every other compile.
    pub fn compile(&self, bytes: &[u8]) -> Result<Loaded> {
        self.queued(|| Loaded::compile(bytes, self.cache.as_ref()))
    }

    /// Runs a compile: one at a time, off the workers (see `heavy`), with at most
    /// `COMPILE_QUEUE` compiles waiting or running. A compile costs seconds of CPU and a lot of
    /// memory, so past the queue the answer is `503`, not another thread.
    fn queued<T>(&self, compile: impl FnOnce() -> Result<T>) -> Result<T> {
        struct Slot<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Slot<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let slot = Slot(&self.compiles_queued);
        if slot.0.fetch_add(1, Ordering::SeqCst) >= COMPILE_QUEUE {
            return Err(Error::Busy {
                retry_after: 5,
                detail: "scimd is compiling other engine components; try again shortly".into(),
            });
        }
        heavy(|| {
            let _one_at_a_time = self.compiling.lock();
            compile()
        })
    }

    /// A realm's engine for a component and configuration, not yet in use (see `install`).
    pub fn build(&self, realm_id: i64, loaded: Loaded, config: RealmConfig) -> Result<Arc<RealmEngine>> {
        Ok(Arc::new(RealmEngine::new(loaded, config, self.limits, self.hook_for(realm_id))?))
    }

    /// An engine for trying a component out before it serves anyone: its failures are the
    /// deployment's, not the realm's, so nobody is told of them.
    pub fn probe(&self, loaded: Loaded, config: RealmConfig) -> Result<RealmEngine> {
        RealmEngine::new(loaded, config, self.limits, None)
    }

    /// Makes an engine the realm's, for the realm settings summed up by `key`: new requests
    /// use it, requests under way finish on the one they started with. Compiled components
    /// are kept while an engine runs them.
    pub fn install(&self, realm_id: i64, key: &str, engine: Arc<RealmEngine>) {
        let mut realms = self.realms.write();
        let engines = realms.entry(realm_id).or_default();
        engines.retain(|(k, _)| k != key);
        engines.insert(0, (key.to_string(), engine.clone()));
        engines.truncate(ENGINES_KEPT);
        let mut components = self.components.write();
        components.insert(engine.loaded.hash.clone(), engine.loaded.clone());
        Self::keep_used(&realms, &mut components);
    }

    /// Keeps the engines of the realms `live` says still exist, and drops the others (and the
    /// components only they ran). The realms service calls it when the store says realms
    /// changed (`crate::realms`).
    pub fn retain_realms(&self, live: impl Fn(i64) -> bool) {
        let mut realms = self.realms.write();
        let before = realms.len();
        realms.retain(|id, _| live(*id));
        if realms.len() != before {
            Self::keep_used(&realms, &mut self.components.write());
        }
    }

    /// How many engines the runtime holds for a realm (at most `ENGINES_KEPT`).
    pub fn engines_of(&self, realm_id: i64) -> usize {
        self.realms.read().get(&realm_id).map_or(0, Vec::len)
    }

    fn keep_used(realms: &HashMap<i64, RealmEngines>, components: &mut HashMap<String, Loaded>) {
        components.retain(|hash, _| realms.values().flatten().any(|(_, e)| e.loaded.hash == *hash));
    }

    /// The engine of a realm; rebuilt (with `config()` and `component()`) when the realm's
    /// settings, summed up by `key`, changed.
    pub fn realm(
        &self,
        realm_id: i64,
        key: &str,
        config: impl FnOnce() -> RealmConfig,
        component: impl FnOnce() -> Result<Loaded>,
    ) -> Result<Arc<RealmEngine>> {
        if let Some((_, e)) = self.realms.read().get(&realm_id).and_then(|v| v.iter().find(|(k, _)| k == key)) {
            return Ok(e.clone());
        }
        let engine = self.build(realm_id, component()?, config())?;
        self.install(realm_id, key, engine.clone());
        Ok(engine)
    }
}

/// What a component must do before it serves a realm: describe itself sensibly, both as the
/// realm configures it (`engine`) and as `probe`, and answer a fixed set of calls on `probe`
/// without trapping. `probe` runs a configuration without the realm's profile and extensions,
/// so that a realm which (rightly) refuses the test's plain user still gets its engine checked.
/// Checks shapes, not content, so engines with their own mappings pass.
pub fn self_test(probe: &RealmEngine, engine: &RealmEngine) -> std::result::Result<(), String> {
    check_description(engine.info())?;
    check_description(probe.info())?;
    exercise(probe)
}

fn check_description(info: &EngineInfo) -> std::result::Result<(), String> {
    let runs = ["0.1", "0.2"];
    if !runs.iter().any(|v| info.api_version == *v || info.api_version.starts_with(&format!("{v}."))) {
        return Err(format!("describe: it implements scim:engine {}, this scimd 0.2 and 0.1", info.api_version));
    }
    let list = |text: &str, what: &str| -> std::result::Result<Vec<serde_json::Value>, String> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Array(items)) => Ok(items),
            _ => Err(format!("describe: its {what} is not a JSON array")),
        }
    };
    list(&info.schemas, "schemas")?;
    let types = list(&info.resource_types, "resource types")?;
    for endpoint in ["/Users", "/Groups"] {
        if !types.iter().any(|t| t["endpoint"] == endpoint) {
            return Err(format!("describe: it declares no resource type at {endpoint}"));
        }
    }
    if !serde_json::from_str::<serde_json::Value>(&info.service_provider_config).is_ok_and(|v| v.is_object()) {
        return Err("describe: its ServiceProviderConfig is not a JSON object".into());
    }
    Ok(())
}

/// Calls every function of the engine once with plain, valid input.
fn exercise(engine: &RealmEngine) -> std::result::Result<(), String> {
    let ctx = Context { realm: "self-test".into(), base_url: "http://self-test/scim/v2".into() };
    let step = |name: &str, e: Error| format!("{name}: {e}");
    engine
        .with(|s| {
            let user = s.create_resource(
                &ctx,
                ResourceKind::User,
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"scimd-self-test","displayName":"Self Test"}"#,
            )?;
            let stored = Stored {
                id: "self-test".into(),
                model: user.model,
                meta: bindings::Meta {
                    created: "2026-01-01T00:00:00.000Z".into(),
                    last_modified: "2026-01-01T00:00:00.000Z".into(),
                    version: "W/\"1\"".into(),
                    location: "http://self-test/scim/v2/Users/self-test".into(),
                },
            };
            let projection = s.projection(ResourceKind::User, None, None)?;
            let json = s.render(&ctx, &stored, &[], &projection)?;
            let doc: serde_json::Value = serde_json::from_str(&json)
                .map_err(|_| Error::EngineFault("render: the user is not valid JSON".into()))?;
            if doc["id"] != "self-test" {
                return Err(Error::EngineFault("render: the user's id is not the stored id".into()));
            }
            s.patch(
                &ctx,
                &stored,
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Tested"}]}"#,
            )?;
            let plan = s.plan_query(ResourceKind::User, Some(r#"userName eq "scimd-self-test""#), None, None)?;
            if plan.root as usize >= plan.nodes.len() {
                return Err(Error::EngineFault("plan-query: the plan's root is not one of its nodes".into()));
            }
            if s.plan_query(ResourceKind::User, Some("userName eq"), None, None).is_ok() {
                return Err(Error::EngineFault("plan-query: a malformed filter was accepted".into()));
            }
            let group = s.create_resource(
                &ctx,
                ResourceKind::Group,
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Self Test"}"#,
            )?;
            if !matches!(group.model, bindings::Model::Group(_)) {
                return Err(Error::EngineFault("create-resource: a group became something else".into()));
            }
            s.parse_search(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}"#)?;
            Ok(())
        })
        .map_err(|e| step("self-test", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_past_the_queue_are_busy() -> anyhow::Result<()> {
        let runtime = Arc::new(Runtime::new(Limits { deadline: Duration::from_secs(1), memory: 64 << 20 }, None)?);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (entered, started) = std::sync::mpsc::channel::<()>();
        // One compile runs (and waits on the gate), three wait behind it: the queue is full.
        let threads: Vec<_> = (0..COMPILE_QUEUE)
            .map(|_| {
                let (runtime, gate, entered) = (runtime.clone(), gate.clone(), entered.clone());
                std::thread::spawn(move || {
                    runtime.queued(|| {
                        let _ = entered.send(());
                        let _ = gate.lock().recv();
                        Ok(())
                    })
                })
            })
            .collect();
        started.recv()?;
        while runtime.compiles_queued.load(Ordering::SeqCst) < COMPILE_QUEUE {
            std::thread::yield_now();
        }
        let refused = runtime.queued(|| Ok(()));
        assert!(matches!(refused, Err(Error::Busy { .. })), "{refused:?}");
        for _ in 0..COMPILE_QUEUE {
            release.send(())?;
        }
        for t in threads {
            assert!(t.join().map_err(|_| anyhow::anyhow!("a compile thread panicked"))?.is_ok());
        }
        assert!(runtime.queued(|| Ok(())).is_ok(), "room again once they are done");
        Ok(())
    }
}
