//! Filters (RFC 7644 §3.4.2.2): the parser, type-checked against the resource's schemas, and
//! the evaluator the host calls (through `matches`) for candidates an inexact plan let through.
//!
//! Grammar, with precedence `not` > `and` > `or` and keywords in any case:
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")" / "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]" [ "." subAttr SP compareOp SP compValue ]
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! ```
//! The `.subAttr` tail after a `valuePath` (`emails[type eq "work"].value eq "x"`) is what Entra
//! sends; it means the same as `emails[type eq "work" and value eq "x"]`.

use serde_json::{Map, Number, Value};

use crate::datetime;
use crate::error::{Error, Result};
use crate::model::CompareOp;
use crate::path::AttrPath;
use crate::schema::{AttrDef, ResourceSchema, Type};

/// A parsed filter. Every path is resolved and canonical.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every part holds. Chains are kept flat (`a and b and c` is one node of three parts), so
    /// a long chain costs no depth: evaluating, planning or dropping it never recurses per term.
    And(Vec<Filter>),
    /// Some part holds; flat like `And`.
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `path op value`. Inside a `ValuePath`, `path` is the parent's path with `sub` set and is
    /// evaluated per element.
    Compare(Comparison),
    /// `attr[filter]`: some element (or the single value, for a singular complex attribute)
    /// satisfies `filter`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
    /// An expression on an attribute this resource type does not have but another one does, in
    /// a query at the server root (`parse_at_root`): the attribute is absent from every
    /// resource of the type, so the expression matches none (RFC 7644 §3.4.2.2).
    Absent,
}

/// An attribute expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub path: AttrPath,
    pub op: CompareOp,
    pub value: Literal,
    /// The type and case-exactness of the attribute compared, copied from its definition.
    pub ty: Type,
    pub case_exact: bool,
}

/// A comparison value (RFC 7644 `compValue`), already converted to the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// No operand (`pr`).
    Absent,
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    DateTime(datetime::Instant, String),
}

/// How deeply parentheses, `not` and `[...]` may nest. Real filters nest two or three levels;
/// the bound keeps every recursive walk of a filter (parsing, planning, evaluating) far from
/// the engine's stack limit whatever a client sends.
pub const MAX_DEPTH: usize = 32;

/// How many comparisons one filter may hold: enough for any real `or` of ids, small enough
/// that the plan and the SQL the host builds from it stay bounded.
pub const MAX_TERMS: usize = 1000;

/// Parses a filter for a resource type.
pub fn parse(rs: &ResourceSchema, text: &str, lenient: bool) -> Result<Filter> {
    finish(Parser::new(text, 0, rs, lenient))
}

/// Parses a filter for a resource type in a query at the server root, over it and `other`: an
/// attribute expression on an attribute only `other` has is `Filter::Absent` (parsed, so still
/// checked, against `other`); one on an attribute neither has is an invalid filter.
pub fn parse_at_root(rs: &ResourceSchema, other: &ResourceSchema, text: &str, lenient: bool) -> Result<Filter> {
    finish(Parser { other: Some(other), ..Parser::new(text, 0, rs, lenient) })
}

fn finish(mut p: Parser<'_>) -> Result<Filter> {
    let f = p.or_expr(None)?;
    p.skip_ws();
    if p.pos < p.src.len() {
        return Err(p.error(&format!("unexpected '{}'", p.rest_snippet())));
    }
    Ok(f)
}

/// A PATCH path (RFC 7644 §3.5.2: `attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, and its sub-attribute when there is no filter.
    pub path: AttrPath,
    /// The element filter of a `valuePath`.
    pub filter: Option<Filter>,
    /// The sub-attribute after a `valuePath` (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(rs: &ResourceSchema, text: &str, lenient: bool) -> Result<PatchPath> {
    let invalid = |msg: String| Error::InvalidPath(format!("invalid path '{text}': {msg}"));
    let Some(open) = text.find('[') else {
        let path = AttrPath::resolve(rs, text, lenient).map_err(invalid)?;
        return Ok(PatchPath { path, filter: None, sub: None });
    };
    let path = AttrPath::resolve(rs, &text[..open], lenient).map_err(invalid)?;
    if path.sub.is_some() {
        return Err(invalid("a filter may follow only an attribute, not a sub-attribute".into()));
    }
    let def = path.leaf(rs).ok_or_else(|| invalid("unknown attribute".into()))?;
    if def.ty != Type::Complex {
        return Err(invalid(format!("'{}' is not a complex attribute", def.name)));
    }
    let mut p = Parser::new(text, open + 1, rs, lenient);
    let filter = p.or_expr(Some((&path, def))).map_err(|e| invalid(e.detail()))?;
    p.skip_ws();
    if !p.eat(']') {
        return Err(invalid("expected ']'".into()));
    }
    let tail = &text[p.pos..];
    let sub = if tail.is_empty() {
        None
    } else if let Some(name) = tail.strip_prefix('.') {
        let sp = AttrPath::parse_relative(&path, def, name).map_err(invalid)?;
        sp.sub
    } else {
        return Err(invalid(format!("unexpected '{tail}' after ']'")));
    };
    Ok(PatchPath { path, filter: Some(filter), sub })
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    rs: &'a ResourceSchema,
    lenient: bool,
    /// Open parentheses, `not`s and `[`s around the current position.
    depth: usize,
    /// Comparisons read so far.
    terms: usize,
    /// At the server root, the other resource type's schema (see `parse_at_root`).
    other: Option<&'a ResourceSchema>,
}

