//! Query planning (docs/architecture.md §3): a parsed filter becomes a predicate over realm-model fields that
//! the host runs over its indexes. The predicate is never narrower than the filter; where it
//! is wider (`exact: false`) the host re-checks candidates with `matches`.
//!
//! What is exact: comparisons on mapped columns and on attributes stored as text (strings,
//! booleans), relation ids, and `and` / `or` / `not` of exact parts. What is not: order
//! comparisons on numbers and dateTimes stored as text, sub-attributes of multi-valued
//! complex attributes stored as JSON (pushed down as a substring match on the JSON), `and`
//! and `not` inside a `valuePath` over a multi-valued attribute, and relation details.

use crate::error::{Error, Result};
use crate::filter::{Comparison, Filter, Literal};
use crate::mapping::{self, Target};
use crate::model::{CompareOp, Comparison as Leaf, Field, PlanNode, QueryPlan, Scalar, SortKey};
use crate::path::AttrPath;
use crate::render::relation_attr;
use crate::schema::{ResourceSchema, Type};

struct Builder<'a> {
    rs: &'a ResourceSchema,
    nodes: Vec<PlanNode>,
}

/// A node and whether it is exact.
type Planned = (u32, bool);

impl Builder<'_> {
    fn push(&mut self, n: PlanNode) -> u32 {
        self.nodes.push(n);
        (self.nodes.len() - 1) as u32
    }

    fn all(&mut self) -> Planned {
        (self.push(PlanNode::All), false)
    }

    fn exact(&mut self, n: PlanNode) -> Planned {
        (self.push(n), true)
    }

    fn leaf(&mut self, field: Field, op: CompareOp, value: Option<Scalar>, ci: bool) -> Planned {
        self.exact(PlanNode::Compare(Leaf { field, op, value, case_insensitive: ci }))
    }

    fn not(&mut self, (child, exact): Planned) -> Planned {
        if exact { self.exact(PlanNode::Not(child)) } else { self.all() }
    }

    /// `multi`: inside a `valuePath` over a multi-valued attribute, where a leaf holds for
    /// one element and `and` / `not` cannot be pushed down exactly.
    fn filter(&mut self, f: &Filter, multi: bool) -> Planned {
        match f {
            Filter::And(parts) => {
                let (children, exact) = self.parts(parts, multi);
                (self.push(PlanNode::And(children)), exact && !multi)
            }
            Filter::Or(parts) => {
                let (children, exact) = self.parts(parts, multi);
                (self.push(PlanNode::Or(children)), exact)
            }
            Filter::Not(a) => {
                if multi {
                    return self.all();
                }
                let inner = self.filter(a, false);
                self.not(inner)
            }
            Filter::ValuePath { path, filter } => {
                let def = path.leaf(self.rs);
                let is_multi = def.is_some_and(|d| d.multi_valued);
                self.filter(filter, is_multi)
            }
            Filter::Compare(c) => {
                if multi && (c.op == CompareOp::Ne || c.value == Literal::Null) {
                    return self.all();
                }
                self.compare(c)
            }
            Filter::Absent => self.exact(PlanNode::None),
        }
    }

    /// The parts of an `and` / `or`, and whether all of them are exact.
    fn parts(&mut self, parts: &[Filter], multi: bool) -> (Vec<u32>, bool) {
        let mut exact = true;
        let children = parts
            .iter()
            .map(|p| {
                let (n, e) = self.filter(p, multi);
                exact &= e;
                n
            })
            .collect();
        (children, exact)
    }

    fn compare(&mut self, c: &Comparison) -> Planned {
        let target = mapping::target(self.rs, &c.path);
        let ci = !c.case_exact;
        let text_field = match &target {
            Target::Id => Some(Field::Id),
            Target::Name => Some(Field::Name),
            Target::FirstName => Some(Field::FirstName),
            Target::LastName => Some(Field::LastName),
            Target::Relation => Some(Field::Relation),
            Target::Attr(name) if matches!(c.ty, Type::String | Type::Reference | Type::Binary | Type::Boolean) => {
                Some(Field::Attribute(name.clone()))
            }
            _ => None,
        };
        if let Some(field) = text_field {
            let ci = ci && c.ty != Type::Boolean && target != Target::Relation;
            return match &c.value {
                Literal::Absent => self.leaf(field, CompareOp::Pr, None, false),
                Literal::Null => {
                    let pr = self.leaf(field, CompareOp::Pr, None, false);
                    if c.op == CompareOp::Eq { self.not(pr) } else { pr }
                }
                Literal::String(_) if target == Target::Relation && c.op != CompareOp::Eq && c.op != CompareOp::Ne => {
                    self.all()
                }
                Literal::String(s) => self.text(field, c.op, Scalar::Text(s.clone()), ci),
                Literal::Bool(b) => self.text(field, c.op, Scalar::Text(b.to_string()), false),
                _ => self.all(),
            };
        }
        match target {
            // `active` is the stored state unless a PATCH removed it (`ACTIVE_UNASSIGNED`):
            // then it is absent, as `matches` sees it, and only `ne` and `eq null` hold.
            Target::Enabled => {
                let unassigned = |b: &mut Self| {
                    b.leaf(Field::Attribute(crate::mapping::ACTIVE_UNASSIGNED.into()), CompareOp::Pr, None, false)
                };
                match (&c.value, c.op) {
                    (Literal::Bool(v), CompareOp::Ne) => {
                        let (state, exact) = self.text(Field::Enabled, CompareOp::Ne, Scalar::Boolean(*v), false);
                        let (absent, _) = unassigned(self);
                        (self.push(PlanNode::Or(vec![state, absent])), exact)
                    }
                    (Literal::Bool(v), op) => {
                        let (state, exact) = self.text(Field::Enabled, op, Scalar::Boolean(*v), false);
                        let absent = unassigned(self);
                        let (assigned, _) = self.not(absent);
                        (self.push(PlanNode::And(vec![state, assigned])), exact)
                    }
                    (Literal::Null, CompareOp::Eq) => unassigned(self),
                    (Literal::Absent | Literal::Null, _) => {
                        let absent = unassigned(self);
                        self.not(absent)
                    }
                    _ => self.all(),
                }
            }
            Target::Created | Target::LastModified => {
                let field = if target == Target::Created { Field::Created } else { Field::LastModified };
                match &c.value {
                    Literal::Absent => (self.push(PlanNode::All), true),
                    Literal::Null if c.op == CompareOp::Eq => (self.push(PlanNode::None), true),
                    Literal::Null => (self.push(PlanNode::All), true),
                    Literal::DateTime(instant, _) => {
                        let (ms, fraction) = instant.millis_floor();
                        let (op, ms) = match (c.op, fraction) {
                            (CompareOp::Eq, true) => return (self.push(PlanNode::None), true),
                            (CompareOp::Ne, true) => return (self.push(PlanNode::All), true),
                            (CompareOp::Ge, true) => (CompareOp::Gt, ms),
                            (CompareOp::Lt, true) => (CompareOp::Le, ms),
                            (op, _) => (op, ms),
                        };
                        self.text(field, op, Scalar::Integer(ms), false)
                    }
                    _ => self.all(),
                }
            }
            Target::Attr(name) => match c.value {
                // Numbers and dateTimes are stored as sent; their text does not order like
                // their values, so only presence is pushed down.
                Literal::Absent => self.leaf(Field::Attribute(name), CompareOp::Pr, None, false),
                _ if c.op == CompareOp::Ne => self.all(),
                _ => {
                    self.leaf(Field::Attribute(name), CompareOp::Pr, None, false);
                    let n = self.nodes.len() as u32 - 1;
                    (n, false)
                }
            },
            Target::Json(name) => match &c.value {
                Literal::Absent => {
                    self.leaf(Field::Attribute(name), CompareOp::Pr, None, false);
                    (self.nodes.len() as u32 - 1, false)
                }
                Literal::String(s) if matches!(c.op, CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                    // The element's JSON text contains the value as JSON escapes it.
                    let escaped = serde_json::to_string(s).unwrap_or_default();
                    let inner = escaped.get(1..escaped.len().saturating_sub(1)).unwrap_or_default().to_string();
                    self.leaf(Field::Attribute(name), CompareOp::Co, Some(Scalar::Text(inner)), true);
                    (self.nodes.len() as u32 - 1, false)
                }
                Literal::Bool(b) => {
                    self.leaf(Field::Attribute(name), CompareOp::Co, Some(Scalar::Text(b.to_string())), true);
                    (self.nodes.len() as u32 - 1, false)
                }
                _ => self.all(),
            },
            Target::ResourceType => match (&c.value, c.op) {
                (Literal::String(s), CompareOp::Eq) => {
                    let same = s == self.rs.kind.resource_type();
                    (self.push(if same { PlanNode::All } else { PlanNode::None }), true)
                }
                (Literal::Absent, _) => (self.push(PlanNode::All), true),
                _ => self.all(),
            },
            _ => self.all(),
        }
    }

    /// A comparison, with `ne` as the negation of `eq` (as the contract defines it).
    fn text(&mut self, field: Field, op: CompareOp, value: Scalar, ci: bool) -> Planned {
        if op == CompareOp::Ne {
            let eq = self.leaf(field, CompareOp::Eq, Some(value), ci);
            return self.not(eq);
        }
        self.leaf(field, op, Some(value), ci)
    }
}

