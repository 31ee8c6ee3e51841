//! Tenant isolation, generated from the route table: a user of tenant B,
//! and a user of tenant A scoped to site 1, get 404 for every tenant-A
//! object outside their reach, on every route and method, and the object
//! is unchanged afterwards. Then the same isolation with the application's
//! scoping bypassed: row-level security alone returns nothing.

mod common;

use argus_api::routes::ROUTES;
use common::{world, TestApp};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{json, Value};
use uuid::Uuid;

/// Tenant A's object of the route's kind that `who` must not reach.
fn target(w: &world::World, kind: &str, scoped: bool) -> Option<Uuid> {
    let a = &w.a;
    Some(match kind {
        "users" => a.admin_id,
        "roles" => a.role,
        "role-bindings" => a.binding,
        "access-grants" => a.grant,
        // The scoped user reaches site 1; site 2's objects are out of reach.
        "sites" => {
            if scoped {
                a.sites[1]
            } else {
                a.sites[0]
            }
        }
        "cameras" => {
            if scoped {
                a.cameras[1]
            } else {
                a.cameras[0]
            }
        }
        "relays" => {
            if scoped {
                a.relays[1]
            } else {
                a.relays[0]
            }
        }
        // Live sessions are held in memory, not in the database: a session
        // id that is not the caller's answers like an unknown one, 404
        // (someone else's session is covered in live_sfu.rs).
        "live" => Uuid::now_v7(),
        _ => return None,
    })
}

fn body_for(kind: &str, method: &str) -> Option<Value> {
    match method {
        "patch" if kind == "users" => Some(json!({ "display_name": "pwned" })),
        "patch" => Some(json!({ "name": "pwned" })),
        _ => None,
    }
}

/// Bodies for collection POSTs that reference tenant A's objects.
fn reference_body(w: &world::World, path: &str) -> Option<Value> {
    let a = &w.a;
    match path {
        "/api/v1/cameras" => {
            Some(json!({ "site_id": a.sites[1], "name": "x", "source_url": "rtsp://h/s" }))
        }
        "/api/v1/relays" => Some(json!({ "site_id": a.sites[1], "name": "x" })),
        "/api/v1/role-bindings" => Some(json!({ "user_id": a.admin_id, "role_id": a.role })),
        _ => None,
    }
}

