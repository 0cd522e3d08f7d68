//! The 20 mistakes other SCIM servers made (`docs/client-behaviours.md` §6), one test (or
//! more) per case, named after it: each asserts the correct behaviour (status, body and
//! stored state) in the realm's default `entra` compatibility mode, unless the case is about
//! RFC behaviour.

use anyhow::{Context, Result};
use scimd_tests::{Client, Resp, Server, q};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SCIM_JSON: &str = "application/scim+json";
/// The Azure group name of SCIM-SDK #913, as a Rust string: `"` and `\` are part of it.
const AZURE_GROUP: &str = r#"TestGrp-!@#$%^&*()_+=-{}][":;'/.,?\1"#;

/// A server and a client of an `entra` realm allowed to manage users.
async fn entra() -> Result<(Server, Client)> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    Ok((server, c))
}

async fn patch_ops(c: &Client, path: &str, ops: Value) -> Result<Resp> {
    c.patch(path, &json!({"schemas": [PATCH], "Operations": ops})).await
}

async fn get(c: &Client, path: &str) -> Result<Value> {
    let r = c.get(path).await?;
    anyhow::ensure!(r.status == 200, "GET {path}: {} {}", r.status, r.text);
    Ok(r.json)
}

/// The sorted ids a filter selects on `/Users` or `/Groups`; `totalResults` must agree.
async fn matching(c: &Client, endpoint: &str, filter: &str) -> Result<Vec<String>> {
    let (total, mut ids) = c.ids(&format!("/{endpoint}?filter={}", q(filter))).await?;
    assert_eq!(total as usize, ids.len(), "totalResults of {filter}");
    ids.sort();
    Ok(ids)
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list["Resources"].as_array().into_iter().flatten().filter_map(|r| r[key].as_str().map(str::to_string)).collect()
}

fn resources(list: &Value) -> Vec<Value> {
    list["Resources"].as_array().cloned().unwrap_or_default()
}

// 1 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_01_patch_op_casing_is_accepted() -> Result<()> {
    let (_s, c) = entra().await?;
    let id = c.create_user("bjensen", json!({"title": "Guide", "nickName": "Babs"})).await?;
    let r = patch_ops(
        &c,
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": "displayName", "value": "Babs Jensen"},
               {"op": "Replace", "path": "title", "value": "Boss"},
               {"op": "Remove", "path": "nickName"},
               {"op": "REPLACE", "path": "active", "value": false}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["displayName"], "Babs Jensen");
    assert_eq!(r.json["title"], "Boss");
    assert!(r.json.get("nickName").is_none(), "{}", r.text);
    assert_eq!(r.json["active"], false);
    assert_eq!(get(&c, &format!("/Users/{id}")).await?, r.json, "the PATCH is stored");

    // The same casing on a group: Entra's membership ops.
    let alice = c.create_user("alice", json!({})).await?;
    let gid = c.create_group("Admins", &[]).await?;
    let path = format!("/Groups/{gid}");
    let r = patch_ops(&c, &path, json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": alice}]}]))
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), vec![alice.clone()]);
    let r = patch_ops(&c, &path, json!([{"op": "Replace", "path": "displayName", "value": "Admins 2"}])).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(get(&c, &path).await?["displayName"], "Admins 2");
    let r = patch_ops(&c, &path, json!([{"op": "Remove", "path": "members", "value": [{"value": alice}]}])).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(get(&c, &path).await?["members"], json!([]));
    Ok(())
}

