//! RFC 7644 §3.4.3 `POST /.search`.

use anyhow::Result;
use scimd_tests::Server;
use serde_json::json;

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

#[tokio::test]
async fn search_with_filter_attributes_and_paging() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    for n in ["ann", "anna", "bob"] {
        c.create_user(n, json!({"title": "t"})).await?;
    }
    let r = c
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "filter": "userName sw \"ann\"", "attributes": ["userName"],
                                         "sortBy": "userName", "sortOrder": "descending", "startIndex": 1, "count": 1}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["totalResults"], 2);
    assert_eq!(r.json["itemsPerPage"], 1);
    assert_eq!(r.json["Resources"][0]["userName"], "anna");
    assert!(r.json["Resources"][0].get("title").is_none());
    Ok(())
}

#[tokio::test]
async fn search_on_groups() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let gid = c.create_group("Admins", &[]).await?;
    let r = c.post("/Groups/.search", &json!({"schemas": [SEARCH], "filter": "displayName eq \"admins\""})).await?;
    assert_eq!(r.json["Resources"][0]["id"], gid);
    Ok(())
}

#[tokio::test]
async fn bad_search_requests_are_400() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    c.post("/Users/.search", &json!({"schemas": [SEARCH], "count": "ten"})).await?.assert_error(
        400,
        Some("invalidValue"),
        "count",
    );
    c.post("/Users/.search", &json!({"schemas": [SEARCH], "filter": "userName eq"})).await?.assert_error(
        400,
        Some("invalidFilter"),
        "value",
    );
    c.post("/Users/.search", &json!({"filter": "userName pr"})).await?.assert_error(
        400,
        Some("invalidValue"),
        "schemas",
    );
    c.send("POST", "/Users/.search", Some("{".into()), &[]).await?.assert_error(400, Some("invalidSyntax"), "JSON");
    Ok(())
}
