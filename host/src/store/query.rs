//! Runs an engine's query plan (docs/architecture.md §3) as SQL over the store's indexes.
//!
//! The plan comes from a guest, so it is treated as untrusted input: the runtime admits only
//! trees within a node budget (`runtime::plan_check`); here node indices are bounds-checked
//! again, depth is limited, every value is a bound parameter, and the SQL built is bounded.

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::resources::{self, Row, tables};
use crate::error::{Error, Result};
use crate::runtime::bindings::{CompareOp, Comparison, Field, PlanNode, QueryPlan, ResourceKind, Scalar, SortKey};

const MAX_DEPTH: usize = crate::runtime::plan_check::MAX_DEPTH + 1;

/// The longest predicate the host writes for a plan, and the most values it binds (SQLite's
/// own limit is 32766 parameters per statement).
const MAX_SQL: usize = 4 << 20;
const MAX_PARAMS: usize = 30_000;

/// Which page of results to return.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
}

/// One page of a query.
#[derive(Debug)]
pub struct Page {
    pub total: i64,
    pub rows: Vec<Row>,
}

struct Sql<'p> {
    kind: ResourceKind,
    realm_id: i64,
    plan: &'p QueryPlan,
    params: Vec<SqlValue>,
}

fn bad_plan(msg: &str) -> Error {
    Error::GuestTrap(format!("the engine returned an invalid query plan: {msg}"))
}

