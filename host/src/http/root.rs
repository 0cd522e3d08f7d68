//! Queries at the server root (RFC 7644 §3.4.2, §3.4.3): `GET /?filter=…` and `POST /.search`
//! over every resource type the token may list, Users and Groups in one `ListResponse`.
//!
//! Each resource type is planned by the engine for the root (`plan-root-query`): an attribute
//! the type lacks but the other type has is absent from it, so `userName eq "x" or displayName
//! eq "g"` finds the user and the group (RFC 7644 §3.4.2.2), and a `sortBy` on it leaves the
//! type's resources unsorted, after those that have the attribute. An attribute no type has
//! is an invalid filter. (A 0.1 engine plans as on the type's endpoint: a type for which it
//! refuses the filter takes no part.) Unsorted, the results are the
//! Users, then the Groups, and a page is taken across both from their totals, reading no more
//! than the page. Sorted, each type gives its first `startIndex + count - 1` resources in
//! order and the host merges them by the values the sort reads, so a page deep in a sorted
//! root query costs its depth (hence `SORTED_DEPTH`). Cursors (RFC 9865) page one resource type at a time, so the
//! root takes `startIndex` only.

use std::cmp::Ordering;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::params::Params;
use super::resources::{Filter, page_items, read_body, read_page};
use super::response;
use super::{AppState, Scim};
use crate::auth::Need;
use crate::error::{Error, Result};
use crate::runtime::bindings::{Field, Model, PageItem, Projection, QueryPlan, ResourceKind};
use crate::store::{PageRequest, Paging, Row};

/// How many pages deep a sorted root query may go (`startIndex + count - 1` at most this many
/// times `maxResults`): each type reads that many rows, which the host merges in memory.
const SORTED_DEPTH: i64 = 10;

pub async fn list(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let scim = Scim::enter(&app, &realm, &headers, Need::Discovery)?;
    query_root(&scim, Params::parse(query.as_deref())?)
}

pub async fn search(
    State(app): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let scim = Scim::enter(&app, &realm, &headers, Need::Discovery)?;
    let body = read_body(body, &headers, app.settings.max_body).await?;
    let req = scim.engine()?.with(|s| s.parse_search(&body))?;
    query_root(&scim, Params::from(req))
}

/// One resource type's share of a root query.
struct Part {
    kind: ResourceKind,
    plan: QueryPlan,
    projection: Projection,
    /// Whether the type has the `sortBy` attribute (its plan sorts by it).
    sorted: bool,
}

