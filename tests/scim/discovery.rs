//! RFC 7644 §4 discovery: `ServiceProviderConfig`, `Schemas`, `ResourceTypes`, served by the
//! engine with the realm's locations.

use anyhow::Result;
use scimd_tests::Server;
use serde_json::Value;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn service_provider_config_advertises_what_is_supported() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["view-users"])?;
    let r = c.get("/ServiceProviderConfig").await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let j = &r.json;
    assert_eq!(j["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig");
    assert_eq!(j["patch"]["supported"], true);
    assert_eq!(j["filter"]["supported"], true);
    assert_eq!(j["filter"]["maxResults"], 1000);
    assert_eq!(j["bulk"]["supported"], true, "RFC 7644 §3.7");
    assert_eq!(j["sort"]["supported"], true);
    assert_eq!(j["etag"]["supported"], true);
    assert_eq!(j["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(j["meta"]["location"], format!("{}/ServiceProviderConfig", c.base));
    Ok(())
}

#[tokio::test]
async fn schemas_list_user_group_and_enterprise() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["view-users"])?;
    let r = c.get("/Schemas").await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse");
    let ids: Vec<&str> =
        r.json["Resources"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, vec![USER, GROUP, ENTERPRISE]);
    assert_eq!(r.json["totalResults"], 3);
    let user = &r.json["Resources"][0];
    let user_name = user["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == "userName")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["mutability"], "readWrite");
    assert_eq!(user["meta"]["location"], format!("{}/Schemas/{USER}", c.base));
    Ok(())
}

#[tokio::test]
async fn schema_by_id_and_unknown_schema() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["view-users"])?;
    let r = c.get(&format!("/Schemas/{ENTERPRISE}")).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["id"], ENTERPRISE);
    assert_eq!(r.json["name"], "EnterpriseUser");
    c.get("/Schemas/urn:nope").await?.assert_error(404, None, "urn:nope");
    Ok(())
}

#[tokio::test]
async fn resource_types_name_endpoints_schemas_and_extensions() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["view-users"])?;
    let r = c.get("/ResourceTypes").await?;
    assert_eq!(r.json["totalResults"], 2);
    let user = &r.json["Resources"][0];
    assert_eq!(user["id"], "User");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER);
    assert_eq!(user["schemaExtensions"][0]["schema"], ENTERPRISE);
    assert_eq!(user["schemaExtensions"][0]["required"], false);
    let g = c.get("/ResourceTypes/Group").await?;
    assert_eq!(g.json["endpoint"], "/Groups");
    assert_eq!(g.json["meta"]["location"], format!("{}/ResourceTypes/Group", c.base));
    c.get("/ResourceTypes/Device").await?.assert_error(404, None, "Device");
    Ok(())
}