impl Sql<'_> {
    fn bind(&mut self, v: SqlValue) -> String {
        self.params.push(v);
        format!("?{}", self.params.len())
    }

    /// The whole predicate of the plan, within the bounds.
    fn predicate(&mut self) -> Result<String> {
        let pred = self.node(self.plan.root, 0)?;
        if pred.len() > MAX_SQL || self.params.len() > MAX_PARAMS {
            return Err(bad_plan("its predicate is too large to run"));
        }
        Ok(pred)
    }

    fn node(&mut self, index: u32, depth: usize) -> Result<String> {
        if depth > MAX_DEPTH {
            return Err(bad_plan("the predicate is nested too deeply"));
        }
        let node =
            self.plan.nodes.get(index as usize).ok_or_else(|| bad_plan(&format!("node {index} does not exist")))?;
        Ok(match node {
            PlanNode::All => "1".into(),
            PlanNode::None => "0".into(),
            PlanNode::And(children) | PlanNode::Or(children) => {
                if children.is_empty() {
                    return Ok(if matches!(node, PlanNode::And(_)) { "1".into() } else { "0".into() });
                }
                let joiner = if matches!(node, PlanNode::And(_)) { " AND " } else { " OR " };
                let parts = children
                    .iter()
                    .map(|&c| self.node(c, depth + 1).map(|s| format!("({s})")))
                    .collect::<Result<Vec<_>>>()?;
                parts.join(joiner)
            }
            // Comparisons with NULL are NULL in SQL; `not` must see them as false.
            PlanNode::Not(c) => format!("NOT COALESCE(({}), 0)", self.node(*c, depth + 1)?),
            PlanNode::Compare(cmp) => self.compare(cmp)?,
        })
    }

    /// The column of a field, its case-insensitive twin when asked and available.
    fn column(&self, field: &Field, ci: bool) -> Option<&'static str> {
        use ResourceKind::*;
        Some(match (self.kind, field, ci) {
            (_, Field::Id, _) => "r.id",
            (User, Field::Name, false) => "r.username",
            (User, Field::Name, true) => "r.username_ci",
            (Group, Field::Name, false) => "r.name",
            (Group, Field::Name, true) => "r.name_ci",
            (User, Field::Email, false) => "r.email",
            (User, Field::Email, true) => "r.email_ci",
            (User, Field::FirstName, false) => "r.first_name",
            (User, Field::FirstName, true) => "r.first_name_ci",
            (User, Field::LastName, false) => "r.last_name",
            (User, Field::LastName, true) => "r.last_name_ci",
            (User, Field::Enabled, _) => "r.enabled",
            (_, Field::Created, _) => "r.created",
            (_, Field::LastModified, _) => "r.last_modified",
            _ => return None,
        })
    }

    fn operand(&self, cmp: &Comparison) -> Result<SqlValue> {
        Ok(match &cmp.value {
            Some(Scalar::Text(t)) if cmp.case_insensitive => SqlValue::Text(t.to_lowercase()),
            Some(Scalar::Text(t)) => SqlValue::Text(t.clone()),
            Some(Scalar::Integer(i)) => SqlValue::Integer(*i),
            Some(Scalar::Boolean(b)) => SqlValue::Integer(i64::from(*b)),
            None => return Err(bad_plan("a comparison other than pr has no value")),
        })
    }

    /// `expr op operand` for one column expression.
    fn op(&mut self, expr: &str, cmp: &Comparison) -> Result<String> {
        if cmp.op == CompareOp::Pr {
            return Ok(format!("({expr} IS NOT NULL AND {expr} <> '')"));
        }
        let v = self.operand(cmp)?;
        let p = self.bind(v);
        Ok(match cmp.op {
            CompareOp::Eq => format!("{expr} = {p}"),
            CompareOp::Ne => format!("{expr} <> {p}"),
            CompareOp::Gt => format!("{expr} > {p}"),
            CompareOp::Ge => format!("{expr} >= {p}"),
            CompareOp::Lt => format!("{expr} < {p}"),
            CompareOp::Le => format!("{expr} <= {p}"),
            // A range the index serves, then the exact prefix test.
            CompareOp::Sw => {
                format!("({expr} >= {p} AND {expr} <= {p} || char(1114111) AND substr({expr}, 1, length({p})) = {p})")
            }
            CompareOp::Ew => {
                format!("(length({expr}) >= length({p}) AND substr({expr}, -length({p})) = {p})")
            }
            CompareOp::Co => format!("instr({expr}, {p}) > 0"),
            CompareOp::Pr => unreachable!("handled above"),
        })
    }

    fn compare(&mut self, cmp: &Comparison) -> Result<String> {
        let (_, attrs) = tables(self.kind);
        match &cmp.field {
            Field::Attribute(name) => {
                let realm = self.bind(SqlValue::Integer(self.realm_id));
                let name = self.bind(SqlValue::Text(name.clone()));
                let cond = if cmp.op == CompareOp::Pr {
                    "a.value <> ''".to_string()
                } else if cmp.case_insensitive {
                    self.op("a.value_ci", cmp)?
                } else {
                    // The index is on the lowercase; narrow with it, then compare exactly.
                    let exact = self.op("a.value", cmp)?;
                    if cmp.op == CompareOp::Eq {
                        let lowered = Comparison { case_insensitive: true, ..cmp.clone() };
                        format!("{} AND {exact}", self.op("a.value_ci", &lowered)?)
                    } else {
                        exact
                    }
                };
                Ok(format!(
                    "r.pk IN (SELECT a.owner FROM {attrs} a WHERE a.realm_id = {realm} AND a.name = {name} AND {cond})"
                ))
            }
            Field::Relation => self.relation(cmp),
            field => {
                let Some(col) = self.column(field, cmp.case_insensitive) else {
                    // A field this kind does not have matches nothing.
                    return Ok("0".into());
                };
                if matches!(field, Field::Enabled | Field::Created | Field::LastModified) && cmp.op == CompareOp::Pr {
                    return Ok("1".into());
                }
                self.op(col, cmp)
            }
        }
    }

    fn relation(&mut self, cmp: &Comparison) -> Result<String> {
        if cmp.op == CompareOp::Pr {
            return Ok(match self.kind {
                ResourceKind::User => {
                    "EXISTS (SELECT 1 FROM memberships m WHERE m.member_kind = 0 AND m.member_pk = r.pk)".into()
                }
                ResourceKind::Group => "EXISTS (SELECT 1 FROM memberships m WHERE m.group_pk = r.pk)".into(),
            });
        }
        let realm = self.bind(SqlValue::Integer(self.realm_id));
        Ok(match self.kind {
            ResourceKind::User => {
                let cond = self.op("g.id", cmp)?;
                format!(
                    "r.pk IN (SELECT m.member_pk FROM memberships m JOIN groups g ON g.pk = m.group_pk \
                     WHERE m.member_kind = 0 AND g.realm_id = {realm} AND {cond})"
                )
            }
            ResourceKind::Group => {
                let user_cond = self.op("u.id", cmp)?;
                let group_cond = self.op("g.id", cmp)?;
                format!(
                    "r.pk IN (SELECT m.group_pk FROM memberships m JOIN users u ON u.pk = m.member_pk \
                     WHERE m.member_kind = 0 AND u.realm_id = {realm} AND {user_cond} \
                     UNION SELECT m.group_pk FROM memberships m JOIN groups g ON g.pk = m.member_pk \
                     WHERE m.member_kind = 1 AND g.realm_id = {realm} AND {group_cond})"
                )
            }
        })
    }

    fn order_by(&mut self, sort: Option<&SortKey>) -> Result<String> {
        let Some(sort) = sort else {
            return Ok("r.pk".into());
        };
        let dir = if sort.descending { "DESC" } else { "ASC" };
        let expr = match &sort.field {
            Field::Attribute(name) => {
                let (_, attrs) = tables(self.kind);
                let name = self.bind(SqlValue::Text(name.clone()));
                let col = if sort.case_insensitive { "value_ci" } else { "value" };
                format!("(SELECT min(a.{col}) FROM {attrs} a WHERE a.owner = r.pk AND a.name = {name})")
            }
            Field::Relation => return Err(bad_plan("cannot sort by relations")),
            f => self.column(f, sort.case_insensitive).unwrap_or("NULL").to_string(),
        };
        Ok(format!("{expr} IS NULL, {expr} {dir}, r.pk"))
    }
}

