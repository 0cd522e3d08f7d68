//! Groups in groups (RFC 7643 §4.2 `members.type: "Group"`): a user's `groups` lists the groups
//! it is in directly and through other groups (§4.1.2 `type: "direct"` / `"indirect"`),
//! filters on `groups.value` follow both, `members` stays direct, and no group may end up
//! inside itself.

use anyhow::Result;
use scimd_tests::{Client, Server, q};
use serde_json::{Value, json};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `(group id, type)` of a user's `groups`, in order.
async fn groups_of(c: &Client, user: &str) -> Result<Vec<(String, String)>> {
    let r = c.get(&format!("/Users/{user}")).await?;
    anyhow::ensure!(r.status == 200, "{}", r.text);
    Ok(r.json["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| (g["value"].as_str().unwrap_or("?").to_string(), g["type"].as_str().unwrap_or("?").to_string()))
        .collect())
}

fn pair(id: &str, t: &str) -> (String, String) {
    (id.to_string(), t.to_string())
}

async fn add_member(c: &Client, group: &str, member: &str) -> Result<scimd_tests::Resp> {
    let body =
        json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]});
    c.patch(&format!("/Groups/{group}"), &body).await
}

/// top ⊇ mid ⊇ leaf ⊇ alice.
async fn three_levels(c: &Client) -> Result<(String, String, String, String)> {
    let alice = c.create_user("alice", json!({})).await?;
    let leaf = c.create_group("Leaf", &[&alice]).await?;
    let mid = c.create_group("Mid", &[&leaf]).await?;
    let top = c.create_group("Top", &[&mid]).await?;
    Ok((alice, leaf, mid, top))
}

async fn user_ids_in(c: &Client, group: &str) -> Result<Vec<String>> {
    Ok(c.ids(&format!("/Users?filter={}", q(&format!("groups.value eq \"{group}\"")))).await?.1)
}

#[tokio::test]
async fn rfc7643_4_1_2_a_user_lists_the_groups_above_its_own_as_indirect() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let (alice, leaf, mid, top) = three_levels(&c).await?;
    assert_eq!(groups_of(&c, &alice).await?, [pair(&leaf, "direct"), pair(&mid, "indirect"), pair(&top, "indirect")]);
    let top_group = c.get(&format!("/Groups/{top}")).await?;
    assert_eq!(
        top_group.json["members"],
        json!([{"value": mid, "$ref": format!("{}/Groups/{mid}", c.base), "type": "Group"}]),
        "members stay the direct ones"
    );
    let page = c.get(&format!("/Users?filter={}", q("userName eq \"alice\""))).await?;
    assert_eq!(page.json["Resources"][0]["groups"][2]["type"], "indirect", "a page shows them too");
    Ok(())
}

#[tokio::test]
async fn rfc7643_4_1_2_a_group_the_user_is_in_directly_and_through_another_is_listed_once_as_direct() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let (alice, leaf, mid, top) = three_levels(&c).await?;
    assert_eq!(add_member(&c, &top, &alice).await?.status, 200);
    assert_eq!(groups_of(&c, &alice).await?, [pair(&leaf, "direct"), pair(&top, "direct"), pair(&mid, "indirect")]);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_4_2_2_groups_value_eq_finds_direct_and_indirect_members_and_members_value_eq_direct_ones()
-> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let (alice, leaf, mid, top) = three_levels(&c).await?;
    let bob = c.create_user("bob", json!({})).await?;
    assert_eq!(user_ids_in(&c, &top).await?, std::slice::from_ref(&alice), "through two levels");
    assert_eq!(user_ids_in(&c, &leaf).await?, std::slice::from_ref(&alice));
    let outside = c.ids(&format!("/Users?filter={}", q(&format!("not (groups.value eq \"{top}\")")))).await?.1;
    assert_eq!(outside, [bob]);
    let holders = c.ids(&format!("/Groups?filter={}", q(&format!("members.value eq \"{leaf}\"")))).await?.1;
    assert_eq!(holders, [mid], "a group's members are its direct ones");
    let indirect =
        c.ids(&format!("/Users?filter={}", q(&format!("groups[type eq \"indirect\"].value eq \"{top}\"")))).await?;
    assert_eq!(indirect.1, [alice], "the type tells the two apart");
    Ok(())
}

