//! RFC 7643 §4.2 Groups and their members: membership as deltas, visible on both sides
//! (`members` of the group, read-only `groups` of the user), and `displayName` uniqueness.

use anyhow::Result;
use scimd_tests::{Client, Server, q};
use serde_json::{Value, json};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn patch_ops(c: &Client, path: &str, ops: Value) -> Result<scimd_tests::Resp> {
    c.patch(path, &json!({"schemas": [PATCH], "Operations": ops})).await
}

#[tokio::test]
async fn create_group_without_members_shows_empty_members() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let r = c.post("/Groups", &json!({"schemas": [GROUP], "displayName": "Admins", "externalId": "g-ext"})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["members"], json!([]));
    assert_eq!(r.json["externalId"], "g-ext");
    assert_eq!(r.json["meta"]["resourceType"], "Group");
    assert_eq!(r.header("location"), Some(format!("{}/Groups/{}", c.base, r.id()).as_str()));
    Ok(())
}

#[tokio::test]
async fn create_group_with_members_is_visible_on_both_sides() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice, &bob]).await?;
    let g = c.get(&format!("/Groups/{gid}")).await?;
    let mut expected = vec![alice.clone(), bob.clone()];
    expected.sort();
    assert_eq!(member_ids(&g.json), expected);
    let m = &g.json["members"][0];
    assert_eq!(m["type"], "User");
    assert!(
        m["$ref"].as_str().is_some_and(|r| r.ends_with(&format!("/Users/{}", m["value"].as_str().unwrap_or_default())))
    );
    let u = c.get(&format!("/Users/{alice}")).await?;
    assert_eq!(
        u.json["groups"],
        json!([{"value": gid, "$ref": format!("{}/Groups/{gid}", c.base), "display": "Admins", "type": "direct"}])
    );
    Ok(())
}

#[tokio::test]
async fn patch_add_members_answers_204_and_adds() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[]).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}"),
        json!([{"op": "add", "path": "members", "value": [{"value": alice}]}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(member_ids(&c.get(&format!("/Groups/{gid}")).await?.json), vec![alice]);
    Ok(())
}

#[tokio::test]
async fn patch_group_with_attributes_answers_200_with_the_group() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let gid = c.create_group("Admins", &[]).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}?attributes=displayName"),
        json!([{"op": "replace", "path": "displayName", "value": "Ops"}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["displayName"], "Ops");
    Ok(())
}

#[tokio::test]
async fn patch_remove_member_by_value_keeps_others() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice, &bob]).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&c.get(&format!("/Groups/{gid}")).await?.json), vec![bob.clone()]);
    assert!(c.get(&format!("/Users/{alice}")).await?.json.get("groups").is_none());
    Ok(())
}

#[tokio::test]
async fn patch_remove_members_with_value_list_removes_only_those() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice, &bob]).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}"),
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": bob}]}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&c.get(&format!("/Groups/{gid}")).await?.json), vec![alice]);
    Ok(())
}

#[tokio::test]
async fn patch_remove_all_members() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice]).await?;
    assert_eq!(
        patch_ops(&c, &format!("/Groups/{gid}"), json!([{"op": "remove", "path": "members"}])).await?.status,
        204
    );
    assert_eq!(c.get(&format!("/Groups/{gid}")).await?.json["members"], json!([]));
    Ok(())
}

#[tokio::test]
async fn patch_replace_members_sets_the_full_list() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice]).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}"),
        json!([{"op": "replace", "path": "members", "value": [{"value": bob}]}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&c.get(&format!("/Groups/{gid}")).await?.json), vec![bob]);
    Ok(())
}

#[tokio::test]
async fn put_group_replaces_members() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice]).await?;
    let r = c
        .put(
            &format!("/Groups/{gid}"),
            &json!({"schemas": [GROUP], "displayName": "Admins", "members": [{"value": bob}]}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&r.json), vec![bob]);
    Ok(())
}

#[tokio::test]
async fn nested_group_members_have_type_group() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let inner = c.create_group("Inner", &[]).await?;
    let outer = c.create_group("Outer", &[&inner]).await?;
    let g = c.get(&format!("/Groups/{outer}")).await?;
    assert_eq!(g.json["members"][0]["type"], "Group");
    assert!(g.json["members"][0].get("display").is_none(), "no display was sent: none is made up");
    Ok(())
}

