//! Microsoft Entra ID provisioning against a realm in the default `entra` compatibility mode:
//! the requests of docs/client-behaviours.md (§2 E01–E19, §3 G-E01–G-E10, §4 discovery and the
//! `aadOptscim062020` flag, §5 validator quirks) replayed with their
//! exact bodies, paths, casing and query strings, in the order of a provisioning cycle (match →
//! create → update → disable → group create → add members → remove one member → rename →
//! delete). After each step the status, the body and the stored state are checked.
//!
//! scimd's documented choices: a user PATCH answers 200 with the user; a group PATCH answers
//! 204 No Content; a zero-result query answers `itemsPerPage: 0` (RFC 7644 §3.4.2: the number
//! of resources returned), not the 20 of the tutorial's sample.

use anyhow::Result;
use scimd_tests::{Client, Resp, Server};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MS_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The flag Entra appends to the tenant URL (§4); it then rides on every request's query.
const FLAG: &str = "aadOptscim062020";

/// A realm in the default `entra` mode and its "Secret Token" client.
async fn tenant() -> Result<(Server, Client)> {
    let server = Server::start().await?;
    let c = server.realm("contoso", "entra", &["manage-users"])?;
    Ok((server, c))
}

fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": operations})
}

/// Every SCIM answer is `application/scim+json` (G1).
fn assert_scim_json(r: &Resp, step: &str) {
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{step}: content type of {}", r.text);
}

/// The exact zero-result ListResponse (E01, G6, §6 case 8). `itemsPerPage` is 0:
/// the tutorial's sample says 20, but RFC 7644 §3.4.2 defines it as the number returned.
fn assert_no_results(r: &Resp, step: &str) {
    assert_eq!(r.status, 200, "{step}: a query matching nothing is 200, never 404: {}", r.text);
    assert_scim_json(r, step);
    assert_eq!(
        r.json,
        json!({"schemas": [LIST], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []}),
        "{step}: the zero-result ListResponse"
    );
}

/// A ListResponse holding exactly the resource `id`; returns it.
fn assert_single_result<'a>(r: &'a Resp, id: &str, step: &str) -> &'a Value {
    assert_eq!(r.status, 200, "{step}: {}", r.text);
    assert_scim_json(r, step);
    assert_eq!(r.json["schemas"], json!([LIST]), "{step}: {}", r.text);
    assert_eq!(r.json["totalResults"], 1, "{step}: {}", r.text);
    assert_eq!(r.json["startIndex"], 1, "{step}: {}", r.text);
    assert_eq!(r.json["itemsPerPage"], 1, "{step}: {}", r.text);
    assert_eq!(r.json["Resources"][0]["id"], id, "{step}: {}", r.text);
    &r.json["Resources"][0]
}

/// A user PATCH: 200 with the full user, which is what a GET then reads (the stored state).
async fn patch_user(c: &Client, path: &str, body: &Value, step: &str) -> Result<Value> {
    let r = c.patch(path, body).await?;
    assert_eq!(r.status, 200, "{step}: a user PATCH answers 200 with the user: {}", r.text);
    assert_scim_json(&r, step);
    assert!(!r.json["id"].as_str().unwrap_or_default().is_empty(), "{step}: the full user, with its id: {}", r.text);
    let stored = c.get(path).await?;
    assert_eq!(stored.status, 200, "{step}: {}", stored.text);
    assert_eq!(stored.json, r.json, "{step}: the PATCH response is the stored user");
    Ok(r.json)
}

/// A group PATCH: 204 No Content with an empty body (G-E04, G-E05).
async fn patch_group(c: &Client, path: &str, body: &Value, step: &str) -> Result<()> {
    let r = c.patch(path, body).await?;
    assert_eq!(r.status, 204, "{step}: a group PATCH answers 204 No Content: {}", r.text);
    assert_eq!(r.text, "", "{step}: 204 has no body");
    Ok(())
}

/// The `members` of a group as the server renders them, sorted by value.
fn members(group: &Value) -> Vec<Value> {
    let mut m = group["members"].as_array().cloned().unwrap_or_default();
    m.sort_by(|a, b| a["value"].as_str().cmp(&b["value"].as_str()));
    m
}

/// How scimd renders a user member (sorted by value).
/// Members as Entra sends them (no `display`) come back without one (RFC 7643 §4.2: `display`
/// is the client's, given back as sent).
fn user_members(c: &Client, ids: &[&str]) -> Vec<Value> {
    let mut m: Vec<Value> =
        ids.iter().map(|id| json!({"value": id, "$ref": format!("{}/Users/{id}", c.base), "type": "User"})).collect();
    m.sort_by(|a, b| a["value"].as_str().cmp(&b["value"].as_str()));
    m
}

