//! What a write answers with: RFC 7240's `Prefer: return=minimal | return=representation`,
//! honoured on POST, PUT and PATCH and acknowledged in `Preference-Applied`, and the default
//! when the client says nothing (RFC 7644 §3.5.2: a strict realm answers a PATCH with the
//! resource; an entra realm answers a group PATCH with 204, as Entra expects).

use anyhow::Result;
use scimd_tests::{Client, Server};
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn rename(name: &str) -> String {
    json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": name}]}).to_string()
}

#[tokio::test]
async fn rfc7240_return_minimal_answers_a_create_with_201_location_and_etag_only() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let body = json!({"schemas": [USER], "userName": "bjensen"}).to_string();
    let r = c.send("POST", "/Users", Some(body), &[("Prefer", "return=minimal")]).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.text, "", "no body");
    assert_eq!(r.header("preference-applied"), Some("return=minimal"));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let location = r.header("location").unwrap_or_default().to_string();
    let stored = c.get(&location).await?;
    assert_eq!((stored.status, stored.json["userName"].as_str()), (200, Some("bjensen")), "the user was created");
    Ok(())
}

#[tokio::test]
async fn rfc7240_return_minimal_answers_a_user_patch_and_put_with_204_and_the_new_etag() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({})).await?;
    let path = format!("/Users/{id}");
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Guide"}]});
    let r = c.send("PATCH", &path, Some(patch.to_string()), &[("Prefer", "return=minimal")]).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.header("preference-applied"), Some("return=minimal"));
    let put = json!({"schemas": [USER], "userName": "bjensen", "title": "Lead"}).to_string();
    let r = c.send("PUT", &path, Some(put), &[("Prefer", "return=minimal")]).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(c.get(&path).await?.json["title"], "Lead", "the write was applied");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_5_2_a_strict_group_patch_answers_the_resource_unless_minimal_was_asked() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Guides", &[&alice]).await?;
    let path = format!("/Groups/{gid}");
    let r = c.send("PATCH", &path, Some(rename("Tour Guides")), &[]).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["displayName"], "Tour Guides");
    assert_eq!(r.json["members"][0]["value"], alice.as_str(), "the whole resource, members included");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.header("preference-applied"), None, "nothing was asked");
    let r = c.send("PATCH", &path, Some(rename("Guides")), &[("Prefer", "return=minimal")]).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    Ok(())
}

#[tokio::test]
async fn an_entra_group_patch_answers_204_unless_the_representation_was_asked() -> Result<()> {
    let server = Server::start().await?;
    let c: Client = server.realm("r", "entra", &["manage-users"])?;
    let gid = c.create_group("Guides", &[]).await?;
    let path = format!("/Groups/{gid}");
    let r = c.send("PATCH", &path, Some(rename("Tour Guides")), &[]).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "Entra's expectation");
    let r = c.send("PATCH", &path, Some(rename("Guides")), &[("Prefer", "return=representation")]).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["displayName"], "Guides");
    assert_eq!(r.header("preference-applied"), Some("return=representation"));
    Ok(())
}

#[tokio::test]
async fn unknown_preferences_are_ignored() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let body = json!({"schemas": [USER], "userName": "bjensen"}).to_string();
    let r = c.send("POST", "/Users", Some(body), &[("Prefer", "respond-async, return=everything")]).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["userName"], "bjensen");
    assert_eq!(r.header("preference-applied"), None);
    Ok(())
}
