//! The `strict` compatibility mode: for every client quirk scimd tolerates in `entra` mode,
//! the RFC 7643/7644 answer instead (status, `scimType` and a detail naming the problem), with
//! the store unchanged; each test also sends the same request to an `entra` realm of the same
//! server, where it succeeds.

use anyhow::Result;
use scimd_tests::{Client, Resp, Server, q};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const MS_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// A server with a `strict` realm and an `entra` realm.
struct Realms {
    _server: Server,
    strict: Client,
    entra: Client,
}

async fn realms() -> Result<Realms> {
    let server = Server::start().await?;
    let strict = server.realm("strict", "strict", &["manage-users"])?;
    let entra = server.realm("entra", "entra", &["manage-users"])?;
    Ok(Realms { _server: server, strict, entra })
}

/// The same user in both realms: `(path in strict, path in entra)`.
async fn user_in_both(r: &Realms, extra: Value) -> Result<(String, String)> {
    let s = r.strict.create_user("bjensen", extra.clone()).await?;
    let e = r.entra.create_user("bjensen", extra).await?;
    Ok((format!("/Users/{s}"), format!("/Users/{e}")))
}

async fn patch_ops(c: &Client, path: &str, ops: Value) -> Result<Resp> {
    c.patch(path, &json!({"schemas": [PATCH], "Operations": ops})).await
}

async fn get(c: &Client, path: &str) -> Result<Value> {
    let r = c.get(path).await?;
    anyhow::ensure!(r.status == 200, "GET {path}: {} {}", r.status, r.text);
    Ok(r.json)
}

/// Asserts `r` succeeded with `status`; returns its body.
fn ok(r: Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "entra mode: {}", r.text);
    r.json
}

/// Sends a PATCH to the strict realm, asserts the error and that the resource is unchanged.
async fn strict_patch_fails(c: &Client, path: &str, ops: Value, scim_type: &str, detail: &str) -> Result<()> {
    let before = get(c, path).await?;
    patch_ops(c, path, ops).await?.assert_error(400, Some(scim_type), detail);
    assert_eq!(get(c, path).await?, before, "a rejected PATCH changed the store");
    Ok(())
}

/// Sends a POST to the strict realm, asserts the error and that nothing was created.
async fn strict_post_fails(c: &Client, endpoint: &str, body: Value, scim_type: &str, detail: &str) -> Result<()> {
    let (before, _) = c.ids(endpoint).await?;
    c.post(endpoint, &body).await?.assert_error(400, Some(scim_type), detail);
    assert_eq!(c.ids(endpoint).await?.0, before, "a rejected POST created a resource");
    Ok(())
}

#[tokio::test]
async fn patch_op_in_capitals_is_invalid_syntax() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"title": "Guide"})).await?;
    let ops = json!([{"op": "Replace", "path": "title", "value": "Boss"}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "invalidSyntax",
        r#"Operations[0]: 'op' must be "add", "replace" or "remove", not "Replace""#,
    )
    .await?;
    assert_eq!(ok(patch_ops(&r.entra, &e, ops).await?, 200)["title"], "Boss");
    Ok(())
}

#[tokio::test]
async fn active_as_the_string_false_in_patch_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"active": true})).await?;
    let ops = json!([{"op": "replace", "path": "active", "value": "False"}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "invalidValue",
        "Operations[0]: 'active' must be a boolean, not a string",
    )
    .await?;
    assert_eq!(ok(patch_ops(&r.entra, &e, ops).await?, 200)["active"], false);
    Ok(())
}

#[tokio::test]
async fn active_as_a_string_in_post_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let body = json!({"schemas": [USER], "userName": "bjensen", "active": "True"});
    strict_post_fails(&r.strict, "/Users", body.clone(), "invalidValue", "'active' must be a boolean, not a string")
        .await?;
    assert_eq!(ok(r.entra.post("/Users", &body).await?, 201)["active"], true);
    Ok(())
}

