//! PatchOp (RFC 7644 §3.5.2): `add`, `replace` and `remove`, with and without `path`,
//! `valuePath` targets, sub-attributes and URN paths, applied all or nothing to a normalized
//! document. A group's `members` never enter the document: operations on them become
//! `member-changes` deltas, so a group with 100k members is patched without loading them.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::filter::{self, Filter, Literal, PatchPath};
use crate::model::{CompareOp, Kind, MemberChanges, MemberRef};
use crate::path::{AttrPath, looks_like_urn};
use crate::resource::{self, At, Validator, kind_of, schemas_of};
use crate::schema::{AttrDef, Mutability, PATCH_OP, Type};

/// The result of a PatchOp.
#[derive(Debug, Clone, Default)]
pub struct Patched {
    pub doc: Map<String, Value>,
    pub members: Option<MemberChanges>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

struct Patcher<'a> {
    v: &'a Validator<'a>,
    doc: Map<String, Value>,
    members: Option<MemberChanges>,
    password: Option<String>,
}

fn get_ci<'m>(obj: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// Applies a PatchOp body to `doc`.
pub fn apply(v: &Validator<'_>, doc: Map<String, Value>, body: Value, max_operations: u32) -> Result<Patched> {
    let Value::Object(body) = body else {
        return Err(Error::InvalidSyntax("a PATCH body must be a JSON object with 'schemas' and 'Operations'".into()));
    };
    match get_ci(&body, "schemas") {
        Some(Value::Array(s)) if s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP))) => {}
        _ if v.lenient => {}
        _ => {
            return Err(Error::InvalidValue(format!("a PATCH body must have 'schemas': [\"{PATCH_OP}\"]")));
        }
    }
    let ops = match get_ci(&body, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        Some(Value::Array(_)) => return Err(Error::InvalidValue("'Operations' is empty".into())),
        Some(other) => {
            return Err(Error::InvalidSyntax(format!("'Operations' must be an array, not {}", kind_of(other))));
        }
        None => {
            return Err(Error::InvalidSyntax("a PATCH body must have 'Operations'".into()));
        }
    };
    if ops.len() > max_operations as usize {
        return Err(Error::TooMany(format!(
            "{} operations exceed the limit of {max_operations} per request",
            ops.len()
        )));
    }
    let before = doc.clone();
    let mut p = Patcher { v, doc, members: None, password: None };
    for (i, op) in ops.iter().enumerate() {
        p.operation(op).map_err(|e| prefix(e, i))?;
    }
    // Re-validate the whole result: types, `primary`, required attributes, immutability.
    for def in &v.rs.core.attributes {
        if def.required && before.contains_key(&def.name) && !p.doc.contains_key(&def.name) {
            return Err(Error::Mutability(format!("'{}' is required and cannot be removed", def.name)));
        }
    }
    let mut whole = p.doc;
    whole.insert("schemas".into(), Value::Array(schemas_of(v.rs, &whole)));
    let normalized = Validator { rs: v.rs, lenient: v.lenient }.body(Value::Object(whole))?;
    resource::check_immutable(v.rs, &before, &normalized.doc)?;
    Ok(Patched { doc: normalized.doc, members: p.members, password: p.password })
}

fn prefix(e: Error, i: usize) -> Error {
    let with = |d: String| format!("Operations[{i}]: {d}");
    match e {
        Error::InvalidSyntax(d) => Error::InvalidSyntax(with(d)),
        Error::InvalidValue(d) => Error::InvalidValue(with(d)),
        Error::InvalidFilter(d) => Error::InvalidFilter(with(d)),
        Error::InvalidPath(d) => Error::InvalidPath(with(d)),
        Error::NoTarget(d) => Error::NoTarget(with(d)),
        Error::Mutability(d) => Error::Mutability(with(d)),
        other => other,
    }
}