#[tokio::test]
async fn adding_an_unknown_member_is_400_and_changes_nothing() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[]).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}"),
        json!([
        {"op": "add", "path": "members", "value": [{"value": alice}]},
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": "ghost"}]}]),
    )
    .await?;
    r.assert_error(400, Some("invalidValue"), "ghost");
    let g = c.get(&format!("/Groups/{gid}")).await?;
    assert_eq!(g.json["members"], json!([]), "the whole PATCH was rolled back");
    assert_eq!(g.json["displayName"], "Admins");
    assert_eq!(g.json["meta"]["version"], "W/\"1\"");
    Ok(())
}

#[tokio::test]
async fn a_group_cannot_contain_itself() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let gid = c.create_group("Loop", &[]).await?;
    let r =
        patch_ops(&c, &format!("/Groups/{gid}"), json!([{"op": "add", "path": "members", "value": [{"value": gid}]}]))
            .await?;
    r.assert_error(400, Some("invalidValue"), "itself");
    Ok(())
}

#[tokio::test]
async fn user_groups_attribute_is_read_only() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[]).await?;
    let r =
        patch_ops(&c, &format!("/Users/{alice}"), json!([{"op": "add", "path": "groups", "value": [{"value": gid}]}]))
            .await?;
    r.assert_error(400, Some("mutability"), "groups");
    // In a POST or PUT body it is ignored, as every read-only attribute.
    let r = c.put(&format!("/Users/{alice}"), &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice", "groups": [{"value": gid}]})).await?;
    assert_eq!(r.status, 200);
    assert!(r.json.get("groups").is_none());
    Ok(())
}

#[tokio::test]
async fn deleting_a_user_removes_its_memberships() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice]).await?;
    assert_eq!(c.delete(&format!("/Users/{alice}")).await?.status, 204);
    assert_eq!(c.get(&format!("/Groups/{gid}")).await?.json["members"], json!([]));
    Ok(())
}

#[tokio::test]
async fn deleting_a_group_removes_it_from_users() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice]).await?;
    assert_eq!(c.delete(&format!("/Groups/{gid}")).await?.status, 204);
    assert!(c.get(&format!("/Users/{alice}")).await?.json.get("groups").is_none());
    c.get(&format!("/Groups/{gid}")).await?.assert_error(404, None, &gid);
    Ok(())
}

#[tokio::test]
async fn duplicate_display_name_is_409_uniqueness() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.create_group("Admins", &[]).await?;
    c.post("/Groups", &json!({"schemas": [GROUP], "displayName": "ADMINS"})).await?.assert_error(
        409,
        Some("uniqueness"),
        "ADMINS",
    );
    Ok(())
}

#[tokio::test]
async fn excluded_members_are_not_returned() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice]).await?;
    let g = c.get(&format!("/Groups/{gid}?excludedAttributes=members")).await?;
    assert!(g.json.get("members").is_none(), "{}", g.text);
    assert_eq!(g.json["displayName"], "Admins");
    let list = c.get(&format!("/Groups?excludedAttributes=members&filter={}", q("displayName eq \"Admins\""))).await?;
    assert_eq!(list.json["totalResults"], 1);
    assert!(list.json["Resources"][0].get("members").is_none());
    Ok(())
}

