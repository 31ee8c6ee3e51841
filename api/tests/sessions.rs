//! Sessions end when they should: refresh tokens rotate and a replayed one
//! revokes its family; logout, disabling a user and suspending a tenant
//! take effect on the very next request; failed logins are throttled and
//! audited; a platform admin enters a tenant only through a grant.

mod common;

use common::{world, TestApp, PASSWORD};
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
        .to_string()
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_family() {
    let app = TestApp::start().await;
    world::tenant(&app, "acme").await;
    let first = app.login("admin@acme.test", PASSWORD, Some("acme")).await;
    let r1 = s(&first, "refresh_token");

    let second = app
        .ok(
            "post",
            "/api/v1/auth/refresh",
            "",
            Some(json!({ "refresh_token": r1 })),
            200,
        )
        .await;
    let (access2, r2) = (s(&second, "access_token"), s(&second, "refresh_token"));
    assert_ne!(r1, r2);
    app.ok("get", "/api/v1/me", &access2, None, 200).await;

    // Replaying the used token: refused, and the whole family dies.
    let (status, _) = app
        .call(
            "post",
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": r1 })),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call(
            "post",
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": r2 })),
        )
        .await;
    assert_eq!(
        status, 401,
        "the newer refresh token of a replayed family must die too"
    );
    let (status, _) = app.call("get", "/api/v1/me", Some(&access2), None).await;
    assert_eq!(
        status, 401,
        "access tokens of a revoked family must stop working"
    );
    let (status, _) = app
        .call("get", "/api/v1/me", Some(&s(&first, "access_token")), None)
        .await;
    assert_eq!(status, 401);

    // A fresh login is unaffected, and the replay is in the audit log.
    let other = app.login("admin@acme.test", PASSWORD, Some("acme")).await;
    let events = app
        .ok(
            "get",
            "/api/v1/audit?action=auth.refresh_replayed",
            &s(&other, "access_token"),
            None,
            200,
        )
        .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn logout_disable_and_suspend_end_access_at_once() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;

    // Logout ends this session only.
    let s1 = app.login("admin@acme.test", PASSWORD, Some("acme")).await;
    let tok1 = s(&s1, "access_token");
    app.ok("post", "/api/v1/auth/logout", &tok1, None, 204)
        .await;
    assert_eq!(
        app.call("get", "/api/v1/me", Some(&tok1), None).await.0,
        401
    );
    let (status, _) = app
        .call(
            "post",
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": s(&s1, "refresh_token") })),
        )
        .await;
    assert_eq!(status, 401);
    app.ok("get", "/api/v1/me", &t.admin_token, None, 200).await;

    // Disabling a user ends every one of their sessions; login then fails.
    let u = app
        .ok(
            "post",
            "/api/v1/users",
            &t.admin_token,
            Some(json!({ "email": "bob@acme.test", "password": PASSWORD })),
            201,
        )
        .await;
    let bob_session = app.login("bob@acme.test", PASSWORD, Some("acme")).await;
    let bob = s(&bob_session, "access_token");
    app.ok("get", "/api/v1/me", &bob, None, 200).await;
    app.ok(
        "patch",
        &format!("/api/v1/users/{}", s(&u, "id")),
        &t.admin_token,
        Some(json!({ "status": "disabled" })),
        200,
    )
    .await;
    assert_eq!(app.call("get", "/api/v1/me", Some(&bob), None).await.0, 401);
    assert_eq!(
        refresh(&app, &bob_session).await,
        401,
        "a disabled user refreshed"
    );
    let (status, _) = app
        .call(
            "post",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "bob@acme.test", "password": PASSWORD })),
        )
        .await;
    assert_eq!(status, 401);

    // Suspending the tenant locks out its users; resuming lets them back.
    let spare = app.login("admin@acme.test", PASSWORD, Some("acme")).await;
    app.ok(
        "post",
        &format!("/api/v1/tenants/{}/suspend", t.id),
        &app.platform_token,
        None,
        200,
    )
    .await;
    assert_eq!(
        app.call("get", "/api/v1/sites", Some(&t.admin_token), None)
            .await
            .0,
        401
    );
    assert_eq!(
        refresh(&app, &spare).await,
        401,
        "a suspended tenant refreshed"
    );
    let (status, _) = app
        .call(
            "post",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "admin@acme.test", "password": PASSWORD })),
        )
        .await;
    assert_eq!(status, 401);
    app.ok(
        "post",
        &format!("/api/v1/tenants/{}/resume", t.id),
        &app.platform_token,
        None,
        200,
    )
    .await;
    app.ok("get", "/api/v1/sites", &t.admin_token, None, 200)
        .await;
}

