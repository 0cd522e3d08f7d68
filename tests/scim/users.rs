//! RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6 on `/Users`: create, read, replace, delete, and the
//! host-generated `id`, `meta`, `Location` and `ETag`.

use anyhow::Result;
use scimd_tests::Server;
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn create_user_returns_201_with_id_meta_location_and_etag() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let r = c
        .post(
            "/Users",
            &json!({"schemas": [USER], "userName": "bjensen", "externalId": "ext-1",
                                "name": {"givenName": "Barbara", "familyName": "Jensen"}}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = r.id();
    assert!(!id.is_empty());
    assert_eq!(r.header("location"), Some(format!("{}/Users/{id}", c.base).as_str()));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.json["meta"]["resourceType"], "User");
    assert_eq!(r.json["meta"]["location"], format!("{}/Users/{id}", c.base));
    assert_eq!(r.json["meta"]["version"], "W/\"1\"");
    assert_eq!(r.json["meta"]["created"], r.json["meta"]["lastModified"]);
    assert_eq!(r.json["externalId"], "ext-1");
    assert_eq!(r.json["schemas"], json!([USER]));
    Ok(())
}

#[tokio::test]
async fn get_user_by_id_returns_what_was_created() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let created = c
        .post(
            "/Users",
            &json!({"schemas": [USER, ENTERPRISE], "userName": "bjensen", "title": "Tour Guide",
                                "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
                                ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m-1"}}}),
        )
        .await?;
    let r = c.get(&format!("/Users/{}", created.id())).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, created.json);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.json[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(r.json["schemas"], json!([USER, ENTERPRISE]));
    Ok(())
}

#[tokio::test]
async fn get_unknown_user_is_404_with_scim_error() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.get("/Users/does-not-exist").await?.assert_error(404, None, "does-not-exist");
    Ok(())
}

#[tokio::test]
async fn password_is_accepted_but_never_returned() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "p", "password": "s3cret!"})).await?;
    assert_eq!(r.status, 201);
    assert!(r.json.get("password").is_none());
    let got = c.get(&format!("/Users/{}?attributes=password,userName", r.id())).await?;
    assert!(got.json.get("password").is_none(), "{}", got.text);
    let hash: Option<String> = server.state.store.read(|conn| {
        Ok(conn.query_row("SELECT password_hash FROM users WHERE username = 'p'", [], |row| row.get(0))?)
    })?;
    assert!(hash.is_some_and(|h| h.starts_with("$argon2")), "only an argon2 hash is stored");
    Ok(())
}

#[tokio::test]
async fn put_replaces_all_writable_attributes_and_bumps_version() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({"title": "Guide", "nickName": "Babs"})).await?;
    let r = c.put(&format!("/Users/{id}"), &json!({"schemas": [USER], "userName": "bjensen", "title": "Boss"})).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["title"], "Boss");
    assert!(r.json.get("nickName").is_none(), "omitted attributes are cleared");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json, r.json);
    Ok(())
}

#[tokio::test]
async fn put_ignores_client_sent_id_and_meta() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({})).await?;
    let r = c
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER], "id": "other", "userName": "bjensen",
                                             "meta": {"version": "W/\"99\"", "created": "2000-01-01T00:00:00Z"}}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.id(), id);
    assert_eq!(r.json["meta"]["version"], "W/\"2\"");
    assert_ne!(r.json["meta"]["created"], "2000-01-01T00:00:00Z");
    Ok(())
}

#[tokio::test]
async fn put_on_unknown_user_is_404() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.put("/Users/nope", &json!({"schemas": [USER], "userName": "x"})).await?.assert_error(404, None, "nope");
    Ok(())
}

#[tokio::test]
async fn delete_user_is_204_then_404() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({})).await?;
    let r = c.delete(&format!("/Users/{id}")).await?;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    c.get(&format!("/Users/{id}")).await?.assert_error(404, None, &id);
    c.delete(&format!("/Users/{id}")).await?.assert_error(404, None, &id);
    let (total, _) = c.ids("/Users").await?;
    assert_eq!(total, 0);
    Ok(())
}

#[tokio::test]
async fn duplicate_user_name_is_409_uniqueness_case_insensitively() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.create_user("bjensen", json!({})).await?;
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "BJensen"})).await?;
    r.assert_error(409, Some("uniqueness"), "BJensen");
    let (total, _) = c.ids("/Users").await?;
    assert_eq!(total, 1, "the store is unchanged");
    Ok(())
}

#[tokio::test]
async fn renaming_onto_a_taken_user_name_is_409() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.create_user("alice", json!({})).await?;
    let bob = c.create_user("bob", json!({})).await?;
    let r = c
        .patch(
            &format!("/Users/{bob}"),
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": "ALICE"}]}),
        )
        .await?;
    r.assert_error(409, Some("uniqueness"), "ALICE");
    assert_eq!(c.get(&format!("/Users/{bob}")).await?.json["userName"], "bob");
    Ok(())
}

#[tokio::test]
async fn deleted_user_name_can_be_reused() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let id = c.create_user("bjensen", json!({})).await?;
    assert_eq!(c.delete(&format!("/Users/{id}")).await?.status, 204);
    let again = c.create_user("bjensen", json!({})).await?;
    assert_ne!(again, id);
    Ok(())
}

#[tokio::test]
async fn every_core_and_enterprise_attribute_round_trips() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    let body = json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA",
                       "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "entitlements": [{"value": "delete-users"}],
        "roles": [{"value": "admin", "primary": true}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENTERPRISE: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                     "division": "Theme Park", "department": "Tour Operations",
                     "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d",
                                 "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d"}}
    });
    let r = c.post("/Users", &body).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let got = c.get(&format!("/Users/{}", r.id())).await?;
    for (k, v) in body.as_object().into_iter().flatten() {
        assert_eq!(&got.json[k], v, "attribute {k}");
    }
    Ok(())
}

/// Writes that arrive together share a commit (see `store::writer`); each is still atomic
/// and fails alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_succeed_or_fail_alone() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let c = c.clone();
        // Every third request repeats an earlier userName.
        let name = if i % 3 == 2 { format!("user{}", i - 2) } else { format!("user{i}") };
        tasks.push(tokio::spawn(async move {
            let body = json!({"schemas": [USER], "userName": name, "emails": [{"value": format!("{name}@x.example")}]});
            c.post("/Users", &body).await.map(|r| r.status)
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await?? {
            201 => created += 1,
            409 => conflicts += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, conflicts), (40, 20));
    let (total, ids) = c.ids("/Users?count=100").await?;
    assert_eq!((total, ids.len()), (40, 40));
    for id in ids {
        let u = c.get(&format!("/Users/{id}")).await?;
        let name = u.json["userName"].as_str().unwrap_or_default().to_string();
        assert_eq!(u.json["emails"][0]["value"], format!("{name}@x.example"), "attributes belong to their user");
    }
    Ok(())
}
