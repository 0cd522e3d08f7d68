//! The realm model and the other records of the `scim:engine` WIT contract, as plain Rust.
//! The component adapter converts these 1:1 to the wit-bindgen types; keeping them here lets the
//! engine build and be tested natively.

/// `resource-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    /// The SCIM resource type name, as in `meta.resourceType`.
    pub fn resource_type(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The endpoint, as in `/Users`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}

/// `attribute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<String>,
}

/// `user-model`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserModel {
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub attributes: Vec<Attribute>,
}

/// `group-model`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupModel {
    pub name: String,
    pub attributes: Vec<Attribute>,
}

/// `model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    User(UserModel),
    Group(GroupModel),
}

impl Model {
    pub fn kind(&self) -> Kind {
        match self {
            Model::User(_) => Kind::User,
            Model::Group(_) => Kind::Group,
        }
    }

    pub fn attributes(&self) -> &[Attribute] {
        match self {
            Model::User(u) => &u.attributes,
            Model::Group(g) => &g.attributes,
        }
    }
}

/// `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    pub created: String,
    pub last_modified: String,
    pub version: String,
    pub location: String,
}

/// `stored`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: String,
    pub model: Model,
    pub meta: Meta,
}

/// `relation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: String,
    pub kind: Kind,
    pub display: Option<String>,
    pub indirect: bool,
}

/// `member-ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub id: String,
    pub kind: Option<Kind>,
    /// The `display` the client sent, given back as is.
    pub display: Option<String>,
}

/// `member-changes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberChanges {
    pub clear: bool,
    pub add: Vec<MemberRef>,
    pub remove: Vec<String>,
}

/// `write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub model: Model,
    pub members: Option<MemberChanges>,
    pub password: Option<String>,
}

/// `context`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    pub realm: String,
    pub base_url: String,
}

/// `projection`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
    pub include_relations: bool,
}

/// `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Id,
    Name,
    Email,
    FirstName,
    LastName,
    Enabled,
    Created,
    LastModified,
    Attribute(String),
    Relation,
}

/// `compare-op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

/// `scalar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

/// `comparison`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub field: Field,
    pub op: CompareOp,
    pub value: Option<Scalar>,
    pub case_insensitive: bool,
}

/// `plan-node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanNode {
    All,
    None,
    And(Vec<u32>),
    Or(Vec<u32>),
    Not(u32),
    Compare(Comparison),
}

/// `sort-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: Field,
    pub descending: bool,
    pub case_insensitive: bool,
}

/// `query-plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    pub nodes: Vec<PlanNode>,
    pub root: u32,
    pub exact: bool,
    pub recheck_needs_relations: bool,
    pub sort: Option<SortKey>,
}

/// `page-item`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageItem {
    pub stored: Stored,
    pub relations: Vec<Relation>,
    pub minimal: bool,
}

/// `frame`: a resource's JSON text is `head`, its relations joined by `,`, then `tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub head: String,
    pub tail: String,
}

/// `candidate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub stored: Stored,
    pub relations: Vec<Relation>,
}

/// `search-request`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchRequest {
    pub filter: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub cursor: Option<String>,
}

/// `bulk-method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    /// The HTTP method, as a bulk response names it.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// `bulk-operation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub kind: Kind,
    pub id: Option<String>,
    pub data: Option<String>,
    pub references: Vec<String>,
}

/// `bulk-refusal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRefusal {
    pub method: Option<String>,
    pub bulk_id: Option<String>,
    pub error: crate::Error,
}

/// `bulk-entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkEntry {
    Operation(BulkOperation),
    Refused(BulkRefusal),
}

/// `bulk-request`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BulkRequest {
    pub fail_on_errors: Option<u32>,
    pub operations: Vec<BulkEntry>,
}

/// `engine-info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub api_version: String,
    pub name: String,
    pub service_provider_config: String,
    pub schemas: String,
    pub resource_types: String,
}
