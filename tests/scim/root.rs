//! Queries at the server root (RFC 7644 §3.4.2, §3.4.3): `GET /?filter=` and `POST /.search`
//! over Users and Groups together, `meta.resourceType` filterable, paged and sorted across both.

use anyhow::Result;
use scimd_tests::{Client, Resp, Server, q};
use serde_json::{Value, json};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn names(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["Resources"]
        .as_array()
        .map(|a| {
            a.iter().map(|x| x["userName"].as_str().or(x["displayName"].as_str()).unwrap_or("?").to_string()).collect()
        })
        .unwrap_or_default()
}

/// Users b-user ("Bravo"), d-user ("Delta") and groups Alpha, Charlie, created in that order.
async fn seed(c: &Client) -> Result<()> {
    c.create_user("b-user", json!({"displayName": "Bravo"})).await?;
    c.create_group("Alpha", &[]).await?;
    c.create_user("d-user", json!({"displayName": "Delta"})).await?;
    c.create_group("Charlie", &[]).await?;
    Ok(())
}

async fn search(c: &Client, body: Value) -> Result<Resp> {
    let mut body = body;
    body["schemas"] = json!([SEARCH]);
    c.post("/.search", &body).await
}

#[tokio::test]
async fn rfc7644_3_4_3_a_search_at_the_root_lists_users_then_groups() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    seed(&c).await?;
    let r = search(&c, json!({})).await?;
    assert_eq!(names(&r), ["b-user", "d-user", "Alpha", "Charlie"]);
    assert_eq!(r.json["totalResults"], 4);
    let types: Vec<&str> = r.json["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["meta"]["resourceType"].as_str())
        .collect();
    assert_eq!(types, ["User", "User", "Group", "Group"]);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_4_2_2_a_root_filter_on_meta_resource_type_selects_one_type() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    seed(&c).await?;
    let r = c.get(&format!("?filter={}", q("meta.resourceType eq \"Group\""))).await?;
    assert_eq!(names(&r), ["Alpha", "Charlie"]);
    let r = c.get(&format!("/?filter={}", q("meta.resourceType eq \"User\" and userName sw \"d\""))).await?;
    assert_eq!(names(&r), ["d-user"], "with a trailing slash too");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_4_2_2_at_the_root_an_attribute_one_type_lacks_is_absent_from_it() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    seed(&c).await?;
    let r = search(&c, json!({"filter": "userName eq \"b-user\""})).await?;
    assert_eq!(names(&r), ["b-user"]);
    let r = search(&c, json!({"filter": "userName eq \"b-user\" or displayName eq \"Charlie\""})).await?;
    assert_eq!(names(&r), ["b-user", "Charlie"], "each type matches the part it has");
    let r = search(&c, json!({"filter": "not (userName pr)"})).await?;
    assert_eq!(names(&r), ["Alpha", "Charlie"], "groups have no userName");
    let r = search(&c, json!({"filter": "displayName sw \"C\" or displayName sw \"D\""})).await?;
    assert_eq!(names(&r), ["d-user", "Charlie"], "an attribute both types have");
    c.create_user("e-user", json!({"emails": [{"value": "e@example.com", "type": "work"}]})).await?;
    let r = search(&c, json!({"filter": "emails[type eq \"work\"].value co \"@\" or members pr"})).await?;
    assert_eq!(names(&r), ["e-user"], "an inexact plan, re-checked by the engine with members absent from users");
    let r = search(&c, json!({"filter": "shoeSize eq 7"})).await?;
    r.assert_error(400, Some("invalidFilter"), "shoeSize");
    let r = search(&c, json!({"filter": "userName eq"})).await?;
    r.assert_error(400, Some("invalidFilter"), "");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_4_2_4_a_root_page_is_taken_across_both_types() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    seed(&c).await?;
    let r = c.get("?startIndex=2&count=2").await?;
    assert_eq!(names(&r), ["d-user", "Alpha"]);
    assert_eq!((r.json["totalResults"].as_i64(), r.json["startIndex"].as_i64()), (Some(4), Some(2)));
    let r = search(&c, json!({"startIndex": 4, "count": 10})).await?;
    assert_eq!(names(&r), ["Charlie"]);
    let r = search(&c, json!({"count": 0})).await?;
    assert_eq!((names(&r).len(), r.json["totalResults"].as_i64()), (0, Some(4)));
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_4_2_3_a_root_query_sorts_across_both_types() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    seed(&c).await?;
    let r = search(&c, json!({"sortBy": "displayName"})).await?;
    assert_eq!(names(&r), ["Alpha", "b-user", "Charlie", "d-user"], "Alpha, Bravo, Charlie, Delta");
    let r =
        search(&c, json!({"sortBy": "displayName", "sortOrder": "descending", "startIndex": 2, "count": 2})).await?;
    assert_eq!(names(&r), ["Charlie", "b-user"]);
    let r = search(&c, json!({"sortBy": "userName"})).await?;
    assert_eq!(names(&r), ["b-user", "d-user", "Alpha", "Charlie"], "groups have no userName: they come last");
    Ok(())
}

#[tokio::test]
async fn a_root_query_shows_only_the_types_the_token_may_list() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    seed(&c).await?;
    let groups_only = c.with_token(Some(server.token(server.realm_id("r")?, &["query-groups"])?));
    assert_eq!(names(&groups_only.get("/").await?), ["Alpha", "Charlie"]);
    let discovery_only = c.with_token(Some(server.token(server.realm_id("r")?, &["view-realm"])?));
    assert_eq!(discovery_only.get("/").await?.status, 403);
    assert_eq!(c.with_token(None).get("/").await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn rfc9865_a_cursor_at_the_root_is_refused_with_400() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let r = c.get("?cursor=").await?;
    r.assert_error(400, Some("invalidValue"), "startIndex");
    Ok(())
}

#[tokio::test]
async fn a_sorted_root_query_deeper_than_ten_pages_is_400_too_many() -> Result<()> {
    let server = Server::start_with(|s| s.max_results = 10).await?;
    let c = server.realm("r", "strict", &["query-groups"])?;
    let r = search(&c, json!({"sortBy": "displayName", "startIndex": 95, "count": 10})).await?;
    r.assert_error(400, Some("tooMany"), "at most 100");
    let r = search(&c, json!({"sortBy": "displayName", "startIndex": i64::MAX, "count": 10})).await?;
    r.assert_error(400, Some("tooMany"), "at most 100");
    let r = search(&c, json!({"sortBy": "displayName", "startIndex": 91, "count": 10})).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    Ok(())
}

#[tokio::test]
async fn a_root_sort_by_an_attribute_no_type_has_is_400() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let r = search(&c, json!({"sortBy": "shoeSize"})).await?;
    r.assert_error(400, Some("invalidValue"), "shoeSize");
    Ok(())
}
