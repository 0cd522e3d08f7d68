//! RFC 7644 §3.4.2.2 filters over HTTP: every operator, `and`/`or`/`not` with precedence and
//! parentheses, `valuePath`, schema-URN paths, case rules, and bad filters answered
//! `400 invalidFilter` (never "everything").

use anyhow::Result;
use scimd_tests::{Client, Server, q};
use serde_json::json;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Three users to filter.
async fn people(c: &Client) -> Result<(String, String, String)> {
    let a = c
        .create_user("alice", json!({"externalId": "E-1", "title": "Engineer", "active": true,
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "emails": [{"value": "alice@work.example", "type": "work", "primary": true}, {"value": "alice@home.example", "type": "home"}],
            ENTERPRISE: {"employeeNumber": "100", "department": "R&D"}}))
        .await?;
    let b = c
        .create_user(
            "Bob",
            json!({"externalId": "e-2", "title": "Manager", "active": false,
            "name": {"givenName": "Bob", "familyName": "Jones"},
            "emails": [{"value": "bob@home.example", "type": "home"}],
            ENTERPRISE: {"employeeNumber": "200", "department": "Sales"}}),
        )
        .await?;
    let c3 = c
        .create_user(
            "carol",
            json!({"title": "Engineer \"Lead\" \\ ops", "active": true,
            "name": {"givenName": "Carol", "familyName": "Smithers"},
            "emails": [{"value": "carol@work.example", "type": "work"}]}),
        )
        .await?;
    Ok((a, b, c3))
}

async fn matching(c: &Client, filter: &str) -> Result<Vec<String>> {
    let (total, mut ids) = c.ids(&format!("/Users?filter={}", q(filter))).await?;
    assert_eq!(total as usize, ids.len(), "totalResults of {filter}");
    ids.sort();
    Ok(ids)
}

fn sorted(mut v: Vec<&String>) -> Vec<String> {
    v.sort();
    v.into_iter().cloned().collect()
}

