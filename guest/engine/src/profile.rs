//! A realm's own schemas and attribute mapping, from its configuration:
//!
//! - `extensions`: extension schemas the realm declares (RFC 7643 §7 attribute definitions),
//!   added to `/Schemas` and to the resource type's `schemaExtensions`, then validated,
//!   filtered and patched like the standard ones;
//! - `profile`: Keycloak's user profile (`attributes`, and scimd's `groupAttributes` for
//!   groups): each attribute annotated with `scim.schema.attribute` (or Keycloak's
//!   `kc.scim.schema.attribute`) is where that SCIM attribute is stored, and its
//!   `validations` apply to SCIM writes.
//!
//! With a profile, SCIM attributes it does not map (and that are not one of the mapped
//! columns: `userName`, `name.givenName`, `name.familyName`, `emails`, `active`, a group's
//! `displayName`) are kept under the default `scim.` names in `entra` mode and refused in
//! `strict` mode.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::Kind;
use crate::path::AttrPath;
use crate::schema::{AttrDef, Mutability, ResourceSchema, Returned, SchemaDef, Schemas, Type, Uniqueness};

/// A regular expression, compiled when the configuration is read so that an invalid one is
/// the configuration's error, not every later write's.
#[derive(Debug, Clone)]
pub struct Pattern(regex_lite::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// A validation of a profile attribute (Keycloak's validators that apply to SCIM values).
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    Length { min: Option<usize>, max: Option<usize> },
    Pattern { pattern: Pattern, message: Option<String> },
    Email,
    Options(Vec<String>),
    Integer { min: Option<i64>, max: Option<i64> },
    Uri,
}

impl Validation {
    /// Checks a text value; the error names the attribute.
    pub fn check(&self, at: &crate::resource::At<'_>, value: &str) -> Result<()> {
        let fail = |why: String| Err(Error::InvalidValue(format!("'{at}' {why}")));
        match self {
            Validation::Length { min, max } => {
                let n = value.chars().count();
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    return fail(format!(
                        "must be {}{} characters long",
                        min.map(|m| format!("at least {m}")).unwrap_or_default(),
                        max.map(|m| format!("{}at most {m}", if min.is_some() { " and " } else { "" }))
                            .unwrap_or_default()
                    ));
                }
            }
            Validation::Pattern { pattern, message } => {
                if !pattern.0.is_match(value) {
                    return fail(
                        message.clone().unwrap_or_else(|| format!("must match the pattern {}", pattern.0.as_str())),
                    );
                }
            }
            Validation::Email => {
                let ok =
                    value.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                        && !value.contains(char::is_whitespace);
                if !ok {
                    return fail("must be an email address".into());
                }
            }
            Validation::Options(options) => {
                if !options.iter().any(|o| o == value) {
                    return fail(format!("must be one of {}", options.join(", ")));
                }
            }
            Validation::Integer { min, max } => match value.parse::<i64>() {
                Ok(n) if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) => {
                    return fail(format!(
                        "must be an integer between {} and {}",
                        min.unwrap_or(i64::MIN),
                        max.unwrap_or(i64::MAX)
                    ));
                }
                Ok(_) => {}
                Err(_) => return fail("must be an integer".into()),
            },
            Validation::Uri => {
                if !value.contains(':') || value.contains(char::is_whitespace) {
                    return fail("must be a URI".into());
                }
            }
        }
        Ok(())
    }
}

fn number<T: std::str::FromStr>(v: &Value) -> Option<T> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn validations(at: &str, v: Option<&Value>) -> Result<Vec<Validation>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Object(m) = v else {
        return Err(Error::Config(format!("the validations of '{at}' must be an object")));
    };
    let mut out = Vec::new();
    for (name, args) in m {
        let arg = |k: &str| args.get(k);
        out.push(match name.as_str() {
            "length" => Validation::Length { min: arg("min").and_then(number), max: arg("max").and_then(number) },
            "pattern" => {
                let pattern = arg("pattern")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::Config(format!("the pattern validation of '{at}' has no pattern")))?;
                let re = regex_lite::Regex::new(pattern).map_err(|e| {
                    Error::Config(format!("the pattern of '{at}' is not a valid regular expression: {e}"))
                })?;
                Validation::Pattern {
                    pattern: Pattern(re),
                    message: arg("error-message").and_then(Value::as_str).map(str::to_string),
                }
            }
            "email" => Validation::Email,
            "options" => Validation::Options(
                arg("options")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
            ),
            "integer" => Validation::Integer { min: arg("min").and_then(number), max: arg("max").and_then(number) },
            "uri" => Validation::Uri,
            // Validators that concern Keycloak's own forms (person-name-prohibited-characters,
            // up-username-not-idn-homograph, …) do not apply to SCIM values.
            _ => continue,
        });
    }
    Ok(out)
}