/// The group ids in a user's read-only `groups`.
fn group_ids(user: &Value) -> Vec<String> {
    let mut ids: Vec<String> = user["groups"]
        .as_array()
        .map(|a| a.iter().filter_map(|g| g["value"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

/// E02's create body (the tutorial's, Entra's current shape) for a user.
fn entra_create_body(external_id: &str, user_name: &str, email: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

/// E02's checks of a 201: id, the echoed attributes, server-made meta, Location.
fn assert_created_user(c: &Client, r: &Resp, body: &Value, step: &str) -> String {
    assert_eq!(r.status, 201, "{step}: {}", r.text);
    assert_scim_json(r, step);
    let id = r.id();
    assert!(!id.is_empty(), "{step}: an id (G3): {}", r.text);
    for key in ["externalId", "userName", "name", "active", "emails"] {
        assert_eq!(r.json[key], body[key], "{step}: {key} is echoed as sent (G4)");
    }
    assert!(r.json["schemas"].as_array().is_some_and(|s| s.contains(&json!(USER))), "{step}: {}", r.text);
    assert_eq!(r.json["meta"]["resourceType"], "User", "{step}");
    assert!(r.json["meta"]["created"].is_string(), "{step}: meta.created: {}", r.text);
    assert!(r.json["meta"]["lastModified"].is_string(), "{step}: meta.lastModified: {}", r.text);
    assert_eq!(r.json["meta"]["location"], format!("{}/Users/{id}", c.base), "{step}");
    assert_eq!(r.header("location"), Some(format!("{}/Users/{id}", c.base).as_str()), "{step}: Location");
    // An empty `roles` is an unassigned attribute (RFC 7643 §2.5).
    assert!(r.json.get("roles").is_none_or(|v| v == &json!([])), "{step}: roles: {}", r.text);
    id
}

#[tokio::test]
async fn entra_default_job_provisioning_cycle() -> Result<()> {
    let (_server, c) = tenant().await?;
    let user_name = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee";
    let email = "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com";
    let external_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";

    // E01 Test Connection: a filter on the matching attribute with a random GUID → the empty
    // ListResponse, never 404; Entra also looks for a random group.
    let r = c.get(r#"/Users?filter=userName eq "9d0d1a8e-5f0c-4f43-a1b2-3c4d5e6f7a8b""#).await?;
    assert_no_results(&r, "E01 test connection (users)");
    let r = c
        .get(r#"/Groups?excludedAttributes=members&filter=displayName eq "3c9f2b71-0d4e-4c1a-9e8f-7a6b5c4d3e2f""#)
        .await?;
    assert_no_results(&r, "E01 test connection (groups)");

    // E03 an unknown id is a 404 SCIM error.
    c.get("/Users/6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9").await?.assert_error(
        404,
        None,
        "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
    );

    // E04/G13 match: query the target by the matching attribute (the validator's `+` for a
    // space) → not found, so create.
    let match_path = format!("/Users?filter=userName+eq+\"{user_name}\"");
    assert_no_results(&c.get(&match_path).await?, "E04 match before create");

    // E02 (E19: provision on demand sends the same E01–E02 at once) create, with the
    // client-sent meta, an empty roles and the enterprise URN without an enterprise body.
    let body = entra_create_body(external_id, user_name, email);
    let r = c.post("/Users", &body).await?;
    let id = assert_created_user(&c, &r, &body, "E02 create user");
    assert_eq!(r.json["emails"], json!([{"primary": true, "type": "work", "value": email}]), "E02 emails");
    assert!(r.json.get(ENTERPRISE).is_none(), "E02: no enterprise body was sent: {}", r.text);
    let created = r.json.clone();

    // E03 get by id: the stored user is what the POST answered.
    let r = c.get(&format!("/Users/{id}")).await?;
    assert_eq!(r.status, 200, "E03 get user: {}", r.text);
    assert_scim_json(&r, "E03");
    assert_eq!(r.json, created, "E03 the stored user is the created one");

    // E04 get by userName, exactly as the validator encodes it.
    let r = c.get(&match_path).await?;
    assert_eq!(assert_single_result(&r, &id, "E04 filter userName")["userName"], user_name);
    // E05 userName is caseExact:false: another case matches.
    let r = c.get(r#"/Users?filter=userName+eq+"test_user_00AA00AA-BB11-CC22-DD33-44EE44EE44EE""#).await?;
    assert_single_result(&r, &id, "E05 case-insensitive userName");
    // E06 the externalId as matching attribute, quoted and unquoted.
    let r = c.get(&format!("/Users?filter=externalId eq \"{external_id}\"")).await?;
    assert_single_result(&r, &id, "E06 externalId quoted");
    let r = c.get(&format!("/Users?filter=externalId eq {external_id}")).await?;
    assert_single_result(&r, &id, "E06 externalId unquoted");
    // E07 the work email as matching attribute.
    let r = c.get(&format!("/Users?filter=emails[type eq \"work\"].value eq \"{email}\"")).await?;
    assert_single_result(&r, &id, "E07 filter by work email");

    let user_path = format!("/Users/{id}");

    // E08 PATCH a multi-valued sub-attribute through a filter, and a complex sub-attribute.
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}])),
        "E08 PATCH multi-valued",
    )
    .await?;
    assert_eq!(u["emails"], json!([{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}]), "E08");
    assert_eq!(
        u["name"],
        json!({"formatted": "givenName familyName", "familyName": "updatedFamilyName", "givenName": "givenName"}),
        "E08 the other name parts are kept"
    );

    // E08b Add on the filtered work email replaces its value; there is still one work email (G8).
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "dale.mohr@romaguera.uk"}])),
        "E08b Add on emails[type eq \"work\"].value",
    )
    .await?;
    assert_eq!(u["emails"], json!([{"primary": true, "type": "work", "value": "dale.mohr@romaguera.uk"}]), "E08b");

    // E09 PATCH userName.
    let new_user_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com";
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([{"op": "Replace", "path": "userName", "value": new_user_name}])),
        "E09 PATCH userName",
    )
    .await?;
    assert_eq!(u["userName"], new_user_name, "E09");
    assert_no_results(&c.get(&match_path).await?, "E09 the old userName no longer matches");
    let r = c.get(&format!("/Users?filter=userName+eq+\"{}\"", new_user_name.replace('@', "%40"))).await?;
    assert_single_result(&r, &id, "E09 the new userName matches");

    // E11 Add a single-valued attribute.
    let u = patch_user(&c, &user_path, &patch_op(json!([{"op": "Add", "path": "nickName", "value": "Babs"}])), "E11")
        .await?;
    assert_eq!(u["nickName"], "Babs", "E11 Add nickName");

    // E12 replace many attributes, one "Replace" per attribute (default job).
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([
            {"op": "Replace", "path": "displayName", "value": "Bjfe"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bjfe@contoso.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
            {"op": "Replace", "path": "name.familyName", "value": "Unua"},
            {"op": "Replace", "path": "externalId", "value": "6d5e5bd5-3a57-4d6e-b8c1-5e0f3a1f2c11"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "Aklq"}])),
        "E12 replace many attributes",
    )
    .await?;
    assert_eq!(u["displayName"], "Bjfe", "E12 displayName");
    assert_eq!(u["emails"], json!([{"primary": true, "type": "work", "value": "bjfe@contoso.com"}]), "E12 emails");
    assert_eq!(
        u["name"],
        json!({"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"}),
        "E12"
    );
    assert_eq!(u["externalId"], "6d5e5bd5-3a57-4d6e-b8c1-5e0f3a1f2c11", "E12 externalId");
    assert_eq!(u[ENTERPRISE]["employeeNumber"], "Aklq", "E12 employeeNumber");
    assert!(u["schemas"].as_array().is_some_and(|s| s.contains(&json!(ENTERPRISE))), "E12 schemas: {u}");

    // E19/E02 the manager is provisioned like any user: match, then create.
    let manager_name = "Test_User_22cc22cc-dd33-ee44-ff55-66aa66aa66aa";
    let manager_match = format!("/Users?filter=userName+eq+\"{manager_name}\"");
    assert_no_results(&c.get(&manager_match).await?, "E19 match the manager");
    let manager_body = entra_create_body(
        "1b32e1e3-9e3f-4a9b-8c0d-2f4e6a8c0e1f",
        manager_name,
        "Test_User_33dd33dd-ee44-ff55-aa66-77bb77bb77bb@testuser.com",
    );
    let r = c.post("/Users", &manager_body).await?;
    let manager = assert_created_user(&c, &r, &manager_body, "E19 create the manager");

    // E13 the manager reference, as a plain string id on the URN path.
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager}])),
        "E13 Add manager",
    )
    .await?;
    assert_eq!(u[ENTERPRISE]["manager"]["value"], manager, "E13 manager: {u}");
    assert_eq!(u[ENTERPRISE]["employeeNumber"], "Aklq", "E13 keeps the rest of the extension");

    // E10 disable: the default job sends the string "False".
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        "E10 disable",
    )
    .await?;
    assert_eq!(u["active"], false, "E10 active is the boolean false");
    // G10 a disabled user is still found by GET and by the matching filter, with active:false.
    let r = c.get(&format!("/Users?filter=userName eq \"{new_user_name}\"")).await?;
    assert_eq!(assert_single_result(&r, &id, "E10 filter a disabled user")["active"], false, "E10/G10");

    // G-E03 match the group by displayName → not found.
    let group_match = r#"/Groups?excludedAttributes=members&filter=displayName eq "displayName""#;
    assert_no_results(&c.get(group_match).await?, "G-E03 match before create");

    // G-E01 create the group: the Microsoft schema URN and the client's meta are tolerated.
    let group_body = json!({
        "schemas": [GROUP, MS_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"}
    });
    let r = c.post("/Groups", &group_body).await?;
    assert_eq!(r.status, 201, "G-E01 create group: {}", r.text);
    assert_scim_json(&r, "G-E01");
    let gid = r.id();
    assert!(!gid.is_empty(), "G-E01 id: {}", r.text);
    assert_eq!(r.json["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "G-E01 externalId");
    assert_eq!(r.json["displayName"], "displayName", "G-E01 displayName");
    assert_eq!(r.json["members"], json!([]), "G-E01 members:[]");
    assert_eq!(r.json["meta"]["resourceType"], "Group", "G-E01 meta");
    assert!(r.json["meta"]["created"].is_string() && r.json["meta"]["lastModified"].is_string(), "G-E01 meta");
    assert_eq!(r.json["meta"]["location"], format!("{}/Groups/{gid}", c.base), "G-E01 meta.location");
    assert_eq!(r.header("location"), Some(format!("{}/Groups/{gid}", c.base).as_str()), "G-E01 Location");
    assert!(r.json["schemas"].as_array().is_some_and(|s| s.contains(&json!(GROUP))), "G-E01 schemas: {}", r.text);
    let group_path = format!("/Groups/{gid}");

    // G-E02 get the group without members.
    let r = c.get(&format!("{group_path}?excludedAttributes=members")).await?;
    assert_eq!(r.status, 200, "G-E02: {}", r.text);
    assert!(r.json.get("members").is_none(), "G-E02 no members: {}", r.text);
    assert_eq!((&r.json["id"], &r.json["displayName"]), (&json!(gid), &json!("displayName")), "G-E02");
    // G-E03 the group by displayName, without members.
    let r = c.get(group_match).await?;
    assert!(assert_single_result(&r, &gid, "G-E03 filter displayName").get("members").is_none(), "G-E03 no members");

    // A third user, added below with the reference suite's shape.
    let third = c.create_user("Test_User_44ee44ee", json!({})).await?;

    // G-E05 add members: `$ref` null, several members and several operations in one request.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, {"$ref": null, "value": manager}]}])),
        "G-E05 Add members",
    )
    .await?;
    // [P]'s shape: an extra `name` key and `displayName` in place of `display`.
    patch_group(
        &c,
        &group_path,
        &patch_op(
            json!([{"name": "addMember", "op": "add", "path": "members", "value": [{"displayName": "new User", "value": third}]}]),
        ),
        "G-E05 [P] addMember",
    )
    .await?;
    let g = c.get(&group_path).await?;
    assert_eq!(
        members(&g.json),
        user_members(&c, &[&id, &manager, &third]),
        "G-E05 the stored members, rendered {{value, $ref, type, display}}"
    );
    assert_eq!(group_ids(&c.get(&user_path).await?.json), vec![gid.clone()], "G-E05 the user's groups");

    // G-E06 remove one member by a `value` list (default job): only that one goes.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": manager}]}])),
        "G-E06 Remove member",
    )
    .await?;
    let g = c.get(&group_path).await?;
    assert_eq!(members(&g.json), user_members(&c, &[&id, &third]), "G-E06 only the listed member is removed");
    assert!(c.get(&format!("/Users/{manager}")).await?.json.get("groups").is_none(), "G-E06 the manager's groups");

    // G-E04 rename.
    let new_name = "1879db59-3fdb-4a53-9c12-35a9dd0f7b5e updatedDisplayName";
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "Replace", "path": "displayName", "value": new_name}])),
        "G-E04 rename",
    )
    .await?;
    let g = c.get(&group_path).await?;
    assert_eq!(g.json["displayName"], new_name, "G-E04 stored displayName");
    assert_eq!(members(&g.json).len(), 2, "G-E04 the rename keeps the members");
    assert_no_results(&c.get(group_match).await?, "G-E04 the old name no longer matches");
    let r = c.get(&format!("/Groups?excludedAttributes=members&filter=displayName eq \"{new_name}\"")).await?;
    assert_single_result(&r, &gid, "G-E04 the new name matches");
    assert_eq!(c.get(&user_path).await?.json["groups"][0]["display"], new_name, "G-E04 the user's groups.display");

    // G-E07 remove all members.
    patch_group(&c, &group_path, &patch_op(json!([{"op": "Remove", "path": "members"}])), "G-E07").await?;
    assert_eq!(c.get(&group_path).await?.json["members"], json!([]), "G-E07 no members left");
    assert!(c.get(&user_path).await?.json.get("groups").is_none(), "G-E07 the user is in no group");

    // G-E08 delete the group.
    let r = c.delete(&group_path).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "G-E08 delete group");
    c.get(&group_path).await?.assert_error(404, None, &gid);
    let r = c.get(&format!("/Groups?excludedAttributes=members&filter=displayName eq \"{new_name}\"")).await?;
    assert_no_results(&r, "G-E08 the deleted group is not found");

    // E14 delete the user: GET → 404, the filter → totalResults 0.
    let r = c.delete(&user_path).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "E14 delete user");
    c.get(&user_path).await?.assert_error(404, None, &id);
    assert_no_results(&c.get(&format!("/Users?filter=userName eq \"{new_user_name}\"")).await?, "E14 filter");

    // E18 the user is reassigned: it comes back with the same userName (no tombstone, no 409).
    let again = entra_create_body(external_id, new_user_name, email);
    let r = c.post("/Users", &again).await?;
    let back = assert_created_user(&c, &r, &again, "E18 create again");
    assert_ne!(back, id, "E18 a new id");
    let r = c.get(&format!("/Users?filter=userName eq \"{new_user_name}\"")).await?;
    assert_single_result(&r, &back, "E18 the restored user matches");
    Ok(())
}

