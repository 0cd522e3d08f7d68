//! RFC 7644 §3.4.2.4 pagination: 1-based `startIndex`, `count=0` for totals only, exact
//! `totalResults`, pages beyond the end, and the advertised maximum page size enforced.

use anyhow::Result;
use scimd_tests::{Client, Server, q};
use serde_json::json;

async fn users(c: &Client, n: usize) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            c.create_user(&format!("user{i:02}"), json!({"title": if i % 2 == 0 { "even" } else { "odd" }})).await?,
        );
    }
    Ok(ids)
}

#[tokio::test]
async fn pages_are_one_based_and_do_not_overlap() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let ids = users(&c, 11).await?;
    let mut seen = Vec::new();
    for page in 0..3 {
        let start = page * 5 + 1;
        let r = c.get(&format!("/Users?startIndex={start}&count=5")).await?;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["startIndex"], start);
        assert_eq!(r.json["totalResults"], 11);
        let n = r.json["Resources"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(r.json["itemsPerPage"], n);
        seen.extend(
            r.json["Resources"].as_array().into_iter().flatten().filter_map(|u| u["id"].as_str().map(str::to_string)),
        );
    }
    assert_eq!(seen, ids, "pages cover every user once, in order");
    Ok(())
}

#[tokio::test]
async fn start_index_below_one_is_treated_as_one() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let ids = users(&c, 3).await?;
    for start in ["0", "-7"] {
        let r = c.get(&format!("/Users?startIndex={start}&count=1")).await?;
        assert_eq!(r.json["startIndex"], 1);
        assert_eq!(r.json["Resources"][0]["id"], ids[0]);
    }
    Ok(())
}

#[tokio::test]
async fn count_zero_returns_only_the_total() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 4).await?;
    let r = c.get(&format!("/Users?count=0&filter={}", q(r#"title eq "even""#))).await?;
    assert_eq!(r.json["totalResults"], 2);
    assert_eq!(r.json["itemsPerPage"], 0);
    assert_eq!(r.json["Resources"], json!([]));
    let r = c.get("/Users?count=-3").await?;
    assert_eq!(r.json["totalResults"], 4);
    assert_eq!(r.json["itemsPerPage"], 0);
    Ok(())
}

#[tokio::test]
async fn start_index_beyond_the_end_is_an_empty_page_with_the_total() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 3).await?;
    let r = c.get("/Users?startIndex=10&count=5").await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["totalResults"], 3);
    assert_eq!(r.json["startIndex"], 10);
    assert_eq!(r.json["Resources"], json!([]));
    Ok(())
}

#[tokio::test]
async fn total_results_counts_all_matches_not_the_page() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 10).await?;
    let r = c.get(&format!("/Users?startIndex=2&count=2&filter={}", q(r#"title eq "odd""#))).await?;
    assert_eq!(r.json["totalResults"], 5);
    assert_eq!(r.json["itemsPerPage"], 2);
    assert_eq!(r.json["Resources"][0]["userName"], "user03");
    // The same through an inexact plan, re-checked by the engine.
    let r = c
        .get(&format!("/Users?startIndex=2&count=2&filter={}", q(r#"not (emails[type eq "work"]) and title eq "odd""#)))
        .await?;
    assert_eq!(r.json["totalResults"], 5);
    assert_eq!(r.json["Resources"][0]["userName"], "user03");
    Ok(())
}

#[tokio::test]
async fn page_size_is_capped_at_the_advertised_maximum() -> Result<()> {
    let server = Server::start_with(|s| s.max_results = 3).await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 5).await?;
    let spc = c.get("/ServiceProviderConfig").await?;
    assert_eq!(spc.json["filter"]["maxResults"], 3);
    let r = c.get("/Users?count=100").await?;
    assert_eq!(r.json["itemsPerPage"], 3);
    assert_eq!(r.json["totalResults"], 5);
    let r = c.get("/Users").await?;
    assert_eq!(r.json["itemsPerPage"], 3, "the maximum is also the default");
    Ok(())
}

#[tokio::test]
async fn non_numeric_paging_is_400() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.get("/Users?count=ten").await?.assert_error(400, Some("invalidValue"), "count");
    c.get("/Users?startIndex=1.5").await?.assert_error(400, Some("invalidValue"), "startIndex");
    Ok(())
}

#[tokio::test]
async fn sort_by_and_sort_order() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.create_user("b", json!({"name": {"familyName": "Zed"}})).await?;
    c.create_user("C", json!({"name": {"familyName": "Abel"}})).await?;
    c.create_user("a", json!({})).await?;
    let names = |r: &scimd_tests::Resp| -> Vec<String> {
        r.json["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["userName"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(names(&c.get("/Users?sortBy=userName").await?), vec!["a", "b", "C"]);
    assert_eq!(names(&c.get("/Users?sortBy=userName&sortOrder=descending").await?), vec!["C", "b", "a"]);
    assert_eq!(names(&c.get("/Users?sortBy=name.familyName").await?), vec!["C", "b", "a"], "unassigned values last");
    c.get("/Users?sortBy=userName&sortOrder=sideways").await?.assert_error(400, Some("invalidValue"), "sortOrder");
    c.get("/Users?sortBy=nosuch").await?.assert_error(400, Some("invalidValue"), "nosuch");
    Ok(())
}
