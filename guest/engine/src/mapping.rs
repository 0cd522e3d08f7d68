//! The mapping between SCIM documents and the realm model (docs/architecture.md §2).
//!
//! Defaults, as in Keycloak: `userName → username`, `emails[primary] → email`,
//! `name.givenName → firstName`, `name.familyName → lastName`, `active → enabled`, a group's
//! `displayName → name`. Every other attribute is stored losslessly in realm attributes named
//! after its schema's storage prefix and path:
//! - a singular simple attribute `title` → `scim.title` (one value);
//! - a sub-attribute of a singular complex one → `scim.name.middleName`;
//! - a multi-valued simple attribute → one value per element;
//! - a multi-valued complex attribute `emails` → `scim.emails`, one JSON object per element,
//!   plus `scim.emails.value`, every element's `value`, so filters on it use the host's index.
//!
//! `id`, `meta`, `groups` and `members` are not mapped: the host owns ids and metadata and
//! keeps memberships itself.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use crate::model::{Attribute, GroupModel, Kind, Model, UserModel};
use crate::path::AttrPath;
use crate::schema::{AttrDef, Mutability, ResourceSchema, SchemaDef, Type};

/// The realm attribute saying that a user's `active` is unassigned (a PATCH removed it). The
/// model keeps `enabled` as it was, since Keycloak's users always have one; `active` is
/// rendered absent until a write assigns it again.
pub const ACTIVE_UNASSIGNED: &str = "scim.active.unassigned";

/// Where a filter path lives in the realm model, for query planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id,
    Name,
    FirstName,
    LastName,
    Enabled,
    Created,
    LastModified,
    /// A realm attribute holding the values as text.
    Attr(String),
    /// A realm attribute holding one JSON object per element of a multi-valued complex
    /// attribute.
    Json(String),
    /// The ids of a user's groups or a group's members.
    Relation,
    /// Another sub-attribute of `groups` / `members`: known only from the relations.
    RelationDetail,
    /// `meta.resourceType`: the same for every resource of a kind.
    ResourceType,
    /// Nothing the host can compare (`meta.location`, `meta.version`).
    Unmapped,
}

fn is_relation(kind: Kind, path: &AttrPath) -> bool {
    !path.extension
        && match kind {
            Kind::User => path.attr == "groups",
            Kind::Group => path.attr == "members",
        }
}

/// The realm-model place of a resolved path.
pub fn target(rs: &ResourceSchema, path: &AttrPath) -> Target {
    let kind = rs.kind;
    if is_relation(kind, path) {
        return match path.sub.as_deref() {
            None | Some("value") => Target::Relation,
            _ => Target::RelationDetail,
        };
    }
    if !path.extension {
        match (kind, path.attr.as_str(), path.sub.as_deref()) {
            (_, "id", None) => return Target::Id,
            (_, "meta", Some("created")) => return Target::Created,
            (_, "meta", Some("lastModified")) => return Target::LastModified,
            (_, "meta", Some("resourceType")) => return Target::ResourceType,
            (_, "meta", _) => return Target::Unmapped,
            (Kind::User, "userName", None) | (Kind::Group, "displayName", None) => {
                return Target::Name;
            }
            (Kind::User, "name", Some("givenName")) => return Target::FirstName,
            (Kind::User, "name", Some("familyName")) => return Target::LastName,
            (Kind::User, "active", None) => return Target::Enabled,
            _ => {}
        }
    }
    let Some((_, def, sub)) = path.defs(rs) else {
        return Target::Unmapped;
    };
    if def.ty == Type::Complex && def.multi_valued {
        return match path.sub.as_deref() {
            Some("value") => Target::Attr(def.value_sub().map(|v| v.storage.clone()).unwrap_or_default()),
            _ => Target::Json(def.storage.clone()),
        };
    }
    if def.mutability == Mutability::ReadOnly || def.mutability == Mutability::WriteOnly {
        return Target::Unmapped;
    }
    Target::Attr(sub.unwrap_or(def).storage.clone())
}

/// Text form of a simple value as stored in a realm attribute.
fn to_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A stored text value, read back as the attribute's JSON type.
fn from_text<'a>(def: &AttrDef, text: &'a str) -> Node<'a> {
    match (def.ty, text) {
        (Type::Boolean, "true") => Node::Bool(true),
        (Type::Boolean, "false") => Node::Bool(false),
        (Type::Integer | Type::Decimal, t) if serde_json::from_str::<Number>(t).is_ok() => Node::Number(t),
        (_, t) => Node::Str(t),
    }
}

