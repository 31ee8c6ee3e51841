//! The recording path through the api, against real Postgres and a real S3
//! server: a relay seals an init and media segments with its camera's data
//! key, uploads them through presigned slots, commits them; the catalog
//! lists them with their storage, the mp4 endpoint returns exactly the
//! plaintext, and objects moved in S3 fail authentication. Commits are
//! idempotent and all-or-nothing; other relays' and tenants' cameras are
//! 404, playback needs its permission, and row-level security holds alone.

mod common;

use argus_core::envelope::ObjectAad;
use argus_core::wire::ids;
use argus_core::wire::recording::ObjectKind;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::recording::{self, upload, Relay};
use common::{world, TestApp};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{json, Value};
use uuid::Uuid;

struct Setup {
    app: TestApp,
    storage: argus_api::storage::Storage,
    t: world::Tenant,
    relay: Relay,
    camera: Uuid,
}

async fn setup() -> Setup {
    let (app, storage) = recording::start().await;
    let t = world::tenant(&app, "acme").await;
    let relay = recording::enrolled_relay(&app, &t, t.sites[0]).await;
    let camera = recording::camera(&app, &t, t.sites[0], relay.id).await;
    Setup {
        app,
        storage,
        t,
        relay,
        camera,
    }
}

fn start_at(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap() + Duration::seconds(4 * n)
}

/// Uploads an init and `n` media segments; returns the commit body and the plaintexts.
async fn record(s: &Setup, n: i64) -> (Value, Vec<Vec<u8>>) {
    let (key_id, key) = recording::data_key(&s.app, &s.relay, s.camera).await;
    let init_plain = b"\0\0\0\x18ftypiso6 init of the test camera".to_vec();
    let init_id = ids::init_id(s.camera, &init_plain);
    let aad = ObjectAad {
        tenant: s.t.id,
        camera: s.camera,
        object: init_id,
        start_us: 0,
    };
    let init = upload(&s.app, &s.relay, ObjectKind::Init, &key, &aad, &init_plain).await;

    let (run, mut segments, mut plains) = (Uuid::new_v4(), vec![], vec![]);
    for i in 0..n {
        let start = start_at(i);
        let id = ids::segment_id(s.camera, start.timestamp_micros());
        let plain = format!("moof+mdat of segment {i}").into_bytes();
        let aad = ObjectAad {
            tenant: s.t.id,
            camera: s.camera,
            object: id,
            start_us: start.timestamp_micros(),
        };
        let up = upload(&s.app, &s.relay, ObjectKind::Media, &key, &aad, &plain).await;
        segments.push(
            json!({ "id": id, "camera_id": s.camera, "init_id": init_id, "key_id": key_id,
            "run_id": run, "start": start, "end": start_at(i + 1), "bytes": up.bytes,
            "sha256": up.sha256 }),
        );
        plains.push([init_plain.clone(), plain].concat());
    }
    let body = json!({
        "inits": [{ "id": init_id, "camera_id": s.camera, "key_id": key_id, "bytes": init.bytes,
            "sha256": init.sha256, "codec": "h264", "width": 1280, "height": 720 }],
        "segments": segments,
        "gaps": [{ "camera_id": s.camera, "start": start_at(n), "end": start_at(n + 5),
            "reason": "camera_offline" }],
    });
    (body, plains)
}

async fn commit(s: &Setup, body: &Value) -> (u16, Value) {
    let (status, res) = s
        .app
        .call(
            "post",
            "/relay/v1/commits",
            Some(&s.relay.token()),
            Some(body.clone()),
        )
        .await;
    (status.as_u16(), res)
}

fn catalog_path(s: &Setup) -> String {
    let (from, to) = (start_at(-1).to_rfc3339(), start_at(100).to_rfc3339());
    let q = |t: &str| t.replace('+', "%2B");
    format!(
        "/api/v1/cameras/{}/segments?from={}&to={}",
        s.camera,
        q(&from),
        q(&to)
    )
}

