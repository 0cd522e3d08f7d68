//! Generators of hostile SCIM input, shared by the property tests that throw it at the engine
//! natively (`guest/engine/tests/hostile_input.rs`), through the component and over HTTP
//! (`tests/scim/hostile_input.rs`). Each mixes well-formed input built from the RFC's grammar
//! with mutations of it and with plain garbage, and leans on what has broken engines before:
//! deep nesting, long chains, huge numbers, odd Unicode, wrong types, unknown names.
//!
//! The properties are the callers': no panic, no trap, and bad input answered with a
//! `400`-family SCIM error.
//!
//! Cases per run follow `PROPTEST_CASES` (proptest's own variable); the test command runs the
//! default, and a long run is `PROPTEST_CASES=20000 cargo test --release -p scim-engine --test
//! hostile_input` (see the README).

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use serde_json::{Value, json};

/// Attribute paths: real ones of the core, enterprise and group schemas, in odd cases and with
/// URN prefixes, and names that exist nowhere.
pub fn attr_path() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "userName", "USERNAME", "name.givenName", "name.familyName", "name", "displayName", "emails",
            "emails.value", "emails.type", "emails.primary", "phoneNumbers.value", "addresses.locality",
            "active", "title", "meta.created", "meta.lastModified", "meta.resourceType", "id", "externalId",
            "groups", "groups.value", "members", "members.value", "members.display", "password", "x509Certificates.value",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "manager", "department", "nosuch", "name.nosuch", "emails.value.deeper", "", ".", "a.b.c.d",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z:.$_-]{0,40}",
    ]
    .boxed()
}

/// Comparison values: JSON literals, unquoted words, broken strings, huge numbers.
fn comp_value() -> BoxedStrategy<String> {
    prop_oneof![
        "\"[^\"\\\\]{0,20}\"",
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("1e400".to_string()),
        Just("\"2024-01-01T00:00:00Z\"".to_string()),
        Just("\"unterminated".to_string()),
        Just("\"\\ud800\"".to_string()),
        "[a-z]{0,8}",
    ]
    .boxed()
}

fn op() -> BoxedStrategy<String> {
    prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx", ""])
        .prop_map(str::to_string)
        .boxed()
}

/// Filters from the RFC 7644 §3.4.2.2 grammar, nested a few levels.
pub fn grammatical_filter() -> BoxedStrategy<String> {
    let leaf = (attr_path(), op(), comp_value())
        .prop_map(|(p, o, v)| if o == "pr" { format!("{p} pr") } else { format!("{p} {o} {v}") })
        .boxed();
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            (inner.clone(), prop::sample::select(vec!["and", "or", "AND", "Or"]), inner.clone())
                .prop_map(|(a, j, b)| format!("{a} {j} {b}")),
            inner.clone().prop_map(|f| format!("({f})")),
            inner.clone().prop_map(|f| format!("not ({f})")),
            (attr_path(), inner.clone()).prop_map(|(p, f)| format!("{p}[{f}]")),
            (attr_path(), inner.clone(), attr_path(), op(), comp_value())
                .prop_map(|(p, f, s, o, v)| format!("{p}[{f}].{s} {o} {v}")),
        ]
    })
    .boxed()
}

/// What has broken parsers: deep nesting, long chains, unbalanced brackets.
pub fn pathological_filter() -> BoxedStrategy<String> {
    let term = r#"userName eq "x""#;
    prop_oneof![
        (1usize..3000).prop_map(move |n| format!("{}{term}{}", "(".repeat(n), ")".repeat(n))),
        (1usize..3000).prop_map(move |n| format!("{}{term}{}", "not (".repeat(n), ")".repeat(n))),
        (1usize..3000).prop_map(|n| "(".repeat(n)),
        (1usize..3000).prop_map(|n| ")".repeat(n)),
        (1usize..3000).prop_map(|n| "[".repeat(n)),
        (1usize..3000).prop_map(|n| "emails[".repeat(n)),
        (1usize..20_000).prop_map(move |n| vec![term; n].join(" or ")),
        (1usize..20_000).prop_map(move |n| vec![term; n].join(" and ")),
        (1usize..2000).prop_map(move |n| std::iter::repeat_n(format!("({term}"), n).collect::<Vec<_>>().join(" or ")),
    ]
    .boxed()
}

