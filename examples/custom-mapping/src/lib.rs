//! An example of a customised SCIM engine for scimd: the default engine from the
//! `scim-engine` library, with three changes an integrator might want.
//!
//! 1. `userName` is lower-cased, both when it is written and when it is shown, so users that
//!    were provisioned before this engine was deployed read back lower-cased too.
//! 2. `displayName`, when a user has none, is derived from `name.givenName` and
//!    `name.familyName` at render time (nothing is stored).
//! 3. An HR extension schema (`urn:acme:params:scim:schemas:extension:hr:1.0:User`) is always
//!    declared, whatever the realm's configuration says: its attributes show in `/Schemas`,
//!    validate, filter (pushed down to scimd's attribute index) and patch like any other.
//!
//! Everything not overridden below (filters, PATCH, validation, discovery…) is the default
//! engine's. See README.md for building and deploying it.

use scim_engine::component::{Adapter, ScimEngine};
use scim_engine::model::{Context, Kind, Model, Projection, Relation, Stored, Write};
use scim_engine::{Config, Engine, Result};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const HR: &str = "urn:acme:params:scim:schemas:extension:hr:1.0:User";

/// The HR extension, in the declaration format of the realm configuration's `extensions`.
fn hr_extension() -> Value {
    json!({
        "schema": HR,
        "resourceType": "User",
        "name": "HR",
        "description": "Acme HR data",
        "attributes": [
            {"name": "costCenter", "type": "string", "description": "The cost center the user is charged to"},
            {"name": "startDate", "type": "dateTime", "description": "The first day at Acme"},
            {"name": "badges", "type": "integer", "multiValued": true, "description": "Building badge numbers"}
        ]
    })
}

pub struct CustomMapping(Engine);

impl CustomMapping {
    /// The model as written, with its userName lower-cased.
    fn lower(mut write: Write) -> Write {
        if let Model::User(u) = &mut write.model {
            u.username = u.username.to_lowercase();
        }
        write
    }
}

/// Whether a projection lets a core attribute through.
fn shown(projection: &Projection, attr: &str) -> bool {
    let full = format!("{USER}:{attr}");
    let named = |list: &[String]| list.iter().any(|a| a.eq_ignore_ascii_case(&full));
    !named(&projection.excluded_attributes) && (projection.attributes.is_empty() || named(&projection.attributes))
}

impl ScimEngine for CustomMapping {
    fn new(mut config: Config) -> Result<Self> {
        // Add the HR extension to whatever the realm declares.
        let extensions = config.extensions.get_or_insert_with(|| json!([]));
        if let Some(list) = extensions.as_array_mut()
            && !list.iter().any(|e| e["schema"] == HR)
        {
            list.push(hr_extension());
        }
        Engine::with_config(config).map(CustomMapping)
    }

    fn engine(&self) -> &Engine {
        &self.0
    }

    fn create(&self, ctx: &Context, kind: Kind, body: &str) -> Result<Write> {
        self.0.create(ctx, kind, body).map(Self::lower)
    }

    fn replace(&self, ctx: &Context, current: &Stored, body: &str) -> Result<Write> {
        self.0.replace(ctx, current, body).map(Self::lower)
    }

    fn patch(&self, ctx: &Context, current: &Stored, body: &str) -> Result<Write> {
        self.0.patch(ctx, current, body).map(Self::lower)
    }

    fn render(
        &self,
        ctx: &Context,
        stored: &Stored,
        relations: &[Relation],
        projection: &Projection,
    ) -> Result<String> {
        let text = self.0.render(ctx, stored, relations, projection)?;
        if !matches!(stored.model, Model::User(_)) {
            return Ok(text);
        }
        let Ok(mut doc) = serde_json::from_str::<Value>(&text) else { return Ok(text) };
        let Some(user) = doc.as_object_mut() else { return Ok(text) };
        if let Some(Value::String(name)) = user.get_mut("userName") {
            *name = name.to_lowercase();
        }
        if let Model::User(u) = &stored.model
            && !user.contains_key("displayName")
            && shown(projection, "displayName")
        {
            let parts: Vec<&str> = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect();
            if !parts.is_empty() {
                user.insert("displayName".into(), Value::String(parts.join(" ")));
            }
        }
        Ok(doc.to_string())
    }
}

type Component = Adapter<CustomMapping>;

scim_engine::component::export_scim_engine!(Component);
