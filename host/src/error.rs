//! The host's one error type and its mapping to SCIM error responses (RFC 7644 §3.12).
//!
//! Three kinds never mix: errors shown to the client as they are (the engine's `scim-error`s
//! and the host's own 4xx), internal failures (a generic 500, the cause logged), and guest
//! failures (traps and timeouts, classified and reported as such).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use thiserror::Error;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Every error of the host. Each kind says what went wrong, not where the text came from, so
/// that callers match kinds, never messages; `status_and_type` is the one place a kind becomes
/// an HTTP status and a `scimType`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// An error the SCIM engine returned; shown as is.
    #[error("{detail}")]
    Scim { status: u16, scim_type: Option<String>, detail: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness conflict (`409 uniqueness`).
    #[error("{0}")]
    Uniqueness(String),
    /// A concurrent write kept winning; the client may retry.
    #[error("{0}")]
    Conflict(String),
    #[error("the resource has changed: its version is no longer {0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(u64),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The realm's SCIM engine trapped, ran out of memory or broke the WIT contract (a model
    /// of the wrong kind, an attribute written twice, an invalid plan): the engine's fault,
    /// never the client's. `500`, recorded as an admin event of the realm.
    #[error("the SCIM engine failed: {0}")]
    EngineFault(String),
    /// The SCIM engine ran past its deadline.
    #[error("the SCIM engine did not answer within {0} ms")]
    EngineTimeout(u64),
    /// A component refused the realm configuration it was created with (`realm-engine.create`
    /// answered an error). When an administrator's change produced the configuration, the
    /// change is refused (`400`); a stored configuration that no longer starts is an engine
    /// fault (see `realms::Realms::engine`).
    #[error("the realm's SCIM engine refused its configuration: {0}")]
    ConfigRefused(String),
    /// A bounded queue is full (password hashing, component compiles): `503` with
    /// `Retry-After`, so a flood is refused rather than let grow without bound.
    #[error("{detail}")]
    Busy { retry_after: u64, detail: String },
    /// An OAuth 2.0 error of the token endpoint (RFC 6749 §5.2).
    #[error("{description}")]
    OAuth { status: u16, error: &'static str, description: String },
    #[error("store: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn status_and_type(&self) -> (StatusCode, Option<&str>) {
        match self {
            Error::Scim { status, scim_type, .. } => {
                (StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), scim_type.as_deref())
            }
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, Some("invalidSyntax")),
            Error::InvalidValue(_) | Error::ConfigRefused(_) => (StatusCode::BAD_REQUEST, Some("invalidValue")),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, None),
            Error::Uniqueness(_) => (StatusCode::CONFLICT, Some("uniqueness")),
            Error::Conflict(_) => (StatusCode::CONFLICT, None),
            Error::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, None),
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, None),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, None),
            Error::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
            Error::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, None),
            Error::EngineFault(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
            Error::EngineTimeout(_) | Error::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, None),
            Error::OAuth { status, .. } => (StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), None),
            Error::Store(_) | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        }
    }

    /// The detail shown to the client: internal causes are logged, not shown.
    fn public_detail(&self) -> String {
        match self {
            Error::Store(_) | Error::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }
}

/// A SCIM error body (RFC 7644 §3.12).
fn error_body(status: StatusCode, scim_type: Option<&str>, detail: &str) -> serde_json::Value {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    body
}

/// A SCIM error response.
pub fn error_response(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let body = error_body(status, scim_type, detail);
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    resp
}

impl Error {
    fn log(&self) {
        match self {
            Error::Store(_) | Error::Internal(_) => tracing::error!(error = %self, "internal error"),
            Error::EngineFault(_) | Error::EngineTimeout(_) => tracing::warn!(error = %self, "guest failure"),
            _ => {}
        }
    }

    /// The error as a SCIM error body with its status, for an answer inside another one (a
    /// bulk operation's `response`, RFC 7644 §3.7.3).
    pub fn into_scim_body(self) -> (StatusCode, serde_json::Value) {
        self.log();
        let (status, scim_type) = self.status_and_type();
        (status, error_body(status, scim_type, &self.public_detail()))
    }

    /// The error as the admin API answers it, in Keycloak's shape:
    /// `{"error": "<kind>", "errorMessage": "<detail>"}`.
    pub fn into_admin_response(self) -> Response {
        self.log();
        let (status, scim_type) = self.status_and_type();
        let kind = match &self {
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Uniqueness(_) | Error::Conflict(_) => "conflict",
            Error::Store(_) | Error::Internal(_) => "internal_error",
            Error::Busy { .. } => "temporarily_unavailable",
            _ => scim_type.unwrap_or("invalid_request"),
        };
        let body = json!({"error": kind, "errorMessage": self.public_detail()});
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Error::Unauthorized(detail) = &self {
            challenge(&mut resp, detail);
        }
        close_if_unread(&self, &mut resp);
        resp
    }

    /// An OAuth 2.0 error (RFC 6749 §5.2): `{"error", "error_description"}`.
    fn into_oauth_response(self, status: u16, error: &str, description: &str) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({"error": error, "error_description": description});
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"scimd\""));
        }
        resp
    }
}

/// `WWW-Authenticate` for a 401 (RFC 6750 §3).
fn challenge(resp: &mut Response, detail: &str) {
    let challenge =
        format!("Bearer realm=\"scimd\", error=\"invalid_token\", error_description=\"{}\"", detail.replace('"', "'"));
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::OAuth { status, error, description } = &self {
            let (status, error, description) = (*status, *error, description.clone());
            return self.into_oauth_response(status, error, &description);
        }
        self.log();
        let (status, scim_type) = self.status_and_type();
        let mut resp = error_response(status, scim_type, &self.public_detail());
        if let Error::Unauthorized(detail) = &self {
            challenge(&mut resp, detail);
        }
        close_if_unread(&self, &mut resp);
        resp
    }
}

/// Headers an error adds: a body refused for its size is left unread, so the connection cannot
/// carry another request (saying so keeps clients from sending the next one down it); a full
/// queue says when to come back.
fn close_if_unread(e: &Error, resp: &mut Response) {
    match e {
        Error::PayloadTooLarge(_) => {
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Error::Busy { retry_after, .. } => {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        _ => {}
    }
}
