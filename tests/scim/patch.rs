//! RFC 7644 §3.5.2 PatchOp over HTTP: add, replace and remove, with and without `path`, on
//! simple, complex and multi-valued attributes, `valuePath` targets, sub-attributes, URN
//! paths; errors are precise and a failed PATCH changes nothing.

use anyhow::Result;
use scimd_tests::{Client, Resp, Server};
use serde_json::{Value, json};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn setup(mode: &str) -> Result<(Server, Client, String)> {
    let server = Server::start().await?;
    let c = server.realm("r", mode, &["manage-users"])?;
    let id = c
        .create_user("bjensen", json!({"title": "Guide", "nickName": "Babs",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@work.example", "type": "work", "primary": true}, {"value": "b@home.example", "type": "home"}],
            ENTERPRISE: {"employeeNumber": "7"}}))
        .await?;
    Ok((server, c, id))
}

async fn patch(c: &Client, id: &str, ops: Value) -> Result<Resp> {
    c.patch(&format!("/Users/{id}"), &json!({"schemas": [PATCH], "Operations": ops})).await
}

async fn ok(c: &Client, id: &str, ops: Value) -> Result<Value> {
    let r = patch(c, id, ops).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = c.get(&format!("/Users/{id}")).await?;
    assert_eq!(got.json, r.json, "the PATCH response is the stored resource");
    Ok(r.json)
}

#[tokio::test]
async fn add_simple_attribute() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "add", "path": "displayName", "value": "Babs Jensen"}])).await?;
    assert_eq!(u["displayName"], "Babs Jensen");
    Ok(())
}

#[tokio::test]
async fn add_to_multi_valued_appends() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u =
        ok(&c, &id, json!([{"op": "add", "path": "emails", "value": [{"value": "b@other.example", "type": "other"}]}]))
            .await?;
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(3));
    Ok(())
}

#[tokio::test]
async fn add_without_path_merges_attributes() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(
        &c,
        &id,
        json!([{"op": "add", "value": {"nickName": "B", "name": {"middleName": "Jane"},
                                 "phoneNumbers": [{"value": "555", "type": "work"}]}}]),
    )
    .await?;
    assert_eq!(u["nickName"], "B");
    assert_eq!(u["name"], json!({"familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane"}));
    assert_eq!(u["phoneNumbers"][0]["value"], "555");
    Ok(())
}

#[tokio::test]
async fn replace_simple_and_sub_attribute() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(
        &c,
        &id,
        json!([{"op": "replace", "path": "title", "value": "Boss"},
                               {"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"}]),
    )
    .await?;
    assert_eq!(u["title"], "Boss");
    assert_eq!(u["name"], json!({"familyName": "Jensen-Smith", "givenName": "Barbara"}));
    Ok(())
}

#[tokio::test]
async fn replace_complex_keeps_unnamed_sub_attributes() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}])).await?;
    assert_eq!(u["name"], json!({"familyName": "Jensen", "givenName": "Babs"}));
    Ok(())
}

#[tokio::test]
async fn replace_multi_valued_without_filter_replaces_all_values() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.example"}]}])).await?;
    assert_eq!(u["emails"], json!([{"value": "only@x.example"}]));
    Ok(())
}

#[tokio::test]
async fn replace_value_path_sub_attribute() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u =
        ok(&c, &id, json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}]))
            .await?;
    assert_eq!(u["emails"][0]["value"], "new@work.example");
    assert_eq!(u["emails"][1]["value"], "b@home.example");
    Ok(())
}

#[tokio::test]
async fn replace_value_path_element() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h@x.example", "type": "home"}}])).await?;
    assert_eq!(u["emails"][1], json!({"value": "h@x.example", "type": "home"}));
    Ok(())
}

#[tokio::test]
async fn replace_with_primary_true_clears_other_primaries() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}])).await?;
    assert_eq!(u["emails"][0]["primary"], false);
    assert_eq!(u["emails"][1]["primary"], true);
    Ok(())
}

#[tokio::test]
async fn replace_without_path_on_extension() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u =
        ok(&c, &id, json!([{"op": "replace", "value": {ENTERPRISE: {"employeeNumber": "8", "department": "Ops"}}}]))
            .await?;
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "8", "department": "Ops"}));
    Ok(())
}

#[tokio::test]
async fn urn_paths_reach_extension_attributes() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(
        &c,
        &id,
        json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "m-1"}},
                               {"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "9"}]),
    )
    .await?;
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "9", "manager": {"value": "m-1"}}));
    let u = ok(&c, &id, json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager.value")}])).await?;
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "9"}));
    Ok(())
}

#[tokio::test]
async fn remove_simple_attribute() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "remove", "path": "nickName"}])).await?;
    assert!(u.get("nickName").is_none());
    Ok(())
}