#[tokio::test]
async fn empty_string_for_a_boolean_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let body = json!({"schemas": [USER], "userName": "bjensen", "active": ""});
    strict_post_fails(&r.strict, "/Users", body.clone(), "invalidValue", "'active' must be a boolean, not a string")
        .await?;
    // In entra mode "" leaves `active` unassigned: a new user is active.
    assert_eq!(ok(r.entra.post("/Users", &body).await?, 201)["active"], true);
    Ok(())
}

#[tokio::test]
async fn pathless_replace_with_a_dotted_key_is_invalid_path() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"name": {"givenName": "Barbara"}})).await?;
    let ops = json!([{"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom"}}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "invalidPath",
        "Operations[0]: 'name.givenName': without 'path', the keys of 'value' must be attribute names",
    )
    .await?;
    let u = ok(patch_ops(&r.entra, &e, ops).await?, 200);
    assert_eq!((u["displayName"].clone(), u["name"]["givenName"].clone()), (json!("Bjfe"), json!("Kkom")));
    Ok(())
}

#[tokio::test]
async fn pathless_replace_with_a_full_urn_key_is_invalid_path() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({ENTERPRISE: {"employeeNumber": "1"}})).await?;
    let key = format!("{ENTERPRISE}:employeeNumber");
    let ops = json!([{"op": "replace", "value": {key.clone(): "Aklq"}}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "invalidPath",
        &format!("Operations[0]: '{key}': without 'path', the keys of 'value' must be attribute names"),
    )
    .await?;
    assert_eq!(ok(patch_ops(&r.entra, &e, ops).await?, 200)[ENTERPRISE]["employeeNumber"], "Aklq");
    Ok(())
}

#[tokio::test]
async fn filtered_replace_without_a_matching_element_is_no_target() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"emails": [{"value": "b@home.example", "type": "home"}]})).await?;
    let ops = json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@work.example"}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "noTarget",
        "Operations[0]: no value of 'emails' matches the filter",
    )
    .await?;
    assert_eq!(
        ok(patch_ops(&r.entra, &e, ops).await?, 200)["emails"],
        json!([{"value": "b@home.example", "type": "home"}, {"type": "work", "value": "b@work.example"}])
    );
    Ok(())
}

#[tokio::test]
async fn filtered_remove_without_a_matching_element_is_no_target() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"emails": [{"value": "b@home.example", "type": "home"}]})).await?;
    let ops = json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "noTarget",
        "Operations[0]: no value of 'emails' matches the filter",
    )
    .await?;
    assert_eq!(
        ok(patch_ops(&r.entra, &e, ops).await?, 200)["emails"],
        json!([{"value": "b@home.example", "type": "home"}])
    );
    Ok(())
}

/// A group with alice and bob in a realm; `(group path, alice, bob)`.
async fn group_of_two(c: &Client) -> Result<(String, String, String)> {
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let g = c.create_group("Admins", &[&alice, &bob]).await?;
    Ok((format!("/Groups/{g}"), alice, bob))
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn remove_members_with_a_value_list_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let (s, _, bob) = group_of_two(&r.strict).await?;
    strict_patch_fails(
        &r.strict,
        &s,
        json!([{"op": "remove", "path": "members", "value": [{"value": bob}]}]),
        "invalidValue",
        "Operations[0]: 'remove' takes no 'value' (RFC 7644 §3.5.2.2)",
    )
    .await?;
    assert_eq!(get(&r.strict, &s).await?["members"].as_array().map(Vec::len), Some(2));
    let (e, alice, bob) = group_of_two(&r.entra).await?;
    ok(patch_ops(&r.entra, &e, json!([{"op": "remove", "path": "members", "value": [{"value": bob}]}])).await?, 204);
    assert_eq!(member_ids(&get(&r.entra, &e).await?), vec![alice]);
    Ok(())
}