fn mentions(f: &Filter, attr: &str) -> bool {
    match f {
        Filter::And(parts) | Filter::Or(parts) => parts.iter().any(|p| mentions(p, attr)),
        Filter::Not(a) => mentions(a, attr),
        Filter::Compare(c) => c.path.is(attr, c.path.sub.as_deref()),
        Filter::ValuePath { path, .. } => path.is(attr, None),
        Filter::Absent => false,
    }
}

/// Plans a parsed filter and sort.
pub fn plan(rs: &ResourceSchema, filter: Option<&Filter>, sort: Option<SortKey>) -> QueryPlan {
    let mut b = Builder { rs, nodes: Vec::new() };
    let (root, exact) = match filter {
        Some(f) => b.filter(f, false),
        None => (b.push(PlanNode::All), true),
    };
    let recheck_needs_relations = !exact && filter.is_some_and(|f| mentions(f, relation_attr(rs.kind)));
    QueryPlan { nodes: b.nodes, root, exact, recheck_needs_relations, sort }
}

/// Resolves `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).
pub fn sort_key(rs: &ResourceSchema, sort_by: Option<&str>, sort_order: Option<&str>) -> Result<Option<SortKey>> {
    let descending = match sort_order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(Error::InvalidValue(format!("sortOrder must be \"ascending\" or \"descending\", not \"{o}\"")));
        }
    };
    let Some(by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let mut path = AttrPath::parse(rs, by).map_err(|m| Error::InvalidValue(format!("invalid sortBy '{by}': {m}")))?;
    let def = path.leaf(rs).ok_or_else(|| Error::InvalidValue(format!("invalid sortBy '{by}'")))?;
    let mut case_exact = def.case_exact;
    if def.ty == Type::Complex {
        // A multi-valued attribute sorts by its value (RFC 7644 §3.4.2.3).
        let Some(v) = def.value_sub() else {
            return Err(Error::InvalidValue(format!("cannot sort by the complex attribute '{by}'")));
        };
        case_exact = v.case_exact;
        path.sub = Some(v.name.clone());
    }
    let field = match mapping::target(rs, &path) {
        Target::Id => Field::Id,
        Target::Name => Field::Name,
        Target::FirstName => Field::FirstName,
        Target::LastName => Field::LastName,
        Target::Enabled => Field::Enabled,
        Target::Created => Field::Created,
        Target::LastModified => Field::LastModified,
        Target::Attr(name) => Field::Attribute(name),
        _ => return Err(Error::InvalidValue(format!("cannot sort by '{by}'"))),
    };
    Ok(Some(SortKey { field, descending, case_insensitive: !case_exact }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter;
    use crate::schema::Schemas;

    fn plan_of(f: &str) -> QueryPlan {
        let s = Schemas::default_set();
        let parsed = filter::parse(&s.user, f, true).expect("parses");
        plan(&s.user, Some(&parsed), None)
    }

    #[test]
    fn username_eq_is_an_exact_case_insensitive_column_comparison() {
        let p = plan_of(r#"userName eq "Bjensen""#);
        assert!(p.exact);
        assert_eq!(
            p.nodes[p.root as usize],
            PlanNode::Compare(Leaf {
                field: Field::Name,
                op: CompareOp::Eq,
                value: Some(Scalar::Text("Bjensen".into())),
                case_insensitive: true
            })
        );
    }

    #[test]
    fn profile_mapped_and_declared_attributes_are_exact_index_comparisons() {
        let hr = "urn:acme:params:scim:schemas:extension:hr:1.0:User";
        let exts = serde_json::json!([{"schema": hr, "attributes": [{"name": "costCenter"}]}]);
        let profile = serde_json::json!({"attributes": [{"name": "employeeNumber", "annotations":
            {"scim.schema.attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}}]});
        let s = crate::profile::schemas(Some(&exts), profile.as_object(), true).expect("valid");
        for (f, stored) in [
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                "employeeNumber",
            ),
            (&format!(r#"{hr}:costCenter eq "CC-7""#), "scim.ext.acme.hr.costCenter"),
        ] {
            let parsed = filter::parse(&s.user, f, true).expect("parses");
            let p = plan(&s.user, Some(&parsed), None);
            assert!(p.exact, "{f}: no re-check needed");
            let PlanNode::Compare(l) = &p.nodes[p.root as usize] else { panic!("{f}: a leaf") };
            assert_eq!(l.field, Field::Attribute(stored.into()), "{f}");
        }
    }

    #[test]
    fn external_id_is_case_exact() {
        let p = plan_of(r#"externalId eq "AbC""#);
        assert!(p.exact);
        let PlanNode::Compare(l) = &p.nodes[p.root as usize] else { panic!("leaf") };
        assert_eq!(l.field, Field::Attribute("scim.externalId".into()));
        assert!(!l.case_insensitive);
    }

    #[test]
    fn work_email_value_path_is_pushed_down_but_rechecked() {
        let p = plan_of(r#"emails[type eq "work"].value eq "a@b.c""#);
        assert!(!p.exact);
        assert!(p.nodes.iter().any(|n| matches!(n, PlanNode::Compare(Leaf { field: Field::Attribute(a), op: CompareOp::Eq, .. }) if a == "scim.emails.value")));
    }

    #[test]
    fn not_of_inexact_widens_to_all() {
        let p = plan_of(r#"not (emails.type eq "work")"#);
        assert!(!p.exact);
        assert_eq!(p.nodes[p.root as usize], PlanNode::All);
    }

    #[test]
    fn group_membership_filter_uses_relations() {
        let p = plan_of(r#"groups.value eq "g1""#);
        assert!(p.exact);
        let PlanNode::Compare(l) = &p.nodes[p.root as usize] else { panic!("leaf") };
        assert_eq!(l.field, Field::Relation);
        let p = plan_of(r#"groups.display eq "Admins""#);
        assert!(!p.exact && p.recheck_needs_relations);
    }

    #[test]
    fn sub_millisecond_bounds_round_to_stored_precision() {
        let p = plan_of(r#"meta.created ge "2020-01-01T00:00:00.0005Z""#);
        assert!(p.exact);
        let PlanNode::Compare(l) = &p.nodes[p.root as usize] else { panic!("leaf") };
        assert_eq!(l.op, CompareOp::Gt);
        assert_eq!(l.value, Some(Scalar::Integer(1_577_836_800_000)));
    }

    #[test]
    fn sort_keys() {
        let s = Schemas::default_set();
        let k = sort_key(&s.user, Some("emails"), Some("Descending")).expect("ok").expect("some");
        assert_eq!(k.field, Field::Attribute("scim.emails.value".into()));
        assert!(k.descending && k.case_insensitive);
        assert!(sort_key(&s.user, Some("name"), None).is_err());
        assert!(sort_key(&s.user, Some("userName"), Some("up")).is_err());
    }
}
