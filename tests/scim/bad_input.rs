//! Bad input gets a clear SCIM error (status, `scimType`, a `detail` naming the problem,
//! `application/scim+json`) and loses nothing: the store is unchanged afterwards.

use anyhow::Result;
use scimd_tests::{Client, Server};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn snapshot(c: &Client) -> Result<Value> {
    Ok(c.get("/Users?sortBy=userName").await?.json)
}

async fn seeded() -> Result<(Server, Client, String, Value)> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({"title": "Guide"})).await?;
    let before = snapshot(&c).await?;
    Ok((server, c, id, before))
}

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() -> Result<()> {
    let (_s, c, id, before) = seeded().await?;
    let r = c.send("POST", "/Users", Some("{\"userName\": ".into()), &[]).await?;
    r.assert_error(400, Some("invalidSyntax"), "not valid JSON");
    let r = c.send("PUT", &format!("/Users/{id}"), Some("[1,2".into()), &[]).await?;
    r.assert_error(400, Some("invalidSyntax"), "not valid JSON");
    let r = c.send("PATCH", &format!("/Users/{id}"), Some("nope".into()), &[]).await?;
    r.assert_error(400, Some("invalidSyntax"), "not valid JSON");
    let r = c.send("POST", "/Users", Some("[]".into()), &[]).await?;
    r.assert_error(400, Some("invalidSyntax"), "JSON object");
    assert_eq!(snapshot(&c).await?, before);
    Ok(())
}

#[tokio::test]
async fn wrong_types_are_400_invalid_value_naming_the_attribute() -> Result<()> {
    let (_s, c, _, before) = seeded().await?;
    for (body, mention) in [
        (json!({"schemas": [USER], "userName": 42}), "'userName' must be a string"),
        (json!({"schemas": [USER], "userName": "x", "active": "yes"}), "'active' must be a boolean"),
        (json!({"schemas": [USER], "userName": "x", "emails": "x@y"}), "'emails' is multi-valued"),
        (json!({"schemas": [USER], "userName": "x", "name": "Barbara"}), "'name' is complex"),
        (json!({"schemas": [USER], "userName": "x", "emails": [{"value": 5}]}), "'emails[0].value' must be a string"),
        (json!({"schemas": [USER], "userName": "x", "x509Certificates": [{"value": "not base64!"}]}), "base64"),
    ] {
        c.post("/Users", &body).await?.assert_error(400, Some("invalidValue"), mention);
    }
    assert_eq!(snapshot(&c).await?, before);
    Ok(())
}

#[tokio::test]
async fn missing_required_attribute_is_400_invalid_value() -> Result<()> {
    let (_s, c, id, before) = seeded().await?;
    c.post("/Users", &json!({"schemas": [USER], "displayName": "No Name"})).await?.assert_error(
        400,
        Some("invalidValue"),
        "userName",
    );
    c.put(&format!("/Users/{id}"), &json!({"schemas": [USER], "title": "x"})).await?.assert_error(
        400,
        Some("invalidValue"),
        "userName",
    );
    c.post("/Groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})).await?.assert_error(
        400,
        Some("invalidValue"),
        "displayName",
    );
    assert_eq!(snapshot(&c).await?, before);
    Ok(())
}

#[tokio::test]
async fn oversized_body_is_413() -> Result<()> {
    let server = Server::start_with(|s| s.max_body = 2048).await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let big = json!({"schemas": [USER], "userName": "big", "title": "x".repeat(4096)});
    c.post("/Users", &big).await?.assert_error(413, None, "2048");
    let (total, _) = c.ids("/Users").await?;
    assert_eq!(total, 0);
    Ok(())
}

#[tokio::test]
async fn unknown_resource_type_and_endpoint_are_404() -> Result<()> {
    let (s, c, _, _) = seeded().await?;
    c.get("/Devices").await?.assert_error(404, None, "Devices");
    c.get("/Devices/1").await?.assert_error(404, None, "Devices");
    c.post("/Devices", &json!({})).await?.assert_error(404, None, "Devices");
    c.get(&s.url("/nothing/here")).await?.assert_error(404, None, "/nothing/here");
    Ok(())
}

#[tokio::test]
async fn unknown_realm_is_404() -> Result<()> {
    let (s, c, _, _) = seeded().await?;
    let other = Client::new(s.url("/realms/nope/scim/v2"), c.token.clone());
    other.get("/Users").await?.assert_error(404, None, "nope");
    Ok(())
}

#[tokio::test]
async fn unsupported_method_is_405() -> Result<()> {
    let (_s, c, _, _) = seeded().await?;
    c.send("DELETE", "/Users", None, &[]).await?.assert_error(405, None, "not allowed");
    Ok(())
}

#[tokio::test]
async fn unknown_attributes_are_400_when_strict_and_ignored_when_entra() -> Result<()> {
    let (s, c, _, before) = seeded().await?;
    c.post("/Users", &json!({"schemas": [USER], "userName": "x", "favouriteColour": "blue"})).await?.assert_error(
        400,
        Some("invalidValue"),
        "favouriteColour",
    );
    assert_eq!(snapshot(&c).await?, before);
    let e = s.realm("e", "entra", &["manage-users"])?;
    let r = e.post("/Users", &json!({"schemas": [USER], "userName": "x", "favouriteColour": "blue"})).await?;
    assert_eq!(r.status, 201);
    assert!(r.json.get("favouriteColour").is_none());
    Ok(())
}
