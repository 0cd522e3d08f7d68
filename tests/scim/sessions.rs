//! Sessions and the token endpoint's defences: refresh tokens rotate and a reused one ends its
//! session; logout and revocation (RFC 7009) end sessions; sessions have idle and maximum
//! lifespans; disabling, deleting, re-passwording or re-roling a user, or disabling its
//! client, ends its sessions and its access tokens at once; failed logins lock a name out
//! (brute-force detection) until the lockout passes or an administrator clears it; password
//! hashing is bounded.

use std::time::Duration;

use anyhow::Result;
use scimd_tests::oauth::{Admin, jwt_claims, oidc_post, password_login, refresh, scim, token_request};
use scimd_tests::{Resp, Server};
use serde_json::{Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A realm `r` with a user `alice` (password `Alice-Secret-1`, no administrative role, so that
/// SCIM may change her), the login client `app`, and the master admin.
struct Login {
    server: Server,
    admin: Admin,
    alice: String,
    provisioner: scimd_tests::Client,
}

impl Login {
    async fn new() -> Result<Login> {
        Login::with(json!({})).await
    }

    /// With realm settings (brute-force detection, session lifespans).
    async fn with(settings: Value) -> Result<Login> {
        let server = Server::start().await?;
        let admin = Admin::master(&server).await?;
        admin.create_realm("r").await?;
        if settings.as_object().is_some_and(|m| !m.is_empty()) {
            admin.set_realm("r", &settings).await?;
        }
        admin.login_client("r", "app").await?;
        let provisioner = admin.service_account("r", "provisioner", &["manage-users"]).await?.scim(&server).await?;
        let alice = provisioner.create_user("alice", json!({"password": "Alice-Secret-1"})).await?;
        Ok(Login { server, admin, alice, provisioner })
    }

    async fn login(&self, password: &str) -> Result<Resp> {
        password_login(&self.server, "r", ("app", None), "alice", password).await
    }

    /// A successful login: (access token, refresh token).
    async fn tokens(&self) -> Result<(String, String)> {
        let r = self.login("Alice-Secret-1").await?;
        anyhow::ensure!(r.status == 200, "login: {} {}", r.status, r.text);
        Ok((field(&r, "access_token"), field(&r, "refresh_token")))
    }

    /// Whether an access token is still accepted: alice holds no role, so the realm's SCIM API
    /// answers a live token `403` (authenticated, not allowed) and a dead one `401`.
    async fn accepted(&self, access: &str) -> Result<bool> {
        let status = scim(&self.server, "r", Some(access.to_string())).get("/Users").await?.status;
        anyhow::ensure!(status == 403 || status == 401, "unexpected {status}");
        Ok(status == 403)
    }
}

fn field(r: &Resp, name: &str) -> String {
    r.json[name].as_str().unwrap_or_default().to_string()
}

fn assert_invalid_grant(r: &Resp, contains: &str) {
    assert_eq!((r.status, r.json["error"].as_str()), (400, Some("invalid_grant")), "{}", r.text);
    let d = r.json["error_description"].as_str().unwrap_or_default();
    assert!(d.contains(contains), "{d:?} should mention {contains:?}");
}

#[tokio::test]
async fn refresh_rotates_and_the_previous_refresh_token_stops_working() -> Result<()> {
    let l = Login::new().await?;
    let (access, first) = l.tokens().await?;
    let r = refresh(&l.server, "r", "app", &first).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = field(&r, "refresh_token");
    assert_ne!(second, first, "a new refresh token");
    assert_eq!(jwt_claims(&second)?["sid"], jwt_claims(&first)?["sid"], "of the same session");
    assert_eq!(r.json["session_state"], jwt_claims(&first)?["sid"]);
    assert!(l.accepted(&access).await?, "access tokens of the session stay good");
    assert_eq!(refresh(&l.server, "r", "app", &second).await?.status, 200, "the newest works");
    Ok(())
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_ends_the_whole_session() -> Result<()> {
    let l = Login::new().await?;
    let (access, stolen) = l.tokens().await?;
    let rotated = refresh(&l.server, "r", "app", &stolen).await?;
    let (new_access, newest) = (field(&rotated, "access_token"), field(&rotated, "refresh_token"));
    // The thief presents the old one: refused, and the session is over for everyone.
    assert_invalid_grant(&refresh(&l.server, "r", "app", &stolen).await?, "already used");
    assert_invalid_grant(&refresh(&l.server, "r", "app", &newest).await?, "session has ended");
    assert!(!l.accepted(&access).await?);
    assert!(!l.accepted(&new_access).await?);
    // Another login starts afresh.
    let (fresh, _) = l.tokens().await?;
    assert!(l.accepted(&fresh).await?);
    Ok(())
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_tokens() -> Result<()> {
    let l = Login::new().await?;
    let (access, refresh_token) = l.tokens().await?;
    let (other_access, _) = l.tokens().await?;
    let r = oidc_post(&l.server, "r", "logout", &[("client_id", "app"), ("refresh_token", &refresh_token)]).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!l.accepted(&access).await?);
    assert_invalid_grant(&refresh(&l.server, "r", "app", &refresh_token).await?, "session has ended");
    assert!(l.accepted(&other_access).await?, "another session of the same user goes on");
    let unauthenticated =
        oidc_post(&l.server, "r", "logout", &[("client_id", "nobody"), ("refresh_token", &refresh_token)]).await?;
    assert_eq!(unauthenticated.status, 401, "{}", unauthenticated.text);
    Ok(())
}

#[tokio::test]
async fn revocation_ends_the_session_of_a_refresh_or_an_access_token() -> Result<()> {
    let l = Login::new().await?;
    let (access, refresh_token) = l.tokens().await?;
    let r = oidc_post(
        &l.server,
        "r",
        "revoke",
        &[("client_id", "app"), ("token", &refresh_token), ("token_type_hint", "refresh_token")],
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!l.accepted(&access).await?);
    let (access, refresh_token) = l.tokens().await?;
    let r = oidc_post(&l.server, "r", "revoke", &[("client_id", "app"), ("token", &access)]).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!l.accepted(&access).await?);
    assert_invalid_grant(&refresh(&l.server, "r", "app", &refresh_token).await?, "session has ended");
    // RFC 7009 §2.2: a token that is not valid is answered as revoked.
    let garbage = oidc_post(&l.server, "r", "revoke", &[("client_id", "app"), ("token", "not-a-token")]).await?;
    assert_eq!(garbage.status, 200);
    // A token of another client is not this client's to revoke.
    l.admin.login_client("r", "other").await?;
    let (access, _) = l.tokens().await?;
    let foreign = oidc_post(&l.server, "r", "revoke", &[("client_id", "other"), ("token", &access)]).await?;
    assert_eq!(
        (foreign.status, foreign.json["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{}",
        foreign.text
    );
    assert!(l.accepted(&access).await?);
    Ok(())
}

#[tokio::test]
async fn a_session_ends_after_its_idle_time() -> Result<()> {
    let l = Login::with(json!({"ssoSessionIdleTimeout": 1})).await?;
    let (access, refresh_token) = l.tokens().await?;
    assert!(l.accepted(&access).await?);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(!l.accepted(&access).await?, "the access token ends with its session");
    assert_eq!(refresh(&l.server, "r", "app", &refresh_token).await?.status, 400);
    Ok(())
}

#[tokio::test]
async fn a_session_ends_at_its_maximum_lifespan_however_often_it_is_refreshed() -> Result<()> {
    let l = Login::with(json!({"ssoSessionMaxLifespan": 2, "ssoSessionIdleTimeout": 60})).await?;
    let (_, mut refresh_token) = l.tokens().await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = refresh(&l.server, "r", "app", &refresh_token).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["refresh_expires_in"].as_i64().is_some_and(|s| s <= 2), "{}", r.text);
    refresh_token = field(&r, "refresh_token");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(refresh(&l.server, "r", "app", &refresh_token).await?.status, 400);
    Ok(())
}

#[tokio::test]
async fn disabling_a_user_over_scim_ends_its_sessions_and_tokens_at_once() -> Result<()> {
    let l = Login::new().await?;
    let (access, refresh_token) = l.tokens().await?;
    assert!(l.accepted(&access).await?);
    let off = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_eq!(l.provisioner.patch(&format!("/Users/{}", l.alice), &off).await?.status, 200);
    assert!(!l.accepted(&access).await?, "at once, not when the token expires");
    assert_eq!(refresh(&l.server, "r", "app", &refresh_token).await?.status, 400);
    Ok(())
}

#[tokio::test]
async fn changing_a_password_ends_the_users_sessions() -> Result<()> {
    let l = Login::new().await?;
    let (access, _) = l.tokens().await?;
    let r = l
        .admin
        .put(
            &format!("/realms/r/users/{}/reset-password", l.alice),
            &json!({"type": "password", "value": "Alice-Secret-2", "temporary": false}),
        )
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!l.accepted(&access).await?);
    assert_eq!(l.login("Alice-Secret-1").await?.status, 401, "the old password is gone");
    assert_eq!(l.login("Alice-Secret-2").await?.status, 200);
    // Over SCIM too.
    let (access, _) = l.tokens_with("Alice-Secret-2").await?;
    let pw = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": "Alice-Secret-3"}]});
    assert_eq!(l.provisioner.patch(&format!("/Users/{}", l.alice), &pw).await?.status, 200);
    assert!(!l.accepted(&access).await?);
    Ok(())
}

impl Login {
    async fn tokens_with(&self, password: &str) -> Result<(String, String)> {
        let r = self.login(password).await?;
        anyhow::ensure!(r.status == 200, "login: {} {}", r.status, r.text);
        Ok((field(&r, "access_token"), field(&r, "refresh_token")))
    }
}

#[tokio::test]
async fn changing_a_users_roles_ends_its_sessions() -> Result<()> {
    let l = Login::new().await?;
    let (access, _) = l.tokens().await?;
    l.admin.grant("r", &l.alice, &["query-groups"]).await?;
    assert!(!l.accepted(&access).await?, "a token with the old roles is over");
    let (access, _) = l.tokens().await?;
    let roles = jwt_claims(&access)?["resource_access"]["realm-management"]["roles"].clone();
    assert_eq!(roles, json!(["query-groups"]));
    Ok(())
}

#[tokio::test]
async fn deleting_a_user_ends_its_sessions() -> Result<()> {
    let l = Login::new().await?;
    let (access, refresh_token) = l.tokens().await?;
    assert_eq!(l.admin.delete(&format!("/realms/r/users/{}", l.alice)).await?.status, 204);
    assert!(!l.accepted(&access).await?);
    assert_eq!(refresh(&l.server, "r", "app", &refresh_token).await?.status, 400);
    Ok(())
}

#[tokio::test]
async fn disabling_a_client_ends_its_sessions() -> Result<()> {
    let l = Login::new().await?;
    let (access, _) = l.tokens().await?;
    let app = l.admin.client_uuid("r", "app").await?;
    assert_eq!(l.admin.put(&format!("/realms/r/clients/{app}"), &json!({"enabled": false})).await?.status, 204);
    assert!(!l.accepted(&access).await?);
    assert_eq!(l.admin.put(&format!("/realms/r/clients/{app}"), &json!({"enabled": true})).await?.status, 204);
    assert!(!l.accepted(&access).await?, "a re-enabled client does not bring old sessions back");
    Ok(())
}

#[tokio::test]
async fn an_admin_logs_a_user_out_of_every_session() -> Result<()> {
    let l = Login::new().await?;
    let (a, _) = l.tokens().await?;
    let (b, _) = l.tokens().await?;
    let r = l.admin.post(&format!("/realms/r/users/{}/logout", l.alice), &json!({})).await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!l.accepted(&a).await? && !l.accepted(&b).await?);
    Ok(())
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_user_out_until_an_admin_clears_it() -> Result<()> {
    let l = Login::with(json!({"failureFactor": 3, "quickLoginCheckMilliSeconds": 0, "waitIncrementSeconds": 3600}))
        .await?;
    for _ in 0..3 {
        assert_eq!(l.login("wrong").await?.status, 401);
    }
    // Locked out: the right password is refused, with the same answer as a wrong one.
    let locked = l.login("Alice-Secret-1").await?;
    assert_eq!(
        (locked.status, locked.json["error_description"].as_str()),
        (401, Some("invalid user credentials")),
        "{}",
        locked.text
    );
    let path = format!("/realms/r/attack-detection/brute-force/users/{}", l.alice);
    let status = l.admin.get(&path).await?;
    assert_eq!(
        (status.json["numFailures"].as_i64(), status.json["disabled"].as_bool()),
        (Some(3), Some(true)),
        "{}",
        status.text
    );
    assert_eq!(l.admin.delete(&path).await?.status, 204);
    assert_eq!(l.login("Alice-Secret-1").await?.status, 200, "unlocked");
    assert_eq!(l.admin.get(&path).await?.json["numFailures"], 0);
    Ok(())
}

#[tokio::test]
async fn failures_in_quick_succession_lock_out_at_once() -> Result<()> {
    let l = Login::with(json!({"quickLoginCheckMilliSeconds": 60000, "minimumQuickLoginWaitSeconds": 60})).await?;
    assert_eq!(l.login("wrong").await?.status, 401);
    assert_eq!(l.login("wrong").await?.status, 401);
    assert_eq!(l.login("Alice-Secret-1").await?.status, 401, "locked after two quick failures");
    Ok(())
}

#[tokio::test]
async fn permanent_lockout_disables_the_user() -> Result<()> {
    let l =
        Login::with(json!({"failureFactor": 2, "permanentLockout": true, "quickLoginCheckMilliSeconds": 0})).await?;
    let (access, _) = l.tokens().await?;
    for _ in 0..2 {
        assert_eq!(l.login("wrong").await?.status, 401);
    }
    let user = l.admin.get(&format!("/realms/r/users/{}", l.alice)).await?;
    assert_eq!(user.json["enabled"], false, "{}", user.text);
    assert!(!l.accepted(&access).await?, "and its sessions are over");
    Ok(())
}

#[tokio::test]
async fn brute_force_detection_can_be_turned_off() -> Result<()> {
    let l = Login::with(json!({"bruteForceProtected": false, "failureFactor": 1})).await?;
    for _ in 0..3 {
        assert_eq!(l.login("wrong").await?.status, 401);
    }
    assert_eq!(l.login("Alice-Secret-1").await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn guessing_a_client_secret_locks_the_client_out() -> Result<()> {
    let l = Login::with(json!({"failureFactor": 3, "quickLoginCheckMilliSeconds": 0, "waitIncrementSeconds": 3600}))
        .await?;
    let secret = l.admin.service_account("r", "robot", &["view-users"]).await?.secret;
    let grant = |s: String| {
        let server = &l.server;
        async move {
            token_request(
                server,
                "r",
                &[("grant_type", "client_credentials"), ("client_id", "robot"), ("client_secret", &s)],
                None,
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(grant("guess".into()).await?.status, 401);
    }
    let locked = grant(secret).await?;
    assert_eq!(
        (locked.status, locked.json["error_description"].as_str()),
        (401, Some("invalid client credentials")),
        "{}",
        locked.text
    );
    Ok(())
}

#[tokio::test]
async fn unknown_users_answer_exactly_as_wrong_passwords_do() -> Result<()> {
    let l = Login::with(json!({"bruteForceProtected": false})).await?;
    let wrong = l.login("wrong").await?;
    let unknown = password_login(&l.server, "r", ("app", None), "nobody-at-all", "wrong").await?;
    assert_eq!((wrong.status, &wrong.text), (unknown.status, &unknown.text));
    // A service account has no password: the same answer.
    l.admin.service_account("r", "robot", &[]).await?;
    let sa = password_login(&l.server, "r", ("app", None), "service-account-robot", "").await?;
    assert_eq!((sa.status, &sa.text), (unknown.status, &unknown.text));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_password_guesses_is_refused_with_503_not_hashed_without_bound() -> Result<()> {
    let l = Login::with(json!({"bruteForceProtected": false})).await?;
    let guesses = (0..150)
        .map(|i| {
            let server_url = l.server.url("/realms/r/protocol/openid-connect/token");
            tokio::spawn(async move {
                let body = format!("grant_type=password&client_id=app&username=alice&password=guess-{i}");
                let r = reqwest::Client::new()
                    .post(server_url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await?;
                let retry = r.headers().get("retry-after").is_some();
                anyhow::Ok((r.status().as_u16(), retry))
            })
        })
        .collect::<Vec<_>>();
    let mut answers = Vec::new();
    for g in guesses {
        answers.push(g.await??);
    }
    assert!(answers.iter().all(|(s, _)| *s == 401 || *s == 503), "{answers:?}");
    assert!(answers.iter().filter(|(s, _)| *s == 503).all(|(_, retry)| *retry), "503 says when to retry");
    assert!(answers.iter().any(|(s, _)| *s == 503), "150 hashes at once overflow the bound: {answers:?}");
    assert_eq!(l.login("Alice-Secret-1").await?.status, 200, "and the server goes on");
    Ok(())
}

#[tokio::test]
async fn roles_lost_through_a_group_inside_a_group_end_the_sessions_at_once() -> Result<()> {
    let l = Login::new().await?;
    // alice is in team, and team is in a group that will hold a role.
    let team = l.provisioner.create_group("team", &[&l.alice]).await?;
    let outer = l.provisioner.create_group("outer", &[&team]).await?;
    l.admin.grant_group("r", &outer, &["query-groups"]).await?;
    let (access, _) = l.tokens().await?;
    let roles = jwt_claims(&access)?["resource_access"]["realm-management"]["roles"].clone();
    assert_eq!(roles, json!(["query-groups"]), "a role through a group inside a group");
    let management = l.admin.client_uuid("r", "realm-management").await?;
    let r = l
        .admin
        .send(
            "DELETE",
            &format!("/realms/r/groups/{outer}/role-mappings/clients/{management}"),
            Some(json!([{"name": "query-groups"}]).to_string()),
        )
        .await?;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(!l.accepted(&access).await?, "the role is gone, so is the token");
    Ok(())
}
