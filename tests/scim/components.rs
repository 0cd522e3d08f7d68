//! Per-realm engine components: deploy, inspect, roll back, survive a restart, swap under
//! traffic; and the deliberately bad guests of `tests/guests/` (a trap, an endless loop,
//! unbounded allocation, the wrong world), each refused at deploy or contained in the one
//! request that hit it while the host goes on serving every realm.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use scimd_tests::guests::{custom_mapping, misbehaving, wrong_world};
use scimd_tests::oauth::Admin;
use scimd_tests::{Client, Server};
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const HR: &str = "urn:acme:params:scim:schemas:extension:hr:1.0:User";

/// A realm `name` with a SCIM client that may write.
async fn realm(server: &Server, admin: &Admin, name: &str) -> Result<Client> {
    admin.create_realm(name).await?;
    Ok(Client::new(
        server.url(&format!("/realms/{name}/scim/v2")),
        Some(server.token(server.realm_id(name)?, &["manage-users"])?),
    ))
}

/// A user the custom mapping shows differently: mixed-case userName, a name, no displayName.
async fn barbara(c: &Client) -> Result<String> {
    c.create_user("BJensen", json!({"name": {"givenName": "Barbara", "familyName": "Jensen"}})).await
}

fn sha256(bytes: &[u8]) -> String {
    scimd::runtime::component_hash(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployed_component_serves_the_realm_and_rollback_restores_the_previous_one() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let id = barbara(&c).await?;
    let before = c.get(&format!("/Users/{id}")).await?.json;
    assert_eq!((before["userName"].as_str(), before.get("displayName")), (Some("BJensen"), None));

    let wasm = custom_mapping()?;
    let r = admin.put_bytes("/realms/r/scim/component", wasm.clone()).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["version"], 1);
    assert_eq!(r.json["hash"], sha256(&wasm));
    assert_eq!(r.json["apiVersion"], "0.2.0");
    assert_eq!(r.json["active"], true);

    // The existing user renders through the new engine; new writes go through it too.
    let after = c.get(&format!("/Users/{id}")).await?.json;
    assert_eq!(after["userName"], "bjensen");
    assert_eq!(after["displayName"], "Barbara Jensen");
    let made =
        c.post("/Users", &json!({"schemas": [USER, HR], "userName": "ALICE", HR: {"costCenter": "CC-7"}})).await?;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.json["userName"], "alice");
    let (total, _) =
        c.ids(&format!("/Users?filter={}", scimd_tests::q(&format!(r#"{HR}:costCenter eq "CC-7""#)))).await?;
    assert_eq!(total, 1, "the HR extension filters");
    let schemas = c.get("/Schemas").await?.json;
    assert!(schemas["Resources"].as_array().into_iter().flatten().any(|s| s["id"] == HR), "{schemas}");

    // Inspect and list.
    let list = admin.get("/realms/r/scim/components").await?.json;
    let versions: Vec<(i64, bool)> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (d["version"].as_i64().unwrap_or(-1), d["active"] == true))
        .collect();
    assert_eq!(versions, vec![(0, false), (1, true)]);
    let one = admin.get("/realms/r/scim/components/1").await?;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(
        (one.json["hash"].as_str(), one.json["size"].as_u64()),
        (Some(sha256(&wasm).as_str()), Some(wasm.len() as u64))
    );
    assert!(one.json["deployedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", one.text);
    assert!(one.json["deployedBy"].is_string(), "{}", one.text);
    assert_eq!(admin.get("/realms/r/scim/components/7").await?.status, 404);

    // Roll back (to the built-in engine), then forward to version 1 by number.
    let r = admin.post("/realms/r/scim/component/rollback", &json!({})).await?;
    assert_eq!((r.status, r.json["version"].as_i64()), (200, Some(0)), "{}", r.text);
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json, before);
    let r = admin.post("/realms/r/scim/component/rollback?to=1", &json!({})).await?;
    assert_eq!((r.status, r.json["version"].as_i64()), (200, Some(1)), "{}", r.text);
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json["userName"], "bjensen");
    admin
        .post("/realms/r/scim/component/rollback?to=9", &json!({}))
        .await?
        .assert_admin_error(404, "no component version 9");

    // Deploys and rollbacks are admin events.
    let events = admin.events("r").await?;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["resourceType"] == "SCIM_COMPONENT")
        .map(|e| (e["operationType"].as_str().unwrap_or(""), e["resourcePath"].as_str().unwrap_or("")))
        .collect();
    for expected in [("CREATE", "scim/components/1"), ("ACTION", "scim/components/0"), ("ACTION", "scim/components/1")]
    {
        assert!(kinds.contains(&expected), "{expected:?} in {kinds:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn deployments_survive_a_restart() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let id = barbara(&c).await?;
    assert_eq!(admin.put_bytes("/realms/r/scim/component", custom_mapping()?).await?.status, 201);

    let server = server.restart().await?;
    let c = Client::new(server.url("/realms/r/scim/v2"), c.token.clone());
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json["userName"], "bjensen", "the realm still runs version 1");
    let admin = Admin::master(&server).await?;
    let list = admin.get("/realms/r/scim/components").await?.json;
    assert_eq!(list[1]["version"], 1);
    assert_eq!(list[1]["active"], true);
    Ok(())
}

/// The cache entry of a component (see `runtime::ComponentCache`).
fn cache_entry(server: &Server, component: &[u8]) -> Result<std::path::PathBuf> {
    let prefix = format!("{}.", sha256(component));
    let dir = server.data_dir().join("component-cache");
    std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".cwasm"))
        })
        .ok_or_else(|| anyhow::anyhow!("no cache entry for the component in {}", dir.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployed_component_is_cached_compiled_and_a_damaged_entry_is_rebuilt_never_loaded() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let id = barbara(&c).await?;
    let wasm = custom_mapping()?;
    assert_eq!(admin.put_bytes("/realms/r/scim/component", wasm.clone()).await?.status, 201);
    // Deploying compiled it once; the compiled form is on disk.
    let entry = cache_entry(&server, &wasm)?;
    let good = std::fs::read(&entry)?;

    // A restart loads it from there and the realm answers as before.
    let mut server = server.restart().await?;
    let c = Client::new(server.url("/realms/r/scim/v2"), c.token.clone());
    assert_eq!(c.with_base(&server).get(&format!("/Users/{id}")).await?.json["userName"], "bjensen");

    // Damaged on disk (a flipped bit in the compiled code, then a truncation): detected,
    // compiled again from the stored component, and the entry rewritten whole.
    for damage in [0usize, 1] {
        let mut bad = good.clone();
        if damage == 0 {
            let at = bad.len() / 2;
            bad[at] ^= 0x40;
        } else {
            bad.truncate(bad.len() / 3);
        }
        std::fs::write(&entry, &bad)?;
        server = server.restart().await?;
        let r = c.with_base(&server).get(&format!("/Users/{id}")).await?;
        assert_eq!(r.json["userName"], "bjensen", "damage {damage}: {}", r.text);
        assert_eq!(std::fs::read(&entry)?, good, "damage {damage}: the entry is compiled anew, not loaded");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_of_another_wit_version_is_refused_and_nothing_changes() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let id = barbara(&c).await?;
    let r = admin.put_bytes("/realms/r/scim/component", wrong_world()?).await?;
    r.assert_admin_error(400, "does not export the `scim:engine/engine` interface of a version this scimd runs");
    assert_eq!(admin.get("/realms/r/scim/components").await?.json.as_array().map(Vec::len), Some(1), "nothing stored");
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json["userName"], "BJensen");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bytes_that_are_not_a_component_are_refused() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    realm(&server, &admin, "r").await?;
    // Text, a core wasm module (not a component), and nothing at all.
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    for (bytes, detail) in [
        (b"hello".to_vec(), "not a valid WebAssembly component"),
        (core_module, "not a valid WebAssembly component"),
        (Vec::new(), "must be the component's .wasm bytes"),
    ] {
        admin.put_bytes("/realms/r/scim/component", bytes).await?.assert_admin_error(400, detail);
    }
    assert_eq!(admin.get("/realms/r/scim/components").await?.json.as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_steps_back_along_the_realms_history_not_to_the_next_lower_number() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    realm(&server, &admin, "r").await?;
    let deploy = |wasm: Vec<u8>| {
        let admin = &admin;
        async move {
            let r = admin.put_bytes("/realms/r/scim/component", wasm).await?;
            assert_eq!(r.status, 201, "{}", r.text);
            anyhow::Ok(r.json["version"].as_i64())
        }
    };
    let rollback = || async {
        let r = admin.post("/realms/r/scim/component/rollback", &json!({})).await?;
        assert_eq!(r.status, 200, "{}", r.text);
        anyhow::Ok(r.json["version"].as_i64())
    };
    let active = || async {
        let list = admin.get("/realms/r/scim/components").await?.json;
        anyhow::Ok(
            list.as_array().into_iter().flatten().find(|d| d["active"] == true).and_then(|d| d["version"].as_i64()),
        )
    };
    assert_eq!(deploy(custom_mapping()?).await?, Some(1));
    assert_eq!(deploy(misbehaving()?).await?, Some(2), "a version that turns out bad");
    assert_eq!(rollback().await?, Some(1));
    assert_eq!(deploy(custom_mapping()?).await?, Some(3));
    assert_eq!(rollback().await?, Some(1), "back to what ran before 3, not to the bad 2");
    assert_eq!(active().await?, Some(1));
    assert_eq!(rollback().await?, Some(0), "and once more, to what ran before 1");
    assert_eq!(active().await?, Some(0));
    admin.post("/realms/r/scim/component/rollback", &json!({})).await?.assert_admin_error(400, "nothing to roll back");
    // Going to a version by number is a step of the history too; repeating it is not another.
    for _ in 0..2 {
        let r = admin.post("/realms/r/scim/component/rollback?to=3", &json!({})).await?;
        assert_eq!((r.status, r.json["version"].as_i64()), (200, Some(3)), "{}", r.text);
    }
    assert_eq!(rollback().await?, Some(0), "back to what ran before 3");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_realm_whose_profile_refuses_plain_users_can_still_deploy_and_roll_back() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let r = admin.post("/realms", &json!({"realm": "r", "scimCompatibility": "strict"})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = Client::new(server.url("/realms/r/scim/v2"), Some(server.token(server.realm_id("r")?, &["manage-users"])?));
    // Strict, with a profile that does not map displayName, and a required extension: the
    // self-test's plain user would be refused by this configuration.
    let r = admin
        .put(
            "/realms/r/scim/extensions",
            &json!([{"schema": "urn:acme:params:scim:schemas:extension:badge:1.0:User", "required": true,
                     "attributes": [{"name": "badge", "type": "string", "required": true}]}]),
        )
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = admin.put("/realms/r/users/profile", &json!({"attributes": [{"name": "username"}]})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = c.post("/Users", &json!({"schemas": [USER], "userName": "plain", "displayName": "Plain"})).await?;
    assert_eq!(r.status, 400, "the realm refuses what the self-test sends: {}", r.text);

    let r = admin.put_bytes("/realms/r/scim/component", custom_mapping()?).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = admin.post("/realms/r/scim/component/rollback", &json!({})).await?;
    assert_eq!((r.status, r.json["version"].as_i64()), (200, Some(0)), "{}", r.text);
    let r = admin.post("/realms/r/scim/component/rollback?to=1", &json!({})).await?;
    assert_eq!((r.status, r.json["version"].as_i64()), (200, Some(1)), "{}", r.text);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_larger_than_the_limit_is_413_and_nothing_is_stored() -> Result<()> {
    let server = Server::start_with(|s| s.max_component = 1 << 20).await?;
    let admin = Admin::master(&server).await?;
    realm(&server, &admin, "r").await?;
    let r = admin.put_bytes("/realms/r/scim/component", vec![0u8; (1 << 20) + 1]).await?;
    r.assert_admin_error(413, "1048576");
    assert_eq!(admin.get("/realms/r/scim/components").await?.json.as_array().map(Vec::len), Some(1));
    Ok(())
}

/// A server with short guest limits, a realm `bad` running the misbehaving guest and a realm
/// `good` on the built-in engine.
async fn bad_and_good() -> Result<(Server, Admin, Client, Client)> {
    bad_and_good_with_deadline(Duration::from_millis(300)).await
}

async fn bad_and_good_with_deadline(deadline: Duration) -> Result<(Server, Admin, Client, Client)> {
    let server = Server::start_with(|s| {
        s.guest_deadline = deadline;
        s.guest_memory = 32 << 20;
    })
    .await?;
    let admin = Admin::master(&server).await?;
    let bad = realm(&server, &admin, "bad").await?;
    let good = realm(&server, &admin, "good").await?;
    let r = admin.put_bytes("/realms/bad/scim/component", misbehaving()?).await?;
    assert_eq!(r.status, 201, "the misbehaving guest passes its self-test: {}", r.text);
    Ok((server, admin, bad, good))
}

/// After a contained failure: nothing was stored, the realm and its neighbour still serve,
/// and the failure is an admin event of the realm.
async fn still_serving(admin: &Admin, bad: &Client, good: &Client, cause: &str) -> Result<()> {
    assert_eq!(bad.ids(&format!("/Users?filter={}", scimd_tests::q("userName eq \"trap\" or userName eq \"unreachable\" or userName eq \"sleep\" or userName eq \"loop\" or userName eq \"oom\""))).await?.0, 0);
    let r = bad.post("/Users", &json!({"schemas": [USER], "userName": format!("after-{cause}")})).await?;
    assert_eq!(r.status, 201, "the realm serves its next request: {}", r.text);
    let r = good.post("/Users", &json!({"schemas": [USER], "userName": format!("neighbour-after-{cause}")})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    // The failure event is written after the response; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let events = admin.events("bad").await?;
        if events.iter().any(|e| {
            e["resourceType"] == "SCIM_ENGINE_FAILURE"
                && e["representation"].as_str().is_some_and(|r| r.contains(cause))
        }) {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "no SCIM_ENGINE_FAILURE event naming '{cause}' in {events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_traps_fails_only_that_request() -> Result<()> {
    let (_server, admin, bad, good) = bad_and_good().await?;
    let r = bad.post("/Users", &json!({"schemas": [USER], "userName": "trap"})).await?;
    // A Rust engine's panic first writes its message to stderr, which engines may not do.
    r.assert_error(500, None, "the SCIM engine failed: it tried to write to stderr");
    still_serving(&admin, &bad, &good, "stderr").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_writes_an_attribute_twice_is_an_engine_fault() -> Result<()> {
    let (_server, admin, bad, good) = bad_and_good().await?;
    let r = bad.post("/Users", &json!({"schemas": [USER], "userName": "twice"})).await?;
    // The engine's fault, not the client's: 500, naming the engine, and nothing stored.
    r.assert_error(500, None, "the engine wrote attribute 'scim.title' twice (engine 'scimd-default')");
    assert_eq!(bad.ids(&format!("/Users?filter={}", scimd_tests::q("userName eq \"twice\""))).await?.0, 0);
    still_serving(&admin, &bad, &good, "attribute 'scim.title' twice").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_executes_unreachable_fails_only_that_request() -> Result<()> {
    let (_server, admin, bad, good) = bad_and_good().await?;
    let r = bad.post("/Users", &json!({"schemas": [USER], "userName": "unreachable"})).await?;
    r.assert_error(500, None, "wasm `unreachable` instruction executed");
    still_serving(&admin, &bad, &good, "unreachable").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_blocks_on_wasi_fails_only_that_request() -> Result<()> {
    let (_server, admin, bad, good) = bad_and_good().await?;
    let r = bad.post("/Users", &json!({"schemas": [USER], "userName": "sleep"})).await?;
    r.assert_error(500, None, "blocking WASI function");
    still_serving(&admin, &bad, &good, "blocking WASI").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_guest_that_loops_forever_is_stopped_at_its_deadline() -> Result<()> {
    // A deadline long enough that the neighbour is surely served while the guest spins, however
    // loaded the machine.
    let (_server, admin, bad, good) = bad_and_good_with_deadline(Duration::from_secs(2)).await?;
    let looping = {
        let bad = bad.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = bad.post("/Users", &json!({"schemas": [USER], "userName": "loop"})).await;
            (r, started.elapsed())
        })
    };
    // While the guest spins, the other realm answers.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = good.get("/Users?count=1").await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!looping.is_finished(), "the looping request is still running while the neighbour is served");
    let (r, took) = looping.await?;
    let r = r?;
    r.assert_error(503, None, "did not answer within 2000 ms");
    assert!(took < Duration::from_secs(10), "stopped at its deadline, not left running ({took:?})");
    still_serving(&admin, &bad, &good, "2000 ms").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_looping_requests_than_workers_do_not_stall_other_realms() -> Result<()> {
    let (_server, admin, bad, good) = bad_and_good_with_deadline(Duration::from_secs(2)).await?;
    let looping = json!({"schemas": [USER], "userName": "loop"});
    // The first time-out makes the realm's engine suspect …
    bad.post("/Users", &looping).await?.assert_error(503, None, "did not answer within 2000 ms");
    // … so that its calls no longer hold the workers every realm is served by: with twice as
    // many loopers as workers spinning, the neighbour is answered before any of them stops.
    // (Held workers would keep it waiting for at least one deadline.)
    let loopers: Vec<_> = (0..4)
        .map(|_| {
            let (bad, looping) = (bad.clone(), looping.clone());
            tokio::spawn(async move { bad.post("/Users", &looping).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = good.get("/Users?count=1").await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let spinning = loopers.iter().filter(|l| !l.is_finished()).count();
    assert_eq!(spinning, 4, "the neighbour was served while every looper still ran");
    for l in loopers {
        l.await??.assert_error(503, None, "did not answer within 2000 ms");
    }
    still_serving(&admin, &bad, &good, "2000 ms").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_allocates_without_bound_hits_its_memory_cap() -> Result<()> {
    let (_server, admin, bad, good) = bad_and_good().await?;
    let r = bad.post("/Users", &json!({"schemas": [USER], "userName": "oom"})).await?;
    r.assert_error(500, None, "memory limit of 32 MiB exceeded");
    still_serving(&admin, &bad, &good, "memory limit").await
}

/// One response seen by the steady client: when its request started and ended (relative to
/// the test's start), its status and the `userName` it showed.
struct Seen {
    started: Duration,
    ended: Duration,
    status: u16,
    user_name: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hot_swap_under_steady_traffic_fails_no_request_and_changes_answers_at_the_swap() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let id = barbara(&c).await?;
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (c, stop, path) = (c.clone(), stop.clone(), format!("/Users/{id}"));
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = t0.elapsed();
                let r = c.get(&path).await;
                let ended = t0.elapsed();
                let (status, user_name) = match r {
                    Ok(r) => (r.status, r.json["userName"].as_str().unwrap_or_default().to_string()),
                    Err(e) => (0, e.to_string()),
                };
                seen.push(Seen { started, ended, status, user_name });
            }
            seen
        }));
    }
    let pause = || tokio::time::sleep(Duration::from_millis(300));
    pause().await;
    let deploy_started = t0.elapsed();
    let r = admin.put_bytes("/realms/r/scim/component", custom_mapping()?).await?;
    let deploy_done = t0.elapsed();
    assert_eq!(r.status, 201, "{}", r.text);
    pause().await;
    let rollback_started = t0.elapsed();
    let r = admin.post("/realms/r/scim/component/rollback", &json!({})).await?;
    let rollback_done = t0.elapsed();
    assert_eq!(r.status, 200, "{}", r.text);
    pause().await;
    stop.store(true, Ordering::Relaxed);
    let mut per_client = Vec::new();
    for client in clients {
        per_client.push(client.await?);
    }
    let seen: Vec<&Seen> = per_client.iter().flatten().collect();

    let failed: Vec<_> = seen.iter().filter(|s| s.status != 200).map(|s| (s.status, &s.user_name)).collect();
    assert!(failed.is_empty(), "{} of {} requests failed: {failed:?}", failed.len(), seen.len());
    let (mut old_before, mut new_between, mut old_after) = (0, 0, 0);
    for s in &seen {
        let expected = if s.ended < deploy_started {
            old_before += 1;
            "BJensen"
        } else if s.started > deploy_done && s.ended < rollback_started {
            new_between += 1;
            "bjensen"
        } else if s.started > rollback_done {
            old_after += 1;
            "BJensen"
        } else {
            // In flight during a swap: either engine's answer is right.
            assert!(["BJensen", "bjensen"].contains(&s.user_name.as_str()), "{}", s.user_name);
            continue;
        };
        assert_eq!(s.user_name, expected, "a request from {:?} to {:?}", s.started, s.ended);
    }
    assert!(
        old_before > 0 && new_between > 0 && old_after > 0,
        "traffic in every phase: {old_before}/{new_between}/{old_after}"
    );

    // Each client's answers change once per swap, never back and forth.
    for answers in &per_client {
        let mut changes: Vec<&str> = answers.iter().map(|s| s.user_name.as_str()).collect();
        changes.dedup();
        assert_eq!(changes, ["BJensen", "bjensen", "BJensen"], "one client's answers, in order");
    }
    // And the swap is one moment for all: once any request has seen the new engine, every
    // request started after that sees it (until the rollback), and likewise back.
    let first_new = seen.iter().filter(|s| s.user_name == "bjensen").map(|s| s.ended).min();
    let first_new = first_new.ok_or_else(|| anyhow::anyhow!("no request saw the new engine"))?;
    for s in seen.iter().filter(|s| s.started > first_new && s.ended < rollback_started) {
        assert_eq!(
            s.user_name, "bjensen",
            "a request from {:?} to {:?}, after the swap at {first_new:?}",
            s.started, s.ended
        );
    }
    let first_old =
        seen.iter().filter(|s| s.started > rollback_started && s.user_name == "BJensen").map(|s| s.ended).min();
    let first_old = first_old.ok_or_else(|| anyhow::anyhow!("no request saw the rollback"))?;
    for s in seen.iter().filter(|s| s.started > first_old) {
        assert_eq!(
            s.user_name, "BJensen",
            "a request from {:?} to {:?}, after the rollback at {first_old:?}",
            s.started, s.ended
        );
    }
    Ok(())
}

/// The custom-mapping example as built against `scim:engine@0.1.0`
/// (`tests/fixtures/engines-v0.1`): engines built for 0.1 keep running on this host.
const CUSTOM_MAPPING_V0_1: &[u8] = include_bytes!("../fixtures/engines-v0.1/custom-mapping.wasm");

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_built_for_wit_0_1_deploys_serves_pages_and_rolls_back() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let id = barbara(&c).await?;
    let r = admin.put_bytes("/realms/r/scim/component", CUSTOM_MAPPING_V0_1.to_vec()).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["apiVersion"], "0.1.0");

    // One resource, a page (rendered one resource at a time for a 0.1 engine), and writes.
    let one = c.get(&format!("/Users/{id}")).await?;
    assert_eq!(
        (one.json["userName"].as_str(), one.json["displayName"].as_str()),
        (Some("bjensen"), Some("Barbara Jensen"))
    );
    let made = c.post("/Users", &json!({"schemas": [USER], "userName": "ALICE"})).await?;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.json["userName"], "alice");
    let page = c.get("/Users?count=10").await?;
    assert_eq!(page.status, 200, "{}", page.text);
    let names: Vec<&str> =
        page.json["Resources"].as_array().into_iter().flatten().filter_map(|u| u["userName"].as_str()).collect();
    assert_eq!(names, ["bjensen", "alice"]);
    // Cursors are the host's: a 0.1 engine pages by cursor too, and the host advertises it.
    let first = c.get("/Users?count=1&cursor=").await?;
    let next = first.json["nextCursor"].as_str().unwrap_or_default();
    let second = c.get(&format!("/Users?count=1&cursor={next}")).await?;
    assert_eq!(
        (&first.json["Resources"][0]["userName"], &second.json["Resources"][0]["userName"]),
        (&json!("bjensen"), &json!("alice"))
    );
    assert!(second.json.get("nextCursor").is_none(), "{}", second.text);
    let spc = c.get("/ServiceProviderConfig").await?;
    assert_eq!(spc.json["pagination"]["cursor"], true, "{}", spc.text);
    let group = c.create_group("Tour Guides", &[&id]).await?;
    let g = c.get(&format!("/Groups/{group}")).await?;
    assert_eq!(g.json["members"][0]["value"], id.as_str());

    let back = admin.post("/realms/r/scim/component/rollback", &json!({})).await?;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(c.get(&format!("/Users/{id}")).await?.json["userName"], "BJensen", "the default engine again");
    Ok(())
}

/// A realm whose stored engine no longer starts (its component's bytes no longer link, or its
/// configuration is refused) is the engine's fault: every request answers 500 naming the
/// component version and the cause, never a 400 blaming the client.
#[tokio::test]
async fn a_stored_engine_that_no_longer_starts_is_a_500_naming_its_version() -> Result<()> {
    let server = Server::start().await?;
    let admin = Admin::master(&server).await?;
    let c = realm(&server, &admin, "r").await?;
    let r = admin.put_bytes("/realms/r/scim/component", misbehaving()?).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(c.get("/Users").await?.status, 200);
    // What a damaged or hand-edited database holds: other bytes under the deployed version.
    let db = rusqlite::Connection::open(server.state.store.path())?;
    db.busy_timeout(Duration::from_secs(5))?;
    db.execute(
        "UPDATE components SET wasm = ?1, hash = 'not-the-deployed-one' WHERE realm_id = (SELECT id FROM realms WHERE name = 'r')",
        [wrong_world()?],
    )?;
    db.execute("UPDATE realms SET settings_version = settings_version + 1 WHERE name = 'r'", [])?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = c.get("/Users").await?;
        if r.status != 200 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    r.assert_error(500, None, "component version 1 could not be started for this realm");
    // A profile the engine refuses, stored behind the admin API's back: the same.
    db.execute("UPDATE components SET wasm = ?1, hash = 'again-another' WHERE realm_id = (SELECT id FROM realms WHERE name = 'r')", [misbehaving()?])?;
    db.execute("UPDATE realms SET profile = '[1]', settings_version = settings_version + 1 WHERE name = 'r'", [])?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = c.get("/Users").await?;
        if r.text.contains("profile") || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    r.assert_error(500, None, "component version 1 refused this realm's configuration: profile must be an object");
    Ok(())
}
