//! A relay enrolls once with its claim code and from then on authenticates
//! with tokens it signs itself: a used, expired or unknown code is 401; a
//! revoked relay, a suspended tenant and a token signed by another key are
//! refused at once. Its config carries camera credentials only sealed to
//! its own key.

mod common;

use argus_core::relay_token::SigningKey;
use common::recording::{self, try_enroll};
use common::{world, TestApp};
use sea_orm::ConnectionTrait;
use serde_json::json;

async fn claim_code(app: &TestApp, t: &world::Tenant) -> (String, String) {
    let r = app
        .ok(
            "post",
            "/api/v1/relays",
            &t.admin_token,
            Some(json!({ "site_id": t.sites[0], "name": "new relay" })),
            201,
        )
        .await;
    (
        r["relay"]["id"].as_str().unwrap().into(),
        r["claim_code"].as_str().unwrap().into(),
    )
}

#[tokio::test]
async fn a_claim_code_enrolls_exactly_once() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let (relay_id, code) = claim_code(&app, &t).await;

    let (status, unknown, ..) = try_enroll(&app, "not-a-code").await;
    assert_eq!(status, 401, "{unknown}");
    let (status, res, signing, _) = try_enroll(&app, &code).await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["relay_id"], relay_id.as_str());
    assert_eq!(res["tenant_id"], t.id.to_string());
    assert_eq!(res["site_id"], t.sites[0].to_string());

    let (status, again, ..) = try_enroll(&app, &code).await;
    assert_eq!(status, 401, "a used code enrolled again: {again}");
    assert_eq!(
        again, unknown,
        "a used code answers differently from an unknown one"
    );

    let relay = app
        .ok(
            "get",
            &format!("/api/v1/relays/{relay_id}"),
            &t.admin_token,
            None,
            200,
        )
        .await;
    assert_eq!(relay["status"], "active");
    assert_eq!(relay["public_key"], signing.public_key());
    assert_eq!(relay["version"], "test-1.0");
    let n = app
        .db
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT count(*) AS n FROM audit_events \
             WHERE action = 'relay.enroll' AND target_id = '{relay_id}'"
            ),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(n, 1, "enrollment not audited");
}

#[tokio::test]
async fn expired_codes_and_malformed_keys_are_refused() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let (relay_id, code) = claim_code(&app, &t).await;

    let bad = json!({
        "claim_code": code, "signing_key": "short", "sealing_key": "short", "version": "1"
    });
    let (status, res) = app.call("post", "/relay/v1/enroll", None, Some(bad)).await;
    assert_eq!(status, 400, "{res}");

    app.db
        .execute_unprepared(&format!(
        "UPDATE relays SET claim_expires_at = now() - interval '1 second' WHERE id = '{relay_id}'"
    ))
        .await
        .unwrap();
    let (status, res, ..) = try_enroll(&app, &code).await;
    assert_eq!(status, 401, "an expired code enrolled: {res}");
    let relay = app
        .ok(
            "get",
            &format!("/api/v1/relays/{relay_id}"),
            &t.admin_token,
            None,
            200,
        )
        .await;
    assert_eq!(relay["status"], "pending");
}

#[tokio::test]
async fn revoked_relays_suspended_tenants_and_foreign_keys_are_refused_at_once() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let relay = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let config = |token: String| {
        let app = &app;
        async move {
            app.call("get", "/relay/v1/config", Some(&token), None)
                .await
                .0
                .as_u16()
        }
    };
    assert_eq!(config(relay.token()).await, 200);
    assert_eq!(app.call("get", "/relay/v1/config", None, None).await.0, 401);

    // Signed by a key the relay never enrolled, or claiming another relay.
    let forged = SigningKey::generate().sign(relay.id, chrono::Utc::now().timestamp(), 60);
    assert_eq!(config(forged).await, 401);
    let other = recording::enrolled_relay(&app, &t, t.sites[1]).await;
    let swapped = relay
        .signing
        .sign(other.id, chrono::Utc::now().timestamp(), 60);
    assert_eq!(config(swapped).await, 401);

    // Suspending the tenant refuses the very next request; resuming restores it.
    let tenant_path = format!("/api/v1/tenants/{}", t.id);
    app.ok(
        "post",
        &format!("{tenant_path}/suspend"),
        &app.platform_token,
        None,
        200,
    )
    .await;
    assert_eq!(config(relay.token()).await, 401);
    app.ok(
        "post",
        &format!("{tenant_path}/resume"),
        &app.platform_token,
        None,
        200,
    )
    .await;
    assert_eq!(config(relay.token()).await, 200);

    // A token minted before the revocation is refused right after it.
    let token = relay.token();
    app.ok(
        "patch",
        &format!("/api/v1/relays/{}", relay.id),
        &t.admin_token,
        Some(json!({ "status": "revoked" })),
        200,
    )
    .await;
    assert_eq!(config(token).await, 401);
    assert_eq!(config(other.token()).await, 200);
}

