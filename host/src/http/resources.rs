//! `/Users` and `/Groups`: create, read, list, search, replace, patch, delete (RFC 7644 §3).
//!
//! The engine decides what a request means; the host assigns ids and times, runs the write
//! in one transaction, and renders the result through the engine again. Replace and patch
//! are optimistic: the write applies only if the version read is still current, otherwise
//! the request is re-run on the new version.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::params::Params;
use super::prefer::Return;
use super::response::{self, IfMatch, if_none_match};
use super::{AppState, Scim, heavy, read_bytes};
use crate::auth::Need;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;

use super::cursor::Binding;
use super::streamed;
use crate::runtime::bindings::{Candidate, Meta, PageItem, Projection, Relation, ResourceKind, Stored, Write};
use crate::runtime::{RealmEngine, Session};
use crate::store::{self, Compatibility, Page, Paging, Position, Resume, Row, events, now_ms};

/// How many times a replace or patch is re-run when a concurrent write wins.
const WRITE_ATTEMPTS: usize = 5;
/// Candidates re-checked per guest call for inexact plans.
const MATCH_BATCH: usize = 256;

fn location(scim: &Scim, kind: ResourceKind, id: &str) -> String {
    format!("{}/{}/{id}", scim.ctx.base_url, kind.endpoint())
}

/// What the engine sees of a row: the row, with `meta` as clients see it.
fn stored(scim: &Scim, kind: ResourceKind, row: Row) -> Stored {
    let location = location(scim, kind, &row.id);
    Stored {
        id: row.id,
        model: row.model,
        meta: Meta {
            created: store::format_ms(row.created),
            last_modified: store::format_ms(row.last_modified),
            version: response::etag(row.version),
            location,
        },
    }
}

fn not_found(kind: ResourceKind, id: &str) -> Error {
    Error::NotFound(format!("{} '{id}' does not exist", kind.resource_type()))
}

pub(super) async fn read_body(body: Body, headers: &HeaderMap, limit: u64) -> Result<String> {
    let bytes = read_bytes(body, headers, limit).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Scim {
        status: 400,
        scim_type: Some("invalidSyntax".into()),
        detail: "the request body is not UTF-8".into(),
    })
}

/// The kind a request addresses. Entra realms take the endpoint in any case (Microsoft's
/// reference tests send `/users`); strict ones only as RFC 7644 §3.2 spells it. The realm is
/// looked at only when the exact spelling did not match.
fn kind_at(app: &AppState, realm: &str, segment: &str) -> Result<ResourceKind> {
    ResourceKind::from_endpoint(segment).or_else(|unknown| {
        let lenient = app.realms.find(realm).ok().flatten().is_some_and(|r| r.compatibility == Compatibility::Entra);
        ResourceKind::from_endpoint_ignoring_case(segment).filter(|_| lenient).ok_or(unknown)
    })
}

fn relations_of(scim: &Scim, kind: ResourceKind, pk: i64) -> Result<Vec<Relation>> {
    scim.app.store.read(|c| store::relations(c, kind, pk))
}

/// A row as the engine renders it: a protected one (holding an administrative role, see
/// `store::protection`) only in its minimal form, whatever was asked, and without relations.
fn page_item(scim: &Scim, kind: ResourceKind, row: Row, relations: Vec<Relation>) -> PageItem {
    let minimal = row.protected;
    PageItem { stored: stored(scim, kind, row), relations: if minimal { Vec::new() } else { relations }, minimal }
}

/// Renders one row under a projection.
fn render(scim: &Scim, s: &mut Session<'_>, kind: ResourceKind, row: Row, projection: &Projection) -> Result<String> {
    let relations = if projection.include_relations && row.may_have_relations() && !row.protected {
        relations_of(scim, kind, row.pk)?
    } else {
        Vec::new()
    };
    render_one(scim, s, page_item(scim, kind, row, relations), projection)
}

fn render_one(scim: &Scim, s: &mut Session<'_>, item: PageItem, projection: &Projection) -> Result<String> {
    s.render_page(&scim.ctx, std::slice::from_ref(&item), projection)?
        .pop()
        .ok_or_else(|| Error::EngineFault("render-page answered nothing for one resource".into()))
}

/// The hash of a password the engine found in a write, through the server's bounded hasher
/// (see `auth::password`).
async fn password_hash(app: &AppState, write: &Write) -> Result<Option<String>> {
    match &write.password {
        Some(p) => app.passwords.hash(p.clone()).await.map(Some),
        None => Ok(None),
    }
}

