//! The default SCIM engine of scimd: every SCIM 2.0 rule (RFC 7643, RFC 7644) as a pure
//! function of its inputs. No I/O, no clock, no randomness: the host passes in ids, times and
//! stored resources, and carries out the writes this engine describes.
//!
//! This crate builds natively (where it is unit-tested) and is wrapped as a `wasm32-wasip2`
//! component by `scimd-guest`, one function per export of `wit/since_v0.2.0/scim-engine.wit`. Other guests
//! can reuse it and change only what they need, e.g. the mapping.

pub mod bulk;
#[cfg(feature = "component")]
pub mod component;
pub mod config;
pub mod datetime;
pub mod error;
pub mod filter;
pub mod mapping;
pub mod model;
pub mod patch;
pub mod path;
pub mod plan;
pub mod profile;
pub mod render;
pub mod resource;
pub mod schema;
pub mod search;

use serde_json::{Map, Value, json};

pub use config::{Compatibility, Config};
pub use error::{Error, Result};
use model::{
    Candidate, Context, EngineInfo, Frame, Kind, MemberChanges, PageItem, Projection, QueryPlan, Relation,
    SearchRequest, Stored, Write,
};
use resource::Validator;
use schema::{ResourceSchema, Schemas};

/// The other resource type, for queries at the server root.
fn other_kind(kind: Kind) -> Kind {
    match kind {
        Kind::User => Kind::Group,
        Kind::Group => Kind::User,
    }
}

/// The version of the `scim:engine` WIT package this engine implements.
pub const API_VERSION: &str = "0.2.0";

/// Entra's schema discovery fails on attributes it cannot map, though scimd accepts them
/// (`password`, `emails.display`, …): in `entra` mode `/Schemas` leaves out `password` and the
/// `display` of the typed multi-valued attributes. Everything left is supported.
fn advertised_to_entra(mut schema: Value) -> Value {
    if let Some(Value::Array(attrs)) = schema.get_mut("attributes") {
        attrs.retain(|a| a["name"] != "password");
        for a in attrs.iter_mut() {
            let typed = a["multiValued"] == true && a["name"] != "members" && a["name"] != "groups";
            if let (true, Some(Value::Array(subs))) = (typed, a.get_mut("subAttributes")) {
                subs.retain(|s| s["name"] != "display");
            }
        }
    }
    schema
}

/// An update that leaves `active` unassigned (omitted, `null`, Entra's `""`) keeps the
/// user's state: only an explicit `active` disables or enables (a new user starts enabled).
fn keep_enabled(model: model::Model, doc: &Map<String, Value>, current: &Stored) -> model::Model {
    match (model, &current.model) {
        (model::Model::User(mut u), model::Model::User(old)) if !doc.contains_key("active") => {
            u.enabled = old.enabled;
            model::Model::User(u)
        }
        (m, _) => m,
    }
}

/// An engine configured for one realm.
pub struct Engine {
    config: Config,
    schemas: Schemas,
}

fn parse_json(body: &str) -> Result<Value> {
    serde_json::from_str(body).map_err(|e| Error::InvalidSyntax(format!("the request body is not valid JSON: {e}")))
}

impl Engine {
    /// Builds an engine from a realm's configuration as one JSON object (see `Config::parse`).
    pub fn new(config: &str) -> Result<Engine> {
        Engine::with_config(Config::parse(config)?)
    }

    /// Builds an engine from a realm's configuration.
    pub fn with_config(config: Config) -> Result<Engine> {
        let config = config.checked()?;
        let schemas = profile::schemas(config.extensions.as_ref(), config.profile.as_ref(), config.lenient())?;
        Ok(Engine { config, schemas })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    fn rs(&self, kind: Kind) -> &ResourceSchema {
        self.schemas.of(kind)
    }

    fn validator(&self, kind: Kind) -> Validator<'_> {
        Validator { rs: self.rs(kind), lenient: self.config.lenient() }
    }

    /// The discovery documents.
    pub fn describe(&self) -> EngineInfo {
        let lenient = self.config.lenient();
        let schemas: Vec<Value> = self
            .schemas
            .all()
            .iter()
            .map(|s| s.to_json(None))
            .map(|s| if lenient { advertised_to_entra(s) } else { s })
            .collect();
        let types: Vec<Value> =
            [&self.schemas.user, &self.schemas.group].iter().map(|rs| rs.resource_type_json(None)).collect();
        EngineInfo {
            api_version: API_VERSION.into(),
            name: "scimd-default".into(),
            service_provider_config: self.service_provider_config().to_string(),
            schemas: Value::Array(schemas).to_string(),
            resource_types: Value::Array(types).to_string(),
        }
    }