fn type_of(at: &str, t: Option<&Value>) -> Result<Type> {
    Ok(match t.and_then(Value::as_str).unwrap_or("string") {
        "string" => Type::String,
        "boolean" => Type::Boolean,
        "integer" => Type::Integer,
        "decimal" => Type::Decimal,
        "dateTime" => Type::DateTime,
        "reference" => Type::Reference,
        "binary" => Type::Binary,
        "complex" => Type::Complex,
        other => return Err(Error::Config(format!("'{at}' has an unknown type '{other}'"))),
    })
}

/// An RFC 7643 §7 attribute definition.
fn attribute(at: &str, v: &Value, nested: bool) -> Result<AttrDef> {
    let m = v.as_object().ok_or_else(|| Error::Config(format!("an attribute of {at} must be an object")))?;
    let name = m
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("an attribute of {at} has no name")))?;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Error::Config(format!("'{name}' in {at} is not a valid attribute name")));
    }
    let here = format!("{at}:{name}");
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut def =
        AttrDef::new(name, type_of(&here, m.get("type"))?, m.get("description").and_then(Value::as_str).unwrap_or(""));
    def.multi_valued = flag("multiValued");
    def.required = flag("required");
    def.case_exact = flag("caseExact");
    def.mutability = match m.get("mutability").and_then(Value::as_str).unwrap_or("readWrite") {
        "readWrite" => Mutability::ReadWrite,
        "immutable" => Mutability::Immutable,
        "writeOnly" => Mutability::WriteOnly,
        "readOnly" => Mutability::ReadOnly,
        other => return Err(Error::Config(format!("'{here}' has an unknown mutability '{other}'"))),
    };
    def.returned = match m.get("returned").and_then(Value::as_str).unwrap_or("default") {
        "default" => Returned::Default,
        "always" => Returned::Always,
        "request" => Returned::Request,
        "never" => Returned::Never,
        other => return Err(Error::Config(format!("'{here}' has an unknown returned '{other}'"))),
    };
    // scimd enforces uniqueness only where it keeps a unique index (userName, a group's
    // displayName): a declared attribute is advertised as `none` whatever it asks for, rather
    // than with a promise that would not be kept.
    match m.get("uniqueness").and_then(Value::as_str).unwrap_or("none") {
        "none" | "server" | "global" => def.uniqueness = Uniqueness::None,
        other => return Err(Error::Config(format!("'{here}' has an unknown uniqueness '{other}'"))),
    }
    let strings = |k: &str| -> Vec<String> {
        m.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    def.canonical_values = strings("canonicalValues");
    def.reference_types = strings("referenceTypes");
    if def.ty == Type::Complex {
        if nested {
            return Err(Error::Config(format!("'{here}': sub-attributes cannot be complex (RFC 7643 §2.3.8)")));
        }
        let subs = m
            .get("subAttributes")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Config(format!("'{here}' is complex and needs subAttributes")))?;
        def.sub_attributes = subs.iter().map(|s| attribute(&here, s, true)).collect::<Result<_>>()?;
    }
    Ok(def)
}

