//! What every response carries, whoever made it: the request's time limit, the security
//! headers, and an error body in the shape of the API the request was for.
//!
//! Handlers answer their own errors in their API's shape (SCIM under `/realms/{r}/scim/v2`,
//! OAuth under `/realms/{r}/protocol`, Keycloak's under `/admin`). Some answers are made before
//! any handler runs — a path that does not decode, an unknown route, a method a route lacks,
//! a body the extractor refuses — and come as plain text; here they get the JSON body their
//! API's clients parse. (Requests hyper itself cannot parse are answered by `wire`.)

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::error::{ERROR_SCHEMA, SCIM_CONTENT_TYPE, error_response};

/// Which API a path belongs to, for the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Scim,
    OAuth,
    Admin,
}

impl Api {
    pub fn of(path: &str) -> Api {
        if path.starts_with("/admin") {
            return Api::Admin;
        }
        let mut parts = path.trim_start_matches('/').split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("realms"), Some(_), Some("protocol" | ".well-known")) => Api::OAuth,
            _ => Api::Scim,
        }
    }
}

/// An error body of `api`'s shape.
pub fn error_body(api: Api, status: StatusCode, detail: &str) -> Response {
    match api {
        Api::Scim => {
            let scim_type = (status == StatusCode::BAD_REQUEST).then_some("invalidSyntax");
            error_response(status, scim_type, detail)
        }
        Api::OAuth => {
            let error = match status.as_u16() {
                401 => "invalid_client",
                500..=599 => "server_error",
                _ => "invalid_request",
            };
            json_error(status, json!({"error": error, "error_description": detail}))
        }
        Api::Admin => {
            let error = match status.as_u16() {
                404 => "not_found",
                405 => "method_not_allowed",
                413 => "request_too_large",
                500..=599 => "internal_error",
                _ => "invalid_request",
            };
            json_error(status, json!({"error": error, "errorMessage": detail}))
        }
    }
}

fn json_error(status: StatusCode, body: serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with(SCIM_CONTENT_TYPE))
}

/// The layer: time limit, JSON error bodies, security headers.
pub async fn envelope(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let api = Api::of(req.uri().path());
    // Tokens and administration data must not sit in caches (a realm's published keys and
    // discovery document may).
    let private = match api {
        Api::Admin => true,
        Api::OAuth => !req.uri().path().contains("/.well-known/") && !req.uri().path().ends_with("/certs"),
        Api::Scim => false,
    };
    let limit = app.settings.request_timeout;
    let mut resp = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            let mut resp = error_body(
                api,
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request took longer than {} s", limit.as_secs()),
            );
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    };
    if resp.status().as_u16() >= 400 && !is_json(&resp) {
        resp = rewrap(api, resp).await;
    }
    let headers = resp.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    resp
}

/// A plain-text error made into `api`'s JSON error, its text as the detail.
async fn rewrap(api: Api, resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let text =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let detail = match text.trim() {
        "" => parts.status.canonical_reason().unwrap_or("error").to_string(),
        t => t.to_string(),
    };
    let mut new = error_body(api, parts.status, &detail);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new
}

/// For `wire`: the body of an answer hyper made itself.
pub fn raw_error(api: Api, status: StatusCode, detail: &str) -> (String, &'static str) {
    match api {
        Api::Scim => {
            let mut body = json!({"schemas": [ERROR_SCHEMA], "status": status.as_u16().to_string(), "detail": detail});
            if status == StatusCode::BAD_REQUEST {
                body["scimType"] = json!("invalidSyntax");
            }
            (body.to_string(), SCIM_CONTENT_TYPE)
        }
        Api::OAuth => {
            (json!({"error": "invalid_request", "error_description": detail}).to_string(), "application/json")
        }
        Api::Admin => (json!({"error": "invalid_request", "errorMessage": detail}).to_string(), "application/json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_belong_to_their_api() {
        assert_eq!(Api::of("/realms/acme/scim/v2/Users"), Api::Scim);
        assert_eq!(Api::of("/realms/acme/protocol/openid-connect/token"), Api::OAuth);
        assert_eq!(Api::of("/realms/acme/.well-known/openid-configuration"), Api::OAuth);
        assert_eq!(Api::of("/admin/realms"), Api::Admin);
        assert_eq!(Api::of("/nowhere"), Api::Scim);
    }
}