// 2 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_02_emails_work_value_path_is_a_valid_patch_path_and_creates_the_missing_element() -> Result<()> {
    let (_s, c) = entra().await?;
    let id = c
        .create_user(
            "bjensen",
            json!({"emails": [{"value": "b@work.example", "type": "work", "primary": true},
                                                {"value": "b@home.example", "type": "home"}]}),
        )
        .await?;
    let path = format!("/Users/{id}");
    // E08: Replace on the existing work email changes only its value.
    let r = patch_ops(
        &c,
        &path,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"},
               {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["emails"],
        json!([{"value": "new@work.example", "type": "work", "primary": true},
               {"value": "b@home.example", "type": "home"}])
    );
    assert_eq!(r.json["name"]["familyName"], "updatedFamilyName");
    // E08b: Add with the same path.
    let r =
        patch_ops(&c, &path, json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y.example"}]))
            .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["emails"][0]["value"], "x@y.example");
    assert_eq!(r.json["emails"].as_array().map(Vec::len), Some(2));
    assert_eq!(get(&c, &path).await?, r.json);

    // No element of that type yet: Replace creates {type: work, value: …} (no noTarget).
    let bare = c.create_user("nomail", json!({})).await?;
    let r = patch_ops(
        &c,
        &format!("/Users/{bare}"),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "first@work.example"}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["emails"], json!([{"type": "work", "value": "first@work.example"}]));
    // Only a home email: Add creates the work element next to it.
    let home = c.create_user("homeonly", json!({"emails": [{"value": "h@home.example", "type": "home"}]})).await?;
    let r = patch_ops(
        &c,
        &format!("/Users/{home}"),
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "h@work.example"}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["emails"],
        json!([{"value": "h@home.example", "type": "home"}, {"type": "work", "value": "h@work.example"}])
    );
    // Entra's address and phone updates: one filtered Replace per sub-attribute, building one element.
    let r = patch_ops(
        &c,
        &format!("/Users/{bare}"),
        json!([{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
               {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
               {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": "12345"},
               {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield", "postalCode": "12345"}])
    );
    assert_eq!(r.json["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
    // The created element is what Entra then matches on (E07).
    assert_eq!(matching(&c, "Users", r#"emails[type eq "work"].value eq "first@work.example""#).await?, vec![bare]);
    assert_eq!(matching(&c, "Users", r#"emails[type eq "work"].value eq "h@work.example""#).await?, vec![home]);
    Ok(())
}

// 3 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_03_remove_member_by_value_removes_only_that_member() -> Result<()> {
    let (_s, c) = entra().await?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let carol = c.create_user("carol", json!({})).await?;
    let dave = c.create_user("dave", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice, &bob, &carol]).await?;
    let path = format!("/Groups/{gid}");
    // Entra's default job: path `members` with a value list.
    let r = patch_ops(&c, &path, json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": bob}]}]))
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), sorted(&[&alice, &carol]));
    assert!(get(&c, &format!("/Users/{bob}")).await?.get("groups").is_none());
    assert_eq!(get(&c, &format!("/Users/{alice}")).await?["groups"][0]["value"], gid.as_str());
    // [K]'s shape, and a value naming a user who is not a member: nobody else goes.
    let r = patch_ops(&c, &path, json!([{"op": "Remove", "path": "members", "value": [{"value": dave}]}])).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), sorted(&[&alice, &carol]));
    // With the flag: a value filter.
    let r = patch_ops(&c, &path, json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}])).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), vec![carol.clone()]);
    // Several members and operations in one request.
    let r = patch_ops(
        &c,
        &path,
        json!([{"op": "Add", "path": "members", "value": [{"value": alice}, {"value": bob}, {"value": dave}]},
               {"op": "Remove", "path": "members", "value": [{"value": alice}, {"value": dave}]}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), sorted(&[&bob, &carol]));
    Ok(())
}

// 4 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_04_active_false_string_disables_the_user_and_is_stored_as_a_boolean() -> Result<()> {
    let (_s, c) = entra().await?;
    // [P]: "active": "True" in a POST.
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "bjensen", "active": "True"})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["active"], json!(true));
    let id = r.id();
    let path = format!("/Users/{id}");
    // [K]: the default job disables with the string "False".
    let r = patch_ops(&c, &path, json!([{"op": "Replace", "path": "active", "value": "False"}])).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["active"], json!(false), "a JSON boolean, not the string");
    // The disabled user is still found by the matching filter, with active false.
    let list = get(&c, &format!("/Users?filter={}", q(r#"userName eq "bjensen""#))).await?;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["active"], json!(false));
    assert_eq!(matching(&c, "Users", "active eq false").await?, vec![id.clone()]);
    // Pathless, as the flagged job sends it, and back.
    let r = patch_ops(&c, &path, json!([{"op": "replace", "value": {"active": "true"}}])).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["active"], json!(true));
    // A boolean is not written into a string attribute.
    let before = get(&c, &path).await?;
    patch_ops(&c, &path, json!([{"op": "Replace", "path": "title", "value": false}])).await?.assert_error(
        400,
        Some("invalidValue"),
        "'title' must be a string, not a boolean",
    );
    assert_eq!(get(&c, &path).await?, before);
    Ok(())
}

// 5 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_05_user_name_and_display_name_filters_and_attribute_names_are_case_insensitive() -> Result<()> {
    let (_s, c) = entra().await?;
    // [P]'s capitalised attribute names in a body.
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "UserName": "Alice.Smith",
                    "Name": {"FamilyName": "Smith", "GivenName": "Alice"},
                    "Emails": [{"Value": "alice@work.example", "Type": "work", "Primary": true}],
                    ENTERPRISE: {"Department": "R&D"}}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["userName"], "Alice.Smith");
    assert_eq!(r.json["name"], json!({"familyName": "Smith", "givenName": "Alice"}));
    assert_eq!(r.json["emails"], json!([{"value": "alice@work.example", "type": "work", "primary": true}]));
    assert_eq!(r.json[ENTERPRISE]["department"], "R&D");
    let alice = r.id();
    let bob = c.create_user("bob", json!({})).await?;
    for filter in [
        r#"userName eq "alice.smith""#,
        r#"userName eq "ALICE.SMITH""#,
        r#"userName sw "ALICE""#,
        r#"userName ew "SMITH""#,
        r#"userName co "CE.SM""#,
        r#"UserName eq "alice.smith""#,
        r#"USERNAME EQ "Alice.Smith""#,
        r#"emails[Type eq "work" AND Primary eq true]"#,
        r#"Emails.Value eq "ALICE@work.example""#,
        r#"name.FamilyName eq "smith" aNd userName Sw "a""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:Department eq "r&d""#,
    ] {
        assert_eq!(matching(&c, "Users", filter).await?, vec![alice.clone()], "{filter}");
    }
    assert_eq!(
        matching(&c, "Users", r#"userName eq "BOB" Or userName eq "alice.smith""#).await?,
        sorted(&[&alice, &bob])
    );
    assert_eq!(matching(&c, "Users", r#"NOT (userName sw "ALI")"#).await?, vec![bob.clone()]);

    let g = c.create_group("Sales Team", &[]).await?;
    c.create_group("Support", &[]).await?;
    for filter in [
        r#"displayName eq "sales team""#,
        r#"DisplayName eq "SALES TEAM""#,
        r#"displayName sw "SALES""#,
        r#"displayName ew "TEAM""#,
        r#"displayName co "ES TE""#,
    ] {
        assert_eq!(matching(&c, "Groups", filter).await?, vec![g.clone()], "{filter}");
    }
    // Attribute names in PATCH paths and values.
    let r = patch_ops(
        &c,
        &format!("/Users/{alice}"),
        json!([{"op": "Replace", "path": "Name.FamilyName", "value": "Smith-Jones"},
               {"op": "Add", "path": "PhoneNumbers", "value": [{"Value": "555", "Type": "Work", "Primary": true}]}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"]["familyName"], "Smith-Jones");
    assert_eq!(r.json["phoneNumbers"], json!([{"value": "555", "type": "Work", "primary": true}]));
    Ok(())
}

// 6 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_06_quoted_and_unquoted_filter_values_and_escaped_quotes_and_backslashes_match() -> Result<()> {
    let (_s, c) = entra().await?;
    // The Azure group name, stored and returned exactly as sent.
    let r = c.post("/Groups", &json!({"schemas": [GROUP], "displayName": AZURE_GROUP})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["displayName"], AZURE_GROUP);
    let azure = r.id();
    c.create_group("TestGrp-", &[]).await?;
    c.create_group(r#"TestGrp-!@#$%^&*()_+=-{}][":;'/.,?\2"#, &[]).await?;
    // In a filter, `"` and `\` are escaped as in JSON.
    let literal = serde_json::to_string(AZURE_GROUP)?;
    assert_eq!(literal, r#""TestGrp-!@#$%^&*()_+=-{}][\":;'/.,?\\1""#);
    assert_eq!(matching(&c, "Groups", &format!("displayName eq {literal}")).await?, vec![azure.clone()]);
    assert_eq!(matching(&c, "Groups", r#"displayName ew "?\\1""#).await?, vec![azure.clone()]);
    assert_eq!(matching(&c, "Groups", r#"displayName co "][\":;'""#).await?.len(), 2);
    assert_eq!(get(&c, &format!("/Groups/{azure}")).await?["displayName"], AZURE_GROUP);

    // Quoted and unquoted values (E06; [P]).
    let jyoung = c.create_user("dale.mohr@romaguera.uk", json!({"externalId": "jyoung", "title": "Engineer"})).await?;
    let other = c.create_user("carol", json!({"externalId": "jyoung2", "title": "Engineer \"Lead\" \\ ops"})).await?;
    assert_eq!(matching(&c, "Users", "externalId eq jyoung").await?, vec![jyoung.clone()]);
    assert_eq!(matching(&c, "Users", r#"externalId eq "jyoung""#).await?, vec![jyoung.clone()]);
    assert_eq!(matching(&c, "Users", "userName eq dale.mohr@romaguera.uk").await?, vec![jyoung.clone()]);
    assert_eq!(matching(&c, "Users", "userName sw Dale and title eq Engineer").await?, vec![jyoung.clone()]);
    // The validator's form: `+` for spaces, `%40` for `@`.
    let (total, ids) = c.ids("/Users?filter=userName+eq+%22dale.mohr%40romaguera.uk%22").await?;
    assert_eq!((total, ids), (1, vec![jyoung]));
    // Escaped quotes and backslashes inside values.
    for filter in [
        r#"title eq "Engineer \"Lead\" \\ ops""#,
        r#"title co "\"Lead\"""#,
        r#"title ew "\\ ops""#,
        r#"title sw "engineer \"""#,
    ] {
        assert_eq!(matching(&c, "Users", filter).await?, vec![other.clone()], "{filter}");
    }
    Ok(())
}

// 7 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_07_unparseable_filters_are_400_and_compound_and_group_filters_are_not_ignored() -> Result<()> {
    let (_s, c) = entra().await?;
    let alice = c.create_user("alice", json!({"externalId": "E-1", "title": "Engineer"})).await?;
    let bob = c.create_user("bob", json!({"externalId": "E-2", "title": "Engineer"})).await?;
    c.create_user("carol", json!({"externalId": "E-3", "title": "Manager"})).await?;
    for bad in [
        r#"userName eq "alice" and"#,
        r#"userName eq "alice" or"#,
        r#"(userName eq "alice""#,
        r#"userName eq "alice")"#,
        r#"userName eq "alice" userName eq "bob""#,
        "userName",
        "garbage",
        r#"userName zz "alice""#,
        r#"userName eq "unterminated"#,
        r#"emails[type eq "work""#,
        r#"nosuchattribute eq "x""#,
        r#"not userName eq "alice""#,
    ] {
        let r = c.get(&format!("/Users?filter={}", q(bad))).await?;
        r.assert_error(400, Some("invalidFilter"), "invalid filter");
        assert!(r.json.get("Resources").is_none(), "{bad}: never all rows");
    }
    // Every term of a compound filter counts.
    assert!(matching(&c, "Users", r#"userName eq "alice" and externalId eq "E-2""#).await?.is_empty());
    assert!(matching(&c, "Users", r#"externalId eq "E-2" and userName eq "alice""#).await?.is_empty());
    assert_eq!(matching(&c, "Users", r#"userName eq "alice" and title eq "Engineer""#).await?, vec![alice.clone()]);
    assert_eq!(
        matching(&c, "Users", r#"title eq "Engineer" and externalId eq "E-2" and userName eq "bob""#).await?,
        vec![bob.clone()]
    );
    assert_eq!(matching(&c, "Users", r#"title eq "Engineer" and not (userName eq "alice")"#).await?, vec![bob.clone()]);
    assert_eq!(matching(&c, "Users", r#"userName eq "alice" or userName eq "bob""#).await?, sorted(&[&alice, &bob]));

    // G-E03: a group displayName filter selects that group only.
    let sales = c.create_group("Sales", &[&alice]).await?;
    c.create_group("Sales EMEA", &[&bob]).await?;
    c.create_group("Admins", &[]).await?;
    let list =
        get(&c, &format!("/Groups?excludedAttributes=members&filter={}", q(r#"displayName eq "Sales""#))).await?;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(names(&list, "id"), vec![sales.clone()]);
    assert!(list["Resources"][0].get("members").is_none(), "{list}");
    assert_eq!(matching(&c, "Groups", &format!(r#"members.value eq "{bob}""#)).await?.len(), 1);
    c.get(&format!("/Groups?filter={}", q(r#"displayName eq "Sales" and"#))).await?.assert_error(
        400,
        Some("invalidFilter"),
        "invalid filter",
    );
    Ok(())
}

// 8 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_08_an_empty_search_is_200_with_an_empty_list_response() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let empty = json!({"schemas": [LIST], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []});
    // Entra's Test Connection, before anything exists.
    let guid = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
    for path in [
        format!("/Users?filter={}", q(&format!(r#"userName eq "{guid}""#))),
        format!("/Users?filter={}", q(&format!(r#"externalId eq "{guid}""#))),
        format!("/Users?filter={}", q(r#"emails[type eq "work"].value eq "nobody@contoso.com""#)),
        "/Users".to_string(),
        format!("/Groups?excludedAttributes=members&filter={}", q(r#"displayName eq "nope""#)),
        "/Groups".to_string(),
    ] {
        let r = c.get(&path).await?;
        assert_eq!((r.status, &r.json), (200, &empty), "{path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(SCIM_JSON));
    }
    let r = c
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                             "filter": "userName eq \"nobody\""}),
        )
        .await?;
    assert_eq!((r.status, &r.json), (200, &empty), "{}", r.text);
    // With users present, and with a read-only token: still 200, never 404 or 403.
    c.create_user("alice", json!({})).await?;
    let reader = c.with_token(Some(server.token(server.realm_id("r")?, &["view-users"])?));
    for client in [&c, &reader] {
        let r = client.get(&format!("/Users?filter={}", q(&format!(r#"userName eq "{guid}""#)))).await?;
        assert_eq!((r.status, &r.json), (200, &empty), "{}", r.text);
        let r = client.get(&format!("/Groups?filter={}", q(r#"displayName eq "nope""#))).await?;
        assert_eq!((r.status, &r.json), (200, &empty), "{}", r.text);
    }
    Ok(())
}

// 9 ------------------------------------------------------------------------------------------

#[tokio::test]
async fn case_09_total_results_counts_every_match_with_filter_and_paging() -> Result<()> {
    let (_s, c) = entra().await?;
    for i in 0..7 {
        c.create_user(
            &format!("eng{i}"),
            json!({"title": "Eng", "emails": [{"value": format!("e{i}@corp.example"), "type": "work"}]}),
        )
        .await?;
    }
    for i in 0..3 {
        c.create_user(
            &format!("ops{i}"),
            json!({"title": "Ops", "emails": [{"value": format!("o{i}@home.example"), "type": "work"}]}),
        )
        .await?;
    }
    let page =
        |filter: &str, start: i64, count: i64| format!("/Users?filter={}&startIndex={start}&count={count}", q(filter));
    for (filter, start, count, total, items) in [
        (r#"title eq "Eng""#, 1, 2, 7, 2),
        (r#"title eq "Eng""#, 3, 2, 7, 2),
        (r#"title eq "Eng""#, 7, 2, 7, 1),
        (r#"title eq "Eng" or title eq "Ops""#, 1, 4, 10, 4),
        // A value-path filter (re-checked by the engine) pages the same way.
        (r#"emails[type eq "work" and value co "corp"]"#, 1, 3, 7, 3),
        (r#"emails[type eq "work" and value co "corp"]"#, 6, 3, 7, 2),
        (r#"emails[type eq "work"].value ew "home.example""#, 2, 1, 3, 1),
    ] {
        let list = get(&c, &page(filter, start, count)).await?;
        assert_eq!(list["totalResults"], total, "{filter} {start} {count}");
        assert_eq!(list["itemsPerPage"], items, "{filter} {start} {count}");
        assert_eq!(resources(&list).len(), items, "{filter} {start} {count}");
        assert_eq!(list["startIndex"], start);
    }
    let list = get(&c, "/Users?count=2").await?;
    assert_eq!((list["totalResults"].clone(), list["itemsPerPage"].clone()), (json!(10), json!(2)));
    for i in 0..3 {
        c.create_group(&format!("G{i}"), &[]).await?;
    }
    let list = get(&c, &format!("/Groups?filter={}&count=1", q(r#"displayName sw "g""#))).await?;
    assert_eq!((list["totalResults"].clone(), list["itemsPerPage"].clone()), (json!(3), json!(1)));
    Ok(())
}

// 10 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_10_start_index_is_one_based_and_pages_neither_overlap_nor_skip() -> Result<()> {
    let (_s, c) = entra().await?;
    for i in 0..11 {
        c.create_user(&format!("u{i:02}"), json!({})).await?;
    }
    let all = names(&get(&c, "/Users?sortBy=userName").await?, "userName");
    assert_eq!(all.len(), 11);
    assert_eq!(all[0], "u00");
    // [L] SCIM_User_Pagination_Test: pages of 5, startIndex = page*5+1.
    let mut seen = Vec::new();
    for p in 0..3 {
        let start = p * 5 + 1;
        let list = get(&c, &format!("/Users?sortBy=userName&startIndex={start}&count=5")).await?;
        assert_eq!(list["startIndex"], start);
        assert_eq!(list["totalResults"], 11);
        let page = names(&list, "userName");
        let first = (start - 1) as usize;
        assert_eq!(page, all[first..(first + 5).min(11)].to_vec(), "page {p}");
        seen.extend(page);
    }
    assert_eq!(seen, all, "the pages cover every user once");
    // startIndex below 1 means 1.
    for start in [0, -3] {
        let list = get(&c, &format!("/Users?sortBy=userName&startIndex={start}&count=2")).await?;
        assert_eq!(list["startIndex"], 1);
        assert_eq!(names(&list, "userName"), all[..2].to_vec());
    }
    // startIndex is honoured when fewer results than a page remain.
    let list =
        get(&c, &format!("/Users?sortBy=userName&startIndex=2&count=10&filter={}", q(r#"userName le "u02""#))).await?;
    assert_eq!(list["startIndex"], 2);
    assert_eq!(list["totalResults"], 3);
    assert_eq!(list["itemsPerPage"], 2);
    assert_eq!(names(&list, "userName"), vec!["u01", "u02"]);
    // Past the end: an empty page, still the total.
    let list = get(&c, "/Users?startIndex=20&count=5").await?;
    assert_eq!((list["totalResults"].clone(), list["itemsPerPage"].clone()), (json!(11), json!(0)));
    assert_eq!(list["startIndex"], 20);
    Ok(())
}

// 11 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_11_count_zero_returns_only_total_results_and_short_pages_are_right() -> Result<()> {
    let (_s, c) = entra().await?;
    for i in 1..=5 {
        c.create_user(&format!("u{i}"), json!({"title": if i % 2 == 0 { "even" } else { "odd" }})).await?;
    }
    c.create_group("G", &[]).await?;
    for (path, total) in [
        ("/Users?count=0".to_string(), 5),
        (format!("/Users?count=0&filter={}", q(r#"title eq "odd""#)), 3),
        ("/Users?count=-1".to_string(), 5),
        ("/Groups?count=0".to_string(), 1),
    ] {
        let list = get(&c, &path).await?;
        assert_eq!(list["totalResults"], total, "{path}");
        assert_eq!(list["itemsPerPage"], 0, "{path}");
        assert!(resources(&list).is_empty(), "{path}: {list}");
    }
    // count smaller than startIndex still returns the rows from startIndex.
    for (start, count, expected) in [(4, 2, vec!["u4", "u5"]), (5, 3, vec!["u5"]), (3, 1, vec!["u3"])] {
        let list = get(&c, &format!("/Users?sortBy=userName&startIndex={start}&count={count}")).await?;
        assert_eq!(names(&list, "userName"), expected, "startIndex={start}&count={count}");
        assert_eq!(list["totalResults"], 5);
    }
    // A count above maxResults is capped, not refused.
    let list = get(&c, "/Users?count=5000").await?;
    assert_eq!((list["totalResults"].clone(), list["itemsPerPage"].clone()), (json!(5), json!(5)));
    Ok(())
}

// 12 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_12_duplicate_user_name_or_group_display_name_is_409_uniqueness() -> Result<()> {
    let (_s, c) = entra().await?;
    let alice = c.create_user("alice", json!({"title": "original"})).await?;
    let alice_before = get(&c, &format!("/Users/{alice}")).await?;
    for name in ["alice", "ALICE", "Alice"] {
        let r = c.post("/Users", &json!({"schemas": [USER], "userName": name, "title": "duplicate"})).await?;
        r.assert_error(409, Some("uniqueness"), "userName");
        assert!(r.json.get("id").is_none(), "the existing user is not returned: {}", r.text);
    }
    assert_eq!(matching(&c, "Users", r#"userName eq "alice""#).await?, vec![alice.clone()]);
    assert_eq!(get(&c, &format!("/Users/{alice}")).await?, alice_before);
    // Renaming onto a taken name, by PATCH or PUT.
    let bob = c.create_user("bob", json!({})).await?;
    let bob_before = get(&c, &format!("/Users/{bob}")).await?;
    patch_ops(&c, &format!("/Users/{bob}"), json!([{"op": "Replace", "path": "userName", "value": "Alice"}]))
        .await?
        .assert_error(409, Some("uniqueness"), "userName");
    c.put(&format!("/Users/{bob}"), &json!({"schemas": [USER], "userName": "aLICE"})).await?.assert_error(
        409,
        Some("uniqueness"),
        "userName",
    );
    assert_eq!(get(&c, &format!("/Users/{bob}")).await?, bob_before);
    // A user may change the case of its own userName (E09).
    let r = patch_ops(&c, &format!("/Users/{alice}"), json!([{"op": "Replace", "path": "userName", "value": "ALICE"}]))
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["userName"], "ALICE");
    // A deleted userName can be reused (E18).
    assert_eq!(c.delete(&format!("/Users/{bob}")).await?.status, 204);
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "bob"})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(r.id(), bob);

    // Group displayName (G9).
    let admins = c.create_group("Admins", &[]).await?;
    c.post("/Groups", &json!({"schemas": [GROUP], "displayName": "admins"})).await?.assert_error(
        409,
        Some("uniqueness"),
        "displayName",
    );
    let other = c.create_group("Others", &[]).await?;
    patch_ops(&c, &format!("/Groups/{other}"), json!([{"op": "Replace", "path": "displayName", "value": "ADMINS"}]))
        .await?
        .assert_error(409, Some("uniqueness"), "displayName");
    assert_eq!(matching(&c, "Groups", r#"displayName eq "admins""#).await?, vec![admins]);
    assert_eq!(get(&c, &format!("/Groups/{other}")).await?["displayName"], "Others");
    Ok(())
}

#[tokio::test]
async fn case_12_changing_an_email_to_a_different_case_is_accepted() -> Result<()> {
    let (_s, c) = entra().await?;
    let id = c
        .create_user(
            "carol",
            json!({"emails": [{"value": "Carol.Jones@Example.com", "type": "work", "primary": true}]}),
        )
        .await?;
    let path = format!("/Users/{id}");
    let r = patch_ops(
        &c,
        &path,
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "carol.jones@example.com"}]),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["emails"], json!([{"value": "carol.jones@example.com", "type": "work", "primary": true}]));
    let r = c
        .put(
            &path,
            &json!({"schemas": [USER], "userName": "carol",
                    "emails": [{"value": "CAROL.JONES@EXAMPLE.COM", "type": "work", "primary": true}]}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&c, &path).await?["emails"][0]["value"], "CAROL.JONES@EXAMPLE.COM", "stored as sent");
    // Another user may carry the same address in another case: emails are not unique.
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "carol2", "emails": [{"value": "carol.jones@example.com"}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    Ok(())
}

// 13 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_13_group_put_replaces_members() -> Result<()> {
    let (_s, c) = entra().await?;
    let alice = c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let carol = c.create_user("carol", json!({})).await?;
    let gid = c.create_group("Admins", &[&alice, &bob]).await?;
    let path = format!("/Groups/{gid}");
    let r = c
        .put(
            &path,
            &json!({"schemas": [GROUP], "displayName": "Admins", "members": [{"value": carol}, {"value": bob}]}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&r.json), sorted(&[&bob, &carol]));
    assert_eq!(member_ids(&get(&c, &path).await?), sorted(&[&bob, &carol]));
    assert!(get(&c, &format!("/Users/{alice}")).await?.get("groups").is_none(), "alice left the group");
    let r = c.put(&path, &json!({"schemas": [GROUP], "displayName": "Admins", "members": []})).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&c, &path).await?["members"], json!([]));
    Ok(())
}

#[tokio::test]
async fn case_13_okta_members_without_type_are_accepted() -> Result<()> {
    let (_s, c) = entra().await?;
    let alice = c.create_user("alice@example.com", json!({})).await?;
    let bob = c.create_user("bob@example.com", json!({})).await?;
    let carol = c.create_user("carol@example.com", json!({})).await?;
    // Okta's create: members with `value` and `display`, no `type`.
    let r = c
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Okta Group",
                    "members": [{"value": alice, "display": "alice@example.com"}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let path = format!("/Groups/{}", r.id());
    assert_eq!(member_ids(&r.json), vec![alice.clone()]);
    assert_eq!(r.json["members"][0]["type"], "User", "the server knows the member's type");
    let r = patch_ops(
        &c,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": bob, "display": "bob@example.com"}]}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), sorted(&[&alice, &bob]));
    // Okta's PUT, again without `type`.
    let r = c
        .put(
            &path,
            &json!({"schemas": [GROUP], "displayName": "Okta Group",
                    "members": [{"value": carol, "display": "carol@example.com"}]}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&get(&c, &path).await?), vec![carol.clone()]);
    // Okta's rename (a pathless replace echoing `id`) and member removal by filter.
    let gid = path.trim_start_matches("/Groups/").to_string();
    let r = patch_ops(
        &c,
        &path,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Okta Group 2"}},
               {"op": "remove", "path": format!("members[value eq \"{carol}\"]")}]),
    )
    .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let g = get(&c, &path).await?;
    assert_eq!(
        (g["id"].clone(), g["displayName"].clone(), g["members"].clone()),
        (json!(gid), json!("Okta Group 2"), json!([]))
    );
    Ok(())
}

#[tokio::test]
async fn case_13_remove_on_manager_with_a_value_filter_removes_the_manager() -> Result<()> {
    let (_s, c) = entra().await?;
    let boss = c.create_user("boss", json!({})).await?;
    let id = c.create_user("emp", json!({ENTERPRISE: {"employeeNumber": "7", "manager": {"value": boss}}})).await?;
    let path = format!("/Users/{id}");
    for filter_path in [format!("{ENTERPRISE}:manager[value eq \"{boss}\"]"), format!("manager[value eq \"{boss}\"]")] {
        let r = patch_ops(
            &c,
            &path,
            json!([{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": boss}}]),
        )
        .await?;
        assert_eq!(r.json[ENTERPRISE]["manager"], json!({"value": boss}), "{}", r.text);
        let r = patch_ops(&c, &path, json!([{"op": "remove", "path": filter_path}])).await?;
        assert_eq!(r.status, 200, "{filter_path}: {}", r.text);
        assert_eq!(r.json[ENTERPRISE], json!({"employeeNumber": "7"}), "{filter_path}");
        assert_eq!(get(&c, &path).await?, r.json);
    }
    Ok(())
}

// 14 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_14_manager_as_a_string_or_an_object_is_stored_as_manager_value_never_a_500() -> Result<()> {
    let (_s, c) = entra().await?;
    let boss = c.create_user("boss", json!({})).await?;
    let boss2 = c.create_user("boss2", json!({})).await?;
    // POST: a plain string id, {"value": …}, and [P]'s capitalised shape.
    for (i, manager) in [json!(boss), json!({"value": boss}), json!({"Value": boss})].into_iter().enumerate() {
        let body =
            json!({"schemas": [USER, ENTERPRISE], "userName": format!("emp{i}"), ENTERPRISE: {"Manager": manager}});
        let r = c.post("/Users", &body).await?;
        assert_eq!(r.status, 201, "{}", r.text);
        assert!(r.json.is_object(), "the body is valid JSON: {}", r.text);
        assert_eq!(r.json[ENTERPRISE]["manager"], json!({"value": boss}), "{}", r.text);
    }
    let id = c.create_user("emp", json!({})).await?;
    let path = format!("/Users/{id}");
    let urn_path = format!("{ENTERPRISE}:manager");
    for (op, expected) in [
        // E13: Add with a plain string.
        (json!({"op": "add", "path": urn_path, "value": boss2}), json!({"value": boss2})),
        (json!({"op": "Replace", "path": urn_path, "value": {"value": boss}}), json!({"value": boss})),
        (json!({"op": "replace", "path": format!("{urn_path}.value"), "value": boss2}), json!({"value": boss2})),
        // The legacy tutorial shape.
        (
            json!({"op": "Add", "path": "manager", "value": [{"$ref": format!("{}/Users/{boss}", c.base), "value": boss}]}),
            json!({"value": boss, "$ref": format!("{}/Users/{boss}", c.base)}),
        ),
    ] {
        let r = patch_ops(&c, &path, json!([op])).await?;
        assert_eq!(r.status, 200, "{op}: {}", r.text);
        assert_eq!(r.json[ENTERPRISE]["manager"], expected, "{op}");
        assert_eq!(get(&c, &path).await?, r.json);
    }
    // [L] SCIM_Update_Manager_Test removes the manager with an empty value.
    let r = patch_ops(&c, &path, json!([{"op": "Replace", "path": urn_path, "value": ""}])).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get(ENTERPRISE).is_none(), "{}", r.text);
    // A top-level `manager` string, and E02's legacy body with its nulls and misspelt URN.
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "top", "manager": boss})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json[ENTERPRISE]["manager"], json!({"value": boss}));
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
                    "userName": "legacy", "active": true, "addresses": null, "phoneNumbers": null, "title": null,
                    "department": null, "manager": null, "roles": [], "meta": {"resourceType": "User"}}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json.get(ENTERPRISE).is_none(), "{}", r.text);
    // Every listed user deserialises, with manager as an object.
    let list = c.get("/Users").await?;
    assert_eq!(list.status, 200);
    let listed = resources(&list.json);
    assert_eq!(listed.len(), 8);
    for u in listed {
        if let Some(m) = u.get(ENTERPRISE).and_then(|e| e.get("manager")) {
            assert!(m["value"].is_string(), "{u}");
        }
    }
    Ok(())
}

// 15 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_15_every_successful_response_carries_meta_resource_type() -> Result<()> {
    let (_s, c) = entra().await?;
    let check = |r: &Resp, expected: &str| {
        assert!(r.status < 300, "{}", r.text);
        let meta = &r.json["meta"];
        assert_eq!(meta["resourceType"], expected, "{}", r.text);
        for key in ["created", "lastModified", "location", "version"] {
            assert!(meta[key].is_string(), "meta.{key} in {}", r.text);
        }
    };
    let r =
        c.post("/Users", &json!({"schemas": [USER], "userName": "bjensen", "meta": {"resourceType": "User"}})).await?;
    check(&r, "User");
    let id = r.id();
    let path = format!("/Users/{id}");
    check(&c.get(&path).await?, "User");
    check(&c.put(&path, &json!({"schemas": [USER], "userName": "bjensen", "title": "x"})).await?, "User");
    check(&patch_ops(&c, &path, json!([{"op": "Replace", "path": "title", "value": "y"}])).await?, "User");
    check(&c.get(&format!("{path}?excludedAttributes=emails")).await?, "User");

    let r =
        c.post("/Groups", &json!({"schemas": [GROUP], "displayName": "G", "meta": {"resourceType": "Group"}})).await?;
    check(&r, "Group");
    let gpath = format!("/Groups/{}", r.id());
    check(&c.get(&gpath).await?, "Group");
    check(&c.get(&format!("{gpath}?excludedAttributes=members")).await?, "Group");
    check(&c.put(&gpath, &json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": id}]})).await?, "Group");
    check(
        &patch_ops(
            &c,
            &format!("{gpath}?excludedAttributes=members"),
            json!([{"op": "Replace", "path": "displayName", "value": "H"}]),
        )
        .await?,
        "Group",
    );
    for (list, expected) in [
        (c.get("/Users").await?, "User"),
        (c.get("/Groups?excludedAttributes=members").await?, "Group"),
        (
            c.post("/Users/.search", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}))
                .await?,
            "User",
        ),
    ] {
        assert_eq!(list.status, 200, "{}", list.text);
        for res in resources(&list.json) {
            assert_eq!(res["meta"]["resourceType"], expected, "{res}");
        }
    }
    // Discovery resources too.
    assert_eq!(get(&c, "/ServiceProviderConfig").await?["meta"]["resourceType"], "ServiceProviderConfig");
    for rt in resources(&get(&c, "/ResourceTypes").await?) {
        assert_eq!(rt["meta"]["resourceType"], "ResourceType", "{rt}");
    }
    for s in resources(&get(&c, "/Schemas").await?) {
        assert_eq!(s["meta"]["resourceType"], "Schema", "{}", s["id"]);
    }
    Ok(())
}

// 16 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_16_valueless_multi_valued_entries_are_rejected_and_never_stored() -> Result<()> {
    let (_s, c) = entra().await?;
    c.post("/Users", &json!({"schemas": [USER], "userName": "v", "emails": [{"type": "work"}]})).await?.assert_error(
        400,
        Some("invalidValue"),
        "'emails[0]' has no 'value'",
    );
    c.post(
        "/Users",
        &json!({"schemas": [USER], "userName": "v",
                "phoneNumbers": [{"value": "555", "type": "home"}, {"type": "work", "primary": true}]}),
    )
    .await?
    .assert_error(400, Some("invalidValue"), "'phoneNumbers[1]' has no 'value'");
    assert_eq!(c.ids("/Users").await?.0, 0, "nothing was created");

    let id = c.create_user("u", json!({"emails": [{"value": "u@work.example", "type": "work"}]})).await?;
    let path = format!("/Users/{id}");
    let before = get(&c, &path).await?;
    patch_ops(&c, &path, json!([{"op": "Add", "path": "emails", "value": [{"type": "home"}]}])).await?.assert_error(
        400,
        Some("invalidValue"),
        "has no 'value'",
    );
    // A filtered update that would create an element without a value.
    patch_ops(&c, &path, json!([{"op": "Replace", "path": "emails[type eq \"home\"].primary", "value": true}]))
        .await?
        .assert_error(400, Some("invalidValue"), "has no 'value'");
    c.put(&path, &json!({"schemas": [USER], "userName": "u", "emails": [{"type": "work", "primary": true}]}))
        .await?
        .assert_error(400, Some("invalidValue"), "'emails[0]' has no 'value'");
    assert_eq!(get(&c, &path).await?, before, "the stored user is unchanged");
    // Reads keep working.
    let list = get(&c, &format!("/Users?filter={}", q(r#"emails[type eq "work"]"#))).await?;
    assert_eq!(list["totalResults"], 1);
    Ok(())
}

#[tokio::test]
async fn case_16_clearing_the_value_of_a_typed_element_removes_the_element() -> Result<()> {
    let (_s, c) = entra().await?;
    for (i, cleared) in [json!(""), Value::Null].into_iter().enumerate() {
        let id = c
            .create_user(
                &format!("u{i}"),
                json!({"emails": [{"value": "u@work.example", "type": "work", "primary": true},
                                  {"value": "u@home.example", "type": "home"}]}),
            )
            .await?;
        let path = format!("/Users/{id}");
        let r = patch_ops(
            &c,
            &path,
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": cleared}]),
        )
        .await?;
        assert_eq!(r.status, 200, "{cleared}: {}", r.text);
        assert_eq!(r.json["emails"], json!([{"value": "u@home.example", "type": "home"}]), "{cleared}");
        assert_eq!(get(&c, &path).await?, r.json);
    }
    Ok(())
}

// 17 -----------------------------------------------------------------------------------------

const TYPED: [&str; 7] = ["emails", "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates"];

fn attribute<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema["attributes"].as_array()?.iter().find(|a| a["name"] == name)
}

fn sub_names(attr: &Value) -> Vec<String> {
    attr["subAttributes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn case_17_schemas_do_not_advertise_password_or_display_sub_attributes_to_entra() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let list = get(&c, "/Schemas").await?;
    let user = resources(&list).into_iter().find(|s| s["id"] == USER).context("the User schema")?;
    assert_eq!(get(&c, &format!("/Schemas/{USER}")).await?, user, "/Schemas/{{id}} says the same");
    assert!(attribute(&user, "password").is_none(), "password is advertised");
    for name in TYPED {
        let attr = attribute(&user, name).with_context(|| format!("{name} is advertised"))?;
        let subs = sub_names(attr);
        assert!(!subs.contains(&"display".to_string()), "{name}.display is advertised");
        assert!(subs.contains(&"value".to_string()) && subs.contains(&"type".to_string()), "{name}: {subs:?}");
    }
    assert!(resources(&list).iter().any(|s| s["id"] == GROUP), "the Group schema is listed (G-E10)");
    // Still accepted and stored.
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "bjensen", "password": "t1meMa$heen",
                    "emails": [{"value": "b@work.example", "type": "work", "display": "Work mail"}]}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["emails"][0]["display"], "Work mail");
    assert!(r.json.get("password").is_none());
    // strict mode advertises the full RFC schema.
    let strict = server.realm("s", "strict", &["manage-users"])?;
    let user = resources(&get(&strict, "/Schemas").await?).into_iter().find(|s| s["id"] == USER).context("User")?;
    assert_eq!(attribute(&user, "password").map(|p| p["returned"].clone()), Some(json!("never")));
    for name in TYPED {
        let attr = attribute(&user, name).with_context(|| name.to_string())?;
        assert!(sub_names(attr).contains(&"display".to_string()), "strict: {name}.display");
    }
    Ok(())
}

// 18 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_18_every_response_is_scim_json_and_user_patch_answers_200_with_the_user() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let mut seen: Vec<(String, Resp)> = Vec::new();
    let created = c.post("/Users", &json!({"schemas": [USER], "userName": "bjensen"})).await?;
    let id = created.id();
    let path = format!("/Users/{id}");
    // The validator expects 200 and the full user for a user PATCH.
    let r = patch_ops(&c, &path, json!([{"op": "Replace", "path": "displayName", "value": "Babs"}])).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, get(&c, &path).await?, "the body is the full, stored user");
    assert_eq!(r.json["displayName"], "Babs");
    seen.push(("PATCH user".into(), r));
    seen.push(("POST user".into(), created));
    seen.push(("GET user".into(), c.get(&path).await?));
    seen.push(("PUT user".into(), c.put(&path, &json!({"schemas": [USER], "userName": "bjensen"})).await?));
    seen.push(("list".into(), c.get("/Users").await?));
    seen.push(("search".into(), c.post("/Users/.search", &json!({"filter": "userName eq \"x\""})).await?));
    seen.push(("/Schemas".into(), c.get("/Schemas").await?));
    seen.push(("/ResourceTypes".into(), c.get("/ResourceTypes").await?));
    seen.push(("/ServiceProviderConfig".into(), c.get("/ServiceProviderConfig").await?));
    seen.push((
        "Accept: application/json".into(),
        c.send("GET", &path, None, &[("accept", "application/json")]).await?,
    ));
    let gid = c.create_group("G", &[]).await?;
    seen.push((
        "group PATCH with attributes".into(),
        patch_ops(
            &c,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            json!([{"op": "add", "path": "externalId", "value": "e"}]),
        )
        .await?,
    ));
    // Errors.
    seen.push(("404".into(), c.get("/Users/nope").await?));
    seen.push(("400 filter".into(), c.get(&format!("/Users?filter={}", q("userName eq"))).await?));
    seen.push(("400 JSON".into(), c.send("POST", "/Users", Some("{not json".into()), &[]).await?));
    seen.push(("409".into(), c.post("/Users", &json!({"schemas": [USER], "userName": "BJENSEN"})).await?));
    seen.push(("412".into(), c.send("DELETE", &path, None, &[("if-match", "W/\"1\"")]).await?));
    seen.push(("401".into(), c.with_token(None).get("/Users").await?));
    seen.push(("401 bad token".into(), c.with_token(Some("nope".into())).get("/Users").await?));
    let reader = c.with_token(Some(server.token(server.realm_id("r")?, &["view-users"])?));
    seen.push(("403".into(), reader.post("/Users", &json!({"schemas": [USER], "userName": "x"})).await?));
    seen.push(("404 unknown endpoint".into(), c.get("/Devices").await?));
    seen.push(("405".into(), c.send("DELETE", "/Users", None, &[]).await?));
    seen.push(("413".into(), c.send("POST", "/Users", Some(" ".repeat(2 << 20)), &[]).await?));
    for (what, r) in &seen {
        assert_eq!(r.header("content-type"), Some(SCIM_JSON), "{what}: {} {}", r.status, r.text);
        assert!(r.json.is_object(), "{what}: a JSON body: {}", r.text);
        if r.status >= 400 {
            assert_eq!(r.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{what}");
            assert_eq!(r.json["status"], r.status.to_string(), "{what}");
        }
    }
    // A group PATCH without attributes is 204 with no body (scimd's documented choice).
    let r =
        patch_ops(&c, &format!("/Groups/{gid}"), json!([{"op": "add", "path": "externalId", "value": "f"}])).await?;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    Ok(())
}

// 19 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_19_client_sent_meta_is_ignored_and_the_version_bumps_on_every_write() -> Result<()> {
    let (_s, c) = entra().await?;
    let forged = json!({"resourceType": "Group", "created": "2000-01-01T00:00:00Z",
                        "lastModified": "2000-01-01T00:00:00Z", "version": "W/\"99\"", "location": "https://evil.example/x"});
    let r =
        c.post("/Users", &json!({"schemas": [USER], "id": "client-id", "userName": "bjensen", "meta": forged})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.id();
    assert_ne!(id, "client-id");
    let meta = r.json["meta"].clone();
    assert_eq!(meta["resourceType"], "User");
    assert_ne!(meta["created"], "2000-01-01T00:00:00Z");
    assert_eq!(meta["version"], "W/\"1\"");
    assert_eq!(meta["location"], format!("{}/Users/{id}", c.base));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let path = format!("/Users/{id}");
    let mut last = meta["lastModified"].as_str().unwrap_or_default().to_string();
    let mut expect_version = |r: &Resp, n: u32| {
        assert_eq!(r.status, 200, "{}", r.text);
        let v = format!("W/\"{n}\"");
        assert_eq!(r.header("etag"), Some(v.as_str()), "{}", r.text);
        assert_eq!(r.json["meta"]["version"], v);
        assert_eq!(r.json["meta"]["created"], meta["created"]);
        let modified = r.json["meta"]["lastModified"].as_str().unwrap_or_default().to_string();
        assert!(modified >= last, "lastModified went back: {modified} < {last}");
        last = modified;
    };
    expect_version(&patch_ops(&c, &path, json!([{"op": "Replace", "path": "title", "value": "a"}])).await?, 2);
    expect_version(&c.put(&path, &json!({"schemas": [USER], "userName": "bjensen", "meta": forged})).await?, 3);
    // A pathless replace echoing `meta` and `id` (read-only, ignored).
    let r =
        patch_ops(&c, &path, json!([{"op": "replace", "value": {"id": "x", "meta": forged, "title": "b"}}])).await?;
    expect_version(&r, 4);
    assert_eq!((r.id(), r.json["title"].clone()), (id.clone(), json!("b")));
    // PATCH on meta or id is a mutability error and changes nothing.
    let before = get(&c, &path).await?;
    for (p, v) in
        [("meta.version", json!("W/\"7\"")), ("meta.created", json!("2000-01-01T00:00:00Z")), ("id", json!("x"))]
    {
        patch_ops(&c, &path, json!([{"op": "replace", "path": p, "value": v}])).await?.assert_error(
            400,
            Some("mutability"),
            "read-only",
        );
    }
    assert_eq!(get(&c, &path).await?, before);

    // Group writes, membership changes included.
    let gid = c.create_group("G", &[]).await?;
    let gpath = format!("/Groups/{gid}");
    let version = |n: u32| format!("W/\"{n}\"");
    for (n, ops) in [
        (2, json!([{"op": "Add", "path": "members", "value": [{"value": id}]}])),
        (3, json!([{"op": "Remove", "path": "members", "value": [{"value": id}]}])),
        (4, json!([{"op": "Replace", "path": "displayName", "value": "H"}])),
    ] {
        let r = patch_ops(&c, &gpath, ops).await?;
        assert_eq!((r.status, r.header("etag")), (204, Some(version(n).as_str())), "{}", r.text);
        assert_eq!(get(&c, &gpath).await?["meta"]["version"], version(n));
    }
    let r = c
        .put(&gpath, &json!({"schemas": [GROUP], "displayName": "H", "members": [{"value": id}], "meta": forged}))
        .await?;
    assert_eq!((r.status, r.header("etag")), (200, Some(version(5).as_str())), "{}", r.text);
    assert_eq!(r.json["meta"]["resourceType"], "Group");
    // The versions are real ETags: a stale If-Match fails, the current one passes.
    let stale = c
        .send(
            "PATCH",
            &gpath,
            Some(
                json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "I"}]})
                    .to_string(),
            ),
            &[("if-match", "W/\"4\"")],
        )
        .await?;
    assert_eq!(stale.status, 412, "{}", stale.text);
    let r = c.send("GET", &gpath, None, &[("if-none-match", "W/\"5\"")]).await?;
    assert_eq!(r.status, 304);
    Ok(())
}

#[tokio::test]
async fn case_19_a_users_version_changes_when_its_groups_change() -> Result<()> {
    let (_s, c) = entra().await?;
    let id = c.create_user("alice", json!({})).await?;
    let path = format!("/Users/{id}");
    let gid = c.create_group("G", &[]).await?;
    let mut old = get(&c, &path).await?["meta"]["version"].clone();
    for ops in [
        json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]),
        json!([{"op": "Remove", "path": "members", "value": [{"value": id}]}]),
    ] {
        assert_eq!(patch_ops(&c, &format!("/Groups/{gid}"), ops).await?.status, 204);
        let r = c.send("GET", &path, None, &[("if-none-match", old.as_str().unwrap_or_default())]).await?;
        assert_eq!(r.status, 200, "the user changed, so its old ETag {old} must not match");
        assert_ne!(r.json["meta"]["version"], old);
        assert_eq!(r.header("etag"), r.json["meta"]["version"].as_str());
        old = r.json["meta"]["version"].clone();
    }
    Ok(())
}

// 20 -----------------------------------------------------------------------------------------

#[tokio::test]
async fn case_20_value_path_filters_in_get_return_results() -> Result<()> {
    let (_s, c) = entra().await?;
    let alice = c
        .create_user(
            "alice",
            json!({"emails": [{"value": "alice@corp.example", "type": "work", "primary": true},
                              {"value": "alice@home.example", "type": "home"}]}),
        )
        .await?;
    let bob = c
        .create_user(
            "bob",
            json!({"emails": [{"value": "bob@corp.example", "type": "home"}],
                   ENTERPRISE: {"manager": {"value": alice}}}),
        )
        .await?;
    for (filter, expected) in [
        (r#"emails[type eq "work"].value eq "alice@corp.example""#, vec![&alice]),
        (r#"emails[type eq "work" and value eq "alice@corp.example"]"#, vec![&alice]),
        (r#"emails.value eq "alice@corp.example""#, vec![&alice]),
        (r#"emails[value eq "bob@corp.example"]"#, vec![&bob]),
        (r#"emails[type eq "work"]"#, vec![&alice]),
        (r#"emails[value co "corp"]"#, vec![&alice, &bob]),
        (r#"emails[Type eq "WORK"].Value sw "ALICE""#, vec![&alice]),
        (r#"emails[type eq "home"].value ew "corp.example""#, vec![&bob]),
        (r#"emails[type eq "work"].value eq "bob@corp.example""#, vec![]),
        (&format!(r#"{ENTERPRISE}:manager[value eq "{alice}"]"#) as &str, vec![&bob]),
    ] {
        assert_eq!(matching(&c, "Users", filter).await?, sorted(&expected), "{filter}");
    }
    // On groups: members by value.
    let g = c.create_group("G", &[&alice]).await?;
    c.create_group("H", &[&bob]).await?;
    assert_eq!(matching(&c, "Groups", &format!(r#"members[value eq "{alice}"]"#)).await?, vec![g.clone()]);
    assert_eq!(matching(&c, "Groups", &format!(r#"members[type eq "User" and value eq "{alice}"]"#)).await?, vec![g]);
    // In POST /.search and in `attributes` ([P]).
    let r = c
        .post("/Users/.search", &json!({"filter": "emails[type eq \"work\"].value eq \"alice@corp.example\""}))
        .await?;
    assert_eq!(names(&r.json, "id"), vec![alice.clone()], "{}", r.text);
    let u = get(&c, &format!("/Users/{alice}?attributes={}", q(r#"emails[type eq "work"]"#))).await?;
    assert_eq!(u["emails"], json!([{"value": "alice@corp.example", "type": "work", "primary": true}]));
    assert_eq!(u["id"], alice.as_str());
    Ok(())
}
