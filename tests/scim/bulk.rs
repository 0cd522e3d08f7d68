//! `POST /Bulk` (RFC 7644 §3.7): operations in one request, each atomic, `bulkId` references
//! resolved in any order, `failOnErrors`, `version` as `If-Match`, and the limits the
//! `ServiceProviderConfig` advertises.

use anyhow::Result;
use scimd_tests::{Client, Resp, Server, q};
use serde_json::{Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn create_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
           "data": {"schemas": [USER], "userName": user_name}})
}

fn create_group(bulk_id: &str, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"schemas": [GROUP], "displayName": name, "members": members}})
}

async fn bulk(c: &Client, operations: Vec<Value>, fail_on_errors: Option<u32>) -> Result<Resp> {
    let mut body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    c.post("/Bulk", &body).await
}

/// The answers of a bulk response, in order.
fn answers(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["schemas"], json!([BULK_RESPONSE]));
    r.json["Operations"].as_array().cloned().unwrap_or_default()
}

fn statuses(r: &Resp) -> Vec<String> {
    answers(r).iter().map(|o| o["status"].as_str().unwrap_or("?").to_string()).collect()
}

fn id_at(answer: &Value) -> String {
    answer["location"].as_str().and_then(|l| l.rsplit('/').next()).unwrap_or_default().to_string()
}

async fn user_exists(c: &Client, user_name: &str) -> Result<bool> {
    Ok(c.ids(&format!("/Users?filter={}", q(&format!("userName eq \"{user_name}\"")))).await?.0 == 1)
}

