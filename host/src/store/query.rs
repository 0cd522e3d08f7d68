//! Runs an engine's query plan (docs/architecture.md §3) as SQL over the store's indexes.
//!
//! The plan comes from a guest, so it is treated as untrusted input: the runtime admits only
//! trees within a node budget (`runtime::plan_check`); here node indices are bounds-checked
//! again, depth is limited, every value is a bound parameter, and the SQL built is bounded.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};

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
    /// `None` on a cursor page whose total would cost a count of every match.
    pub total: Option<i64>,
    pub rows: Vec<Row>,
    /// Where the next page starts; `None` on the last page (and on index pages).
    pub next: Option<Position>,
    /// Where the previous page ends, on a cursor page that is not the first.
    pub previous: Option<Position>,
}

struct Sql<'p> {
    kind: ResourceKind,
    realm_id: i64,
    plan: &'p QueryPlan,
    params: Vec<SqlValue>,
}

fn bad_plan(msg: &str) -> Error {
    Error::EngineFault(format!("the engine returned an invalid query plan: {msg}"))
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
            // A user's groups are direct and indirect: the members of the groups matched and of
            // every group inside them, walked down the memberships' primary key.
            ResourceKind::User => {
                let cond = self.op("g.id", cmp)?;
                format!(
                    "r.pk IN (WITH RECURSIVE down(g) AS (SELECT g.pk FROM groups g WHERE g.realm_id = {realm} AND {cond} \
                     UNION SELECT m.member_pk FROM down CROSS JOIN memberships m ON m.group_pk = down.g AND m.member_kind = 1) \
                     SELECT m.member_pk FROM down CROSS JOIN memberships m ON m.group_pk = down.g AND m.member_kind = 0)"
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

    /// The runs of rows in result order (see `Phase`), each over `base` (the realm, the
    /// visibility rule and the predicate).
    ///
    /// RFC 7644 §3.4.2.3: rows without a value for `sortBy` come last when ascending and first
    /// when descending — as if absent were the largest value — and a multi-valued attribute
    /// sorts by its first value. Ties are broken by the row's key in the sort's direction, so
    /// that the order is total (stable pages, exact keysets) and every run reads an index in
    /// order: a descending sort is the ascending one reversed.
    fn phases(&mut self, base: &str, sort: Option<&SortKey>) -> Result<Vec<Phase>> {
        let plain = |from: String, descending: bool| Phase { from, pk: "r.pk", value: None, descending };
        let Some(sort) = sort else {
            return Ok(vec![plain(format!("WHERE {base}"), false)]);
        };
        let descending = sort.descending;
        let (valued, absent) = match &sort.field {
            Field::Relation => return Err(bad_plan("cannot sort by relations")),
            Field::Attribute(name) => {
                let (_, attrs) = tables(self.kind);
                let realm = self.bind(SqlValue::Integer(self.realm_id));
                let name = self.bind(SqlValue::Text(name.clone()));
                let col = if sort.case_insensitive { "value_ci" } else { "value" };
                let valued = Phase {
                    from: format!(
                        "JOIN {attrs} a ON a.owner = r.pk \
                         WHERE a.realm_id = {realm} AND a.name = {name} AND a.ord = 0 AND {base}"
                    ),
                    pk: "a.owner",
                    value: Some(format!("a.{col}")),
                    descending,
                };
                let absent = plain(
                    format!(
                        "WHERE {base} AND NOT EXISTS \
                         (SELECT 1 FROM {attrs} x WHERE x.owner = r.pk AND x.name = {name} AND x.ord = 0)"
                    ),
                    descending,
                );
                (valued, absent)
            }
            field => {
                // A field this kind does not have is absent from every row.
                let Some(col) = self.column(field, sort.case_insensitive) else {
                    return Ok(vec![plain(format!("WHERE {base}"), descending)]);
                };
                let valued = |from: String| Phase { from, pk: "r.pk", value: Some(col.to_string()), descending };
                if !matches!(field, Field::Email | Field::FirstName | Field::LastName) {
                    return Ok(vec![valued(format!("WHERE {base}"))]);
                }
                (
                    valued(format!("WHERE {base} AND {col} IS NOT NULL")),
                    plain(format!("WHERE {base} AND {col} IS NULL"), descending),
                )
            }
        };
        Ok(if descending { vec![absent, valued] } else { vec![valued, absent] })
    }
}

/// One run of a query's rows in result order: the rows with a sort value, ordered by it and
/// then by key, or the rows without one (or every row when there is no sort), ordered by key.
/// Each run is one index range, so a page costs the same at any depth when it starts from a
/// keyset position.
struct Phase {
    /// `[JOIN …] WHERE …`: the run's rows.
    from: String,
    /// The rows' key in this run's query (`r.pk`, or the attribute row's `a.owner`).
    pk: &'static str,
    /// The sort value's expression; `None` when the run is ordered by key alone.
    value: Option<String>,
    descending: bool,
}

impl Phase {
    /// The rest of a query over this run, past `position` when given (after it, or before it
    /// read `backward`), up to `limit` rows from `offset`; keyset values are bound after
    /// `params`.
    fn tail(
        &self,
        position: Option<&Position>,
        backward: bool,
        limit: i64,
        offset: i64,
        params: &mut Vec<SqlValue>,
    ) -> String {
        let (cmp, dir) = if self.descending != backward { ("<", "DESC") } else { (">", "ASC") };
        let pk = self.pk;
        let mut bind = |v: SqlValue| {
            params.push(v);
            format!("?{}", params.len())
        };
        let after = match (position, &self.value) {
            (None, _) => String::new(),
            (Some(p), None) => format!(" AND {pk} {cmp} {}", bind(SqlValue::Integer(p.pk))),
            // `v >= x AND (v > x OR pk > k)`: the first term is the index range.
            (Some(p), Some(v)) => {
                let x = bind(p.value.clone());
                let k = bind(SqlValue::Integer(p.pk));
                format!(" AND {v} {cmp}= {x} AND ({v} {cmp} {x} OR {pk} {cmp} {k})")
            }
        };
        let order = match &self.value {
            Some(v) => format!("{v} {dir}, {pk} {dir}"),
            None => format!("{pk} {dir}"),
        };
        // Host-computed integers, written into the SQL: a bound LIMIT would make SQLite
        // re-prepare the statement for every value.
        let offset = if offset > 0 { format!(" OFFSET {offset}") } else { String::new() };
        format!("{}{after} ORDER BY {order} LIMIT {limit}{offset}", self.from)
    }

    /// The expression a keyset resumes after in this run.
    fn key(&self) -> &str {
        self.value.as_deref().unwrap_or("NULL")
    }
}

/// Where a keyset page resumes: after the row `pk`, whose sort value was `value`, in run
/// `phase` of the query's order. Cursors carry it (see `http::cursor`).
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub phase: u8,
    pub value: SqlValue,
    pub pk: i64,
    /// Whether `value` is only the start of the row's sort value: a cursor carries at most a
    /// few hundred bytes of it, and the store looks the rest up (`Prepared::settle`).
    pub cut: bool,
}

/// Where a cursor page starts: after a row (`nextCursor`), or before one
/// (`previousCursor`), reading the query's order backwards.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    After(Position),
    Before(Position),
}