#[tokio::test]
async fn entra_aad_opt_scim062020_job_provisioning_cycle() -> Result<()> {
    let (_server, c) = tenant().await?;
    let user_name = "dale.mohr@romaguera.uk";
    let email = "dale.mohr@romaguera.uk";

    // E01 test connection, the flag first in the query as on the tenant URL.
    let r = c.get(&format!("/Users?{FLAG}&filter=userName eq \"0f8fad5b-d9cb-469f-a165-70867728950e\"")).await?;
    assert_no_results(&r, "flag E01 test connection");

    // E04 match → none; E02 create.
    let match_path = format!("/Users?{FLAG}&filter=userName+eq+\"dale.mohr%40romaguera.uk\"");
    assert_no_results(&c.get(&match_path).await?, "flag E04 match before create");
    let body = entra_create_body("7c9e6679-7425-40de-944b-e07fc1f90ae7", user_name, email);
    let r = c.post(&format!("/Users?{FLAG}"), &body).await?;
    let id = assert_created_user(&c, &r, &body, "flag E02 create");
    // §4 robustness: the unknown parameter is ignored and never echoed into links.
    assert!(!r.text.contains(FLAG), "flag E02: the flag is not echoed: {}", r.text);
    assert!(!r.header("location").unwrap_or_default().contains(FLAG), "flag E02: Location");
    let user_path = format!("/Users/{id}?{FLAG}");
    let r = c.get(&user_path).await?;
    assert_eq!((r.status, &r.json["userName"]), (200, &json!(user_name)), "flag E03 get: {}", r.text);
    assert!(!r.text.contains(FLAG), "flag E03: the flag is not echoed: {}", r.text);
    let r = c.get(&match_path).await?;
    assert_single_result(&r, &id, "flag E04 match after create");
    assert!(!r.text.contains(FLAG), "flag E04: the flag is not echoed into meta.location: {}", r.text);

    // E11 lowercase add.
    let u =
        patch_user(&c, &user_path, &patch_op(json!([{"op": "add", "path": "nickName", "value": "Babs"}])), "flag E11")
            .await?;
    assert_eq!(u["nickName"], "Babs", "flag E11 add nickName");

    // E12 one filtered replace and one pathless replace whose keys are attribute paths: dotted
    // names and a full-URN key.
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "kkom.unua@romaguera.uk"},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}}])),
        "flag E12 pathless replace",
    )
    .await?;
    assert_eq!(u["displayName"], "Bjfe", "flag E12 displayName");
    assert_eq!(u["emails"], json!([{"primary": true, "type": "work", "value": "kkom.unua@romaguera.uk"}]), "flag E12");
    assert_eq!(
        u["name"],
        json!({"formatted": "givenName familyName", "familyName": "Unua", "givenName": "Kkom"}),
        "flag E12 dotted keys reach name's sub-attributes"
    );
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "Aklq"}), "flag E12 the URN key reaches the extension");
    for stray in [
        "name.givenName",
        "name.familyName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ] {
        assert!(u.get(stray).is_none(), "flag E12: no attribute named {stray:?}: {u}");
    }

    // E13 manager as a plain string (the manager is provisioned first).
    let manager_body =
        entra_create_body("9f8e7d6c-5b4a-4321-8fed-cba987654321", "olga.ruiz@romaguera.uk", "olga.ruiz@romaguera.uk");
    let r = c.post(&format!("/Users?{FLAG}"), &manager_body).await?;
    let manager = assert_created_user(&c, &r, &manager_body, "flag E02 create the manager");
    let u = patch_user(
        &c,
        &user_path,
        &patch_op(json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": manager}])),
        "flag E13",
    )
    .await?;
    assert_eq!(u[ENTERPRISE]["manager"]["value"], manager, "flag E13 manager");

    // E10 disable with a boolean.
    let u =
        patch_user(&c, &user_path, &patch_op(json!([{"op": "replace", "path": "active", "value": false}])), "flag E10")
            .await?;
    assert_eq!(u["active"], false, "flag E10 active");
    assert_eq!(assert_single_result(&c.get(&match_path).await?, &id, "flag E10 filter")["active"], false, "G10");

    // G-E03 match, G-E01 create.
    let group_match = format!("/Groups?{FLAG}&excludedAttributes=members&filter=displayName eq \"Sales\"");
    assert_no_results(&c.get(&group_match).await?, "flag G-E03 match before create");
    let r = c
        .post(
            &format!("/Groups?{FLAG}"),
            &json!({"schemas": [GROUP, MS_GROUP], "externalId": "2b1c7e0e-54b4-4d43-a8bb-0c6e4f0e9f61",
                    "displayName": "Sales", "meta": {"resourceType": "Group"}}),
        )
        .await?;
    assert_eq!(r.status, 201, "flag G-E01: {}", r.text);
    assert_eq!(r.json["members"], json!([]), "flag G-E01 members");
    assert!(!r.text.contains(FLAG), "flag G-E01: the flag is not echoed: {}", r.text);
    let gid = r.id();
    let group_path = format!("/Groups/{gid}?{FLAG}");
    let r = c.get(&format!("/Groups/{gid}?{FLAG}&excludedAttributes=members")).await?;
    assert!(r.status == 200 && r.json.get("members").is_none(), "flag G-E02: {}", r.text);
    assert!(assert_single_result(&c.get(&group_match).await?, &gid, "flag G-E03").get("members").is_none());

    // G-E05 lowercase add of two members.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}, {"value": manager}]}])),
        "flag G-E05",
    )
    .await?;
    assert_eq!(
        members(&c.get(&group_path).await?.json),
        user_members(&c, &[&id, &manager]),
        "flag G-E05 stored members"
    );

    // G-E06 with the flag: remove by a value filter in the path.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{manager}\"]")}])),
        "flag G-E06",
    )
    .await?;
    assert_eq!(
        members(&c.get(&group_path).await?.json),
        user_members(&c, &[&id]),
        "flag G-E06 only that member is removed"
    );

    // G-E04 lowercase rename.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}])),
        "flag G-E04",
    )
    .await?;
    assert_eq!(c.get(&group_path).await?.json["displayName"], "Sales EMEA", "flag G-E04 stored name");
    assert_no_results(&c.get(&group_match).await?, "flag G-E04 the old name no longer matches");

    // G-E08 and E14 deletes.
    assert_eq!(c.delete(&group_path).await?.status, 204, "flag G-E08 delete group");
    c.get(&group_path).await?.assert_error(404, None, &gid);
    assert_eq!(c.delete(&user_path).await?.status, 204, "flag E14 delete user");
    c.get(&user_path).await?.assert_error(404, None, &id);
    assert_no_results(&c.get(&match_path).await?, "flag E14 filter after delete");
    Ok(())
}

