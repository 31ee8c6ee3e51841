//! A populated world for isolation tests: two tenants built through the
//! api, each with two sites and on each site a camera and a relay, plus a
//! custom role; and in tenant A a user bound (operator and installer) to
//! site 1 only.

use super::{TestApp, PASSWORD};
use serde_json::{json, Value};
use uuid::Uuid;

pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub admin_token: String,
    pub admin_id: Uuid,
    pub sites: [Uuid; 2],
    pub cameras: [Uuid; 2],
    pub relays: [Uuid; 2],
    pub role: Uuid,
    pub binding: Uuid,
    /// A platform support grant opened on this tenant.
    pub grant: Uuid,
}

pub struct World {
    pub a: Tenant,
    pub b: Tenant,
    /// Tenant A's user with operator + installer on site 1 only.
    pub scoped_token: String,
    pub scoped_id: Uuid,
}

fn id(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .parse()
        .unwrap()
}

pub async fn tenant(app: &TestApp, slug: &str) -> Tenant {
    let p = &app.platform_token;
    let t = app
        .ok(
            "post",
            "/api/v1/tenants",
            p,
            Some(json!({ "slug": slug, "name": slug })),
            201,
        )
        .await;
    let tid = id(&t);
    let email = format!("admin@{slug}.test");
    let admin = app
        .ok(
            "post",
            &format!("/api/v1/tenants/{tid}/admins"),
            p,
            Some(json!({ "email": email, "password": PASSWORD })),
            201,
        )
        .await;
    let tok = app.login(&email, PASSWORD, Some(slug)).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let mut sites = [Uuid::nil(); 2];
    let mut cameras = [Uuid::nil(); 2];
    let mut relays = [Uuid::nil(); 2];
    for i in 0..2 {
        let s = app
            .ok(
                "post",
                "/api/v1/sites",
                &tok,
                Some(json!({ "name": format!("{slug} site {i}") })),
                201,
            )
            .await;
        sites[i] = id(&s);
        let r = app
            .ok(
                "post",
                "/api/v1/relays",
                &tok,
                Some(json!({ "site_id": sites[i], "name": format!("relay {i}") })),
                201,
            )
            .await;
        relays[i] = id(&r["relay"]);
        let c = app.ok("post", "/api/v1/cameras", &tok, Some(json!({
            "site_id": sites[i], "name": format!("cam {i}"), "source_url": format!("rtsp://10.0.0.{i}/s"), "relay_id": relays[i]
        })), 201).await;
        cameras[i] = id(&c);
    }
    let role = app
        .ok(
            "post",
            "/api/v1/roles",
            &tok,
            Some(json!({ "name": "night shift", "permissions": ["live.view", "cameras.read"] })),
            201,
        )
        .await;
    let admin_id = id(&admin);
    let bindings = app
        .ok(
            "get",
            &format!("/api/v1/role-bindings?user_id={admin_id}"),
            &tok,
            None,
            200,
        )
        .await;
    let binding = id(&bindings[0]);
    let grant = app
        .ok(
            "post",
            &format!("/api/v1/tenants/{tid}/access-grants"),
            p,
            Some(json!({ "reason": "ticket 42", "minutes": 30 })),
            201,
        )
        .await;
    Tenant {
        id: tid,
        slug: slug.into(),
        admin_token: tok,
        admin_id,
        sites,
        cameras,
        relays,
        role: id(&role),
        binding,
        grant: id(&grant["grant"]),
    }
}

pub async fn build(app: &TestApp) -> World {
    let a = tenant(app, "tenant-a").await;
    let b = tenant(app, "tenant-b").await;

    let user = app
        .ok(
            "post",
            "/api/v1/users",
            &a.admin_token,
            Some(json!({ "email": "guard@tenant-a.test", "password": PASSWORD })),
            201,
        )
        .await;
    let scoped_id = id(&user);
    let roles = app
        .ok("get", "/api/v1/roles", &a.admin_token, None, 200)
        .await;
    for name in ["operator", "installer"] {
        let role = roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap();
        app.ok(
            "post",
            "/api/v1/role-bindings",
            &a.admin_token,
            Some(json!({ "user_id": scoped_id, "role_id": role["id"], "site_id": a.sites[0] })),
            201,
        )
        .await;
    }
    let scoped_token = app
        .login("guard@tenant-a.test", PASSWORD, Some("tenant-a"))
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    World {
        a,
        b,
        scoped_token,
        scoped_id,
    }
}
