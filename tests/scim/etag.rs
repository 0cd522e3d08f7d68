//! RFC 7644 §3.14 versioning: `ETag` on every resource, `If-None-Match` on reads and
//! `If-Match` on writes.

use anyhow::Result;
use scimd_tests::Server;
use serde_json::json;

#[tokio::test]
async fn if_none_match_with_current_version_is_304() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({})).await?;
    let r = c.send("GET", &format!("/Users/{id}"), None, &[("if-none-match", "W/\"1\"")]).await?;
    assert_eq!(r.status, 304);
    let r = c.send("GET", &format!("/Users/{id}"), None, &[("if-none-match", "W/\"0\"")]).await?;
    assert_eq!(r.status, 200);
    Ok(())
}

#[tokio::test]
async fn if_match_with_stale_version_is_412_and_changes_nothing() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({"title": "a"})).await?;
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "b"}]});
    let r = c.send("PATCH", &format!("/Users/{id}"), Some(patch.to_string()), &[("if-match", "W/\"1\"")]).await?;
    assert_eq!(r.status, 200);
    let r = c.send("PATCH", &format!("/Users/{id}"), Some(patch.to_string()), &[("if-match", "W/\"1\"")]).await?;
    r.assert_error(412, None, "version");
    let r = c.send("DELETE", &format!("/Users/{id}"), None, &[("if-match", "W/\"1\"")]).await?;
    r.assert_error(412, None, "version");
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json["meta"]["version"], "W/\"2\"");
    let r = c.send("DELETE", &format!("/Users/{id}"), None, &[("if-match", "*")]).await?;
    assert_eq!(r.status, 204);
    Ok(())
}