#[tokio::test]
async fn entra_e02_legacy_create_body_with_nulls_and_a_schema_typo() -> Result<()> {
    let (_server, c) = tenant().await?;
    // The tutorial's legacy sample: null attributes, unqualified enterprise names, and the
    // typo "…enterprise:2.0User" in `schemas`.
    let body = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "addresses": null,
        "displayName": "Test_User_ab6490ee",
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "phoneNumbers": null,
        "roles": [],
        "title": null,
        "department": null,
        "manager": null
    });
    let r = c.post("/Users", &body).await?;
    let id = assert_created_user(&c, &r, &body, "E02 legacy body");
    assert_eq!(r.json["displayName"], "Test_User_ab6490ee", "E02 legacy displayName");
    for absent in ["addresses", "phoneNumbers", "title", "department", "manager", ENTERPRISE] {
        assert!(r.json.get(absent).is_none(), "E02 legacy: a null {absent} is unassigned: {}", r.text);
    }
    assert!(!r.text.contains("2.0User\""), "E02 legacy: the typo URN is not echoed: {}", r.text);
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json, r.json, "E02 legacy: stored as answered");
    Ok(())
}

#[tokio::test]
async fn entra_e06_external_id_filter_with_the_docs_unquoted_value() -> Result<()> {
    let (_server, c) = tenant().await?;
    let id = c.create_user("jyoung@contoso.com", json!({"externalId": "jyoung"})).await?;
    c.create_user("other@contoso.com", json!({"externalId": "jyoung2"})).await?;
    // [T] Example 1 sends the value unquoted; modern Entra quotes it.
    assert_single_result(&c.get("/Users?filter=externalId eq jyoung").await?, &id, "E06 unquoted");
    assert_single_result(&c.get("/Users?filter=externalId eq \"jyoung\"").await?, &id, "E06 quoted");
    assert_no_results(&c.get("/Users?filter=externalId eq \"JYOUNG\"").await?, "E06 externalId is caseExact");
    Ok(())
}

