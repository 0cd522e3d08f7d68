//! `POST /Bulk` (RFC 7644 §3.7): many writes in one request.
//!
//! The engine reads the request (`parse-bulk`). The host orders the operations so that each
//! runs after the operations whose `bulkId` it refers to, puts the ids those created in place
//! of `bulkId:<id>`, and runs every operation as the same request would run on its own
//! endpoint (`resources::create_row`, `change_row`, `delete_row`): each is atomic, and a
//! failing one leaves nothing behind while the others commit.
//!
//! The operations whose references are settled run together: their writes reach the
//! group-commit writer together and share its transactions, which is what makes a bulk of
//! creates several times faster than as many POSTs. With `failOnErrors`, a round holds no
//! more operations than errors may still occur, and none that an operation still waiting
//! could precede, so the request stops right after the failure that reaches the limit, as if
//! the operations had run one by one (each time the first that waits for nothing). Operations
//! on the same resource, as their paths name it, run in the request's order.

use std::collections::{BTreeSet, HashMap, HashSet};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::resources::{self, Change};
use super::response::{self, IfMatch};
use super::{AppState, Scim};
use crate::auth::Need;
use crate::error::{Error, Result};
use crate::runtime::RealmEngine;
use crate::runtime::bindings::{BulkEntry, BulkMethod, BulkOperation, BulkRequest, ResourceKind};

pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// The prefix of a reference to the resource another operation created (§3.7.2).
const BULK_ID_PREFIX: &str = "bulkId:";

/// The most operations run together: enough to fill the writer's transactions.
const ROUND: usize = 256;

pub async fn bulk(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let scim = Scim::enter(&app, &realm, &headers, Need::Write)?;
    let body = resources::read_body(body, &headers, app.settings.max_body).await?;
    let engine = scim.engine()?;
    let request = engine.with(|s| s.parse_bulk(&body))?;
    check_request(&engine, &request)?;
    let mut run = Run::new(request.operations);
    let mut budget = request.fail_on_errors.map(|n| n as usize);
    loop {
        while budget != Some(0) {
            let round = run.next_round(budget.unwrap_or(usize::MAX).min(ROUND), budget.is_some());
            if round.is_empty() {
                break;
            }
            let outcomes = futures_util::future::join_all(round.iter().map(|&i| run.execute(&scim, &engine, i))).await;
            for (i, outcome) in round.into_iter().zip(outcomes) {
                if outcome.failed() {
                    budget = budget.map(|b| b.saturating_sub(1));
                }
                run.settle(i, outcome);
            }
        }
        // Nothing is ready, and what still waits, waits on itself: a circular reference
        // (§3.7.2). Its operations fail; what waited on them may run now.
        let circular = run.in_cycles();
        if budget == Some(0) || circular.is_empty() {
            break;
        }
        for i in circular {
            if budget == Some(0) {
                break;
            }
            let cycle = run.describe_cycle(i);
            run.settle(i, Outcome::error(Error::Conflict(format!("circular bulkId reference: {cycle}")), None));
            budget = budget.map(|b| b.saturating_sub(1));
        }
    }
    Ok(response::json(StatusCode::OK, run.response(&scim).to_string()))
}

/// What the engine read must be a request the host can run: no more operations than the realm
/// allows (the engine's own limit, enforced again here) and one operation per `bulkId`.
fn check_request(engine: &RealmEngine, request: &BulkRequest) -> Result<()> {
    let max = engine.config().max_operations as usize;
    if request.operations.len() > max {
        return Err(engine.fault(&format!(
            "parse-bulk gave {} operations, more than max-operations ({max})",
            request.operations.len()
        )));
    }
    let mut seen = HashSet::new();
    if let Some(id) = request.operations.iter().filter_map(bulk_id).find(|id| !seen.insert(*id)) {
        return Err(engine.fault(&format!("parse-bulk gave two operations the bulkId \"{id}\"")));
    }
    Ok(())
}

/// What became of one operation.
enum Outcome {
    Done { status: StatusCode, id: String, version: Option<i64> },
    Failed { status: StatusCode, response: Value, id: Option<String> },
}

impl Outcome {
    fn error(e: Error, id: Option<String>) -> Outcome {
        let (status, response) = e.into_scim_body();
        Outcome::Failed { status, response, id }
    }