/// Any filter: grammatical, mutated, pathological, or noise.
pub fn filter() -> BoxedStrategy<String> {
    prop_oneof![
        5 => grammatical_filter(),
        2 => (grammatical_filter(), any::<prop::sample::Index>(), "[()\\[\\]\" .a-z]{1,3}")
            .prop_map(|(f, at, junk)| {
                let mut chars: Vec<char> = f.chars().collect();
                let i = at.index(chars.len() + 1);
                chars.splice(i..i, junk.chars());
                chars.into_iter().collect()
            }),
        1 => pathological_filter(),
        1 => "\\PC{0,60}",
    ]
    .boxed()
}

/// Arbitrary JSON values, nested.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
        attr_path().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(attr_path(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// JSON nested far deeper than any resource: arrays or objects, thousands of levels.
pub fn deep_json() -> BoxedStrategy<String> {
    prop_oneof![
        (1usize..5000).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        (1usize..5000).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))),
        (1usize..5000).prop_map(|n| format!(
            "{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\",\"name\":{}1{}}}",
            "{\"givenName\":".repeat(n),
            "}".repeat(n)
        )),
    ]
    .boxed()
}

/// Resource documents: real attributes with wrong or right types, unknown ones, URNs.
pub fn resource_document() -> BoxedStrategy<String> {
    let user = prop::collection::btree_map(attr_path(), json_value(), 0..8).prop_map(|m| {
        let mut doc = serde_json::Map::new();
        doc.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
        doc.insert("userName".into(), json!("someone"));
        doc.extend(m);
        Value::Object(doc).to_string()
    });
    prop_oneof![5 => user, 1 => json_value().prop_map(|v| v.to_string()), 1 => deep_json(), 1 => "\\PC{0,80}"].boxed()
}

/// PATCH bodies: operations with real and broken ops, paths (filters included) and values.
pub fn patch_body() -> BoxedStrategy<String> {
    let path = prop_oneof![
        3 => attr_path(),
        2 => (attr_path(), filter(), prop::option::of(attr_path())).prop_map(|(p, f, s)| match s {
            Some(s) => format!("{p}[{f}].{s}"),
            None => format!("{p}[{f}]"),
        }),
    ];
    let operation = (
        prop::sample::select(vec!["add", "replace", "remove", "Add", "REPLACE", "delete", ""]),
        prop::option::of(path),
        prop::option::of(json_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = serde_json::Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        });
    let body = prop::collection::vec(operation, 0..6).prop_map(|ops| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}).to_string()
    });
    prop_oneof![6 => body, 1 => json_value().prop_map(|v| v.to_string()), 1 => deep_json(), 1 => "\\PC{0,80}"].boxed()
}

/// `attributes` / `excludedAttributes` parameters: lists of paths, empty items, junk.
pub fn attribute_list() -> BoxedStrategy<String> {
    prop_oneof![
        prop::collection::vec(attr_path(), 0..6).prop_map(|v| v.join(",")),
        "\\PC{0,40}",
        (1usize..5000).prop_map(|n| ",".repeat(n)),
    ]
    .boxed()
}

/// `POST /.search` bodies.
pub fn search_body() -> BoxedStrategy<String> {
    let fields = (
        prop::option::of(filter()),
        prop::option::of(attribute_list()),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
    )
        .prop_map(|(f, a, start, count)| {
            let mut o = serde_json::Map::new();
            o.insert("schemas".into(), json!(["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]));
            if let Some(f) = f {
                o.insert("filter".into(), json!(f));
            }
            if let Some(a) = a {
                o.insert("attributes".into(), json!(a));
            }
            if let Some(s) = start {
                o.insert("startIndex".into(), s);
            }
            if let Some(c) = count {
                o.insert("count".into(), c);
            }
            Value::Object(o).to_string()
        });
    prop_oneof![4 => fields, 1 => deep_json(), 1 => "\\PC{0,80}"].boxed()
}
