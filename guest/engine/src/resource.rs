//! Validation of resource bodies (RFC 7643 §2, §7; RFC 7644 §3.3, §3.5.1) into normalized
//! documents: canonical attribute names, extension attributes under their URN, values of the
//! declared types, read-only attributes dropped, null and empty values removed.
//!
//! Every other module works on normalized documents only.

use serde_json::{Map, Value};

use crate::datetime;
use crate::error::{Error, Result};
use crate::model::{Kind, MemberRef};
use crate::path::{AttrPath, looks_like_urn};
use crate::schema::{AttrDef, Mutability, ResourceSchema, Type};

/// A validated request body.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub doc: Map<String, Value>,
    /// The group's `members`, when the body had the attribute (an empty list clears them).
    pub members: Option<Vec<MemberRef>>,
    /// A user's new password.
    pub password: Option<String>,
}

/// Where a value sits in a request body, as error details name it (`emails[1].value`).
/// Written out only when an error is: most values are valid, and formatting the path of
/// each one was a large part of a PATCH's cost.
#[derive(Clone, Copy)]
pub enum At<'a> {
    /// An attribute path as the client gave it, or a name.
    Path(&'a str),
    /// An attribute of an extension: `urn…:name`.
    Extension(&'a str, &'a str),
    /// An element of a multi-valued attribute.
    Item(&'a At<'a>, usize),
    /// A sub-attribute.
    Sub(&'a At<'a>, &'a str),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Path(p) => f.write_str(p),
            At::Extension(urn, name) => write!(f, "{urn}:{name}"),
            At::Item(at, i) => write!(f, "{at}[{i}]"),
            At::Sub(at, name) => write!(f, "{at}.{name}"),
        }
    }
}

/// Validates values against attribute definitions.
pub struct Validator<'a> {
    pub rs: &'a ResourceSchema,
    pub lenient: bool,
}