    fn failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// The operations of one request, how they depend on each other, and what became of them.
struct Run {
    entries: Vec<BulkEntry>,
    /// For each operation, the operations whose resource it refers to.
    refers_to: Vec<Vec<usize>>,
    /// For each operation, the operations that wait for it (references and order).
    waiting: Vec<Vec<usize>>,
    /// For each operation, how many operations it still waits for.
    unsettled: Vec<usize>,
    /// Operations no longer waiting, run in the request's order.
    ready: BTreeSet<usize>,
    outcomes: Vec<Option<Outcome>>,
    /// The id of the resource each settled `bulkId` stands for.
    ids: HashMap<String, String>,
}

impl Run {
    fn new(entries: Vec<BulkEntry>) -> Run {
        let n = entries.len();
        let mut owner = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(id) = bulk_id(e) {
                owner.entry(id.to_string()).or_insert(i);
            }
        }
        let mut refers_to = vec![Vec::new(); n];
        let mut waiting = vec![Vec::new(); n];
        let mut unsettled = vec![0; n];
        // The last operation that addressed each resource, so that the next one runs after it.
        let mut last_on: HashMap<(ResourceKind, &str), usize> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let BulkEntry::Operation(op) = e else { continue };
            let mut after: Vec<usize> = op.references.iter().filter_map(|r| owner.get(r).copied()).collect();
            refers_to[i] = after.clone();
            if let Some(id) = op.id.as_deref()
                && let Some(previous) = last_on.insert((op.kind, id), i)
            {
                after.push(previous);
            }
            after.sort_unstable();
            after.dedup();
            for j in after {
                waiting[j].push(i);
                unsettled[i] += 1;
            }
        }
        let ready = (0..n).filter(|&i| unsettled[i] == 0).collect();
        Run {
            entries,
            refers_to,
            waiting,
            unsettled,
            ready,
            outcomes: (0..n).map(|_| None).collect(),
            ids: HashMap::new(),
        }
    }

    /// Up to `max` operations that wait for nothing, first in the request's order. `in_order`
    /// (with `failOnErrors`): only those that one-by-one execution (always the first ready
    /// operation next) would run before any operation still waiting, which might become ready
    /// and come first; at least one.
    fn next_round(&mut self, max: usize, in_order: bool) -> Vec<usize> {
        let first_waiting = in_order
            .then(|| (0..self.entries.len()).find(|i| self.outcomes[*i].is_none() && !self.ready.contains(i)))
            .flatten();
        let mut round: Vec<usize> =
            self.ready.iter().copied().take_while(|&i| first_waiting.is_none_or(|w| i < w)).take(max).collect();
        if round.is_empty() {
            round.extend(self.ready.first().copied());
        }
        for i in &round {
            self.ready.remove(i);
        }
        round
    }

    /// Runs one operation whose references are settled.
    async fn execute(&self, scim: &Scim, engine: &RealmEngine, i: usize) -> Outcome {
        let op = match &self.entries[i] {
            BulkEntry::Operation(op) => op,
            BulkEntry::Refused(r) => {
                let e = &r.error;
                // A refusal is the client's mistake: a 4xx, whatever the engine said.
                let status = if (400..500).contains(&e.status) { e.status } else { 400 };
                let e = Error::Scim { status, scim_type: e.scim_type.clone(), detail: e.detail.clone() };
                return Outcome::error(e, None);
            }
        };
        if let Some(&j) = self.refers_to[i].iter().find(|&&j| !matches!(self.outcomes[j], Some(Outcome::Done { .. }))) {
            let name = bulk_id(&self.entries[j]).unwrap_or_default();
            let e = Error::Conflict(format!(
                "operation {} (bulkId \"{name}\") failed, so \"{BULK_ID_PREFIX}{name}\" names no resource",
                j + 1
            ));
            return Outcome::error(e, None);
        }
        let id = op.id.as_deref().map(|id| self.resolve(id));
        match self.run_operation(scim, engine, op, id.as_deref()).await {
            Ok(done) => done,
            Err(e) => Outcome::error(e, id),
        }
    }

    async fn run_operation(
        &self,
        scim: &Scim,
        engine: &RealmEngine,
        op: &BulkOperation,
        id: Option<&str>,
    ) -> Result<Outcome> {
        let data = match &op.data {
            Some(d) if !op.references.is_empty() => self.substitute(d)?,
            Some(d) => d.clone(),
            None => String::new(),
        };
        let if_match = op.version.as_deref().map(IfMatch::version);
        let kind = op.kind;
        let missing_id = || Error::EngineFault(format!("parse-bulk gave a {} without an id", method_name(op.method)));
        Ok(match op.method {
            BulkMethod::Post => {
                let row = resources::create_row(scim, engine, kind, &data).await?;
                Outcome::Done { status: StatusCode::CREATED, id: row.id, version: Some(row.version) }
            }
            BulkMethod::Put | BulkMethod::Patch => {
                let how = if op.method == BulkMethod::Put { Change::Replace } else { Change::Patch };
                let id = id.ok_or_else(missing_id)?;
                let row = resources::change_row(scim, engine, kind, id, &data, how, if_match.as_ref()).await?;
                Outcome::Done { status: StatusCode::OK, id: row.id, version: Some(row.version) }
            }
            BulkMethod::Delete => {
                let id = id.ok_or_else(missing_id)?;
                resources::delete_row(scim, kind, id, if_match).await?;
                Outcome::Done { status: StatusCode::NO_CONTENT, id: id.to_string(), version: None }
            }
        })
    }

    /// An id as written in a path: `bulkId:<id>` stands for the resource that operation is about.
    fn resolve(&self, id: &str) -> String {
        id.strip_prefix(BULK_ID_PREFIX).and_then(|b| self.ids.get(b)).cloned().unwrap_or_else(|| id.to_string())
    }

    /// `data` with every string value `bulkId:<id>` replaced by the id it stands for.
    fn substitute(&self, data: &str) -> Result<String> {
        fn walk(v: &mut Value, ids: &HashMap<String, String>) {
            match v {
                Value::String(s) => {
                    if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|b| ids.get(b)) {
                        *s = id.clone();
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(|i| walk(i, ids)),
                Value::Object(o) => o.values_mut().for_each(|i| walk(i, ids)),
                _ => {}
            }
        }
        let mut v: Value = serde_json::from_str(data)
            .map_err(|e| Error::EngineFault(format!("parse-bulk gave data that is not JSON: {e}")))?;
        walk(&mut v, &self.ids);
        Ok(v.to_string())
    }

    /// Records an outcome and frees the operations that waited for it.
    fn settle(&mut self, i: usize, outcome: Outcome) {
        if let (Outcome::Done { id, .. }, Some(name)) = (&outcome, bulk_id(&self.entries[i])) {
            self.ids.insert(name.to_string(), id.clone());
        }
        self.outcomes[i] = Some(outcome);
        self.ready.remove(&i);
        for j in std::mem::take(&mut self.waiting[i]) {
            // An operation of a cycle may be settled before one it waits for.
            if self.outcomes[j].is_some() {
                continue;
            }
            self.unsettled[j] -= 1;
            if self.unsettled[j] == 0 {
                self.ready.insert(j);
            }
        }
    }

    /// The waiting operations that wait on themselves, in the request's order.
    fn in_cycles(&self) -> Vec<usize> {
        (0..self.entries.len()).filter(|&i| self.outcomes[i].is_none() && self.waits_on_itself(i)).collect()
    }

    fn waits_on_itself(&self, i: usize) -> bool {
        let mut seen = vec![false; self.entries.len()];
        let mut stack = self.waiting[i].clone();
        while let Some(j) = stack.pop() {
            if j == i {
                return true;
            }
            if !seen[j] && self.outcomes[j].is_none() {
                seen[j] = true;
                stack.extend(&self.waiting[j]);
            }
        }
        false
    }

    /// The chain of references from `i` back to an operation seen before, e.g. `a → b → a`.
    fn describe_cycle(&self, i: usize) -> String {
        let mut chain = vec![i];
        let mut at = i;
        while let Some(&next) = self.refers_to[at].iter().find(|&&j| self.outcomes[j].is_none()) {
            let seen = chain.contains(&next);
            chain.push(next);
            if seen || chain.len() > 16 {
                break;
            }
            at = next;
        }
        let name = |j: usize| match bulk_id(&self.entries[j]) {
            Some(b) => format!("\"{b}\""),
            None => format!("operation {}", j + 1),
        };
        chain.into_iter().map(name).collect::<Vec<_>>().join(" → ")
    }

    /// The `BulkResponse`: one entry per operation that ran, in the request's order (§3.7.3).
    fn response(self, scim: &Scim) -> Value {
        let mut operations = Vec::new();
        for (entry, outcome) in self.entries.iter().zip(self.outcomes) {
            let Some(outcome) = outcome else { continue };
            let mut o = Map::new();
            let method = match entry {
                BulkEntry::Operation(op) => Some(method_name(op.method).to_string()),
                BulkEntry::Refused(r) => r.method.clone(),
            };
            if let Some(m) = method {
                o.insert("method".into(), json!(m));
            }
            if let Some(b) = bulk_id(entry) {
                o.insert("bulkId".into(), json!(b));
            }
            let kind = match entry {
                BulkEntry::Operation(op) => Some(op.kind),
                BulkEntry::Refused(_) => None,
            };
            let location = |id: &str| kind.map(|k| format!("{}/{}/{id}", scim.ctx.base_url, k.endpoint()));
            match outcome {
                Outcome::Done { status, id, version } => {
                    if let Some(l) = location(&id) {
                        o.insert("location".into(), json!(l));
                    }
                    if let Some(v) = version {
                        o.insert("version".into(), json!(response::etag(v)));
                    }
                    o.insert("status".into(), json!(status.as_u16().to_string()));
                }
                Outcome::Failed { status, response, id } => {
                    if let Some(l) = id.as_deref().and_then(location) {
                        o.insert("location".into(), json!(l));
                    }
                    o.insert("status".into(), json!(status.as_u16().to_string()));
                    o.insert("response".into(), response);
                }
            }
            operations.push(Value::Object(o));
        }
        json!({"schemas": [BULK_RESPONSE], "Operations": operations})
    }
}

fn bulk_id(e: &BulkEntry) -> Option<&str> {
    match e {
        BulkEntry::Operation(op) => op.bulk_id.as_deref(),
        BulkEntry::Refused(r) => r.bulk_id.as_deref(),
    }
}

fn method_name(m: BulkMethod) -> &'static str {
    match m {
        BulkMethod::Post => "POST",
        BulkMethod::Put => "PUT",
        BulkMethod::Patch => "PATCH",
        BulkMethod::Delete => "DELETE",
    }
}
