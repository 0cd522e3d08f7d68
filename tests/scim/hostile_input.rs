//! Hostile input thrown at the engine through the component (the `.wasm` the server runs,
//! called as the server calls it, plan checks included) and at a running server over HTTP,
//! with `scimd-hostile`'s generators. Through the component, a refusal is a SCIM error of the
//! `400` family and never a trap, a timeout or a plan the host refuses; over HTTP, no answer is
//! a `5xx`. (The same generators run natively in `guest/engine/tests/hostile_input.rs`.)
//!
//! `PROPTEST_CASES` sets the cases per property (256 through the component, a quarter of that
//! over HTTP); the long run is in the README.

use std::time::Duration;

use proptest::prelude::*;
use scimd::Error;
use scimd::runtime::bindings::{Attribute, Candidate, Context, Meta, Model, ResourceKind, Stored, UserModel};
use scimd::runtime::bindings::{Compatibility, RealmConfig};
use scimd::runtime::{Limits, Loaded, RealmEngine};
use scimd_hostile as hostile;
use scimd_tests::{Client, Server, q};
use serde_json::json;

fn engines() -> Vec<RealmEngine> {
    let limits = Limits { deadline: Duration::from_secs(5), memory: 64 << 20 };
    [Compatibility::Entra, Compatibility::Strict]
        .into_iter()
        .map(|compatibility| {
            let config = RealmConfig {
                compatibility,
                max_results: 100,
                max_operations: 100,
                max_payload_size: 1 << 20,
                etag: true,
                cursor_timeout: 3600,
                profile: None,
                extensions: None,
            };
            Loaded::builtin().and_then(|l| RealmEngine::new(l, config, limits, None))
        })
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("the engines start: {e}"))
}

thread_local! {
    static ENGINES: Vec<RealmEngine> = engines();
}

fn ctx() -> Context {
    Context { realm: "r".into(), base_url: "http://x/realms/r/scim/v2".into() }
}

fn stored() -> Stored {
    Stored {
        id: "u1".into(),
        model: Model::User(UserModel {
            username: "bjensen".into(),
            email: Some("b@example.com".into()),
            first_name: Some("Barbara".into()),
            last_name: Some("Jensen".into()),
            enabled: true,
            attributes: vec![Attribute { name: "displayName".into(), values: vec!["Babs".into()] }],
        }),
        meta: Meta {
            created: "2026-01-01T00:00:00.000Z".into(),
            last_modified: "2026-01-01T00:00:00.000Z".into(),
            version: "W/\"1\"".into(),
            location: "http://x/realms/r/scim/v2/Users/u1".into(),
        },
    }
}

/// Ok, or the client's error: never the engine failing.
fn client_error<T>(what: &str, r: scimd::Result<T>) -> Result<(), TestCaseError> {
    match r {
        Ok(_) => Ok(()),
        Err(Error::Scim { status, .. }) if (400..500).contains(&status) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("{what}: {e:?}"))),
    }
}

/// Runs `f` on each engine's instance.
fn each(f: impl Fn(&mut scimd::runtime::Session<'_>) -> Result<(), TestCaseError>) -> Result<(), TestCaseError> {
    ENGINES.with(|engines| {
        for e in engines {
            let mut outcome = Ok(());
            let ran = e.with(|s| {
                outcome = f(s);
                Ok(())
            });
            client_error("session", ran)?;
            outcome?;
        }
        Ok(())
    })
}

proptest! {
    #[test]
    fn component_filters_plan_and_match_or_are_invalid_filters(f in hostile::filter()) {
        each(|s| {
            client_error("plan", s.plan_query(ResourceKind::User, Some(&f), None, None))?;
            client_error("plan groups", s.plan_query(ResourceKind::Group, Some(&f), None, None))?;
            client_error("matches", s.matches(ResourceKind::User, &f, &[Candidate { stored: stored(), relations: vec![] }]))
        })?;
    }

    #[test]
    fn component_patch_bodies_apply_or_are_refused(body in hostile::patch_body()) {
        each(|s| client_error("patch", s.patch(&ctx(), &stored(), &body)))?;
    }

    #[test]
    fn component_documents_create_or_are_refused(body in hostile::resource_document()) {
        each(|s| {
            client_error("create", s.create_resource(&ctx(), ResourceKind::User, &body))?;
            client_error("replace", s.replace(&ctx(), &stored(), &body))
        })?;
    }

    #[test]
    fn component_attribute_lists_and_search_bodies_are_read_or_refused(a in hostile::attribute_list(), body in hostile::search_body()) {
        each(|s| {
            client_error("projection", s.projection(ResourceKind::User, Some(&a), None))?;
            client_error("search", s.parse_search(&body))
        })?;
    }
}

/// A server with a realm `r` and a writing client, on a runtime of its own (proptest runs
/// cases synchronously).
struct Live {
    rt: tokio::runtime::Runtime,
    _server: Server,
    client: Client,
    user: String,
}

fn live() -> Live {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let (server, client, user) = rt
        .block_on(async {
            let server = Server::start().await?;
            let client = server.realm("r", "entra", &["manage-users"])?;
            let user =
                client.create_user("bjensen", json!({"emails": [{"value": "b@example.com", "primary": true}]})).await?;
            anyhow::Ok((server, client, user))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    Live { rt, _server: server, client, user }
}

fn http_cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).map_or(64, |n: u32| (n / 4).max(1))
}

/// No answer of the server to a client's input is a `5xx`.
fn not_a_server_error(what: &str, r: &scimd_tests::Resp) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500, "{what}: {} {}", r.status, r.text.chars().take(300).collect::<String>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(http_cases()))]

    #[test]
    fn http_hostile_filters_patches_and_paths_are_never_server_errors(
        f in hostile::filter(),
        patch in hostile::patch_body(),
        attrs in hostile::attribute_list(),
        doc in hostile::resource_document(),
    ) {
        thread_local! { static LIVE: Live = live(); }
        LIVE.with(|l| {
            l.rt.block_on(async {
                let c = &l.client;
                // (A URI over 64 KiB cannot be sent: `attacks` shows the server's answer to one.)
                if q(&f).len() < 60_000 {
                    let r = c.get(&format!("/Users?filter={}", q(&f))).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    not_a_server_error("filter", &r)?;
                }
                let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": f});
                not_a_server_error("search", &c.post("/Groups/.search", &search).await.map_err(|e| TestCaseError::fail(e.to_string()))?)?;
                let r = c.send("PATCH", &format!("/Users/{}", l.user), Some(patch.clone()), &[]).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                not_a_server_error("patch", &r)?;
                let r = c.get(&format!("/Users/{}?attributes={}&excludedAttributes={}", l.user, q(&attrs), q(&attrs))).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                not_a_server_error("attributes", &r)?;
                let r = c.send("POST", "/Users", Some(doc.clone()), &[]).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                not_a_server_error("create", &r)?;
                let r = c.send("GET", &format!("/{}", q(&attrs)), None, &[]).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                not_a_server_error("path", &r)?;
                Ok::<(), TestCaseError>(())
            })
        })?;
    }
}
