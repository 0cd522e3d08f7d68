//! Expiry of what the store keeps for a limited time: admin events older than their realm's
//! `adminEventsExpiration`, and sessions past their end. A thread does it once a minute, in
//! small batches through the writer, so that no write waits long behind it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::auth::policy::Policy;
use crate::error::Result;
use crate::store::{Store, now_ms, sessions};

/// How often expired rows are looked for.
const EVERY: Duration = Duration::from_secs(60);

/// Rows deleted per write.
const BATCH: i64 = 2_000;

/// Starts the housekeeping thread; it ends when the store is dropped.
pub fn start(store: &Arc<Store>) {
    let store = Arc::downgrade(store);
    let spawned = std::thread::Builder::new().name("scimd-housekeeping".into()).spawn(move || {
        loop {
            std::thread::sleep(EVERY);
            let Some(store) = Weak::upgrade(&store) else { return };
            if let Err(e) = sweep(&store) {
                tracing::warn!(error = %e, "housekeeping failed");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "the housekeeping thread could not start; expired rows stay");
    }
}

/// One round: every kind of expired row, batch by batch.
pub fn sweep(store: &Store) -> Result<()> {
    let now = now_ms();
    while store.write_blocking(move |c| sessions::sweep(c, now, BATCH))? as i64 == BATCH {}
    for realm in store.realms()? {
        let policy = Policy::of_or_default(&realm.attributes);
        if policy.admin_events_expiration == 0 {
            continue;
        }
        let before = now - policy.admin_events_expiration.saturating_mul(1000);
        let realm_id = realm.id;
        while store.write_blocking(move |c| crate::store::events::expire(c, realm_id, before, BATCH))? as i64 == BATCH {
        }
    }
    Ok(())
}
