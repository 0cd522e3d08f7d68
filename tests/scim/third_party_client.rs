//! Interoperability with a SCIM client that scimd's authors did not write: scim2-client, a
//! Python library from PyPI (pinned in tests/clients/python/requirements.txt), discovers a realm
//! from its /ServiceProviderConfig, /ResourceTypes and /Schemas, then creates, filters, patches
//! (with If-Match) and deletes users and groups through scimd, validating every response against
//! the RFCs and the published schemas. The walkthrough itself is
//! tests/clients/python/scim2_client_walkthrough.py; this test serves a realm and runs it.
//!
//! The library lives in the virtualenv target/pyclient, which scripts/test.sh makes. Without it
//! this test fails (it never skips): run scripts/test.sh once, or make the venv by hand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use scimd_tests::Server;

#[tokio::test(flavor = "multi_thread")]
async fn scim2_client_from_pypi_provisions_users_and_groups() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().context("workspace root")?.to_path_buf();
    let python = root.join("target/pyclient/bin/python");
    let script = root.join("tests/clients/python/scim2_client_walkthrough.py");
    if !python.exists() {
        bail!(
            "{} does not exist: the third-party SCIM client is not installed. Run scripts/test.sh \
             (it makes the venv target/pyclient and pip-installs tests/clients/python/requirements.txt), \
             or by hand: python3 -m venv target/pyclient && \
             target/pyclient/bin/pip install -r tests/clients/python/requirements.txt",
            python.display()
        );
    }

    let server = Server::start().await?;
    let client = server.realm("pyclient", "entra", &["manage-users"])?;
    let token = client.token.clone().context("the realm's client has no token")?;

    let mut command = tokio::process::Command::new(&python);
    command
        .arg(&script)
        .current_dir(&root)
        .env("SCIMD_URL", &client.base)
        .env("SCIMD_TOKEN", &token)
        .env("PYTHONUNBUFFERED", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .context("the scim2-client walkthrough did not finish within 120 s")?
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "the scim2-client walkthrough failed ({}) against {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status,
            client.base
        );
    }
    assert!(
        stdout.contains("all checks passed"),
        "the walkthrough exited 0 without finishing\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    Ok(())
}