/// A document read from the realm model, borrowing its strings from the model and the
/// schemas: rendering serializes it directly, other steps convert it to a `serde_json` map.
#[derive(Debug, Clone)]
pub enum Node<'a> {
    Str(&'a str),
    Owned(String),
    Bool(bool),
    /// A JSON number, as its text.
    Number(&'a str),
    /// A stored JSON object (an element of a multi-valued complex attribute), already
    /// checked to be one.
    Json(&'a RawValue),
    Array(Vec<Node<'a>>),
    Object(Vec<(&'a str, Node<'a>)>),
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Str(t) => s.serialize_str(t),
            Node::Owned(t) => s.serialize_str(t),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Number(t) => match serde_json::from_str::<&RawValue>(t) {
                Ok(raw) => raw.serialize(s),
                Err(_) => s.serialize_str(t),
            },
            Node::Json(raw) => raw.serialize(s),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Node::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Node<'_> {
    pub fn to_value(&self) -> Value {
        match self {
            Node::Str(t) => Value::String(t.to_string()),
            Node::Owned(t) => Value::String(t.clone()),
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())),
            Node::Json(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect())
            }
        }
    }
}

/// A stored element of a multi-valued complex attribute, if it is a JSON object.
fn json_object(text: &str) -> Option<&RawValue> {
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    raw.get().starts_with('{').then_some(raw)
}

struct Sink {
    attributes: Vec<Attribute>,
}

impl Sink {
    fn put(&mut self, name: String, values: Vec<String>) {
        if !values.is_empty() {
            self.attributes.push(Attribute { name, values });
        }
    }
}

/// Maps one schema's attributes (the top level of `doc` for the core schema, the object
/// under the URN for an extension) to realm attributes.
fn schema_to_attributes(schema: &SchemaDef, obj: &Map<String, Value>, skip: &[(&str, Option<&str>)], sink: &mut Sink) {
    for def in &schema.attributes {
        if def.mutability == Mutability::ReadOnly || def.mutability == Mutability::WriteOnly {
            continue;
        }
        if skip.contains(&(def.name.as_str(), None)) {
            continue;
        }
        let Some(v) = obj.get(&def.name) else {
            continue;
        };
        match (def.ty, def.multi_valued, v) {
            (Type::Complex, true, Value::Array(items)) => {
                let json: Vec<String> = items.iter().map(Value::to_string).collect();
                if def.value_sub().is_some() {
                    let values: Vec<String> = items.iter().filter_map(|i| i.get("value").and_then(to_text)).collect();
                    sink.put(def.value_sub().map(|v| v.storage.clone()).unwrap_or_default(), values);
                }
                sink.put(def.storage.clone(), json);
            }
            (Type::Complex, false, Value::Object(o)) => {
                for sub in &def.sub_attributes {
                    if sub.mutability == Mutability::ReadOnly
                        || skip.contains(&(def.name.as_str(), Some(sub.name.as_str())))
                    {
                        continue;
                    }
                    if let Some(t) = o.get(&sub.name).and_then(to_text) {
                        sink.put(sub.storage.clone(), vec![t]);
                    }
                }
            }
            (_, true, Value::Array(items)) => {
                sink.put(def.storage.clone(), items.iter().filter_map(to_text).collect());
            }
            (_, false, v) => {
                if let Some(t) = to_text(v) {
                    sink.put(def.storage.clone(), vec![t]);
                }
            }
            _ => {}
        }
    }
}

