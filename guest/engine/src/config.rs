//! A realm's engine configuration, given once to `realm-engine.create`: since WIT 0.2 a typed
//! `realm-config` whose profile and extensions are JSON texts (`Config::checked`,
//! `profile_json`, `extensions_json`); natively and in 0.1, one JSON object (`Config::parse`).

use serde_json::Value;

use crate::error::{Error, Result};

/// How literally the engine reads the RFCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    /// Accepts what Microsoft Entra ID and Okta really send (PATCH `op` in any case, `"False"`
    /// for booleans, unquoted filter values, `value` lists on member removal, dotted keys in
    /// pathless replaces, …). The default.
    Entra,
    /// RFC 7643/7644 as written: the same requests get the RFC's 400s.
    Strict,
}

/// The parsed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub compatibility: Compatibility,
    /// The largest page the host serves (advertised as `filter.maxResults`).
    pub max_results: u32,
    /// The most operations one PATCH may carry.
    pub max_operations: u32,
    /// The largest request body the host accepts, in bytes (advertised for `bulk`).
    pub max_payload_size: u64,
    /// Whether the host serves ETags.
    pub etag: bool,
    /// How long the host's pagination cursors stay valid, in seconds (RFC 9865
    /// `cursorTimeout`; since 0.2.0).
    pub cursor_timeout: u64,
    /// Extension schemas the realm declares (see `profile`).
    pub extensions: Option<Value>,
    /// The realm's user profile (see `profile`).
    pub profile: Option<serde_json::Map<String, Value>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            compatibility: Compatibility::Entra,
            max_results: 1000,
            max_operations: 1000,
            max_payload_size: 1_048_576,
            etag: true,
            cursor_timeout: 3600,
            extensions: None,
            profile: None,
        }
    }
}

impl Config {
    /// The configuration as given, once its limits are known to be usable (each at least 1).
    pub fn checked(self) -> Result<Config> {
        for (key, n) in [
            ("max-results", u64::from(self.max_results)),
            ("max-operations", u64::from(self.max_operations)),
            ("max-payload-size", self.max_payload_size),
            ("cursor-timeout", self.cursor_timeout),
        ] {
            if n == 0 {
                return Err(Error::Config(format!("{key} must be a positive integer, not 0")));
            }
        }
        Ok(self)
    }

    /// Reads the configuration from one JSON object with camelCase keys (`compatibility`,
    /// `maxResults`, `maxOperations`, `maxPayloadSize`, `etag`, `cursorTimeout`, `profile`,
    /// `extensions`): the form 0.1 engines are given, and the handy one for native use.
    pub fn parse(text: &str) -> Result<Config> {
        let mut config = Config::default();
        if text.trim().is_empty() {
            return Ok(config);
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("engine configuration is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(Error::Config("engine configuration must be a JSON object".into()));
        };
        for (key, v) in &map {
            match key.as_str() {
                "compatibility" => {
                    config.compatibility = match v.as_str() {
                        Some(s) if s.eq_ignore_ascii_case("entra") => Compatibility::Entra,
                        Some(s) if s.eq_ignore_ascii_case("strict") => Compatibility::Strict,
                        _ => {
                            return Err(Error::Config(format!(
                                "compatibility must be \"entra\" or \"strict\", not {v}"
                            )));
                        }
                    }
                }
                "maxResults" => config.max_results = positive(key, v)? as u32,
                "maxOperations" => config.max_operations = positive(key, v)? as u32,
                "maxPayloadSize" => config.max_payload_size = positive(key, v)?,
                "cursorTimeout" => config.cursor_timeout = positive(key, v)?,
                "etag" => config.etag = v.as_bool().ok_or_else(|| Error::Config("etag must be a boolean".into()))?,
                "extensions" => config.extensions = extensions(v.clone())?,
                "profile" => config.profile = profile(v.clone())?,
                // Unknown keys are ignored so an older engine runs under a newer host.
                _ => {}
            }
        }
        Ok(config)
    }

    pub fn lenient(&self) -> bool {
        self.compatibility == Compatibility::Entra
    }
}

fn positive(key: &str, v: &Value) -> Result<u64> {
    match v.as_u64() {
        Some(n) if n > 0 && n <= u64::from(u32::MAX) => Ok(n),
        _ => Err(Error::Config(format!("{key} must be a positive integer, not {v}"))),
    }
}

/// The realm's user profile from its JSON text (`realm-config.profile`).
pub fn profile_json(text: &str) -> Result<Option<serde_json::Map<String, Value>>> {
    profile(serde_json::from_str(text).map_err(|e| Error::Config(format!("the profile is not valid JSON: {e}")))?)
}

/// The realm's extension schemas from their JSON text (`realm-config.extensions`).
pub fn extensions_json(text: &str) -> Result<Option<Value>> {
    extensions(
        serde_json::from_str(text).map_err(|e| Error::Config(format!("the extensions are not valid JSON: {e}")))?,
    )
}

fn profile(v: Value) -> Result<Option<serde_json::Map<String, Value>>> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(Error::Config("profile must be an object with 'attributes'".into())),
    }
}

fn extensions(v: Value) -> Result<Option<Value>> {
    match v {
        Value::Null => Ok(None),
        Value::Array(_) => Ok(Some(v)),
        _ => Err(Error::Config("extensions must be an array of schema declarations".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_of_zero_is_refused_naming_it() {
        let zero = Config { max_operations: 0, ..Config::default() };
        let e = zero.checked().expect_err("0 operations per PATCH is no limit an engine can serve");
        assert!(e.detail().contains("max-operations"), "{}", e.detail());
        assert!(Config::default().checked().is_ok());
    }

    #[test]
    fn profile_and_extensions_texts_must_have_their_shapes() {
        assert!(profile_json(r#"{"attributes": []}"#).is_ok_and(|p| p.is_some()));
        assert!(profile_json("null").is_ok_and(|p| p.is_none()));
        assert!(profile_json("[1]").is_err());
        assert!(profile_json("{").is_err());
        assert!(extensions_json("[]").is_ok_and(|e| e.is_some()));
        assert!(extensions_json(r#"{"schema": "urn:x"}"#).is_err());
    }
}