/// An extension schema a realm declares:
/// `{"schema": urn, "resourceType": "User"|"Group", "name", "description", "required",
///   "attributes": [RFC 7643 §7 attribute definitions]}`.
fn extension(v: &Value) -> Result<(Kind, SchemaDef, bool)> {
    let m = v.as_object().ok_or_else(|| Error::Config("an extension must be an object".into()))?;
    let urn = m
        .get("schema")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config("an extension needs 'schema' (its URN)".into()))?;
    if !crate::path::looks_like_urn(urn) || urn.contains(char::is_whitespace) {
        return Err(Error::Config(format!("'{urn}' is not a schema URN")));
    }
    let kind = match m.get("resourceType").and_then(Value::as_str).unwrap_or("User") {
        "User" => Kind::User,
        "Group" => Kind::Group,
        other => {
            return Err(Error::Config(format!("the extension '{urn}' extends '{other}'; it can extend User or Group")));
        }
    };
    let attrs = m
        .get("attributes")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Config(format!("the extension '{urn}' has no attributes")))?;
    let attributes = attrs.iter().map(|a| attribute(urn, a, false)).collect::<Result<Vec<_>>>()?;
    // `urn:acme:params:scim:schemas:extension:hr:1.0:User` is stored as `scim.ext.acme.hr.*`.
    let words: Vec<String> = urn
        .split(':')
        .filter(|w| !w.is_empty() && w.parse::<f64>().is_err())
        .filter(|w| !["urn", "ietf", "params", "scim", "schemas", "extension", "User", "Group"].contains(w))
        .map(str::to_lowercase)
        .collect();
    let short = if words.is_empty() { "ext".to_string() } else { words.join(".") };
    let name = m.get("name").and_then(Value::as_str).unwrap_or(&short);
    let description = m.get("description").and_then(Value::as_str).unwrap_or(name);
    let prefix = match m.get("storagePrefix").and_then(Value::as_str) {
        Some(p) if !p.trim().is_empty() && !p.contains(char::is_whitespace) => p.to_string(),
        Some(p) => return Err(Error::Config(format!("the storagePrefix of '{urn}' ('{p}') must be a non-empty word"))),
        None => format!("scim.ext.{short}."),
    };
    Ok((
        kind,
        SchemaDef::new(urn, name, description, &prefix, attributes),
        m.get("required").and_then(Value::as_bool).unwrap_or(false),
    ))
}

/// The SCIM paths each resource type keeps in realm-model columns, mapped whatever the profile.
fn column_mapped(kind: Kind, path: &AttrPath) -> Option<&'static str> {
    if path.extension {
        return None;
    }
    match (kind, path.attr.as_str(), path.sub.as_deref()) {
        (Kind::User, "userName", None) => Some("username"),
        (Kind::User, "name", Some("givenName")) => Some("firstName"),
        (Kind::User, "name", Some("familyName")) => Some("lastName"),
        (Kind::User, "emails", _) => Some("email"),
        (Kind::User, "active", None) => Some("enabled"),
        (Kind::Group, "displayName", None) => Some("name"),
        // Memberships are the realm's own relations, kept by the host, and the password its
        // credential.
        (Kind::User, "groups", _) => Some("groups"),
        (Kind::User, "password", None) => Some("password"),
        (Kind::Group, "members", _) => Some("members"),
        _ => None,
    }
}

/// The SCIM attribute behind a column's profile name, so that the validations Keycloak's
/// default profile declares for `username`, `email`, `firstName` and `lastName` apply to
/// SCIM writes even without a `scim.schema.attribute` annotation.
fn column_attribute(kind: Kind, name: &str) -> Option<&'static str> {
    match (kind, name) {
        (Kind::User, "username") => Some("userName"),
        (Kind::User, "firstName") => Some("name.givenName"),
        (Kind::User, "lastName") => Some("name.familyName"),
        (Kind::User, "email") => Some("emails.value"),
        (Kind::Group, "name") => Some("displayName"),
        _ => None,
    }
}

