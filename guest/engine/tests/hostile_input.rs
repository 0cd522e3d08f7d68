//! Hostile input thrown at the engine natively (`scimd-hostile`'s generators): filters, PATCH
//! bodies, resource documents, attribute lists and search bodies, in both compatibility modes.
//! Whatever comes in, the engine answers or refuses with a `400`-family error; it never panics
//! (a panic in the component is a trap). The same generators run through the component and
//! over HTTP in `tests/scim/hostile_input.rs`.
//!
//! `PROPTEST_CASES` sets the cases per property (256 by default); the long run is in the README.

use proptest::prelude::*;
use scim_engine::Engine;
use scim_engine::model::{Attribute, Candidate, Context, Kind, Meta, Model, Stored, UserModel};
use scimd_hostile as hostile;

fn engines() -> Vec<Engine> {
    ["entra", "strict"]
        .iter()
        .map(|c| Engine::new(&format!(r#"{{"compatibility":"{c}","maxResults":100,"maxOperations":100}}"#)))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("the engines start: {e:?}"))
}

fn ctx() -> Context {
    Context { realm: "r".into(), base_url: "http://x/realms/r/scim/v2".into() }
}

/// A stored user with something in most places, for PATCH, replace and re-checks.
fn stored() -> Stored {
    Stored {
        id: "u1".into(),
        model: Model::User(UserModel {
            username: "bjensen".into(),
            email: Some("b@example.com".into()),
            first_name: Some("Barbara".into()),
            last_name: Some("Jensen".into()),
            enabled: true,
            attributes: vec![
                Attribute { name: "displayName".into(), values: vec!["Babs".into()] },
                Attribute { name: "scim.phoneNumbers".into(), values: vec![r#"{"value":"555","type":"work"}"#.into()] },
            ],
        }),
        meta: Meta {
            created: "2026-01-01T00:00:00.000Z".into(),
            last_modified: "2026-01-01T00:00:00.000Z".into(),
            version: "W/\"1\"".into(),
            location: "http://x/realms/r/scim/v2/Users/u1".into(),
        },
    }
}

/// A refusal must be the client's error.
fn client_error(what: &str, r: Result<impl Sized, scim_engine::Error>) -> Result<(), TestCaseError> {
    if let Err(e) = r {
        prop_assert!((400..500).contains(&e.status()), "{what}: {} {}", e.status(), e.detail());
    }
    Ok(())
}

proptest! {
    #[test]
    fn filters_plan_and_match_or_are_invalid_filters(f in hostile::filter()) {
        for e in engines() {
            client_error("plan", e.plan_query(Kind::User, Some(&f), None, None))?;
            client_error("plan groups", e.plan_query(Kind::Group, Some(&f), None, None))?;
            let candidates = [Candidate { stored: stored(), relations: vec![] }];
            client_error("matches", e.matches(Kind::User, &f, &candidates))?;
        }
    }

    #[test]
    fn sort_keys_plan_or_are_refused(path in hostile::attr_path(), order in "\\PC{0,12}") {
        for e in engines() {
            client_error("sort", e.plan_query(Kind::User, None, Some(&path), Some(&order)))?;
        }
    }

    #[test]
    fn patch_bodies_apply_or_are_refused(body in hostile::patch_body()) {
        for e in engines() {
            client_error("patch", e.patch(&ctx(), &stored(), &body))?;
        }
    }

    #[test]
    fn documents_create_and_replace_or_are_refused(body in hostile::resource_document()) {
        for e in engines() {
            client_error("create user", e.create(&ctx(), Kind::User, &body))?;
            client_error("create group", e.create(&ctx(), Kind::Group, &body))?;
            client_error("replace", e.replace(&ctx(), &stored(), &body))?;
        }
    }

    #[test]
    fn attribute_lists_project_and_render_or_are_refused(a in hostile::attribute_list(), x in hostile::attribute_list()) {
        for e in engines() {
            for (attributes, excluded) in [(Some(a.as_str()), None), (None, Some(x.as_str())), (Some(a.as_str()), Some(x.as_str()))] {
                if let Ok(p) = e.projection(Kind::User, attributes, excluded) {
                    client_error("render", e.render(&ctx(), &stored(), &[], &p))?;
                } else {
                    client_error("projection", e.projection(Kind::User, attributes, excluded))?;
                }
            }
        }
    }

    #[test]
    fn search_bodies_parse_or_are_refused(body in hostile::search_body()) {
        for e in engines() {
            client_error("search", e.parse_search(&body))?;
        }
    }
}
