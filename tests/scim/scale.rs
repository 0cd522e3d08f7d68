//! Scale on one node (docs/architecture.md §5): a group of 100k members is read whole, its
//! members streamed in chunks through the engine's frame, never held in one engine call; and
//! a streamed group reads exactly as one rendered whole. Big data is made through the store in
//! one statement, not through 100k HTTP calls.

use anyhow::Result;
use scimd_tests::oauth::Admin;
use scimd_tests::{Client, Server};
use serde_json::Value;

/// The custom-mapping-free default engine as built for 0.1, which renders groups whole.
const DEFAULT_V0_1: &[u8] = include_bytes!("../fixtures/engines-v0.1/scimd-default.wasm");

/// Adds `n` users (`member000001`…) to the group `group_id` of realm `realm`, in one write.
fn add_members(server: &Server, realm: &str, group_id: &str, n: u32) -> Result<()> {
    let realm_id = server.realm_id(realm)?;
    let group_id = group_id.to_string();
    server.state.store.write_blocking(move |c| {
        let group_pk: i64 = c.query_row(
            "SELECT pk FROM groups WHERE realm_id = ?1 AND id = ?2",
            rusqlite::params![realm_id, group_id],
            |r| r.get(0),
        )?;
        c.execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO users (realm_id, id, username, username_ci, enabled, created, last_modified, version, member_of)
             SELECT {realm_id}, printf('m-%07d', i), printf('member%07d', i), printf('member%07d', i), 1, 0, 0, 1, 1 FROM n;
             INSERT INTO memberships (group_pk, member_kind, member_pk)
             SELECT {group_pk}, 0, pk FROM users WHERE realm_id = {realm_id} AND id LIKE 'm-%';
             UPDATE resource_counts SET n = n + {n} WHERE realm_id = {realm_id} AND kind = 0;"
        ))?;
        Ok(())
    })?;
    Ok(())
}

fn member_ids(group: &Value) -> Vec<&str> {
    group["members"].as_array().into_iter().flatten().filter_map(|m| m["value"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_of_100k_members_is_read_whole() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let group = c.create_group("Everyone", &[]).await?;
    add_members(&server, "r", &group, 100_000)?;
    let r = c.get(&format!("/Groups/{group}")).await?;
    assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(300)]);
    assert!(r.header("etag").is_some());
    let ids = member_ids(&r.json);
    assert_eq!(ids.len(), 100_000, "every member, in one valid document");
    assert_eq!(ids.first(), Some(&"m-0000001"));
    assert_eq!(ids.last(), Some(&"m-0100000"));
    assert!(r.json["members"][99_999].get("display").is_none(), "members added without a display have none");
    assert_eq!(r.json["displayName"], "Everyone");
    assert_eq!(r.json["meta"]["resourceType"], "Group");
    // Leaving the members out reads none of them.
    let r = c.get(&format!("/Groups/{group}?excludedAttributes=members")).await?;
    assert_eq!((r.status, r.json.get("members")), (200, None));
    // Only what was asked of each member.
    let r = c.get(&format!("/Groups/{group}?attributes=members.value")).await?;
    assert_eq!(r.status, 200, "{}", &r.text[..r.text.len().min(300)]);
    assert_eq!(r.json["members"][5], serde_json::json!({"value": "m-0000006"}));
    assert_eq!(member_ids(&r.json).len(), 100_000);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_group_reads_exactly_as_one_rendered_whole() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    admin.create_realm("r").await?;
    let c = Client::new(server.url("/realms/r/scim/v2"), Some(server.token(server.realm_id("r")?, &["manage-users"])?));
    let small = c.create_user("small", serde_json::json!({})).await?;
    let group = c.create_group("Streamed", &[&small]).await?;
    add_members(&server, "r", &group, 2500)?;
    let streamed = c.get(&format!("/Groups/{group}")).await?;
    assert_eq!(streamed.status, 200);
    // A 0.1 engine has no frames: the host renders the same group in one call.
    let r = admin.put_bytes("/realms/r/scim/component", DEFAULT_V0_1.to_vec()).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let whole = c.get(&format!("/Groups/{group}")).await?;
    assert_eq!(whole.status, 200);
    assert_eq!(member_ids(&streamed.json).len(), 2501);
    assert_eq!(streamed.text, whole.text, "the same bytes, streamed or not");
    assert_eq!(streamed.header("etag"), whole.header("etag"));
    Ok(())
}
