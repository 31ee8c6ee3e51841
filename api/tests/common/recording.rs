//! Recording test helpers: an api wired to the test S3 server (moto at
//! `TEST_S3_URL`, default `http://127.0.0.1:9090`) with a bucket of its
//! own and a random master key, and a relay driven the way `argus-relay`
//! drives the api, with `argus_core`'s keys and envelope.

use super::{world, TestApp};
use argus_api::config::StorageConfig;
use argus_api::storage::Storage;
use argus_core::envelope::{self, Key, ObjectAad};
use argus_core::relay_token::SigningKey;
use argus_core::sealed::SealingKey;
use argus_core::wire::recording::{ObjectKind, SlotResponse};
use argus_core::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub fn s3_url() -> String {
    std::env::var("TEST_S3_URL").unwrap_or_else(|_| "http://127.0.0.1:9090".into())
}

/// The `[storage]` of a test: its own bucket on the test S3 server.
pub fn storage_config() -> StorageConfig {
    StorageConfig {
        endpoint: Some(s3_url()),
        bucket: format!("argus-test-{}", Uuid::new_v4().simple()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some(Secret::new("testing".into())),
        ..StorageConfig::default()
    }
}

/// An api that records, and a client of its object store.
pub async fn start() -> (TestApp, Storage) {
    let storage = storage_config();
    let client = Storage::new(&storage).unwrap();
    let app = TestApp::start_with(|cfg| {
        cfg.storage = Some(storage);
        cfg.keys.master_key = Some(argus_api::keys::encode_key(&envelope::random_key()));
    })
    .await;
    (app, client)
}

/// A relay as `argus-relay` would hold it after enrolling.
pub struct Relay {
    pub id: Uuid,
    pub signing: SigningKey,
    pub sealing: SealingKey,
}

impl Relay {
    /// A fresh token for this relay.
    pub fn token(&self) -> String {
        let now = chrono::Utc::now().timestamp();
        self.signing.sign(self.id, now, 60)
    }
}

/// Enrolls with `code` and fresh keys; returns the status and body.
pub async fn try_enroll(app: &TestApp, code: &str) -> (u16, Value, SigningKey, SealingKey) {
    let (signing, sealing) = (SigningKey::generate(), SealingKey::generate());
    let body = json!({
        "claim_code": code,
        "signing_key": signing.public_key(),
        "sealing_key": sealing.public_key(),
        "version": "test-1.0",
    });
    let (status, res) = app.call("post", "/relay/v1/enroll", None, Some(body)).await;
    (status.as_u16(), res, signing, sealing)
}

/// Registers a relay on `site` through the tenant api and enrolls it.
pub async fn enrolled_relay(app: &TestApp, t: &world::Tenant, site: Uuid) -> Relay {
    let r = app
        .ok(
            "post",
            "/api/v1/relays",
            &t.admin_token,
            Some(json!({ "site_id": site, "name": "rec relay" })),
            201,
        )
        .await;
    let code = r["claim_code"].as_str().unwrap().to_string();
    let (status, res, signing, sealing) = try_enroll(app, &code).await;
    assert_eq!(status, 201, "enroll: {res}");
    Relay {
        id: res["relay_id"].as_str().unwrap().parse().unwrap(),
        signing,
        sealing,
    }
}

/// A camera on `site` recorded by `relay`.
pub async fn camera(app: &TestApp, t: &world::Tenant, site: Uuid, relay: Uuid) -> Uuid {
    let c = app
        .ok("post", "/api/v1/cameras", &t.admin_token, Some(json!({
            "site_id": site, "name": "rec cam", "source_url": "rtsp://10.1.1.1/s", "relay_id": relay
        })), 201)
        .await;
    c["id"].as_str().unwrap().parse().unwrap()
}

/// The camera's current data key, as the relay fetches it.
pub async fn data_key(app: &TestApp, relay: &Relay, camera: Uuid) -> (Uuid, Key) {
    let path = format!("/relay/v1/cameras/{camera}/key");
    let (status, res) = app.call("get", &path, Some(&relay.token()), None).await;
    assert_eq!(status.as_u16(), 200, "key: {res}");
    let bytes = URL_SAFE_NO_PAD
        .decode(res["key"].as_str().unwrap())
        .unwrap();
    let key: [u8; 32] = bytes.try_into().unwrap();
    (
        res["key_id"].as_str().unwrap().parse().unwrap(),
        Secret::new(key),
    )
}

/// An object sealed and uploaded through a slot, as the relay does it.
pub struct Uploaded {
    pub id: Uuid,
    pub bytes: u64,
    pub sha256: String,
}

/// Seals `plain` bound to `aad`, asks for a slot and PUTs it to S3.
pub async fn upload(
    app: &TestApp,
    relay: &Relay,
    kind: ObjectKind,
    key: &Key,
    aad: &ObjectAad,
    plain: &[u8],
) -> Uploaded {
    let sealed = envelope::seal_object(key, aad, plain);
    let body = json!({
        "camera_id": aad.camera, "kind": kind, "object_id": aad.object, "bytes": sealed.len()
    });
    let (status, res) = app
        .call("post", "/relay/v1/slots", Some(&relay.token()), Some(body))
        .await;
    assert_eq!(status.as_u16(), 200, "slot: {res}");
    let slot: SlotResponse = serde_json::from_value(res).unwrap();

    let mut put = reqwest::Client::new().put(&slot.url).body(sealed.clone());
    for (k, v) in &slot.headers {
        put = put.header(k, v);
    }
    let res = put
        .send()
        .await
        .expect("S3 reachable (scripts/ensure-test-tools.sh starts moto)");
    assert!(
        res.status().is_success(),
        "PUT: {}",
        res.text().await.unwrap()
    );
    Uploaded {
        id: aad.object,
        bytes: sealed.len() as u64,
        sha256: hex::encode(Sha256::digest(&sealed)),
    }
}