/// Maps a normalized document (see `resource`) to the realm model.
pub fn to_model(rs: &ResourceSchema, doc: &Map<String, Value>) -> Model {
    let mut sink = Sink { attributes: Vec::new() };
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    if let (Some(ext), Some(def)) = (doc.get("externalId").and_then(to_text), rs.common_attr("externalId")) {
        sink.put(def.storage.clone(), vec![ext]);
    }
    let model = match rs.kind {
        Kind::User => {
            let skip =
                [("userName", None), ("active", None), ("name", Some("givenName")), ("name", Some("familyName"))];
            schema_to_attributes(&rs.core, doc, &skip, &mut sink);
            let name = doc.get("name");
            let sub = |s: &str| name.and_then(|n| n.get(s)).and_then(Value::as_str).map(str::to_string);
            let email = doc.get("emails").and_then(Value::as_array).and_then(|emails| {
                let primary = emails.iter().find(|e| e.get("primary") == Some(&Value::Bool(true)));
                primary.or(emails.first())?.get("value")?.as_str().map(str::to_string)
            });
            Model::User(UserModel {
                username: text("userName").unwrap_or_default(),
                email,
                first_name: sub("givenName"),
                last_name: sub("familyName"),
                enabled: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
                attributes: Vec::new(),
            })
        }
        Kind::Group => {
            schema_to_attributes(&rs.core, doc, &[("displayName", None), ("members", None)], &mut sink);
            Model::Group(GroupModel { name: text("displayName").unwrap_or_default(), attributes: Vec::new() })
        }
    };
    for (schema, _) in &rs.extensions {
        if let Some(Value::Object(obj)) = doc.get(&schema.id) {
            schema_to_attributes(schema, obj, &[], &mut sink);
        }
    }
    with_attributes(model, sink.attributes)
}

fn with_attributes(model: Model, attributes: Vec<Attribute>) -> Model {
    match model {
        Model::User(mut u) => {
            u.attributes = attributes;
            Model::User(u)
        }
        Model::Group(mut g) => {
            g.attributes = attributes;
            Model::Group(g)
        }
    }
}

/// A model's realm attributes by name: sorted once and searched by bisection, because
/// hashing every schema attribute's name cost more than the lookups it saved.
struct ByName<'a>(Vec<(&'a str, &'a [String])>);

impl<'a> ByName<'a> {
    fn of(attributes: &'a [Attribute]) -> ByName<'a> {
        let mut v: Vec<(&str, &[String])> = attributes.iter().map(|a| (a.name.as_str(), a.values.as_slice())).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        ByName(v)
    }

    fn get(&self, name: &str) -> Option<&'a [String]> {
        self.0.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|i| self.0[i].1)
    }
}

/// Reads one schema's attributes back from realm attributes, in schema order.
fn schema_view<'a>(
    schema: &'a SchemaDef,
    attrs: &ByName<'a>,
    out: &mut Vec<(&'a str, Node<'a>)>,
    columns: &dyn Fn(&str, Option<&str>) -> Option<Node<'a>>,
) {
    for def in &schema.attributes {
        if def.mutability == Mutability::WriteOnly {
            continue;
        }
        if let Some(v) = columns(&def.name, None) {
            out.push((&def.name, v));
            continue;
        }
        let node = match (def.ty, def.multi_valued) {
            (Type::Complex, true) => attrs.get(def.storage.as_str()).and_then(|items| {
                let elements: Vec<Node<'a>> = items.iter().filter_map(|t| json_object(t)).map(Node::Json).collect();
                (!elements.is_empty()).then_some(Node::Array(elements))
            }),
            (Type::Complex, false) => {
                let mut subs = Vec::new();
                for sub in &def.sub_attributes {
                    if let Some(v) = columns(&def.name, Some(&sub.name)) {
                        subs.push((sub.name.as_str(), v));
                    } else if let Some([t, ..]) = attrs.get(sub.storage.as_str()) {
                        subs.push((sub.name.as_str(), from_text(sub, t)));
                    }
                }
                (!subs.is_empty()).then_some(Node::Object(subs))
            }
            (_, true) => attrs
                .get(def.storage.as_str())
                .map(|items| Node::Array(items.iter().map(|t| from_text(def, t)).collect())),
            (_, false) => attrs.get(def.storage.as_str()).and_then(|v| v.first()).map(|t| from_text(def, t)),
        };
        if let Some(n) = node {
            out.push((&def.name, n));
        }
    }
}

