//! A guest that misbehaves on request, for the isolation tests. It is the default engine,
//! except that creating a user whose `userName` is
//!
//! - `trap` panics (a Rust panic prints, then aborts: a trap),
//! - `unreachable` aborts (the `unreachable` instruction: a trap without a word),
//! - `sleep` sleeps (a blocking WASI call),
//! - `loop` never returns,
//! - `oom` allocates until the host's memory cap stops it.
//!
//! Everything else, the deploy-time self-test included, behaves, so it deploys and then fails
//! only the requests that ask for it.

use scim_engine::component::{Adapter, ScimEngine};
use scim_engine::model::{Context, Kind, Write};
use scim_engine::{Engine, Result};

struct Misbehaving(Engine);

impl ScimEngine for Misbehaving {
    fn new(config: &str) -> Result<Self> {
        Engine::new(config).map(Misbehaving)
    }

    fn engine(&self) -> &Engine {
        &self.0
    }

    fn create(&self, ctx: &Context, kind: Kind, body: &str) -> Result<Write> {
        let user_name = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("userName").and_then(|n| n.as_str()).map(str::to_string));
        match user_name.as_deref() {
            Some("trap") => panic!("the misbehaving guest was asked to trap"),
            // On wasm, `abort` is the `unreachable` instruction.
            Some("unreachable") => std::process::abort(),
            Some("sleep") => {
                std::thread::sleep(std::time::Duration::from_millis(1));
                self.0.create(ctx, kind, body)
            }
            Some("loop") => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Some("oom") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            _ => self.0.create(ctx, kind, body),
        }
    }
}

type Component = Adapter<Misbehaving>;

scim_engine::component::export_scim_engine!(Component);
