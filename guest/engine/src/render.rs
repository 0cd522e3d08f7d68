//! Rendering stored resources as SCIM JSON (RFC 7643 §3, RFC 7644 §3.4.2.5): the full
//! document with `schemas`, `id`, `meta` and relations, then the `attributes` /
//! `excludedAttributes` projection under the `returned` rules.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::filter::{self, Filter};
use crate::mapping::{self, Node};
use crate::model::{Context, Kind, Projection, Relation, Stored};
use crate::path::{AttrPath, looks_like_urn};
use crate::schema::{ResourceSchema, Returned};

/// The attribute holding a kind's relations.
pub fn relation_attr(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "groups",
        Kind::Group => "members",
    }
}

fn relation_node<'a>(ctx: &Context, kind: Kind, r: &'a Relation) -> Node<'a> {
    let mut m = vec![
        ("value", Node::Str(&r.id)),
        ("$ref", Node::Owned(format!("{}/{}/{}", ctx.base_url, r.kind.endpoint(), r.id))),
    ];
    let display = r.display.as_deref().map(|d| ("display", Node::Str(d)));
    match kind {
        Kind::User => {
            m.extend(display);
            m.push(("type", Node::Str(if r.indirect { "indirect" } else { "direct" })));
        }
        Kind::Group => {
            m.push(("type", Node::Str(r.kind.resource_type())));
            m.extend(display);
        }
    }
    Node::Object(m)
}

/// The complete document of a stored resource: `schemas`, `id`, the mapped attributes,
/// relations, extensions and `meta`, in that order.
fn document<'a>(
    rs: &'a ResourceSchema,
    ctx: &Context,
    stored: &'a Stored,
    relations: Option<&'a [Relation]>,
) -> Node<'a> {
    let body = mapping::view(rs, &stored.model);
    let mut schemas = vec![Node::Str(&rs.core.id)];
    let (extensions, core): (Vec<_>, Vec<_>) = body.into_iter().partition(|(k, _)| looks_like_urn(k));
    schemas.extend(extensions.iter().map(|(k, _)| Node::Str(k)));
    let mut doc = Vec::with_capacity(core.len() + extensions.len() + 4);
    doc.push(("schemas", Node::Array(schemas)));
    doc.push(("id", Node::Str(&stored.id)));
    doc.extend(core);
    if let Some(relations) = relations {
        // A group always shows its member list, empty or not (Entra reads `members: []`).
        if !relations.is_empty() || rs.kind == Kind::Group {
            let items = relations.iter().map(|r| relation_node(ctx, rs.kind, r)).collect();
            doc.push((relation_attr(rs.kind), Node::Array(items)));
        }
    }
    doc.extend(extensions);
    let meta = &stored.meta;
    doc.push((
        "meta",
        Node::Object(vec![
            ("resourceType", Node::Str(rs.kind.resource_type())),
            ("created", Node::Str(&meta.created)),
            ("lastModified", Node::Str(&meta.last_modified)),
            ("location", Node::Str(&meta.location)),
            ("version", Node::Str(&meta.version)),
        ]),
    ));
    Node::Object(doc)
}

/// The complete document of a stored resource, as a map (for projections and filters).
pub fn full_doc(
    rs: &ResourceSchema,
    ctx: &Context,
    stored: &Stored,
    relations: Option<&[Relation]>,
) -> Map<String, Value> {
    match document(rs, ctx, stored, relations).to_value() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The complete document of a stored resource, serialized directly from the model.
pub fn full_json(rs: &ResourceSchema, ctx: &Context, stored: &Stored, relations: Option<&[Relation]>) -> String {
    serde_json::to_string(&document(rs, ctx, stored, relations)).unwrap_or_default()
}

/// Relations as the JSON values of their attribute (a `kind` resource's `members` or
/// `groups`) under a projection, joined by `,`: the chunks a host streams inside a `Frame`.
pub fn relations_json(
    rs: &ResourceSchema,
    ctx: &Context,
    relations: &[Relation],
    projection: &Projection,
    lenient: bool,
) -> String {
    let attr = relation_attr(rs.kind);
    let mut out = String::new();
    if projection.attributes.is_empty() && projection.excluded_attributes.is_empty() {
        for (i, r) in relations.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(&relation_node(ctx, rs.kind, r)).unwrap_or_default());
        }
        return out;
    }
    // The projection's masks of the relation attribute, applied as to a whole document.
    let items: Vec<Value> = relations.iter().map(|r| relation_node(ctx, rs.kind, r).to_value()).collect();
    let mut doc = Map::new();
    doc.insert(attr.to_string(), Value::Array(items));
    if let Some(Value::Array(kept)) = project(rs, doc, projection, lenient).remove(attr) {
        for (i, v) in kept.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&v.to_string());
        }
    }
    out
}

