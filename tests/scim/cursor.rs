//! RFC 9865 cursor pagination: `cursor` (empty for the first page), `nextCursor` on every page
//! but the last, `previousCursor` back, the `pagination` block of `ServiceProviderConfig`,
//! and `invalidCursor` / `expiredCursor` for cursors that are tampered with, belong to another
//! realm or query, or are too old. Pages are keyset-based: they stay exact while users are
//! created and deleted between them.

use std::collections::HashSet;

use anyhow::{Result, ensure};
use scimd_tests::{Client, Resp, Server, q};
use serde_json::json;

/// The `id`s of a page.
fn ids(r: &Resp) -> Vec<String> {
    r.json["Resources"].as_array().into_iter().flatten().filter_map(|x| x["id"].as_str().map(str::to_string)).collect()
}

/// Follows `nextCursor` from the first page of `query` (which names no cursor), `count` at a
/// time; returns every page.
async fn walk(c: &Client, path: &str, query: &str, count: usize) -> Result<Vec<Resp>> {
    let sep = if query.is_empty() { "" } else { "&" };
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = c.get(&format!("{path}?{query}{sep}count={count}&cursor={cursor}")).await?;
        ensure!(r.status == 200, "{} {}", r.status, r.text);
        let next = r.json["nextCursor"].as_str().map(str::to_string);
        pages.push(r);
        match next {
            Some(n) => cursor = n,
            None => return Ok(pages),
        }
        ensure!(pages.len() < 1000, "paging does not end");
    }
}

fn all_ids(pages: &[Resp]) -> Vec<String> {
    pages.iter().flat_map(ids).collect()
}

async fn users(c: &Client, n: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for i in 0..n {
        // Titles for every third user only, so that sorts meet missing values.
        let extra = if i % 3 == 0 { json!({}) } else { json!({"title": format!("t{}", (i * 7) % 5)}) };
        out.push(c.create_user(&format!("user{i:02}"), extra).await?);
    }
    Ok(out)
}

#[tokio::test]
async fn cursor_pages_cover_every_user_once_in_order() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let created = users(&c, 11).await?;
    let pages = walk(&c, "/Users", "", 4).await?;
    assert_eq!(pages.len(), 3);
    assert_eq!(all_ids(&pages), created);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p.json["itemsPerPage"], ids(p).len());
        assert_eq!(p.json["totalResults"], 11, "the realm's count is kept: cheap to tell on every page");
        assert!(p.json.get("startIndex").is_none(), "a cursor page has no startIndex");
        assert_eq!(p.json.get("nextCursor").is_some(), i < 2, "nextCursor on every page but the last");
        assert_eq!(p.json.get("previousCursor").is_some(), i > 0, "previousCursor on every page but the first");
    }
    Ok(())
}

#[tokio::test]
async fn an_exactly_full_last_page_has_no_next_cursor() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let created = users(&c, 8).await?;
    let pages = walk(&c, "/Users", "", 4).await?;
    assert_eq!(pages.len(), 2, "no empty third page");
    assert_eq!(all_ids(&pages), created);
    Ok(())
}

