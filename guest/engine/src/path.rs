//! Attribute paths (RFC 7644 §3.10: `[URI ":"] ATTRNAME *1subAttr`), resolved against a
//! resource's schemas. Names are matched case-insensitively (RFC 7643 §2.1) and kept in their
//! canonical spelling, so every later step compares canonical names only.

use crate::schema::{AttrDef, ResourceSchema, SchemaDef};

/// A resolved attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The URN of the schema that defines the attribute (the core schema for `id`,
    /// `externalId` and `meta`).
    pub schema: String,
    /// Whether the schema is an extension: its attributes live under the URN key in JSON.
    pub extension: bool,
    /// The attribute's canonical name.
    pub attr: String,
    /// The sub-attribute's canonical name.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Resolves `text` (no filter brackets) for a resource type. The error is a sentence for
    /// the caller to wrap in the right SCIM error.
    pub fn parse(rs: &ResourceSchema, text: &str) -> Result<AttrPath, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an attribute path is empty".into());
        }
        let (schema, rest) = match rs.split_urn(text) {
            Some(split) => split,
            None if looks_like_urn(text) => {
                return Err(format!("'{text}' names an unknown schema"));
            }
            None => (&rs.core, text),
        };
        let (attr_name, sub_name) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        check_name(attr_name, text)?;
        let extension = !std::ptr::eq(schema, &rs.core);
        let def = if extension { schema.attr(attr_name) } else { rs.core_attr(attr_name) }
            .ok_or_else(|| format!("'{attr_name}' is not an attribute of {}", schema.id))?;
        let sub = match sub_name {
            None => None,
            Some(s) => {
                check_name(s, text)?;
                let sd = def.sub(s).ok_or_else(|| format!("'{s}' is not a sub-attribute of '{}'", def.name))?;
                Some(sd.name.clone())
            }
        };
        Ok(AttrPath { schema: schema.id.clone(), extension, attr: def.name.clone(), sub })
    }

    /// `parse`, and when lenient, an unqualified name that is not a core attribute resolves
    /// to the one extension attribute of that name (Entra sends `manager`, `employeeNumber`).
    pub fn resolve(rs: &ResourceSchema, text: &str, lenient: bool) -> Result<AttrPath, String> {
        let strict = AttrPath::parse(rs, text);
        if strict.is_ok() || !lenient || looks_like_urn(text.trim()) {
            return strict;
        }
        let mut found = rs.extensions.iter().map(|(s, _)| s).filter_map(|s| {
            let path = format!("{}:{}", s.id, text.trim());
            AttrPath::parse(rs, &path).ok()
        });
        match (found.next(), found.next()) {
            (Some(p), None) => Ok(p),
            _ => strict,
        }
    }

    /// A path to a sub-attribute, relative to `parent` (inside a `valuePath` filter).
    pub fn parse_relative(parent: &AttrPath, def: &AttrDef, text: &str) -> Result<AttrPath, String> {
        let text = text.trim();
        check_name(text, text)?;
        let sd = def.sub(text).ok_or_else(|| format!("'{text}' is not a sub-attribute of '{}'", def.name))?;
        Ok(AttrPath { sub: Some(sd.name.clone()), ..parent.clone() })
    }

    /// The same path without its sub-attribute.
    pub fn parent(&self) -> AttrPath {
        AttrPath { sub: None, ..self.clone() }
    }

    /// The schema, attribute and sub-attribute definitions.
    pub fn defs<'a>(&self, rs: &'a ResourceSchema) -> Option<(&'a SchemaDef, &'a AttrDef, Option<&'a AttrDef>)> {
        let schema = rs.schema(&self.schema)?;
        let attr = if self.extension { schema.attr(&self.attr) } else { rs.core_attr(&self.attr) }?;
        let sub = match &self.sub {
            Some(s) => Some(attr.sub(s)?),
            None => None,
        };
        Some((schema, attr, sub))
    }

    /// The definition the path ends at.
    pub fn leaf<'a>(&self, rs: &'a ResourceSchema) -> Option<&'a AttrDef> {
        let (_, a, s) = self.defs(rs)?;
        Some(s.unwrap_or(a))
    }

    /// `attr` or `attr.sub`, without the URN.
    pub fn short(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}.{}", self.attr, s),
            None => self.attr.clone(),
        }
    }

    /// The fully qualified canonical form, `urn:…:attr[.sub]`.
    pub fn full(&self) -> String {
        format!("{}:{}", self.schema, self.short())
    }

    /// The form clients know best: the short form for the core schema, the full one otherwise.
    pub fn display(&self) -> String {
        if self.extension { self.full() } else { self.short() }
    }

    pub fn is(&self, attr: &str, sub: Option<&str>) -> bool {
        !self.extension && self.attr == attr && self.sub.as_deref() == sub
    }
}

pub fn looks_like_urn(text: &str) -> bool {
    // By bytes that may not be a character boundary (the text is the client's).
    text.len() > 4 && text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// RFC 7643 §2.1 ATTRNAME: `ALPHA *(nameChar)`, plus `$ref`.
fn check_name(name: &str, whole: &str) -> Result<(), String> {
    let ok = name == "$ref"
        || (name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    if ok { Ok(()) } else { Err(format!("'{whole}' is not a valid attribute path")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, Schemas};

    #[test]
    fn names_resolve_case_insensitively_to_canonical_spelling() {
        let s = Schemas::default_set();
        let p = AttrPath::parse(&s.user, "NAME.FamilyName").expect("resolves");
        assert_eq!(p.short(), "name.familyName");
        let p = AttrPath::parse(&s.user, "urn:ietf:params:scim:schemas:core:2.0:User:userName").expect("resolves");
        assert_eq!(p.short(), "userName");
    }

    #[test]
    fn extension_paths_carry_their_urn() {
        let s = Schemas::default_set();
        let p = AttrPath::parse(&s.user, &format!("{ENTERPRISE_USER}:manager.value")).expect("resolves");
        assert!(p.extension);
        assert_eq!(p.full(), format!("{ENTERPRISE_USER}:manager.value"));
    }

    #[test]
    fn unqualified_extension_attributes_resolve_only_when_lenient() {
        let s = Schemas::default_set();
        let p = AttrPath::resolve(&s.user, "manager.value", true).expect("resolves");
        assert_eq!(p.full(), format!("{ENTERPRISE_USER}:manager.value"));
        assert!(AttrPath::resolve(&s.user, "manager", false).is_err());
    }

    #[test]
    fn non_ascii_names_are_errors_not_panics() {
        let s = Schemas::default_set();
        for text in ["A®𐖳", "¥ⰲQE", "ur𐖳n:x", "é"] {
            assert!(AttrPath::parse(&s.user, text).is_err(), "{text}");
            assert!(!looks_like_urn(text));
        }
    }

    #[test]
    fn unknown_names_and_schemas_are_errors() {
        let s = Schemas::default_set();
        assert!(AttrPath::parse(&s.user, "nosuch").is_err());
        assert!(AttrPath::parse(&s.user, "name.nosuch").is_err());
        assert!(AttrPath::parse(&s.user, "urn:acme:x:foo").is_err());
        assert!(AttrPath::parse(&s.user, "user name").is_err());
    }
}