#[tokio::test]
async fn entra_e08b_filtered_replace_or_add_on_a_missing_work_email_creates_it() -> Result<()> {
    let (_server, c) = tenant().await?;
    // A user with a home email only: Replace on the missing work email creates it.
    let id = c.create_user("amy", json!({"emails": [{"type": "home", "value": "amy@home.example"}]})).await?;
    let path = format!("/Users/{id}");
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "amy@contoso.com"}])),
        "E08b Replace on a missing work email",
    )
    .await?;
    assert_eq!(
        u["emails"],
        json!([{"type": "home", "value": "amy@home.example"}, {"type": "work", "value": "amy@contoso.com"}]),
        "E08b the work email is created, the home one kept"
    );
    let r = c.get("/Users?filter=emails[type eq \"work\"].value eq \"amy@contoso.com\"").await?;
    assert_single_result(&r, &id, "E08b → E07 the created work email is filterable");

    // A user with no emails at all: Add on the filtered path creates the element as well.
    let id = c.create_user("bob", json!({})).await?;
    let path = format!("/Users/{id}");
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}])),
        "E08b Add on a missing work email",
    )
    .await?;
    assert_eq!(u["emails"], json!([{"type": "work", "value": "x@y"}]), "E08b Add creates {{type, value}}");
    // A second filtered replace updates that element; there is still only one work email (G8).
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bob@contoso.com"}])),
        "E08b Replace after create",
    )
    .await?;
    assert_eq!(u["emails"], json!([{"type": "work", "value": "bob@contoso.com"}]), "E08b G8 one work email");
    Ok(())
}

#[tokio::test]
async fn entra_e13_manager_set_change_and_remove() -> Result<()> {
    let (_server, c) = tenant().await?;
    let emp = c.create_user("employee", json!({ENTERPRISE: {"department": "Ops"}})).await?;
    let m1 = c.create_user("manager.one", json!({})).await?;
    let m2 = c.create_user("manager.two", json!({})).await?;
    let path = format!("/Users/{emp}");
    let manager_path = format!("{ENTERPRISE}:manager");
    let manager_of = |u: &Value| u[ENTERPRISE]["manager"]["value"].clone();

    // [L] SCIM_Update_Manager_Test: set (Add, a plain string id), change (Replace), remove
    // (Replace with an empty value). GET after each shows the result.
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Add", "path": manager_path, "value": m1}])),
        "E13 set: Add a plain string",
    )
    .await?;
    assert_eq!(manager_of(&u), json!(m1), "E13 set: {u}");
    assert!(u[ENTERPRISE]["manager"].is_object(), "E13 rendered as a complex value Entra can read: {u}");
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Replace", "path": manager_path, "value": m2}])),
        "E13 change: Replace",
    )
    .await?;
    assert_eq!(manager_of(&u), json!(m2), "E13 change");
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Replace", "path": manager_path, "value": ""}])),
        "E13 remove: Replace with \"\"",
    )
    .await?;
    assert!(u[ENTERPRISE].get("manager").is_none(), "E13 remove by an empty value: {u}");
    assert_eq!(u[ENTERPRISE]["department"], "Ops", "E13 the rest of the extension is kept");

    // [T] Example 5, the legacy shape: path `manager` without the URN, a one-element list of
    // {$ref, value}.
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "Add", "path": "manager",
                           "value": [{"$ref": format!("{}/Users/{m1}", c.base), "value": m1}]}])),
        "E13 legacy Add manager [{$ref, value}]",
    )
    .await?;
    assert_eq!(manager_of(&u), json!(m1), "E13 legacy shape: {u}");

    // Removal by a filter on the single-valued complex attribute (scim-patch #453).
    let u = patch_user(
        &c,
        &path,
        &patch_op(json!([{"op": "remove", "path": format!("manager[value eq \"{m1}\"]")}])),
        "E13 remove manager[value eq …]",
    )
    .await?;
    assert!(u[ENTERPRISE].get("manager").is_none(), "E13 removed by filter: {u}");
    assert_eq!(u[ENTERPRISE]["department"], "Ops", "E13 the rest of the extension is kept");
    Ok(())
}

/// The optional single-valued attributes the null/empty test clears.
const CLEARED: [&str; 10] = [
    "displayName",
    "nickName",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "profileUrl",
    "name.middleName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
];

/// The value at an attribute path (`a`, `a.b` or `urn…:a`) of a user.
fn at<'a>(user: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(attr) = path.strip_prefix(&format!("{ENTERPRISE}:")) {
        return user.get(ENTERPRISE)?.get(attr);
    }
    match path.split_once('.') {
        Some((a, b)) => user.get(a)?.get(b),
        None => user.get(path),
    }
}

