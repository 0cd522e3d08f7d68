//! Okta's SCIM 2.0 provisioning against a realm in the default `entra` compatibility mode (which
//! also covers what Okta sends): the connection test, import and match by `userName`, create
//! with Okta's body (password, `groups: []`), full-user `PUT` updates, deactivation by a
//! pathless `replace`, and group push (create, membership by `replace members` with the full
//! list of members without `type`, rename by a pathless replace echoing the `id`, delete, and
//! lookup by `displayName eq`). After each step the status, the body and the stored state are
//! checked. Okta URL-encodes its filters with `%20` and `%22`.

use anyhow::Result;
use scimd_tests::{Client, Resp, Server};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

async fn okta_app() -> Result<(Server, Client)> {
    let server = Server::start().await?;
    let c = server.realm("okta", "entra", &["manage-users"])?;
    Ok((server, c))
}

fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": operations})
}

/// Okta's import/match query for a userName: `%20` for spaces, `%22` for quotes.
fn user_lookup(user_name: &str) -> String {
    format!("/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100", user_name.replace('@', "%40"))
}

/// Okta's group lookup by displayName.
fn group_lookup(display_name: &str) -> String {
    format!("/Groups?filter=displayName%20eq%20%22{}%22&startIndex=1&count=100", display_name.replace(' ', "%20"))
}

/// Okta's create body for a user.
fn okta_user(user_name: &str, given: &str, family: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

fn assert_list(r: &Resp, total: i64, returned: usize, start: i64, step: &str) {
    assert_eq!(r.status, 200, "{step}: {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{step}");
    assert_eq!(r.json["schemas"], json!([LIST]), "{step}: {}", r.text);
    assert_eq!(r.json["totalResults"], total, "{step}: totalResults in {}", r.text);
    assert_eq!(r.json["itemsPerPage"], returned, "{step}: itemsPerPage in {}", r.text);
    assert_eq!(r.json["startIndex"], start, "{step}: startIndex in {}", r.text);
    assert_eq!(r.json["Resources"].as_array().map(Vec::len), Some(returned), "{step}: Resources in {}", r.text);
}

/// The zero-result ListResponse (itemsPerPage 0: the number returned, RFC 7644 §3.4.2).
fn assert_no_results(r: &Resp, step: &str) {
    assert_eq!(r.status, 200, "{step}: {}", r.text);
    assert_eq!(
        r.json,
        json!({"schemas": [LIST], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []}),
        "{step}"
    );
}

/// A ListResponse holding exactly the resource `id`; returns it.
fn assert_single_result<'a>(r: &'a Resp, id: &str, step: &str) -> &'a Value {
    assert_list(r, 1, 1, 1, step);
    assert_eq!(r.json["Resources"][0]["id"], id, "{step}: {}", r.text);
    &r.json["Resources"][0]
}

/// A group PATCH answers 204 No Content.
async fn patch_group(c: &Client, path: &str, body: &Value, step: &str) -> Result<()> {
    let r = c.patch(path, body).await?;
    assert_eq!(r.status, 204, "{step}: a group PATCH answers 204 No Content: {}", r.text);
    assert_eq!(r.text, "", "{step}: 204 has no body");
    Ok(())
}

/// The members of a group, sorted by value.
fn members(group: &Value) -> Vec<Value> {
    let mut m = group["members"].as_array().cloned().unwrap_or_default();
    m.sort_by(|a, b| a["value"].as_str().cmp(&b["value"].as_str()));
    m
}

/// How scimd renders user members: {value, $ref, type, display (the userName)}.
fn user_members(c: &Client, users: &[(&str, &str)]) -> Vec<Value> {
    let mut m: Vec<Value> = users
        .iter()
        .map(|(id, user_name)| {
            json!({"value": id, "$ref": format!("{}/Users/{id}", c.base), "type": "User", "display": user_name})
        })
        .collect();
    m.sort_by(|a, b| a["value"].as_str().cmp(&b["value"].as_str()));
    m
}

/// Okta's members: no `type`, a `display`.
fn okta_members(users: &[(&str, &str)]) -> Value {
    Value::Array(users.iter().map(|(id, name)| json!({"value": id, "display": name})).collect())
}