/// The mapped attributes of a model, as a document without `schemas`, `id`, `meta` and
/// relations; extension attributes are objects under their URN.
pub fn view<'a>(rs: &'a ResourceSchema, model: &'a Model) -> Vec<(&'a str, Node<'a>)> {
    let attrs = ByName::of(model.attributes());
    let mut doc = Vec::new();
    if let Some(def) = rs.common_attr("externalId")
        && let Some([ext, ..]) = attrs.get(def.storage.as_str())
    {
        doc.push(("externalId", Node::Str(ext)));
    }
    match model {
        Model::User(u) => {
            let columns = |attr: &str, sub: Option<&str>| -> Option<Node<'a>> {
                match (attr, sub) {
                    ("userName", None) => Some(Node::Str(&u.username)),
                    ("active", None) => attrs.get(ACTIVE_UNASSIGNED).is_none().then_some(Node::Bool(u.enabled)),
                    ("name", Some("givenName")) => u.first_name.as_deref().map(Node::Str),
                    ("name", Some("familyName")) => u.last_name.as_deref().map(Node::Str),
                    _ => None,
                }
            };
            schema_view(&rs.core, &attrs, &mut doc, &columns);
            // A user whose email was set outside SCIM (no `scim.emails`) still shows it.
            if !doc.iter().any(|(k, _)| *k == "emails")
                && let Some(email) = &u.email
            {
                let e = Node::Object(vec![("value", Node::Str(email)), ("primary", Node::Bool(true))]);
                doc.push(("emails", Node::Array(vec![e])));
            }
        }
        Model::Group(g) => {
            let columns = |attr: &str, sub: Option<&str>| -> Option<Node<'a>> {
                match (attr, sub) {
                    ("displayName", None) => Some(Node::Str(&g.name)),
                    _ => None,
                }
            };
            schema_view(&rs.core, &attrs, &mut doc, &columns);
        }
    }
    for (schema, _) in &rs.extensions {
        let mut obj = Vec::new();
        schema_view(schema, &attrs, &mut obj, &|_, _| None);
        if !obj.is_empty() {
            doc.push((&schema.id, Node::Object(obj)));
        }
    }
    doc
}

/// Maps the realm model back to a normalized document: the mapped attributes only, without
/// `schemas`, `id`, `meta` and relations.
pub fn from_model(rs: &ResourceSchema, model: &Model) -> Map<String, Value> {
    view(rs, model).iter().map(|(k, v)| (k.to_string(), v.to_value())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, Schemas};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_user_attribute_round_trips() {
        let s = Schemas::default_set();
        let doc = obj(json!({
            "externalId": "ext-1",
            "userName": "bjensen",
            "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara",
                     "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "profileUrl": "https://login.example.com/bjensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "preferredLanguage": "en-US",
            "locale": "en-US",
            "timezone": "America/Los_Angeles",
            "active": false,
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true, "display": "B"},
                       {"value": "babs@jensen.org", "type": "home"}],
            "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
            "addresses": [{"streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA",
                           "postalCode": "91608", "country": "US", "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                           "type": "work", "primary": true}],
            "entitlements": [{"value": "e1"}],
            "roles": [{"value": "r1", "primary": false}],
            "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
            ENTERPRISE_USER: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                              "division": "Theme Park", "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"}}
        }));
        let model = to_model(&s.user, &doc);
        let Model::User(u) = &model else { panic!("user") };
        assert_eq!(u.username, "bjensen");
        assert_eq!(u.email.as_deref(), Some("bjensen@example.com"));
        assert_eq!(u.first_name.as_deref(), Some("Barbara"));
        assert!(!u.enabled);
        let back = from_model(&s.user, &model);
        assert_eq!(Value::Object(back), Value::Object(doc));
    }

    #[test]
    fn multi_valued_values_are_indexed_separately() {
        let s = Schemas::default_set();
        let doc = obj(json!({"userName": "u", "emails": [{"value": "a@x"}, {"value": "b@x"}]}));
        let model = to_model(&s.user, &doc);
        let idx = model.attributes().iter().find(|a| a.name == "scim.emails.value").expect("indexed");
        assert_eq!(idx.values, vec!["a@x", "b@x"]);
    }

    #[test]
    fn targets_of_filter_paths() {
        let s = Schemas::default_set();
        let t = |p: &str| target(&s.user, &AttrPath::parse(&s.user, p).expect("path"));
        assert_eq!(t("userName"), Target::Name);
        assert_eq!(t("emails.value"), Target::Attr("scim.emails.value".into()));
        assert_eq!(t("emails.type"), Target::Json("scim.emails".into()));
        assert_eq!(t("groups.value"), Target::Relation);
        assert_eq!(t("groups.display"), Target::RelationDetail);
        assert_eq!(t("meta.created"), Target::Created);
        assert_eq!(
            t(&format!("{ENTERPRISE_USER}:manager.value")),
            Target::Attr("scim.enterprise.manager.value".into())
        );
    }
}