#[tokio::test]
async fn entra_e15_empty_then_null_updates_leave_optional_attributes_unassigned() -> Result<()> {
    let (_server, c) = tenant().await?;
    let id = c
        .create_user(
            "null.update@contoso.com",
            json!({"displayName": "Nu", "nickName": "N", "title": "T", "userType": "Employee",
                   "preferredLanguage": "en-US", "locale": "en-US", "timezone": "Europe/Berlin",
                   "profileUrl": "https://contoso.example/nu", "name": {"givenName": "Nu", "middleName": "M"},
                   ENTERPRISE: {"department": "D", "employeeNumber": "42"}}),
        )
        .await?;
    let path = format!("/Users/{id}");

    // Phase 1: PATCH every optional attribute to "" → the GET shows them absent.
    let ops: Vec<Value> = CLEARED.iter().map(|p| json!({"op": "Replace", "path": p, "value": ""})).collect();
    let u = patch_user(&c, &path, &patch_op(json!(ops)), "E15 phase 1 (\"\")").await?;
    for p in CLEARED {
        assert!(at(&u, p).is_none(), "E15 phase 1: {p} is unassigned after \"\": {u}");
    }
    assert_eq!(u["userName"], "null.update@contoso.com", "E15 the required userName stays");
    assert_eq!(u["name"], json!({"givenName": "Nu"}), "E15 the other name parts stay");
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "42"}), "E15 the other extension attributes stay");

    // Phase 2: PATCH them to null → still absent.
    let ops: Vec<Value> = CLEARED.iter().map(|p| json!({"op": "Replace", "path": p, "value": null})).collect();
    let u = patch_user(&c, &path, &patch_op(json!(ops)), "E15 phase 2 (null)").await?;
    for p in CLEARED {
        assert!(at(&u, p).is_none(), "E15 phase 2: {p} stays unassigned after null: {u}");
    }
    assert_eq!(u[ENTERPRISE], json!({"employeeNumber": "42"}), "E15 phase 2 keeps the rest");
    Ok(())
}

#[tokio::test]
async fn entra_e16_every_eligible_single_valued_attribute_round_trips() -> Result<()> {
    let (_server, c) = tenant().await?;
    // SCIM_User_Create_Test: POST → 201, a non-empty id, the userName round-trips.
    let r =
        c.post("/Users", &json!({"schemas": [USER], "userName": "RoundTrip.User@Contoso.com", "active": true})).await?;
    assert_eq!(r.status, 201, "E16 create: {}", r.text);
    let id = r.id();
    assert!(!id.is_empty(), "E16 create: id");
    assert_eq!(r.json["userName"], "RoundTrip.User@Contoso.com", "E16 create: userName round-trips as sent");

    // SCIM_User_Update_Test: every eligible single-valued attribute (string, integer,
    // datetime, boolean; not groups, roles, id, schemas, meta, active) reads back identically.
    let values: Vec<(String, Value)> = [
        ("userName", "Rt.User-7f3a@Contoso.com"),
        ("externalId", "Ext-7F3A-ä"),
        ("displayName", "Rt  User (Ünïcode) ☃"),
        ("nickName", "rt"),
        ("profileUrl", "https://contoso.example/Profiles/Rt%20User"),
        ("title", "Sr. Engineer / Ops"),
        ("userType", "Contractor"),
        ("preferredLanguage", "de-CH"),
        ("locale", "fr-CA"),
        ("timezone", "America/Los_Angeles"),
        ("name.formatted", "Ms. Rt Q User III"),
        ("name.familyName", "User"),
        ("name.givenName", "Rt"),
        ("name.middleName", "Q"),
        ("name.honorificPrefix", "Ms."),
        ("name.honorificSuffix", "III"),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "0007"),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "CC-4130"),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "Contoso Ltd."),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division", "R&D"),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Tour Operations"),
    ]
    .iter()
    .map(|(p, v)| (p.to_string(), json!(v)))
    .collect();
    let ops: Vec<Value> = values.iter().map(|(p, v)| json!({"op": "Replace", "path": p, "value": v})).collect();
    let path = format!("/Users/{id}");
    patch_user(&c, &path, &patch_op(json!(ops)), "E16 update").await?;
    let got = c.get(&path).await?;
    assert_eq!(got.status, 200);
    for (p, v) in &values {
        assert_eq!(at(&got.json, p), Some(v), "E16 {p} reads back identically: {}", got.text);
    }
    Ok(())
}

#[tokio::test]
async fn entra_e17_pagination_start_index_is_page_times_five_plus_one() -> Result<()> {
    let (_server, c) = tenant().await?;
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for i in 0..11 {
        users.push(c.create_user(&format!("page.user{i:02}@contoso.com"), json!({})).await?);
        groups.push(c.create_group(&format!("Page Group {i:02}"), &[]).await?);
    }
    // [L] SCIM_User_Pagination_Test (mandatory) and SCIM_Group_Pagination_Test (optional).
    for (endpoint, expected) in [("/Users", &users), ("/Groups", &groups)] {
        let mut seen = Vec::new();
        for page in 0..3usize {
            let start = page * 5 + 1;
            let r = c.get(&format!("{endpoint}?startIndex={start}&count=5")).await?;
            let step = format!("E17 {endpoint} page {page}");
            assert_eq!(r.status, 200, "{step}: {}", r.text);
            assert_eq!(r.json["schemas"], json!([LIST]), "{step}");
            assert_eq!(r.json["startIndex"], start, "{step}: startIndex = page*5+1");
            assert_eq!(r.json["totalResults"], 11, "{step}");
            let n = r.json["Resources"].as_array().map(Vec::len).unwrap_or(0);
            assert_eq!(n, 5.min(11 - page * 5), "{step}: the page size");
            assert_eq!(r.json["itemsPerPage"], n, "{step}: itemsPerPage");
            seen.extend(
                r.json["Resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["id"].as_str().map(str::to_string)),
            );
        }
        assert_eq!(&seen, expected, "E17 {endpoint}: the pages cover every resource once, in order");
    }
    Ok(())
}

#[tokio::test]
async fn entra_e18_unassign_and_reassign_restores_the_user_and_the_group() -> Result<()> {
    let (_server, c) = tenant().await?;
    let body =
        entra_create_body("a1b2c3d4-0000-4000-8000-000000000001", "restore.me@contoso.com", "restore.me@contoso.com");
    let r = c.post("/Users", &body).await?;
    let id = assert_created_user(&c, &r, &body, "E18 phase 1 create");

    // Soft path: unassign disables, reassign enables (the string "True", as Entra sends it).
    let path = format!("/Users/{id}");
    let u =
        patch_user(&c, &path, &patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])), "E18 disable")
            .await?;
    assert_eq!(u["active"], false, "E18 disabled");
    let u =
        patch_user(&c, &path, &patch_op(json!([{"op": "Replace", "path": "active", "value": "True"}])), "E18 enable")
            .await?;
    assert_eq!(u["active"], true, "E18 enabled again");

    // Hard path: unassign deletes, reassign creates again with the same userName.
    assert_eq!(c.delete(&path).await?.status, 204, "E18 phase 2 delete");
    let match_path = "/Users?filter=userName eq \"restore.me@contoso.com\"";
    assert_no_results(&c.get(match_path).await?, "E18 phase 2 gone");
    let r = c.post("/Users", &body).await?;
    let back = assert_created_user(&c, &r, &body, "E18 phase 3 create with the same userName");
    assert_ne!(back, id, "E18 a new resource");
    assert_single_result(&c.get(match_path).await?, &back, "E18 phase 3 back on the endpoint");

    // Restore_Group_Test: the same for a group's displayName.
    let gid = c.create_group("Restored Group", &[]).await?;
    assert_eq!(c.delete(&format!("/Groups/{gid}")).await?.status, 204, "E18 group delete");
    let again = c.create_group("Restored Group", &[]).await?;
    let r = c.get("/Groups?filter=displayName eq \"Restored Group\"").await?;
    assert_single_result(&r, &again, "E18 group back");
    Ok(())
}