pub async fn get_one(
    State(app): State<AppState>,
    Path((realm, resource, id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let kind = kind_at(&app, &realm, &resource)?;
    let scim = Scim::enter(&app, &realm, &headers, Need::Read)?;
    let params = Params::parse(query.as_deref())?;
    let engine = scim.engine()?;
    engine.with(|s| {
        let projection = s.projection(kind, params.attributes.as_deref(), params.excluded_attributes.as_deref())?;
        if kind == ResourceKind::Group && projection.include_relations {
            return get_group(&scim, s, &engine, &id, &headers, projection);
        }
        let (row, relations) = scim.app.store.read(|c| {
            let row = store::find(c, scim.realm.id, kind, &id)?.ok_or_else(|| not_found(kind, &id))?;
            let relations = if projection.include_relations && row.may_have_relations() && !row.protected {
                store::relations(c, kind, row.pk)?
            } else {
                Vec::new()
            };
            Ok((row, relations))
        })?;
        if if_none_match(&headers, row.version) {
            return Ok(response::not_modified(row.version));
        }
        let (version, location) = (row.version, location(&scim, kind, &row.id));
        let body = render_one(&scim, s, page_item(&scim, kind, row, relations), &projection)?;
        Ok(response::resource(StatusCode::OK, body, version, &location))
    })
}

/// A group with its members, read from one snapshot: whole, or streamed when it has more than
/// `streamed::STREAM_AT` members and the engine gives a frame for them.
fn get_group(
    scim: &Scim,
    s: &mut Session<'_>,
    engine: &Arc<RealmEngine>,
    id: &str,
    headers: &HeaderMap,
    projection: Projection,
) -> Result<Response> {
    let kind = ResourceKind::Group;
    let snapshot = scim.app.store.snapshot()?;
    let row = store::find(snapshot.conn(), scim.realm.id, kind, id)?.ok_or_else(|| not_found(kind, id))?;
    if if_none_match(headers, row.version) {
        return Ok(response::not_modified(row.version));
    }
    let (pk, version, location) = (row.pk, row.version, location(scim, kind, &row.id));
    if !row.protected && store::has_more_members(snapshot.conn(), pk, streamed::STREAM_AT)? {
        let item = page_item(scim, kind, row.clone(), Vec::new());
        if let Some(frame) = s.render_frame(&scim.ctx, &item, &projection)? {
            let group =
                streamed::Group { snapshot, engine: engine.clone(), ctx: scim.ctx.clone(), pk, frame, projection };
            return Ok(streamed::group(group, version, &location));
        }
    }
    let relations = if row.protected { Vec::new() } else { store::relations(snapshot.conn(), kind, pk)? };
    drop(snapshot);
    let body = render_one(scim, s, page_item(scim, kind, row, relations), &projection)?;
    Ok(response::resource(StatusCode::OK, body, version, &location))
}

fn find(scim: &Scim, kind: ResourceKind, id: &str) -> Result<Row> {
    scim.app.store.read(|c| store::find(c, scim.realm.id, kind, id))?.ok_or_else(|| not_found(kind, id))
}

pub async fn list(
    State(app): State<AppState>,
    Path((realm, resource)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let kind = kind_at(&app, &realm, &resource)?;
    let scim = Scim::enter(&app, &realm, &headers, Need::List(kind))?;
    let params = Params::parse(query.as_deref())?;
    query_resources(&scim, kind, params)
}

pub async fn search(
    State(app): State<AppState>,
    Path((realm, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let kind = kind_at(&app, &realm, &resource)?;
    let scim = Scim::enter(&app, &realm, &headers, Need::List(kind))?;
    let body = read_body(body, &headers, app.settings.max_body).await?;
    let req = scim.engine()?.with(|s| s.parse_search(&body))?;
    query_resources(&scim, kind, Params::from(req))
}

/// How a list or search is paged: by index, or by an RFC 9865 cursor (opened here, so that
/// a cursor of another realm, query or resource type is refused before any read).
fn paging(scim: &Scim, kind: ResourceKind, params: &Params) -> Result<(Paging, Option<Binding>)> {
    let max = scim.app.settings.max_results;
    let Some(cursor) = &params.cursor else {
        return Ok((Paging::Index(params.page(max)), None));
    };
    if params.start_index.is_some() {
        return Err(Error::InvalidValue(
            "'startIndex' and 'cursor' cannot be used together: page by index or by cursor".into(),
        ));
    }
    let binding = Binding::new(
        scim.realm.id,
        kind,
        params.filter.as_deref(),
        params.sort_by.as_deref(),
        params.sort_order.as_deref(),
    );
    let resume = match cursor.as_str() {
        "" => None,
        c => Some(scim.app.cursors.open(&binding, c, now_ms())?),
    };
    Ok((Paging::Cursor { resume, count: params.count(max) }, Some(binding)))
}

/// A list or search: plan with the engine, run over the store, re-check when inexact,
/// render the page.
fn query_resources(scim: &Scim, kind: ResourceKind, params: Params) -> Result<Response> {
    let (paging, binding) = paging(scim, kind, &params)?;
    let engine = scim.engine()?;
    engine.with(|s| {
        let projection = s.projection(kind, params.attributes.as_deref(), params.excluded_attributes.as_deref())?;
        let plan =
            s.plan_query(kind, params.filter.as_deref(), params.sort_by.as_deref(), params.sort_order.as_deref())?;
        let filter = Filter { text: params.filter.as_deref().unwrap_or_default(), at_root: false };
        let page = read_page(scim, s, kind, &plan, filter, &paging)?;
        let items = page_items(scim, kind, &projection, page.rows)?;
        let rendered = s.render_page(&scim.ctx, &items, &projection)?;
        Ok(match (&paging, binding) {
            (Paging::Index(req), _) => {
                response::list(page.total, Some(req.start_index), response::Cursors::default(), &rendered)
            }
            (Paging::Cursor { .. }, binding) => {
                let now = now_ms();
                let seal = |resume: Option<Resume>| {
                    resume.zip(binding.as_ref()).map(|(r, b)| scim.app.cursors.seal(b, &r, now))
                };
                let next = seal(page.next.map(Resume::After));
                let previous = seal(page.previous.map(Resume::Before));
                response::list(page.total, None, response::Cursors { next, previous }, &rendered)
            }
        })
    })
}

/// The filter of a list or search, for the engine's re-check of an inexact plan, and where it
/// was asked: at the server root the engine reads another type's attributes as absent.
#[derive(Clone, Copy)]
pub(super) struct Filter<'a> {
    pub text: &'a str,
    pub at_root: bool,
}

/// One page of a kind's resources matching a plan: from the store alone when the plan is
/// exact (the page and its total agree, see `run_exact`), re-checked by the engine otherwise.
pub(super) fn read_page(
    scim: &Scim,
    s: &mut Session<'_>,
    kind: ResourceKind,
    plan: &crate::runtime::bindings::QueryPlan,
    filter: Filter<'_>,
    paging: &Paging,
) -> Result<Page> {
    if plan.exact {
        scim.app.store.read(|c| store::run_exact(c, scim.realm.id, kind, plan, paging))
    } else {
        recheck(scim, s, kind, plan, filter, paging)
    }
}

/// A page's rows as the engine renders them, with their relations when the projection shows
/// them (read right after the page).
pub(super) fn page_items(
    scim: &Scim,
    kind: ResourceKind,
    projection: &Projection,
    rows: Vec<Row>,
) -> Result<Vec<PageItem>> {
    let pks: Vec<i64> = rows
        .iter()
        .filter(|r| projection.include_relations && r.may_have_relations() && !r.protected)
        .map(|r| r.pk)
        .collect();
    let mut relations =
        if pks.is_empty() { HashMap::new() } else { scim.app.store.read(|c| store::relations_many(c, kind, &pks))? };
    Ok(rows
        .into_iter()
        .map(|row| {
            let rel = relations.remove(&row.pk).unwrap_or_default();
            page_item(scim, kind, row, rel)
        })
        .collect())
}

/// Runs an inexact plan: fetches candidates, asks the engine which match, pages the result.
fn recheck(
    scim: &Scim,
    s: &mut Session<'_>,
    kind: ResourceKind,
    plan: &crate::runtime::bindings::QueryPlan,
    filter: Filter<'_>,
    paging: &Paging,
) -> Result<Page> {
    match paging {
        Paging::Cursor { resume, count } if *count > 0 => {
            let page = recheck_by_cursor(scim, s, kind, plan, filter, resume.as_ref(), *count)?;
            if page.rows.is_empty() && resume.as_ref().is_some_and(Resume::backward) {
                // Everything before the cursor is gone: the first page, from which the client
                // can go on.
                return recheck_by_cursor(scim, s, kind, plan, filter, None, *count);
            }
            Ok(page)
        }
        // An index page, or `count=0` (the total alone): every match is counted.
        _ => {
            let (first, count) = match paging {
                Paging::Index(p) => ((p.start_index - 1) as usize, p.count),
                Paging::Cursor { .. } => (0, 0),
            };
            let candidates = scim.app.store.read(|c| store::candidates(c, scim.realm.id, kind, plan, None, -1))?;
            let count_all = |s: &mut Session<'_>| {
                let (mut total, mut rows) = (0i64, Vec::new());
                for chunk in candidates.chunks(MATCH_BATCH) {
                    for (row, _) in matching(scim, s, kind, filter, plan.recheck_needs_relations, chunk)? {
                        if (total as usize) >= first && (rows.len() as i64) < count {
                            rows.push(row);
                        }
                        total += 1;
                    }
                }
                Ok(Page { total: Some(total), rows, next: None, previous: None })
            };
            if candidates.len() > MATCH_BATCH { heavy(|| count_all(s)) } else { count_all(s) }
        }
    }
}

/// A cursor page of an inexact plan: candidates are read in keyset batches from the cursor's
/// position, in its direction, until one match more than the page is found (another page
/// follows) or none are left, so a page costs what it reads, not the realm's size.
fn recheck_by_cursor(
    scim: &Scim,
    s: &mut Session<'_>,
    kind: ResourceKind,
    plan: &crate::runtime::bindings::QueryPlan,
    filter: Filter<'_>,
    resume: Option<&Resume>,
    count: i64,
) -> Result<Page> {
    let mut from = resume.cloned();
    let mut matched: Vec<(Row, Position)> = Vec::new();
    let mut batches = 0usize;
    loop {
        let batch = scim
            .app
            .store
            .read(|c| store::candidates(c, scim.realm.id, kind, plan, from.as_ref(), MATCH_BATCH as i64))?;
        let Some((_, last)) = batch.last().cloned() else { break };
        let full = batch.len() == MATCH_BATCH;
        let check = |s: &mut Session<'_>| matching(scim, s, kind, filter, plan.recheck_needs_relations, &batch);
        // Past the first batch a sparse filter may read on for a while: off the worker.
        matched.extend(if batches > 0 { heavy(|| check(s))? } else { check(s)? });
        batches += 1;
        if matched.len() as i64 > count || !full {
            break;
        }
        from = Some(match &from {
            Some(r) => r.from(last),
            None => Resume::After(last),
        });
    }
    Ok(store::cursor_page(matched, count, resume, None))
}

/// The candidates of one batch that match the filter, by the engine, in the batch's order,
/// with their positions (rows deleted since the candidates were read are left out).
fn matching(
    scim: &Scim,
    s: &mut Session<'_>,
    kind: ResourceKind,
    filter: Filter<'_>,
    needs_relations: bool,
    chunk: &[(i64, Position)],
) -> Result<Vec<(Row, Position)>> {
    let store = &scim.app.store;
    let pks: Vec<i64> = chunk.iter().map(|(pk, _)| *pk).collect();
    let batch = store.read(|c| store::load(c, kind, &pks))?;
    let mut relations =
        if needs_relations { store.read(|c| store::relations_many(c, kind, &pks))? } else { Default::default() };
    let candidates: Vec<Candidate> = batch
        .iter()
        .map(|row| Candidate {
            stored: stored(scim, kind, row.clone()),
            relations: relations.remove(&row.pk).unwrap_or_default(),
        })
        .collect();
    let verdicts = if filter.at_root {
        s.matches_at_root(kind, filter.text, &candidates)?
    } else {
        s.matches(kind, filter.text, &candidates)?
    };
    if verdicts.len() != batch.len() {
        return Err(Error::EngineFault(format!(
            "matches answered {} times for {} candidates",
            verdicts.len(),
            batch.len()
        )));
    }
    let mut positions: HashMap<i64, Position> = chunk.iter().cloned().collect();
    Ok(batch
        .into_iter()
        .zip(verdicts)
        .filter(|(_, ok)| *ok)
        .filter_map(|(row, _)| positions.remove(&row.pk).map(|at| (row, at)))
        .collect())
}

pub async fn create(
    State(app): State<AppState>,
    Path((realm, resource)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let kind = kind_at(&app, &realm, &resource)?;
    let scim = Scim::enter(&app, &realm, &headers, Need::Write)?;
    let params = Params::parse(query.as_deref())?;
    let prefer = Return::of(&headers);
    let body = read_body(body, &headers, app.settings.max_body).await?;
    let engine = scim.engine()?;
    let projection =
        engine.with(|s| s.projection(kind, params.attributes.as_deref(), params.excluded_attributes.as_deref()))?;
    let row = create_row(&scim, &engine, kind, &body).await?;
    let location = location(&scim, kind, &row.id);
    if prefer == Return::Minimal {
        return Ok(prefer.applied(response::created_minimal(1, &location)));
    }
    let body = engine.with(|s| render(&scim, s, kind, row, &projection))?;
    Ok(prefer.applied(response::resource(StatusCode::CREATED, body, 1, &location)))
}

/// Creates a resource from a POST body (a request's or a bulk operation's): the engine reads
/// it, the host gives it an id and stores it in one write.
pub(super) async fn create_row(scim: &Scim, engine: &RealmEngine, kind: ResourceKind, body: &str) -> Result<Row> {
    let write = engine.with(|s| s.create_resource(&scim.ctx, kind, body))?;
    check_write(engine, &write, kind)?;
    let hash = password_hash(&scim.app, &write).await?;
    let (id, now, realm_id) = (uuid::Uuid::new_v4().to_string(), now_ms(), scim.realm.id);
    let Write { model, members, .. } = write;
    let actor = scim.principal.actor();
    scim.app
        .store
        .write(move |c| {
            let pk = store::insert(c, realm_id, &id, &model, now, hash.as_deref())?;
            if let Some(m) = &members {
                store::apply_members(c, realm_id, pk, &id, m, now)?;
            }
            events::record(c, realm_id, &actor, "CREATE", kind.event_type(), &kind.event_path(&id), None)?;
            Ok(Row {
                pk,
                id: id.clone(),
                model: model.clone(),
                created: now,
                last_modified: now,
                version: 1,
                member_of: 0,
                protected: false,
            })
        })
        .await
}

/// What the engine wrote must be of the kind asked for, and only groups have members: a
/// user's "member changes" would be applied to the group that shares its internal key. Each
/// attribute is written once (the store keeps one row per value and position).
fn check_write(engine: &RealmEngine, write: &Write, kind: ResourceKind) -> Result<()> {
    if store::kind_of_model(&write.model) != kind {
        return Err(engine.fault("the engine returned a model of the wrong kind"));
    }
    if kind == ResourceKind::User && write.members.is_some() {
        return Err(engine.fault("the engine returned member changes for a user"));
    }
    if let Some(name) = store::repeated_attribute(store::attributes_of(&write.model)) {
        return Err(engine.fault(&format!("the engine wrote attribute '{name}' twice")));
    }
    Ok(())
}

pub async fn replace(
    State(app): State<AppState>,
    Path((realm, resource, id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    update(app, realm, resource, id, query, headers, body, Change::Replace).await
}

pub async fn patch(
    State(app): State<AppState>,
    Path((realm, resource, id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    update(app, realm, resource, id, query, headers, body, Change::Patch).await
}

/// What a write does to an existing resource.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Replace,
    Patch,
}

#[allow(clippy::too_many_arguments)]
async fn update(
    app: AppState,
    realm: String,
    resource: String,
    id: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
    change: Change,
) -> Result<Response> {
    let kind = kind_at(&app, &realm, &resource)?;
    let scim = Scim::enter(&app, &realm, &headers, Need::Write)?;
    let params = Params::parse(query.as_deref())?;
    let prefer = Return::of(&headers);
    let body = read_body(body, &headers, app.settings.max_body).await?;
    let engine = scim.engine()?;
    let projection =
        engine.with(|s| s.projection(kind, params.attributes.as_deref(), params.excluded_attributes.as_deref()))?;
    let row = change_row(&scim, &engine, kind, &id, &body, change, IfMatch::of(&headers).as_ref()).await?;
    // What the client asked for (RFC 7240) decides. Unsaid, a group PATCH in an entra
    // realm answers 204, as Entra expects, unless attributes were asked for; strict
    // realms answer every write with the resource (RFC 7644 §3.5.2).
    let asked = params.attributes.is_some() || params.excluded_attributes.is_some();
    let minimal = match prefer {
        Return::Minimal => true,
        Return::Representation => false,
        Return::Unstated => {
            change == Change::Patch
                && kind == ResourceKind::Group
                && !asked
                && scim.realm.compatibility == Compatibility::Entra
        }
    };
    if minimal {
        return Ok(prefer.applied(response::no_content(Some(row.version))));
    }
    if kind == ResourceKind::Group && projection.include_relations {
        // As a GET renders it: a group of 100k members is streamed, never held whole.
        let id = row.id.clone();
        return match engine.with(|s| get_group(&scim, s, &engine, &id, &HeaderMap::new(), projection)) {
            // Deleted by another request since this write committed: the write still happened.
            Err(Error::NotFound(_)) => Ok(response::no_content(Some(row.version))),
            other => other.map(|r| prefer.applied(r)),
        };
    }
    let (version, location) = (row.version, location(&scim, kind, &row.id));
    let body = engine.with(|s| render(&scim, s, kind, row, &projection))?;
    Ok(prefer.applied(response::resource(StatusCode::OK, body, version, &location)))
}

/// Replaces or patches a resource (for a request or a bulk operation), on the version
/// `if_match` names when given. The engine applies the body to the version read; the write
/// commits only if that version is still current, otherwise it is re-run on the new one.
pub(super) async fn change_row(
    scim: &Scim,
    engine: &RealmEngine,
    kind: ResourceKind,
    id: &str,
    body: &str,
    change: Change,
    if_match: Option<&IfMatch>,
) -> Result<Row> {
    for _ in 0..WRITE_ATTEMPTS {
        let current = find(scim, kind, id)?;
        if current.protected {
            return Err(store::protected_error(kind, id));
        }
        if let Some(m) = if_match {
            m.check(current.version)?;
        }
        let write = engine.with(|s| {
            let before = stored(scim, kind, current.clone());
            match change {
                Change::Replace => s.replace(&scim.ctx, &before, body),
                Change::Patch => s.patch(&scim.ctx, &before, body),
            }
        })?;
        check_write(engine, &write, kind)?;
        let hash = password_hash(&scim.app, &write).await?;
        let (now, realm_id) = (now_ms(), scim.realm.id);
        let Write { model, members, .. } = write;
        let actor = scim.principal.actor();
        let written = scim
            .app
            .store
            .write(move |c| {
                let version = store::update(
                    c,
                    realm_id,
                    current.pk,
                    &current.model,
                    &model,
                    current.version,
                    now,
                    hash.as_deref(),
                )?;
                let Some(version) = version else { return Ok(None) };
                if let Some(m) = &members {
                    store::apply_members(c, realm_id, current.pk, &current.id, m, now)?;
                }
                events::record(c, realm_id, &actor, "UPDATE", kind.event_type(), &kind.event_path(&current.id), None)?;
                Ok(Some(Row { model: model.clone(), last_modified: now, version, ..current.clone() }))
            })
            .await?;
        // Another write came between reading and writing: run the request again on it.
        if let Some(row) = written {
            return Ok(row);
        }
    }
    Err(Error::Conflict(format!(
        "{} '{id}' kept changing while this request was applied; retry it",
        kind.resource_type()
    )))
}

pub async fn delete(
    State(app): State<AppState>,
    Path((realm, resource, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let kind = kind_at(&app, &realm, &resource)?;
    let scim = Scim::enter(&app, &realm, &headers, Need::Write)?;
    delete_row(&scim, kind, &id, IfMatch::of(&headers)).await?;
    Ok(response::no_content(None))
}

/// Deletes a resource (for a request or a bulk operation); the version check and the delete
/// happen in the same write.
pub(super) async fn delete_row(scim: &Scim, kind: ResourceKind, id: &str, if_match: Option<IfMatch>) -> Result<()> {
    let (realm_id, target, actor) = (scim.realm.id, id.to_string(), scim.principal.actor());
    let deleted = scim
        .app
        .store
        .write(move |c| {
            if let Some(m) = &if_match {
                let Some(current) = store::find(c, realm_id, kind, &target)? else { return Ok(false) };
                m.check(current.version)?;
            }
            let deleted = store::delete(c, realm_id, kind, &target, now_ms())?;
            if deleted {
                events::record(c, realm_id, &actor, "DELETE", kind.event_type(), &kind.event_path(&target), None)?;
            }
            Ok(deleted)
        })
        .await?;
    if !deleted {
        return Err(not_found(kind, id));
    }
    Ok(())
}