/// Applies profile attributes to a resource type's schemas: storage names and validations.
fn apply(rs: &mut ResourceSchema, attributes: &[Value], lenient: bool) -> Result<()> {
    if !attributes.is_empty() {
        for schema in std::iter::once(&mut rs.core).chain(rs.extensions.iter_mut().map(|(s, _)| s)) {
            for def in &mut schema.attributes {
                def.mapped = false;
                for sub in &mut def.sub_attributes {
                    sub.mapped = false;
                }
            }
        }
    }
    for a in attributes {
        let name = a
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Config("a profile attribute has no name".into()))?;
        let annotations = a.get("annotations");
        let annotated = ["scim.schema.attribute", "kc.scim.schema.attribute"]
            .iter()
            .find_map(|k| annotations.and_then(|an| an.get(*k)).and_then(Value::as_str));
        // Attributes with no SCIM counterpart are Keycloak's business; their validators
        // (Java regular expressions, say) are not read.
        let Some(target) = annotated.or_else(|| column_attribute(rs.kind, name)) else {
            continue;
        };
        let checks = validations(name, a.get("validations"))?;
        let path =
            AttrPath::parse(rs, target).map_err(|m| Error::Config(format!("profile attribute '{name}': {m}")))?;
        if let Some(column) = column_mapped(rs.kind, &path) {
            if column != name {
                return Err(Error::Config(format!(
                    "profile attribute '{name}' cannot take '{target}': it is the realm's '{column}'"
                )));
            }
            if let Some(def) = target_def(rs, &path) {
                def.validations = checks;
            }
            continue;
        }
        let multivalued = a.get("multivalued").and_then(Value::as_bool).unwrap_or(false);
        let def = target_def(rs, &path)
            .ok_or_else(|| Error::Config(format!("profile attribute '{name}': '{target}' names nothing")))?;
        if def.mutability == Mutability::ReadOnly {
            return Err(Error::Config(format!(
                "profile attribute '{name}': '{target}' is read-only, the server's own"
            )));
        }
        if def.ty == Type::Complex {
            return Err(Error::Config(format!(
                "profile attribute '{name}': '{target}' is complex; map its sub-attributes one by one"
            )));
        }
        if multivalued != def.multi_valued {
            return Err(Error::Config(format!(
                "profile attribute '{name}' is {}multivalued but '{target}' is {}",
                if multivalued { "" } else { "not " },
                if def.multi_valued { "multi-valued" } else { "single-valued" }
            )));
        }
        def.storage = name.to_string();
        def.validations = checks;
        def.mapped = true;
    }
    // Without a profile every attribute is mapped by default; with one, only columns and
    // profile attributes are, and the rest follow the compatibility setting.
    if !attributes.is_empty() {
        let kind = rs.kind;
        let mark = |schema: &mut SchemaDef, ext: bool| {
            for def in &mut schema.attributes {
                let path = AttrPath { schema: schema.id.clone(), extension: ext, attr: def.name.clone(), sub: None };
                let columns = column_mapped(kind, &path).is_some();
                def.mapped |= columns || lenient;
                for sub in &mut def.sub_attributes {
                    let sp = AttrPath { sub: Some(sub.name.clone()), ..path.clone() };
                    sub.mapped |= columns || lenient || column_mapped(kind, &sp).is_some();
                }
                if def.ty == Type::Complex && def.sub_attributes.iter().any(|s| s.mapped) {
                    def.mapped = true;
                }
            }
        };
        mark(&mut rs.core, false);
        for (ext, _) in &mut rs.extensions {
            mark(ext, true);
        }
    }
    Ok(())
}

/// The definition a path ends at, to change.
fn target_def<'a>(rs: &'a mut ResourceSchema, path: &AttrPath) -> Option<&'a mut AttrDef> {
    let attr = if path.extension {
        let schema = rs.extensions.iter_mut().map(|(s, _)| s).find(|s| s.id == path.schema)?;
        schema.attributes.iter_mut().find(|a| a.name == path.attr)?
    } else {
        // `externalId` is a common attribute (RFC 7643 §3.1), not one of the core schema's.
        let ResourceSchema { core, common, .. } = rs;
        core.attributes.iter_mut().chain(common.iter_mut()).find(|a| a.name == path.attr)?
    };
    match &path.sub {
        None => Some(attr),
        Some(s) => attr.sub_attributes.iter_mut().find(|a| &a.name == s),
    }
}

