//! Bad input gets a 4xx with the JSON error body and writes nothing.

mod common;

use common::{world, TestApp};
use serde_json::{json, Value};

async fn raw(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let res = app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_nothing_is_written() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let tok = &t.admin_token;
    let (sites, events) = (app.count("sites").await, app.count("audit_events").await);

    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"name\": ".to_vec(),
            400,
        ),
        (
            "wrong type",
            "application/json",
            br#"{"name": 5}"#.to_vec(),
            400,
        ),
        (
            "unknown field",
            "application/json",
            br#"{"name": "x", "tenant_id": "00000000-0000-0000-0000-000000000000"}"#.to_vec(),
            400,
        ),
        ("missing field", "application/json", b"{}".to_vec(), 400),
        ("empty body", "application/json", vec![], 400),
        (
            "invalid UTF-8",
            "application/json",
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "oversized body",
            "application/json",
            format!("{{\"name\": \"{}\"}}", "a".repeat(200_000)).into_bytes(),
            413,
        ),
        ("not JSON at all", "text/plain", b"name=x".to_vec(), 415),
        (
            "name too long",
            "application/json",
            format!("{{\"name\": \"{}\"}}", "a".repeat(300)).into_bytes(),
            400,
        ),
        (
            "control characters",
            "application/json",
            br#"{"name": "a\u0000b"}"#.to_vec(),
            400,
        ),
        (
            "bad timezone",
            "application/json",
            br#"{"name": "x", "timezone": "'; DROP TABLE sites;--"}"#.to_vec(),
            400,
        ),
    ];
    for (name, ct, body, want) in cases {
        let (status, res) = raw(&app, "/api/v1/sites", tok, ct, body).await;
        assert_eq!(status, want, "{name}: {res}");
        assert!(
            res["error"]["code"].is_string(),
            "{name}: no error body: {res}"
        );
        assert!(res["error"]["message"].is_string(), "{name}");
    }
    assert_eq!(
        app.count("sites").await,
        sites,
        "a refused request wrote a site"
    );
    assert_eq!(
        app.count("audit_events").await,
        events,
        "a refused request wrote an audit event"
    );
}