#[tokio::test]
async fn members_as_a_single_string_id_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let (s, _, _) = group_of_two(&r.strict).await?;
    let carol = r.strict.create_user("carol", json!({})).await?;
    strict_patch_fails(
        &r.strict,
        &s,
        json!([{"op": "add", "path": "members", "value": carol}]),
        "invalidValue",
        "Operations[0]: 'members' is multi-valued and takes an array, not a string",
    )
    .await?;
    let (e, _, _) = group_of_two(&r.entra).await?;
    let carol = r.entra.create_user("carol", json!({})).await?;
    ok(patch_ops(&r.entra, &e, json!([{"op": "add", "path": "members", "value": carol}])).await?, 204);
    assert!(member_ids(&get(&r.entra, &e).await?).contains(&carol));
    Ok(())
}

#[tokio::test]
async fn unknown_sub_attribute_of_a_member_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    // [P]'s addMember: `displayName` where RFC 7643 has `display`, and an extra `name` key.
    let (s, _, _) = group_of_two(&r.strict).await?;
    let carol = r.strict.create_user("carol", json!({})).await?;
    let ops = |id: &str| json!([{"name": "addMember", "op": "add", "path": "members", "value": [{"displayName": "new User", "value": id}]}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops(&carol),
        "invalidValue",
        "'displayName' is not a sub-attribute of 'members[0]'",
    )
    .await?;
    let (e, _, _) = group_of_two(&r.entra).await?;
    let carol = r.entra.create_user("carol", json!({})).await?;
    ok(patch_ops(&r.entra, &e, ops(&carol)).await?, 204);
    assert!(member_ids(&get(&r.entra, &e).await?).contains(&carol));
    Ok(())
}

#[tokio::test]
async fn manager_as_a_plain_string_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let manager = format!("{ENTERPRISE}:manager");
    // POST
    let body = json!({"schemas": [USER, ENTERPRISE], "userName": "emp", ENTERPRISE: {"manager": "boss-id"}});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        &format!("'{manager}' is complex and takes a JSON object, not a string"),
    )
    .await?;
    assert_eq!(ok(r.entra.post("/Users", &body).await?, 201)[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
    // PATCH
    let (s, e) = user_in_both(&r, json!({})).await?;
    let ops = json!([{"op": "add", "path": manager, "value": "boss-id"}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "invalidValue",
        &format!("Operations[0]: '{manager}' is complex and takes a JSON object, not a string"),
    )
    .await?;
    assert_eq!(ok(patch_ops(&r.entra, &e, ops).await?, 200)[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
    Ok(())
}

#[tokio::test]
async fn manager_as_a_one_element_array_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let manager = format!("{ENTERPRISE}:manager");
    let (s, e) = user_in_both(&r, json!({})).await?;
    let ops = json!([{"op": "add", "path": manager, "value": [{"value": "boss-id"}]}]);
    strict_patch_fails(
        &r.strict,
        &s,
        ops.clone(),
        "invalidValue",
        &format!("Operations[0]: '{manager}' is single-valued and does not take an array"),
    )
    .await?;
    assert_eq!(ok(patch_ops(&r.entra, &e, ops).await?, 200)[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
    let body =
        json!({"schemas": [USER, ENTERPRISE], "userName": "emp", ENTERPRISE: {"manager": [{"value": "boss-id"}]}});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        &format!("'{manager}' is single-valued and does not take an array"),
    )
    .await?;
    assert_eq!(ok(r.entra.post("/Users", &body).await?, 201)[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
    Ok(())
}

#[tokio::test]
async fn unqualified_extension_paths_are_invalid_path() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({ENTERPRISE: {"employeeNumber": "1", "manager": {"value": "m"}}})).await?;
    for (path, value) in
        [("employeeNumber", json!("2")), ("manager", json!({"value": "m2"})), ("manager[value eq \"m2\"]", Value::Null)]
    {
        let op = if value.is_null() {
            json!({"op": "remove", "path": path})
        } else {
            json!({"op": "replace", "path": path, "value": value})
        };
        let name = path.split('[').next().unwrap_or(path);
        strict_patch_fails(
            &r.strict,
            &s,
            json!([op.clone()]),
            "invalidPath",
            &format!("invalid path '{path}': '{name}' is not an attribute of {USER}"),
        )
        .await?;
        ok(patch_ops(&r.entra, &e, json!([op])).await?, 200);
    }
    // In entra mode the three operations reached the enterprise extension.
    assert_eq!(get(&r.entra, &e).await?[ENTERPRISE], json!({"employeeNumber": "2"}));
    Ok(())
}

#[tokio::test]
async fn unqualified_extension_attribute_at_the_top_of_a_body_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let body = json!({"schemas": [USER, ENTERPRISE], "userName": "emp", "department": "Sales"});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        "'department' is not an attribute of the User resource type",
    )
    .await?;
    assert_eq!(ok(r.entra.post("/Users", &body).await?, 201)[ENTERPRISE]["department"], "Sales");
    Ok(())
}

#[tokio::test]
async fn fully_qualified_attribute_as_a_body_key_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let key = format!("{ENTERPRISE}:employeeNumber");
    let body = json!({"schemas": [USER, ENTERPRISE], "userName": "emp", key.clone(): "7"});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        &format!("'{key}' is not a schema of the User resource type"),
    )
    .await?;
    assert_eq!(ok(r.entra.post("/Users", &body).await?, 201)[ENTERPRISE]["employeeNumber"], "7");
    Ok(())
}

