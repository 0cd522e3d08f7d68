//! Rendering stored resources as SCIM JSON (RFC 7643 §3, RFC 7644 §3.4.2.5): the full
//! document with `schemas`, `id`, `meta` and relations, then the `attributes` /
//! `excludedAttributes` projection under the `returned` rules.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::filter::{self, Filter};
use crate::mapping;
use crate::model::{Context, Kind, Projection, Relation, Stored};
use crate::path::{AttrPath, looks_like_urn};
use crate::resource::schemas_of;
use crate::schema::{ResourceSchema, Returned};

/// The attribute holding a kind's relations.
pub fn relation_attr(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "groups",
        Kind::Group => "members",
    }
}

fn relation_json(ctx: &Context, kind: Kind, r: &Relation) -> Value {
    let mut m = Map::new();
    m.insert("value".into(), Value::String(r.id.clone()));
    m.insert("$ref".into(), Value::String(format!("{}/{}/{}", ctx.base_url, r.kind.endpoint(), r.id)));
    match kind {
        Kind::User => {
            if let Some(d) = &r.display {
                m.insert("display".into(), Value::String(d.clone()));
            }
            m.insert("type".into(), Value::String("direct".into()));
        }
        Kind::Group => {
            m.insert("type".into(), Value::String(r.kind.resource_type().into()));
            if let Some(d) = &r.display {
                m.insert("display".into(), Value::String(d.clone()));
            }
        }
    }
    Value::Object(m)
}

/// The complete document of a stored resource.
pub fn full_doc(
    rs: &ResourceSchema,
    ctx: &Context,
    stored: &Stored,
    relations: Option<&[Relation]>,
) -> Map<String, Value> {
    let body = mapping::from_model(rs, &stored.model);
    let mut doc = Map::new();
    doc.insert("schemas".into(), Value::Array(schemas_of(rs, &body)));
    doc.insert("id".into(), Value::String(stored.id.clone()));
    let mut extensions = Vec::new();
    for (k, v) in body {
        if looks_like_urn(&k) {
            extensions.push((k, v));
        } else {
            doc.insert(k, v);
        }
    }
    if let Some(relations) = relations {
        let items: Vec<Value> = relations.iter().map(|r| relation_json(ctx, rs.kind, r)).collect();
        // A group always shows its member list, empty or not (Entra reads `members: []`).
        if !items.is_empty() || rs.kind == Kind::Group {
            doc.insert(relation_attr(rs.kind).into(), Value::Array(items));
        }
    }
    for (k, v) in extensions {
        doc.insert(k, v);
    }
    let mut meta = Map::new();
    meta.insert("resourceType".into(), Value::String(rs.kind.resource_type().into()));
    meta.insert("created".into(), Value::String(stored.meta.created.clone()));
    meta.insert("lastModified".into(), Value::String(stored.meta.last_modified.clone()));
    meta.insert("location".into(), Value::String(stored.meta.location.clone()));
    meta.insert("version".into(), Value::String(stored.meta.version.clone()));
    doc.insert("meta".into(), Value::Object(meta));
    doc
}

/// One item of an `attributes` or `excludedAttributes` list.
enum Item {
    /// An extension schema URN alone: all of its attributes.
    Schema(String),
    Path(AttrPath),
    /// `attr[filter]` or `attr[filter].sub`.
    Filtered(AttrPath, Filter, Option<String>),
}

/// Splits a comma-separated list, keeping commas inside brackets and quotes.
fn split_list(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect()
}

fn parse_item(rs: &ResourceSchema, text: &str, lenient: bool, allow_filter: bool) -> Result<Option<Item>> {
    if looks_like_urn(text)
        && let Some(schema) = rs.schema(text)
    {
        return Ok(Some(Item::Schema(schema.id.clone())));
    }
    if text.contains('[') {
        if !allow_filter {
            return Err(Error::InvalidValue(format!(
                "'{text}': excludedAttributes takes attribute names, not filters"
            )));
        }
        let pp = filter::parse_patch_path(rs, text, lenient)
            .map_err(|e| Error::InvalidValue(format!("invalid attribute '{text}': {}", e.detail())))?;
        let Some(f) = pp.filter else {
            return Ok(Some(Item::Path(pp.path)));
        };
        return Ok(Some(Item::Filtered(pp.path, f, pp.sub)));
    }
    match AttrPath::parse(rs, text) {
        Ok(p) => Ok(Some(Item::Path(p))),
        // RFC 7644 does not say; clients send names of attributes other servers have, so
        // lenient mode ignores what it does not know.
        Err(_) if lenient && !text.contains(char::is_whitespace) => Ok(None),
        Err(msg) => Err(Error::InvalidValue(format!("invalid attribute '{text}': {msg}"))),
    }
}

fn item_text(item: &Item, raw: &str) -> String {
    match item {
        Item::Schema(s) => s.clone(),
        Item::Path(p) => p.full(),
        Item::Filtered(..) => raw.to_string(),
    }
}

/// Validates `attributes` / `excludedAttributes`.
pub fn projection(
    rs: &ResourceSchema,
    attributes: Option<&str>,
    excluded: Option<&str>,
    lenient: bool,
) -> Result<Projection> {
    let mut out = Projection::default();
    let rel = relation_attr(rs.kind);
    let mut requests_rel = false;
    let mut excludes_rel = false;
    for raw in attributes.map(split_list).unwrap_or_default() {
        if let Some(item) = parse_item(rs, raw, lenient, true)? {
            if let Item::Path(p) | Item::Filtered(p, _, _) = &item {
                requests_rel |= p.is(rel, p.sub.as_deref());
            }
            out.attributes.push(item_text(&item, raw));
        }
    }
    for raw in excluded.map(split_list).unwrap_or_default() {
        if let Some(item) = parse_item(rs, raw, lenient, false)? {
            if let Item::Path(p) = &item {
                excludes_rel |= p.is(rel, None);
            }
            out.excluded_attributes.push(item_text(&item, raw));
        }
    }
    out.include_relations = if out.attributes.is_empty() { !excludes_rel } else { requests_rel };
    Ok(out)
}

