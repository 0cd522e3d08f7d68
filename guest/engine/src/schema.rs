//! SCIM schemas (RFC 7643 §2, §4, §7, §8.7): the attribute definitions that every other module
//! consults — validation for types and mutability, filters for case-exactness, rendering for
//! `returned` — and the `/Schemas` and `/ResourceTypes` documents built from them.
//!
//! Definitions are values, not code, so that a realm's profile can add extension schemas.

use serde_json::{Map, Value, json};

use crate::model::Kind;

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Decimal => "decimal",
            Type::Integer => "integer",
            Type::DateTime => "dateTime",
            Type::Binary => "binary",
            Type::Reference => "reference",
            Type::Complex => "complex",
        }
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute (or sub-attribute) definition.
#[derive(Debug, Clone)]
pub struct AttrDef {
    pub name: String,
    pub ty: Type,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: String,
    /// Suggested values (RFC 7643 §2.4); enforced only when `closed_canonical` is set.
    pub canonical_values: Vec<String>,
    /// Whether only the canonical values are allowed (e.g. `members.type`).
    pub closed_canonical: bool,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttrDef>,
    /// The realm-model attribute this attribute (or sub-attribute) is stored under by default,
    /// e.g. `scim.name.middleName` (see `mapping`). Set by `SchemaDef::new`, changed by a
    /// realm's profile.
    pub storage: String,
    /// Checks a realm's profile adds to values of this attribute.
    pub validations: Vec<crate::profile::Validation>,
    /// Whether the realm maps this attribute (always, without a profile; see `profile`).
    pub mapped: bool,
}

impl AttrDef {
    pub(crate) fn new(name: &str, ty: Type, description: &str) -> Self {
        AttrDef {
            name: name.to_string(),
            ty,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            description: description.to_string(),
            canonical_values: Vec::new(),
            closed_canonical: false,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            storage: String::new(),
            validations: Vec::new(),
            mapped: true,
        }
    }

    fn string(name: &str, description: &str) -> Self {
        Self::new(name, Type::String, description)
    }

    fn boolean(name: &str, description: &str) -> Self {
        Self::new(name, Type::Boolean, description)
    }

    fn reference(name: &str, types: &[&str], description: &str) -> Self {
        let mut a = Self::new(name, Type::Reference, description);
        a.reference_types = types.iter().map(|s| s.to_string()).collect();
        a
    }

    fn complex(name: &str, description: &str, subs: Vec<AttrDef>) -> Self {
        let mut a = Self::new(name, Type::Complex, description);
        a.sub_attributes = subs;
        a
    }

    fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }

    fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|s| s.to_string()).collect();
        self
    }

    fn closed(mut self) -> Self {
        self.closed_canonical = true;
        self
    }

    /// A sub-attribute by name, case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&AttrDef> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether this is a complex attribute with a `value` sub-attribute, which filters and
    /// PATCH paths use when no sub-attribute is named.
    pub fn value_sub(&self) -> Option<&AttrDef> {
        if self.ty == Type::Complex { self.sub("value") } else { None }
    }

    /// Whether `/Schemas` lists the attribute: a realm whose profile leaves it unmapped in
    /// `strict` mode refuses it in writes, so it is not offered (read-only ones still show).
    fn advertised(&self) -> bool {
        self.mapped || self.mutability == Mutability::ReadOnly
    }

    /// The RFC 7643 §7 representation.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        if !self.description.is_empty() {
            m.insert("description".into(), json!(self.description));
        }
        m.insert("required".into(), json!(self.required));
        if self.ty != Type::Complex && self.ty != Type::Boolean {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        if self.ty != Type::Complex && self.ty != Type::Boolean {
            m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub_attributes.is_empty() {
            let subs = self.sub_attributes.iter().filter(|a| a.advertised()).map(AttrDef::to_json).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(m)
    }
}

/// A schema: a URN and its attributes.
#[derive(Debug, Clone)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttrDef>,
    /// The prefix of the realm-model attribute names this schema's attributes are stored
    /// under by default (see `mapping`).
    pub storage_prefix: String,
}