impl Resume {
    pub fn position(&self) -> &Position {
        match self {
            Resume::After(p) | Resume::Before(p) => p,
        }
    }

    pub fn backward(&self) -> bool {
        matches!(self, Resume::Before(_))
    }

    /// The same direction from another position.
    pub fn from(&self, position: Position) -> Resume {
        match self {
            Resume::After(_) => Resume::After(position),
            Resume::Before(_) => Resume::Before(position),
        }
    }
}

fn stale_cursor() -> Error {
    Error::Scim {
        status: 400,
        scim_type: Some("invalidCursor".into()),
        detail: "the cursor no longer fits its query (the realm's engine or schemas changed since it was issued): \
                 start again without one"
            .into(),
    }
}

/// How a query is paged.
#[derive(Debug, Clone)]
pub enum Paging {
    /// RFC 7644 §3.4.2.4: `count` rows from a 1-based index.
    Index(PageRequest),
    /// RFC 9865: `count` rows from a cursor's position, or from the start.
    Cursor { resume: Option<Resume>, count: i64 },
}

/// A cursor page from rows read in the direction of `resume`, at most one more than `count`
/// (the extra one tells that another page follows in that direction).
pub fn cursor_page(mut rows: Vec<(Row, Position)>, count: i64, resume: Option<&Resume>, total: Option<i64>) -> Page {
    let more = rows.len() as i64 > count;
    rows.truncate(usize::try_from(count).unwrap_or(0));
    let backward = resume.is_some_and(Resume::backward);
    if backward {
        rows.reverse();
    }
    let first = rows.first().map(|(_, at)| at.clone());
    let last = rows.last().map(|(_, at)| at.clone());
    // Read backwards, the rows the cursor came from follow; read forwards from a cursor, the
    // rows before it precede.
    let (next, previous) = if backward {
        (last, first.filter(|_| more))
    } else {
        (last.filter(|_| more), first.filter(|_| resume.is_some()))
    };
    Page { total, rows: rows.into_iter().map(|(row, _)| row).collect(), next, previous }
}