#[tokio::test]
async fn cursor_pages_follow_the_sort_order_with_missing_values_last() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 13).await?;
    for sort in [
        "sortBy=userName",
        "sortBy=userName&sortOrder=descending",
        "sortBy=title",
        "sortBy=title&sortOrder=descending",
        "sortBy=meta.created&sortOrder=descending",
        "sortBy=meta.lastModified",
        "sortBy=externalId",
        "sortBy=emails.value",
        "sortBy=name.familyName&sortOrder=descending",
    ] {
        // The index listing in one page is the reference order.
        let whole = c.get(&format!("/Users?{sort}")).await?;
        assert_eq!(whole.status, 200, "{sort}: {}", whole.text);
        let pages = walk(&c, "/Users", sort, 3).await?;
        assert_eq!(all_ids(&pages), ids(&whole), "{sort}");
    }
    // Missing values come last ascending, first descending (RFC 7644 §3.4.2.3).
    let titles = |r: &Resp| -> Vec<Option<String>> {
        r.json["Resources"].as_array().into_iter().flatten().map(|u| u["title"].as_str().map(str::to_string)).collect()
    };
    let asc = titles(&c.get("/Users?sortBy=title").await?);
    assert!(asc[..8].iter().all(Option::is_some) && asc[8..].iter().all(Option::is_none), "{asc:?}");
    assert!(asc[..8].windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    let desc = titles(&c.get("/Users?sortBy=title&sortOrder=descending").await?);
    assert!(desc[..5].iter().all(Option::is_none) && desc[5..].iter().all(Option::is_some), "{desc:?}");
    assert!(desc[5..].windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    Ok(())
}

#[tokio::test]
async fn previous_cursor_returns_the_page_before() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 10).await?;
    for sort in ["", "sortBy=title&sortOrder=descending"] {
        let forward = walk(&c, "/Users", sort, 3).await?;
        let sep = if sort.is_empty() { "" } else { "&" };
        // From the last page back to the first, by previousCursor.
        let mut back = vec![ids(&forward[forward.len() - 1])];
        let mut previous = forward[forward.len() - 1].json["previousCursor"].as_str().map(str::to_string);
        while let Some(p) = previous {
            let r = c.get(&format!("/Users?{sort}{sep}count=3&cursor={p}")).await?;
            assert_eq!(r.status, 200, "{}", r.text);
            assert!(r.json.get("nextCursor").is_some(), "a page read backwards has a next page");
            back.push(ids(&r));
            previous = r.json["previousCursor"].as_str().map(str::to_string);
        }
        back.reverse();
        assert_eq!(back, forward.iter().map(ids).collect::<Vec<_>>(), "{sort}");
    }
    Ok(())
}

#[tokio::test]
async fn filtered_cursor_pages_page_the_matches() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 12).await?;
    for filter in [
        // Exact in SQL.
        r#"userName sw "user0""#,
        // Inexact: re-checked by the engine.
        r#"not (emails[type eq "work"]) and userName sw "user0""#,
    ] {
        let query = format!("filter={}&sortBy=userName&sortOrder=descending", q(filter));
        let whole = c.get(&format!("/Users?{query}")).await?;
        assert_eq!(whole.json["totalResults"], 10);
        let pages = walk(&c, "/Users", &query, 3).await?;
        assert_eq!(pages.len(), 4);
        assert_eq!(all_ids(&pages), ids(&whole), "{filter}");
        // A filtered total would cost a count of every match on every page: it is left out
        // (RFC 9865 §2.2), and asked for with count=0.
        assert!(pages[0].json.get("totalResults").is_none());
        let total = c.get(&format!("/Users?{query}&count=0&cursor=")).await?;
        assert_eq!(total.json["totalResults"], 10);
    }
    Ok(())
}

#[tokio::test]
async fn cursor_paging_is_stable_under_concurrent_inserts_and_deletes() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let created = users(&c, 30).await?;
    for sort in ["", "sortBy=userName", "sortBy=title&sortOrder=descending"] {
        let sep = if sort.is_empty() { "" } else { "&" };
        let mut alive: Vec<String> = c.ids(&format!("/Users?{sort}")).await?.1;
        let mut deleted = HashSet::new();
        let mut seen = Vec::new();
        let mut cursor = String::new();
        let mut step = 0;
        loop {
            let r = c.get(&format!("/Users?{sort}{sep}count=4&cursor={cursor}")).await?;
            assert_eq!(r.status, 200, "{}", r.text);
            seen.extend(ids(&r));
            // Between pages: delete one user not seen yet and one seen, and create two, one
            // sorting early and one late.
            step += 1;
            if let Some(unseen) = alive.iter().rev().find(|id| !seen.contains(id)).cloned() {
                assert_eq!(c.delete(&format!("/Users/{unseen}")).await?.status, 204);
                deleted.insert(unseen);
            }
            if let Some(old) = seen.iter().find(|id| !deleted.contains(*id)).cloned() {
                assert_eq!(c.delete(&format!("/Users/{old}")).await?.status, 204);
                deleted.insert(old);
            }
            alive.retain(|id| !deleted.contains(id));
            c.create_user(&format!("aaa-{sort}-{step}"), json!({"title": "a"})).await?;
            c.create_user(&format!("zzz-{sort}-{step}"), json!({"title": "z"})).await?;
            match r.json["nextCursor"].as_str() {
                Some(n) => cursor = n.to_string(),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: no user seen twice");
        for id in &alive {
            if created.contains(id) {
                assert!(seen.contains(id), "{sort}: {id} existed throughout and was not seen");
            }
        }
        // Clear the users made during this walk, so that the next sort starts alike.
        for id in c.ids("/Users?count=1000").await?.1 {
            if !created.contains(&id) {
                c.delete(&format!("/Users/{id}")).await?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn search_pages_by_cursor_in_its_body() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let created = users(&c, 5).await?;
    let search = |cursor: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"user\"",
            "count": 3,
            "cursor": cursor,
        })
    };
    let first = c.post("/Users/.search", &search("")).await?;
    assert_eq!(first.status, 200, "{}", first.text);
    let next = first.json["nextCursor"].as_str().unwrap_or_default().to_string();
    let second = c.post("/Users/.search", &search(&next)).await?;
    assert_eq!(second.status, 200, "{}", second.text);
    assert!(second.json.get("nextCursor").is_none());
    assert_eq!([ids(&first), ids(&second)].concat(), created);
    // A cursor of the search is one of its query, whichever way the query is sent.
    let r = c.get(&format!("/Users?filter={}&count=3&cursor={next}", q("userName sw \"user\""))).await?;
    assert_eq!(ids(&r), ids(&second));
    Ok(())
}

#[tokio::test]
async fn groups_page_by_cursor() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(c.create_group(&format!("g{i}"), &[]).await?);
    }
    let pages = walk(&c, "/Groups", "sortBy=displayName&sortOrder=descending&excludedAttributes=members", 2).await?;
    created.reverse();
    assert_eq!(all_ids(&pages), created);
    Ok(())
}