impl SchemaDef {
    /// A schema whose attributes are stored under `storage_prefix`.
    pub fn new(id: &str, name: &str, description: &str, storage_prefix: &str, mut attributes: Vec<AttrDef>) -> Self {
        assign_storage(&mut attributes, storage_prefix);
        SchemaDef {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            attributes,
            storage_prefix: storage_prefix.into(),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&AttrDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn to_json(&self, base_location: Option<&str>) -> Value {
        let mut m = Map::new();
        m.insert("schemas".into(), json!([SCHEMA_SCHEMA]));
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        m.insert("description".into(), json!(self.description));
        let attributes = self.attributes.iter().filter(|a| a.advertised()).map(AttrDef::to_json).collect();
        m.insert("attributes".into(), Value::Array(attributes));
        let mut meta = Map::new();
        meta.insert("resourceType".into(), json!("Schema"));
        if let Some(base) = base_location {
            meta.insert("location".into(), json!(format!("{base}/Schemas/{}", self.id)));
        }
        m.insert("meta".into(), Value::Object(meta));
        Value::Object(m)
    }
}

/// The schemas of one resource type: its core schema and its extensions.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub kind: Kind,
    pub core: SchemaDef,
    /// Extension schemas and whether each is required.
    pub extensions: Vec<(SchemaDef, bool)>,
    /// `id`, `externalId` and `meta` (RFC 7643 §3.1).
    pub common: Vec<AttrDef>,
}

impl ResourceSchema {
    /// The schema with this URN (case-insensitively), core or extension.
    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        if self.core.id.eq_ignore_ascii_case(urn) {
            return Some(&self.core);
        }
        self.extensions.iter().map(|(s, _)| s).find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn extension(&self, urn: &str) -> Option<&SchemaDef> {
        self.extensions.iter().map(|(s, _)| s).find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// A common attribute (`id`, `externalId`, `meta`).
    pub fn common_attr(&self, name: &str) -> Option<&AttrDef> {
        self.common.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// An attribute of the core schema or a common attribute.
    pub fn core_attr(&self, name: &str) -> Option<&AttrDef> {
        self.core.attr(name).or_else(|| self.common_attr(name))
    }

    /// Splits a URN-prefixed attribute path (`urn:…:User:manager.value`) into the schema it
    /// names and the rest; `None` when no known schema URN prefixes it.
    pub fn split_urn<'p>(&self, path: &'p str) -> Option<(&SchemaDef, &'p str)> {
        for schema in std::iter::once(&self.core).chain(self.extensions.iter().map(|(s, _)| s)) {
            let id = schema.id.as_str();
            if path.len() > id.len()
                && path.is_char_boundary(id.len())
                && path[..id.len()].eq_ignore_ascii_case(id)
                && path.as_bytes()[id.len()] == b':'
            {
                return Some((schema, &path[id.len() + 1..]));
            }
        }
        None
    }

    pub fn resource_type_json(&self, base_location: Option<&str>) -> Value {
        let name = self.kind.resource_type();
        let mut m = Map::new();
        m.insert("schemas".into(), json!([RESOURCE_TYPE_SCHEMA]));
        m.insert("id".into(), json!(name));
        m.insert("name".into(), json!(name));
        m.insert("endpoint".into(), json!(format!("/{}", self.kind.endpoint())));
        m.insert("description".into(), json!(self.core.description));
        m.insert("schema".into(), json!(self.core.id));
        if !self.extensions.is_empty() {
            m.insert(
                "schemaExtensions".into(),
                Value::Array(
                    self.extensions.iter().map(|(s, required)| json!({"schema": s.id, "required": required})).collect(),
                ),
            );
        }
        let mut meta = Map::new();
        meta.insert("resourceType".into(), json!("ResourceType"));
        if let Some(base) = base_location {
            meta.insert("location".into(), json!(format!("{base}/ResourceTypes/{name}")));
        }
        m.insert("meta".into(), Value::Object(meta));
        Value::Object(m)
    }
}

fn assign_storage(attributes: &mut [AttrDef], prefix: &str) {
    for a in attributes {
        a.storage = format!("{prefix}{}", a.name);
        let sub_prefix = format!("{}.", a.storage);
        for s in &mut a.sub_attributes {
            s.storage = format!("{sub_prefix}{}", s.name);
        }
    }
}

fn common_attributes() -> Vec<AttrDef> {
    use Mutability::*;
    let mut common = vec![
        AttrDef::string("id", "Unique identifier for the resource, assigned by the service provider.")
            .case_exact()
            .mutability(ReadOnly)
            .returned(Returned::Always)
            .unique(),
        AttrDef::string("externalId", "Identifier of the resource as defined by the provisioning client.").case_exact(),
        AttrDef::complex(
            "meta",
            "Resource metadata.",
            vec![
                AttrDef::string("resourceType", "The name of the resource type.").case_exact().mutability(ReadOnly),
                AttrDef::new("created", Type::DateTime, "When the resource was added.").mutability(ReadOnly),
                AttrDef::new("lastModified", Type::DateTime, "When the resource was last updated.")
                    .mutability(ReadOnly),
                AttrDef::reference("location", &["uri"], "The URI of the resource.").case_exact().mutability(ReadOnly),
                AttrDef::string("version", "The version (entity tag) of the resource.")
                    .case_exact()
                    .mutability(ReadOnly),
            ],
        )
        .mutability(ReadOnly),
    ];
    assign_storage(&mut common, "scim.");
    common
}

/// A multi-valued complex attribute shaped like `emails` (value, display, type, primary).
fn typed_multi(name: &str, description: &str, value: AttrDef, types: &[&str]) -> AttrDef {
    AttrDef::complex(
        name,
        description,
        vec![
            value,
            AttrDef::string("display", "A human-readable name, primarily used for display purposes."),
            AttrDef::string("type", "A label indicating the attribute's function.").canonical(types),
            AttrDef::boolean("primary", "Whether this is the primary or preferred value."),
        ],
    )
    .multi()
}

/// RFC 7643 §4.1 and §8.7.1: the core User schema.
pub fn core_user() -> SchemaDef {
    use Mutability::*;
    let s = |n: &str, d: &str| AttrDef::string(n, d);
    let attributes = vec![
        s(
            "userName",
            "Unique identifier for the User, used to authenticate. Unique per realm, compared case-insensitively.",
        )
        .required()
        .unique(),
        AttrDef::complex(
            "name",
            "The components of the user's real name.",
            vec![
                s("formatted", "The full name, formatted for display."),
                s("familyName", "The family name, or last name."),
                s("givenName", "The given name, or first name."),
                s("middleName", "The middle name(s)."),
                s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
                s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
            ],
        ),
        s("displayName", "The name of the User, suitable for display to end-users."),
        s("nickName", "The casual way to address the user."),
        AttrDef::reference("profileUrl", &["external"], "A fully qualified URL to the User's online profile."),
        s("title", "The user's title, such as 'Vice President'."),
        s("userType", "The relationship between the organization and the user, e.g. 'Employee'."),
        s("preferredLanguage", "The User's preferred written or spoken language (RFC 7231 Accept-Language)."),
        s("locale", "The User's default location, e.g. 'en-US'."),
        s("timezone", "The User's time zone in the IANA database format, e.g. 'America/Los_Angeles'."),
        AttrDef::boolean("active", "The User's administrative status; stored as the realm user's 'enabled'."),
        s("password", "The User's clear-text password, write-only; stored only as a hash.")
            .mutability(WriteOnly)
            .returned(Returned::Never),
        typed_multi(
            "emails",
            "Email addresses for the user.",
            s("value", "Email address for the user."),
            &["work", "home", "other"],
        ),
        typed_multi(
            "phoneNumbers",
            "Phone numbers for the User.",
            s("value", "Phone number of the User."),
            &["work", "home", "mobile", "fax", "pager", "other"],
        ),
        typed_multi(
            "ims",
            "Instant messaging addresses for the User.",
            s("value", "Instant messaging address for the User."),
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
        ),
        typed_multi(
            "photos",
            "URLs of photos of the User.",
            AttrDef::reference("value", &["external"], "URL of a photo of the User."),
            &["photo", "thumbnail"],
        ),
        AttrDef::complex(
            "addresses",
            "A physical mailing address for this User.",
            vec![
                s("formatted", "The full mailing address, formatted for display."),
                s("streetAddress", "The full street address component."),
                s("locality", "The city or locality component."),
                s("region", "The state or region component."),
                s("postalCode", "The zip code or postal code component."),
                s("country", "The country name component (ISO 3166-1 alpha-2)."),
                s("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
                AttrDef::boolean("primary", "Whether this is the primary mailing address."),
            ],
        )
        .multi(),
        AttrDef::complex(
            "groups",
            "The groups the user is a member of, directly or through groups inside them (type \"indirect\"). Read-only: change membership through the Group resource.",
            vec![
                s("value", "The identifier of the User's group.").mutability(ReadOnly),
                AttrDef::reference("$ref", &["User", "Group"], "The URI of the corresponding Group resource.")
                    .mutability(ReadOnly),
                s("display", "A human-readable name, primarily used for display purposes.").mutability(ReadOnly),
                s("type", "How the group membership was derived.")
                    .canonical(&["direct", "indirect"])
                    .mutability(ReadOnly),
            ],
        )
        .multi()
        .mutability(ReadOnly),
        typed_multi(
            "entitlements",
            "A list of entitlements for the User.",
            s("value", "The value of an entitlement."),
            &[],
        ),
        typed_multi("roles", "A list of roles for the User.", s("value", "The value of a role."), &[]),
        typed_multi(
            "x509Certificates",
            "A list of certificates issued to the User.",
            AttrDef::new("value", Type::Binary, "The value of an X.509 certificate (base64 DER)."),
            &[],
        ),
    ];
    SchemaDef::new(CORE_USER, "User", "User Account", "scim.", attributes)
}

/// RFC 7643 §4.3: the Enterprise User extension.
pub fn enterprise_user() -> SchemaDef {
    let s = |n: &str, d: &str| AttrDef::string(n, d);
    SchemaDef::new(
        ENTERPRISE_USER,
        "EnterpriseUser",
        "Enterprise User",
        "scim.enterprise.",
        vec![
            s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
            s("costCenter", "Identifies the name of a cost center."),
            s("organization", "Identifies the name of an organization."),
            s("division", "Identifies the name of a division."),
            s("department", "Identifies the name of a department."),
            AttrDef::complex(
                "manager",
                "The User's manager.",
                vec![
                    s("value", "The id of the SCIM resource representing the User's manager."),
                    AttrDef::reference(
                        "$ref",
                        &["User"],
                        "The URI of the SCIM resource representing the User's manager.",
                    ),
                    s("displayName", "The displayName of the User's manager.").mutability(Mutability::ReadOnly),
                ],
            ),
        ],
    )
}

/// RFC 7643 §4.2: the core Group schema.
pub fn core_group() -> SchemaDef {
    use Mutability::*;
    SchemaDef::new(
        CORE_GROUP,
        "Group",
        "Group",
        "scim.",
        vec![
            AttrDef::string(
                "displayName",
                "A human-readable name for the Group. Unique per realm, compared case-insensitively.",
            )
            .required()
            .unique(),
            AttrDef::complex(
                "members",
                "A list of members of the Group.",
                vec![
                    AttrDef::string("value", "Identifier of the member of this Group.")
                        .case_exact()
                        .mutability(Immutable),
                    AttrDef::reference("$ref", &["User", "Group"], "The URI of the member resource.")
                        .mutability(Immutable),
                    AttrDef::string("type", "The type of the member.")
                        .canonical(&["User", "Group"])
                        .closed()
                        .mutability(Immutable),
                    AttrDef::string(
                        "display",
                        "The member's name for display, as the client sent it with the membership; absent when it sent none.",
                    )
                    .mutability(Immutable),
                ],
            )
            .multi(),
        ],
    )
}

/// The schemas the default engine serves.
#[derive(Debug, Clone)]
pub struct Schemas {
    pub user: ResourceSchema,
    pub group: ResourceSchema,
}

impl Schemas {
    pub fn default_set() -> Self {
        Schemas {
            user: ResourceSchema {
                kind: Kind::User,
                core: core_user(),
                extensions: vec![(enterprise_user(), false)],
                common: common_attributes(),
            },
            group: ResourceSchema {
                kind: Kind::Group,
                core: core_group(),
                extensions: Vec::new(),
                common: common_attributes(),
            },
        }
    }

    pub fn of(&self, kind: Kind) -> &ResourceSchema {
        match kind {
            Kind::User => &self.user,
            Kind::Group => &self.group,
        }
    }

    /// Every distinct schema, core schemas first.
    pub fn all(&self) -> Vec<&SchemaDef> {
        let mut out: Vec<&SchemaDef> = vec![&self.user.core, &self.group.core];
        for rs in [&self.user, &self.group] {
            for (s, _) in &rs.extensions {
                if !out.iter().any(|o| o.id == s.id) {
                    out.push(s);
                }
            }
        }
        out
    }
}