#[tokio::test]
async fn failed_logins_are_throttled_and_audited() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let bad =
        json!({ "email": "admin@acme.test", "password": "wrong password!", "tenant": "acme" });

    for _ in 0..5 {
        let (status, body) = app
            .call("post", "/api/v1/auth/login", None, Some(bad.clone()))
            .await;
        assert_eq!(status, 401, "{body}");
    }
    let res = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    // While locked, even the right password is refused.
    let good = json!({ "email": "admin@acme.test", "password": PASSWORD, "tenant": "acme" });
    assert_eq!(
        app.call("post", "/api/v1/auth/login", None, Some(good))
            .await
            .0,
        429
    );

    let failures = app
        .ok(
            "get",
            "/api/v1/audit?action=auth.login&outcome=failure",
            &t.admin_token,
            None,
            200,
        )
        .await;
    let events = failures["events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0]["details"]["reason"], "bad_credentials");
    assert_eq!(events[0]["client_ip"], "127.0.0.1");
    let denied = app
        .ok(
            "get",
            "/api/v1/audit?action=auth.login&outcome=denied",
            &t.admin_token,
            None,
            200,
        )
        .await;
    // Only the first refusal of a lockout is recorded, so a flood cannot
    // grow the log without bound.
    assert_eq!(denied["events"].as_array().unwrap().len(), 1);

    // An unknown account is throttled and answered the same way.
    let (status, body) = app
        .call(
            "post",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "ghost@acme.test", "password": "x", "tenant": "acme" })),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
}