/// Membership changes are deltas (docs/architecture.md §3–4): a group with 100k members is patched; the member list is never
/// loaded to add or remove one.
#[tokio::test(flavor = "multi_thread")]
async fn patch_on_a_group_with_100k_members_adds_and_removes_one() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let gid = c.create_group("Everyone", &[]).await?;
    let realm_id = server.realm_id("r")?;
    // Seed 100k users and memberships directly; the HTTP path is what is under test.
    let seed_group = gid.clone();
    server.state.store.write_blocking(move |tx| {
        let gpk: i64 = tx.query_row("SELECT pk FROM groups WHERE id = ?1", [&seed_group], |r| r.get(0))?;
        let mut user = tx.prepare("INSERT INTO users (realm_id, id, username, username_ci, enabled, created, last_modified, version, member_of) VALUES (?1, ?2, ?3, ?3, 1, 0, 0, 1, 1)")?;
        let mut member = tx.prepare("INSERT INTO memberships (group_pk, member_kind, member_pk) VALUES (?1, 0, ?2)")?;
        for i in 0..100_000 {
            user.execute(rusqlite::params![realm_id, format!("seed-{i}"), format!("seed{i}")])?;
            member.execute([gpk, tx.last_insert_rowid()])?;
        }
        Ok(())
    })?;
    let newcomer = c.create_user("newcomer", json!({})).await?;
    let r = patch_ops(
        &c,
        &format!("/Groups/{gid}"),
        json!([
        {"op": "add", "path": "members", "value": [{"value": newcomer}]},
        {"op": "remove", "path": "members[value eq \"seed-42\"]"}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let (total, _) = c
        .ids(&format!("/Groups?excludedAttributes=members&filter={}", q(&format!("members.value eq \"{newcomer}\""))))
        .await?;
    assert_eq!(total, 1);
    let (total, _) =
        c.ids(&format!("/Groups?excludedAttributes=members&filter={}", q("members.value eq \"seed-42\""))).await?;
    assert_eq!(total, 0);
    let (total, _) =
        c.ids(&format!("/Groups?excludedAttributes=members&filter={}", q("members.value eq \"seed-43\""))).await?;
    assert_eq!(total, 1);
    let count: i64 =
        server.state.store.read(|conn| Ok(conn.query_row("SELECT count(*) FROM memberships", [], |r| r.get(0))?))?;
    assert_eq!(count, 100_000);
    Ok(())
}

#[tokio::test]
async fn renames_show_at_once_in_the_other_side_of_a_membership() -> Result<()> {
    // A group rename makes no new version of its members: what shows the name in a user's
    // `groups` must not be an earlier rendering of it (the engine's renders are memoised by
    // their inputs). A member's `display` is the client's and stays as it was sent.
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let user = c.create_user("alice", json!({})).await?;
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Before",
                    "members": [{"value": user, "display": "Alice A."}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let group = r.id();
    for _ in 0..2 {
        assert_eq!(c.get(&format!("/Users/{user}")).await?.json["groups"][0]["display"], "Before");
        assert_eq!(c.get(&format!("/Groups/{group}")).await?.json["members"][0]["display"], "Alice A.");
    }
    let rename = |path: &str, value: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": path, "value": value}]})
    };
    assert_eq!(c.patch(&format!("/Groups/{group}"), &rename("displayName", "After")).await?.status, 204);
    assert_eq!(c.patch(&format!("/Users/{user}"), &rename("userName", "alicia")).await?.status, 200);
    assert_eq!(c.get(&format!("/Users/{user}")).await?.json["groups"][0]["display"], "After");
    assert_eq!(
        c.get("/Users?filter=userName%20eq%20%22alicia%22").await?.json["Resources"][0]["groups"][0]["display"],
        "After"
    );
    assert_eq!(c.get(&format!("/Groups/{group}")).await?.json["members"][0]["display"], "Alice A.");
    Ok(())
}

/// RFC 7643 §4.2: a member's `display` is stored with the membership as the client sent it
/// and given back as is; a member sent without one has none (nothing is made up). Adding a
/// member again with another `display` keeps the latest.
#[tokio::test]
async fn rfc7643_4_2_member_display_is_given_back_as_sent_and_absent_when_none_was_sent() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "VPs",
                    "members": [{"value": alice, "display": "VP"}, {"value": bob}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let path = format!("/Groups/{}", r.id());
    let display_of = |g: &serde_json::Value, id: &str| {
        g["members"].as_array().and_then(|m| m.iter().find(|m| m["value"] == id).map(|m| m.get("display").cloned()))
    };
    for g in [r.json.clone(), c.get(&path).await?.json] {
        assert_eq!(display_of(&g, &alice), Some(Some(json!("VP"))), "{g}");
        assert_eq!(display_of(&g, &bob), Some(None), "{g}");
    }
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "add", "path": "members", "value": [{"value": bob, "display": "Bobby"}]}]});
    assert_eq!(c.patch(&path, &add).await?.status, 200);
    let g = c.get(&path).await?.json;
    assert_eq!(display_of(&g, &bob), Some(Some(json!("Bobby"))), "{g}");
    assert_eq!(display_of(&g, &alice), Some(Some(json!("VP"))), "{g}");
    // Added again without one (as Entra re-adds members): the stored display stays.
    let again = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "add", "path": "members", "value": [{"value": bob}]}]});
    assert_eq!(c.patch(&path, &again).await?.status, 200);
    assert_eq!(display_of(&c.get(&path).await?.json, &bob), Some(Some(json!("Bobby"))));
    // A display past 256 characters is refused, and nothing changes.
    let long = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "add", "path": "members", "value": [{"value": bob, "display": "x".repeat(257)}]}]});
    let r = c.patch(&path, &long).await?;
    assert_eq!((r.status, r.json["scimType"].as_str()), (400, Some("invalidValue")), "{}", r.text);
    assert_eq!(display_of(&c.get(&path).await?.json, &bob), Some(Some(json!("Bobby"))));
    // The user's side still names the group.
    assert_eq!(c.get(&format!("/Users/{alice}")).await?.json["groups"][0]["display"], "VPs");
    Ok(())
}