#[tokio::test]
async fn entra_g_e09_reference_suite_group_shapes() -> Result<()> {
    let (_server, c) = tenant().await?;
    let a = c.create_user("alice", json!({})).await?;
    let b = c.create_user("bob", json!({})).await?;
    let d = c.create_user("dora", json!({})).await?;

    // POST a group with members → 201, the members stored.
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Group 1", "externalId": "015489ea-9410-4306-b583-9f002b2446f7",
                    "members": [{"value": a}, {"value": b}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "G-E09 POST with members: {}", r.text);
    let gid = r.id();
    let path = format!("/Groups/{gid}");
    assert_eq!(members(&r.json), user_members(&c, &[&a, &b]), "G-E09 POST members");
    assert_eq!(members(&c.get(&path).await?.json), members(&r.json), "G-E09 stored");

    // PUT with members → 200 and the members are replaced (Metatavu #111), with [P]'s `id`.
    let r = c
        .put(
            &path,
            &json!({"id": gid, "schemas": [GROUP], "displayName": "Tiffany Ortiz",
                    "externalId": "6c6b54c2-fa81-4234-ad4f-420ec6808049", "members": [{"value": d}]}),
        )
        .await?;
    assert_eq!(r.status, 200, "G-E09 PUT: {}", r.text);
    assert_eq!(r.json["displayName"], "Tiffany Ortiz", "G-E09 PUT displayName");
    assert_eq!(members(&r.json), user_members(&c, &[&d]), "G-E09 PUT replaced the members");
    assert_eq!(c.get(&path).await?.json, r.json, "G-E09 PUT stored as answered");
    assert!(c.get(&format!("/Users/{a}")).await?.json.get("groups").is_none(), "G-E09 alice left the group");

    // PATCH with a scalar `value` (a bare member id) and [P]'s extra `id` → 204, member added.
    patch_group(
        &c,
        &path,
        &json!({"id": gid, "Operations": [{"op": "add", "path": "members", "value": a}], "schemas": [PATCH]}),
        "G-E09 PATCH scalar value",
    )
    .await?;
    assert_eq!(members(&c.get(&path).await?.json), user_members(&c, &[&a, &d]), "G-E09 the scalar id is added");
    // [P] sends the literal "string id 1", which names no resource: scimd's documented choice is
    // that members must exist (400 invalidValue), where [P]'s garbage test expects 204.
    c.patch(&path, &json!({"id": gid, "Operations": [{"op": "add", "path": "members", "value": "string id 1"}], "schemas": [PATCH]}))
        .await?
        .assert_error(400, Some("invalidValue"), "string id 1");

    // [P]'s "group put" without members empties them (PUT replaces every writable attribute).
    let r = c.put(&path, &json!({"id": gid, "displayName": "Tiffany Ortiz", "schemas": [GROUP]})).await?;
    assert_eq!(r.status, 200, "G-E09 PUT without members: {}", r.text);
    assert_eq!(c.get(&path).await?.json["members"], json!([]), "G-E09 PUT without members empties them");
    Ok(())
}