/// The schemas of a realm: the standard ones, its extensions, its profile's mapping.
pub fn schemas(extensions: Option<&Value>, profile: Option<&Map<String, Value>>, lenient: bool) -> Result<Schemas> {
    let mut schemas = Schemas::default_set();
    if let Some(exts) = extensions {
        let list = exts.as_array().ok_or_else(|| Error::Config("'extensions' must be an array".into()))?;
        for e in list {
            let (kind, def, required) = extension(e)?;
            let rs = match kind {
                Kind::User => &mut schemas.user,
                Kind::Group => &mut schemas.group,
            };
            if rs.schema(&def.id).is_some() {
                return Err(Error::Config(format!("the schema '{}' is declared twice", def.id)));
            }
            rs.extensions.push((def, required));
        }
    }
    if let Some(p) = profile {
        let list = |k: &str| -> Result<Vec<Value>> {
            match p.get(k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => Ok(a.clone()),
                Some(_) => Err(Error::Config(format!("the profile's '{k}' must be an array"))),
            }
        };
        apply(&mut schemas.user, &list("attributes")?, lenient)?;
        apply(&mut schemas.group, &list("groupAttributes")?, lenient)?;
    }
    distinct_storage(&schemas.user)?;
    distinct_storage(&schemas.group)?;
    Ok(schemas)
}