/// Masks by (extension URN, attribute name).
type Masks = HashMap<(Option<String>, String), Mask>;

#[derive(Default)]
struct Mask {
    whole: bool,
    subs: Vec<String>,
    filters: Vec<(Filter, Option<String>)>,
}

/// Applies a validated projection to a full document.
pub fn project(
    rs: &ResourceSchema,
    doc: Map<String, Value>,
    projection: &Projection,
    lenient: bool,
) -> Map<String, Value> {
    let parse_all = |items: &[String]| -> (Vec<String>, Masks) {
        let mut schemas = Vec::new();
        let mut masks: Masks = HashMap::new();
        for text in items {
            let Ok(Some(item)) = parse_item(rs, text, lenient, true) else {
                continue;
            };
            let (path, filter, sub) = match item {
                Item::Schema(s) => {
                    schemas.push(s);
                    continue;
                }
                Item::Path(p) => (p, None, None),
                Item::Filtered(p, f, s) => (p, Some(f), s),
            };
            let urn = path.extension.then(|| path.schema.clone());
            let m = masks.entry((urn, path.attr.clone())).or_default();
            match (filter, &path.sub) {
                (Some(f), _) => m.filters.push((f, sub)),
                (None, Some(s)) => m.subs.push(s.clone()),
                (None, None) => m.whole = true,
            }
        }
        (schemas, masks)
    };
    let returned = |urn: Option<&str>, attr: &str| -> Returned {
        let def = match urn {
            Some(u) => rs.extension(u).and_then(|s| s.attr(attr)),
            None => rs.core_attr(attr),
        };
        def.map(|d| d.returned).unwrap_or(Returned::Default)
    };
    let mut out = Map::new();
    if !projection.attributes.is_empty() {
        let (schemas, masks) = parse_all(&projection.attributes);
        for (k, v) in doc {
            if k == "schemas" || k == "id" {
                out.insert(k, v);
            } else if looks_like_urn(&k) {
                if schemas.contains(&k) {
                    out.insert(k, v);
                    continue;
                }
                let Value::Object(obj) = v else { continue };
                let mut kept = Map::new();
                for (a, av) in obj {
                    if returned(Some(&k), &a) == Returned::Always {
                        kept.insert(a, av);
                    } else if let Some(m) = masks.get(&(Some(k.clone()), a.clone()))
                        && let Some(av) = keep(av, m)
                    {
                        kept.insert(a, av);
                    }
                }
                if !kept.is_empty() {
                    out.insert(k, Value::Object(kept));
                }
            } else if returned(None, &k) == Returned::Always {
                out.insert(k, v);
            } else if let Some(m) = masks.get(&(None, k.clone()))
                && let Some(v) = keep(v, m)
            {
                out.insert(k, v);
            }
        }
        return out;
    }
    let (schemas, masks) = parse_all(&projection.excluded_attributes);
    for (k, v) in doc {
        if k == "schemas" || k == "id" {
            out.insert(k, v);
        } else if looks_like_urn(&k) {
            if schemas.contains(&k) {
                continue;
            }
            let Value::Object(obj) = v else { continue };
            let mut kept = Map::new();
            for (a, av) in obj {
                match masks.get(&(Some(k.clone()), a.clone())) {
                    Some(m) if returned(Some(&k), &a) != Returned::Always => {
                        if let Some(av) = drop_subs(av, m) {
                            kept.insert(a, av);
                        }
                    }
                    _ if returned(Some(&k), &a) == Returned::Request => {}
                    _ => {
                        kept.insert(a, av);
                    }
                }
            }
            if !kept.is_empty() {
                out.insert(k, Value::Object(kept));
            }
        } else {
            match masks.get(&(None, k.clone())) {
                Some(m) if returned(None, &k) != Returned::Always => {
                    if let Some(v) = drop_subs(v, m) {
                        out.insert(k, v);
                    }
                }
                _ if returned(None, &k) == Returned::Request => {}
                _ => {
                    out.insert(k, v);
                }
            }
        }
    }
    out
}

fn only_subs(v: &Map<String, Value>, subs: &[String]) -> Map<String, Value> {
    v.iter().filter(|(k, _)| subs.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// What `attributes` keeps of one attribute value.
fn keep(v: Value, m: &Mask) -> Option<Value> {
    if m.whole {
        return Some(v);
    }
    let pick = |e: &Value| -> Option<Value> {
        let obj = e.as_object()?;
        let mut kept = only_subs(obj, &m.subs);
        for (f, sub) in &m.filters {
            if filter::matches_element(f, e) {
                match sub {
                    Some(s) => {
                        if let Some(x) = obj.get(s) {
                            kept.insert(s.clone(), x.clone());
                        }
                    }
                    None => kept.extend(obj.iter().map(|(k, v)| (k.clone(), v.clone()))),
                }
            }
        }
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match v {
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(pick).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => pick(&other),
    }
}

/// What `excludedAttributes` leaves of one attribute value.
fn drop_subs(v: Value, m: &Mask) -> Option<Value> {
    if m.whole {
        return None;
    }
    let strip = |e: Value| -> Option<Value> {
        match e {
            Value::Object(mut o) => {
                for s in &m.subs {
                    o.shift_remove(s);
                }
                (!o.is_empty()).then_some(Value::Object(o))
            }
            other => Some(other),
        }
    };
    match v {
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(strip).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => strip(other),
    }
}