/// Creates a user with Okta's body; returns its id.
async fn create(c: &Client, user_name: &str, given: &str, family: &str, external_id: &str) -> Result<String> {
    let r = c.post("/Users", &okta_user(user_name, given, family, external_id)).await?;
    anyhow::ensure!(r.status == 201, "creating {user_name}: {} {}", r.status, r.text);
    Ok(r.id())
}

#[tokio::test]
async fn okta_provisioning_cycle() -> Result<()> {
    let (_server, c) = okta_app().await?;
    let user_name = "test.user@okta.local";

    // Connection test ("Test Connector Configuration").
    assert_list(&c.get("/Users?startIndex=1&count=2").await?, 0, 0, 1, "connection test");

    // Import/match by userName → none, so create.
    let lookup = user_lookup(user_name);
    assert_no_results(&c.get(&lookup).await?, "match before create");

    // Create with Okta's body: the password is taken but never returned, `groups: []` ignored.
    let body = okta_user(user_name, "Test", "User", "00ujl29u0le5T6Aj10h7");
    let r = c.post("/Users", &body).await?;
    assert_eq!(r.status, 201, "create: {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = r.id();
    assert!(!id.is_empty(), "create: an id");
    for key in ["userName", "name", "emails", "displayName", "locale", "externalId", "active"] {
        assert_eq!(r.json[key], body[key], "create: {key} as sent");
    }
    assert!(r.json.get("password").is_none(), "create: the password is never returned: {}", r.text);
    assert!(r.json.get("groups").is_none(), "create: in no group yet: {}", r.text);
    assert_eq!(r.header("location"), Some(format!("{}/Users/{id}", c.base).as_str()), "create: Location");
    let created = r.json.clone();

    // GET by id: the stored user is the created one.
    let r = c.get(&format!("/Users/{id}")).await?;
    assert_eq!(r.status, 200, "get: {}", r.text);
    assert_eq!(r.json, created, "get: stored as created");
    assert_single_result(&c.get(&lookup).await?, &id, "match after create");

    // Profile update: Okta PUTs the full user, with its `id` and a client `meta`.
    let mut put = okta_user(user_name, "Another", "User", "00ujl29u0le5T6Aj10h7");
    put["id"] = json!(id);
    put["meta"] =
        json!({"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"});
    let r = c.put(&format!("/Users/{id}"), &put).await?;
    assert_eq!(r.status, 200, "PUT update: {}", r.text);
    assert_eq!(r.json["name"], json!({"givenName": "Another", "familyName": "User"}), "PUT update: name");
    assert_eq!(r.json["displayName"], "Another User", "PUT update: displayName");
    assert_eq!(r.json["id"], id, "PUT update: same id");
    assert_eq!(r.json["meta"]["created"], created["meta"]["created"], "PUT: the client's meta is ignored");
    assert_eq!(r.json["meta"]["version"], "W/\"2\"", "PUT: the version moves on");
    assert!(r.json.get("password").is_none(), "PUT: no password in the answer");
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json, r.json, "PUT: stored as answered");

    // A second user for the group.
    let other_name = "jane.doe@okta.local";
    assert_no_results(&c.get(&user_lookup(other_name)).await?, "match the second user");
    let other = create(&c, other_name, "Jane", "Doe", "00u2ab34cdEFgh56ij7").await?;

    // Deactivate: a pathless replace of `active`.
    let r = c.patch(&format!("/Users/{id}"), &patch_op(json!([{"op": "replace", "value": {"active": false}}]))).await?;
    assert_eq!(r.status, 200, "deactivate: {}", r.text);
    assert_eq!(r.json["active"], false, "deactivate: active false");
    assert_eq!(r.json["name"]["givenName"], "Another", "deactivate: nothing else changes");
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json, r.json, "deactivate: stored");
    assert_eq!(assert_single_result(&c.get(&lookup).await?, &id, "deactivated user is still found")["active"], false);

    // Group push: look the group up by displayName → none; create it.
    assert_no_results(&c.get(&group_lookup("Test SCIMv2")).await?, "group lookup before push");
    let r = c.post("/Groups", &json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})).await?;
    assert_eq!(r.status, 201, "group create: {}", r.text);
    let gid = r.id();
    assert_eq!(r.json["displayName"], "Test SCIMv2", "group create: displayName");
    assert_eq!(r.json["members"], json!([]), "group create: members");
    assert_eq!(r.json["meta"]["resourceType"], "Group", "group create: meta");
    let group_path = format!("/Groups/{gid}");
    let r = c.get(&group_path).await?;
    assert_eq!((r.status, &r.json["displayName"]), (200, &json!("Test SCIMv2")), "group get: {}", r.text);
    assert_single_result(&c.get(&group_lookup("Test SCIMv2")).await?, &gid, "group lookup after push");

    // Push memberships: `replace members` with the full list; no `type`, a `display`.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "replace", "path": "members",
                           "value": okta_members(&[(&id, user_name), (&other, other_name)])}])),
        "replace members (full list)",
    )
    .await?;
    let g = c.get(&group_path).await?;
    assert_eq!(members(&g.json), user_members(&c, &[(&id, user_name), (&other, other_name)]), "members stored");
    assert_eq!(c.get(&format!("/Users/{other}")).await?.json["groups"][0]["value"], gid, "the user's groups");

    // A later push with a shorter list removes the one left out.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "replace", "path": "members", "value": okta_members(&[(&other, other_name)])}])),
        "replace members (one removed)",
    )
    .await?;
    let g = c.get(&group_path).await?;
    assert_eq!(members(&g.json), user_members(&c, &[(&other, other_name)]), "one member removed");
    assert!(c.get(&format!("/Users/{id}")).await?.json.get("groups").is_none(), "the removed user's groups");

    // Rename: a pathless replace that echoes the group's id.
    patch_group(
        &c,
        &group_path,
        &patch_op(json!([{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2 Renamed"}}])),
        "rename",
    )
    .await?;
    let g = c.get(&group_path).await?;
    assert_eq!((&g.json["id"], &g.json["displayName"]), (&json!(gid), &json!("Test SCIMv2 Renamed")), "renamed");
    assert_eq!(members(&g.json).len(), 1, "the rename keeps the members");
    assert_no_results(&c.get(&group_lookup("Test SCIMv2")).await?, "the old name no longer matches");
    assert_single_result(&c.get(&group_lookup("Test SCIMv2 Renamed")).await?, &gid, "the new name matches");

    // Delete the group.
    let r = c.delete(&group_path).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "group delete");
    c.get(&group_path).await?.assert_error(404, None, &gid);
    assert_no_results(&c.get(&group_lookup("Test SCIMv2 Renamed")).await?, "group lookup after delete");
    assert!(c.get(&format!("/Users/{other}")).await?.json.get("groups").is_none(), "no group left on the user");

    // Okta deactivates rather than deletes: both users are still imported.
    assert_list(&c.get("/Users?startIndex=1&count=100").await?, 2, 2, 1, "import after the cycle");
    Ok(())
}

#[tokio::test]
async fn okta_connection_test_and_import_pages() -> Result<()> {
    let (_server, c) = okta_app().await?;
    let mut ids = Vec::new();
    for (i, name) in ["ann", "ben", "cat"].iter().enumerate() {
        ids.push(create(&c, &format!("{name}@okta.local"), name, "Okta", &format!("00u{i}")).await?);
    }
    let r = c.get("/Users?startIndex=1&count=2").await?;
    assert_list(&r, 3, 2, 1, "connection test");
    let (_, page1) = c.ids("/Users?startIndex=1&count=2").await?;
    assert_eq!(page1, ids[..2], "first page");
    let r = c.get("/Users?startIndex=3&count=2").await?;
    assert_list(&r, 3, 1, 3, "second page");
    assert_eq!(r.json["Resources"][0]["id"], ids[2], "second page");
    assert_list(&c.get("/Users?startIndex=1&count=100").await?, 3, 3, 1, "import");
    // Groups are imported the same way.
    c.create_group("Okta Everyone", &[&ids[0]]).await?;
    let r = c.get("/Groups?startIndex=1&count=100").await?;
    assert_list(&r, 1, 1, 1, "group import");
    assert_eq!(r.json["Resources"][0]["members"][0]["value"], ids[0], "group import lists members");
    Ok(())
}

#[tokio::test]
async fn okta_reactivation_and_password_change_by_pathless_replace() -> Result<()> {
    let (server, c) = okta_app().await?;
    let id = create(&c, "pat@okta.local", "Pat", "Okta", "00upat").await?;
    let path = format!("/Users/{id}");
    let hash = |name: &'static str| {
        server.state.store.read(move |conn| {
            Ok(conn.query_row("SELECT password_hash FROM users WHERE username = ?1", [name], |row| {
                row.get::<_, Option<String>>(0)
            })?)
        })
    };
    let before = hash("pat@okta.local")?;
    assert!(before.as_deref().is_some_and(|h| h.starts_with("$argon2")), "the create's password is stored hashed");

    for active in [false, true] {
        let r = c.patch(&path, &patch_op(json!([{"op": "replace", "value": {"active": active}}]))).await?;
        assert_eq!((r.status, &r.json["active"]), (200, &json!(active)), "active → {active}: {}", r.text);
        assert_eq!(c.get(&path).await?.json["active"], active, "stored active {active}");
    }

    // Okta's password sync: a pathless replace of `password`.
    let r = c.patch(&path, &patch_op(json!([{"op": "replace", "value": {"password": "t1meMa$heen"}}]))).await?;
    assert_eq!(r.status, 200, "password change: {}", r.text);
    assert!(r.json.get("password").is_none(), "the password is never returned");
    let after = hash("pat@okta.local")?;
    assert!(after.as_deref().is_some_and(|h| h.starts_with("$argon2")), "the new password is stored hashed");
    assert_ne!(after, before, "the stored password changed");
    Ok(())
}

#[tokio::test]
async fn okta_put_deactivates_and_keeps_what_put_carries() -> Result<()> {
    let (_server, c) = okta_app().await?;
    let id = create(&c, "put.user@okta.local", "Put", "User", "00uput").await?;
    let path = format!("/Users/{id}");
    // Apps on PUT-based updates deactivate with the full user and `active: false`.
    let mut body = okta_user("put.user@okta.local", "Put", "User", "00uput");
    body["id"] = json!(id);
    body["active"] = json!(false);
    body.as_object_mut().map(|b| b.remove("password"));
    let r = c.put(&path, &body).await?;
    assert_eq!(r.status, 200, "PUT deactivate: {}", r.text);
    assert_eq!(r.json["active"], false, "PUT deactivate");
    assert_eq!(r.json["emails"], body["emails"], "PUT keeps the emails it carries");
    assert_eq!(c.get(&path).await?.json, r.json, "PUT stored as answered");
    assert_eq!(
        assert_single_result(&c.get(&user_lookup("put.user@okta.local")).await?, &id, "lookup")["active"],
        false
    );
    Ok(())
}

#[tokio::test]
async fn okta_membership_add_and_remove_by_value_filter() -> Result<()> {
    let (_server, c) = okta_app().await?;
    let a = create(&c, "a@okta.local", "A", "Okta", "00ua").await?;
    let b = create(&c, "b@okta.local", "B", "Okta", "00ub").await?;
    let gid = c.create_group("Okta Admins", &[&a]).await?;
    let path = format!("/Groups/{gid}");
    // Okta's incremental membership update: remove by a value filter, add without `type`, in
    // one request.
    patch_group(
        &c,
        &path,
        &patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
            {"op": "add", "path": "members", "value": okta_members(&[(&b, "b@okta.local")])}])),
        "remove a, add b",
    )
    .await?;
    assert_eq!(members(&c.get(&path).await?.json), user_members(&c, &[(&b, "b@okta.local")]), "only b");
    // Replacing with an empty list empties the group.
    patch_group(&c, &path, &patch_op(json!([{"op": "replace", "path": "members", "value": []}])), "replace []").await?;
    assert_eq!(c.get(&path).await?.json["members"], json!([]), "no members left");
    Ok(())
}

#[tokio::test]
async fn okta_group_put_with_members_without_type() -> Result<()> {
    let (_server, c) = okta_app().await?;
    let a = create(&c, "a@okta.local", "A", "Okta", "00ua").await?;
    let b = create(&c, "b@okta.local", "B", "Okta", "00ub").await?;
    let gid = c.create_group("Okta Pushed", &[&a]).await?;
    let path = format!("/Groups/{gid}");
    let r = c
        .put(
            &path,
            &json!({"schemas": [GROUP], "id": gid, "displayName": "Okta Pushed",
                    "members": okta_members(&[(&b, "b@okta.local")])}),
        )
        .await?;
    assert_eq!(r.status, 200, "group PUT: {}", r.text);
    assert_eq!(members(&r.json), user_members(&c, &[(&b, "b@okta.local")]), "PUT replaced the members");
    assert_eq!(c.get(&path).await?.json, r.json, "PUT stored as answered");
    Ok(())
}
