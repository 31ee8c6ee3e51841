//! Nobody inside a tenant can hand out, take away or take over more than
//! they hold, and a tenant always keeps an active owner.

mod common;

use common::{world, TestApp, PASSWORD};
use serde_json::{json, Value};

/// Creates a user holding a new custom role with `perms`; returns (id, token).
async fn user_with(app: &TestApp, admin: &str, name: &str, perms: Value) -> (String, String) {
    let role = app
        .ok(
            "post",
            "/api/v1/roles",
            admin,
            Some(json!({ "name": name, "permissions": perms })),
            201,
        )
        .await;
    let email = format!("{name}@acme.test");
    let u = app
        .ok(
            "post",
            "/api/v1/users",
            admin,
            Some(json!({ "email": email, "password": PASSWORD })),
            201,
        )
        .await;
    app.ok(
        "post",
        "/api/v1/role-bindings",
        admin,
        Some(json!({ "user_id": u["id"], "role_id": role["id"] })),
        201,
    )
    .await;
    let token = app.login(&email, PASSWORD, Some("acme")).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (u["id"].as_str().unwrap().to_string(), token)
}

async fn role_id(app: &TestApp, admin: &str, name: &str) -> Value {
    let roles = app.ok("get", "/api/v1/roles", admin, None, 200).await;
    roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap()["id"]
        .clone()
}

#[tokio::test]
async fn user_managers_cannot_take_over_stronger_accounts() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let (_, umgr) = user_with(
        &app,
        &t.admin_token,
        "usermgr",
        json!(["users.read", "users.write"]),
    )
    .await;
    let owner = format!("/api/v1/users/{}", t.admin_id);

    let (status, _) = app
        .call(
            "patch",
            &owner,
            Some(&umgr),
            Some(json!({ "password": "taken over 12345" })),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(app.call("delete", &owner, Some(&umgr), None).await.0, 403);
    assert_eq!(
        app.call(
            "patch",
            &owner,
            Some(&umgr),
            Some(json!({ "status": "disabled" }))
        )
        .await
        .0,
        403
    );
    app.login("admin@acme.test", PASSWORD, Some("acme")).await;

    // A user with no more than the manager holds is fair game.
    let plain = app
        .ok(
            "post",
            "/api/v1/users",
            &umgr,
            Some(json!({ "email": "plain@acme.test", "password": PASSWORD })),
            201,
        )
        .await;
    app.ok(
        "patch",
        &format!("/api/v1/users/{}", plain["id"].as_str().unwrap()),
        &umgr,
        Some(json!({ "display_name": "P" })),
        200,
    )
    .await;
}

#[tokio::test]
async fn role_managers_cannot_grant_what_they_lack() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let (me, rmgr) = user_with(
        &app,
        &t.admin_token,
        "rolemgr",
        json!(["roles.read", "roles.write", "users.read"]),
    )
    .await;
    let my_role = role_id(&app, &t.admin_token, "rolemgr").await;

    let widen =
        json!({ "permissions": ["roles.read", "roles.write", "users.read", "users.write"] });
    let (status, _) = app
        .call(
            "patch",
            &format!("/api/v1/roles/{}", my_role.as_str().unwrap()),
            Some(&rmgr),
            Some(widen),
        )
        .await;
    assert_eq!(status, 403, "widening one's own role");
    let owner = role_id(&app, &t.admin_token, "owner").await;
    let (status, _) = app
        .call(
            "post",
            "/api/v1/role-bindings",
            Some(&rmgr),
            Some(json!({ "user_id": me, "role_id": owner })),
        )
        .await;
    assert_eq!(status, 403, "binding owner to oneself");
    let (status, _) = app
        .call(
            "post",
            "/api/v1/roles",
            Some(&rmgr),
            Some(json!({ "name": "x", "permissions": ["audit.read"] })),
        )
        .await;
    assert_eq!(status, 403, "creating a role with more than one holds");
    let night = t.role.to_string();
    assert_eq!(
        app.call(
            "delete",
            &format!("/api/v1/roles/{night}"),
            Some(&rmgr),
            None
        )
        .await
        .0,
        403
    );
    app.ok(
        "post",
        "/api/v1/roles",
        &rmgr,
        Some(json!({ "name": "reader", "permissions": ["roles.read"] })),
        201,
    )
    .await;

    // Admins still can; duplicates and look-alike names are refused.
    let (status, body) = app
        .call(
            "post",
            "/api/v1/roles",
            Some(&t.admin_token),
            Some(json!({ "name": "Owner", "permissions": [] })),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let viewer = role_id(&app, &t.admin_token, "viewer").await;
    let bind = json!({ "user_id": me, "role_id": viewer });
    app.ok(
        "post",
        "/api/v1/role-bindings",
        &t.admin_token,
        Some(bind.clone()),
        201,
    )
    .await;
    assert_eq!(
        app.call(
            "post",
            "/api/v1/role-bindings",
            Some(&t.admin_token),
            Some(bind)
        )
        .await
        .0,
        409
    );
}

#[tokio::test]
async fn a_tenant_always_keeps_an_active_owner() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let me = format!("/api/v1/users/{}", t.admin_id);

    let (status, _) = app
        .call(
            "delete",
            &format!("/api/v1/role-bindings/{}", t.binding),
            Some(&t.admin_token),
            None,
        )
        .await;
    assert_eq!(status, 409, "removing the last owner binding");
    assert_eq!(
        app.call(
            "patch",
            &me,
            Some(&t.admin_token),
            Some(json!({ "status": "disabled" }))
        )
        .await
        .0,
        409
    );

    // With a second owner, the first may step down.
    let owner = role_id(&app, &t.admin_token, "owner").await;
    let u = app
        .ok(
            "post",
            "/api/v1/users",
            &t.admin_token,
            Some(json!({ "email": "two@acme.test", "password": PASSWORD })),
            201,
        )
        .await;
    app.ok(
        "post",
        "/api/v1/role-bindings",
        &t.admin_token,
        Some(json!({ "user_id": u["id"], "role_id": owner })),
        201,
    )
    .await;
    app.ok(
        "delete",
        &format!("/api/v1/role-bindings/{}", t.binding),
        &t.admin_token,
        None,
        204,
    )
    .await;
}