#[tokio::test]
async fn service_provider_config_advertises_both_paginations() -> Result<()> {
    let server = Server::start_with(|s| s.cursor_timeout = std::time::Duration::from_secs(120)).await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let spc = c.get("/ServiceProviderConfig").await?;
    let p = &spc.json["pagination"];
    assert_eq!(p["cursor"], true);
    assert_eq!(p["index"], true);
    assert_eq!(p["defaultPaginationMethod"], "index", "clients that know only startIndex keep working");
    assert_eq!(p["maxPageSize"], spc.json["filter"]["maxResults"]);
    assert_eq!(p["defaultPageSize"], p["maxPageSize"]);
    assert_eq!(p["cursorTimeout"], 120);
    Ok(())
}

#[tokio::test]
async fn a_tampered_cursor_is_invalid_cursor() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 4).await?;
    let first = c.get("/Users?count=2&cursor=").await?;
    let cursor = first.json["nextCursor"].as_str().unwrap_or_default().to_string();
    let mut bytes = cursor.clone().into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes)?;
    for bad in [tampered.as_str(), "not-a-cursor", "!!!", &cursor[..cursor.len() - 4], &"A".repeat(5000)] {
        c.get(&format!("/Users?count=2&cursor={}", q(bad))).await?.assert_error(400, Some("invalidCursor"), "cursor");
    }
    // The genuine one still works.
    assert_eq!(c.get(&format!("/Users?count=2&cursor={cursor}")).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_cursor_of_another_realm_is_invalid_cursor() -> Result<()> {
    let server = Server::start().await?;
    let a = server.realm("a", "entra", &["manage-users"])?;
    let b = server.realm("b", "entra", &["manage-users"])?;
    users(&a, 4).await?;
    users(&b, 4).await?;
    let cursor = a.get("/Users?count=2&cursor=").await?.json["nextCursor"].as_str().unwrap_or_default().to_string();
    b.get(&format!("/Users?count=2&cursor={cursor}")).await?.assert_error(400, Some("invalidCursor"), "another query");
    // Nor does a Users cursor page Groups.
    a.get(&format!("/Groups?count=2&cursor={cursor}")).await?.assert_error(400, Some("invalidCursor"), "another query");
    Ok(())
}

#[tokio::test]
async fn a_cursor_with_a_changed_filter_or_sort_is_invalid_cursor() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 4).await?;
    let first = c.get(&format!("/Users?count=2&cursor=&filter={}", q("userName sw \"user\""))).await?;
    let cursor = first.json["nextCursor"].as_str().unwrap_or_default().to_string();
    for changed in [
        format!("filter={}", q("userName sw \"use\"")),
        format!("filter={}&sortBy=userName", q("userName sw \"user\"")),
        format!("filter={}&sortOrder=descending", q("userName sw \"user\"")),
        String::new(),
    ] {
        c.get(&format!("/Users?{changed}&count=2&cursor={cursor}")).await?.assert_error(
            400,
            Some("invalidCursor"),
            "another query",
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_old_cursor_is_expired_cursor() -> Result<()> {
    let server = Server::start_with(|s| s.cursor_timeout = std::time::Duration::from_secs(1)).await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 4).await?;
    let cursor = c.get("/Users?count=2&cursor=").await?.json["nextCursor"].as_str().unwrap_or_default().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    c.get(&format!("/Users?count=2&cursor={cursor}")).await?.assert_error(400, Some("expiredCursor"), "cursorTimeout");
    Ok(())
}

#[tokio::test]
async fn start_index_and_cursor_together_are_400() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.get("/Users?startIndex=1&cursor=").await?.assert_error(400, Some("invalidValue"), "startIndex");
    Ok(())
}

