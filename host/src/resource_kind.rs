//! The two SCIM resource kinds and every name the host gives them: the endpoint a client
//! addresses, the resource type its errors name, the admin events' type and path. One place,
//! so that a third kind (or a renamed endpoint) is one change. The kind itself is the WIT's
//! `resource-kind`; the store's own codes for it (tables, membership kinds) stay in `store`.

use crate::error::{Error, Result};
pub use crate::runtime::bindings::ResourceKind;

impl ResourceKind {
    /// The kind served at a path segment (`Users`, `Groups`), as RFC 7644 §3.2 names them.
    pub fn from_endpoint(segment: &str) -> Result<ResourceKind> {
        match segment {
            "Users" => Ok(ResourceKind::User),
            "Groups" => Ok(ResourceKind::Group),
            other => Err(Error::NotFound(format!("there is no resource type at /{other}"))),
        }
    }

    /// The kind served at a path segment whatever its case (`users`), for realms that accept
    /// what Microsoft's clients send (their reference tests address `/users` once).
    pub fn from_endpoint_ignoring_case(segment: &str) -> Option<ResourceKind> {
        [ResourceKind::User, ResourceKind::Group].into_iter().find(|k| k.endpoint().eq_ignore_ascii_case(segment))
    }

    /// The path segment of the kind's endpoint.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The resource type, as `meta.resourceType` and error details name it.
    pub fn resource_type(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The kind in running text ("user 'x' holds an administrative role").
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::User => "user",
            ResourceKind::Group => "group",
        }
    }

    /// The admin events' resource type (Keycloak's).
    pub fn event_type(self) -> &'static str {
        match self {
            ResourceKind::User => "USER",
            ResourceKind::Group => "GROUP",
        }
    }

    /// The admin events' path of a resource, relative to its realm (Keycloak's `users/<id>`).
    pub fn event_path(self, id: &str) -> String {
        match self {
            ResourceKind::User => format!("users/{id}"),
            ResourceKind::Group => format!("groups/{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_served_at_its_own_endpoint() {
        for kind in [ResourceKind::User, ResourceKind::Group] {
            assert_eq!(ResourceKind::from_endpoint(kind.endpoint()).ok(), Some(kind));
        }
    }

    #[test]
    fn an_unknown_endpoint_is_not_found() {
        assert!(matches!(ResourceKind::from_endpoint("users"), Err(Error::NotFound(_))));
        assert!(matches!(ResourceKind::from_endpoint(".search"), Err(Error::NotFound(_))));
    }
}
