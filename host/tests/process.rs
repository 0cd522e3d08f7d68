//! The `scimd` binary as operators run it: the offline commands, and a server process that
//! is killed with SIGKILL and restarted on the same data directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const BIN: &str = env!("CARGO_BIN_EXE_scimd");

fn scimd(args: &[&str], data: &Path) -> std::process::Output {
    Command::new(BIN).args(args).arg("--data-dir").arg(data).output().expect("scimd runs")
}

/// Starts `scimd serve` on a free port; returns the child and its base URL.
fn serve(data: &Path) -> Result<(Child, String)> {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("SCIMD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let Some(line) = lines.next() else { break };
        let line = line?;
        if let Some(url) = line.strip_prefix("scimd listening on ") {
            // Keep draining stderr so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Ok((child, url.trim().to_string()));
        }
    }
    let _ = child.kill();
    Err("scimd did not report its address".into())
}

#[test]
fn token_create_prints_only_the_token() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = scimd(&["realm", "create", "acme"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "manage-users"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout)?;
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("scimd_") && stdout.trim().len() > 40, "{stdout:?}");
    Ok(())
}

#[test]
fn offline_commands_fail_clearly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = scimd(&["token", "create", "--realm", "ghost", "--role", "manage-users"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("realm 'ghost' does not exist"));
    assert!(scimd(&["realm", "create", "acme"], dir.path()).status.success());
    let out = scimd(&["realm", "create", "acme"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "superuser"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role 'superuser'"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_kill_9() -> Result<()> {
    let dir = tempfile::tempdir()?;
    assert!(scimd(&["realm", "create", "acme"], dir.path()).status.success());
    let out = scimd(&["token", "create", "--realm", "acme", "--role", "manage-users"], dir.path());
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let (mut child, url) = serve(dir.path())?;
    let http = reqwest::Client::new();
    let base = format!("{url}/realms/acme/scim/v2");
    let mut ids = Vec::new();
    for i in 0..200 {
        let r = http
            .post(format!("{base}/Users"))
            .bearer_auth(&token)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}")}))
            .send()
            .await?;
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await?;
        ids.push(body["id"].as_str().unwrap_or_default().to_string());
    }
    let group = http
        .post(format!("{base}/Groups"))
        .bearer_auth(&token)
        .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g", "members": [{"value": ids[0]}]}))
        .send()
        .await?;
    assert_eq!(group.status(), 201);
    child.kill()?; // SIGKILL: no shutdown, no checkpoint.
    child.wait()?;

    let (mut child, url) = serve(dir.path())?;
    let base = format!("{url}/realms/acme/scim/v2");
    for id in &ids {
        let r = http.get(format!("{base}/Users/{id}")).bearer_auth(&token).send().await?;
        assert_eq!(r.status(), 200, "user {id} was acknowledged but is gone");
    }
    let list: serde_json::Value = http
        .get(format!("{base}/Groups?filter=displayName%20eq%20%22g%22"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["members"][0]["value"], ids[0]);
    child.kill()?;
    child.wait()?;
    Ok(())
}