type Scope<'s> = Option<(&'s AttrPath, &'s AttrDef)>;

/// The filter as quoted in an error: whole when short, its start otherwise (a client may send
/// a megabyte of filter; the answer need not repeat it).
fn quoted(src: &str) -> String {
    const SHOWN: usize = 200;
    if src.len() <= SHOWN {
        return src.to_string();
    }
    let mut end = SHOWN;
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &src[..end])
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, pos: usize, rs: &'a ResourceSchema, lenient: bool) -> Parser<'a> {
        Parser { src, pos, rs, lenient, depth: 0, terms: 0, other: None }
    }

    fn error(&self, msg: &str) -> Error {
        Error::InvalidFilter(format!("invalid filter '{}': {msg} at position {}", quoted(self.src), self.pos + 1))
    }

    /// Enters one more level of nesting, refusing past `MAX_DEPTH`.
    fn deeper(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("the filter nests more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    fn rest_snippet(&self) -> String {
        self.src[self.pos..].chars().take(20).collect()
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        self.pos > start
    }

    /// A run of characters up to whitespace or a bracket.
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.src[start..self.pos]
    }

    /// Consumes `keyword` (case-insensitively) if it comes next, after whitespace, as a whole word.
    fn keyword(&mut self, keyword: &str) -> bool {
        let save = self.pos;
        if self.skip_ws() || matches!(self.src[..save].chars().last(), Some(')' | ']' | '"')) {
            let w = self.word();
            if w.eq_ignore_ascii_case(keyword) {
                return true;
            }
        }
        self.pos = save;
        false
    }

    /// `a or b or …`, one flat node.
    fn or_expr(&mut self, scope: Scope<'_>) -> Result<Filter> {
        let mut parts = vec![self.and_expr(scope)?];
        while self.keyword("or") {
            parts.push(self.and_expr(scope)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::Or(parts) })
    }

    /// `a and b and …`, one flat node.
    fn and_expr(&mut self, scope: Scope<'_>) -> Result<Filter> {
        let mut parts = vec![self.unary(scope)?];
        while self.keyword("and") {
            parts.push(self.unary(scope)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Filter::And(parts) })
    }

    /// `( filter )`, after the `(`.
    fn parenthesized(&mut self, scope: Scope<'_>) -> Result<Filter> {
        self.deeper()?;
        let f = self.or_expr(scope)?;
        self.skip_ws();
        if !self.eat(')') {
            return Err(self.error("expected ')'"));
        }
        self.depth -= 1;
        Ok(f)
    }

    fn unary(&mut self, scope: Scope<'_>) -> Result<Filter> {
        self.skip_ws();
        if self.eat('(') {
            return self.parenthesized(scope);
        }
        let save = self.pos;
        let w = self.word();
        if w.eq_ignore_ascii_case("not") {
            self.skip_ws();
            if self.eat('(') {
                return Ok(Filter::Not(Box::new(self.parenthesized(scope)?)));
            }
            return Err(self.error("'not' must be followed by '('"));
        }
        self.pos = save;
        self.attr_exp(scope)
    }

    fn attr_exp(&mut self, scope: Scope<'_>) -> Result<Filter> {
        if let (None, Some(other)) = (scope, self.other) {
            let start = self.pos;
            let text = self.word();
            self.pos = start;
            let known =
                |rs: &ResourceSchema| AttrPath::resolve(rs, text, self.lenient).is_ok_and(|p| p.leaf(rs).is_some());
            if !known(self.rs) && known(other) {
                // Checked as the other type reads it, then absent here.
                let here = std::mem::replace(&mut self.rs, other);
                let parsed = self.attr_exp_here(scope);
                self.rs = here;
                return parsed.map(|_| Filter::Absent);
            }
        }
        self.attr_exp_here(scope)
    }

    fn attr_exp_here(&mut self, scope: Scope<'_>) -> Result<Filter> {
        let start = self.pos;
        let text = self.word();
        if text.is_empty() {
            return Err(if self.pos >= self.src.len() {
                self.error("unexpected end, expected an attribute path")
            } else {
                self.error(&format!("expected an attribute path, found '{}'", self.rest_snippet()))
            });
        }
        if self.peek() == Some('[') {
            if scope.is_some() {
                return Err(self.error("a filter cannot be nested inside another '[...]'"));
            }
            let path = self.resolve(text, None, start)?;
            if path.sub.is_some() {
                return Err(self.error(&format!("'{text}' is a sub-attribute; '[' must follow an attribute")));
            }
            let def = path.leaf(self.rs).ok_or_else(|| self.error("unknown attribute"))?;
            if def.ty != Type::Complex {
                return Err(self.error(&format!("'{}' is not a complex attribute", def.name)));
            }
            self.pos += 1;
            self.deeper()?;
            let inner = self.or_expr(Some((&path, def)))?;
            self.skip_ws();
            if !self.eat(']') {
                return Err(self.error("expected ']'"));
            }
            self.depth -= 1;
            let filter = if self.eat('.') {
                let sub_start = self.pos;
                let sub = self.word();
                let sub_path = self.resolve(sub, Some((&path, def)), sub_start)?;
                let cmp = self.operator_and_value(sub_path)?;
                Filter::And(vec![inner, cmp])
            } else {
                inner
            };
            return Ok(Filter::ValuePath { path, filter: Box::new(filter) });
        }
        let path = self.resolve(text, scope, start)?;
        self.operator_and_value(path)
    }

    fn resolve(&self, text: &str, scope: Scope<'_>, at: usize) -> Result<AttrPath> {
        let r = match scope {
            Some((parent, def)) => AttrPath::parse_relative(parent, def, text),
            None => AttrPath::resolve(self.rs, text, self.lenient),
        };
        r.map_err(|msg| {
            Error::InvalidFilter(format!("invalid filter '{}': {msg} at position {}", quoted(self.src), at + 1))
        })
    }

    fn operator_and_value(&mut self, mut path: AttrPath) -> Result<Filter> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.error(&format!("the filter has more than {MAX_TERMS} comparisons")));
        }
        if !self.skip_ws() {
            return Err(self.error("expected an operator after the attribute path"));
        }
        let op_text = self.word();
        let op = match op_text.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            "pr" => CompareOp::Pr,
            "" => return Err(self.error("expected an operator")),
            other => return Err(self.error(&format!("unknown operator '{other}'"))),
        };
        let mut def = path.leaf(self.rs).ok_or_else(|| self.error("unknown attribute"))?.clone();
        if def.returned == crate::schema::Returned::Never {
            return Err(self.error(&format!("'{}' cannot be used in a filter", path.display())));
        }
        if def.ty == Type::Complex && op != CompareOp::Pr {
            // `emails co "x"` compares the `value` sub-attribute (RFC 7644 §3.4.2.2).
            match (path.sub.is_none(), def.value_sub()) {
                (true, Some(v)) => {
                    let v = v.clone();
                    path.sub = Some(v.name.clone());
                    def = v;
                }
                _ => {
                    return Err(
                        self.error(&format!("'{}' is complex; compare one of its sub-attributes", path.display()))
                    );
                }
            }
        }
        let value = if op == CompareOp::Pr {
            Literal::Absent
        } else {
            if !self.skip_ws() {
                return Err(self.error("expected a value after the operator"));
            }
            let raw = self.raw_value()?;
            self.typed(&def, op, raw)?
        };
        Ok(Filter::Compare(Comparison { path, op, value, ty: def.ty, case_exact: def.case_exact }))
    }

    /// A JSON literal (string, number, true, false, null), or in lenient mode an unquoted word.
    fn raw_value(&mut self) -> Result<RawValue> {
        if self.peek() == Some('"') {
            let start = self.pos;
            self.pos += 1;
            let bytes = self.src.as_bytes();
            loop {
                match bytes.get(self.pos) {
                    None => return Err(self.error("unterminated string")),
                    Some(b'\\') => self.pos += 2,
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(_) => self.pos += 1,
                }
            }
            let lit = &self.src[start..self.pos.min(self.src.len())];
            return serde_json::from_str::<String>(lit)
                .map(RawValue::String)
                .map_err(|_| self.error(&format!("invalid string {lit}")));
        }
        let start = self.pos;
        let w = self.word();
        if w.is_empty() {
            return Err(self.error("expected a value"));
        }
        match w.to_ascii_lowercase().as_str() {
            "true" => return Ok(RawValue::Bool(true)),
            "false" => return Ok(RawValue::Bool(false)),
            "null" => return Ok(RawValue::Null),
            _ => {}
        }
        if let Ok(n) = serde_json::from_str::<Number>(w) {
            return Ok(RawValue::Number(n, w.to_string()));
        }
        if self.lenient {
            return Ok(RawValue::Unquoted(w.to_string()));
        }
        self.pos = start;
        Err(self.error(&format!("the value '{w}' must be a JSON string, number, true, false or null")))
    }

    fn typed(&self, def: &AttrDef, op: CompareOp, raw: RawValue) -> Result<Literal> {
        use CompareOp::*;
        let ordering = matches!(op, Gt | Ge | Lt | Le);
        let substring = matches!(op, Co | Sw | Ew);
        if let RawValue::Null = raw {
            return if matches!(op, Eq | Ne) {
                Ok(Literal::Null)
            } else {
                Err(self.error("null can only be compared with eq or ne"))
            };
        }
        let mismatch = |expected: &str| self.error(&format!("'{}' takes {expected}", def.name));
        match def.ty {
            Type::Boolean => {
                if ordering || substring {
                    return Err(self.error(&format!("'{}' is a boolean; only eq, ne and pr apply", def.name)));
                }
                match raw {
                    RawValue::Bool(b) => Ok(Literal::Bool(b)),
                    RawValue::String(s) | RawValue::Unquoted(s) if self.lenient => {
                        match s.to_ascii_lowercase().as_str() {
                            "true" => Ok(Literal::Bool(true)),
                            "false" => Ok(Literal::Bool(false)),
                            _ => Err(mismatch("true or false")),
                        }
                    }
                    _ => Err(mismatch("true or false")),
                }
            }
            Type::Integer | Type::Decimal => {
                if substring {
                    return Err(self.error(&format!("'{}' is a number; co, sw and ew do not apply", def.name)));
                }
                let n = match raw {
                    RawValue::Number(n, _) => n,
                    RawValue::String(s) | RawValue::Unquoted(s) if self.lenient => {
                        serde_json::from_str::<Number>(&s).map_err(|_| mismatch("a number"))?
                    }
                    _ => return Err(mismatch("a number")),
                };
                if def.ty == Type::Integer && !(n.is_i64() || n.is_u64()) {
                    return Err(mismatch("an integer"));
                }
                Ok(Literal::Number(n))
            }
            Type::DateTime => {
                let s = match raw {
                    RawValue::String(s) | RawValue::Unquoted(s) => s,
                    RawValue::Number(_, text) if self.lenient => text,
                    _ => return Err(mismatch("a dateTime string")),
                };
                if substring {
                    return Ok(Literal::String(s));
                }
                match datetime::parse(&s) {
                    Some(i) => Ok(Literal::DateTime(i, s)),
                    None => Err(self.error(&format!("'{s}' is not a valid dateTime (RFC 3339) for '{}'", def.name))),
                }
            }
            Type::Binary if ordering => {
                Err(self.error(&format!("'{}' is binary; gt, ge, lt and le do not apply", def.name)))
            }
            Type::String | Type::Reference | Type::Binary => match raw {
                RawValue::String(s) | RawValue::Unquoted(s) => Ok(Literal::String(s)),
                RawValue::Number(_, text) if self.lenient => Ok(Literal::String(text)),
                RawValue::Bool(b) if self.lenient => Ok(Literal::String(b.to_string())),
                _ => Err(mismatch("a string")),
            },
            Type::Complex => Err(mismatch("a sub-attribute")),
        }
    }
}

