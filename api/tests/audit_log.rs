//! The audit log: every mutating route writes exactly one event; altering
//! or deleting a row in the database makes `verify` name that row; exports
//! hold every event.

mod common;

use argus_api::routes::ROUTES;
use common::{world, TestApp, PASSWORD};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

/// The newest 500 events of `token`'s tenant.
async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    let page = app
        .ok("get", "/api/v1/audit?limit=500", token, None, 200)
        .await;
    page["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_mutating_route_writes_exactly_one_event() {
    let app = TestApp::start().await;
    let w = world::build(&app).await;
    let a = &w.a;
    let tok = a.admin_token.clone();
    let scratch_user = app
        .ok(
            "post",
            "/api/v1/users",
            &tok,
            Some(json!({ "email": "tmp@a.test", "password": PASSWORD })),
            201,
        )
        .await;
    let scratch_user = scratch_user["id"].as_str().unwrap().to_string();
    let scratch_binding = app
        .ok(
            "post",
            "/api/v1/role-bindings",
            &tok,
            Some(json!({ "user_id": w.scoped_id, "role_id": viewer(&app, &tok).await })),
            201,
        )
        .await;
    let scratch_binding = scratch_binding["id"].as_str().unwrap().to_string();
    let scratch_relay = app
        .ok(
            "post",
            "/api/v1/relays",
            &tok,
            Some(json!({ "site_id": a.sites[0], "name": "spare" })),
            201,
        )
        .await;
    let scratch_relay = scratch_relay["relay"]["id"].as_str().unwrap().to_string();

    let mut covered = 0;
    for (method, path) in ROUTES {
        if *method == "get" || path.starts_with("/api/v1/auth/") {
            continue; // reads; auth routes are audited in their own tests
        }
        if path.ends_with("/whep") || path.starts_with("/api/v1/live/") {
            // SDP bodies and real peers: live_sfu.rs counts their events
            // (one per view start and end; trickled candidates are not audited).
            continue;
        }
        let (token, p, body, want) = match (*method, *path) {
            ("post", "/api/v1/tenants") => (
                app.platform_token.clone(),
                path.to_string(),
                json!({ "slug": "fresh", "name": "Fresh" }),
                201,
            ),
            ("post", "/api/v1/tenants/{id}/suspend") | ("post", "/api/v1/tenants/{id}/resume") => (
                app.platform_token.clone(),
                path.replace("{id}", &w.b.id.to_string()),
                json!({}),
                200,
            ),
            ("post", "/api/v1/tenants/{id}/admins") => (
                app.platform_token.clone(),
                path.replace("{id}", &a.id.to_string()),
                json!({ "email": "second@a.test", "password": PASSWORD }),
                201,
            ),
            ("post", "/api/v1/tenants/{id}/access-grants") => (
                app.platform_token.clone(),
                path.replace("{id}", &a.id.to_string()),
                json!({ "reason": "audit test", "minutes": 5 }),
                201,
            ),
            ("post", "/api/v1/users") => (
                tok.clone(),
                path.to_string(),
                json!({ "email": "new@a.test", "password": PASSWORD }),
                201,
            ),
            ("patch", "/api/v1/users/{id}") => (
                tok.clone(),
                path.replace("{id}", &scratch_user),
                json!({ "display_name": "Tmp" }),
                200,
            ),
            ("delete", "/api/v1/users/{id}") => (
                tok.clone(),
                path.replace("{id}", &scratch_user),
                json!(null),
                204,
            ),
            ("post", "/api/v1/roles") => (
                tok.clone(),
                path.to_string(),
                json!({ "name": "r2", "permissions": ["audit.read"] }),
                201,
            ),
            ("patch", "/api/v1/roles/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.role.to_string()),
                json!({ "description": "d" }),
                200,
            ),
            ("delete", "/api/v1/roles/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.role.to_string()),
                json!(null),
                204,
            ),
            ("post", "/api/v1/role-bindings") => {
                let auditor = role_named(&app, &tok, "auditor").await;
                (
                    tok.clone(),
                    path.to_string(),
                    json!({ "user_id": w.scoped_id, "role_id": auditor }),
                    201,
                )
            }
            ("delete", "/api/v1/role-bindings/{id}") => (
                tok.clone(),
                path.replace("{id}", &scratch_binding),
                json!(null),
                204,
            ),
            ("post", "/api/v1/sites") => {
                (tok.clone(), path.to_string(), json!({ "name": "s3" }), 201)
            }
            ("patch", "/api/v1/sites/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.sites[0].to_string()),
                json!({ "timezone": "Europe/Paris" }),
                200,
            ),
            ("delete", "/api/v1/sites/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.sites[1].to_string()),
                json!(null),
                204,
            ),
            ("post", "/api/v1/cameras") => (
                tok.clone(),
                path.to_string(),
                json!({ "site_id": a.sites[0], "name": "c3", "source_url": "rtsp://h/x" }),
                201,
            ),
            ("patch", "/api/v1/cameras/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.cameras[0].to_string()),
                json!({ "retention_days": 9 }),
                200,
            ),
            ("delete", "/api/v1/cameras/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.cameras[0].to_string()),
                json!(null),
                204,
            ),
            ("post", "/api/v1/relays") => (
                tok.clone(),
                path.to_string(),
                json!({ "site_id": a.sites[0], "name": "r3" }),
                201,
            ),
            ("patch", "/api/v1/relays/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.relays[0].to_string()),
                json!({ "name": "r0" }),
                200,
            ),
            ("post", "/api/v1/relays/{id}/claim-code") => (
                tok.clone(),
                path.replace("{id}", &scratch_relay),
                json!(null),
                200,
            ),
            ("delete", "/api/v1/relays/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.relays[0].to_string()),
                json!(null),
                204,
            ),
            ("delete", "/api/v1/access-grants/{id}") => (
                tok.clone(),
                path.replace("{id}", &a.grant.to_string()),
                json!(null),
                204,
            ),
            other => panic!("mutating route {other:?} has no case here: add one"),
        };
        let before = app.count("audit_events").await;
        let body = if body.is_null() { None } else { Some(body) };
        app.ok(method, &p, &token, body, want).await;
        assert_eq!(
            app.count("audit_events").await,
            before + 1,
            "{method} {path} must write exactly one event"
        );
        covered += 1;
    }
    assert!(covered >= 20, "only {covered} mutating routes");

    let v = app.ok("get", "/api/v1/audit/verify", &tok, None, 200).await;
    assert_eq!(v["ok"], true, "{v}");
}

