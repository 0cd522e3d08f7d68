//! `POST /Bulk` bodies (RFC 7644 §3.7): the request's shape is checked here, each operation
//! is read into what the host needs to run it as the equivalent request on its own endpoint,
//! and the `bulkId` references between operations are found, so that the host can order the
//! operations without reading SCIM JSON itself.
//!
//! What makes the whole request unusable (not an object, too many operations, one `bulkId`
//! for two operations) is an error; what makes one operation unusable is a refusal of that
//! operation alone, so that the others still run (§3.7.3).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{BulkEntry, BulkMethod, BulkOperation, BulkRefusal, BulkRequest, Kind};
use crate::resource::kind_of;
use crate::schema::BULK_REQUEST;

/// The prefix of a reference to another operation's resource (§3.7.2).
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// Parses a bulk request of at most `max_operations` operations. `lenient` (entra realms)
/// takes the request without `schemas`, unknown keys and endpoints in any case.
pub fn parse(body: &Value, lenient: bool, max_operations: u32) -> Result<BulkRequest> {
    let Value::Object(obj) = body else {
        return Err(Error::InvalidSyntax("a bulk request must be a JSON object".into()));
    };
    let mut out = BulkRequest::default();
    let mut listed = false;
    let mut operations = None;
    for (key, v) in obj {
        match key.to_ascii_lowercase().as_str() {
            "schemas" => {
                listed = v.as_array().is_some_and(|a| {
                    a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST)))
                });
            }
            "failonerrors" => out.fail_on_errors = fail_on_errors(v)?,
            "operations" => match v {
                Value::Array(ops) => operations = Some(ops),
                other => {
                    return Err(Error::InvalidSyntax(format!(
                        "'Operations' must be an array of operations, not {}",
                        kind_of(other)
                    )));
                }
            },
            _ if lenient => {}
            _ => return Err(Error::InvalidSyntax(format!("'{key}' is not an attribute of a bulk request"))),
        }
    }
    if !listed && !lenient {
        return Err(Error::InvalidSyntax(format!("a bulk request must have 'schemas': [\"{BULK_REQUEST}\"]")));
    }
    let Some(operations) = operations else {
        return Err(Error::InvalidSyntax("a bulk request must have 'Operations'".into()));
    };
    if operations.len() > max_operations as usize {
        return Err(Error::TooLarge(format!(
            "the request has {} operations; this service provider takes at most {max_operations} \
             (bulk.maxOperations)",
            operations.len()
        )));
    }
    out.operations = operations.iter().map(|op| entry(op, lenient)).collect();
    check_bulk_ids(&mut out.operations)?;
    Ok(out)
}

fn fail_on_errors(v: &Value) -> Result<Option<u32>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64() {
            Some(n) if n >= 1 => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
            _ => Err(Error::InvalidValue(format!("'failOnErrors' must be an integer of at least 1, not {n}"))),
        },
        other => Err(Error::InvalidValue(format!("'failOnErrors' must be an integer, not {}", kind_of(other)))),
    }
}

/// One operation, or its refusal.
fn entry(op: &Value, lenient: bool) -> BulkEntry {
    let text = |name: &str| {
        op.as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string)
    };
    match operation(op, lenient) {
        Ok(op) => BulkEntry::Operation(op),
        Err(error) => BulkEntry::Refused(BulkRefusal { method: text("method"), bulk_id: text("bulkId"), error }),
    }
}

