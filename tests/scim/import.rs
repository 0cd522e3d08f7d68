//! `scimd import`: users loaded offline go through the realm's engine like `POST /Users`
//! bodies, each atomic; refused lines are reported by number and lose nothing else.

use anyhow::Result;
use scimd_tests::{Server, q};

#[tokio::test(flavor = "multi_thread")]
async fn import_loads_valid_lines_and_reports_refused_ones_by_number() -> Result<()> {
    let server = Server::start().await?;
    let c = server.realm("r", "entra", &["manage-users"])?;
    c.create_user("taken", serde_json::json!({})).await?;
    let input = [
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann","emails":[{"value":"ann@example.com"}]}"#,
        "",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}"#,
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"TAKEN"}"#,
        "not json",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob","active":false}"#,
    ]
    .join("\n");
    let state = server.state.clone();
    let report =
        tokio::task::spawn_blocking(move || scimd::import::users(&state, "r", input.as_bytes(), |_| {})).await??;
    assert_eq!((report.imported, report.refused), (2, 3));
    let lines: Vec<u64> = report.refusals.iter().map(|(n, _)| *n).collect();
    assert_eq!(lines, [3, 4, 5], "{:?}", report.refusals);
    assert!(report.refusals[1].1.contains("taken") || report.refusals[1].1.to_lowercase().contains("already"));
    // What was imported is served like any user.
    let r = c.get(&format!("/Users?filter={}", q(r#"emails.value eq "ann@example.com""#))).await?;
    assert_eq!(r.json["totalResults"], 1, "{}", r.text);
    let r = c.get(&format!("/Users?filter={}", q(r#"userName eq "bob""#))).await?;
    assert_eq!(r.json["Resources"][0]["active"], false);
    assert_eq!(c.get("/Users?count=0").await?.json["totalResults"], 3);
    Ok(())
}
