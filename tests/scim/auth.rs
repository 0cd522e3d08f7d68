//! Bearer tokens: no token or a bad one is 401 with a SCIM body and `WWW-Authenticate`; a
//! read-only token writing is 403; realms are isolated.

use anyhow::Result;
use scimd_tests::{Client, Server};
use serde_json::json;

#[tokio::test]
async fn missing_token_is_401_with_challenge() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?.with_token(None);
    let r = c.get("/Users").await?;
    r.assert_error(401, None, "Bearer");
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
    c.get("/ServiceProviderConfig").await?.assert_error(401, None, "Bearer");
    Ok(())
}

#[tokio::test]
async fn bad_tokens_are_401() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    for token in ["garbage", "scimd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""] {
        let r = c.with_token(Some(token.into())).get("/Users").await?;
        assert_eq!(r.status, 401, "token {token:?}: {}", r.text);
    }
    let raw = c.with_token(None).send("GET", "/Users", None, &[("authorization", "Basic dXNlcjpwYXNz")]).await?;
    raw.assert_error(401, None, "Bearer");
    Ok(())
}

#[tokio::test]
async fn view_users_may_read_but_not_write() -> Result<()> {
    let server = Server::start().await?;
    let admin = server.realm("r", "entra", &["manage-users"])?;
    let id = admin.create_user("bjensen", json!({})).await?;
    let reader = admin.with_token(Some(server.token(server.realm_id("r")?, &["view-users"])?));
    assert_eq!(reader.get(&format!("/Users/{id}")).await?.status, 200);
    assert_eq!(reader.get("/Users").await?.status, 200);
    assert_eq!(
        reader
            .post("/Users/.search", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}))
            .await?
            .status,
        200
    );
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"});
    reader.post("/Users", &user).await?.assert_error(403, None, "manage-users");
    reader.put(&format!("/Users/{id}"), &user).await?.assert_error(403, None, "manage-users");
    reader
        .patch(&format!("/Users/{id}"), &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": "title"}]}))
        .await?
        .assert_error(403, None, "manage-users");
    reader.delete(&format!("/Users/{id}")).await?.assert_error(403, None, "manage-users");
    assert_eq!(admin.get(&format!("/Users/{id}")).await?.json["meta"]["version"], "W/\"1\"");
    Ok(())
}

#[tokio::test]
async fn a_token_without_roles_may_not_read() -> Result<()> {
    let server = Server::start().await?;
    let admin = server.realm("r", "entra", &["manage-users"])?;
    let nobody = admin.with_token(Some(server.token(server.realm_id("r")?, &[])?));
    nobody.get("/Users").await?.assert_error(403, None, "view-users");
    Ok(())
}

#[tokio::test]
async fn a_token_of_realm_a_never_sees_realm_b() -> Result<()> {
    let server = Server::start().await?;
    let a = server.realm("a", "entra", &["manage-users"])?;
    let b = server.realm("b", "entra", &["manage-users"])?;
    let id = b.create_user("secret", json!({})).await?;
    let a_in_b = Client::new(b.base.clone(), a.token.clone());
    a_in_b.get(&format!("/Users/{id}")).await?.assert_error(401, None, "realm 'b'");
    a_in_b.get("/Users").await?.assert_error(401, None, "realm 'b'");
    // Ids are realm-scoped too: realm a's own endpoint does not find b's user.
    a.get(&format!("/Users/{id}")).await?.assert_error(404, None, &id);
    let (total, _) = a.ids("/Users").await?;
    assert_eq!(total, 0);
    Ok(())
}