#[tokio::test]
async fn committed_segments_are_listed_and_play_back_exactly() {
    let s = setup().await;
    let (body, plains) = record(&s, 3).await;

    let (status, res) = commit(&s, &body).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["segments"]["inserted"], 3, "{res}");
    assert_eq!(res["inits"]["inserted"], 1);
    assert_eq!(res["gaps"]["inserted"], 1);
    let (status, again) = commit(&s, &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["segments"],
        json!({ "inserted": 0, "existing": 3 }),
        "second commit wrote"
    );
    assert_eq!(again["gaps"]["inserted"], 0);
    assert_eq!(s.app.count("segments").await, 3);

    let cat = s
        .app
        .ok("get", &catalog_path(&s), &s.t.admin_token, None, 200)
        .await;
    let listed = cat["segments"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{cat}");
    assert_eq!(listed[0]["codec"], "h264");
    assert_eq!(listed[0]["width"], 1280);
    assert_eq!(
        listed[0]["start"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        start_at(0)
    );
    assert_eq!(cat["gaps"][0]["reason"], "camera_offline");
    let committed: u64 = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .chain(body["inits"].as_array().unwrap())
        .map(|o| o["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(cat["storage_bytes"].as_u64().unwrap(), committed);

    for (seg, plain) in listed.iter().zip(&plains) {
        let path = format!(
            "/api/v1/cameras/{}/segments/{}/mp4",
            s.camera,
            seg["id"].as_str().unwrap()
        );
        let res = s
            .app
            .http
            .get(format!("{}{path}", s.app.base))
            .bearer_auth(&s.t.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "video/mp4");
        assert_eq!(
            &res.bytes().await.unwrap()[..],
            &plain[..],
            "playback differs from what was sealed"
        );
    }
    // The object in S3 is ciphertext, not the plaintext.
    let key = s.storage.object_key(
        s.t.id,
        s.camera,
        ObjectKind::Media,
        listed[0]["id"].as_str().unwrap().parse().unwrap(),
    );
    let raw = s.storage.get(&key).await.unwrap();
    assert!(!raw.windows(9).any(|w| w == b"moof+mdat"));
}

#[tokio::test]
async fn swapped_objects_fail_authentication() {
    let s = setup().await;
    let (body, _) = record(&s, 2).await;
    assert_eq!(commit(&s, &body).await.0, 200);

    let ids: Vec<Uuid> = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let keys: Vec<String> = ids
        .iter()
        .map(|id| {
            s.storage
                .object_key(s.t.id, s.camera, ObjectKind::Media, *id)
        })
        .collect();
    let (a, b) = (
        s.storage.get(&keys[0]).await.unwrap(),
        s.storage.get(&keys[1]).await.unwrap(),
    );
    s.storage.put(&keys[0], b).await.unwrap();
    s.storage.put(&keys[1], a).await.unwrap();

    for id in ids {
        let path = format!("/api/v1/cameras/{}/segments/{id}/mp4", s.camera);
        let (status, res) = s.app.call("get", &path, Some(&s.t.admin_token), None).await;
        assert_eq!(status.as_u16(), 500, "{res}");
        let msg = res["error"]["message"].as_str().unwrap();
        assert!(msg.contains("failed authentication"), "{msg}");
    }
}

#[tokio::test]
async fn bad_commits_write_nothing() {
    let s = setup().await;
    let (body, _) = record(&s, 2).await;

    let mut wrong_id = body.clone();
    wrong_id["segments"][1]["id"] = json!(Uuid::new_v4());
    let mut backwards = body.clone();
    backwards["segments"][0]["end"] = backwards["segments"][0]["start"].clone();
    let mut bad_sha = body.clone();
    bad_sha["segments"][0]["sha256"] = json!("abc");
    let mut no_init = body.clone();
    no_init["inits"] = json!([]);
    let mut foreign_key = body.clone();
    foreign_key["segments"][0]["key_id"] = json!(Uuid::new_v4());
    let mut endless_gap = body.clone();
    endless_gap["gaps"][0]["start"] = json!("0001-01-01T00:00:00Z");
    endless_gap["gaps"][0]["end"] = json!("9999-01-01T00:00:00Z");
    for (what, bad) in [
        ("wrong id", wrong_id),
        ("end before start", backwards),
        ("sha256", bad_sha),
        ("missing init", no_init),
        ("unknown key", foreign_key),
        ("endless gap", endless_gap),
    ] {
        let (status, res) = commit(&s, &bad).await;
        assert_eq!(status, 400, "{what}: {res}");
        for table in ["segments", "init_segments", "recording_gaps"] {
            assert_eq!(
                s.app.count(table).await,
                0,
                "{what}: a rejected batch wrote {table}"
            );
        }
    }

    let max = argus_api::config::StorageConfig::default().max_object_bytes;
    let slot = json!({
        "camera_id": s.camera, "kind": "media", "object_id": Uuid::new_v4(), "bytes": max + 1
    });
    let (status, res) = s
        .app
        .call(
            "post",
            "/relay/v1/slots",
            Some(&s.relay.token()),
            Some(slot),
        )
        .await;
    assert_eq!(status, 400, "{res}");
}

#[tokio::test]
async fn recordings_stay_with_their_relay_tenant_and_permission() {
    let s = setup().await;
    let other = recording::enrolled_relay(&s.app, &s.t, s.t.sites[1]).await;
    let b = world::tenant(&s.app, "other").await;
    let b_relay = recording::enrolled_relay(&s.app, &b, b.sites[0]).await;
    let (body, _) = record(&s, 1).await;

    for (who, relay) in [
        ("same tenant's other relay", &other),
        ("other tenant's relay", &b_relay),
    ] {
        let token = relay.token();
        let key = format!("/relay/v1/cameras/{}/key", s.camera);
        let (status, _) = s.app.call("get", &key, Some(&token), None).await;
        assert_eq!(status, 404, "{who}: key");
        let slot = json!({
            "camera_id": s.camera, "kind": "media", "object_id": Uuid::new_v4(), "bytes": 10
        });
        let (status, _) = s
            .app
            .call("post", "/relay/v1/slots", Some(&token), Some(slot))
            .await;
        assert_eq!(status, 404, "{who}: slot");
        let (status, res) = s
            .app
            .call(
                "post",
                "/relay/v1/commits",
                Some(&token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 404, "{who}: commit {res}");
        let (_, config) = s
            .app
            .call("get", "/relay/v1/config", Some(&token), None)
            .await;
        assert!(
            !config.to_string().contains(&s.camera.to_string()),
            "{who}: config {config}"
        );
    }
    assert_eq!(s.app.count("segments").await, 0);

    // Tenant B's admin cannot read A's catalog or play A's segment.
    assert_eq!(commit(&s, &body).await.0, 200);
    let (status, _) = s
        .app
        .call("get", &catalog_path(&s), Some(&b.admin_token), None)
        .await;
    assert_eq!(status, 404);
    let seg = body["segments"][0]["id"].as_str().unwrap();
    let mp4 = format!("/api/v1/cameras/{}/segments/{seg}/mp4", s.camera);
    let (status, _) = s.app.call("get", &mp4, Some(&b.admin_token), None).await;
    assert_eq!(status, 404);

    // A user who may see the camera but not play it back: 403.
    let t = &s.t;
    let user = json!({ "email": "viewer@acme.test", "password": common::PASSWORD });
    let u = s
        .app
        .ok("post", "/api/v1/users", &t.admin_token, Some(user), 201)
        .await;
    let bind = json!({ "user_id": u["id"], "role_id": t.role });
    s.app
        .ok(
            "post",
            "/api/v1/role-bindings",
            &t.admin_token,
            Some(bind),
            201,
        )
        .await;
    let login = s
        .app
        .login("viewer@acme.test", common::PASSWORD, Some("acme"))
        .await;
    let viewer = login["access_token"].as_str().unwrap();
    let (status, res) = s
        .app
        .call("get", &catalog_path(&s), Some(viewer), None)
        .await;
    assert_eq!(status, 403, "{res}");
    let (status, _) = s
        .app
        .call("get", &catalog_path(&s), Some(&t.admin_token), None)
        .await;
    assert_eq!(status, 200);

    // Row-level security alone: scoped to B, none of A's recording rows.
    for (tenant, want) in [(b.id, 0), (s.t.id, 1)] {
        let tx = s.app.db.begin().await.unwrap();
        argus_api::db::scope_to_tenant(&tx, tenant).await.unwrap();
        for table in [
            "tenant_keys",
            "data_keys",
            "init_segments",
            "segments",
            "recording_gaps",
        ] {
            let sql = format!("SELECT count(*) AS n FROM {table}");
            let row = tx
                .query_one(Statement::from_string(DbBackend::Postgres, sql))
                .await;
            let n: i64 = row.unwrap().unwrap().try_get("", "n").unwrap();
            assert_eq!(n, want, "{table} scoped to {tenant}");
        }
        tx.rollback().await.unwrap();
    }
}