/// Which rows a query may see: service-account users of clients are realm users but not SCIM
/// resources; and a query that compares or sorts on anything but the id and the name leaves
/// out protected rows (`protection`), which SCIM shows only by id and name, so that a filter
/// cannot read what their minimal form hides (`userName eq "admin" and emails.value sw "a"`).
fn visible(kind: ResourceKind, plan: &QueryPlan) -> &'static str {
    let plain = |f: &Field| matches!(f, Field::Id | Field::Name);
    let reveals = plan.nodes.iter().any(|n| matches!(n, PlanNode::Compare(c) if !plain(&c.field)))
        || plan.sort.as_ref().is_some_and(|s| !plain(&s.field));
    match (kind, reveals) {
        (ResourceKind::User, false) => " AND r.service_account = 0",
        (ResourceKind::User, true) => " AND r.service_account = 0 AND r.protected = 0",
        (ResourceKind::Group, false) => "",
        (ResourceKind::Group, true) => " AND r.protected = 0",
    }
}

/// Runs an exact plan: one page, and the total (counted only when the page does not tell it).
pub fn run_exact(
    c: &Connection,
    realm_id: i64,
    kind: ResourceKind,
    plan: &QueryPlan,
    page: PageRequest,
) -> Result<Page> {
    let (main, _) = tables(kind);
    let mut sql = Sql { kind, realm_id, plan, params: Vec::new() };
    let pred = sql.predicate()?;
    let realm = sql.bind(SqlValue::Integer(realm_id));
    let scim_only = visible(kind, plan);
    let filter_params = sql.params.len();
    let count = |sql: &Sql<'_>| -> Result<i64> {
        // The kept count holds every row: it answers only when no row is left out.
        if pred == "1" && !scim_only.contains("protected") {
            return resources::count_all(c, realm_id, kind);
        }
        let count_sql = format!("SELECT count(*) FROM {main} r WHERE r.realm_id = {realm}{scim_only} AND ({pred})");
        resources::with_statement(c, &count_sql, |st| {
            Ok(st.query_row(rusqlite::params_from_iter(sql.params[..filter_params].iter()), |r| r.get(0))?)
        })
    };
    if page.count == 0 {
        return Ok(Page { total: count(&sql)?, rows: Vec::new() });
    }
    let order = sql.order_by(plan.sort.as_ref())?;
    // Host-computed integers, written into the SQL: a bound LIMIT would make SQLite
    // re-prepare the statement for every value.
    let (limit, offset) = (page.count, page.start_index - 1);
    let tail =
        format!("WHERE r.realm_id = {realm}{scim_only} AND ({pred}) ORDER BY {order} LIMIT {limit} OFFSET {offset}");
    let rows = resources::select(c, kind, &tail, &sql.params)?;
    // A page that is neither empty nor full ends the results: its end is the total, and one
    // statement saw both.
    let n = rows.len() as i64;
    if (n > 0 && n < limit) || (n == 0 && offset == 0) {
        return Ok(Page { total: offset + n, rows });
    }
    // Otherwise the page and the count come from one snapshot.
    c.prepare_cached("BEGIN")?.execute([])?;
    let page = resources::select(c, kind, &tail, &sql.params).and_then(|rows| Ok(Page { total: count(&sql)?, rows }));
    c.prepare_cached("COMMIT")?.execute([])?;
    page
}

/// The candidates of an inexact plan, in result order: the caller re-checks them.
pub fn candidates(c: &Connection, realm_id: i64, kind: ResourceKind, plan: &QueryPlan) -> Result<Vec<i64>> {
    let (main, _) = tables(kind);
    let mut sql = Sql { kind, realm_id, plan, params: Vec::new() };
    let pred = sql.predicate()?;
    let realm = sql.bind(SqlValue::Integer(realm_id));
    let scim_only = visible(kind, plan);
    let order = sql.order_by(plan.sort.as_ref())?;
    let select =
        format!("SELECT r.pk FROM {main} r WHERE r.realm_id = {realm}{scim_only} AND ({pred}) ORDER BY {order}");
    resources::with_statement(c, &select, |st| {
        Ok(st
            .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    })
}