/// The runs a cursor page reads, in reading order, each with the position it resumes from.
fn runs(phases: usize, resume: Option<&Resume>) -> Vec<(usize, Option<&Position>)> {
    let at = resume.map(Resume::position);
    let start = at.map_or(0, |p| usize::from(p.phase).min(phases.saturating_sub(1)));
    let from = |i: usize| at.filter(|p| usize::from(p.phase) == i);
    if resume.is_some_and(Resume::backward) {
        (0..=start).rev().map(|i| (i, from(i))).collect()
    } else {
        (start..phases).map(|i| (i, from(i))).collect()
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

/// A plan's SQL: its runs, and the parameters they share.
struct Prepared {
    main: &'static str,
    kind: ResourceKind,
    phases: Vec<Phase>,
    params: Vec<SqlValue>,
    /// Parameters of the predicate alone (the count's).
    filter_params: usize,
    base: String,
    /// Whether `base` keeps every row of the realm's kind, so the kept count is the total.
    keeps_all: bool,
}

fn prepare(realm_id: i64, kind: ResourceKind, plan: &QueryPlan) -> Result<Prepared> {
    let (main, _) = tables(kind);
    let mut sql = Sql { kind, realm_id, plan, params: Vec::new() };
    let pred = sql.predicate()?;
    let realm = sql.bind(SqlValue::Integer(realm_id));
    let scim_only = visible(kind, plan);
    let filter_params = sql.params.len();
    let base = format!("r.realm_id = {realm}{scim_only} AND ({pred})");
    // The kept count holds every row: it answers only when no row is left out.
    let keeps_all = pred == "1" && !scim_only.contains("protected");
    let phases = sql.phases(&base, plan.sort.as_ref())?;
    Ok(Prepared { main, kind, phases, params: sql.params, filter_params, base, keeps_all })
}

impl Prepared {
    /// A cursor's position made ready for this plan: its run must exist (a cursor whose
    /// query's plan has changed shape since is refused), and a sort value the cursor carried
    /// only the start of is looked up by row. When that row is gone or its value changed, the
    /// page resumes from the bound of the start that may repeat rows but never skips one.
    fn settle(&self, c: &Connection, resume: Option<&Resume>) -> Result<Option<Resume>> {
        let Some(resume) = resume else { return Ok(None) };
        let at = resume.position();
        let phase = self.phases.get(usize::from(at.phase)).ok_or_else(stale_cursor)?;
        if !at.cut {
            return Ok(Some(resume.clone()));
        }
        let SqlValue::Text(start) = &at.value else { return Err(stale_cursor()) };
        let mut params = self.params.clone();
        params.push(SqlValue::Integer(at.pk));
        let sql = format!(
            "SELECT {} FROM {} r {} AND {} = ?{} LIMIT 1",
            phase.key(),
            self.main,
            phase.from,
            phase.pk,
            params.len()
        );
        let whole: Option<SqlValue> = resources::with_statement(c, &sql, |st| {
            Ok(st.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0)).optional()?)
        })?;
        let value = match whole {
            Some(SqlValue::Text(t)) if t.starts_with(start.as_str()) => t,
            // Reading towards smaller values, every value that starts so is below this bound.
            _ if phase.descending != resume.backward() => format!("{start}\u{10FFFF}"),
            _ => start.clone(),
        };
        Ok(Some(resume.from(Position { value: SqlValue::Text(value), cut: false, ..at.clone() })))
    }

    fn total(&self, c: &Connection, realm_id: i64) -> Result<i64> {
        if self.keeps_all {
            return resources::count_all(c, realm_id, self.kind);
        }
        let sql = format!("SELECT count(*) FROM {} r WHERE {}", self.main, self.base);
        resources::with_statement(c, &sql, |st| {
            Ok(st.query_row(rusqlite::params_from_iter(self.params[..self.filter_params].iter()), |r| r.get(0))?)
        })
    }

    fn count_of(&self, c: &Connection, phase: &Phase) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM {} r {}", self.main, phase.from);
        resources::with_statement(c, &sql, |st| {
            Ok(st.query_row(rusqlite::params_from_iter(self.params.iter()), |r| r.get(0))?)
        })
    }

    /// Rows of run `i`, each with its position.
    fn rows(
        &self,
        c: &Connection,
        i: usize,
        position: Option<&Position>,
        backward: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(Row, Position)>> {
        let phase = &self.phases[i];
        let mut params = self.params.clone();
        let tail = phase.tail(position, backward, limit, offset, &mut params);
        let rows = resources::select_keyed(c, self.kind, phase.key(), &tail, &params)?;
        Ok(rows
            .into_iter()
            .map(|(row, value)| {
                let at = Position { phase: i as u8, value, pk: row.pk, cut: false };
                (row, at)
            })
            .collect())
    }

    /// Up to `limit` rows from a settled position (or the start), across runs in its reading
    /// order, each with its position.
    fn read(&self, c: &Connection, settled: Option<&Resume>, limit: i64) -> Result<Vec<(Row, Position)>> {
        let backward = settled.is_some_and(Resume::backward);
        let mut rows = Vec::new();
        for (i, from) in runs(self.phases.len(), settled) {
            let want = limit - rows.len() as i64;
            if want <= 0 {
                break;
            }
            rows.extend(self.rows(c, i, from, backward, want, 0)?);
        }
        Ok(rows)
    }

    /// Keys of run `i` past `position`, each with its position, at most `limit` (`-1`: all).
    fn keys(
        &self,
        c: &Connection,
        i: usize,
        position: Option<&Position>,
        backward: bool,
        limit: i64,
    ) -> Result<Vec<(i64, Position)>> {
        let phase = &self.phases[i];
        let mut params = self.params.clone();
        let tail = phase.tail(position, backward, limit, 0, &mut params);
        let sql = format!("SELECT {}, {} FROM {} r {tail}", phase.pk, phase.key(), self.main);
        resources::with_statement(c, &sql, |st| {
            Ok(st
                .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    let pk: i64 = r.get(0)?;
                    Ok((pk, Position { phase: i as u8, value: r.get(1)?, pk, cut: false }))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// Runs `f` in one read transaction, so that the statements of a page (its runs, its total)
/// see one snapshot.
fn snapshot<T>(c: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    c.prepare_cached("BEGIN")?.execute([])?;
    let out = f();
    c.prepare_cached("COMMIT")?.execute([])?;
    out
}

/// Runs an exact plan: one page, and the total (counted only when the page does not tell it;
/// on cursor pages, only when it is kept, so that a page costs the same at any depth).
pub fn run_exact(c: &Connection, realm_id: i64, kind: ResourceKind, plan: &QueryPlan, paging: &Paging) -> Result<Page> {
    let q = prepare(realm_id, kind, plan)?;
    snapshot(c, || match paging {
        Paging::Index(page) => {
            if page.count == 0 {
                return Ok(Page { total: Some(q.total(c, realm_id)?), rows: Vec::new(), next: None, previous: None });
            }
            let offset = page.start_index - 1;
            let (mut rows, mut skip) = (Vec::new(), offset);
            for (i, phase) in q.phases.iter().enumerate() {
                let want = page.count - rows.len() as i64;
                if want <= 0 {
                    break;
                }
                let got = q.rows(c, i, None, false, want, skip)?;
                // An offset past this run moves on by the rows the run has.
                skip = if got.is_empty() && skip > 0 { (skip - q.count_of(c, phase)?).max(0) } else { 0 };
                rows.extend(got.into_iter().map(|(row, _)| row));
            }
            // A page that is neither empty nor full ends the results: its end is the total.
            let n = rows.len() as i64;
            let total =
                if (n > 0 && n < page.count) || (n == 0 && offset == 0) { offset + n } else { q.total(c, realm_id)? };
            Ok(Page { total: Some(total), rows, next: None, previous: None })
        }
        Paging::Cursor { resume, count } => {
            let total = if q.keeps_all || *count == 0 { Some(q.total(c, realm_id)?) } else { None };
            if *count == 0 {
                return Ok(Page { total, rows: Vec::new(), next: None, previous: None });
            }
            // One row more than asked tells whether another page follows.
            let settled = q.settle(c, resume.as_ref())?;
            let rows = q.read(c, settled.as_ref(), count + 1)?;
            if rows.is_empty() && settled.as_ref().is_some_and(Resume::backward) {
                // Everything before the cursor is gone: the first page, from which the client
                // can go on.
                return Ok(cursor_page(q.read(c, None, count + 1)?, *count, None, total));
            }
            Ok(cursor_page(rows, *count, resume.as_ref(), total))
        }
    })
}

/// The candidates of an inexact plan in reading order (result order, or backwards from a
/// `previousCursor`), each with its position, at most `limit` of them (`-1`: all): the caller
/// re-checks them.
pub fn candidates(
    c: &Connection,
    realm_id: i64,
    kind: ResourceKind,
    plan: &QueryPlan,
    resume: Option<&Resume>,
    limit: i64,
) -> Result<Vec<(i64, Position)>> {
    let q = prepare(realm_id, kind, plan)?;
    snapshot(c, || {
        let settled = q.settle(c, resume)?;
        let backward = settled.as_ref().is_some_and(Resume::backward);
        let mut keys = Vec::new();
        for (i, from) in runs(q.phases.len(), settled.as_ref()) {
            let want = if limit < 0 { -1 } else { limit - keys.len() as i64 };
            if want == 0 {
                break;
            }
            keys.extend(q.keys(c, i, from, backward, want)?);
        }
        Ok(keys)
    })
}