async fn member_ids(c: &Client, group_id: &str) -> Result<Vec<String>> {
    let g = c.get(&format!("/Groups/{group_id}")).await?;
    let mut ids: Vec<String> = g.json["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.sort();
    Ok(ids)
}

#[tokio::test]
async fn rfc7644_3_7_each_operation_answers_with_method_bulk_id_location_version_and_status() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let existing = c.create_user("old", json!({})).await?;
    let r = bulk(
        &c,
        vec![
            create_user("a", "alice"),
            json!({"method": "PUT", "path": format!("/Users/{existing}"),
                   "data": {"schemas": [USER], "userName": "old", "title": "Guide"}}),
            json!({"method": "PATCH", "path": format!("/Users/{existing}"),
                   "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}}),
            json!({"method": "DELETE", "path": format!("/Users/{existing}")}),
        ],
        None,
    )
    .await?;
    let a = answers(&r);
    assert_eq!(statuses(&r), ["201", "200", "200", "204"]);
    assert_eq!((a[0]["method"].as_str(), a[0]["bulkId"].as_str()), (Some("POST"), Some("a")));
    assert_eq!(a[0]["version"], "W/\"1\"");
    let alice = c.get(a[0]["location"].as_str().unwrap_or_default()).await?;
    assert_eq!((alice.status, alice.json["userName"].as_str()), (200, Some("alice")), "location names the new user");
    assert_eq!(a[1]["version"], "W/\"2\"");
    assert_eq!(a[2]["version"], "W/\"3\"", "operations on one resource run in the request's order");
    assert!(a[1].get("response").is_none(), "no body for a success");
    assert_eq!(c.get(&format!("/Users/{existing}")).await?.status, 404, "the DELETE ran last");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_2_a_group_names_members_that_operations_after_it_create() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let r = bulk(
        &c,
        vec![
            create_group("g", "Tour Guides", &["bulkId:alice", "bulkId:bob"]),
            create_user("alice", "alice"),
            create_user("bob", "bob"),
        ],
        None,
    )
    .await?;
    assert_eq!(statuses(&r), ["201", "201", "201"]);
    let a = answers(&r);
    let mut expected = vec![id_at(&a[1]), id_at(&a[2])];
    expected.sort();
    assert_eq!(member_ids(&c, &id_at(&a[0])).await?, expected, "the forward references became the users' ids");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_2_a_backward_bulk_id_reference_names_the_created_resource_in_data_and_path() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:bob"}]}]});
    let r = bulk(
        &c,
        vec![
            create_user("alice", "alice"),
            create_user("bob", "bob"),
            create_group("g", "Guides", &["bulkId:alice"]),
            json!({"method": "PATCH", "path": "/Groups/bulkId:g", "data": add}),
        ],
        None,
    )
    .await?;
    assert_eq!(statuses(&r), ["201", "201", "201", "200"]);
    let a = answers(&r);
    assert_eq!(id_at(&a[3]), id_at(&a[2]), "the PATCH's location is the group created");
    let mut expected = vec![id_at(&a[0]), id_at(&a[1])];
    expected.sort();
    assert_eq!(member_ids(&c, &id_at(&a[2])).await?, expected);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_2_a_circular_bulk_id_reference_is_refused_with_409_and_nothing_of_it_is_created() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let r = bulk(
        &c,
        vec![create_user("u", "alice"), create_group("a", "A", &["bulkId:b"]), create_group("b", "B", &["bulkId:a"])],
        None,
    )
    .await?;
    assert_eq!(statuses(&r), ["201", "409", "409"]);
    let a = answers(&r);
    let detail = a[1]["response"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("circular") && detail.contains("\"a\" → \"b\" → \"a\""), "{detail}");
    assert_eq!(a[1]["response"]["status"], "409");
    assert_eq!(c.ids("/Groups").await?.0, 0, "neither group was created");
    assert!(user_exists(&c, "alice").await?, "the operation outside the cycle ran");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_2_an_operation_referring_to_a_failed_one_fails_with_409() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let bad = json!({"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER]}});
    let r = bulk(&c, vec![bad, create_group("g", "G", &["bulkId:u"])], None).await?;
    assert_eq!(statuses(&r), ["400", "409"]);
    let a = answers(&r);
    assert_eq!(a[0]["response"]["scimType"], "invalidValue", "{}", a[0]);
    assert!(a[1]["response"]["detail"].as_str().unwrap_or_default().contains("bulkId:u"), "{}", a[1]);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_3_a_failing_operation_among_good_ones_leaves_the_good_ones_committed() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    c.create_user("taken", json!({})).await?;
    let r = bulk(
        &c,
        vec![
            create_user("1", "one"),
            create_user("2", "taken"),
            json!({"method": "POST", "path": "/Users", "bulkId": "3", "data": {"schemas": [USER], "userName": 7}}),
            json!({"method": "GET", "path": "/Users", "bulkId": "4"}),
            create_user("5", "five"),
        ],
        None,
    )
    .await?;
    assert_eq!(statuses(&r), ["201", "409", "400", "400", "201"]);
    let a = answers(&r);
    assert_eq!(a[1]["response"]["scimType"], "uniqueness");
    assert_eq!(a[3]["method"], "GET", "a refused operation is still named as sent");
    assert!(user_exists(&c, "one").await? && user_exists(&c, "five").await?);
    assert_eq!(c.ids("/Users").await?.0, 3, "nothing of the failed operations was written");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_3_fail_on_errors_1_stops_after_the_first_error() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let bad = json!({"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER]}});
    let r = bulk(&c, vec![create_user("1", "one"), bad, create_user("3", "three")], Some(1)).await?;
    assert_eq!(statuses(&r), ["201", "400"], "the operations after the limit are not run nor answered");
    assert!(user_exists(&c, "one").await?);
    assert!(!user_exists(&c, "three").await?);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_3_fail_on_errors_2_runs_on_until_the_second_error() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let bad = |b: &str| json!({"method": "POST", "path": "/Users", "bulkId": b, "data": {"schemas": [USER]}});
    let r = bulk(
        &c,
        vec![bad("x"), create_user("2", "two"), bad("y"), create_user("4", "four"), create_user("5", "five")],
        Some(2),
    )
    .await?;
    assert_eq!(statuses(&r), ["400", "201", "400"]);
    assert!(user_exists(&c, "two").await?);
    assert!(!user_exists(&c, "four").await? && !user_exists(&c, "five").await?);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_1_a_version_mismatch_fails_the_operation_with_412_and_a_match_applies_it() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({})).await?;
    let put = |version: &str, title: &str| {
        json!({"method": "PUT", "path": format!("/Users/{id}"), "version": version,
               "data": {"schemas": [USER], "userName": "bjensen", "title": title}})
    };
    let delete = json!({"method": "DELETE", "path": format!("/Users/{id}"), "version": "W/\"1\""});
    let r = bulk(&c, vec![put("W/\"7\"", "Stale"), put("W/\"1\"", "Fresh"), delete], None).await?;
    assert_eq!(statuses(&r), ["412", "200", "412"], "the DELETE names the version the PUT replaced");
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json["title"], "Fresh");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_4_more_operations_than_max_operations_is_413() -> Result<()> {
    let server = Server::start_with(|s| s.max_operations = 2).await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let spc = c.get("/ServiceProviderConfig").await?;
    assert_eq!(spc.json["bulk"]["maxOperations"], 2);
    let r = bulk(&c, vec![create_user("1", "one"), create_user("2", "two"), create_user("3", "three")], None).await?;
    r.assert_error(413, None, "at most 2");
    assert_eq!(c.ids("/Users").await?.0, 0, "nothing ran");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_4_a_payload_over_max_payload_size_is_413() -> Result<()> {
    let server = Server::start_with(|s| s.max_body = 600).await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let spc = c.get("/ServiceProviderConfig").await?;
    assert_eq!(spc.json["bulk"]["maxPayloadSize"], 600);
    let ops = (0..10).map(|i| create_user(&i.to_string(), &format!("user{i}"))).collect();
    let r = bulk(&c, ops, None).await?;
    r.assert_error(413, None, "600 bytes");
    assert_eq!(c.ids("/Users").await?.0, 0, "nothing ran");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_service_provider_config_says_bulk_is_supported() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let bulk = c.get("/ServiceProviderConfig").await?.json["bulk"].clone();
    assert_eq!(bulk, json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576}));
    Ok(())
}

#[tokio::test]
async fn a_read_only_token_cannot_write_through_bulk() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["view-users"])?;
    let r = bulk(&c, vec![create_user("1", "one")], None).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    let anonymous = c.with_token(None);
    assert_eq!(bulk(&anonymous, vec![create_user("1", "one")], None).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_a_bulk_request_without_its_schema_or_operations_is_400() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let r = c.post("/Bulk", &json!({"Operations": []})).await?;
    r.assert_error(400, Some("invalidSyntax"), BULK_REQUEST);
    let r = c.post("/Bulk", &json!({"schemas": [BULK_REQUEST]})).await?;
    r.assert_error(400, Some("invalidSyntax"), "Operations");
    let op = create_user("same", "one");
    let r = bulk(&c, vec![op.clone(), op], None).await?;
    r.assert_error(400, Some("invalidValue"), "same bulkId");
    let r = c.send("POST", "/Bulk", Some("{".into()), &[]).await?;
    assert_eq!(r.status, 400, "{}", r.text);
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_3_fail_on_errors_runs_nothing_that_one_by_one_execution_would_not_have_reached() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let bad = json!({"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER]}});
    let patch = json!({"method": "PATCH", "path": "/Users/bulkId:u",
                       "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}});
    let r = bulk(&c, vec![bad, patch, create_user("v", "victor")], Some(2)).await?;
    assert_eq!(statuses(&r), ["400", "409"], "the PATCH fails second: the request ends before the third");
    assert!(!user_exists(&c, "victor").await?, "nothing after the limit was written");
    Ok(())
}

#[tokio::test]
async fn rfc7644_3_7_2_an_operation_waiting_on_a_cycle_fails_as_referring_to_a_failed_one() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let r = bulk(
        &c,
        vec![
            create_group("outside", "Outside", &["bulkId:a"]),
            create_group("a", "A", &["bulkId:b"]),
            create_group("b", "B", &["bulkId:a"]),
        ],
        None,
    )
    .await?;
    assert_eq!(statuses(&r), ["409", "409", "409"]);
    let a = answers(&r);
    let outside = a[0]["response"]["detail"].as_str().unwrap_or_default();
    assert!(outside.contains("failed") && !outside.contains("circular"), "{outside}");
    assert!(a[1]["response"]["detail"].as_str().unwrap_or_default().contains("circular"), "{}", a[1]);
    Ok(())
}