enum RawValue {
    Null,
    Bool(bool),
    Number(Number, String),
    String(String),
    Unquoted(String),
}

/// Evaluates a filter on a normalized resource document (canonical keys, extension
/// attributes under their URN).
pub fn matches(filter: &Filter, doc: &Map<String, Value>) -> bool {
    eval(filter, doc, None)
}

/// Evaluates the inner filter of a `valuePath` on one element of its attribute.
pub fn matches_element(filter: &Filter, element: &Value) -> bool {
    eval(filter, &Map::new(), Some(element))
}

fn eval(filter: &Filter, doc: &Map<String, Value>, element: Option<&Value>) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|f| eval(f, doc, element)),
        Filter::Or(parts) => parts.iter().any(|f| eval(f, doc, element)),
        Filter::Not(a) => !eval(a, doc, element),
        Filter::Compare(c) => {
            let values = match element {
                Some(e) => c.path.sub.as_ref().and_then(|s| e.get(s)).map(|v| vec![v]).unwrap_or_default(),
                None => values_at(doc, &c.path),
            };
            compare_any(c, &values)
        }
        Filter::ValuePath { path, filter } => match attribute(doc, path) {
            Some(Value::Array(items)) => items.iter().any(|e| eval(filter, doc, Some(e))),
            Some(v @ Value::Object(_)) => eval(filter, doc, Some(v)),
            _ => false,
        },
        Filter::Absent => false,
    }
}

