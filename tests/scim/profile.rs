//! A realm's user profile and extension schemas: attributes mapped with
//! `scim.schema.attribute` are stored under the profile's names, appear in `/Schemas`, filter
//! through the host's index and patch; a realm's own extension schema works end to end; group
//! attributes map the same way.

use anyhow::Result;
use scimd_tests::oauth::Admin;
use scimd_tests::{Client, Server, q};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const HR: &str = "urn:acme:params:scim:schemas:extension:hr:1.0:User";
const TEAM: &str = "urn:acme:params:scim:schemas:extension:team:1.0:Group";

async fn realm(server: &Server, compatibility: &str) -> Result<(Admin, Client)> {
    let admin = Admin::master(server).await?;
    let r = admin.post("/realms", &json!({"realm": "r", "scimCompatibility": compatibility})).await?;
    anyhow::ensure!(r.status == 201, "{}", r.text);
    let c = Client::new(server.url("/realms/r/scim/v2"), Some(server.token(server.realm_id("r")?, &["manage-users"])?));
    Ok((admin, c))
}

/// The realm attributes a user is stored with, by name.
fn stored_attributes(server: &Server, user_id: &str) -> Result<Vec<(String, String)>> {
    let id = user_id.to_string();
    Ok(server.state.store.read(move |c| {
        let mut st = c.prepare(
            "SELECT a.name, a.value FROM user_attributes a JOIN users u ON u.pk = a.owner WHERE u.id = ?1 ORDER BY a.name, a.ord",
        )?;
        let rows = st.query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })?)
}

fn employee_number_profile() -> Value {
    json!({"attributes": [
        {"name": "username", "annotations": {"scim.schema.attribute": "userName"}},
        {"name": "employeeNumber", "displayName": "Employee number",
         "validations": {"length": {"max": 8}, "pattern": {"pattern": "^[0-9]+$", "error-message": "must be digits"}},
         "annotations": {"kc.scim.schema.attribute": format!("{ENTERPRISE}:employeeNumber")}}
    ]})
}

#[tokio::test]
async fn employee_number_maps_to_the_profile_attribute_end_to_end() -> Result<()> {
    let server = Server::start().await?;
    let (admin, c) = realm(&server, "entra").await?;
    let r = admin.put("/realms/r/users/profile", &employee_number_profile()).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(admin.get("/realms/r/users/profile").await?.json, employee_number_profile());

    // POST with the enterprise extension: stored under the profile's name.
    let created = c
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "userName": "bjensen", ENTERPRISE: {"employeeNumber": "701984"}}),
        )
        .await?;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.id();
    let stored = stored_attributes(&server, &id)?;
    assert!(stored.contains(&("employeeNumber".into(), "701984".into())), "{stored:?}");
    assert!(!stored.iter().any(|(n, _)| n.starts_with("scim.enterprise.employeeNumber")), "{stored:?}");

    // GET renders it back in its SCIM place.
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json[ENTERPRISE]["employeeNumber"], "701984");

    // Filter: pushed down to the attribute index.
    let (total, ids) =
        c.ids(&format!("/Users?filter={}", q(&format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#)))).await?;
    assert_eq!((total, ids), (1, vec![id.clone()]));

    // PATCH, and the profile's validations apply to SCIM writes.
    let p = c
        .patch(&format!("/Users/{id}"), &json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "42"}]}))
        .await?;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(stored_attributes(&server, &id)?.contains(&("employeeNumber".into(), "42".into())));
    let bad = c
        .patch(&format!("/Users/{id}"), &json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "A-1"}]}))
        .await?;
    bad.assert_error(400, Some("invalidValue"), "must be digits");
    let long = c
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "userName": "x", ENTERPRISE: {"employeeNumber": "123456789"}}),
        )
        .await?;
    long.assert_error(400, Some("invalidValue"), "at most 8");

    // /Schemas still advertises it.
    let schemas = c.get(&format!("/Schemas/{ENTERPRISE}")).await?;
    assert!(schemas.json["attributes"].as_array().into_iter().flatten().any(|a| a["name"] == "employeeNumber"));
    Ok(())
}