#[tokio::test]
async fn entra_discovery_for_the_gallery_validator() -> Result<()> {
    let (_server, c) = tenant().await?;

    // §4 /Schemas is a ListResponse; G-E10 it lists the Group schema.
    let r = c.get("/Schemas").await?;
    assert_eq!(r.status, 200, "/Schemas: {}", r.text);
    assert_scim_json(&r, "/Schemas");
    assert_eq!(r.json["schemas"], json!([LIST]), "/Schemas is a ListResponse");
    let ids: Vec<&str> =
        r.json["Resources"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
    assert!(ids.contains(&GROUP), "G-E10 /Schemas lists the Group schema: {ids:?}");
    assert!(ids.contains(&USER) && ids.contains(&ENTERPRISE), "/Schemas lists User and the extension: {ids:?}");
    assert!(r.text.contains("User Account"), "[P] 'Get Schemas': the User schema's description");
    // Absent values are omitted, never null; property values are camelCase (`readWrite`).
    fn no_nulls(v: &Value, at: &str) {
        match v {
            Value::Null => panic!("/Schemas has a null at {at}"),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| no_nulls(x, &format!("{at}[{i}]"))),
            Value::Object(o) => o.iter().for_each(|(k, x)| no_nulls(x, &format!("{at}.{k}"))),
            _ => {}
        }
    }
    no_nulls(&r.json, "$");
    assert!(r.text.contains("\"readWrite\""), "/Schemas mutability values are camelCase");
    // The validator rejects `password` and `emails.display` when they are advertised.
    let user =
        r.json["Resources"].as_array().into_iter().flatten().find(|s| s["id"] == USER).cloned().unwrap_or_default();
    let attrs = user["attributes"].as_array().cloned().unwrap_or_default();
    assert!(!attrs.iter().any(|a| a["name"] == "password"), "§4 password is not advertised");
    let emails = attrs.iter().find(|a| a["name"] == "emails").cloned().unwrap_or_default();
    let subs: Vec<&str> =
        emails["subAttributes"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    assert!(subs.contains(&"value") && subs.contains(&"type"), "emails.value and emails.type: {subs:?}");
    assert!(!subs.contains(&"display"), "§4 emails.display is not advertised: {subs:?}");

    // /ResourceTypes lists the User endpoint first ([P] reads Resources[0].endpoint).
    let r = c.get("/ResourceTypes").await?;
    assert_eq!(r.status, 200, "/ResourceTypes: {}", r.text);
    assert_eq!(r.json["schemas"], json!([LIST]), "/ResourceTypes is a ListResponse");
    assert_eq!(r.json["Resources"][0]["endpoint"], "/Users", "/ResourceTypes lists /Users");
    let endpoints: Vec<&str> =
        r.json["Resources"].as_array().into_iter().flatten().filter_map(|t| t["endpoint"].as_str()).collect();
    assert!(endpoints.contains(&"/Groups"), "/ResourceTypes lists /Groups: {endpoints:?}");

    // /ServiceProviderConfig: patch.supported (G9: groups need PATCH).
    let r = c.get("/ServiceProviderConfig").await?;
    assert_eq!(r.status, 200, "/ServiceProviderConfig: {}", r.text);
    assert_scim_json(&r, "/ServiceProviderConfig");
    assert_eq!(r.json["patch"]["supported"], true, "[P] 'Pach supported is true'");
    assert_eq!(r.json["filter"]["supported"], true, "filters are supported");
    // [P] reads it from the legacy path too.
    let r = c.get("/serviceConfiguration").await?;
    assert_eq!((r.status, &r.json["patch"]["supported"]), (200, &json!(true)), "[P] /serviceConfiguration: {}", r.text);
    Ok(())
}

#[tokio::test]
async fn entra_reference_suite_user_requests() -> Result<()> {
    let (_server, c) = tenant().await?;
    // [P] "Post User": `"Primary"` in another case (G5).
    let r = c
        .post(
            "/Users",
            &json!({"userName": "UserName123", "active": true, "displayName": "BobIsAmazing", "schemas": [USER],
                    "externalId": "2f1d3a5e-41a7-4e34-9d1f-c8a1f2b3c4d5",
                    "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
                    "emails": [{"Primary": true, "type": "work", "value": "testing@bob.com"},
                               {"Primary": false, "type": "home", "value": "testinghome@bob.com"}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "[P] Post User: {}", r.text);
    let id1 = r.id();
    assert_eq!(r.json["emails"][0]["primary"], true, "[P] `Primary` is the primary sub-attribute: {}", r.text);
    // [P] "Post EnterpriseUser": `Department` and `Manager: {Value}` in another case (G5).
    let r = c
        .post(
            "/Users",
            &json!({"userName": "UserName222", "active": true, "displayName": "lennay", "schemas": [ENTERPRISE, USER],
                    "externalId": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
                    "name": {"formatted": "Adrew Ryan", "familyName": "Ryan", "givenName": "Andrew"},
                    "emails": [{"Primary": true, "type": "work", "value": "testing@bob2.com"}],
                    ENTERPRISE: {"Department": "bob", "Manager": {"Value": "SuzzyQ"}}}),
        )
        .await?;
    assert_eq!(r.status, 201, "[P] Post EnterpriseUser: {}", r.text);
    assert_eq!(r.json[ENTERPRISE]["department"], "bob", "[P] `Department`: {}", r.text);
    assert_eq!(r.json[ENTERPRISE]["manager"]["value"], "SuzzyQ", "[P] `Manager.Value`: {}", r.text);

    // §5: `"active":"True"` as a string → 201 and active true.
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "OMalley", "active": "True"})).await?;
    assert_eq!((r.status, &r.json["active"]), (201, &json!(true)), "[P] string True: {}", r.text);
    // No userName → 400; malformed JSON → 400; a duplicate userName → 409 with a detail.
    c.post("/Users", &json!({"schemas": [USER], "active": true})).await?.assert_error(
        400,
        Some("invalidValue"),
        "userName",
    );
    let r = c.send("POST", "/Users", Some("{\"schemas\": [".to_string()), &[]).await?;
    assert_eq!(r.status, 400, "[P] malformed JSON: {}", r.text);
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "omalley"})).await?;
    r.assert_error(409, Some("uniqueness"), "omalley");

    // [P] filters: `DisplayName` in another case with `+`, unquoted values, sw, gt on a 7-digit
    // fraction with an offset.
    let (_, ids) = c.ids("/Users?filter=DisplayName+eq+%22BobIsAmazing%22").await?;
    assert_eq!(ids, vec![id1.clone()], "[P] DisplayName filter");
    let r = c
        .get("/Users?filter=name.FamilyName eq Leenay and (emails.Value co bob.com or emails.Value co example.org)")
        .await?;
    assert_eq!(r.json["totalResults"], 1, "[P] unquoted compound filter: {}", r.text);
    let r = c.get("/Users?filter=userName sw O").await?;
    assert_eq!(r.json["totalResults"], 1, "[P] userName sw O: {}", r.text);
    let r = c.get("/Users?filter=meta.Created gt 2015-10-10T14:38:21.8617979-07:00").await?;
    assert_eq!(r.json["totalResults"], 3, "[P] meta.Created gt: {}", r.text);

    // [P] startIndex=1&count=2: itemsPerPage and totalResults.
    let r = c.get("/Users?startIndex=1&count=2").await?;
    assert_eq!((&r.json["totalResults"], &r.json["itemsPerPage"]), (&json!(3), &json!(2)), "[P] paging: {}", r.text);
    // [P] attributes=userName,emails and a valuePath in `attributes`.
    let r = c.get(&format!("/Users/{id1}?attributes=userName,emails")).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get("displayName").is_none() && r.json.get("name").is_none(), "[P] attributes honoured: {}", r.text);
    assert_eq!(r.json["userName"], "UserName123");
    assert_eq!(r.json["emails"].as_array().map(Vec::len), Some(2), "[P] attributes=userName,emails");
    let r = c.get(&format!("/Users/{id1}?attributes=emails[type eq \"work\"]")).await?;
    assert_eq!(r.status, 200, "[P] attributes with a valuePath: {}", r.text);
    assert!(r.json.get("displayName").is_none(), "[P] attributes with a valuePath honoured: {}", r.text);
    assert!(r.json["emails"].is_array(), "[P] attributes with a valuePath returns emails: {}", r.text);
    Ok(())
}

/// [P] "Get User Filters" really sends `{{Api}}/Users/?filter=DisplayName+eq+%22BobIsAmazing%22`
/// (a slash before the query) and expects the user in the body.
#[tokio::test]
async fn entra_reference_suite_users_path_with_a_trailing_slash() -> Result<()> {
    let (_server, c) = tenant().await?;
    let id = c.create_user("UserName123", json!({"displayName": "BobIsAmazing"})).await?;
    let r = c.get("/Users/?filter=DisplayName+eq+%22BobIsAmazing%22").await?;
    assert_single_result(&r, &id, "[P] Get User Filters on /Users/");
    Ok(())
}

/// Microsoft's reference tests address `/users` once: an entra realm serves its endpoints in
/// any case; a strict realm only as RFC 7644 §3.2 spells them.
#[tokio::test]
async fn rfc7644_3_2_entra_realms_match_resource_type_paths_in_any_case() -> Result<()> {
    let server = Server::start().await?;
    let entra = server.realm("entra", "entra", &["manage-users"])?;
    let strict = server.realm("strict", "strict", &["manage-users"])?;
    let id = entra.create_user("bjensen", json!({})).await?;
    assert_eq!(entra.get("/users").await?.json["totalResults"], 1);
    assert_eq!(entra.get(&format!("/USERS/{id}")).await?.json["userName"], "bjensen");
    let r = entra
        .post("/groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}))
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["meta"]["location"].as_str().map(|l| l.contains("/Groups/")), Some(true), "named canonically");
    assert_eq!(strict.get("/users").await?.status, 404);
    assert_eq!(strict.get("/Users").await?.status, 200);
    Ok(())
}