impl Patcher<'_> {
    fn operation(&mut self, op: &Value) -> Result<()> {
        let Value::Object(op) = op else {
            return Err(Error::InvalidSyntax(format!("an operation must be a JSON object, not {}", kind_of(op))));
        };
        let name = match get_ci(op, "op") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(Error::InvalidSyntax(format!("'op' must be a string, not {}", kind_of(other))));
            }
            None => return Err(Error::InvalidSyntax("an operation needs 'op'".into())),
        };
        let kind = match name {
            "add" => Op::Add,
            "replace" => Op::Replace,
            "remove" => Op::Remove,
            // Entra sends `Add`, `Replace`, `Remove`.
            n if self.v.lenient && n.eq_ignore_ascii_case("add") => Op::Add,
            n if self.v.lenient && n.eq_ignore_ascii_case("replace") => Op::Replace,
            n if self.v.lenient && n.eq_ignore_ascii_case("remove") => Op::Remove,
            n => {
                return Err(Error::InvalidSyntax(format!(
                    "'op' must be \"add\", \"replace\" or \"remove\", not \"{n}\""
                )));
            }
        };
        let path = match get_ci(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(Error::InvalidPath(format!("'path' must be a string, not {}", kind_of(other))));
            }
        };
        let value = get_ci(op, "value").cloned();
        match path {
            Some(path) => self.at_path(kind, path, value),
            None => self.pathless(kind, value),
        }
    }

    /// A `path` naming a whole extension schema (RFC 7644 §3.5.2, §3.10: the URN alone)
    /// addresses the extension's object: `add` and `replace` take an object of its attributes
    /// and apply each as the same operation would without a path (so `replace` leaves the
    /// attributes it does not name, as for any complex attribute, §3.5.2.3); `remove` removes
    /// the whole extension.
    fn at_extension(&mut self, op: Op, urn: String, value: Option<Value>) -> Result<()> {
        match (op, value) {
            (Op::Remove, None | Some(Value::Null)) => {
                self.doc.shift_remove(&urn);
                Ok(())
            }
            (Op::Remove, Some(_)) if !self.v.lenient => Err(Error::InvalidValue(
                "'remove' takes no 'value' (RFC 7644 §3.5.2.2); the path names what goes".into(),
            )),
            // Entra-style clients name what goes in the value: only those attributes go.
            (Op::Remove, Some(Value::Object(named))) => {
                for key in named.keys() {
                    self.at_path(Op::Remove, &format!("{urn}:{key}"), None)?;
                }
                Ok(())
            }
            (Op::Remove, Some(other)) => Err(Error::InvalidValue(format!(
                "'remove' on '{urn}' takes no 'value', or an object naming the attributes to remove, not {}",
                kind_of(&other)
            ))),
            (_, None) => Err(Error::InvalidValue(format!("'{}' on '{urn}' needs a 'value'", op_name(op)))),
            (_, Some(value)) => self.pathless(op, Some(Value::Object(Map::from_iter([(urn, value)])))),
        }
    }

    /// `add` / `replace` without `path`: the value's keys are the targets (RFC 7644
    /// §3.5.2.1). Entra also uses dotted and fully qualified keys.
    fn pathless(&mut self, op: Op, value: Option<Value>) -> Result<()> {
        if op == Op::Remove {
            return Err(Error::NoTarget("'remove' needs a 'path'".into()));
        }
        let obj = match value {
            Some(Value::Object(obj)) => obj,
            Some(other) => {
                return Err(Error::InvalidValue(format!(
                    "without 'path', 'value' must be a JSON object of attributes, not {}",
                    kind_of(&other)
                )));
            }
            None => {
                return Err(Error::InvalidValue("the operation has no 'path' and no 'value'".into()));
            }
        };
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            if looks_like_urn(&key)
                && let Some(ext) = self.v.rs.extension(&key)
            {
                let urn = ext.id.clone();
                match v {
                    Value::Object(inner) => {
                        for (k, iv) in inner {
                            self.at_path(op, &format!("{urn}:{k}"), Some(iv))?;
                        }
                    }
                    Value::Null if op == Op::Replace => {
                        self.doc.shift_remove(&urn);
                    }
                    other => {
                        return Err(Error::InvalidValue(format!(
                            "'{urn}' must be a JSON object, not {}",
                            kind_of(&other)
                        )));
                    }
                }
                continue;
            }
            if !self.v.lenient && (key.contains('.') || looks_like_urn(&key)) {
                return Err(Error::InvalidPath(format!(
                    "'{key}': without 'path', the keys of 'value' must be attribute names"
                )));
            }
            if self.v.rs.core_attr(&key).is_some_and(|d| d.mutability == Mutability::ReadOnly) && self.v.lenient {
                // Clients echo `id` and `meta` back; they are ignored as in PUT.
                continue;
            }
            self.at_path(op, &key, Some(v))?;
        }
        Ok(())
    }

    fn at_path(&mut self, op: Op, path_text: &str, value: Option<Value>) -> Result<()> {
        let rs = self.v.rs;
        if let Some(ext) = rs.extension(path_text.trim()) {
            return self.at_extension(op, ext.id.clone(), value);
        }
        let pp = filter::parse_patch_path(rs, path_text, self.v.lenient)?;
        let (_, def, sub_def) =
            pp.path.defs(rs).ok_or_else(|| Error::InvalidPath(format!("'{path_text}' names no attribute")))?;
        let def = def.clone();
        let shown = pp.path.display();
        if def.mutability == Mutability::ReadOnly {
            return Err(Error::Mutability(format!("'{}' is read-only", pp.path.parent().display())));
        }
        if let Some(s) = sub_def.or_else(|| pp.sub.as_ref().and_then(|s| def.sub(s)))
            && s.mutability == Mutability::ReadOnly
        {
            return Err(Error::Mutability(format!("'{shown}.{}' is read-only", s.name)));
        }
        if op != Op::Remove && value.is_none() {
            return Err(Error::InvalidValue(format!("'{}' on '{path_text}' needs a 'value'", op_name(op))));
        }
        if rs.kind == Kind::Group && pp.path.is("members", pp.path.sub.as_deref()) {
            return self.members(op, &pp, value);
        }
        if rs.kind == Kind::User && pp.path.is("password", None) {
            return match (op, value) {
                (Op::Remove, _) => Err(Error::Mutability("'password' cannot be removed".into())),
                (_, Some(Value::String(p))) if !p.is_empty() => {
                    self.password = Some(p);
                    Ok(())
                }
                (_, v) => Err(Error::InvalidValue(format!(
                    "'password' must be a non-empty string, not {}",
                    v.as_ref().map(kind_of).unwrap_or("nothing")
                ))),
            };
        }
        if def.mutability == Mutability::Immutable
            && op != Op::Add
            && resource::get_mut(&mut self.doc, &pp.path.parent()).is_some()
        {
            return Err(Error::Mutability(format!("'{shown}' is immutable")));
        }
        match (&pp.filter, &pp.path.sub) {
            (None, None) => self.whole(op, &pp.path, &def, value),
            (None, Some(sub)) => {
                let sub = sub.clone();
                self.sub_everywhere(op, &pp.path.parent(), &def, &sub, value)
            }
            (Some(f), _) => self.filtered(op, &pp, &def, f, value),
        }
    }

    /// Targets a whole attribute.
    fn whole(&mut self, op: Op, path: &AttrPath, def: &AttrDef, value: Option<Value>) -> Result<()> {
        let shown = path.display();
        if op == Op::Remove {
            resource::unset(&mut self.doc, path);
            return Ok(());
        }
        let value = value.unwrap_or(Value::Null);
        let new = self.v.attribute(def, value, &At::Path(&shown))?;
        let Some(new) = new else {
            if op == Op::Replace {
                resource::unset(&mut self.doc, path);
            }
            return Ok(());
        };
        let current = resource::get_mut(&mut self.doc, path);
        match (op, def.multi_valued, def.ty, current) {
            (Op::Add, true, _, Some(Value::Array(items))) => {
                let Value::Array(new_items) = new else {
                    return Ok(());
                };
                let has_new_primary = new_items.iter().any(is_primary);
                if has_new_primary {
                    items.iter_mut().for_each(clear_primary);
                }
                for item in new_items {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            }
            (_, false, Type::Complex, Some(Value::Object(obj))) => {
                // RFC 7644 §3.5.2.1/3: sub-attributes not given are left unchanged.
                if let Value::Object(new_obj) = new {
                    obj.extend(new_obj);
                }
            }
            _ => resource::set(&mut self.doc, path, new),
        }
        Ok(())
    }

    /// `attr.sub` without a filter: every element of a multi-valued attribute, or the single
    /// complex value.
    fn sub_everywhere(
        &mut self,
        op: Op,
        path: &AttrPath,
        def: &AttrDef,
        sub: &str,
        value: Option<Value>,
    ) -> Result<()> {
        let shown = format!("{}.{sub}", path.display());
        let sub_def = def.sub(sub).ok_or_else(|| Error::InvalidPath(format!("'{shown}' names no attribute")))?;
        let new = match (op, value) {
            (Op::Remove, _) => None,
            (_, Some(v)) => self.v.simple(sub_def, v, &At::Path(&shown))?,
            (_, None) => None,
        };
        let lenient = self.v.lenient;
        match resource::get_mut(&mut self.doc, path) {
            Some(Value::Array(items)) => {
                for item in items.iter_mut() {
                    if let Value::Object(o) = item {
                        set_sub(o, sub, new.clone());
                    }
                }
                // Clearing every element's value clears the elements.
                let cleared = sub == "value" && new.is_none();
                items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty() && (!cleared || o.contains_key("value"))));
                if items.is_empty() {
                    resource::unset(&mut self.doc, path);
                }
            }
            Some(Value::Object(o)) => {
                set_sub(o, sub, new);
                if o.is_empty() {
                    resource::unset(&mut self.doc, path);
                }
            }
            _ => {
                if let Some(n) = new {
                    if def.multi_valued && !lenient && op == Op::Replace {
                        return Err(Error::NoTarget(format!("'{}' has no values to replace", path.display())));
                    }
                    let mut o = Map::new();
                    o.insert(sub.to_string(), n);
                    let v = if def.multi_valued { Value::Array(vec![Value::Object(o)]) } else { Value::Object(o) };
                    resource::set(&mut self.doc, path, v);
                }
            }
        }
        Ok(())
    }

    /// `attr[filter]` or `attr[filter].sub`.
    fn filtered(&mut self, op: Op, pp: &PatchPath, def: &AttrDef, f: &Filter, value: Option<Value>) -> Result<()> {
        let path = &pp.path;
        let shown = path.display();
        let lenient = self.v.lenient;
        let sub_def = match &pp.sub {
            Some(s) => Some(
                def.sub(s).ok_or_else(|| Error::InvalidPath(format!("'{s}' is not a sub-attribute of '{shown}'")))?,
            ),
            None => None,
        };
        let new: Option<Value> = match (op, &sub_def, value) {
            (Op::Remove, _, _) => None,
            (_, Some(sd), Some(v)) => self.v.simple(sd, v, &At::Sub(&At::Path(&shown), &sd.name))?,
            (_, None, Some(v)) => self.v.single(def, v, &At::Path(&shown))?,
            (_, _, None) => None,
        };
        let mut items: Vec<Value> = match resource::get_mut(&mut self.doc, path) {
            Some(Value::Array(items)) => std::mem::take(items),
            Some(v @ Value::Object(_)) => vec![std::mem::take(v)],
            _ => Vec::new(),
        };
        let hits: Vec<usize> =
            items.iter().enumerate().filter(|(_, e)| filter::matches_element(f, e)).map(|(i, _)| i).collect();
        if hits.is_empty() {
            if op == Op::Remove {
                if !lenient {
                    self.put_back(path, def, items);
                    return Err(Error::NoTarget(format!("no value of '{shown}' matches the filter")));
                }
            } else if let Some(n) = new.clone() {
                // Entra replaces `emails[type eq "work"].value` when no work email exists yet:
                // the element is created from the filter's equalities (E08b).
                let seed = if lenient { equalities(f) } else { None };
                let Some(mut element) = seed else {
                    self.put_back(path, def, items);
                    return Err(Error::NoTarget(format!("no value of '{shown}' matches the filter")));
                };
                match (&pp.sub, n) {
                    (Some(s), n) => {
                        element.insert(s.clone(), n);
                    }
                    (None, Value::Object(o)) => element.extend(o),
                    (None, _) => {}
                }
                if is_primary(&Value::Object(element.clone())) {
                    items.iter_mut().for_each(clear_primary);
                }
                items.push(Value::Object(element));
            }
        } else {
            let mut new_primary = false;
            for &i in hits.iter().rev() {
                match (op, &pp.sub) {
                    (Op::Remove, None) => {
                        items.remove(i);
                    }
                    (_, Some(s)) => {
                        if let Value::Object(o) = &mut items[i] {
                            set_sub(o, s, new.clone());
                            new_primary |= s == "primary" && new == Some(Value::Bool(true));
                        }
                    }
                    (Op::Replace, None) => match &new {
                        Some(n) => {
                            new_primary |= is_primary(n);
                            items[i] = n.clone();
                        }
                        None => {
                            items.remove(i);
                        }
                    },
                    (Op::Add, None) => {
                        if let (Value::Object(o), Some(Value::Object(n))) = (&mut items[i], &new) {
                            new_primary |= is_primary(&Value::Object(n.clone()));
                            o.extend(n.clone());
                        }
                    }
                }
            }
            if new_primary {
                let first = hits[0];
                for (i, item) in items.iter_mut().enumerate() {
                    if i != first {
                        clear_primary(item);
                    }
                }
            }
        }
        // An element whose value was cleared is gone (Entra's null update of
        // `emails[type eq "work"].value`), not a valueless entry.
        // Anything else left without a value is the client's mistake, reported by validation.
        let cleared = pp.sub.as_deref() == Some("value") && new.is_none();
        items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty() && (!cleared || o.contains_key("value"))));
        self.put_back(path, def, items);
        Ok(())
    }

    fn put_back(&mut self, path: &AttrPath, def: &AttrDef, mut items: Vec<Value>) {
        if items.is_empty() {
            resource::unset(&mut self.doc, path);
        } else if def.multi_valued {
            resource::set(&mut self.doc, path, Value::Array(items));
        } else if let Some(one) = items.pop() {
            resource::set(&mut self.doc, path, one);
        }
    }

    /// Operations on a group's `members`, as deltas.
    fn members(&mut self, op: Op, pp: &PatchPath, value: Option<Value>) -> Result<()> {
        let lenient = self.v.lenient;
        let rs = self.v.rs;
        let def = rs.core.attr("members").ok_or_else(|| Error::InvalidPath("members".into()))?;
        if pp.path.sub.is_some() || (pp.filter.is_some() && (op != Op::Remove || pp.sub.is_some())) {
            return Err(Error::InvalidPath(format!(
                "'{}': members are added, replaced or removed whole; their sub-attributes are immutable",
                pp.path.display()
            )));
        }
        let refs = |value: Option<Value>| -> Result<Vec<MemberRef>> {
            let v = self.v.attribute(def, value.unwrap_or(Value::Null), &At::Path("members"))?;
            resource::members(v.as_ref())
        };
        let changes = self.members.get_or_insert_with(MemberChanges::default);
        match (op, &pp.filter) {
            (Op::Add, _) => {
                for m in refs(value)? {
                    add_member(changes, m);
                }
            }
            (Op::Replace, _) => {
                let new = refs(value)?;
                *changes = MemberChanges { clear: true, add: Vec::new(), remove: Vec::new() };
                for m in new {
                    add_member(changes, m);
                }
            }
            (Op::Remove, Some(f)) => {
                let ids = member_ids(f).ok_or_else(|| {
                    Error::InvalidFilter(format!(
                        "'{}': a members filter must select by value (value eq \"id\", joined with or)",
                        pp.path.display()
                    ))
                })?;
                for id in ids {
                    remove_member(changes, id);
                }
            }
            (Op::Remove, None) => match value {
                None | Some(Value::Null) => {
                    *changes = MemberChanges { clear: true, add: Vec::new(), remove: Vec::new() };
                }
                // Entra's default job removes members with `path: members` and a value list;
                // only those members go (removing all would be the failure case).
                Some(v) if lenient => {
                    for m in refs(Some(v))? {
                        remove_member(changes, m.id);
                    }
                }
                Some(_) => {
                    return Err(Error::InvalidValue(
                        "'remove' takes no 'value' (RFC 7644 §3.5.2.2); select members with members[value eq \"id\"]"
                            .into(),
                    ));
                }
            },
        }
        Ok(())
    }
}

