//! Rendered resources remembered per realm engine.
//!
//! An engine is a pure function: what it renders depends on the page item (the stored
//! resource whole — model and `meta` —, the relations read with it, their names included, and
//! whether the minimal form was asked), the projection and the request context; and on the
//! engine and its configuration, which this memo belongs to (a new realm configuration or
//! component is a new engine, with an empty memo). The key is a 128-bit digest of all of those
//! inputs, not of a version number that some write might forget to bump, so nothing has to be
//! invalidated: a changed input is another key. Memory is bounded twice: past `BUDGET` bytes an
//! engine's memo starts over, and past `PROCESS_BUDGET` bytes over all engines (many realms)
//! nothing more is kept until some is freed.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::bindings::{Context, PageItem, Projection};

/// Bytes of rendered JSON kept per realm engine: a few thousand resources. Measured at 8 MiB,
/// the memo was most of the 17 MiB RSS it added after 100k users; at 4 MiB RSS after 100k users
/// and a 100k-member group was at the 64 MiB bound; at 3 MiB, see the README.
const BUDGET: usize = 3 << 20;
/// Bytes kept over every realm engine of the process.
const PROCESS_BUDGET: usize = 32 << 20;

static KEPT: AtomicUsize = AtomicUsize::new(0);
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
            KEPT.fetch_sub(memo.bytes, Ordering::Relaxed);
            memo.map.clear();
            memo.bytes = 0;
        }
        if KEPT.load(Ordering::Relaxed) + rendered.len() > PROCESS_BUDGET {
            return;
        }
        if memo.map.insert(key, Arc::from(rendered)).is_none() {
            memo.bytes += rendered.len();
            KEPT.fetch_add(rendered.len(), Ordering::Relaxed);
        }
    }
}

impl Drop for Renders {
    fn drop(&mut self) {
        KEPT.fetch_sub(self.inner.get_mut().bytes, Ordering::Relaxed);
    }
}
