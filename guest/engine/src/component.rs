//! The `scim:engine` component glue, for this crate's default engine and for guests that
//! customise it: wit-bindgen's bindings, the conversions between WIT types and `model`, and
//! a generic adapter over the `ScimEngine` trait. A guest crate exports its engine with
//!
//! ```ignore
//! type MyComponent = scim_engine::component::Adapter<MyEngine>;
//! scim_engine::component::export_scim_engine!(MyComponent);
//! ```
//!
//! where `MyEngine: ScimEngine` overrides the methods it changes and delegates the rest to
//! the default `Engine` it wraps. Built only with the `component` feature.

// The canonical-ABI glue wit-bindgen generates is `unsafe`; this module writes none itself.
#![allow(unsafe_code)]

use std::marker::PhantomData;

use crate::model as m;
use crate::{Engine, Result};

wit_bindgen::generate!({
    world: "scim-guest",
    path: "../../wit/since_v0.2.0",
    export_macro_name: "export_scim_engine",
    pub_export_macro: true,
    default_bindings_module: "scim_engine::component",
});

use exports::scim::engine::engine::{self as wit, Guest, GuestRealmEngine, RealmEngine as RealmEngineHandle};

/// A SCIM engine as a guest exports it. Every method but `new` and `engine` has a default
/// that delegates to the wrapped default `Engine`, so a customised guest overrides only what
/// it changes.
pub trait ScimEngine: Sized + 'static {
    /// Builds the engine from the realm's configuration.
    fn new(config: crate::Config) -> Result<Self>;

    /// The default engine this one builds on.
    fn engine(&self) -> &Engine;

    fn describe(&self) -> m::EngineInfo {
        self.engine().describe()
    }

    fn create(&self, ctx: &m::Context, kind: m::Kind, body: &str) -> Result<m::Write> {
        self.engine().create(ctx, kind, body)
    }

    fn replace(&self, ctx: &m::Context, current: &m::Stored, body: &str) -> Result<m::Write> {
        self.engine().replace(ctx, current, body)
    }

    fn patch(&self, ctx: &m::Context, current: &m::Stored, body: &str) -> Result<m::Write> {
        self.engine().patch(ctx, current, body)
    }

    fn projection(&self, kind: m::Kind, attributes: Option<&str>, excluded: Option<&str>) -> Result<m::Projection> {
        self.engine().projection(kind, attributes, excluded)
    }

    fn render(
        &self,
        ctx: &m::Context,
        stored: &m::Stored,
        relations: &[m::Relation],
        projection: &m::Projection,
    ) -> Result<String> {
        self.engine().render(ctx, stored, relations, projection)
    }

    fn plan_query(
        &self,
        kind: m::Kind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<m::QueryPlan> {
        self.engine().plan_query(kind, filter, sort_by, sort_order)
    }

    fn matches(&self, kind: m::Kind, filter: &str, candidates: &[m::Candidate]) -> Result<Vec<bool>> {
        self.engine().matches(kind, filter, candidates)
    }

    fn plan_root_query(
        &self,
        kind: m::Kind,
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<m::QueryPlan> {
        self.engine().plan_root_query(kind, filter, sort_by, sort_order)
    }

    fn matches_at_root(&self, kind: m::Kind, filter: &str, candidates: &[m::Candidate]) -> Result<Vec<bool>> {
        self.engine().matches_at_root(kind, filter, candidates)
    }

    fn parse_search(&self, body: &str) -> Result<m::SearchRequest> {
        self.engine().parse_search(body)
    }

    fn parse_bulk(&self, body: &str) -> Result<m::BulkRequest> {
        self.engine().parse_bulk(body)
    }

    /// A page, one `render` per item, so that an engine that overrides `render` renders its
    /// pages the same way.
    fn render_page(&self, ctx: &m::Context, items: &[m::PageItem], projection: &m::Projection) -> Result<Vec<String>> {
        items
            .iter()
            .map(|item| {
                if item.minimal {
                    let minimal = self.engine().minimal_projection(item.stored.model.kind())?;
                    self.render(ctx, &item.stored, &[], &minimal)
                } else {
                    self.render(ctx, &item.stored, &item.relations, projection)
                }
            })
            .collect()
    }

    /// The frame, cut from what this engine's `render` gives with no relations.
    fn render_frame(
        &self,
        ctx: &m::Context,
        item: &m::PageItem,
        projection: &m::Projection,
    ) -> Result<Option<m::Frame>> {
        if item.minimal || !projection.include_relations {
            return Ok(None);
        }
        let kind = item.stored.model.kind();
        let text = self.render(ctx, &item.stored, &[crate::render::placeholder_relation()], projection)?;
        Ok(crate::render::frame_of(&text, crate::render::relation_attr(kind)))
    }

    /// Relations as the default engine renders them; an engine that changes how `render`
    /// shows relations overrides this too.
    fn render_relations(
        &self,
        ctx: &m::Context,
        kind: m::Kind,
        relations: &[m::Relation],
        projection: &m::Projection,
    ) -> Result<String> {
        self.engine().render_relations(ctx, kind, relations, projection)
    }
}

impl ScimEngine for Engine {
    fn new(config: crate::Config) -> Result<Self> {
        Engine::with_config(config)
    }

    fn engine(&self) -> &Engine {
        self
    }
}

/// The component's exported interface, for any `ScimEngine`.
pub struct Adapter<E>(PhantomData<E>);

/// One realm's configured engine, owned by the host through a resource handle.
pub struct Realm<E>(E);

impl<E: ScimEngine> Guest for Adapter<E> {
    type RealmEngine = Realm<E>;
}

fn error(e: crate::Error) -> wit::ScimError {
    wit::ScimError { status: e.status(), scim_type: e.scim_type().map(str::to_string), detail: e.detail() }
}

fn candidates_in(candidates: Vec<wit::Candidate>) -> Vec<m::Candidate> {
    candidates
        .into_iter()
        .map(|c| m::Candidate { stored: stored_in(c.stored), relations: relations_in(c.relations) })
        .collect()
}

fn kind_in(k: wit::ResourceKind) -> m::Kind {
    match k {
        wit::ResourceKind::User => m::Kind::User,
        wit::ResourceKind::Group => m::Kind::Group,
    }
}

fn kind_out(k: m::Kind) -> wit::ResourceKind {
    match k {
        m::Kind::User => wit::ResourceKind::User,
        m::Kind::Group => wit::ResourceKind::Group,
    }
}

fn attrs_in(a: Vec<wit::Attribute>) -> Vec<m::Attribute> {
    a.into_iter().map(|a| m::Attribute { name: a.name, values: a.values }).collect()
}

fn attrs_out(a: Vec<m::Attribute>) -> Vec<wit::Attribute> {
    a.into_iter().map(|a| wit::Attribute { name: a.name, values: a.values }).collect()
}

fn model_in(model: wit::Model) -> m::Model {
    match model {
        wit::Model::User(u) => m::Model::User(m::UserModel {
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            enabled: u.enabled,
            attributes: attrs_in(u.attributes),
        }),
        wit::Model::Group(g) => m::Model::Group(m::GroupModel { name: g.name, attributes: attrs_in(g.attributes) }),
    }
}

fn model_out(model: m::Model) -> wit::Model {
    match model {
        m::Model::User(u) => wit::Model::User(wit::UserModel {
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            enabled: u.enabled,
            attributes: attrs_out(u.attributes),
        }),
        m::Model::Group(g) => wit::Model::Group(wit::GroupModel { name: g.name, attributes: attrs_out(g.attributes) }),
    }
}

fn stored_in(s: wit::Stored) -> m::Stored {
    m::Stored {
        id: s.id,
        model: model_in(s.model),
        meta: m::Meta {
            created: s.meta.created,
            last_modified: s.meta.last_modified,
            version: s.meta.version,
            location: s.meta.location,
        },
    }
}

fn relations_in(r: Vec<wit::Relation>) -> Vec<m::Relation> {
    r.into_iter()
        .map(|r| m::Relation { id: r.id, kind: kind_in(r.kind), display: r.display, indirect: r.indirect })
        .collect()
}

fn page_item_in(i: wit::PageItem) -> m::PageItem {
    m::PageItem { stored: stored_in(i.stored), relations: relations_in(i.relations), minimal: i.minimal }
}

fn config_in(c: wit::RealmConfig) -> Result<crate::Config> {
    Ok(crate::Config {
        compatibility: match c.compatibility {
            wit::Compatibility::Entra => crate::Compatibility::Entra,
            wit::Compatibility::Strict => crate::Compatibility::Strict,
        },
        max_results: c.max_results,
        max_operations: c.max_operations,
        max_payload_size: u64::from(c.max_payload_size),
        etag: c.etag,
        cursor_timeout: u64::from(c.cursor_timeout),
        profile: c.profile.as_deref().map(crate::config::profile_json).transpose()?.flatten(),
        extensions: c.extensions.as_deref().map(crate::config::extensions_json).transpose()?.flatten(),
    })
}

fn ctx_in(c: wit::Context) -> m::Context {
    m::Context { realm: c.realm, base_url: c.base_url }
}

fn write_out(w: m::Write) -> wit::Write {
    wit::Write {
        model: model_out(w.model),
        members: w.members.map(|c| wit::MemberChanges {
            clear: c.clear,
            add: c
                .add
                .into_iter()
                .map(|a| wit::MemberRef { id: a.id, kind: a.kind.map(kind_out), display: a.display })
                .collect(),
            remove: c.remove,
        }),
        password: w.password,
    }
}

fn projection_in(p: wit::Projection) -> m::Projection {
    m::Projection {
        attributes: p.attributes,
        excluded_attributes: p.excluded_attributes,
        include_relations: p.include_relations,
    }
}

fn field_out(f: m::Field) -> wit::Field {
    match f {
        m::Field::Id => wit::Field::Id,
        m::Field::Name => wit::Field::Name,
        m::Field::Email => wit::Field::Email,
        m::Field::FirstName => wit::Field::FirstName,
        m::Field::LastName => wit::Field::LastName,
        m::Field::Enabled => wit::Field::Enabled,
        m::Field::Created => wit::Field::Created,
        m::Field::LastModified => wit::Field::LastModified,
        m::Field::Attribute(a) => wit::Field::Attribute(a),
        m::Field::Relation => wit::Field::Relation,
    }
}

fn op_out(op: m::CompareOp) -> wit::CompareOp {
    match op {
        m::CompareOp::Eq => wit::CompareOp::Eq,
        m::CompareOp::Ne => wit::CompareOp::Ne,
        m::CompareOp::Co => wit::CompareOp::Co,
        m::CompareOp::Sw => wit::CompareOp::Sw,
        m::CompareOp::Ew => wit::CompareOp::Ew,
        m::CompareOp::Gt => wit::CompareOp::Gt,
        m::CompareOp::Ge => wit::CompareOp::Ge,
        m::CompareOp::Lt => wit::CompareOp::Lt,
        m::CompareOp::Le => wit::CompareOp::Le,
        m::CompareOp::Pr => wit::CompareOp::Pr,
    }
}

fn scalar_out(s: m::Scalar) -> wit::Scalar {
    match s {
        m::Scalar::Text(t) => wit::Scalar::Text(t),
        m::Scalar::Integer(i) => wit::Scalar::Integer(i),
        m::Scalar::Boolean(b) => wit::Scalar::Boolean(b),
    }
}

fn plan_out(p: m::QueryPlan) -> wit::QueryPlan {
    wit::QueryPlan {
        nodes: p
            .nodes
            .into_iter()
            .map(|n| match n {
                m::PlanNode::All => wit::PlanNode::All,
                m::PlanNode::None => wit::PlanNode::None,
                m::PlanNode::And(c) => wit::PlanNode::And(c),
                m::PlanNode::Or(c) => wit::PlanNode::Or(c),
                m::PlanNode::Not(c) => wit::PlanNode::Not(c),
                m::PlanNode::Compare(c) => wit::PlanNode::Compare(wit::Comparison {
                    field: field_out(c.field),
                    op: op_out(c.op),
                    value: c.value.map(scalar_out),
                    case_insensitive: c.case_insensitive,
                }),
            })
            .collect(),
        root: p.root,
        exact: p.exact,
        recheck_needs_relations: p.recheck_needs_relations,
        sort: p.sort.map(|s| wit::SortKey {
            field: field_out(s.field),
            descending: s.descending,
            case_insensitive: s.case_insensitive,
        }),
    }
}

impl<E: ScimEngine> GuestRealmEngine for Realm<E> {
    fn create(config: wit::RealmConfig) -> Result<RealmEngineHandle, wit::ScimError> {
        let engine = config_in(config).and_then(E::new).map_err(error)?;
        Ok(RealmEngineHandle::new(Realm(engine)))
    }

    fn describe(&self) -> wit::EngineInfo {
        let i = self.0.describe();
        wit::EngineInfo {
            api_version: i.api_version,
            name: i.name,
            service_provider_config: i.service_provider_config,
            schemas: i.schemas,
            resource_types: i.resource_types,
        }
    }

    fn create_resource(
        &self,
        ctx: wit::Context,
        kind: wit::ResourceKind,
        body: wit::Json,
    ) -> Result<wit::Write, wit::ScimError> {
        self.0.create(&ctx_in(ctx), kind_in(kind), &body).map(write_out).map_err(error)
    }

    fn replace(&self, ctx: wit::Context, current: wit::Stored, body: wit::Json) -> Result<wit::Write, wit::ScimError> {
        self.0.replace(&ctx_in(ctx), &stored_in(current), &body).map(write_out).map_err(error)
    }

    fn patch(&self, ctx: wit::Context, current: wit::Stored, body: wit::Json) -> Result<wit::Write, wit::ScimError> {
        self.0.patch(&ctx_in(ctx), &stored_in(current), &body).map(write_out).map_err(error)
    }

    fn projection(
        &self,
        kind: wit::ResourceKind,
        attributes: Option<String>,
        excluded_attributes: Option<String>,
    ) -> Result<wit::Projection, wit::ScimError> {
        self.0
            .projection(kind_in(kind), attributes.as_deref(), excluded_attributes.as_deref())
            .map(|p| wit::Projection {
                attributes: p.attributes,
                excluded_attributes: p.excluded_attributes,
                include_relations: p.include_relations,
            })
            .map_err(error)
    }

    fn render(
        &self,
        ctx: wit::Context,
        stored: wit::Stored,
        relations: Vec<wit::Relation>,
        projection: wit::Projection,
    ) -> Result<wit::Json, wit::ScimError> {
        self.0
            .render(&ctx_in(ctx), &stored_in(stored), &relations_in(relations), &projection_in(projection))
            .map_err(error)
    }

    fn plan_query(
        &self,
        kind: wit::ResourceKind,
        filter: Option<String>,
        sort_by: Option<String>,
        sort_order: Option<String>,
    ) -> Result<wit::QueryPlan, wit::ScimError> {
        self.0
            .plan_query(kind_in(kind), filter.as_deref(), sort_by.as_deref(), sort_order.as_deref())
            .map(plan_out)
            .map_err(error)
    }

    fn matches(
        &self,
        kind: wit::ResourceKind,
        filter: String,
        candidates: Vec<wit::Candidate>,
    ) -> Result<Vec<bool>, wit::ScimError> {
        self.0.matches(kind_in(kind), &filter, &candidates_in(candidates)).map_err(error)
    }

    fn plan_root_query(
        &self,
        kind: wit::ResourceKind,
        filter: Option<String>,
        sort_by: Option<String>,
        sort_order: Option<String>,
    ) -> Result<wit::QueryPlan, wit::ScimError> {
        self.0
            .plan_root_query(kind_in(kind), filter.as_deref(), sort_by.as_deref(), sort_order.as_deref())
            .map(plan_out)
            .map_err(error)
    }

    fn matches_at_root(
        &self,
        kind: wit::ResourceKind,
        filter: String,
        candidates: Vec<wit::Candidate>,
    ) -> Result<Vec<bool>, wit::ScimError> {
        self.0.matches_at_root(kind_in(kind), &filter, &candidates_in(candidates)).map_err(error)
    }

    fn render_page(
        &self,
        ctx: wit::Context,
        items: Vec<wit::PageItem>,
        projection: wit::Projection,
    ) -> Result<Vec<wit::Json>, wit::ScimError> {
        let items: Vec<m::PageItem> = items.into_iter().map(page_item_in).collect();
        self.0.render_page(&ctx_in(ctx), &items, &projection_in(projection)).map_err(error)
    }

    fn render_frame(
        &self,
        ctx: wit::Context,
        item: wit::PageItem,
        projection: wit::Projection,
    ) -> Result<Option<wit::Frame>, wit::ScimError> {
        self.0
            .render_frame(&ctx_in(ctx), &page_item_in(item), &projection_in(projection))
            .map(|f| f.map(|f| wit::Frame { head: f.head, tail: f.tail }))
            .map_err(error)
    }

    fn render_relations(
        &self,
        ctx: wit::Context,
        kind: wit::ResourceKind,
        relations: Vec<wit::Relation>,
        projection: wit::Projection,
    ) -> Result<wit::Json, wit::ScimError> {
        self.0
            .render_relations(&ctx_in(ctx), kind_in(kind), &relations_in(relations), &projection_in(projection))
            .map_err(error)
    }

    fn parse_bulk(&self, body: wit::Json) -> Result<wit::BulkRequest, wit::ScimError> {
        let method = |m: m::BulkMethod| match m {
            m::BulkMethod::Post => wit::BulkMethod::Post,
            m::BulkMethod::Put => wit::BulkMethod::Put,
            m::BulkMethod::Patch => wit::BulkMethod::Patch,
            m::BulkMethod::Delete => wit::BulkMethod::Delete,
        };
        let entry = |e: m::BulkEntry| match e {
            m::BulkEntry::Operation(op) => wit::BulkEntry::Operation(wit::BulkOperation {
                method: method(op.method),
                bulk_id: op.bulk_id,
                version: op.version,
                kind: kind_out(op.kind),
                id: op.id,
                data: op.data,
                references: op.references,
            }),
            m::BulkEntry::Refused(r) => wit::BulkEntry::Refused(wit::BulkRefusal {
                method: r.method,
                bulk_id: r.bulk_id,
                error: error(r.error),
            }),
        };
        self.0
            .parse_bulk(&body)
            .map(|r| wit::BulkRequest {
                fail_on_errors: r.fail_on_errors,
                operations: r.operations.into_iter().map(entry).collect(),
            })
            .map_err(error)
    }

    fn parse_search(&self, body: wit::Json) -> Result<wit::SearchRequest, wit::ScimError> {
        self.0
            .parse_search(&body)
            .map(|s| wit::SearchRequest {
                filter: s.filter,
                attributes: s.attributes,
                excluded_attributes: s.excluded_attributes,
                sort_by: s.sort_by,
                sort_order: s.sort_order,
                start_index: s.start_index,
                count: s.count,
                cursor: s.cursor,
            })
            .map_err(error)
    }
}