#[tokio::test]
async fn microsoft_group_schema_urn_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    // G-E01, as Entra sends it.
    let body = json!({"schemas": [GROUP, MS_GROUP], "externalId": "8aa1a0c0", "displayName": "displayName",
                      "meta": {"resourceType": "Group"}});
    strict_post_fails(
        &r.strict,
        "/Groups",
        body.clone(),
        "invalidValue",
        &format!("'{MS_GROUP}' in 'schemas' is not a schema of the Group resource type"),
    )
    .await?;
    let g = ok(r.entra.post("/Groups", &body).await?, 201);
    assert_eq!((g["displayName"].clone(), g["members"].clone()), (json!("displayName"), json!([])));
    assert_eq!(g["schemas"], json!([GROUP]));
    Ok(())
}

#[tokio::test]
async fn misspelt_enterprise_urn_in_schemas_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    // The legacy sample body's typo (E02).
    let typo = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User";
    let body = json!({"schemas": [USER, typo], "userName": "emp"});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        &format!("'{typo}' in 'schemas' is not a schema of the User resource type"),
    )
    .await?;
    ok(r.entra.post("/Users", &body).await?, 201);
    Ok(())
}

#[tokio::test]
async fn body_without_schemas_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let body = json!({"userName": "emp"});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        &format!("must have 'schemas' listing {USER}"),
    )
    .await?;
    ok(r.entra.post("/Users", &body).await?, 201);
    // PUT as well.
    let (s, e) = user_in_both(&r, json!({"title": "Guide"})).await?;
    let before = get(&r.strict, &s).await?;
    let body = json!({"userName": "bjensen", "title": "Boss"});
    r.strict.put(&s, &body).await?.assert_error(
        400,
        Some("invalidValue"),
        &format!("must have 'schemas' listing {USER}"),
    );
    assert_eq!(get(&r.strict, &s).await?, before);
    assert_eq!(ok(r.entra.put(&e, &body).await?, 200)["title"], "Boss");
    Ok(())
}

