//! Engines built against `scim:engine@0.1.x` (`wit/since_v0.1.0`), run by this host: the
//! values of the current WIT converted to 0.1's and back. 0.1 has every record 0.2 has, with
//! the same shapes, save the realm configuration (a JSON object in 0.1); what 0.2 added (`render-page`, frames) the runtime does another way for
//! 0.1 engines (one `render` per resource, relations whole).

use super::bindings as now;
use super::bindings::v0_1::exports::scim::engine::engine as old;

/// The realm configuration as 0.1's `create` takes it: one JSON object, camelCase keys, the
/// profile and extensions as JSON values (0.2 made it the `realm-config` record).
pub fn config(c: &now::RealmConfig) -> String {
    let json_or_null = |text: &Option<String>| {
        text.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()).unwrap_or_default()
    };
    serde_json::json!({
        "compatibility": match c.compatibility {
            now::Compatibility::Entra => "entra",
            now::Compatibility::Strict => "strict",
        },
        "maxResults": c.max_results,
        "maxOperations": c.max_operations,
        "maxPayloadSize": c.max_payload_size,
        "etag": c.etag,
        "cursorTimeout": c.cursor_timeout,
        "profile": json_or_null(&c.profile),
        "extensions": json_or_null(&c.extensions),
    })
    .to_string()
}

pub fn kind(k: now::ResourceKind) -> old::ResourceKind {
    match k {
        now::ResourceKind::User => old::ResourceKind::User,
        now::ResourceKind::Group => old::ResourceKind::Group,
    }
}

fn kind_back(k: old::ResourceKind) -> now::ResourceKind {
    match k {
        old::ResourceKind::User => now::ResourceKind::User,
        old::ResourceKind::Group => now::ResourceKind::Group,
    }
}

fn attributes(a: &[now::Attribute]) -> Vec<old::Attribute> {
    a.iter().map(|a| old::Attribute { name: a.name.clone(), values: a.values.clone() }).collect()
}

fn attributes_back(a: Vec<old::Attribute>) -> Vec<now::Attribute> {
    a.into_iter().map(|a| now::Attribute { name: a.name, values: a.values }).collect()
}

fn model(m: &now::Model) -> old::Model {
    match m {
        now::Model::User(u) => old::Model::User(old::UserModel {
            username: u.username.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            enabled: u.enabled,
            attributes: attributes(&u.attributes),
        }),
        now::Model::Group(g) => {
            old::Model::Group(old::GroupModel { name: g.name.clone(), attributes: attributes(&g.attributes) })
        }
    }
}

fn model_back(m: old::Model) -> now::Model {
    match m {
        old::Model::User(u) => now::Model::User(now::UserModel {
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            enabled: u.enabled,
            attributes: attributes_back(u.attributes),
        }),
        old::Model::Group(g) => {
            now::Model::Group(now::GroupModel { name: g.name, attributes: attributes_back(g.attributes) })
        }
    }
}

pub fn stored(s: &now::Stored) -> old::Stored {
    old::Stored {
        id: s.id.clone(),
        model: model(&s.model),
        meta: old::Meta {
            created: s.meta.created.clone(),
            last_modified: s.meta.last_modified.clone(),
            version: s.meta.version.clone(),
            location: s.meta.location.clone(),
        },
    }
}

/// A 0.1 engine knows direct memberships only (it would render an indirect group as direct):
/// it is given a user's direct groups.
pub fn relations(r: &[now::Relation]) -> Vec<old::Relation> {
    r.iter()
        .filter(|r| !r.indirect)
        .map(|r| old::Relation { id: r.id.clone(), kind: kind(r.kind), display: r.display.clone() })
        .collect()
}

pub fn context(c: &now::Context) -> old::Context {
    old::Context { realm: c.realm.clone(), base_url: c.base_url.clone() }
}

pub fn projection(p: &now::Projection) -> old::Projection {
    old::Projection {
        attributes: p.attributes.clone(),
        excluded_attributes: p.excluded_attributes.clone(),
        include_relations: p.include_relations,
    }
}

pub fn projection_back(p: old::Projection) -> now::Projection {
    now::Projection {
        attributes: p.attributes,
        excluded_attributes: p.excluded_attributes,
        include_relations: p.include_relations,
    }
}

