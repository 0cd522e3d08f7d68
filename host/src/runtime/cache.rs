//! Compiled components on disk, so that a restart does not compile every engine again.
//!
//! Compiling a component to native code takes seconds of CPU; loading the compiled form takes
//! milliseconds. An entry is named by the component's SHA-256 and a fingerprint of wasmtime's
//! version and configuration (`Engine::precompile_compatibility_hash`), so an upgrade or another
//! configuration never finds an entry made for something else. Each entry carries the SHA-256 of
//! its payload and of the component it was compiled from, checked before wasmtime sees it: a
//! truncated, corrupted or misplaced entry is removed and the component compiled again, never
//! loaded. (Loading compiled code trusts it to be wasmtime's output; the data directory is as
//! trusted as the database next to it, which an attacker able to write it would own anyway.)
//!
//! Entries are written to a temporary file, synced and renamed into place, so a crash leaves
//! either the whole entry or none. At most `MAX_ENTRIES` are kept, the oldest removed first.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"scimdcc1";
const HEADER: usize = MAGIC.len() + 32 + 32;
const EXTENSION: &str = "cwasm";
/// Entries kept: the default engine and a few deployed ones per realm are far fewer; an entry
/// is a few MiB.
const MAX_ENTRIES: usize = 24;

/// The cache directory of one data directory.
pub struct ComponentCache {
    dir: PathBuf,
}

/// Feeds what wasmtime hashes into SHA-256, so the fingerprint is the same in every process.
struct Fingerprint(Sha256);

impl Hasher for Fingerprint {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

fn fingerprint(engine: &Engine) -> String {
    let mut h = Fingerprint(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..12])
}

impl ComponentCache {
    pub fn new(dir: PathBuf) -> ComponentCache {
        ComponentCache { dir }
    }

    fn path(&self, engine: &Engine, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.{}.{EXTENSION}", fingerprint(engine)))
    }

    /// The compiled component of `bytes` (whose SHA-256 is `hash`): from the cache when a sound
    /// entry is there, else compiled by `compile` and stored.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
        compile: impl FnOnce() -> wasmtime::Result<Component>,
    ) -> wasmtime::Result<Component> {
        let path = self.path(engine, hash);
        if let Some(component) = self.load(engine, &path, bytes) {
            return Ok(component);
        }
        let component = compile()?;
        if let Err(e) = self.store(&path, bytes, &component) {
            tracing::warn!(path = %path.display(), "could not cache a compiled component: {e}");
        }
        Ok(component)
    }

    /// A sound entry's component, or `None` (an unsound entry is removed). The one place the
    /// host loads native code: `unsafe` is allowed here alone (see the module's doc).
    #[allow(unsafe_code)]
    fn load(&self, engine: &Engine, path: &Path, bytes: &[u8]) -> Option<Component> {
        let entry = std::fs::read(path).ok()?;
        let sound = entry.len() > HEADER
            && &entry[..MAGIC.len()] == MAGIC
            && entry[MAGIC.len()..MAGIC.len() + 32] == Sha256::digest(bytes)[..]
            && entry[MAGIC.len() + 32..HEADER] == Sha256::digest(&entry[HEADER..])[..];
        if !sound {
            tracing::warn!(path = %path.display(), "a cached compiled component is damaged: compiling it again");
            let _ = std::fs::remove_file(path);
            return None;
        }
        // SAFETY: the payload is what `Component::serialize` wrote for this component under this
        // wasmtime version and configuration (the name says so), unchanged since (its digest
        // says so); wasmtime checks its own header and configuration again.
        match unsafe { Component::deserialize(engine, &entry[HEADER..]) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "a cached compiled component does not load ({e}): compiling it again");
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    fn store(&self, path: &Path, bytes: &[u8], component: &Component) -> std::io::Result<()> {
        let payload = component.serialize().map_err(|e| std::io::Error::other(format!("{e:#}")))?;
        std::fs::create_dir_all(&self.dir)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(&Sha256::digest(bytes))?;
            f.write_all(&Sha256::digest(&payload))?;
            f.write_all(&payload)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        self.prune();
        Ok(())
    }

    /// Keeps the newest `MAX_ENTRIES` entries.
    fn prune(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else { return };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        for (_, p) in &entries[..entries.len() - MAX_ENTRIES] {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component there is: the header of the component binary format.
    const EMPTY: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    fn setup() -> (tempfile::TempDir, ComponentCache, Vec<u8>, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = ComponentCache::new(dir.path().join("cache"));
        let bytes = EMPTY.to_vec();
        let hash = hex::encode(Sha256::digest(&bytes));
        (dir, cache, bytes, hash)
    }

    fn compiles(engine: &Engine, bytes: &[u8], count: &mut usize) -> wasmtime::Result<Component> {
        *count += 1;
        Component::new(engine, bytes)
    }

    #[test]
    fn a_second_load_comes_from_the_cache() -> wasmtime::Result<()> {
        let engine = super::super::wasmtime_engine();
        let (_dir, cache, bytes, hash) = setup();
        let mut n = 0;
        cache.load_or_compile(engine, &bytes, &hash, || compiles(engine, &bytes, &mut n))?;
        cache.load_or_compile(engine, &bytes, &hash, || compiles(engine, &bytes, &mut n))?;
        assert_eq!(n, 1);
        Ok(())
    }

    #[test]
    fn a_damaged_entry_is_compiled_again_never_loaded() -> wasmtime::Result<()> {
        let engine = super::super::wasmtime_engine();
        let (_dir, cache, bytes, hash) = setup();
        let mut n = 0;
        cache.load_or_compile(engine, &bytes, &hash, || compiles(engine, &bytes, &mut n))?;
        let path = cache.path(engine, &hash);
        let good = std::fs::read(&path)?;
        type Damage<'a> = &'a dyn Fn(&mut Vec<u8>);
        let damage: [Damage; 4] = [
            &|e| e.truncate(e.len() - 1),
            &|e| {
                let last = e.len() - 1;
                e[last] ^= 1
            },
            &|e| e[0] ^= 1,
            // An entry of another component under this one's name.
            &|e| e[MAGIC.len()] ^= 1,
        ];
        for (i, damage) in damage.iter().enumerate() {
            let mut bad = good.clone();
            damage(&mut bad);
            std::fs::write(&path, &bad)?;
            let before = n;
            cache.load_or_compile(engine, &bytes, &hash, || compiles(engine, &bytes, &mut n))?;
            assert_eq!(n, before + 1, "damage {i} is compiled again");
            assert_eq!(std::fs::read(&path)?, good, "damage {i}: the entry is written anew");
        }
        Ok(())
    }
}