#[tokio::test]
async fn every_route_hides_other_tenants_and_out_of_scope_objects() {
    let app = TestApp::start().await;
    let w = world::build(&app).await;
    let callers = [
        ("tenant B admin", w.b.admin_token.clone(), false),
        ("site-scoped user of A", w.scoped_token.clone(), true),
    ];
    let mut checked = 0;

    for (method, path) in ROUTES {
        let kind = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .next()
            .unwrap();
        if kind == "auth" || kind == "me" || kind == "audit" {
            continue; // no object ids: covered by their own tests
        }
        if kind == "tenants" {
            // Platform routes: a tenant token is refused whatever the id.
            let p = path.replace("{id}", &w.a.id.to_string());
            let (status, _) = app
                .call(method, &p, Some(&w.b.admin_token), Some(json!({})))
                .await;
            assert_eq!(status.as_u16(), 403, "{method} {p} with a tenant token");
            checked += 1;
            continue;
        }
        for (who, token, scoped) in &callers {
            if path.contains("{id}") {
                let id = target(&w, kind, *scoped)
                    .unwrap_or_else(|| panic!("route {path} not covered by the matrix"));
                let p = path.replace("{id}", &id.to_string());
                let obj = format!("/api/v1/{kind}/{id}");
                let before = app.call("get", &obj, Some(&w.a.admin_token), None).await;
                let (status, body) = app
                    .call(method, &p, Some(token), body_for(kind, method))
                    .await;
                assert_eq!(status.as_u16(), 404, "{who}: {method} {p} -> {body}");
                assert_eq!(body["error"]["code"], "not_found", "{who}: {method} {p}");
                let after = app.call("get", &obj, Some(&w.a.admin_token), None).await;
                assert_eq!(before, after, "{who}: {method} {p} changed the object");
            } else if *method == "post" {
                if let Some(body) = reference_body(&w, path) {
                    // 404 for the object, or 403 for lacking the permission
                    // altogether (an answer that does not depend on the
                    // object); never a write.
                    let table = kind.replace('-', "_");
                    let rows = app.count(&table).await;
                    let (status, res) = app.call(method, path, Some(token), Some(body)).await;
                    let denied = status == 403 && res["error"]["code"] == "permission_denied";
                    assert!(
                        status == 404 || denied,
                        "{who}: {method} {path} referencing A's objects -> {status} {res}"
                    );
                    assert_eq!(
                        app.count(&table).await,
                        rows,
                        "{who}: {method} {path} wrote a row"
                    );
                }
            } else {
                let (status, list) = app.call(method, path, Some(token), None).await;
                if status.is_success() {
                    assert_no_foreign_ids(&w, &list, *scoped, &format!("{who}: GET {path}"));
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "matrix checked only {checked} cases");
}

fn assert_no_foreign_ids(w: &world::World, list: &Value, scoped: bool, ctx: &str) {
    let text = list.to_string();
    let mut forbidden = vec![w.a.sites[1], w.a.cameras[1], w.a.relays[1]];
    if !scoped {
        forbidden.extend([
            w.a.id,
            w.a.sites[0],
            w.a.cameras[0],
            w.a.relays[0],
            w.a.admin_id,
            w.a.role,
            w.a.binding,
            w.a.grant,
        ]);
    }
    for id in forbidden {
        assert!(!text.contains(&id.to_string()), "{ctx} leaked {id}: {text}");
    }
}

#[tokio::test]
async fn row_level_security_holds_without_the_application_scoping() {
    let app = TestApp::start().await;
    let w = world::build(&app).await;
    let raw = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    let count = |row: Option<sea_orm::QueryResult>| row.unwrap().try_get::<i64>("", "n").unwrap();

    // As the app role with no tenant set: nothing at all.
    let tx = app.db.begin().await.unwrap();
    tx.execute_unprepared("SET LOCAL ROLE argus_app")
        .await
        .unwrap();
    for table in [
        "tenants",
        "users",
        "roles",
        "role_bindings",
        "sites",
        "relays",
        "cameras",
        "audit_events",
    ] {
        let n = count(
            tx.query_one(raw(format!("SELECT count(*) AS n FROM {table}")))
                .await
                .unwrap(),
        );
        assert_eq!(n, 0, "{table} visible without a tenant");
    }
    tx.rollback().await.unwrap();

    // Scoped to tenant B, a query with no tenant filter still sees only B.
    let tx = app.db.begin().await.unwrap();
    argus_api::db::scope_to_tenant(&tx, w.b.id).await.unwrap();
    let rows = tx
        .query_all(raw("SELECT id FROM cameras".into()))
        .await
        .unwrap();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.try_get("", "id").unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|id| w.b.cameras.contains(id)));
    let n = count(
        tx.query_one(raw(format!(
            "SELECT count(*) AS n FROM cameras WHERE tenant_id = '{}'",
            w.a.id
        )))
        .await
        .unwrap(),
    );
    assert_eq!(n, 0, "tenant A's cameras visible when scoped to B");

    // Writing a row into another tenant is refused by the policy.
    let insert = format!(
        "INSERT INTO sites (id, tenant_id, name, timezone, created_at) \
         VALUES ('{}', '{}', 'x', 'UTC', now())",
        Uuid::new_v4(),
        w.a.id
    );
    assert!(
        tx.execute_unprepared(&insert).await.is_err(),
        "insert into tenant A while scoped to B"
    );
    tx.rollback().await.unwrap();

    // The audit log is append-only for the app role.
    let tx = app.db.begin().await.unwrap();
    argus_api::db::scope_to_tenant(&tx, w.a.id).await.unwrap();
    let err = tx
        .execute_unprepared("UPDATE audit_events SET action = 'x'")
        .await;
    assert!(err.is_err(), "the app role could rewrite the audit log");
    tx.rollback().await.unwrap();
}