#[tokio::test]
async fn cursors_outlive_a_restart() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let created = users(&c, 4).await?;
    let cursor = c.get("/Users?count=2&cursor=").await?.json["nextCursor"].as_str().unwrap_or_default().to_string();
    let server = server.restart().await?;
    let token = server.token(server.realm_id("r")?, &["manage-users"])?;
    let c = Client::new(server.url("/realms/r/scim/v2"), Some(token));
    let r = c.get(&format!("/Users?count=2&cursor={cursor}")).await?;
    assert_eq!(r.status, 200, "the sealing key is kept in the database: {}", r.text);
    assert_eq!(ids(&r), created[2..]);
    Ok(())
}

#[tokio::test]
async fn long_sort_values_keep_cursors_short_and_paging_exact() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    // Titles that share their first 3000 characters: a cursor carries only their start.
    let shared = "t".repeat(3000);
    let mut made = Vec::new();
    for (i, end) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        made.push(c.create_user(&format!("u{i}"), json!({"title": format!("{shared}{end}")})).await?);
    }
    for sort in ["sortBy=title", "sortBy=title&sortOrder=descending"] {
        let whole = c.get(&format!("/Users?{sort}")).await?;
        let pages = walk(&c, "/Users", sort, 1).await?;
        assert_eq!(all_ids(&pages), ids(&whole), "{sort}");
        for p in &pages {
            assert!(p.json["nextCursor"].as_str().map_or(0, str::len) < 1024, "{sort}: cursors stay short");
        }
    }
    // The row a cursor points at is deleted: the walk goes on from the value's start, and
    // skips nobody.
    for (sort, first, then) in [("sortBy=title", 0, 1), ("sortBy=title&sortOrder=descending", 4, 3)] {
        let r = c.get(&format!("/Users?{sort}&count=1&cursor=")).await?;
        assert_eq!(ids(&r), [made[first].clone()], "{sort}");
        let next = r.json["nextCursor"].as_str().unwrap_or_default().to_string();
        assert_eq!(c.delete(&format!("/Users/{}", made[first])).await?.status, 204);
        let r = c.get(&format!("/Users?{sort}&count=1&cursor={next}")).await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids(&r), [made[then].clone()], "{sort}");
    }
    Ok(())
}

#[tokio::test]
async fn a_previous_cursor_with_nothing_left_before_it_gives_the_first_page() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    users(&c, 6).await?;
    for filter in ["", r#"&filter=not (emails[type eq "work"])"#] {
        let filter = filter.replace(' ', "%20").replace('"', "%22").replace('[', "%5B").replace(']', "%5D");
        let first = c.get(&format!("/Users?count=2&cursor={filter}")).await?;
        let next = first.json["nextCursor"].as_str().unwrap_or_default().to_string();
        let second = c.get(&format!("/Users?count=2&cursor={next}{filter}")).await?;
        let previous = second.json["previousCursor"].as_str().unwrap_or_default().to_string();
        // The whole first page is deleted meanwhile.
        for id in ids(&first) {
            assert_eq!(c.delete(&format!("/Users/{id}")).await?.status, 204);
        }
        let back = c.get(&format!("/Users?count=2&cursor={previous}{filter}")).await?;
        assert_eq!(back.status, 200, "{}", back.text);
        assert_eq!(ids(&back), ids(&second), "the first page of what is left");
        assert!(back.json.get("nextCursor").is_some());
        // Put the realm back as it was for the next filter.
        for id in c.ids("/Users").await?.1 {
            c.delete(&format!("/Users/{id}")).await?;
        }
        users(&c, 6).await?;
    }
    Ok(())
}