fn query_root(scim: &Scim, params: Params) -> Result<Response> {
    if params.cursor.is_some() {
        return Err(Error::InvalidValue(
            "cursors page one resource type at a time (RFC 9865); at the server root, page with startIndex".into(),
        ));
    }
    let kinds: Vec<ResourceKind> = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .filter(|k| scim.principal.require(Need::List(*k)).is_ok())
        .collect();
    if kinds.is_empty() {
        return Err(Error::Forbidden(
            "a query at the server root needs query-users, query-groups, view-users or manage-users".into(),
        ));
    }
    let page = params.page(scim.app.settings.max_results);
    let engine = scim.engine()?;
    engine.with(|s| {
        let (attributes, excluded) = (params.attributes.as_deref(), params.excluded_attributes.as_deref());
        let (filter, sort_by, sort_order) =
            (params.filter.as_deref(), params.sort_by.as_deref(), params.sort_order.as_deref());
        let mut parts = Vec::new();
        let mut refusal = None;
        for kind in kinds {
            let planned = s.plan_root_query(kind, filter, sort_by, sort_order).or_else(|e| {
                // A 0.1 engine plans as on the type's endpoint: without the sort, a type that
                // lacks only the sort attribute still takes part. (A 0.2 engine leaves such a
                // type unsorted itself, so its refusal stands.)
                match sort_by {
                    Some(_) if s.is_v0_1() => s.plan_root_query(kind, filter, None, sort_order).map_err(|_| e),
                    _ => Err(e),
                }
            });
            let planned = planned.map(|p| {
                let sorted = p.sort.is_some();
                (p, sorted)
            });
            let projection = s
                .projection(kind, attributes, excluded)
                .or_else(|e| s.projection(kind, Some("id"), None).map_err(|_| e));
            match (planned, projection) {
                (Ok((plan, sorted)), Ok(projection)) => parts.push(Part { kind, plan, projection, sorted }),
                (Err(e), _) | (_, Err(e)) => refusal = refusal.or(Some(e)),
            }
        }
        if parts.is_empty() {
            return Err(refusal.unwrap_or_else(|| Error::Internal("no resource type to query".into())));
        }
        let recheck = Filter { text: filter.unwrap_or_default(), at_root: true };
        let offset = (page.start_index - 1) as usize;
        let mut total = 0i64;
        let mut chosen: Vec<(usize, Row)> = Vec::new();
        if parts.iter().any(|p| p.sorted) {
            let cap = i64::from(scim.app.settings.max_results) * SORTED_DEPTH;
            let depth =
                page.start_index.checked_add(page.count - 1).filter(|d| *d <= cap).ok_or_else(|| Error::Scim {
                    status: 400,
                    scim_type: Some("tooMany".into()),
                    detail: format!(
                        "a sorted query at the server root reads startIndex + count - 1 resources of each type, \
                     at most {cap}; sort a resource type's own endpoint, or page by cursor there"
                    ),
                })?;
            let depth = PageRequest { start_index: 1, count: depth };
            let mut all = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let p = read_page(scim, s, part.kind, &part.plan, recheck, &Paging::Index(depth))?;
                total += p.total.unwrap_or(0);
                all.extend(p.rows.into_iter().map(|r| (i, r)));
            }
            let descending = parts.iter().find_map(|p| p.plan.sort.as_ref()).is_some_and(|k| k.descending);
            let mut keyed: Vec<(Option<SortValue>, (usize, Row))> =
                all.into_iter().map(|(i, row)| (sort_value(&parts[i], &row), (i, row))).collect();
            // Stable: within a type the store's order stands; Users come before Groups on ties.
            keyed.sort_by(|a, b| compare(a.0.as_ref(), b.0.as_ref(), descending));
            chosen = keyed.into_iter().map(|(_, r)| r).skip(offset).take(page.count as usize).collect();
        } else {
            let mut skip = offset as i64;
            for (i, part) in parts.iter().enumerate() {
                let want = page.count - chosen.len() as i64;
                let req = PageRequest { start_index: skip + 1, count: want.max(0) };
                let p = read_page(scim, s, part.kind, &part.plan, recheck, &Paging::Index(req))?;
                let here = p.total.unwrap_or(0);
                total += here;
                skip = (skip - here).max(0);
                chosen.extend(p.rows.into_iter().map(|r| (i, r)));
            }
        }
        // Each type's resources rendered under its projection, then put back in order.
        let mut rendered: Vec<Option<String>> = vec![None; chosen.len()];
        for (i, part) in parts.iter().enumerate() {
            let at: Vec<usize> = (0..chosen.len()).filter(|&j| chosen[j].0 == i).collect();
            let rows: Vec<Row> = at.iter().map(|&j| chosen[j].1.clone()).collect();
            let items: Vec<PageItem> = page_items(scim, part.kind, &part.projection, rows)?;
            for (j, r) in at.into_iter().zip(s.render_page(&scim.ctx, &items, &part.projection)?) {
                rendered[j] = Some(r);
            }
        }
        let rendered: Vec<String> = rendered.into_iter().flatten().collect();
        Ok(response::list(Some(total), Some(page.start_index), response::Cursors::default(), &rendered))
    })
}

/// A value a sort compares.
#[derive(PartialEq, PartialOrd)]
enum SortValue {
    Number(i64),
    Text(String),
}

/// The value of `row` the part's sort reads: what the store sorts that type by.
fn sort_value(part: &Part, row: &Row) -> Option<SortValue> {
    let key = part.plan.sort.as_ref().filter(|_| part.sorted)?;
    let text = |t: &str| Some(SortValue::Text(if key.case_insensitive { t.to_lowercase() } else { t.to_string() }));
    match (&key.field, &row.model) {
        (Field::Id, _) => text(&row.id),
        (Field::Created, _) => Some(SortValue::Number(row.created)),
        (Field::LastModified, _) => Some(SortValue::Number(row.last_modified)),
        (Field::Name, Model::User(u)) => text(&u.username),
        (Field::Name, Model::Group(g)) => text(&g.name),
        (Field::Email, Model::User(u)) => u.email.as_deref().and_then(text),
        (Field::FirstName, Model::User(u)) => u.first_name.as_deref().and_then(text),
        (Field::LastName, Model::User(u)) => u.last_name.as_deref().and_then(text),
        (Field::Enabled, Model::User(u)) => Some(SortValue::Number(i64::from(u.enabled))),
        (Field::Attribute(name), model) => crate::store::attributes_of(model)
            .iter()
            .find(|a| &a.name == name)
            .and_then(|a| a.values.iter().min())
            .and_then(|v| text(v)),
        _ => None,
    }
}

/// Sort order with resources that lack the value last, in either direction.
fn compare(a: Option<&SortValue>, b: Option<&SortValue>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if descending { o.reverse() } else { o }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
