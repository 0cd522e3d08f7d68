//! Disk stays bounded under load (docs/architecture.md §4): the WAL is restarted while reads
//! and writes go on, instead of growing by every commit for as long as the load lasts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Result;
use scimd_tests::{Server, q};
use serde_json::json;

/// The bound the README states for the WAL file.
const WAL_BOUND: u64 = 64 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wal_stays_bounded_under_continuous_reads_and_writes() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let wal = server.data_dir().join("scimd.db-wal");
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (peak, done, wal) = (peak.clone(), done.clone(), wal.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                peak.fetch_max(size, Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    // Readers that never stop, so there is always a snapshot in use.
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (c, done) = (c.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let _ = c.get("/Users?count=20").await;
            }
        }));
    }
    // 3000 users written by 8 writers: without restarts, well over 64 MiB of WAL.
    let mut writers = Vec::new();
    for w in 0..8 {
        let c = c.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..375 {
                let name = format!("soak-{w}-{i}");
                let extra = json!({
                    "name": {"givenName": "Given", "familyName": name},
                    "emails": [{"value": format!("{name}@example.com"), "primary": true}],
                    "title": "a title long enough to fill a few more pages of the attribute index",
                });
                c.create_user(&name, extra).await?;
            }
            anyhow::Ok(())
        }));
    }
    for w in writers {
        w.await??;
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.await?;
    }
    watcher.await?;
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak > 0, "the WAL was observed");
    assert!(peak <= WAL_BOUND, "the WAL reached {} MiB (bound {} MiB)", peak >> 20, WAL_BOUND >> 20);
    let (total, _) = c.ids(&format!("/Users?count=0&filter={}", q("userName sw \"soak-\""))).await?;
    assert_eq!(total, 3000, "every acknowledged write is there");
    Ok(())
}
