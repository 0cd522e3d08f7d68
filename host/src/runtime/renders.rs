//! Rendered resources remembered per realm engine.
//!
//! An engine is a pure function: what it renders depends on the page item (the stored
//! resource whole — model and `meta` —, the relations read with it, their names included, and
//! whether the minimal form was asked), the projection and the request context; and on the
//! engine and its configuration, which this memo belongs to (a new realm configuration or
//! component is a new engine, with an empty memo). The key is a 128-bit digest of all of those
//! inputs, not of a version number that some write might forget to bump, so nothing has to be
//! invalidated: a changed input is another key. Memory is bounded: past `BUDGET` bytes the
//! memo starts over.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use parking_lot::Mutex;

use super::bindings::{Context, PageItem, Projection};

/// Bytes of rendered JSON kept per realm engine.
const BUDGET: usize = 8 << 20;
/// A larger rendering is not kept (a group of many members).
const LARGEST: usize = 64 << 10;

#[derive(Default)]
pub struct Renders {
    inner: Mutex<Memo>,
}

#[derive(Default)]
struct Memo {
    map: HashMap<u128, Arc<str>>,
    bytes: usize,
}

/// The digest of a rendering's inputs: two SipHashes of them, told apart by a leading byte.
pub fn key(ctx: &Context, projection: &Projection, item: &PageItem) -> u128 {
    let half = |seed: u8| {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        ctx.hash(&mut h);
        projection.hash(&mut h);
        item.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl Renders {
    pub fn get(&self, key: u128) -> Option<Arc<str>> {
        self.inner.lock().map.get(&key).cloned()
    }

    pub fn put(&self, key: u128, rendered: &str) {
        if rendered.len() > LARGEST {
            return;
        }
        let mut memo = self.inner.lock();
        if memo.bytes + rendered.len() > BUDGET {
            memo.map.clear();
            memo.bytes = 0;
        }
        if memo.map.insert(key, Arc::from(rendered)).is_none() {
            memo.bytes += rendered.len();
        }
    }
}