async fn viewer(app: &TestApp, tok: &str) -> Value {
    role_named(app, tok, "viewer").await
}

async fn role_named(app: &TestApp, tok: &str, name: &str) -> Value {
    let roles = app.ok("get", "/api/v1/roles", tok, None, 200).await;
    let role = roles.as_array().unwrap().iter().find(|r| r["name"] == name);
    role.unwrap()["id"].clone()
}

#[tokio::test]
async fn verify_names_the_altered_or_deleted_row() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let tok = &t.admin_token;
    for i in 0..5 {
        app.ok(
            "post",
            "/api/v1/sites",
            tok,
            Some(json!({ "name": format!("extra {i}") })),
            201,
        )
        .await;
    }
    let v = app.ok("get", "/api/v1/audit/verify", tok, None, 200).await;
    assert_eq!(v["ok"], true, "{v}");
    let total = v["checked"].as_i64().unwrap();
    assert!(total >= 10);

    // Alter event 4's details directly in the database.
    let tid = t.id;
    let alter = format!(
        "UPDATE audit_events SET details = '{{\"name\":\"forged\"}}' \
         WHERE tenant_id = '{tid}' AND seq = 4"
    );
    app.db.execute_unprepared(&alter).await.unwrap();
    let v = app.ok("get", "/api/v1/audit/verify", tok, None, 200).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_break"]["seq"], 4);
    assert_eq!(v["first_break"]["reason"], "altered");
    let id4 = app
        .db
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT id FROM audit_events WHERE tenant_id = '{tid}' AND seq = 4"),
        ))
        .await
        .unwrap()
        .unwrap();
    let id4: uuid::Uuid = id4.try_get("", "id").unwrap();
    assert_eq!(v["first_break"]["event_id"], id4.to_string());

    // Deleting it instead: verify reports seq 4 missing.
    let delete = format!("DELETE FROM audit_events WHERE tenant_id = '{tid}' AND seq = 4");
    app.db.execute_unprepared(&delete).await.unwrap();
    let v = app.ok("get", "/api/v1/audit/verify", tok, None, 200).await;
    assert_eq!(v["first_break"]["seq"], 4);
    assert_eq!(v["first_break"]["reason"], "missing");
    assert_eq!(v["checked"], 3);
}

#[tokio::test]
async fn removing_the_newest_events_is_detected_too() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let v = app
        .ok("get", "/api/v1/audit/verify", &t.admin_token, None, 200)
        .await;
    let last = v["checked"].as_i64().unwrap();
    // The verify call itself is a read: nothing was appended since.
    app.db
        .execute_unprepared(&format!(
            "DELETE FROM audit_events WHERE tenant_id = '{}' AND seq = {last}",
            t.id
        ))
        .await
        .unwrap();
    let v = app
        .ok("get", "/api/v1/audit/verify", &t.admin_token, None, 200)
        .await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_break"]["seq"], last);
}

#[tokio::test]
async fn exports_hold_every_event_and_lists_paginate() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let tok = &t.admin_token;
    // A typed "email" that a spreadsheet would run as a formula, and a huge one.
    let formula = "=hyperlink(\"http://evil.test\",\"x\")";
    for email in [formula.to_string(), "a".repeat(5000)] {
        let body = json!({ "email": email, "password": "nope", "tenant": "acme" });
        app.call("post", "/api/v1/auth/login", None, Some(body))
            .await;
    }
    let n = events(&app, tok).await.len();

    let jsonl = app
        .http
        .get(format!("{}/api/v1/audit/export?format=jsonl", app.base))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(jsonl.headers()["content-type"], "application/jsonl");
    let text = jsonl.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n);
    assert_eq!(lines[0]["seq"], 1);
    let labels: Vec<&str> = lines
        .iter()
        .map(|l| l["actor_label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&formula), "JSON Lines keep values exactly");
    assert!(labels.iter().all(|l| l.len() <= 256), "labels are clipped");

    let csv = app
        .http
        .get(format!("{}/api/v1/audit/export?format=csv", app.base))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "seq");
    let label_col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "actor_label")
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), n + 1, "the jsonl export itself was audited");
    let csv_labels: Vec<&str> = rows.iter().map(|r| &r[label_col]).collect();
    assert!(csv_labels.contains(&format!("'{formula}").as_str()));
    assert!(!csv_labels.iter().any(|l| l.starts_with('=')));

    // Pages of 3, newest first, cover every event exactly once.
    let mut seen = vec![];
    let mut cursor = String::new();
    loop {
        let page = app
            .ok(
                "get",
                &format!("/api/v1/audit?limit=3{cursor}"),
                tok,
                None,
                200,
            )
            .await;
        seen.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_i64() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<i64> = (1..=seen.len() as i64).rev().collect();
    assert_eq!(seen, expected);
}