fn add_member(c: &mut MemberChanges, m: MemberRef) {
    c.remove.retain(|r| r != &m.id);
    if !c.add.iter().any(|a| a.id == m.id) {
        c.add.push(m);
    }
}

fn remove_member(c: &mut MemberChanges, id: String) {
    c.add.retain(|a| a.id != id);
    if !c.clear && !c.remove.contains(&id) {
        c.remove.push(id);
    }
}

/// The ids a members filter selects, when it is `value eq "…"` joined by `or`.
fn member_ids(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Or(parts) => {
            let mut ids = Vec::new();
            for p in parts {
                ids.extend(member_ids(p)?);
            }
            Some(ids)
        }
        Filter::Compare(c) if c.op == CompareOp::Eq && c.path.sub.as_deref() == Some("value") => match &c.value {
            Literal::String(s) => Some(vec![s.clone()]),
            _ => None,
        },
        _ => None,
    }
}

/// The `sub eq value` conditions of a filter made only of them and `and`, as a new element.
fn equalities(f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::And(parts) => {
            let mut m = Map::new();
            for p in parts {
                m.extend(equalities(p)?);
            }
            Some(m)
        }
        Filter::Compare(c) if c.op == CompareOp::Eq => {
            let v = match &c.value {
                Literal::String(s) => Value::String(s.clone()),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Number(n) => Value::Number(n.clone()),
                Literal::DateTime(_, s) => Value::String(s.clone()),
                _ => return None,
            };
            let mut m = Map::new();
            m.insert(c.path.sub.clone()?, v);
            Some(m)
        }
        _ => None,
    }
}

