//! Brute-force detection, as Keycloak's: each failed login of a name (a username, or a
//! clientId for client secrets) is counted; every `failureFactor` failures lock the name out
//! for `waitIncrementSeconds` times the multiple (at most `maxFailureWaitSeconds`); two
//! failures closer than `quickLoginCheckMilliSeconds` lock it out for
//! `minimumQuickLoginWaitSeconds`; failures older than `maxDeltaTimeSeconds` are forgotten;
//! with `permanentLockout` the user is disabled instead. A locked-out name answers exactly as
//! a wrong secret does, without the secret being checked.
//!
//! The counts live in memory, in one table owned by `Detector`, as Keycloak keeps them in its
//! cache rather than its database: a failure costs no write, so names that exist and names
//! that do not are counted alike and answered as fast, and nobody can grow the database by
//! trying names. The table holds at most `MAX_NAMES` names (by a digest of the name, so a long
//! name costs no more); when full it forgets the stalest. Counts do not survive a restart.

use std::collections::HashMap;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::policy::BruteForcePolicy;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    User,
    Client,
}

/// The failures of one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: i64,
    /// Milliseconds since the epoch; 0: never.
    pub last_failure: i64,
    /// Until when logins are refused (ms); 0: not locked.
    pub locked_until: i64,
}

/// The most names counted at once.
pub const MAX_NAMES: usize = 100_000;

/// Failures kept when nothing more recent says otherwise (Keycloak's `maxDeltaTimeSeconds`
/// default).
const STALE_MS: i64 = 12 * 3600 * 1000;

/// A name as the table keys it: realm, kind, and the SHA-256 of the lower-cased name.
type Key = (i64, Subject, [u8; 32]);

fn key(realm_id: i64, subject: Subject, name: &str) -> Key {
    (realm_id, subject, Sha256::digest(name.to_lowercase().as_bytes()).into())
}

/// The failed-login counts of every realm.
#[derive(Default)]
pub struct Detector {
    table: Mutex<HashMap<Key, Failures>>,
}

impl Detector {
    /// The failures of a name, if it has any.
    pub fn failures(&self, realm_id: i64, subject: Subject, name: &str) -> Option<Failures> {
        self.table.lock().get(&key(realm_id, subject, name)).copied()
    }

    /// Counts a failure of a name at `now` under the realm's policy; says whether the user is
    /// to be disabled (`permanentLockout`).
    pub fn failed(
        &self,
        policy: &BruteForcePolicy,
        realm_id: i64,
        subject: Subject,
        name: &str,
        now: i64,
    ) -> AfterFailure {
        let k = key(realm_id, subject, name);
        let mut table = self.table.lock();
        let after = after_failure(policy, table.get(&k).copied(), now);
        if table.len() >= MAX_NAMES && !table.contains_key(&k) {
            forget_stalest(&mut table, now);
        }
        table.insert(k, after.failures);
        after
    }

    /// Forgets a name's failures (a successful login, or an administrator's unlock).
    pub fn clear(&self, realm_id: i64, subject: Subject, name: &str) -> bool {
        self.table.lock().remove(&key(realm_id, subject, name)).is_some()
    }

    /// Forgets every failure of a realm's names of one kind.
    pub fn clear_realm(&self, realm_id: i64, subject: Subject) {
        self.table.lock().retain(|(r, s, _), _| !(*r == realm_id && *s == subject));
    }
}

/// Makes room: drops what is stale and locks nothing; if that is not enough, the older half of
/// what locks nothing; if even that is not enough (a flood of locked names), the older half.
fn forget_stalest(table: &mut HashMap<Key, Failures>, now: i64) {
    table.retain(|_, f| f.locked_until > now || now - f.last_failure < STALE_MS);
    for keep_locked in [true, false] {
        if table.len() < MAX_NAMES {
            return;
        }
        let mut times: Vec<i64> =
            table.values().filter(|f| !keep_locked || f.locked_until <= now).map(|f| f.last_failure).collect();
        if times.is_empty() {
            continue;
        }
        let middle = times.len() / 2;
        let (_, cut, _) = times.select_nth_unstable(middle);
        let cut = *cut;
        table.retain(|_, f| f.last_failure > cut || (keep_locked && f.locked_until > now));
    }
}