/// Splits a resource rendered with one placeholder relation at its relation attribute: the
/// text before the attribute's first value and the text after its last (the placeholder is
/// dropped). `None` when the document has no such top-level attribute (the projection left it
/// out).
pub fn frame_of(text: &str, attr: &str) -> Option<crate::model::Frame> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    if !matches!(doc.get(attr), Some(Value::Array(_))) {
        return None;
    }
    let (mut head, mut tail) = (String::from("{"), String::new());
    let mut after = false;
    for (i, (k, v)) in doc.iter().enumerate() {
        let out = if after { &mut tail } else { &mut head };
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        if k == attr {
            out.push('[');
            after = true;
            tail.push(']');
        } else {
            out.push_str(&v.to_string());
        }
    }
    tail.push('}');
    Some(crate::model::Frame { head, tail })
}

/// The relation a frame is rendered with, to be cut out (`frame_of`): any projection that keeps
/// some of a resource's relations keeps this one.
pub fn placeholder_relation() -> Relation {
    Relation { id: String::new(), kind: Kind::User, display: Some(String::new()), indirect: false }
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
    match AttrPath::resolve(rs, text, lenient) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Meta, Model};
    use crate::resource::Validator;
    use crate::schema::{ENTERPRISE_USER, Schemas};
    use serde_json::json;

    fn stored(s: &Schemas, kind: Kind, body: Value) -> Stored {
        let rs = s.of(kind);
        let n = Validator { rs, lenient: false }.body(body).expect("valid");
        let model: Model = mapping::to_model(rs, &n.doc);
        Stored {
            id: "i-1".into(),
            model,
            meta: Meta { created: "c".into(), last_modified: "m".into(), version: "v".into(), location: "l".into() },
        }
    }

    #[test]
    fn direct_serialization_equals_the_document() {
        let s = Schemas::default_set();
        let ctx = Context { realm: "r".into(), base_url: "http://h/scim".into() };
        let user = stored(
            &s,
            Kind::User,
            json!({
                "schemas": [crate::schema::CORE_USER, ENTERPRISE_USER], "userName": "b\"j", "active": false, "externalId": "e",
                "name": {"givenName": "B", "middleName": "J"}, "emails": [{"value": "a@b", "primary": true}],
                "phoneNumbers": [{"value": "1", "type": "work"}], ENTERPRISE_USER: {"manager": {"value": "m"}}
            }),
        );
        let rel = [Relation { id: "g".into(), kind: Kind::Group, display: Some("G".into()), indirect: false }];
        for r in [None, Some(&rel[..]), Some(&[][..])] {
            let direct: Value = serde_json::from_str(&full_json(&s.user, &ctx, &user, r)).expect("json");
            assert_eq!(direct, Value::Object(full_doc(&s.user, &ctx, &user, r)));
        }
        let group = stored(&s, Kind::Group, json!({"schemas": [crate::schema::CORE_GROUP], "displayName": "G"}));
        let direct: Value = serde_json::from_str(&full_json(&s.group, &ctx, &group, Some(&[]))).expect("json");
        assert_eq!(direct["members"], json!([]));
        assert_eq!(direct, Value::Object(full_doc(&s.group, &ctx, &group, Some(&[]))));
    }
}