#[tokio::test]
async fn patch_without_the_patch_op_schema_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"title": "Guide"})).await?;
    for body in [
        json!({"Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}),
        json!({"schemas": [USER], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}),
    ] {
        let before = get(&r.strict, &s).await?;
        r.strict.patch(&s, &body).await?.assert_error(
            400,
            Some("invalidValue"),
            &format!("a PATCH body must have 'schemas': [\"{PATCH}\"]"),
        );
        assert_eq!(get(&r.strict, &s).await?, before);
        assert_eq!(ok(r.entra.patch(&e, &body).await?, 200)["title"], "Boss");
    }
    Ok(())
}

#[tokio::test]
async fn unknown_attribute_in_post_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let body = json!({"schemas": [USER], "userName": "emp", "favouriteColour": "blue"});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        "'favouriteColour' is not an attribute of the User resource type",
    )
    .await?;
    assert!(ok(r.entra.post("/Users", &body).await?, 201).get("favouriteColour").is_none());
    Ok(())
}

#[tokio::test]
async fn single_object_for_a_multi_valued_attribute_is_invalid_value() -> Result<()> {
    let r = realms().await?;
    let body = json!({"schemas": [USER], "userName": "emp", "emails": {"value": "e@x.example", "type": "work"}});
    strict_post_fails(
        &r.strict,
        "/Users",
        body.clone(),
        "invalidValue",
        "'emails' is multi-valued and takes an array, not an object",
    )
    .await?;
    assert_eq!(
        ok(r.entra.post("/Users", &body).await?, 201)["emails"],
        json!([{"value": "e@x.example", "type": "work"}])
    );
    Ok(())
}

#[tokio::test]
async fn pathless_replace_with_read_only_keys_is_a_mutability_error() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({"title": "Guide"})).await?;
    let ops = json!([{"op": "replace", "value": {"id": "other", "title": "Boss"}}]);
    strict_patch_fails(&r.strict, &s, ops.clone(), "mutability", "Operations[0]: 'id' is read-only").await?;
    let u = ok(patch_ops(&r.entra, &e, ops).await?, 200);
    assert_eq!(u["title"], "Boss");
    assert_ne!(u["id"], "other");
    Ok(())
}

#[tokio::test]
async fn empty_string_is_kept_not_treated_as_null() -> Result<()> {
    let r = realms().await?;
    // In strict mode "" is a value like any other.
    let body = json!({"schemas": [USER], "userName": "emp", "title": ""});
    let u = ok(r.strict.post("/Users", &body).await?, 201);
    assert_eq!(u["title"], "");
    assert_eq!(get(&r.strict, &format!("/Users/{}", u["id"].as_str().unwrap_or_default())).await?["title"], "");
    // In entra mode it clears the attribute (SCIM_Null_Update_Test).
    assert!(ok(r.entra.post("/Users", &body).await?, 201).get("title").is_none());
    let (s, e) = user_in_both(&r, json!({"nickName": "Babs"})).await?;
    let ops = json!([{"op": "replace", "path": "nickName", "value": ""}]);
    assert_eq!(ok(patch_ops(&r.strict, &s, ops.clone()).await?, 200)["nickName"], "");
    assert_eq!(get(&r.strict, &s).await?["nickName"], "");
    assert!(ok(patch_ops(&r.entra, &e, ops).await?, 200).get("nickName").is_none());
    Ok(())
}

async fn filter_fails(c: &Client, filter: &str, detail: &str) -> Result<()> {
    c.get(&format!("/Users?filter={}", q(filter))).await?.assert_error(400, Some("invalidFilter"), detail);
    Ok(())
}

async fn filter_ids(c: &Client, filter: &str) -> Result<Vec<String>> {
    Ok(c.ids(&format!("/Users?filter={}", q(filter))).await?.1)
}

#[tokio::test]
async fn unquoted_filter_value_is_invalid_filter() -> Result<()> {
    let r = realms().await?;
    let (_, e) = user_in_both(&r, json!({"externalId": "jyoung"})).await?;
    filter_fails(
        &r.strict,
        "externalId eq jyoung",
        "the value 'jyoung' must be a JSON string, number, true, false or null",
    )
    .await?;
    assert_eq!(filter_ids(&r.entra, "externalId eq jyoung").await?, vec![e.trim_start_matches("/Users/").to_string()]);
    Ok(())
}