#[tokio::test]
async fn unmapped_attributes_follow_the_compatibility_setting() -> Result<()> {
    let server = Server::start().await?;
    let (admin, c) = realm(&server, "strict").await?;
    assert_eq!(admin.put("/realms/r/users/profile", &employee_number_profile()).await?.status, 204);
    // strict: an attribute the profile does not map is refused, columns are always mapped.
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "a", "title": "Boss"})).await?;
    r.assert_error(400, Some("invalidValue"), "not mapped");
    let r = c
        .post("/Users", &json!({"schemas": [USER], "userName": "a", "name": {"givenName": "A"}, "emails": [{"value": "a@x.example"}], "active": true}))
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    // entra: kept under the default names.
    let r = admin.put("/realms/r", &json!({"scimCompatibility": "entra"})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "b", "title": "Boss"})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["title"], "Boss");
    Ok(())
}

#[tokio::test]
async fn a_realm_profile_the_engine_refuses_is_400_and_not_stored() -> Result<()> {
    let server = Server::start().await?;
    let (admin, _) = realm(&server, "entra").await?;
    let bad = json!({"attributes": [{"name": "x", "annotations": {"scim.schema.attribute": "nosuch"}}]});
    let r = admin.put("/realms/r/users/profile", &bad).await?;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.json["errorMessage"].as_str().unwrap_or_default().contains("nosuch"), "{}", r.text);
    assert_eq!(admin.get("/realms/r/users/profile").await?.json, json!({"attributes": []}));
    Ok(())
}

fn hr_extension() -> Value {
    json!([{"schema": HR, "resourceType": "User", "name": "HR", "description": "Human resources",
    "attributes": [
        {"name": "badge", "type": "string", "caseExact": true, "uniqueness": "none"},
        {"name": "grade", "type": "integer"},
        {"name": "remote", "type": "boolean"},
        {"name": "hired", "type": "dateTime"},
        {"name": "mentor", "type": "reference", "referenceTypes": ["User"]},
        {"name": "skills", "type": "string", "multiValued": true},
        {"name": "office", "type": "complex", "subAttributes": [
            {"name": "building", "type": "string"}, {"name": "floor", "type": "integer"}]}
    ]}])
}