fn operation(op: &Value, lenient: bool) -> Result<BulkOperation> {
    let Value::Object(obj) = op else {
        return Err(Error::InvalidSyntax(format!("a bulk operation must be a JSON object, not {}", kind_of(op))));
    };
    let (mut method, mut bulk_id, mut version, mut path, mut data) = (None, None, None, None, None);
    for (key, v) in obj {
        let text = || match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(Error::InvalidSyntax(format!("'{key}' must be a string, not {}", kind_of(other)))),
        };
        match key.to_ascii_lowercase().as_str() {
            "method" => method = Some(text()?),
            "bulkid" => bulk_id = Some(text()?).filter(|_| !v.is_null()),
            "version" => version = Some(text()?),
            "path" => path = Some(text()?),
            "data" => data = Some(v),
            _ if lenient => {}
            _ => return Err(Error::InvalidSyntax(format!("'{key}' is not an attribute of a bulk operation"))),
        }
    }
    let method = match method.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("POST") => BulkMethod::Post,
        Some("PUT") => BulkMethod::Put,
        Some("PATCH") => BulkMethod::Patch,
        Some("DELETE") => BulkMethod::Delete,
        Some(_) => {
            return Err(Error::InvalidValue(format!(
                "'method' must be POST, PUT, PATCH or DELETE, not \"{}\"",
                method.unwrap_or_default()
            )));
        }
        None => return Err(Error::InvalidSyntax("a bulk operation must have a 'method'".into())),
    };
    if bulk_id.as_deref().is_some_and(str::is_empty) {
        return Err(Error::InvalidValue("'bulkId' must not be empty".into()));
    }
    let Some(path) = path else {
        return Err(Error::InvalidSyntax("a bulk operation must have a 'path'".into()));
    };
    let (kind, id) = target(&path, lenient)?;
    match (method, &id) {
        (BulkMethod::Post, Some(_)) => {
            return Err(Error::InvalidValue(format!(
                "the path of a POST is a resource type endpoint, like \"/{}\", not \"{path}\"",
                kind.endpoint()
            )));
        }
        (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => {
            return Err(Error::InvalidValue(format!(
                "the path of a {} names one resource, like \"/{}/{{id}}\", not \"{path}\"",
                method.as_str(),
                kind.endpoint()
            )));
        }
        _ => {}
    }
    if method == BulkMethod::Post && bulk_id.is_none() && !lenient {
        return Err(Error::InvalidValue("a POST operation must have a 'bulkId' (RFC 7644 §3.7)".into()));
    }
    let data = match (method, data) {
        (BulkMethod::Delete, _) => None,
        (_, Some(Value::Object(d))) => Some(d),
        (_, None | Some(Value::Null)) => {
            return Err(Error::InvalidSyntax("a POST, PUT or PATCH operation must have 'data'".into()));
        }
        (_, Some(other)) => {
            return Err(Error::InvalidSyntax(format!("'data' must be a JSON object, not {}", kind_of(other))));
        }
    };
    let mut references = Vec::new();
    if let Some(r) = id.as_deref().and_then(|id| id.strip_prefix(BULK_ID_PREFIX)) {
        references.push(r.to_string());
    }
    if let Some(d) = data {
        collect_references(d, &mut references);
    }
    let mut seen = HashSet::new();
    references.retain(|r| seen.insert(r.clone()));
    Ok(BulkOperation {
        method,
        bulk_id,
        version,
        kind,
        id,
        data: data.map(|d| Value::Object(d.clone()).to_string()),
        references,
    })
}

/// The resource type and id a `path` names: `/Users`, `/Groups/{id}`. Entra realms also take
/// the endpoint in any case and without its leading `/`.
fn target(path: &str, lenient: bool) -> Result<(Kind, Option<String>)> {
    let rest = match path.strip_prefix('/') {
        Some(rest) => rest,
        None if lenient => path,
        None => return Err(Error::InvalidValue(format!("the path \"{path}\" must start with '/'"))),
    };
    let (endpoint, id) = match rest.split_once('/') {
        Some((endpoint, id)) => (endpoint, Some(id)),
        None => (rest, None),
    };
    let kind = [Kind::User, Kind::Group]
        .into_iter()
        .find(|k| k.endpoint() == endpoint || (lenient && k.endpoint().eq_ignore_ascii_case(endpoint)))
        .ok_or_else(|| {
            Error::InvalidValue(format!("the path \"{path}\" names no resource type: use /Users or /Groups"))
        })?;
    let id = match id {
        None => None,
        Some("") if lenient => None,
        Some(id) if !id.is_empty() && !id.contains('/') => Some(id.to_string()),
        Some(_) => return Err(Error::InvalidValue(format!("the path \"{path}\" names no resource"))),
    };
    Ok((kind, id))
}

/// Every `bulkId:<id>` string value under `v`, in document order.
fn collect_references(obj: &Map<String, Value>, out: &mut Vec<String>) {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(r) = s.strip_prefix(BULK_ID_PREFIX).filter(|r| !r.is_empty()) {
                    out.push(r.to_string());
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) => o.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    obj.values().for_each(|v| walk(v, out));
}