pub fn candidates(c: &[now::Candidate]) -> Vec<old::Candidate> {
    c.iter().map(|c| old::Candidate { stored: stored(&c.stored), relations: relations(&c.relations) }).collect()
}

pub fn error_back(e: old::ScimError) -> now::ScimError {
    now::ScimError { status: e.status, scim_type: e.scim_type, detail: e.detail }
}

pub fn write_back(w: old::Write) -> now::Write {
    now::Write {
        model: model_back(w.model),
        members: w.members.map(|m| now::MemberChanges {
            clear: m.clear,
            add: m
                .add
                .into_iter()
                .map(|a| now::MemberRef { id: a.id, kind: a.kind.map(kind_back), display: None })
                .collect(),
            remove: m.remove,
        }),
        password: w.password,
    }
}

pub fn info_back(i: old::EngineInfo) -> now::EngineInfo {
    now::EngineInfo {
        api_version: i.api_version,
        name: i.name,
        service_provider_config: i.service_provider_config,
        schemas: i.schemas,
        resource_types: i.resource_types,
    }
}

pub fn search_back(s: old::SearchRequest) -> now::SearchRequest {
    now::SearchRequest {
        filter: s.filter,
        attributes: s.attributes,
        excluded_attributes: s.excluded_attributes,
        sort_by: s.sort_by,
        sort_order: s.sort_order,
        start_index: s.start_index,
        count: s.count,
        // A 0.1 engine does not read cursors from `.search` bodies: its realms page searches
        // by index (list requests page by cursor whatever the engine).
        cursor: None,
    }
}

fn field_back(f: old::Field) -> now::Field {
    match f {
        old::Field::Id => now::Field::Id,
        old::Field::Name => now::Field::Name,
        old::Field::Email => now::Field::Email,
        old::Field::FirstName => now::Field::FirstName,
        old::Field::LastName => now::Field::LastName,
        old::Field::Enabled => now::Field::Enabled,
        old::Field::Created => now::Field::Created,
        old::Field::LastModified => now::Field::LastModified,
        old::Field::Attribute(a) => now::Field::Attribute(a),
        old::Field::Relation => now::Field::Relation,
    }
}

fn op_back(op: old::CompareOp) -> now::CompareOp {
    match op {
        old::CompareOp::Eq => now::CompareOp::Eq,
        old::CompareOp::Ne => now::CompareOp::Ne,
        old::CompareOp::Co => now::CompareOp::Co,
        old::CompareOp::Sw => now::CompareOp::Sw,
        old::CompareOp::Ew => now::CompareOp::Ew,
        old::CompareOp::Gt => now::CompareOp::Gt,
        old::CompareOp::Ge => now::CompareOp::Ge,
        old::CompareOp::Lt => now::CompareOp::Lt,
        old::CompareOp::Le => now::CompareOp::Le,
        old::CompareOp::Pr => now::CompareOp::Pr,
    }
}

fn scalar_back(s: old::Scalar) -> now::Scalar {
    match s {
        old::Scalar::Text(t) => now::Scalar::Text(t),
        old::Scalar::Integer(i) => now::Scalar::Integer(i),
        old::Scalar::Boolean(b) => now::Scalar::Boolean(b),
    }
}

pub fn plan_back(p: old::QueryPlan) -> now::QueryPlan {
    now::QueryPlan {
        nodes: p
            .nodes
            .into_iter()
            .map(|n| match n {
                old::PlanNode::All => now::PlanNode::All,
                old::PlanNode::None => now::PlanNode::None,
                old::PlanNode::And(c) => now::PlanNode::And(c),
                old::PlanNode::Or(c) => now::PlanNode::Or(c),
                old::PlanNode::Not(c) => now::PlanNode::Not(c),
                old::PlanNode::Compare(c) => now::PlanNode::Compare(now::Comparison {
                    field: field_back(c.field),
                    op: op_back(c.op),
                    value: c.value.map(scalar_back),
                    case_insensitive: c.case_insensitive,
                }),
            })
            .collect(),
        root: p.root,
        exact: p.exact,
        recheck_needs_relations: p.recheck_needs_relations,
        sort: p.sort.map(|s| now::SortKey {
            field: field_back(s.field),
            descending: s.descending,
            case_insensitive: s.case_insensitive,
        }),
    }
}
