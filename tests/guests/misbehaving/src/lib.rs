//! A guest that misbehaves on request, for the isolation tests. It is the default engine,
//! except that creating a user whose `userName` is
//!
//! - `trap` panics (a Rust panic prints, then aborts: a trap),
//! - `unreachable` aborts (the `unreachable` instruction: a trap without a word),
//! - `sleep` sleeps (a blocking WASI call),
//! - `loop` never returns,
//! - `oom` allocates until the host's memory cap stops it,
//! - `members` comes back with member changes (clear every member), which only groups have,
//! - `twice` comes back with an attribute written twice,
//!
//! and that the filter `userName eq "dag"` is planned as a predicate whose nodes share their
//! children (`and([k+1, k+1])` forty deep: 2^40 leaves when expanded), `userName eq "wide"` as
//! a plan of a hundred thousand nodes.
//!
//! Everything else, the deploy-time self-test included, behaves, so it deploys and then fails
//! only the requests that ask for it.

use scim_engine::component::{Adapter, ScimEngine};
use scim_engine::model::{Attribute, Context, Kind, MemberChanges, Model, PlanNode, QueryPlan, Write};
use scim_engine::{Engine, Result};

struct Misbehaving(Engine);

impl ScimEngine for Misbehaving {
    fn new(config: scim_engine::Config) -> Result<Self> {
        Engine::with_config(config).map(Misbehaving)
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
            Some("members") => {
                let mut write = self.0.create(ctx, kind, body)?;
                write.members = Some(MemberChanges { clear: true, add: vec![], remove: vec![] });
                Ok(write)
            }
            Some("twice") => {
                let mut write = self.0.create(ctx, kind, body)?;
                if let Model::User(u) = &mut write.model {
                    let a = Attribute { name: "scim.title".into(), values: vec!["one".into()] };
                    u.attributes.extend([a.clone(), a]);
                }
                Ok(write)
            }
            _ => self.0.create(ctx, kind, body),
        }
    }

    fn plan_query(
        &self,
        kind: Kind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<QueryPlan> {
        let plan = |nodes: Vec<PlanNode>| QueryPlan {
            nodes,
            root: 0,
            exact: true,
            recheck_needs_relations: false,
            sort: None,
        };
        match filter {
            Some(r#"userName eq "dag""#) => {
                let mut nodes: Vec<PlanNode> = (1..=40).map(|k| PlanNode::And(vec![k, k])).collect();
                nodes.push(PlanNode::All);
                Ok(plan(nodes))
            }
            Some(r#"userName eq "wide""#) => {
                let mut nodes = vec![PlanNode::Or((1..100_000).collect())];
                nodes.extend((1..100_000).map(|_| PlanNode::All));
                Ok(plan(nodes))
            }
            _ => self.0.plan_query(kind, filter, sort_by, sort_order),
        }
    }
}

type Component = Adapter<Misbehaving>;

scim_engine::component::export_scim_engine!(Component);