    fn service_provider_config(&self) -> Value {
        let c = &self.config;
        json!({
            "schemas": [schema::SPC_SCHEMA],
            "documentationUri": "https://github.com/scimd/scimd#readme",
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": c.max_operations, "maxPayloadSize": c.max_payload_size},
            "filter": {"supported": true, "maxResults": c.max_results},
            // RFC 9865 §5: the host pages lists and searches by index or by cursor.
            "pagination": {
                "cursor": true,
                "index": true,
                "defaultPaginationMethod": "index",
                "defaultPageSize": c.max_results,
                "maxPageSize": c.max_results,
                "cursorTimeout": c.cursor_timeout
            },
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": c.etag},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token: a scimd secret token or an access token of the realm.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig"}
        })
    }

    /// Validates a POST body.
    pub fn create(&self, _ctx: &Context, kind: Kind, body: &str) -> Result<Write> {
        let n = self.validator(kind).body(parse_json(body)?)?;
        let members = n.members.map(|add| MemberChanges { clear: false, add, remove: Vec::new() });
        Ok(Write { model: mapping::to_model(self.rs(kind), &n.doc), members, password: n.password })
    }

    /// Validates a PUT body against the current resource (RFC 7644 §3.5.1): the body replaces
    /// every writable attribute, including a group's members.
    pub fn replace(&self, _ctx: &Context, current: &Stored, body: &str) -> Result<Write> {
        let kind = current.model.kind();
        let rs = self.rs(kind);
        let n = self.validator(kind).body(parse_json(body)?)?;
        let old = mapping::from_model(rs, &current.model);
        resource::check_immutable(rs, &old, &n.doc)?;
        let members = match kind {
            Kind::Group => Some(MemberChanges { clear: true, add: n.members.unwrap_or_default(), remove: Vec::new() }),
            Kind::User => None,
        };
        let model = keep_enabled(mapping::to_model(rs, &n.doc), &n.doc, current);
        Ok(Write { model, members, password: n.password })
    }

    /// Applies a PatchOp body.
    pub fn patch(&self, _ctx: &Context, current: &Stored, body: &str) -> Result<Write> {
        let kind = current.model.kind();
        let rs = self.rs(kind);
        let doc = mapping::from_model(rs, &current.model);
        let p = patch::apply(&self.validator(kind), doc, parse_json(body)?, self.config.max_operations)?;
        let mut model = keep_enabled(mapping::to_model(rs, &p.doc), &p.doc, current);
        // `remove` of `active` (or a user whose `active` was already removed, untouched by
        // this PATCH): unassigned, as RFC 7644 §3.5.2.2 asks, while `enabled` stays.
        if let model::Model::User(u) = &mut model
            && !p.doc.contains_key("active")
        {
            u.attributes
                .push(model::Attribute { name: mapping::ACTIVE_UNASSIGNED.into(), values: vec!["true".into()] });
        }
        Ok(Write { model, members: p.members, password: p.password })
    }

    /// Validates `attributes` / `excludedAttributes`.
    pub fn projection(&self, kind: Kind, attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection> {
        render::projection(self.rs(kind), attributes, excluded, self.config.lenient())
    }

    /// Renders a stored resource.
    pub fn render(
        &self,
        ctx: &Context,
        stored: &Stored,
        relations: &[Relation],
        projection: &Projection,
    ) -> Result<String> {
        let rs = self.rs(stored.model.kind());
        let rel = projection.include_relations.then_some(relations);
        if projection.attributes.is_empty() && projection.excluded_attributes.is_empty() {
            return Ok(render::full_json(rs, ctx, stored, rel));
        }
        let doc = render::full_doc(rs, ctx, stored, rel);
        Ok(Value::Object(render::project(rs, doc, projection, self.config.lenient())).to_string())
    }

    /// The projection of a resource's minimal form (`page-item.minimal`): `schemas`, `id` and
    /// its name.
    pub fn minimal_projection(&self, kind: Kind) -> Result<Projection> {
        let name = match kind {
            Kind::User => "userName",
            Kind::Group => "displayName",
        };
        self.projection(kind, Some(name), None)
    }

    /// Renders a page of resources, each as `render` would.
    pub fn render_page(&self, ctx: &Context, items: &[PageItem], projection: &Projection) -> Result<Vec<String>> {
        items
            .iter()
            .map(|item| {
                if item.minimal {
                    let minimal = self.minimal_projection(item.stored.model.kind())?;
                    self.render(ctx, &item.stored, &[], &minimal)
                } else {
                    self.render(ctx, &item.stored, &item.relations, projection)
                }
            })
            .collect()
    }

    /// The frame of a resource whose relations the host streams (`None`: render it whole).
    pub fn render_frame(&self, ctx: &Context, item: &PageItem, projection: &Projection) -> Result<Option<Frame>> {
        if item.minimal || !projection.include_relations {
            return Ok(None);
        }
        let kind = item.stored.model.kind();
        let text = self.render(ctx, &item.stored, &[crate::render::placeholder_relation()], projection)?;
        Ok(render::frame_of(&text, render::relation_attr(kind)))
    }

    /// A chunk of a `kind` resource's relations, for a frame.
    pub fn render_relations(
        &self,
        ctx: &Context,
        kind: Kind,
        relations: &[Relation],
        projection: &Projection,
    ) -> Result<String> {
        Ok(render::relations_json(self.rs(kind), ctx, relations, projection, self.config.lenient()))
    }

    /// A list's filter, parsed by `parse`: none when absent or (in entra realms) empty; an
    /// empty one is invalid in strict realms.
    fn filter_of(
        &self,
        filter: Option<&str>,
        parse: impl FnOnce(&str) -> Result<filter::Filter>,
    ) -> Result<Option<filter::Filter>> {
        match filter.map(str::trim) {
            Some(f) if !f.is_empty() => parse(f).map(Some),
            Some(_) if !self.config.lenient() => Err(Error::InvalidFilter("the filter is empty".into())),
            _ => Ok(None),
        }
    }

    /// Plans a query.
    pub fn plan_query(
        &self,
        kind: Kind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<QueryPlan> {
        let rs = self.rs(kind);
        let parsed = self.filter_of(filter, |f| filter::parse(rs, f, self.config.lenient()))?;
        let sort = plan::sort_key(rs, sort_by, sort_order)?;
        Ok(plan::plan(rs, parsed.as_ref(), sort))
    }

    /// Plans a query at the server root: as `plan_query`, with what only the other resource
    /// type has absent from this one (its comparisons match nothing, a sort by it sorts
    /// nothing), and what neither has still an error.
    pub fn plan_root_query(
        &self,
        kind: Kind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<QueryPlan> {
        let (rs, other) = (self.rs(kind), self.rs(other_kind(kind)));
        let parsed = self.filter_of(filter, |f| filter::parse_at_root(rs, other, f, self.config.lenient()))?;
        let sort = match plan::sort_key(rs, sort_by, sort_order) {
            Err(e) => match plan::sort_key(other, sort_by, sort_order) {
                Ok(_) => None,
                Err(_) => return Err(e),
            },
            sort => sort?,
        };
        Ok(plan::plan(rs, parsed.as_ref(), sort))
    }

    /// Evaluates a filter on candidates, reading it as `plan_root_query` does.
    pub fn matches_at_root(&self, kind: Kind, filter: &str, candidates: &[Candidate]) -> Result<Vec<bool>> {
        let (rs, other) = (self.rs(kind), self.rs(other_kind(kind)));
        let parsed = filter::parse_at_root(rs, other, filter, self.config.lenient())?;
        Ok(self.evaluate(rs, &parsed, candidates))
    }

    /// Evaluates a filter on candidates.
    pub fn matches(&self, kind: Kind, filter: &str, candidates: &[Candidate]) -> Result<Vec<bool>> {
        let rs = self.rs(kind);
        let parsed = filter::parse(rs, filter, self.config.lenient())?;
        Ok(self.evaluate(rs, &parsed, candidates))
    }

    fn evaluate(&self, rs: &ResourceSchema, parsed: &filter::Filter, candidates: &[Candidate]) -> Vec<bool> {
        let ctx = Context::default();
        candidates
            .iter()
            .map(|c| {
                let doc: Map<String, Value> = render::full_doc(rs, &ctx, &c.stored, Some(&c.relations));
                filter::matches(parsed, &doc)
            })
            .collect()
    }

    /// Parses a `POST /Bulk` body.
    pub fn parse_bulk(&self, body: &str) -> Result<model::BulkRequest> {
        bulk::parse(&parse_json(body)?, self.config.lenient(), self.config.max_operations)
    }

    /// Parses a `POST /.search` body.
    pub fn parse_search(&self, body: &str) -> Result<SearchRequest> {
        search::parse(&parse_json(body)?, self.config.lenient())
    }
}