fn set_sub(o: &mut Map<String, Value>, sub: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            o.insert(sub.to_string(), v);
        }
        None => {
            o.shift_remove(sub);
        }
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(v: &mut Value) {
    if let Value::Object(o) = v
        && o.get("primary") == Some(&Value::Bool(true))
    {
        o.insert("primary".into(), Value::Bool(false));
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Add => "add",
        Op::Replace => "replace",
        Op::Remove => "remove",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, Schemas};
    use serde_json::json;

    fn doc() -> Map<String, Value> {
        match json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@work.com", "type": "work", "primary": true}, {"value": "b@home.org", "type": "home"}],
            "title": "Guide",
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn run(lenient: bool, ops: Value) -> Result<Patched> {
        let s = Schemas::default_set();
        let v = Validator { rs: &s.user, lenient };
        apply(&v, doc(), json!({"schemas": [PATCH_OP], "Operations": ops}), 100)
    }

    fn group(lenient: bool, ops: Value) -> Result<Patched> {
        let s = Schemas::default_set();
        let v = Validator { rs: &s.group, lenient };
        let d = match json!({"displayName": "G"}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        apply(&v, d, json!({"schemas": [PATCH_OP], "Operations": ops}), 100)
    }

    #[test]
    fn replace_simple_attribute() {
        let p = run(false, json!([{"op": "replace", "path": "title", "value": "Boss"}])).expect("ok");
        assert_eq!(p.doc["title"], json!("Boss"));
    }

    #[test]
    fn replace_sub_attribute_keeps_siblings() {
        let p = run(false, json!([{"op": "replace", "path": "name.familyName", "value": "J"}])).expect("ok");
        assert_eq!(p.doc["name"], json!({"givenName": "Barbara", "familyName": "J"}));
    }

    #[test]
    fn add_to_multi_valued_appends_and_moves_primary() {
        let p = run(false, json!([{"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": true}]}]))
            .expect("ok");
        let emails = p.doc["emails"].as_array().expect("array");
        assert_eq!(emails.len(), 3);
        assert_eq!(emails.iter().filter(|e| is_primary(e)).count(), 1);
        assert!(is_primary(&emails[2]));
    }

    #[test]
    fn replace_value_path_sub_attribute() {
        let p =
            run(false, json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work.com"}]))
                .expect("ok");
        assert_eq!(p.doc["emails"][0]["value"], json!("new@work.com"));
        assert_eq!(p.doc["emails"][1]["value"], json!("b@home.org"));
    }

    #[test]
    fn replace_value_path_without_match_creates_element_only_when_lenient() {
        let ops = json!([{"op": "Replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]);
        let p = run(true, ops.clone()).expect("ok");
        assert_eq!(p.doc["emails"][2], json!({"type": "other", "value": "o@x"}));
        let ops = json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]);
        assert!(matches!(run(false, ops), Err(Error::NoTarget(_))));
    }

    #[test]
    fn clearing_the_value_of_a_typed_element_removes_the_element() {
        for v in [json!(""), Value::Null] {
            let p = run(true, json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": v}]))
                .expect("ok");
            assert_eq!(p.doc["emails"], json!([{"value": "b@home.org", "type": "home"}]));
        }
        let p = run(false, json!([{"op": "remove", "path": "emails[type eq \"work\"].value"}])).expect("ok");
        assert_eq!(p.doc["emails"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn remove_value_path_removes_only_matching_elements() {
        let p = run(false, json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).expect("ok");
        assert_eq!(p.doc["emails"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn pathless_replace_with_dotted_and_urn_keys_when_lenient() {
        let ops = json!([{"op": "replace", "value": {"displayName": "B", "name.givenName": "K",
                         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "E1"}}]);
        let p = run(true, ops.clone()).expect("ok");
        assert_eq!(p.doc["name"]["givenName"], json!("K"));
        assert_eq!(p.doc[ENTERPRISE_USER]["employeeNumber"], json!("E1"));
        assert!(matches!(run(false, ops), Err(Error::InvalidPath(_))));
    }

    #[test]
    fn op_names_in_any_case_only_when_lenient() {
        assert!(run(true, json!([{"op": "Replace", "path": "title", "value": "x"}])).is_ok());
        assert!(matches!(
            run(false, json!([{"op": "Replace", "path": "title", "value": "x"}])),
            Err(Error::InvalidSyntax(_))
        ));
    }

    #[test]
    fn removing_a_required_attribute_is_a_mutability_error() {
        assert!(matches!(run(false, json!([{"op": "remove", "path": "userName"}])), Err(Error::Mutability(_))));
    }

    #[test]
    fn read_only_targets_are_mutability_errors() {
        assert!(matches!(
            run(false, json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])),
            Err(Error::Mutability(_))
        ));
        assert!(matches!(
            run(false, json!([{"op": "replace", "path": "id", "value": "x"}])),
            Err(Error::Mutability(_))
        ));
    }

    #[test]
    fn bad_paths_are_invalid_path_errors() {
        assert!(matches!(
            run(false, json!([{"op": "replace", "path": "nosuch", "value": "x"}])),
            Err(Error::InvalidPath(_))
        ));
        assert!(matches!(
            run(false, json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
            Err(Error::InvalidPath(_))
        ));
    }

    #[test]
    fn all_or_nothing_a_later_failure_discards_earlier_operations() {
        let r = run(
            false,
            json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "replace", "path": "active", "value": "nope"}]),
        );
        let e = r.expect_err("fails");
        assert!(e.detail().starts_with("Operations[1]"), "{e}");
    }

    #[test]
    fn entra_disable_with_string_false() {
        let p = run(true, json!([{"op": "Replace", "path": "active", "value": "False"}])).expect("ok");
        assert_eq!(p.doc["active"], json!(false));
    }

    #[test]
    fn manager_as_plain_string_when_lenient() {
        let path = format!("{ENTERPRISE_USER}:manager");
        let p = run(true, json!([{"op": "add", "path": path, "value": "m-1"}])).expect("ok");
        assert_eq!(p.doc[ENTERPRISE_USER]["manager"], json!({"value": "m-1"}));
    }

    #[test]
    fn members_changes_are_deltas() {
        let p = group(true, json!([
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"value": "u2", "type": "User"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "members[value eq \"u3\"]"}
        ]))
        .expect("ok");
        let m = p.members.expect("changes");
        assert!(!m.clear);
        assert_eq!(m.add.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["u2"]);
        assert_eq!(m.remove, vec!["u1".to_string(), "u3".to_string()]);
    }

    #[test]
    fn replace_members_clears_then_adds() {
        let p = group(false, json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}])).expect("ok");
        let m = p.members.expect("changes");
        assert!(m.clear);
        assert_eq!(m.add.len(), 1);
    }

    #[test]
    fn remove_members_with_value_is_rejected_when_strict() {
        assert!(group(false, json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}]}])).is_err());
        let p = group(false, json!([{"op": "remove", "path": "members"}])).expect("ok");
        assert!(p.members.expect("changes").clear);
    }
}
