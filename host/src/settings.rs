//! Server settings, read in one place: command-line flags with `SCIMD_*` environment
//! fallbacks and documented defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Everything `scimd serve` can be told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the SQLite database lives (`scimd.db`).
    pub data_dir: PathBuf,
    /// The largest accepted request body (`SCIMD_MAX_BODY`, default 1 MiB).
    pub max_body: u64,
    /// The largest SCIM engine component an admin may deploy (`SCIMD_MAX_COMPONENT_MB`,
    /// default 64 MiB): each upload is compiled, which costs time and memory.
    pub max_component: u64,
    /// The largest page (`SCIMD_MAX_RESULTS`, default 1000); also the default `count`.
    pub max_results: u32,
    /// The most operations in one PATCH (default 1000).
    pub max_operations: u32,
    /// How long one call into a SCIM engine may run (`SCIMD_GUEST_DEADLINE_MS`, default 2000).
    pub guest_deadline: Duration,
    /// How much memory one engine instance may use (`SCIMD_GUEST_MEMORY_MB`, default 64).
    pub guest_memory: usize,
    /// The server's public base URL (`SCIMD_PUBLIC_URL`), e.g. `https://id.example.com`: token
    /// issuers and resource locations use it. Unset, they follow the request's `Host`.
    pub public_url: Option<String>,
    /// Which forwarding headers a reverse proxy in front of scimd sets (`--proxy-headers`,
    /// Keycloak's option); unset, all of them are ignored, so no client chooses the issuer
    /// of tokens or the location of resources.
    pub proxy_headers: ProxyHeaders,
    /// The directory trusted issuers' JWKS files must be in (`--trusted-jwks-dir`); unset, no
    /// file is read.
    pub trusted_jwks_dir: Option<PathBuf>,
    /// How long a client may take to send a request's headers (slowloris).
    pub header_read_timeout: Duration,
    /// How long a request may take, body included.
    pub request_timeout: Duration,
    /// How long an RFC 9865 cursor stays valid (`SCIMD_CURSOR_TIMEOUT`, default an hour):
    /// advertised as `pagination.cursorTimeout`.
    pub cursor_timeout: Duration,
}

/// Forwarding headers honoured from a reverse proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyHeaders {
    /// None: the request's own `Host`, plain HTTP.
    #[default]
    Ignored,
    /// RFC 7239 `Forwarded: host=…;proto=…`.
    Forwarded,
    /// `X-Forwarded-Host` and `X-Forwarded-Proto`.
    XForwarded,
}

impl std::str::FromStr for ProxyHeaders {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "forwarded" => Ok(ProxyHeaders::Forwarded),
            "xforwarded" => Ok(ProxyHeaders::XForwarded),
            "none" | "" => Ok(ProxyHeaders::Ignored),
            other => Err(format!("'{other}': use forwarded or xforwarded")),
        }
    }
}

impl Settings {
    pub fn new(data_dir: PathBuf) -> Self {
        Settings {
            data_dir,
            max_body: 1 << 20,
            max_component: 64 << 20,
            max_results: 1000,
            max_operations: 1000,
            guest_deadline: Duration::from_millis(2000),
            guest_memory: 64 << 20,
            public_url: None,
            proxy_headers: ProxyHeaders::Ignored,
            trusted_jwks_dir: None,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            cursor_timeout: Duration::from_secs(3600),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("scimd.db")
    }

    /// Where compiled engine components are kept between runs (`runtime::ComponentCache`).
    pub fn component_cache_dir(&self) -> PathBuf {
        self.data_dir.join("component-cache")
    }
}
