//! RFC 7644 §3.4.2.5 `attributes` and `excludedAttributes`, under the `returned` rules.

use anyhow::Result;
use scimd_tests::{Client, Server, q};
use serde_json::json;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn user(c: &Client) -> Result<String> {
    c.create_user(
        "bjensen",
        json!({"title": "Guide", "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "w@x.example", "type": "work"}, {"value": "h@x.example", "type": "home"}],
        ENTERPRISE: {"employeeNumber": "7", "department": "Ops"}}),
    )
    .await
}

#[tokio::test]
async fn attributes_returns_only_those_plus_always_returned() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = user(&c).await?;
    let r = c.get(&format!("/Users/{id}?attributes=userName,emails")).await?;
    let keys: Vec<&String> = r.json.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(keys, vec!["schemas", "id", "userName", "emails"], "{}", r.text);
    Ok(())
}

#[tokio::test]
async fn attributes_with_sub_attributes_and_value_paths() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = user(&c).await?;
    let r = c.get(&format!("/Users/{id}?attributes=name.givenName,emails.value")).await?;
    assert_eq!(r.json["name"], json!({"givenName": "Barbara"}));
    assert_eq!(r.json["emails"], json!([{"value": "w@x.example"}, {"value": "h@x.example"}]));
    let r = c.get(&format!("/Users/{id}?attributes={}", q(r#"emails[type eq "work"]"#))).await?;
    assert_eq!(r.json["emails"], json!([{"value": "w@x.example", "type": "work"}]));
    Ok(())
}

#[tokio::test]
async fn attributes_with_urn_paths() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = user(&c).await?;
    let r = c.get(&format!("/Users/{id}?attributes={ENTERPRISE}:department")).await?;
    assert_eq!(r.json[ENTERPRISE], json!({"department": "Ops"}));
    assert!(r.json.get("userName").is_none());
    let r = c.get(&format!("/Users/{id}?attributes={ENTERPRISE}")).await?;
    assert_eq!(r.json[ENTERPRISE], json!({"employeeNumber": "7", "department": "Ops"}));
    Ok(())
}

#[tokio::test]
async fn excluded_attributes_leaves_out_those_but_never_id() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = user(&c).await?;
    let r =
        c.get(&format!("/Users/{id}?excludedAttributes=emails,name.familyName,id,{ENTERPRISE}:employeeNumber")).await?;
    assert!(r.json.get("emails").is_none());
    assert_eq!(r.json["name"], json!({"givenName": "Barbara"}));
    assert_eq!(r.json["id"], id);
    assert_eq!(r.json[ENTERPRISE], json!({"department": "Ops"}));
    assert_eq!(r.json["title"], "Guide");
    Ok(())
}

#[tokio::test]
async fn attribute_names_are_case_insensitive() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = user(&c).await?;
    let r = c.get(&format!("/Users/{id}?attributes=USERNAME,Name.GivenName")).await?;
    assert_eq!(r.json["userName"], "bjensen");
    assert_eq!(r.json["name"], json!({"givenName": "Barbara"}));
    Ok(())
}

#[tokio::test]
async fn projection_applies_to_lists_and_writes() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    user(&c).await?;
    let r = c.get("/Users?attributes=userName").await?;
    assert_eq!(r.json["Resources"][0].as_object().map(|o| o.len()), Some(3));
    let r = c
        .post(
            "/Users?attributes=userName",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x", "title": "t"}),
        )
        .await?;
    assert_eq!(r.status, 201);
    assert!(r.json.get("title").is_none());
    Ok(())
}

#[tokio::test]
async fn malformed_projection_is_400_and_unknown_is_400_when_strict() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let id = user(&c).await?;
    c.get(&format!("/Users/{id}?attributes={}", q("emails[type eq"))).await?.assert_error(
        400,
        Some("invalidValue"),
        "emails",
    );
    c.get(&format!("/Users/{id}?attributes=nosuch")).await?.assert_error(400, Some("invalidValue"), "nosuch");
    c.get(&format!("/Users/{id}?excludedAttributes={}", q(r#"emails[type eq "work"]"#))).await?.assert_error(
        400,
        Some("invalidValue"),
        "filters",
    );
    Ok(())
}