#[tokio::test]
async fn sql_like_strings_are_data_or_refused_never_code() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let tok = &t.admin_token;

    let evil = "x'); DROP TABLE sites; --";
    let site = app
        .ok(
            "post",
            "/api/v1/sites",
            tok,
            Some(json!({ "name": evil })),
            201,
        )
        .await;
    assert_eq!(site["name"], evil, "stored verbatim");
    let (status, _) = app
        .call(
            "get",
            &format!("/api/v1/sites?name={evil}"),
            Some(tok),
            None,
        )
        .await;
    assert!(status.is_success() || status.is_client_error());
    assert!(app.count("sites").await >= 3, "the sites table is intact");

    let (status, body) = app
        .call(
            "post",
            "/api/v1/tenants",
            Some(&app.platform_token),
            Some(json!({ "slug": "a' OR '1'='1", "name": "x" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app
        .call(
            "post",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "' OR 1=1 --", "password": "' OR 1=1 --" })),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bad_paths_queries_and_references_get_clear_errors() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let tok = &t.admin_token;
    let cameras = app.count("cameras").await;

    let cases: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("get", "/api/v1/sites/not-a-uuid".into(), None, 404),
        (
            "get",
            format!("/api/v1/sites/{}", uuid::Uuid::new_v4()),
            None,
            404,
        ),
        ("get", "/api/v1/nowhere".into(), None, 404),
        (
            "get",
            format!("/api/v1/cameras/{}/whep", t.cameras[0]),
            None,
            405,
        ),
        ("delete", "/api/v1/cameras".into(), None, 405),
        ("get", "/api/v1/audit?limit=abc".into(), None, 400),
        ("get", "/api/v1/audit?limit=100000".into(), None, 400),
        ("get", "/api/v1/audit/export?format=xml".into(), None, 400),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(
                json!({ "site_id": t.sites[0], "name": "c", "source_url": "rtsp://admin:secret@10.1.1.1/s" }),
            ),
            400,
        ),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(json!({ "site_id": t.sites[0], "name": "c", "source_url": "file:///etc/passwd" })),
            400,
        ),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(json!({
                "site_id": t.sites[0],
                "name": "c",
                "source_url": "rtsp://h/s",
                "retention_days": 0,
            })),
            400,
        ),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(json!({
                "site_id": t.sites[0],
                "name": "c",
                "source_url": "rtsp://h/s",
                "relay_id": t.relays[1],
            })),
            400,
        ),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(
                json!({ "site_id": uuid::Uuid::new_v4(), "name": "c", "source_url": "rtsp://h/s" }),
            ),
            404,
        ),
        (
            "post",
            "/api/v1/roles".into(),
            Some(json!({ "name": "r", "permissions": ["root"] })),
            400,
        ),
        (
            "post",
            "/api/v1/users".into(),
            Some(json!({ "email": "short@acme.test", "password": "short" })),
            400,
        ),
        (
            "post",
            "/api/v1/users".into(),
            Some(json!({ "email": "admin@acme.test", "password": "long enough pw" })),
            409,
        ),
        (
            "patch",
            format!("/api/v1/users/{}", t.admin_id),
            Some(json!({ "status": "god" })),
            400,
        ),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(json!({
                "site_id": t.sites[0],
                "name": "c",
                "source_url": "rtsp://10.1.1.1/s?user=admin&password=secret",
            })),
            400,
        ),
        (
            "post",
            "/api/v1/cameras".into(),
            Some(
                json!({ "site_id": t.sites[0], "name": "c", "source_url": "rtsp://h/s\r\nInjected: 1" }),
            ),
            400,
        ),
        (
            "post",
            "/api/v1/sites".into(),
            Some(json!({ "name": "Lobby\u{202E}ybbol" })),
            400,
        ),
        (
            "post",
            "/api/v1/sites".into(),
            Some(json!({ "name": "Lobby", "timezone": "Mars/Olympus" })),
            400,
        ),
        (
            "post",
            "/api/v1/roles".into(),
            Some(json!({ "name": "r", "permissions": [], "description": "a\u{0}b" })),
            400,
        ),
        (
            "post",
            "/api/v1/users".into(),
            Some(json!({ "email": "two@at@acme.test", "password": "long enough pw" })),
            400,
        ),
        (
            "post",
            "/api/v1/users".into(),
            Some(json!({ "email": "blank@acme.test", "password": "              " })),
            400,
        ),
    ];
    for (method, path, body, want) in cases {
        let (status, res) = app.call(method, &path, Some(tok), body).await;
        assert_eq!(status.as_u16(), want, "{method} {path}: {res}");
        assert!(res["error"]["code"].is_string(), "{method} {path}: {res}");
    }
    assert_eq!(app.count("cameras").await, cameras);

    // A known path under another method names the ones it takes.
    let whep = format!("{}/api/v1/cameras/{}/whep", app.base, t.cameras[0]);
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, whep)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(res.headers()["allow"], "POST");

    // `relay_id: null` detaches a camera; a revoked relay cannot take it back.
    let cam = format!("/api/v1/cameras/{}", t.cameras[0]);
    let detached = app
        .ok("patch", &cam, tok, Some(json!({ "relay_id": null })), 200)
        .await;
    assert!(detached["relay_id"].is_null(), "{detached}");
    let relay = format!("/api/v1/relays/{}", t.relays[0]);
    app.ok(
        "patch",
        &relay,
        tok,
        Some(json!({ "status": "revoked" })),
        200,
    )
    .await;
    let (status, res) = app
        .call(
            "patch",
            &cam,
            Some(tok),
            Some(json!({ "relay_id": t.relays[0] })),
        )
        .await;
    assert_eq!(status, 400, "{res}");
    let unchanged = app.ok("get", &cam, tok, None, 200).await;
    assert!(unchanged["relay_id"].is_null());
}