impl<'a> Validator<'a> {
    /// Validates a POST or PUT body.
    pub fn body(&self, body: Value) -> Result<Normalized> {
        let Value::Object(body) = body else {
            return Err(Error::InvalidSyntax(format!(
                "the request body must be a JSON object representing a {}",
                self.rs.kind.resource_type()
            )));
        };
        let mut out = Normalized::default();
        let mut listed: Option<Vec<String>> = None;
        for (key, value) in body {
            if key.eq_ignore_ascii_case("schemas") {
                listed = Some(self.schemas_attribute(&value)?);
                continue;
            }
            if looks_like_urn(&key) {
                if let Some(ext) = self.rs.extension(&key) {
                    let ext_id = ext.id.clone();
                    match value {
                        Value::Null => {}
                        Value::Object(obj) => {
                            let mut ext_doc = Map::new();
                            for (k, v) in obj {
                                let Some(def) = ext.attr(&k) else {
                                    self.unknown(&format!("{ext_id}:{k}"))?;
                                    continue;
                                };
                                if let Some(v) = self.attribute(def, v, &At::Extension(&ext_id, &def.name))? {
                                    ext_doc.insert(def.name.clone(), v);
                                }
                            }
                            if !ext_doc.is_empty() {
                                out.doc.insert(ext_id, Value::Object(ext_doc));
                            }
                        }
                        other => {
                            return Err(Error::InvalidSyntax(format!(
                                "'{ext_id}' must be a JSON object of the extension's attributes, not {}",
                                kind_of(&other)
                            )));
                        }
                    }
                    continue;
                }
                if self.rs.core.id.eq_ignore_ascii_case(&key) {
                    return Err(Error::InvalidSyntax(format!(
                        "core attributes belong at the top level, not under '{key}'"
                    )));
                }
                if self.lenient {
                    // A fully qualified attribute path as a key (`urn:…:User:employeeNumber`).
                    if let Ok(path) = AttrPath::parse(self.rs, &key)
                        && path.sub.is_none()
                        && let Some((_, def, _)) = path.defs(self.rs)
                        && let Some(v) = self.attribute(def, value, &At::Path(&path.display()))?
                    {
                        set(&mut out.doc, &path, v);
                    }
                    continue;
                }
                return Err(Error::InvalidValue(format!(
                    "'{key}' is not a schema of the {} resource type",
                    self.rs.kind.resource_type()
                )));
            }
            let Some(def) = self.rs.core_attr(&key) else {
                // Entra's legacy bodies put extension attributes (`department`) at the top.
                if self.lenient
                    && let Ok(path) = AttrPath::resolve(self.rs, &key, true)
                    && path.extension
                    && path.sub.is_none()
                    && let Some((_, def, _)) = path.defs(self.rs)
                {
                    if let Some(v) = self.attribute(def, value, &At::Path(&path.display()))? {
                        set(&mut out.doc, &path, v);
                    }
                    continue;
                }
                self.unknown(&key)?;
                continue;
            };
            let name = def.name.as_str();
            if def.mutability == Mutability::ReadOnly {
                // RFC 7644 §3.3: read-only attributes in a request are ignored.
                continue;
            }
            if self.rs.kind == Kind::User && name == "password" {
                match value {
                    Value::Null => {}
                    Value::String(p) if !p.is_empty() => out.password = Some(p),
                    Value::String(_) => {}
                    other => {
                        return Err(Error::InvalidValue(format!(
                            "'password' must be a string, not {}",
                            kind_of(&other)
                        )));
                    }
                }
                continue;
            }
            let normalized = self.attribute(def, value, &At::Path(name))?;
            if self.rs.kind == Kind::Group && name == "members" {
                out.members = Some(members(normalized.as_ref())?);
                continue;
            }
            if let Some(v) = normalized {
                out.doc.insert(name.to_string(), v);
            }
        }
        if let Some(listed) = listed {
            self.check_listed(&listed, &out.doc)?;
        } else if !self.lenient {
            return Err(Error::InvalidValue(format!(
                "the request body must have 'schemas' listing {}",
                self.rs.core.id
            )));
        }
        check_required(self.rs, &out.doc)?;
        Ok(out)
    }

    fn unknown(&self, name: &str) -> Result<()> {
        if self.lenient {
            Ok(())
        } else {
            Err(Error::InvalidValue(format!(
                "'{name}' is not an attribute of the {} resource type",
                self.rs.kind.resource_type()
            )))
        }
    }