#[tokio::test]
async fn boolean_as_a_string_in_a_filter_is_invalid_filter() -> Result<()> {
    let r = realms().await?;
    let (_, e) = user_in_both(&r, json!({"active": false})).await?;
    filter_fails(&r.strict, r#"active eq "False""#, "'active' takes true or false").await?;
    assert_eq!(filter_ids(&r.entra, r#"active eq "False""#).await?, vec![e.trim_start_matches("/Users/").to_string()]);
    Ok(())
}

#[tokio::test]
async fn number_for_a_string_attribute_in_a_filter_is_invalid_filter() -> Result<()> {
    let r = realms().await?;
    let (_, e) = user_in_both(&r, json!({"externalId": "123"})).await?;
    filter_fails(&r.strict, "externalId eq 123", "'externalId' takes a string").await?;
    assert_eq!(filter_ids(&r.entra, "externalId eq 123").await?, vec![e.trim_start_matches("/Users/").to_string()]);
    Ok(())
}

#[tokio::test]
async fn unqualified_extension_attribute_in_a_filter_is_invalid_filter() -> Result<()> {
    let r = realms().await?;
    let (_, e) = user_in_both(&r, json!({ENTERPRISE: {"employeeNumber": "7"}})).await?;
    filter_fails(&r.strict, r#"employeeNumber eq "7""#, &format!("'employeeNumber' is not an attribute of {USER}"))
        .await?;
    assert_eq!(
        filter_ids(&r.entra, r#"employeeNumber eq "7""#).await?,
        vec![e.trim_start_matches("/Users/").to_string()]
    );
    Ok(())
}

#[tokio::test]
async fn empty_filter_is_invalid_filter() -> Result<()> {
    let r = realms().await?;
    user_in_both(&r, json!({})).await?;
    r.strict.get("/Users?filter=").await?.assert_error(400, Some("invalidFilter"), "the filter is empty");
    assert_eq!(r.entra.ids("/Users?filter=").await?.0, 1);
    Ok(())
}

#[tokio::test]
async fn unknown_names_in_attributes_are_invalid_value() -> Result<()> {
    let r = realms().await?;
    let (s, e) = user_in_both(&r, json!({})).await?;
    r.strict.get(&format!("{s}?attributes=userName,nosuch")).await?.assert_error(
        400,
        Some("invalidValue"),
        &format!("invalid attribute 'nosuch': 'nosuch' is not an attribute of {USER}"),
    );
    let u = get(&r.entra, &format!("{e}?attributes=userName,nosuch")).await?;
    assert_eq!(u["userName"], "bjensen");
    Ok(())
}

#[tokio::test]
async fn schemas_advertise_the_full_rfc_schema() -> Result<()> {
    let r = realms().await?;
    let display_of = |schema: &Value, name: &str| {
        schema["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == name)
            .map(|a| a["subAttributes"].as_array().into_iter().flatten().any(|s| s["name"] == "display"))
    };
    let has_password =
        |schema: &Value| schema["attributes"].as_array().into_iter().flatten().any(|a| a["name"] == "password");
    let strict = get(&r.strict, &format!("/Schemas/{USER}")).await?;
    assert!(has_password(&strict));
    assert_eq!(display_of(&strict, "emails"), Some(true));
    assert_eq!(display_of(&strict, "phoneNumbers"), Some(true));
    let entra = get(&r.entra, &format!("/Schemas/{USER}")).await?;
    assert!(!has_password(&entra));
    assert_eq!(display_of(&entra, "emails"), Some(false));
    assert_eq!(display_of(&entra, "phoneNumbers"), Some(false));
    Ok(())
}