/// A `bulkId` names one operation of the request; an operation that refers to a `bulkId` no
/// entry has is refused (it could never run).
fn check_bulk_ids(entries: &mut [BulkEntry]) -> Result<()> {
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let id = match e {
            BulkEntry::Operation(op) => op.bulk_id.as_deref(),
            BulkEntry::Refused(r) => r.bulk_id.as_deref(),
        };
        if let Some(id) = id
            && let Some(first) = owner.insert(id, i)
        {
            return Err(Error::InvalidValue(format!(
                "operations {} and {} have the same bulkId \"{id}\"; a bulkId names one operation",
                first + 1,
                i + 1
            )));
        }
    }
    let known: HashSet<String> = owner.keys().map(|k| k.to_string()).collect();
    for e in entries.iter_mut() {
        let BulkEntry::Operation(op) = e else { continue };
        if let Some(unknown) = op.references.iter().find(|r| !known.contains(*r)) {
            let error = Error::InvalidValue(format!(
                "\"{BULK_ID_PREFIX}{unknown}\" names no operation of this request: no operation has bulkId \"{unknown}\""
            ));
            let method = Some(op.method.as_str().to_string());
            *e = BulkEntry::Refused(BulkRefusal { method, bulk_id: op.bulk_id.clone(), error });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(r: &BulkRequest) -> Vec<&BulkOperation> {
        r.operations
            .iter()
            .filter_map(|e| match e {
                BulkEntry::Operation(op) => Some(op),
                BulkEntry::Refused(_) => None,
            })
            .collect()
    }

    #[test]
    fn references_are_found_in_data_and_path_once_each() {
        let r = parse(
            &json!({"schemas": [BULK_REQUEST], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "a"}},
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "g",
                    "members": [{"value": "bulkId:u"}, {"value": "bulkId:u"}]}},
                {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": []}}
            ]}),
            false,
            10,
        )
        .expect("valid");
        let ops = ops(&r);
        assert_eq!(ops[1].references, vec!["u".to_string()]);
        assert_eq!(ops[2].references, vec!["g".to_string()]);
        assert_eq!(ops[2].id.as_deref(), Some("bulkId:g"));
    }

    #[test]
    fn too_many_operations_are_413() {
        let op = json!({"method": "DELETE", "path": "/Users/1"});
        let e = parse(&json!({"schemas": [BULK_REQUEST], "Operations": [op.clone(), op]}), false, 1)
            .expect_err("over the limit");
        assert_eq!(e.status(), 413);
        assert_eq!(e.scim_type(), None);
    }

    #[test]
    fn a_reused_bulk_id_is_invalid_value() {
        let op = json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "a"}});
        let e = parse(&json!({"schemas": [BULK_REQUEST], "Operations": [op.clone(), op]}), false, 10)
            .expect_err("a reused bulkId");
        assert_eq!(e.scim_type(), Some("invalidValue"));
    }

    #[test]
    fn a_malformed_operation_is_refused_alone() {
        let r = parse(
            &json!({"schemas": [BULK_REQUEST], "Operations": [
                {"method": "GET", "path": "/Users/1", "bulkId": "a"},
                {"method": "POST", "path": "/Users/1", "bulkId": "b", "data": {}},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c"},
                 "x": 1},
                {"method": "PUT", "path": "/Users/1", "data": {"userName": "d", "manager": "bulkId:zz"}},
                {"method": "DELETE", "path": "/Users/1"}
            ]}),
            false,
            10,
        )
        .expect("valid");
        let refused: Vec<&BulkRefusal> = r
            .operations
            .iter()
            .filter_map(|e| match e {
                BulkEntry::Refused(r) => Some(r),
                BulkEntry::Operation(_) => None,
            })
            .collect();
        assert_eq!(refused.len(), 4);
        assert_eq!(refused[0].method.as_deref(), Some("GET"));
        assert_eq!(refused[0].bulk_id.as_deref(), Some("a"));
        assert!(refused[3].error.detail().contains("bulkId:zz"));
        assert_eq!(ops(&r).len(), 1);
    }

    #[test]
    fn entra_takes_endpoints_in_any_case_and_no_schemas() {
        let r = parse(&json!({"Operations": [{"method": "delete", "path": "users/1"}]}), true, 10).expect("valid");
        assert_eq!(ops(&r)[0].kind, Kind::User);
        assert!(parse(&json!({"Operations": []}), false, 10).is_err());
    }
}
