//! A data directory of an older scimd (schema 3, `tests/fixtures/schema-v3`) opens under this
//! one: its schema is migrated in place, what it held is still there and works, and what
//! schema 3 let go wrong is put right (a deleted administrator's role mapping, left behind for
//! the next user's key, is gone; administrators are protected from then on).

use anyhow::Result;
use scimd_tests::oauth::{Admin, password_login, scim};
use scimd_tests::{Server, q};
use serde_json::json;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/schema-v3/scimd.db");
const SECRET: &str = "scimd_ei5Sg4ph3NGnYckDqlWyfAVd_Kg7Rlmp0oVUfNQDu5s";
const ALICE: &str = "a707828b-df93-4b55-a438-543efb28a71e";
const BOB: &str = "2c76ded8-3578-4005-b775-994008278e60";
const STAFF: &str = "230cda09-c457-4f06-a6d3-59b7813e4815";

async fn migrated() -> Result<Server> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(FIXTURE, dir.path().join("scimd.db"))?;
    Server::start_on(dir).await
}

#[tokio::test]
async fn a_schema_3_data_directory_is_migrated_and_keeps_working() -> Result<()> {
    let server = migrated().await?;
    let db = rusqlite::Connection::open(server.data_dir().join("scimd.db"))?;
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(version, 4);
    // The secret token made by the old build works; the group and its member are there.
    let c = scim(&server, "r", Some(SECRET.to_string()));
    assert_eq!(c.ids(&format!("/Users?filter={}", q("userName eq \"bob\""))).await?.1, vec![BOB.to_string()]);
    let staff = c.get(&format!("/Groups/{STAFF}")).await?;
    assert_eq!(staff.json["members"][0]["value"], BOB, "{}", staff.text);
    // The administrator logs in through admin-cli as before.
    let admin = Admin::master(&server).await?;
    assert_eq!(admin.get("/realms/r").await?.status, 200);
    // alice holds manage-realm: protected from the provisioning token from now on.
    let reset = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "password", "value": "Mallory-1"}]});
    c.patch(&format!("/Users/{ALICE}"), &reset).await?.assert_error(403, None, "administrative role");
    admin.login_client("r", "app").await?;
    assert_eq!(password_login(&server, "r", ("app", None), "alice", "Alice-Secret-1").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_deleted_administrators_leftover_mapping_does_not_reach_the_next_user() -> Result<()> {
    let server = migrated().await?;
    let db = rusqlite::Connection::open(server.data_dir().join("scimd.db"))?;
    let orphans: i64 =
        db.query_row("SELECT count(*) FROM role_mappings WHERE user_pk NOT IN (SELECT pk FROM users)", [], |r| {
            r.get(0)
        })?;
    assert_eq!(orphans, 0);
    let c = scim(&server, "r", Some(SECRET.to_string()));
    let next = c.create_user("next", json!({})).await?;
    let admin = Admin::master(&server).await?;
    let mappings = admin.get(&format!("/realms/r/users/{next}/role-mappings")).await?;
    assert_eq!(mappings.json["clientMappings"], json!({}), "{}", mappings.text);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "Next"}]});
    assert_eq!(c.patch(&format!("/Users/{next}"), &patch).await?.status, 200, "an ordinary user");
    Ok(())
}