#[tokio::test]
async fn a_custom_extension_schema_works_end_to_end() -> Result<()> {
    let server = Server::start().await?;
    let (admin, c) = realm(&server, "strict").await?;
    let r = admin.put("/realms/r/scim/extensions", &hr_extension()).await?;
    assert_eq!(r.status, 204, "{}", r.text);

    // Discovery: in /Schemas and in the User resource type's schemaExtensions.
    let s = c.get(&format!("/Schemas/{HR}")).await?;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.json["name"], "HR");
    let attrs: Vec<&str> =
        s.json["attributes"].as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(attrs, vec!["badge", "grade", "remote", "hired", "mentor", "skills", "office"]);
    let rt = c.get("/ResourceTypes/User").await?;
    assert!(rt.json["schemaExtensions"].as_array().into_iter().flatten().any(|e| e["schema"] == HR), "{}", rt.text);

    // Create and read back every type.
    let hr = json!({"badge": "B-7", "grade": 3, "remote": true, "hired": "2024-03-01T09:00:00Z", "mentor": "../Users/x",
                    "skills": ["rust", "scim"], "office": {"building": "North", "floor": 4}});
    let r = c.post("/Users", &json!({"schemas": [USER, HR], "userName": "dev", HR: hr})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.id();
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json[HR], hr);

    // Validation by type.
    let r = c.post("/Users", &json!({"schemas": [USER, HR], "userName": "bad", HR: {"grade": "three"}})).await?;
    r.assert_error(400, Some("invalidValue"), "grade");
    let r = c.post("/Users", &json!({"schemas": [USER, HR], "userName": "bad", HR: {"hired": "yesterday"}})).await?;
    r.assert_error(400, Some("invalidValue"), "hired");

    // Filters, exact and re-checked.
    for (filter, expect) in [
        (format!(r#"{HR}:badge eq "B-7""#), 1),
        (format!(r#"{HR}:badge eq "b-7""#), 0),
        (format!(r#"{HR}:grade gt 2"#), 1),
        (format!(r#"{HR}:grade lt 2"#), 0),
        (format!(r#"{HR}:skills eq "scim""#), 1),
        (format!(r#"{HR}:office.floor eq 4"#), 1),
        (format!(r#"{HR}:remote eq true"#), 1),
        (format!(r#"{HR}:hired gt "2024-01-01T00:00:00+01:00""#), 1),
    ] {
        let (total, _) = c.ids(&format!("/Users?filter={}", q(&filter))).await?;
        assert_eq!(total, expect, "{filter}");
    }

    // PATCH a sub-attribute and a multi-valued attribute.
    let p = c
        .patch(
            &format!("/Users/{id}"),
            &json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": format!("{HR}:office.floor"), "value": 5},
            {"op": "add", "path": format!("{HR}:skills"), "value": ["wasm"]}]}),
        )
        .await?;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json[HR]["office"]["floor"], 5);
    assert_eq!(p.json[HR]["skills"], json!(["rust", "scim", "wasm"]));

    // An invalid declaration is refused and changes nothing.
    let r = admin.put("/realms/r/scim/extensions", &json!([{"schema": "nope", "attributes": []}])).await?;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(admin.get("/realms/r/scim/extensions").await?.json, hr_extension());
    Ok(())
}

#[tokio::test]
async fn group_attributes_map_through_the_profile() -> Result<()> {
    let server = Server::start().await?;
    let (admin, c) = realm(&server, "entra").await?;
    let r = admin
        .put(
            "/realms/r/scim/extensions",
            &json!([{"schema": TEAM, "resourceType": "Group", "attributes": [
            {"name": "costCenter", "type": "string"}, {"name": "size", "type": "integer"}]}]),
        )
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = admin
        .put(
            "/realms/r/users/profile",
            &json!({"attributes": [], "groupAttributes": [
            {"name": "cost_center", "annotations": {"scim.schema.attribute": format!("{TEAM}:costCenter")}},
            {"name": "group_external_id", "annotations": {"scim.schema.attribute": "externalId"}}]}),
        )
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = c.post("/Groups", &json!({"schemas": [GROUP, TEAM], "displayName": "Ops", "externalId": "G-1", TEAM: {"costCenter": "CC-9", "size": 4}})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let gid = r.id();
    let names: Vec<String> = {
        let id = gid.clone();
        server.state.store.read(move |c| {
            let mut st = c.prepare(
                "SELECT a.name FROM group_attributes a JOIN groups g ON g.pk = a.owner WHERE g.id = ?1 ORDER BY a.name",
            )?;
            let rows = st.query_map([&id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?
    };
    assert!(
        names.contains(&"cost_center".to_string()) && names.contains(&"group_external_id".to_string()),
        "{names:?}"
    );
    let g = c.get(&format!("/Groups/{gid}")).await?;
    assert_eq!(g.json[TEAM], json!({"costCenter": "CC-9", "size": 4}));
    assert_eq!(g.json["externalId"], "G-1");
    let (total, ids) = c.ids(&format!("/Groups?filter={}", q(&format!(r#"{TEAM}:costCenter eq "cc-9""#)))).await?;
    assert_eq!((total, ids), (1, vec![gid.clone()]));
    let p = c
        .patch(
            &format!("/Groups/{gid}?attributes={TEAM}"),
            &json!({"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": format!("{TEAM}:costCenter"), "value": "CC-10"}]}),
        )
        .await?;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json[TEAM]["costCenter"], "CC-10");
    Ok(())
}

/// RFC 7644 §3.5.2: a realm's own extension is patched by its URN like the Enterprise one.
#[tokio::test]
async fn rfc7644_3_5_2_a_realm_extension_urn_as_path_adds_and_removes_the_extension() -> Result<()> {
    let server = Server::start().await?;
    let (admin, c) = realm(&server, "strict").await?;
    assert_eq!(admin.put("/realms/r/scim/extensions", &hr_extension()).await?.status, 204);
    let id = c.create_user("dev", json!({})).await?;
    let path = format!("/Users/{id}");
    let op = |op: &str, value: Option<Value>| {
        let mut o = json!({"op": op, "path": HR});
        if let Some(v) = value {
            o["value"] = v;
        }
        json!({"schemas": [PATCH], "Operations": [o]})
    };
    let r = c.patch(&path, &op("add", Some(json!({"badge": "B-1", "office": {"floor": 2}})))).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json[HR], json!({"badge": "B-1", "office": {"floor": 2}}));
    let r = c.patch(&path, &op("replace", Some(json!({"grade": 4})))).await?;
    assert_eq!(r.json[HR], json!({"badge": "B-1", "grade": 4, "office": {"floor": 2}}), "{}", r.text);
    let r = c.patch(&path, &op("remove", None)).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(c.get(&path).await?.json.get(HR).is_none());
    Ok(())
}