#[tokio::test]
async fn camera_credentials_reach_only_their_relay_sealed() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let relay = recording::enrolled_relay(&app, &t, t.sites[0]).await;

    // The world's relays are still pending: nothing to seal to.
    let pending = json!({ "site_id": t.sites[0], "name": "x", "source_url": "rtsp://h/s",
        "relay_id": t.relays[0], "username": "admin", "password": "hunter2" });
    let (status, res) = app
        .call(
            "post",
            "/api/v1/cameras",
            Some(&t.admin_token),
            Some(pending),
        )
        .await;
    assert_eq!(status, 400, "{res}");

    let body = json!({ "site_id": t.sites[0], "name": "door", "source_url": "rtsp://10.0.0.9/s",
        "relay_id": relay.id, "username": "admin", "password": "hunter2", "segment_secs": 6 });
    let cam = app
        .ok("post", "/api/v1/cameras", &t.admin_token, Some(body), 201)
        .await;
    assert_eq!(cam["has_credentials"], true);
    assert!(!cam.to_string().contains("hunter2"), "{cam}");
    let listed = app
        .ok("get", "/api/v1/cameras", &t.admin_token, None, 200)
        .await;
    assert!(
        !listed.to_string().contains("credentials_sealed"),
        "{listed}"
    );

    let (status, config) = app
        .call("get", "/relay/v1/config", Some(&relay.token()), None)
        .await;
    assert_eq!(status, 200, "{config}");
    let cams = config["cameras"].as_array().unwrap();
    assert_eq!(cams.len(), 1, "{config}");
    assert_eq!(cams[0]["id"], cam["id"]);
    assert_eq!(cams[0]["segment_secs"], 6);
    let sealed = cams[0]["credentials"].as_str().unwrap();
    assert!(!sealed.contains("hunter2"));
    assert_eq!(relay.sealing.open(sealed).unwrap(), b"admin:hunter2");

    // Moving it to another relay needs the credentials again.
    let other = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let path = format!("/api/v1/cameras/{}", cam["id"].as_str().unwrap());
    let (status, res) = app
        .call(
            "patch",
            &path,
            Some(&t.admin_token),
            Some(json!({ "relay_id": other.id })),
        )
        .await;
    assert_eq!(status, 400, "{res}");
    app.ok(
        "patch",
        &path,
        &t.admin_token,
        Some(json!({ "relay_id": other.id, "username": "admin", "password": "hunter3" })),
        200,
    )
    .await;
    let (_, config) = app
        .call("get", "/relay/v1/config", Some(&other.token()), None)
        .await;
    let sealed = config["cameras"][0]["credentials"].as_str().unwrap();
    assert_eq!(other.sealing.open(sealed).unwrap(), b"admin:hunter3");
    assert!(relay.sealing.open(sealed).is_none());
}

#[tokio::test]
async fn a_new_claim_code_replaces_the_enrolled_relay() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let old = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let cam = recording::camera(&app, &t, t.sites[0], old.id).await;
    let creds = json!({ "username": "op", "password": "hunter2" });
    let path = format!("/api/v1/cameras/{cam}");
    app.ok("patch", &path, &t.admin_token, Some(creds), 200)
        .await;

    let reissue = format!("/api/v1/relays/{}/claim-code", old.id);
    let r = app.ok("post", &reissue, &t.admin_token, None, 200).await;
    assert_eq!(r["relay"]["status"], "pending");
    let code = r["claim_code"].as_str().unwrap().to_string();

    let token = old.signing.sign(old.id, now(), 60);
    let (status, _) = app
        .call("get", "/relay/v1/config", Some(&token), None)
        .await;
    assert_eq!(status.as_u16(), 401, "the replaced relay's keys still work");
    let camera = app.ok("get", &path, &t.admin_token, None, 200).await;
    assert_eq!(camera["has_credentials"], false, "{camera}");

    let (status, res, signing, _) = try_enroll(&app, &code).await;
    assert_eq!(status, 201, "the replacement cannot enroll: {res}");
    assert_eq!(res["relay_id"], old.id.to_string());
    let token = signing.sign(old.id, now(), 60);
    let (status, config) = app
        .call("get", "/relay/v1/config", Some(&token), None)
        .await;
    assert_eq!(status.as_u16(), 200, "{config}");
    assert_eq!(config["cameras"][0]["id"], cam.to_string());
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