#[tokio::test]
async fn remove_value_path_removes_matching_elements_only() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).await?;
    assert_eq!(u["emails"], json!([{"value": "b@work.example", "type": "work", "primary": true}]));
    Ok(())
}

#[tokio::test]
async fn remove_sub_attribute_of_matching_elements() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}])).await?;
    assert_eq!(u["emails"][0], json!({"value": "b@work.example", "type": "work"}));
    Ok(())
}

#[tokio::test]
async fn replace_active_disables_user_and_filters_still_find_it() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let u = ok(&c, &id, json!([{"op": "replace", "path": "active", "value": false}])).await?;
    assert_eq!(u["active"], false);
    let (total, ids) = c.ids("/Users?filter=userName%20eq%20%22bjensen%22").await?;
    assert_eq!((total, ids), (1, vec![id]));
    Ok(())
}

#[tokio::test]
async fn every_patch_bumps_version_and_last_modified() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let before = c.get(&format!("/Users/{id}")).await?;
    let r = patch(&c, &id, json!([{"op": "replace", "path": "title", "value": "x"}])).await?;
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
    assert!(r.json["meta"]["lastModified"].as_str() >= before.json["meta"]["lastModified"].as_str());
    assert_eq!(r.json["meta"]["created"], before.json["meta"]["created"]);
    Ok(())
}

/// The stored user must be exactly as before a failed PATCH.
async fn assert_unchanged(c: &Client, id: &str, before: &Value) -> Result<()> {
    assert_eq!(&c.get(&format!("/Users/{id}")).await?.json, before, "a failed PATCH changed the store");
    Ok(())
}

#[tokio::test]
async fn bad_paths_are_400_invalid_path_and_change_nothing() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let before = c.get(&format!("/Users/{id}")).await?.json;
    for (path, mention) in [
        ("nosuch", "nosuch"),
        ("name.nosuch", "nosuch"),
        ("emails[type eq \"work\"", "']'"),
        ("emails[type eq \"work\"]x", "x"),
        ("userName[value eq \"x\"]", "complex"),
        ("urn:acme:unknown:attr", "unknown schema"),
    ] {
        let r = patch(&c, &id, json!([{"op": "replace", "path": path, "value": "x"}])).await?;
        r.assert_error(400, Some("invalidPath"), mention);
    }
    assert_unchanged(&c, &id, &before).await
}

#[tokio::test]
async fn a_failing_operation_rolls_back_the_whole_patch() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let before = c.get(&format!("/Users/{id}")).await?.json;
    let r = patch(
        &c,
        &id,
        json!([{"op": "replace", "path": "title", "value": "changed"},
                                  {"op": "remove", "path": "nickName"},
                                  {"op": "replace", "path": "active", "value": "not a boolean"}]),
    )
    .await?;
    r.assert_error(400, Some("invalidValue"), "Operations[2]");
    assert_unchanged(&c, &id, &before).await
}

#[tokio::test]
async fn read_only_and_required_targets_are_mutability_errors() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let before = c.get(&format!("/Users/{id}")).await?.json;
    patch(&c, &id, json!([{"op": "replace", "path": "id", "value": "x"}])).await?.assert_error(
        400,
        Some("mutability"),
        "id",
    );
    patch(&c, &id, json!([{"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"}]))
        .await?
        .assert_error(400, Some("mutability"), "meta");
    patch(&c, &id, json!([{"op": "remove", "path": "userName"}])).await?.assert_error(
        400,
        Some("mutability"),
        "userName",
    );
    assert_unchanged(&c, &id, &before).await
}

#[tokio::test]
async fn remove_without_path_is_no_target() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    patch(&c, &id, json!([{"op": "remove"}])).await?.assert_error(400, Some("noTarget"), "path");
    Ok(())
}

#[tokio::test]
async fn replace_filter_matching_nothing_is_no_target_when_strict() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    patch(&c, &id, json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]))
        .await?
        .assert_error(400, Some("noTarget"), "emails");
    Ok(())
}

#[tokio::test]
async fn malformed_patch_bodies_are_rejected() -> Result<()> {
    let (_s, c, id) = setup("strict").await?;
    let path = format!("/Users/{id}");
    c.patch(&path, &json!({"schemas": [PATCH]})).await?.assert_error(400, Some("invalidSyntax"), "Operations");
    c.patch(&path, &json!({"schemas": [PATCH], "Operations": []})).await?.assert_error(
        400,
        Some("invalidValue"),
        "empty",
    );
    c.patch(&path, &json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]})).await?.assert_error(
        400,
        Some("invalidValue"),
        "schemas",
    );
    c.patch(&path, &json!({"schemas": [PATCH], "Operations": [{"op": "merge", "path": "title", "value": "x"}]}))
        .await?
        .assert_error(400, Some("invalidSyntax"), "merge");
    c.patch(&path, &json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "title"}]})).await?.assert_error(
        400,
        Some("invalidValue"),
        "value",
    );
    Ok(())
}