    fn schemas_attribute(&self, value: &Value) -> Result<Vec<String>> {
        let items = match value {
            Value::Array(items) => items,
            other => {
                return Err(Error::InvalidSyntax(format!(
                    "'schemas' must be an array of URIs, not {}",
                    kind_of(other)
                )));
            }
        };
        items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::InvalidSyntax("'schemas' must be an array of URIs".into()))
            })
            .collect()
    }

    /// RFC 7643 §3: `schemas` names the core schema and every extension used.
    fn check_listed(&self, listed: &[String], doc: &Map<String, Value>) -> Result<()> {
        if self.lenient {
            return Ok(());
        }
        if !listed.iter().any(|s| s.eq_ignore_ascii_case(&self.rs.core.id)) {
            return Err(Error::InvalidValue(format!("'schemas' must include {}", self.rs.core.id)));
        }
        for s in listed {
            if self.rs.schema(s).is_none() {
                return Err(Error::InvalidValue(format!(
                    "'{s}' in 'schemas' is not a schema of the {} resource type",
                    self.rs.kind.resource_type()
                )));
            }
        }
        for (ext, _) in &self.rs.extensions {
            if doc.contains_key(&ext.id) && !listed.iter().any(|s| s.eq_ignore_ascii_case(&ext.id)) {
                return Err(Error::InvalidValue(format!(
                    "the body has '{}' attributes but 'schemas' does not list it",
                    ext.id
                )));
            }
        }
        Ok(())
    }

    /// Refuses attributes a strict realm's profile does not map.
    fn check_mapped(&self, def: &AttrDef, value: &Value, at: &At<'_>) -> Result<()> {
        if !def.mapped && !value.is_null() {
            return Err(Error::InvalidValue(format!("'{at}' is not mapped by this realm's user profile")));
        }
        Ok(())
    }

    /// Validates a value for an attribute; `None` means unassigned.
    pub fn attribute(&self, def: &AttrDef, value: Value, at: &At<'_>) -> Result<Option<Value>> {
        self.check_mapped(def, &value, at)?;
        if def.multi_valued {
            let items = match value {
                Value::Null => return Ok(None),
                Value::Array(items) => items,
                // Entra sends a single object or string where a list is due.
                single if self.lenient => vec![single],
                other => {
                    return Err(Error::InvalidValue(format!(
                        "'{at}' is multi-valued and takes an array, not {}",
                        kind_of(&other)
                    )));
                }
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                if let Some(v) = self.single(def, item, &At::Item(at, i))? {
                    out.push(v);
                }
            }
            if def.ty == Type::Complex {
                let primaries = out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
                if primaries > 1 {
                    return Err(Error::InvalidValue(format!(
                        "'{at}' has {primaries} values marked primary; at most one may be"
                    )));
                }
            }
            return Ok(if out.is_empty() { None } else { Some(Value::Array(out)) });
        }
        let value = match value {
            // Entra's legacy job sends `"manager": [{"value": "…"}]`.
            Value::Array(mut items) if self.lenient && items.len() == 1 => items.remove(0),
            Value::Array(_) => {
                return Err(Error::InvalidValue(format!("'{at}' is single-valued and does not take an array")));
            }
            other => other,
        };
        self.single(def, value, at)
    }

    /// Validates one value (an element, for a multi-valued attribute).
    pub fn single(&self, def: &AttrDef, value: Value, at: &At<'_>) -> Result<Option<Value>> {
        if value.is_null() {
            return Ok(None);
        }
        if def.ty != Type::Complex {
            return self.simple(def, value, at);
        }
        let obj = match value {
            Value::Object(obj) => obj,
            // Entra sends `manager` as a plain id and `members` as plain ids.
            Value::String(s) if self.lenient && def.value_sub().is_some() => {
                let mut o = Map::new();
                o.insert("value".into(), Value::String(s));
                o
            }
            other => {
                return Err(Error::InvalidValue(format!(
                    "'{at}' is complex and takes a JSON object, not {}",
                    kind_of(&other)
                )));
            }
        };
        let mut out = Map::new();
        for (k, v) in obj {
            let Some(sub) = def.sub(&k) else {
                if self.lenient {
                    continue;
                }
                return Err(Error::InvalidValue(format!("'{k}' is not a sub-attribute of '{at}'")));
            };
            if sub.mutability == Mutability::ReadOnly {
                continue;
            }
            let sub_at = At::Sub(at, &sub.name);
            self.check_mapped(sub, &v, &sub_at)?;
            if let Some(v) = self.simple(sub, v, &sub_at)? {
                out.insert(sub.name.clone(), v);
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        if def.multi_valued && def.value_sub().is_some() && !out.contains_key("value") {
            return Err(Error::InvalidValue(format!("'{at}' has no 'value'")));
        }
        Ok(Some(Value::Object(out)))
    }

    /// Validates a simple value (type, then the realm profile's checks); `None` means
    /// unassigned.
    pub fn simple(&self, def: &AttrDef, value: Value, at: &At<'_>) -> Result<Option<Value>> {
        let v = self.typed(def, value, at)?;
        if def.validations.is_empty() {
            return Ok(v);
        }
        let text = match &v {
            Some(Value::String(s)) => Some(std::borrow::Cow::Borrowed(s.as_str())),
            Some(Value::Number(n)) => Some(std::borrow::Cow::Owned(n.to_string())),
            _ => None,
        };
        if let Some(t) = text {
            for check in &def.validations {
                check.check(at, &t)?;
            }
        }
        Ok(v)
    }

    fn typed(&self, def: &AttrDef, value: Value, at: &At<'_>) -> Result<Option<Value>> {
        let wrong =
            |v: &Value, expected: &str| Error::InvalidValue(format!("'{at}' must be {expected}, not {}", kind_of(v)));
        match (&def.ty, value) {
            (_, Value::Null) => Ok(None),
            (Type::String | Type::Reference, Value::String(s)) => {
                if s.is_empty() && self.lenient {
                    // Entra clears attributes by sending "" (its SCIM_Null_Update_Test).
                    return Ok(None);
                }
                if def.closed_canonical {
                    let Some(c) = def.canonical_values.iter().find(|c| c.eq_ignore_ascii_case(&s)) else {
                        return Err(Error::InvalidValue(format!(
                            "'{at}' must be one of {}, not \"{s}\"",
                            def.canonical_values.join(", ")
                        )));
                    };
                    return Ok(Some(Value::String(c.clone())));
                }
                Ok(Some(Value::String(s)))
            }
            (Type::Boolean, Value::Bool(b)) => Ok(Some(Value::Bool(b))),
            (Type::Boolean, Value::String(s)) if self.lenient => {
                match s.to_ascii_lowercase().as_str() {
                    // Entra's default job disables users with `"active": "False"`.
                    "true" => Ok(Some(Value::Bool(true))),
                    "false" => Ok(Some(Value::Bool(false))),
                    "" => Ok(None),
                    _ => Err(Error::InvalidValue(format!("'{at}' must be true or false, not \"{s}\""))),
                }
            }
            (Type::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(Value::Number(n))),
            (Type::Integer, v) => Err(wrong(&v, "an integer")),
            (Type::Decimal, Value::Number(n)) => Ok(Some(Value::Number(n))),
            (Type::DateTime, Value::String(s)) => {
                if s.is_empty() && self.lenient {
                    return Ok(None);
                }
                if datetime::parse(&s).is_none() {
                    return Err(Error::InvalidValue(format!("'{at}' must be an RFC 3339 dateTime, not \"{s}\"")));
                }
                Ok(Some(Value::String(s)))
            }
            (Type::Binary, Value::String(s)) => {
                if !is_base64(&s) {
                    return Err(Error::InvalidValue(format!("'{at}' must be base64-encoded binary")));
                }
                Ok(Some(Value::String(s)))
            }
            (Type::String | Type::Reference | Type::DateTime | Type::Binary, v) => Err(wrong(&v, "a string")),
            (Type::Boolean, v) => Err(wrong(&v, "a boolean")),
            (Type::Decimal, v) => Err(wrong(&v, "a number")),
            (Type::Complex, v) => Err(wrong(&v, "a JSON object")),
        }
    }
}

fn is_base64(s: &str) -> bool {
    let t: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let body = t.strip_suffix(b"==").or_else(|| t.strip_suffix(b"=")).unwrap_or(&t);
    !t.is_empty()
        && t.len().is_multiple_of(4)
        && body.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// The JSON kind of a value, for error details.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The longest member `display` kept, in characters. It is stored with every membership and
/// rendered with every member, so without a bound a client could make a group too large to
/// render one PATCH at a time.
pub const MAX_MEMBER_DISPLAY: usize = 256;

/// Members named in a validated `members` value.
pub fn members(value: Option<&Value>) -> Result<Vec<MemberRef>> {
    let Some(Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for m in items {
        let Some(id) = m.get("value").and_then(Value::as_str) else { continue };
        let kind = match m.get("type").and_then(Value::as_str) {
            Some("User") => Some(Kind::User),
            Some("Group") => Some(Kind::Group),
            _ => None,
        };
        let display = m.get("display").and_then(Value::as_str);
        if display.is_some_and(|d| d.chars().count() > MAX_MEMBER_DISPLAY) {
            return Err(Error::InvalidValue(format!(
                "the display of member '{id}' is longer than {MAX_MEMBER_DISPLAY} characters"
            )));
        }
        out.push(MemberRef { id: id.to_string(), kind, display: display.map(str::to_string) });
    }
    Ok(out)
}

/// Required attributes (RFC 7643 §2.2) must have a value.
pub fn check_required(rs: &ResourceSchema, doc: &Map<String, Value>) -> Result<()> {
    for def in &rs.core.attributes {
        if def.required && doc.get(&def.name).is_none_or(|v| v.is_null()) {
            return Err(Error::InvalidValue(format!("'{}' is required for a {}", def.name, rs.kind.resource_type())));
        }
    }
    for (ext, required) in &rs.extensions {
        let obj = doc.get(&ext.id).and_then(Value::as_object);
        if *required && obj.is_none() {
            return Err(Error::InvalidValue(format!("the extension '{}' is required", ext.id)));
        }
        for def in &ext.attributes {
            if def.required && obj.is_some() && !obj.is_some_and(|o| o.contains_key(&def.name)) {
                return Err(Error::InvalidValue(format!("'{}:{}' is required", ext.id, def.name)));
            }
        }
    }
    Ok(())
}

/// Sets an attribute (no sub-attribute) in a normalized document.
pub fn set(doc: &mut Map<String, Value>, path: &AttrPath, value: Value) {
    if path.extension {
        let ext = doc.entry(path.schema.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(o) = ext {
            o.insert(path.attr.clone(), value);
        }
    } else {
        doc.insert(path.attr.clone(), value);
    }
}

/// Removes an attribute (no sub-attribute) from a normalized document.
pub fn unset(doc: &mut Map<String, Value>, path: &AttrPath) {
    if path.extension {
        let empty = match doc.get_mut(&path.schema) {
            Some(Value::Object(o)) => {
                o.shift_remove(&path.attr);
                o.is_empty()
            }
            _ => false,
        };
        if empty {
            doc.shift_remove(&path.schema);
        }
    } else {
        doc.shift_remove(&path.attr);
    }
}

/// The mutable attribute value in a normalized document.
pub fn get_mut<'d>(doc: &'d mut Map<String, Value>, path: &AttrPath) -> Option<&'d mut Value> {
    if path.extension {
        doc.get_mut(&path.schema)?.as_object_mut()?.get_mut(&path.attr)
    } else {
        doc.get_mut(&path.attr)
    }
}

/// The schema URNs a document uses: the core schema and each extension with attributes.
pub fn schemas_of(rs: &ResourceSchema, doc: &Map<String, Value>) -> Vec<Value> {
    let mut out = vec![Value::String(rs.core.id.clone())];
    for (ext, _) in &rs.extensions {
        if doc.contains_key(&ext.id) {
            out.push(Value::String(ext.id.clone()));
        }
    }
    out
}

/// Immutable attributes (RFC 7643 §2.2) may be set once but not changed.
pub fn check_immutable(rs: &ResourceSchema, old: &Map<String, Value>, new: &Map<String, Value>) -> Result<()> {
    let schemas = std::iter::once((&rs.core, None)).chain(rs.extensions.iter().map(|(s, _)| (s, Some(&s.id))));
    for (schema, urn) in schemas {
        let (o, n) = match urn {
            None => (Some(old), Some(new)),
            Some(u) => (old.get(u).and_then(Value::as_object), new.get(u).and_then(Value::as_object)),
        };
        for def in &schema.attributes {
            if def.mutability != Mutability::Immutable {
                continue;
            }
            let before = o.and_then(|o| o.get(&def.name));
            let after = n.and_then(|n| n.get(&def.name));
            if before.is_some() && before != after {
                return Err(Error::Mutability(format!("'{}' is immutable and cannot be changed", def.name)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{self, ENTERPRISE_USER, Schemas};
    use serde_json::json;

    fn v(lenient: bool, body: Value) -> Result<Normalized> {
        let s = Schemas::default_set();
        Validator { rs: &s.user, lenient }.body(body)
    }

    #[test]
    fn attribute_names_are_canonicalized() {
        let n = v(false, json!({"schemas": [schema::CORE_USER], "USERNAME": "a", "Name": {"GivenName": "x"}}))
            .expect("valid");
        assert_eq!(n.doc.get("userName"), Some(&json!("a")));
        assert_eq!(n.doc.get("name"), Some(&json!({"givenName": "x"})));
    }

    #[test]
    fn missing_required_attribute_is_invalid_value() {
        let e = v(false, json!({"schemas": [schema::CORE_USER], "displayName": "x"})).expect_err("invalid");
        assert_eq!(e.scim_type(), Some("invalidValue"));
        assert!(e.detail().contains("userName"));
    }

    #[test]
    fn wrong_types_are_invalid_value_naming_the_attribute() {
        let e =
            v(false, json!({"schemas": [schema::CORE_USER], "userName": "a", "active": "yes"})).expect_err("invalid");
        assert!(e.detail().contains("'active' must be a boolean"), "{e}");
        let e = v(false, json!({"schemas": [schema::CORE_USER], "userName": 5})).expect_err("invalid");
        assert!(e.detail().contains("'userName' must be a string"), "{e}");
        let e =
            v(false, json!({"schemas": [schema::CORE_USER], "userName": "a", "emails": "x@y"})).expect_err("invalid");
        assert!(e.detail().contains("multi-valued"), "{e}");
    }

    #[test]
    fn read_only_and_null_attributes_are_dropped() {
        let n = v(
            false,
            json!({"schemas": [schema::CORE_USER], "userName": "a", "id": "x", "meta": {"resourceType": "User"},
                               "groups": [{"value": "g"}], "title": null, "emails": []}),
        )
        .expect("valid");
        assert_eq!(n.doc.len(), 1);
    }

    #[test]
    fn entra_strings_for_booleans_only_when_lenient() {
        let n = v(true, json!({"userName": "a", "active": "False"})).expect("valid");
        assert_eq!(n.doc.get("active"), Some(&json!(false)));
        assert!(v(false, json!({"schemas": [schema::CORE_USER], "userName": "a", "active": "False"})).is_err());
    }

    #[test]
    fn extension_attributes_live_under_their_urn() {
        let n = v(false, json!({"schemas": [schema::CORE_USER, ENTERPRISE_USER], "userName": "a",
                               ENTERPRISE_USER: {"EmployeeNumber": "7", "manager": {"value": "m", "displayName": "ro"}}}))
        .expect("valid");
        assert_eq!(n.doc.get(ENTERPRISE_USER), Some(&json!({"employeeNumber": "7", "manager": {"value": "m"}})));
    }

    #[test]
    fn two_primary_values_are_invalid() {
        let e = v(
            false,
            json!({"schemas": [schema::CORE_USER], "userName": "a",
                               "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
        )
        .expect_err("invalid");
        assert!(e.detail().contains("primary"));
    }

    #[test]
    fn valueless_multi_valued_entries_are_rejected() {
        let e = v(true, json!({"userName": "a", "emails": [{"type": "work"}]})).expect_err("invalid");
        assert!(e.detail().contains("'emails[0]' has no 'value'"), "{e}");
    }

    #[test]
    fn unknown_attributes_and_schemas_only_rejected_when_strict() {
        assert!(v(true, json!({"userName": "a", "foo": 1, "schemas": ["urn:x"]})).is_ok());
        assert!(v(false, json!({"schemas": [schema::CORE_USER], "userName": "a", "foo": 1})).is_err());
        assert!(v(false, json!({"schemas": [schema::CORE_USER, "urn:x"], "userName": "a"})).is_err());
    }
}