/// Refuses a configuration in which two SCIM attributes would be stored under one name (two
/// versions of an extension, a profile name that is another attribute's default name): they
/// would silently overwrite each other.
fn distinct_storage(rs: &ResourceSchema) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    // Where the engine keeps that a user's `active` is unassigned: no attribute may be there.
    seen.insert(crate::mapping::ACTIVE_UNASSIGNED, "the engine's record of an unassigned 'active'".into());
    let schemas = std::iter::once((&rs.core, false)).chain(rs.extensions.iter().map(|(s, _)| (s, true)));
    let mut defs: Vec<(String, &AttrDef)> = rs.common.iter().map(|d| (d.name.clone(), d)).collect();
    for (schema, ext) in schemas {
        for def in &schema.attributes {
            let at = if ext { format!("{}:{}", schema.id, def.name) } else { def.name.clone() };
            defs.extend(def.sub_attributes.iter().map(|sub| (format!("{at}.{}", sub.name), sub)));
            defs.push((at, def));
        }
    }
    for (at, def) in defs {
        if let Some(other) = seen.insert(&def.storage, at.clone()) {
            return Err(Error::Config(format!(
                "'{other}' and '{at}' would both be stored as '{}'; give one another name (a profile \
                 attribute, or the extension's storagePrefix)",
                def.storage
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_attribute_may_be_stored_where_the_engine_records_an_unassigned_active() {
        let e = crate::Engine::new(
            &json!({"profile": {"attributes": [
            {"name": crate::mapping::ACTIVE_UNASSIGNED, "annotations": {"scim.schema.attribute": "title"}}]}})
            .to_string(),
        );
        let detail = e.err().map(|e| e.detail()).unwrap_or_default();
        assert!(detail.contains("unassigned 'active'"), "{detail}");
    }
    use crate::resource::At;
    use serde_json::json;

    const HR: &str = "urn:acme:params:scim:schemas:extension:hr:1.0:User";

    fn hr() -> Value {
        json!([{"schema": HR, "name": "HR", "attributes": [
            {"name": "badge", "type": "string"},
            {"name": "grade", "type": "integer"},
            {"name": "skills", "type": "string", "multiValued": true},
            {"name": "office", "type": "complex", "subAttributes": [{"name": "building", "type": "string"}, {"name": "floor", "type": "integer"}]}
        ]}])
    }

    #[test]
    fn extensions_join_their_resource_type() {
        let s = schemas(Some(&hr()), None, true).expect("valid");
        let ext = s.user.extension(HR).expect("declared");
        assert_eq!(ext.attr("badge").map(|a| a.storage.as_str()), Some("scim.ext.acme.hr.badge"));
        assert_eq!(ext.attr("office").and_then(|a| a.sub("floor")).map(|a| a.ty), Some(Type::Integer));
    }

    #[test]
    fn profile_annotations_set_storage_names_and_validations() {
        let profile = json!({"attributes": [
            {"name": "employeeNumber", "annotations": {"kc.scim.schema.attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"},
             "validations": {"length": {"max": 8}}},
            {"name": "badgeId", "annotations": {"scim.schema.attribute": format!("{HR}:badge")}},
            {"name": "username", "annotations": {"scim.schema.attribute": "userName"}}
        ]});
        let s = schemas(Some(&hr()), profile.as_object(), false).expect("valid");
        let ent = s.user.extension(crate::schema::ENTERPRISE_USER).expect("enterprise");
        let en = ent.attr("employeeNumber").expect("attr");
        assert_eq!(en.storage, "employeeNumber");
        assert!(en.mapped);
        assert_eq!(en.validations.len(), 1);
        assert!(!ent.attr("costCenter").expect("attr").mapped, "unmapped in strict mode");
        assert!(s.user.core_attr("userName").expect("attr").mapped, "columns stay mapped");
        assert_eq!(s.user.extension(HR).and_then(|e| e.attr("badge")).map(|a| a.storage.as_str()), Some("badgeId"));
    }

    #[test]
    fn bad_declarations_are_config_errors() {
        for profile in [
            json!({"attributes": [{"name": "x", "annotations": {"scim.schema.attribute": "nosuch"}}]}),
            json!({"attributes": [{"name": "x", "annotations": {"scim.schema.attribute": "userName"}}]}),
            json!({"attributes": [{"name": "x", "multivalued": true, "annotations": {"scim.schema.attribute": "title"}}]}),
            json!({"attributes": [{"name": "x", "annotations": {"scim.schema.attribute": "name"}}]}),
            json!({"attributes": [{"name": "x", "annotations": {"scim.schema.attribute": "id"}}]}),
            json!({"attributes": [{"name": "x", "annotations": {"scim.schema.attribute": "meta.created"}}]}),
        ] {
            assert!(matches!(schemas(None, profile.as_object(), true), Err(Error::Config(_))), "{profile}");
        }
        assert!(schemas(Some(&json!([{"schema": "not-a-urn", "attributes": []}])), None, true).is_err());
        assert!(schemas(Some(&json!([{"schema": HR, "attributes": [{"name": "9x"}]}])), None, true).is_err());
    }

    #[test]
    fn validations_check_values() {
        let v = validations("x", Some(&json!({"length": {"min": 2, "max": 3}, "pattern": {"pattern": "^[A-Z]+$"}, "options": {"options": ["AB", "ABC"]}}))).expect("valid");
        for check in &v {
            assert!(check.check(&At::Path("x"), "AB").is_ok());
        }
        assert!(v[0].check(&At::Path("x"), "ABCD").is_err());
        assert!(v[1].check(&At::Path("x"), "ab").is_err());
        assert!(Validation::Email.check(&At::Path("x"), "a@b.c").is_ok());
        assert!(Validation::Email.check(&At::Path("x"), "a@b").is_err());
    }

    fn engine(config: Value) -> crate::Engine {
        crate::Engine::new(&config.to_string()).expect("valid configuration")
    }

    fn ctx() -> crate::model::Context {
        crate::model::Context { realm: "r".into(), base_url: "http://h/scim/v2".into() }
    }

    #[test]
    fn an_invalid_pattern_is_a_configuration_error_not_a_later_write_error() {
        let profile = json!({"attributes": [{"name": "employeeNumber", "validations": {"pattern": {"pattern": "([0-9"}},
            "annotations": {"scim.schema.attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}}]});
        match schemas(None, profile.as_object(), true) {
            Err(Error::Config(m)) => assert!(m.contains("not a valid regular expression"), "{m}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn column_validations_of_the_profile_apply_to_scim_writes() {
        // Keycloak's default profile: `username` and `email` carry validations, no annotation.
        let e = engine(json!({"profile": {"attributes": [
            {"name": "username", "validations": {"length": {"min": 3, "max": 255}}},
            {"name": "email", "validations": {"email": {}}}]}}));
        let user = |body: Value| e.create(&ctx(), Kind::User, &body.to_string());
        let short = user(json!({"schemas": [crate::schema::CORE_USER], "userName": "ab"}));
        assert!(matches!(&short, Err(Error::InvalidValue(m)) if m.contains("userName")), "{short:?}");
        let bad_mail =
            user(json!({"schemas": [crate::schema::CORE_USER], "userName": "abc", "emails": [{"value": "nope"}]}));
        assert!(matches!(&bad_mail, Err(Error::InvalidValue(m)) if m.contains("email")), "{bad_mail:?}");
        assert!(
            user(json!({"schemas": [crate::schema::CORE_USER], "userName": "abc", "emails": [{"value": "a@b.c"}]}))
                .is_ok()
        );
    }

    #[test]
    fn two_attributes_stored_under_one_name_are_refused() {
        let v2 = HR.replace("1.0", "2.0");
        let exts = json!([{"schema": HR, "attributes": [{"name": "badge"}]}, {"schema": v2, "attributes": [{"name": "badge"}]}]);
        assert!(matches!(schemas(Some(&exts), None, true), Err(Error::Config(m)) if m.contains("storagePrefix")));
        let exts = json!([{"schema": HR, "attributes": [{"name": "badge"}]},
            {"schema": v2, "storagePrefix": "hr2.", "attributes": [{"name": "badge"}]}]);
        assert!(schemas(Some(&exts), None, true).is_ok());
        let profile = json!({"attributes": [
            {"name": "x", "annotations": {"scim.schema.attribute": "title"}},
            {"name": "x", "annotations": {"scim.schema.attribute": "nickName"}}]});
        assert!(matches!(schemas(None, profile.as_object(), true), Err(Error::Config(m)) if m.contains("'x'")));
    }

    #[test]
    fn declared_uniqueness_is_advertised_as_none_as_scimd_does_not_enforce_it() {
        let exts = json!([{"schema": HR, "attributes": [{"name": "badge", "uniqueness": "server"}]}]);
        let s = schemas(Some(&exts), None, true).expect("valid");
        let badge = s.user.extension(HR).and_then(|e| e.attr("badge")).map(|a| a.to_json()).unwrap_or_default();
        assert_eq!(badge["uniqueness"], "none");
        let exts = json!([{"schema": HR, "attributes": [{"name": "badge", "uniqueness": "sometimes"}]}]);
        assert!(matches!(schemas(Some(&exts), None, true), Err(Error::Config(m)) if m.contains("uniqueness")));
    }

    #[test]
    fn validators_of_attributes_without_a_scim_counterpart_are_not_read() {
        // Keycloak's Java patterns on attributes SCIM does not map must not stop the profile.
        let profile =
            json!({"attributes": [{"name": "phone", "validations": {"pattern": {"pattern": "(?<=x)\\p{L}++"}}}]});
        assert!(schemas(None, profile.as_object(), true).is_ok());
    }

    #[test]
    fn a_strict_group_profile_keeps_members_writable() {
        let e = engine(json!({"compatibility": "strict", "profile": {"attributes": [], "groupAttributes": [
            {"name": "group_external_id", "annotations": {"scim.schema.attribute": "externalId"}}]}}));
        let body = json!({"schemas": [crate::schema::CORE_GROUP], "displayName": "Ops", "members": [{"value": "u1"}]});
        let w = e.create(&ctx(), Kind::Group, &body.to_string()).expect("members are the realm's own relation");
        assert_eq!(w.members.map(|m| m.add.len()), Some(1));
    }

    #[test]
    fn a_strict_profile_leaves_unmapped_attributes_out_of_schemas() {
        let e = engine(json!({"compatibility": "strict", "profile": {"attributes": [
            {"name": "employeeNumber", "annotations": {"scim.schema.attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}}]}}));
        let user = e.schemas().user.core.to_json(None);
        let names: Vec<&str> =
            user["attributes"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
        for kept in ["userName", "groups", "emails", "password", "active"] {
            assert!(names.contains(&kept), "{kept} in {names:?}");
        }
        assert!(!names.contains(&"title") && !names.contains(&"nickName"), "{names:?}");
        let name = user["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == "name")
            .cloned()
            .unwrap_or_default();
        let subs: Vec<&str> =
            name["subAttributes"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(subs, ["familyName", "givenName"]);
        let enterprise =
            e.schemas().user.extension(crate::schema::ENTERPRISE_USER).map(|s| s.to_json(None)).unwrap_or_default();
        let names: Vec<&str> =
            enterprise["attributes"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, ["employeeNumber"]);
    }
}