#[tokio::test]
async fn every_comparison_operator() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, c3) = people(&c).await?;
    assert_eq!(matching(&c, r#"userName eq "alice""#).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"userName ne "alice""#).await?, sorted(vec![&b, &c3]));
    assert_eq!(matching(&c, r#"title co "gine""#).await?, sorted(vec![&a, &c3]));
    assert_eq!(matching(&c, r#"userName sw "ca""#).await?, vec![c3.clone()]);
    assert_eq!(matching(&c, r#"name.familyName ew "ers""#).await?, vec![c3.clone()]);
    assert_eq!(matching(&c, r#"userName gt "bob""#).await?, vec![c3.clone()]);
    assert_eq!(matching(&c, r#"userName ge "bob""#).await?, sorted(vec![&b, &c3]));
    assert_eq!(matching(&c, r#"userName lt "bob""#).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"userName le "bob""#).await?, sorted(vec![&a, &b]));
    assert_eq!(matching(&c, "externalId pr").await?, sorted(vec![&a, &b]));
    Ok(())
}

#[tokio::test]
async fn user_name_matches_case_insensitively_for_every_operator() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, _) = people(&c).await?;
    assert_eq!(matching(&c, r#"userName eq "ALICE""#).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"USERNAME EQ "bob""#).await?, vec![b.clone()]);
    assert_eq!(matching(&c, r#"userName sw "AL""#).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"userName co "LIC""#).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"userName ew "OB""#).await?, vec![b]);
    Ok(())
}

#[tokio::test]
async fn external_id_is_case_exact() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, _, _) = people(&c).await?;
    assert_eq!(matching(&c, r#"externalId eq "E-1""#).await?, vec![a]);
    assert!(matching(&c, r#"externalId eq "e-1""#).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn booleans_and_null() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, c3) = people(&c).await?;
    assert_eq!(matching(&c, "active eq false").await?, vec![b.clone()]);
    assert_eq!(matching(&c, "active eq true").await?, sorted(vec![&a, &c3]));
    assert_eq!(matching(&c, "externalId eq null").await?, vec![c3.clone()]);
    assert_eq!(matching(&c, "externalId ne null").await?, sorted(vec![&a, &b]));
    Ok(())
}

#[tokio::test]
async fn logical_operators_precedence_and_parentheses() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, c3) = people(&c).await?;
    // and binds tighter than or
    assert_eq!(matching(&c, r#"userName eq "bob" or title co "Engineer" and active eq false"#).await?, vec![b.clone()]);
    assert_eq!(
        matching(&c, r#"(userName eq "bob" or title co "Engineer") and active eq true"#).await?,
        sorted(vec![&a, &c3])
    );
    assert_eq!(matching(&c, r#"not (title co "Engineer")"#).await?, vec![b.clone()]);
    assert_eq!(matching(&c, r#"not(userName eq "bob") AND active eq true"#).await?, sorted(vec![&a, &c3]));
    assert_eq!(matching(&c, r#"userName eq "alice" OR userName eq "carol""#).await?, sorted(vec![&a, &c3]));
    Ok(())
}

#[tokio::test]
async fn value_path_filters_match_within_one_element() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, c3) = people(&c).await?;
    assert_eq!(matching(&c, r#"emails[type eq "work"].value eq "alice@work.example""#).await?, vec![a.clone()]);
    assert!(matching(&c, r#"emails[type eq "home"].value eq "alice@work.example""#).await?.is_empty());
    assert_eq!(matching(&c, r#"emails[type eq "work" and value co "carol"]"#).await?, vec![c3.clone()]);
    assert_eq!(matching(&c, r#"emails[type eq "home"]"#).await?, sorted(vec![&a, &b]));
    assert_eq!(matching(&c, r#"emails[primary eq true]"#).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"emails.value eq "BOB@home.example""#).await?, vec![b.clone()]);
    assert_eq!(matching(&c, r#"emails co "example""#).await?, sorted(vec![&a, &b, &c3]));
    assert_eq!(matching(&c, r#"not (emails[type eq "work"])"#).await?, vec![b]);
    Ok(())
}

#[tokio::test]
async fn schema_urn_prefixed_paths() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, _) = people(&c).await?;
    assert_eq!(matching(&c, &format!(r#"{ENTERPRISE}:employeeNumber eq "200""#)).await?, vec![b]);
    assert_eq!(matching(&c, &format!(r#"{ENTERPRISE}:department eq "r&d""#)).await?, vec![a.clone()]);
    assert_eq!(matching(&c, r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "alice""#).await?, vec![a]);
    Ok(())
}

#[tokio::test]
async fn escaped_quotes_and_backslashes_in_values() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (_, _, c3) = people(&c).await?;
    assert_eq!(matching(&c, r#"title eq "Engineer \"Lead\" \\ ops""#).await?, vec![c3]);
    Ok(())
}

#[tokio::test]
async fn date_time_comparisons_on_meta() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, b, c3) = people(&c).await?;
    let created = c.get(&format!("/Users/{b}")).await?.json["meta"]["created"].as_str().unwrap_or_default().to_string();
    let all = sorted(vec![&a, &b, &c3]);
    assert_eq!(matching(&c, r#"meta.created gt "2015-10-10T14:38:21.8617979-07:00""#).await?, all);
    assert!(matching(&c, r#"meta.lastModified lt "2015-10-10T14:38:21Z""#).await?.is_empty());
    let at_b = matching(&c, &format!(r#"meta.created eq "{created}""#)).await?;
    assert!(at_b.contains(&b), "{created}");
    let from_b = matching(&c, &format!(r#"meta.created ge "{created}""#)).await?;
    assert!(from_b.contains(&b) && from_b.contains(&c3));
    Ok(())
}

#[tokio::test]
async fn groups_filter_by_display_name_and_member() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, _, _) = people(&c).await?;
    let g1 = c.create_group("Admins", &[&a]).await?;
    c.create_group("Others", &[]).await?;
    let (total, ids) = c.ids(&format!("/Groups?filter={}", q(r#"displayName eq "admins""#))).await?;
    assert_eq!((total, ids), (1, vec![g1.clone()]));
    let (total, ids) = c.ids(&format!("/Groups?filter={}", q(&format!(r#"members.value eq "{a}""#)))).await?;
    assert_eq!((total, ids), (1, vec![g1.clone()]));
    let (total, ids) = c.ids(&format!("/Users?filter={}", q(&format!(r#"groups.value eq "{g1}""#)))).await?;
    assert_eq!((total, ids), (1, vec![a.clone()]));
    let (total, ids) = c.ids(&format!("/Users?filter={}", q(r#"groups[display eq "Admins"]"#))).await?;
    assert_eq!((total, ids), (1, vec![a]));
    Ok(())
}

#[tokio::test]
async fn a_filter_matching_nothing_is_an_empty_list_response() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let r = c.get(&format!("/Users?filter={}", q(r#"userName eq "7c2d6b7c-unknown""#))).await?;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0,
               "itemsPerPage": 0, "startIndex": 1, "Resources": []})
    );
    Ok(())
}

#[tokio::test]
async fn bad_filters_are_400_invalid_filter() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "strict", &["manage-users"])?;
    people(&c).await?;
    for (filter, mention) in [
        ("userName", "operator"),
        (r#"userName zz "x""#, "zz"),
        (r#"(userName eq "x""#, "')'"),
        (r#"userName eq "x" and"#, "end"),
        (r#"nosuch eq "x""#, "nosuch"),
        (r#"active gt true"#, "boolean"),
        (r#"emails[type eq "work""#, "']'"),
        (r#"userName eq alice"#, "must be a JSON string"),
        (r#"meta.created gt "yesterday""#, "dateTime"),
    ] {
        let r = c.get(&format!("/Users?filter={}", q(filter))).await?;
        r.assert_error(400, Some("invalidFilter"), mention);
    }
    Ok(())
}

#[tokio::test]
async fn unquoted_values_are_accepted_in_entra_mode() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    let (a, _, _) = people(&c).await?;
    assert_eq!(matching(&c, "externalId eq E-1").await?, vec![a.clone()]);
    assert_eq!(
        matching(&c, "name.FamilyName eq Smith and (emails.Value co work.example or emails.Value co example.org)")
            .await?,
        vec![a]
    );
    Ok(())
}