/// The attribute's value in a document.
pub fn attribute<'d>(doc: &'d Map<String, Value>, path: &AttrPath) -> Option<&'d Value> {
    if path.extension { doc.get(&path.schema)?.as_object()?.get(&path.attr) } else { doc.get(&path.attr) }
}

/// Every value a path denotes: the elements of a multi-valued attribute, or each element's
/// sub-attribute.
pub fn values_at<'d>(doc: &'d Map<String, Value>, path: &AttrPath) -> Vec<&'d Value> {
    let Some(v) = attribute(doc, path) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        None => items,
        Some(s) => items.into_iter().filter_map(|i| i.get(s)).collect(),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare_any(c: &Comparison, values: &[&Value]) -> bool {
    match (&c.value, c.op) {
        (_, CompareOp::Pr) => values.iter().any(|v| present(v)),
        (Literal::Null, CompareOp::Eq) => !values.iter().any(|v| present(v)),
        (Literal::Null, _) => values.iter().any(|v| present(v)),
        (_, CompareOp::Ne) => !values.iter().any(|v| compare_one(c, CompareOp::Eq, v)),
        (_, op) => values.iter().any(|v| compare_one(c, op, v)),
    }
}

fn compare_one(c: &Comparison, op: CompareOp, v: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (&c.value, v) {
        (Literal::Bool(b), Value::Bool(x)) => Some(x.cmp(b)),
        (Literal::Number(n), Value::Number(x)) => x.as_f64().zip(n.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        (Literal::DateTime(i, _), Value::String(x)) => datetime::parse(x).map(|xi| xi.cmp(i)),
        (Literal::String(s), Value::String(x)) => {
            return text_compare(op, x, s, c.case_exact);
        }
        _ => None,
    };
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        _ => false,
    }
}

