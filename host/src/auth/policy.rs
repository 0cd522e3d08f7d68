//! A realm's security settings, under Keycloak's names, read from its representation with
//! Keycloak's defaults — except that brute-force detection is on unless turned off, and
//! admin events expire (Keycloak keeps them forever).
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `ssoSessionIdleTimeout` | 1800 | seconds a session lives without a refresh |
//! | `ssoSessionMaxLifespan` | 36000 | seconds a session lives at most |
//! | `bruteForceProtected` | true | count failed logins and lock out |
//! | `failureFactor` | 30 | failures before a lockout |
//! | `waitIncrementSeconds` | 60 | lockout per `failureFactor` failures |
//! | `maxFailureWaitSeconds` | 900 | longest lockout |
//! | `quickLoginCheckMilliSeconds` | 1000 | failures closer than this… |
//! | `minimumQuickLoginWaitSeconds` | 60 | …lock out for this long |
//! | `maxDeltaTimeSeconds` | 43200 | failures older than this are forgotten |
//! | `permanentLockout` | false | disable the user after `failureFactor` failures |
//! | `adminEventsExpiration` | 7776000 | seconds admin events are kept (90 days; 0: forever) |

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// How long sessions live, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: i64,
    pub max: i64,
}

/// Brute-force detection (see `brute_force`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BruteForcePolicy {
    pub enabled: bool,
    pub failure_factor: i64,
    pub wait_increment: i64,
    pub max_wait: i64,
    pub quick_login_check_ms: i64,
    pub minimum_quick_login_wait: i64,
    pub max_delta_time: i64,
    pub permanent_lockout: bool,
}

/// Everything security-related a realm sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub sessions: SessionPolicy,
    pub brute_force: BruteForcePolicy,
    /// Seconds admin events are kept; 0: forever.
    pub admin_events_expiration: i64,
}

/// (field, default) of the integer settings, in `Policy::of`'s order.
const INTEGERS: &[(&str, i64)] = &[
    ("ssoSessionIdleTimeout", 1800),
    ("ssoSessionMaxLifespan", 36000),
    ("failureFactor", 30),
    ("waitIncrementSeconds", 60),
    ("maxFailureWaitSeconds", 900),
    ("quickLoginCheckMilliSeconds", 1000),
    ("minimumQuickLoginWaitSeconds", 60),
    ("maxDeltaTimeSeconds", 43200),
    ("adminEventsExpiration", 90 * 24 * 3600),
];

const BOOLEANS: &[(&str, bool)] = &[("bruteForceProtected", true), ("permanentLockout", false)];

/// The largest value a setting takes (ten years, in seconds or milliseconds alike): enough for
/// any policy, and far from overflowing when turned into milliseconds.
const MAX_SETTING: i64 = 10 * 365 * 24 * 3600 * 1000;

fn integer(attributes: &Map<String, Value>, key: &str, default: i64) -> Result<i64> {
    let v = match attributes.get(key) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    match v {
        Some(n)
            if (0..=MAX_SETTING / 1000).contains(&n)
                || (key.ends_with("MilliSeconds") && (0..=MAX_SETTING).contains(&n)) =>
        {
            Ok(n)
        }
        _ => Err(Error::InvalidValue(format!("'{key}' must be a whole number from 0 to {}", MAX_SETTING / 1000))),
    }
}

fn boolean(attributes: &Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match attributes.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(Error::InvalidValue(format!("'{key}' must be true or false"))),
    }
}

impl Policy {
    /// The policy a realm's representation sets; a bad value is `400 invalidValue` (checked
    /// when the realm is written, so a stored realm always has a policy).
    pub fn of(attributes: &Map<String, Value>) -> Result<Policy> {
        let mut n = [0i64; INTEGERS.len()];
        for (slot, (key, default)) in n.iter_mut().zip(INTEGERS) {
            *slot = integer(attributes, key, *default)?;
        }
        let [idle, max, failure_factor, wait_increment, max_wait, quick_ms, quick_wait, max_delta, events] = n;
        if failure_factor == 0 {
            return Err(Error::InvalidValue("'failureFactor' must be 1 or more".into()));
        }
        if idle == 0 || max == 0 {
            return Err(Error::InvalidValue("session timeouts must be 1 second or more".into()));
        }
        Ok(Policy {
            sessions: SessionPolicy { idle, max },
            brute_force: BruteForcePolicy {
                enabled: boolean(attributes, BOOLEANS[0].0, BOOLEANS[0].1)?,
                failure_factor,
                wait_increment,
                max_wait,
                quick_login_check_ms: quick_ms,
                minimum_quick_login_wait: quick_wait,
                max_delta_time: max_delta,
                permanent_lockout: boolean(attributes, BOOLEANS[1].0, BOOLEANS[1].1)?,
            },
            admin_events_expiration: events,
        })
    }

    /// The realm's policy, or the defaults if what is stored no longer reads (it was checked
    /// when stored; an offline edit could still break it).
    pub fn of_or_default(attributes: &Map<String, Value>) -> Policy {
        Policy::of(attributes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a realm's security settings do not read; using the defaults");
            Policy::of(&Map::new()).unwrap_or_else(|_| unreachable_defaults())
        })
    }

    /// Adds every setting a representation leaves out, with its default, as Keycloak shows
    /// them all.
    pub fn fill_defaults(representation: &mut Map<String, Value>) {
        for (key, default) in INTEGERS {
            representation.entry(*key).or_insert(json!(default));
        }
        for (key, default) in BOOLEANS {
            representation.entry(*key).or_insert(json!(default));
        }
    }
}

/// The defaults, spelled out (they always read; this exists so no path panics).
fn unreachable_defaults() -> Policy {
    Policy {
        sessions: SessionPolicy { idle: 1800, max: 36000 },
        brute_force: BruteForcePolicy {
            enabled: true,
            failure_factor: 30,
            wait_increment: 60,
            max_wait: 900,
            quick_login_check_ms: 1000,
            minimum_quick_login_wait: 60,
            max_delta_time: 43200,
            permanent_lockout: false,
        },
        admin_events_expiration: 90 * 24 * 3600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_keycloaks_with_brute_force_on() {
        let p = Policy::of(&Map::new()).expect("defaults read");
        assert_eq!(p, unreachable_defaults());
    }

    #[test]
    fn settings_read_from_numbers_and_strings_and_bad_ones_are_refused() {
        let m: Map<String, Value> = serde_json::from_value(json!({
            "failureFactor": 3, "waitIncrementSeconds": "5", "bruteForceProtected": "false", "ssoSessionIdleTimeout": 10
        }))
        .expect("object");
        let p = Policy::of(&m).expect("reads");
        assert_eq!((p.brute_force.failure_factor, p.brute_force.wait_increment), (3, 5));
        assert!(!p.brute_force.enabled);
        assert_eq!(p.sessions.idle, 10);
        for bad in [
            json!({"failureFactor": -1}),
            json!({"failureFactor": 0}),
            json!({"permanentLockout": 1}),
            json!({"maxFailureWaitSeconds": "soon"}),
            json!({"ssoSessionMaxLifespan": 0}),
        ] {
            let m: Map<String, Value> = serde_json::from_value(bad.clone()).expect("object");
            assert!(Policy::of(&m).is_err(), "{bad}");
        }
    }
}