#[tokio::test]
async fn platform_admins_enter_a_tenant_only_through_an_audited_grant() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;

    // The platform token itself has no way into tenant routes.
    let (status, _) = app
        .call("get", "/api/v1/cameras", Some(&app.platform_token), None)
        .await;
    assert_eq!(status, 403);

    let body = json!({ "reason": "ticket 4711: camera offline", "minutes": 30 });
    let grant = app
        .ok(
            "post",
            &format!("/api/v1/tenants/{}/access-grants", t.id),
            &app.platform_token,
            Some(body),
            201,
        )
        .await;
    let support = s(&grant["tokens"], "access_token");
    let cams = app.ok("get", "/api/v1/cameras", &support, None, 200).await;
    assert_eq!(cams.as_array().unwrap().len(), 2);

    // The tenant sees the grant and what support did, by name.
    app.ok(
        "post",
        "/api/v1/sites",
        &support,
        Some(json!({ "name": "added by support" })),
        201,
    )
    .await;
    let log = app
        .ok("get", "/api/v1/audit", &t.admin_token, None, 200)
        .await;
    let events = log["events"].as_array().unwrap();
    assert_eq!(events[0]["action"], "site.create");
    assert_eq!(events[0]["actor_kind"], "support");
    assert_eq!(events[1]["action"], "support.grant");
    assert_eq!(
        events[1]["details"]["reason"],
        "ticket 4711: camera offline"
    );

    // Grants are time-limited: too long is refused.
    let (status, _) = app
        .call(
            "post",
            &format!("/api/v1/tenants/{}/access-grants", t.id),
            Some(&app.platform_token),
            Some(json!({ "reason": "forever", "minutes": 100000 })),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_email_in_several_tenants_never_reveals_them_without_the_password() {
    let app = TestApp::start().await;
    let a = world::tenant(&app, "north").await;
    let b = world::tenant(&app, "south").await;
    let shared = "guard@shared.test";
    for (t, pw) in [(&a, PASSWORD), (&b, "another long password")] {
        let user = json!({ "email": shared, "password": pw });
        app.ok("post", "/api/v1/users", &t.admin_token, Some(user), 201)
            .await;
    }
    let login = |pw: &str, tenant: Option<&str>| {
        let mut body = json!({ "email": shared, "password": pw });
        if let Some(slug) = tenant {
            body["tenant"] = json!(slug);
        }
        app.call("post", "/api/v1/auth/login", None, Some(body))
    };

    // A wrong password is a plain 401: nothing says the email exists twice.
    let (status, body) = login("not the password", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");

    // The password picks the one tenant where it matches.
    let (status, body) = login("another long password", None).await;
    assert_eq!(status, 200, "{body}");
    let me = app
        .ok(
            "get",
            "/api/v1/me",
            body["access_token"].as_str().unwrap(),
            None,
            200,
        )
        .await;
    assert_eq!(me["tenant"]["slug"], "south");

    // The slug narrows it; the wrong tenant's password fails there.
    assert_eq!(login(PASSWORD, Some("north")).await.0, 200);
    assert_eq!(login(PASSWORD, Some("south")).await.0, 401);
}

async fn refresh(app: &TestApp, session: &Value) -> u16 {
    let body = json!({ "refresh_token": s(session, "refresh_token") });
    app.call("post", "/api/v1/auth/refresh", None, Some(body))
        .await
        .0
        .as_u16()
}

#[tokio::test]
async fn a_tenant_sees_and_ends_platform_support_access() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let opened = app
        .ok(
            "post",
            &format!("/api/v1/tenants/{}/access-grants", t.id),
            &app.platform_token,
            Some(json!({ "reason": "ticket 7", "minutes": 10 })),
            201,
        )
        .await;
    let support = opened["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let grant = opened["grant"]["id"].as_str().unwrap().to_string();
    app.ok("get", "/api/v1/sites", &support, None, 200).await;

    let list = app
        .ok("get", "/api/v1/access-grants", &t.admin_token, None, 200)
        .await;
    assert!(list.as_array().unwrap().iter().any(|g| g["id"] == grant));

    app.ok(
        "delete",
        &format!("/api/v1/access-grants/{grant}"),
        &t.admin_token,
        None,
        204,
    )
    .await;
    assert_eq!(
        app.call("get", "/api/v1/sites", Some(&support), None)
            .await
            .0,
        401,
        "support access outlived its revoked grant"
    );
    let refreshed = json!({ "refresh_token": opened["tokens"]["refresh_token"] });
    let (status, _) = app
        .call("post", "/api/v1/auth/refresh", None, Some(refreshed))
        .await;
    assert_eq!(status, 401);
    let g = app
        .ok(
            "get",
            &format!("/api/v1/access-grants/{grant}"),
            &t.admin_token,
            None,
            200,
        )
        .await;
    assert!(g["revoked_at"].is_string());
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_throttled_and_audited_apart() {
    let app = TestApp::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.auth.max_failures_per_ip = 3;
    })
    .await;
    let t = world::tenant(&app, "acme").await;
    let attempt = |forwarded: &'static str, email: &'static str| {
        let body = json!({ "email": email, "password": "wrong password!", "tenant": "acme" });
        app.http
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&body)
            .send()
    };

    // One client guessing over many accounts hits the per-IP limit...
    let emails = ["a@acme.test", "b@acme.test", "c@acme.test", "d@acme.test"];
    let mut last = 0;
    for email in emails {
        last = attempt("198.51.100.1, 203.0.113.9", email)
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "the guessing client is throttled");
    // ...while another client behind the same proxy is not.
    let other = attempt("198.51.100.2", "e@acme.test").await.unwrap();
    assert_eq!(other.status(), 401);

    let failures = app
        .ok(
            "get",
            "/api/v1/audit?action=auth.login&outcome=failure",
            &t.admin_token,
            None,
            200,
        )
        .await;
    let ips: Vec<&str> = failures["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["client_ip"].as_str().unwrap())
        .collect();
    assert!(
        ips.contains(&"203.0.113.9") && ips.contains(&"198.51.100.2"),
        "{ips:?}"
    );
    assert!(!ips.contains(&"127.0.0.1"), "{ips:?}");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::start().await;
    let t = world::tenant(&app, "acme").await;
    let body = json!({ "email": "x@acme.test", "password": "wrong password!", "tenant": "acme" });
    app.http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", "203.0.113.77")
        .json(&body)
        .send()
        .await
        .unwrap();
    let failures = app
        .ok(
            "get",
            "/api/v1/audit?action=auth.login&outcome=failure",
            &t.admin_token,
            None,
            200,
        )
        .await;
    assert_eq!(failures["events"][0]["client_ip"], "127.0.0.1");
}
