//! SCIM responses: `application/scim+json` on every body, `ETag` and `Location` where the
//! resource has them, and the `ListResponse` envelope.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::error::{Error, Result, SCIM_CONTENT_TYPE};

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A JSON body with the SCIM content type.
pub fn json(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    resp
}

/// A resource body with its `ETag` and `Location`.
pub fn resource(status: StatusCode, body: String, version: i64, location: &str) -> Response {
    let mut resp = json(status, body);
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `201 Created` without a body (`Prefer: return=minimal`): the new resource's `ETag` and
/// `Location` only.
pub fn created_minimal(version: i64, location: &str) -> Response {
    let mut resp = no_content(Some(version));
    *resp.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// No body; still the resource's new `ETag`.
pub fn no_content(version: Option<i64>) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(&etag(v)).ok()) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

pub fn not_modified(version: i64) -> Response {
    let mut resp = no_content(Some(version));
    *resp.status_mut() = StatusCode::NOT_MODIFIED;
    resp
}

/// The cursors of a cursor page (RFC 9865 §2.2), sealed.
#[derive(Default)]
pub struct Cursors {
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// A `ListResponse` of already-rendered resources (RFC 7644 §3.4.2): an index page has its `startIndex`; a cursor page
/// (RFC 9865) has `nextCursor` unless it is the last, and `totalResults` only when it was
/// cheap to know (see `store::run_exact`).
pub fn list(total: Option<i64>, start_index: Option<i64>, cursors: Cursors, resources: &[String]) -> Response {
    use std::fmt::Write as _;
    let mut body = String::with_capacity(192 + resources.iter().map(|r| r.len() + 1).sum::<usize>());
    let _ = write!(body, "{{\"schemas\":[\"{LIST_RESPONSE}\"]");
    if let Some(total) = total {
        let _ = write!(body, ",\"totalResults\":{total}");
    }
    let _ = write!(body, ",\"itemsPerPage\":{}", resources.len());
    if let Some(start) = start_index {
        let _ = write!(body, ",\"startIndex\":{start}");
    }
    // Sealed cursors are base64url: nothing to escape.
    if let Some(next) = cursors.next {
        let _ = write!(body, ",\"nextCursor\":\"{next}\"");
    }
    if let Some(previous) = cursors.previous {
        let _ = write!(body, ",\"previousCursor\":\"{previous}\"");
    }
    body.push_str(",\"Resources\":[");
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r);
    }
    body.push_str("]}");
    json(StatusCode::OK, body)
}

fn tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<String>> {
    let v = headers.get(name)?.to_str().ok()?;
    Some(v.split(',').map(|t| t.trim().trim_start_matches("W/").to_string()).filter(|t| !t.is_empty()).collect())
}

fn matches(tags: &[String], version: i64) -> bool {
    let current = format!("\"{version}\"");
    tags.iter().any(|t| t == "*" || *t == current)
}

/// The versions a write is conditional on (RFC 7644 §3.14 / RFC 7232): a request's `If-Match`,
/// or a bulk operation's `version` (§3.7).
#[derive(Clone, Debug)]
pub struct IfMatch(Vec<String>);

impl IfMatch {
    pub fn of(headers: &HeaderMap) -> Option<IfMatch> {
        tags(headers, header::IF_MATCH).map(IfMatch)
    }

    pub fn version(etag: &str) -> IfMatch {
        IfMatch(vec![etag.trim().trim_start_matches("W/").to_string()])
    }

    /// The write proceeds only on one of the versions named.
    pub fn check(&self, version: i64) -> Result<()> {
        if matches(&self.0, version) { Ok(()) } else { Err(Error::PreconditionFailed(self.0.join(", "))) }
    }
}

/// A read with `If-None-Match` naming the current version is answered `304`.
pub fn if_none_match(headers: &HeaderMap, version: i64) -> bool {
    tags(headers, header::IF_NONE_MATCH).is_some_and(|t| matches(&t, version))
}
