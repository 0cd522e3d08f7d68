//! Brute-force detection, as Keycloak's: each failed login of a name (a username, or a
//! clientId for client secrets) is counted; every `failureFactor` failures lock the name out
//! for `waitIncrementSeconds` times the multiple (at most `maxFailureWaitSeconds`); two
//! failures closer than `quickLoginCheckMilliSeconds` lock it out for
//! `minimumQuickLoginWaitSeconds`; failures older than `maxDeltaTimeSeconds` are forgotten;
//! with `permanentLockout` the user is disabled instead. A locked-out name answers exactly as
//! a wrong secret does, without the secret being checked.
//!
//! Pure functions of the stored record and the clock; the token endpoint reads and writes the
//! record (`store::login_failures`).

use super::policy::BruteForcePolicy;
use crate::store::login_failures::Failures;

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
    let count = if since_last > p.max_delta_time.saturating_mul(1000) { 1 } else { previous.count + 1 };
    let mut wait = 0;
    if count % p.failure_factor == 0 {
        wait = p.wait_increment.saturating_mul(count / p.failure_factor).min(p.max_wait);
    }
    if since_last > 0 && since_last < p.quick_login_check_ms {
        wait = wait.max(p.minimum_quick_login_wait);
    }
    let locked_until = if wait > 0 { now + wait * 1000 } else { previous.locked_until };
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
    fn permanent_lockout_disables_at_the_failure_factor() {
        let p = BruteForcePolicy { permanent_lockout: true, ..policy() };
        let f = fail(&p, 2, 5_000);
        assert!(after_failure(&p, Some(f), f.last_failure + 5_000).disable);
    }
}