/// Text comparison as the WIT contract defines it: by code point, optionally on the Unicode
/// lowercase of both sides.
pub fn text_compare(op: CompareOp, value: &str, operand: &str, case_exact: bool) -> bool {
    let (v, o);
    let (value, operand) = if case_exact {
        (value, operand)
    } else {
        v = value.to_lowercase();
        o = operand.to_lowercase();
        (v.as_str(), o.as_str())
    };
    match op {
        CompareOp::Eq => value == operand,
        CompareOp::Ne => value != operand,
        CompareOp::Co => value.contains(operand),
        CompareOp::Sw => value.starts_with(operand),
        CompareOp::Ew => value.ends_with(operand),
        CompareOp::Gt => value > operand,
        CompareOp::Ge => value >= operand,
        CompareOp::Lt => value < operand,
        CompareOp::Le => value <= operand,
        CompareOp::Pr => !value.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schemas;
    use serde_json::json;

    #[test]
    fn at_the_root_an_attribute_only_the_other_type_has_is_absent_and_still_checked() {
        let s = Schemas::default_set();
        let f = parse_at_root(&s.group, &s.user, r#"userName eq "a" or displayName eq "g""#, false).expect("valid");
        let Filter::Or(parts) = f else { panic!("an or") };
        assert_eq!(parts[0], Filter::Absent);
        assert!(matches!(parts[1], Filter::Compare(_)));
        // The other type's reading still checks the value: `active` is a boolean.
        assert!(parse_at_root(&s.group, &s.user, r#"active eq "yes""#, false).is_err());
        assert!(parse_at_root(&s.group, &s.user, "shoeSize eq 7", false).is_err());
        assert!(parse(&s.group, r#"userName eq "a""#, false).is_err(), "on an endpoint, unknown is invalid");
    }

    fn user_doc() -> Map<String, Value> {
        let v = json!({
            "userName": "Bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "title": "Tour Guide",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "meta": {"created": "2011-08-01T18:29:49.793Z", "lastModified": "2011-08-01T18:29:49.793Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "m1"}},
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn eval_str(f: &str) -> bool {
        let s = Schemas::default_set();
        let parsed = parse(&s.user, f, false).unwrap_or_else(|e| panic!("{f}: {e}"));
        matches(&parsed, &user_doc())
    }

    fn eval_lenient(f: &str) -> bool {
        let s = Schemas::default_set();
        let parsed = parse(&s.user, f, true).unwrap_or_else(|e| panic!("{f}: {e}"));
        matches(&parsed, &user_doc())
    }

    fn rejects(f: &str) -> String {
        let s = Schemas::default_set();
        match parse(&s.user, f, false) {
            Err(Error::InvalidFilter(d)) => d,
            other => panic!("{f}: expected invalidFilter, got {other:?}"),
        }
    }

    #[test]
    fn eq_on_case_insensitive_attribute_ignores_case() {
        assert!(eval_str(r#"userName eq "bjensen""#));
        assert!(eval_str(r#"USERNAME EQ "BJENSEN""#));
    }

    #[test]
    fn every_comparison_operator() {
        assert!(eval_str(r#"title co "guide""#));
        assert!(eval_str(r#"title sw "tour""#));
        assert!(eval_str(r#"title ew "GUIDE""#));
        assert!(eval_str(r#"title ne "Pilot""#));
        assert!(!eval_str(r#"title ne "tour guide""#));
        assert!(eval_str(r#"userName gt "a""#));
        assert!(eval_str(r#"userName ge "bjensen""#));
        assert!(eval_str(r#"userName lt "c""#));
        assert!(eval_str(r#"userName le "bjensen""#));
        assert!(eval_str("title pr"));
        assert!(!eval_str("nickName pr"));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        // true or (false and false) = true
        assert!(eval_str(r#"userName eq "bjensen" or title eq "x" and title eq "y""#));
        // (true or false) and false = false
        assert!(!eval_str(r#"(userName eq "bjensen" or title eq "x") and title eq "y""#));
        assert!(eval_str(r#"not (title eq "x") and userName eq "bjensen""#));
        assert!(eval_str(r#"not(title eq "x")"#));
    }

    #[test]
    fn logical_keywords_in_any_case() {
        assert!(eval_str(r#"userName eq "bjensen" AND title pr"#));
        assert!(eval_str(r#"userName eq "x" Or title pr"#));
        assert!(eval_str(r#"NOT (userName eq "x")"#));
    }

    #[test]
    fn booleans_numbers_and_null() {
        assert!(eval_str("active eq true"));
        assert!(!eval_str("active eq false"));
        assert!(eval_str("nickName eq null"));
        assert!(!eval_str("title eq null"));
        assert!(eval_str("title ne null"));
    }

    #[test]
    fn date_times_compare_as_instants() {
        assert!(eval_str(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
        assert!(eval_str(r#"meta.created eq "2011-08-01T11:29:49.793-07:00""#));
        assert!(!eval_str(r#"meta.created lt "2011-08-01T18:29:49.793Z""#));
        assert!(eval_lenient("meta.Created gt 2011-08-01T18:29:49.7929999Z"));
    }

    #[test]
    fn value_path_matches_within_one_element() {
        assert!(eval_str(r#"emails[type eq "work" and value co "@example.com"]"#));
        assert!(!eval_str(r#"emails[type eq "home" and value co "@example.com"]"#));
        assert!(eval_str(r#"emails[type eq "work"].value eq "BJENSEN@example.com""#));
        assert!(!eval_str(r#"emails[type eq "home"].value eq "bjensen@example.com""#));
    }

    #[test]
    fn multi_valued_sub_attribute_matches_any_element() {
        assert!(eval_str(r#"emails.value eq "babs@jensen.org""#));
        assert!(eval_str(r#"emails co "jensen.org""#));
        assert!(eval_str(r#"emails.primary eq true"#));
    }

    #[test]
    fn urn_prefixed_paths() {
        assert!(eval_str(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#));
        assert!(eval_str(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#));
        assert!(eval_str(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#));
    }

    #[test]
    fn escaped_quotes_and_backslashes_in_values() {
        let s = Schemas::default_set();
        let f = parse(&s.user, r#"title eq "a \"quoted\" \\ value""#, false).expect("parses");
        let Filter::Compare(c) = f else { panic!("compare") };
        assert_eq!(c.value, Literal::String(r#"a "quoted" \ value"#.into()));
    }

    #[test]
    fn unquoted_values_only_when_lenient() {
        assert!(eval_lenient("userName eq Bjensen"));
        assert!(eval_lenient(
            "name.FamilyName eq Jensen and (emails.Value co example.com or emails.Value co example.org)"
        ));
        let d = rejects("userName eq Bjensen");
        assert!(d.contains("must be a JSON string"), "{d}");
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors_with_position() {
        for f in [
            "",
            "userName",
            "userName eq",
            r#"userName zz "x""#,
            r#"(userName eq "x""#,
            r#"userName eq "x")"#,
            r#"userName eq "x" and"#,
            r#"nosuch eq "x""#,
            r#"active gt true"#,
            r#"emails[type eq "work""#,
            r#"name eq "x""#,
            r#"password eq "x""#,
            r#"userName eq "unterminated"#,
            r#"meta.created gt "not a date""#,
        ] {
            let d = rejects(f);
            assert!(d.contains("invalid filter"), "{f}: {d}");
        }
    }

    #[test]
    fn deep_nesting_is_an_invalid_filter_not_a_crash() {
        let s = Schemas::default_set();
        let term = r#"userName eq "x""#;
        let deep_parens = format!("{}{term}{}", "(".repeat(1000), ")".repeat(1000));
        let deep_nots = format!("{}{term}{}", "not (".repeat(1000), ")".repeat(1000));
        let unclosed = "(".repeat(1000);
        for f in [deep_parens, deep_nots, unclosed] {
            let e = parse(&s.user, &f, false).expect_err("refused");
            assert!(matches!(e, Error::InvalidFilter(_)), "{e:?}");
            assert!(e.detail().len() < 600, "the detail quotes the filter's start only: {}", e.detail().len());
        }
        let ok = format!("{}{term}{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&s.user, &ok, false).is_ok(), "{MAX_DEPTH} levels are allowed");
    }

    #[test]
    fn long_and_or_chains_parse_flat() {
        let s = Schemas::default_set();
        let chain = |n: usize, joiner: &str| vec![r#"userName eq "x""#; n].join(joiner);
        let f = parse(&s.user, &chain(MAX_TERMS, " or "), false).expect("parses");
        assert!(matches!(&f, Filter::Or(parts) if parts.len() == MAX_TERMS));
        let f = parse(&s.user, &chain(MAX_TERMS, " and "), false).expect("parses");
        assert!(matches!(&f, Filter::And(parts) if parts.len() == MAX_TERMS));
        for joiner in [" or ", " and "] {
            let e = parse(&s.user, &chain(10_000, joiner), false).expect_err("too many terms");
            assert!(e.detail().contains("comparisons"), "{}", e.detail());
        }
    }

    #[test]
    fn patch_paths() {
        let s = Schemas::default_set();
        let p = parse_patch_path(&s.user, r#"emails[type eq "work"].value"#, false).expect("parses");
        assert_eq!(p.path.attr, "emails");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p = parse_patch_path(&s.user, "name.familyName", false).expect("parses");
        assert_eq!(p.path.short(), "name.familyName");
        for bad in ["emails[type eq \"work\"", "emails[type eq \"work\"]x", "nosuch", "userName[value eq \"x\"]", ""] {
            assert!(matches!(parse_patch_path(&s.user, bad, false), Err(Error::InvalidPath(_))), "{bad}");
        }
    }
}