/// Whether logins of the name are refused at `now` (ms).
pub fn is_locked(failures: Option<&Failures>, now: i64) -> bool {
    failures.is_some_and(|f| f.locked_until > now)
}

/// What a failure does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    pub failures: Failures,
    /// `permanentLockout` reached: disable the user.
    pub disable: bool,
}

/// The record after one more failure at `now` (ms).
pub fn after_failure(p: &BruteForcePolicy, previous: Option<Failures>, now: i64) -> AfterFailure {
    let previous = previous.unwrap_or_default();
    let since_last = if previous.last_failure > 0 { now - previous.last_failure } else { 0 };
    let count = if since_last > p.max_delta_time.saturating_mul(1000) { 1 } else { previous.count.saturating_add(1) };
    let mut wait = 0;
    if count % p.failure_factor == 0 {
        wait = p.wait_increment.saturating_mul(count / p.failure_factor).min(p.max_wait);
    }
    if since_last > 0 && since_last < p.quick_login_check_ms {
        wait = wait.max(p.minimum_quick_login_wait);
    }
    let locked_until = if wait > 0 { now.saturating_add(wait.saturating_mul(1000)) } else { previous.locked_until };
    AfterFailure {
        failures: Failures { count, last_failure: now, locked_until },
        disable: p.permanent_lockout && count >= p.failure_factor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BruteForcePolicy {
        BruteForcePolicy {
            enabled: true,
            failure_factor: 3,
            wait_increment: 60,
            max_wait: 150,
            quick_login_check_ms: 1000,
            minimum_quick_login_wait: 30,
            max_delta_time: 3600,
            permanent_lockout: false,
        }
    }

    /// Fails `n` times, `gap` ms apart, from t = 10 s.
    fn fail(p: &BruteForcePolicy, n: usize, gap: i64) -> Failures {
        let mut f = None;
        for i in 0..n {
            f = Some(after_failure(p, f, 10_000 + i as i64 * gap).failures);
        }
        f.unwrap_or_default()
    }

    #[test]
    fn every_failure_factor_failures_lock_out_for_a_growing_wait() {
        let p = policy();
        let f = fail(&p, 2, 5_000);
        assert!(!is_locked(Some(&f), f.last_failure + 1));
        let f = fail(&p, 3, 5_000);
        assert!(is_locked(Some(&f), f.last_failure + 59_000));
        assert!(!is_locked(Some(&f), f.last_failure + 60_000));
        let f = fail(&p, 6, 5_000);
        assert_eq!(f.locked_until - f.last_failure, 120_000);
        let f = fail(&p, 9, 5_000);
        assert_eq!(f.locked_until - f.last_failure, 150_000, "capped at maxFailureWaitSeconds");
    }

    #[test]
    fn quick_failures_lock_out_at_once() {
        let f = fail(&policy(), 2, 200);
        assert_eq!(f.locked_until - f.last_failure, 30_000);
    }

    #[test]
    fn old_failures_are_forgotten() {
        let p = policy();
        let old = fail(&p, 2, 5_000);
        let later = after_failure(&p, Some(old), old.last_failure + 3_601_000).failures;
        assert_eq!(later.count, 1);
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_what_is_locked() {
        let d = Detector::default();
        let p = BruteForcePolicy { quick_login_check_ms: 0, wait_increment: 1 << 30, max_wait: 1 << 30, ..policy() };
        for _ in 0..3 {
            d.failed(&p, 1, Subject::User, "Alice", 1_000);
        }
        assert!(is_locked(d.failures(1, Subject::User, "alice").as_ref(), 2_000), "names are case-insensitive");
        for i in 0..MAX_NAMES + 10 {
            d.failed(&p, 1, Subject::Client, &format!("guess-{i}"), STALE_MS + 10_000 + i as i64);
        }
        assert!(d.table.lock().len() <= MAX_NAMES);
        assert!(d.failures(1, Subject::User, "alice").is_some(), "a locked name is not forgotten first");
        d.clear_realm(1, Subject::Client);
        assert!(d.failures(1, Subject::Client, "guess-5").is_none());
    }

    #[test]
    fn permanent_lockout_disables_at_the_failure_factor() {
        let p = BruteForcePolicy { permanent_lockout: true, ..policy() };
        let f = fail(&p, 2, 5_000);
        assert!(after_failure(&p, Some(f), f.last_failure + 5_000).disable);
    }
}