#[tokio::test]
async fn patch_on_unknown_user_is_404() -> Result<()> {
    let (_s, c, _) = setup("strict").await?;
    patch(&c, "nope", json!([{"op": "add", "path": "title", "value": "x"}])).await?.assert_error(404, None, "nope");
    Ok(())
}

/// RFC 7644 §3.5.2.2: `remove` of a singular attribute leaves it unassigned. For `active` the
/// user stays as enabled as it was (Keycloak's users always have a state), and `active` is
/// absent until a write assigns it again.
#[tokio::test]
async fn rfc7644_3_5_2_2_remove_active_makes_it_absent_and_keeps_the_user_enabled() -> Result<()> {
    for mode in ["strict", "entra"] {
        let (server, c, id) = setup(mode).await?;
        let after = ok(&c, &id, json!([{"op": "remove", "path": "active"}])).await?;
        assert!(after.get("active").is_none(), "{mode}: {after}");
        let got = c.get(&format!("/Users/{id}")).await?;
        assert!(got.json.get("active").is_none(), "{mode}: {}", got.text);
        // Another PATCH leaves it unassigned; the user is still enabled.
        let after = ok(&c, &id, json!([{"op": "replace", "path": "title", "value": "Lead"}])).await?;
        assert!(after.get("active").is_none(), "{mode}: {after}");
        let key = id.clone();
        let enabled: bool = server
            .state
            .store
            .read(move |db| Ok(db.query_row("SELECT enabled FROM users WHERE id = ?1", [&key], |r| r.get(0))?))?;
        assert!(enabled, "{mode}: the realm user stays enabled");
        // Filters see what is shown: `active` is absent.
        for (filter, expected) in [
            ("active eq true", 0),
            ("active pr", 0),
            ("not (active pr)", 1),
            ("active ne true", 1),
            ("active eq null", 1),
        ] {
            let (total, _) = c.ids(&format!("/Users?filter={}", scimd_tests::q(filter))).await?;
            assert_eq!(total, expected, "{mode}: {filter}");
        }
        // Assigned again.
        let after = ok(&c, &id, json!([{"op": "replace", "path": "active", "value": false}])).await?;
        assert_eq!(after["active"], false, "{mode}");
    }
    Ok(())
}

/// RFC 7644 §3.5.2 with §3.10: a `path` that is an extension schema's URN alone addresses the
/// whole extension object: `add` and `replace` apply its attributes (what they do not name
/// stays, as for any complex attribute), `remove` takes the extension away.
#[tokio::test]
async fn rfc7644_3_5_2_an_extension_urn_as_path_adds_replaces_and_removes_the_extension() -> Result<()> {
    for mode in ["strict", "entra"] {
        let (_server, c, id) = setup(mode).await?;
        let after = ok(&c, &id, json!([{"op": "add", "path": ENTERPRISE, "value": {"costCenter": "CC-1"}}])).await?;
        assert_eq!(after[ENTERPRISE], json!({"employeeNumber": "7", "costCenter": "CC-1"}), "{mode}");
        let after = ok(
            &c,
            &id,
            json!([{"op": "replace", "path": ENTERPRISE, "value": {"employeeNumber": "8", "division": "R&D"}}]),
        )
        .await?;
        assert_eq!(
            after[ENTERPRISE],
            json!({"employeeNumber": "8", "costCenter": "CC-1", "division": "R&D"}),
            "{mode}"
        );
        let after = ok(&c, &id, json!([{"op": "remove", "path": ENTERPRISE}])).await?;
        assert!(after.get(ENTERPRISE).is_none(), "{mode}: {after}");
        assert!(
            !after["schemas"].as_array().is_some_and(|s| s.iter().any(|u| u == ENTERPRISE)),
            "{mode}: the extension's URN leaves `schemas` with it: {after}"
        );
        assert_eq!(after["title"], "Guide", "{mode}: the rest of the user stays");
        if mode == "entra" {
            // A value naming attributes removes only those (what Entra-style clients mean).
            ok(&c, &id, json!([{"op": "add", "path": ENTERPRISE, "value": {"costCenter": "CC-2", "division": "Ops"}}]))
                .await?;
            let after =
                ok(&c, &id, json!([{"op": "remove", "path": ENTERPRISE, "value": {"costCenter": "CC-2"}}])).await?;
            assert_eq!(after[ENTERPRISE], json!({"division": "Ops"}), "{after}");
        }
        // Not an object: refused, nothing changed.
        let r = patch(&c, &id, json!([{"op": "add", "path": ENTERPRISE, "value": "x"}])).await?;
        assert_eq!((r.status, r.json["scimType"].as_str()), (400, Some("invalidValue")), "{mode}: {}", r.text);
    }
    Ok(())
}