#[tokio::test]
async fn rfc7643_4_2_a_group_cannot_become_a_member_of_a_group_inside_it() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let (_, leaf, mid, top) = three_levels(&c).await?;
    let before = c.get(&format!("/Groups/{leaf}")).await?.json;
    let r = add_member(&c, &leaf, &top).await?;
    r.assert_error(400, Some("invalidValue"), "cycle");
    let r = add_member(&c, &mid, &mid).await?;
    r.assert_error(400, Some("invalidValue"), "itself");
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Leaf",
                     "members": [{"value": mid}]});
    c.put(&format!("/Groups/{leaf}"), &put).await?.assert_error(400, Some("invalidValue"), "cycle");
    assert_eq!(c.get(&format!("/Groups/{leaf}")).await?.json, before, "nothing of the refused writes stayed");
    Ok(())
}

#[tokio::test]
async fn rfc7643_4_1_2_removing_a_middle_group_ends_the_memberships_through_it() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let (alice, leaf, mid, top) = three_levels(&c).await?;
    let remove =
        json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{mid}\"]")}]});
    assert_eq!(c.patch(&format!("/Groups/{top}"), &remove).await?.status, 200);
    assert_eq!(groups_of(&c, &alice).await?, [pair(&leaf, "direct"), pair(&mid, "indirect")]);
    assert!(user_ids_in(&c, &top).await?.is_empty());
    assert_eq!(add_member(&c, &top, &mid).await?.status, 200);
    assert_eq!(c.delete(&format!("/Groups/{mid}")).await?.status, 204);
    assert_eq!(groups_of(&c, &alice).await?, [pair(&leaf, "direct")], "deleting the middle group cut the chain");
    assert!(user_ids_in(&c, &top).await?.is_empty());
    let top_group: Value = c.get(&format!("/Groups/{top}")).await?.json;
    assert_eq!(top_group["members"], json!([]));
    Ok(())
}

#[tokio::test]
async fn a_chain_of_groups_in_groups_is_at_most_32_groups_deep() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let mut inner = c.create_group("g1", &[]).await?;
    for i in 2..=32 {
        inner = c.create_group(&format!("g{i}"), &[&inner]).await?;
    }
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g33",
                                 "members": [{"value": inner}]}),
        )
        .await?;
    r.assert_error(400, Some("invalidValue"), "32");
    assert_eq!(c.ids("/Groups").await?.0, 32, "the 33rd group was not created");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_14_a_users_version_moves_when_its_indirect_groups_change() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let leaf = c.create_group("Leaf", &[&alice]).await?;
    let top = c.create_group("Top", &[]).await?;
    let path = format!("/Users/{alice}");
    let etag = |r: &scimd_tests::Resp| r.header("etag").unwrap_or_default().to_string();
    let before = etag(&c.get(&path).await?);
    assert_eq!(add_member(&c, &top, &leaf).await?.status, 200);
    let after = c.send("GET", &path, None, &[("If-None-Match", &before)]).await?;
    assert_eq!(after.status, 200, "alice's groups changed: no 304 for the old version");
    assert_ne!(etag(&after), before);
    assert_eq!(c.delete(&format!("/Groups/{top}")).await?.status, 204);
    let gone = c.send("GET", &path, None, &[("If-None-Match", &etag(&after))]).await?;
    assert_eq!(gone.status, 200, "deleting the outer group changed them again");
    assert_eq!(groups_of(&c, &alice).await?, [pair(&leaf, "direct")]);
    Ok(())
}
