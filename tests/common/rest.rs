//! The api as a tenant admin uses it over HTTP: a tenant with its admin,
//! a site, a relay and its claim code, cameras, the recording catalog.

use super::stack::{PASSWORD, PLATFORM_EMAIL};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;

/// A logged-in tenant admin.
pub struct Admin {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

fn id(v: &Value) -> Uuid {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .parse()
        .unwrap()
}

/// Sends one request and insists on `status`; returns the JSON body.
pub async fn call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
    status: u16,
) -> Value {
    let send = || {
        let mut req = http.request(method.to_uppercase().parse().unwrap(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        req.send()
    };
    // A GET is safe to repeat once: a pooled connection the server was
    // closing at that very moment (keep-alive) resets, through no fault of
    // the request.
    let res = match send().await {
        Err(e) if method.eq_ignore_ascii_case("get") && e.is_request() => send().await,
        other => other,
    };
    let res = res.unwrap();
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{method} {url}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn login(http: &reqwest::Client, base: &str, email: &str, tenant: Option<&str>) -> String {
    let mut body = json!({ "email": email, "password": PASSWORD });
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    let url = format!("{base}/api/v1/auth/login");
    let v = call(http, "post", &url, None, Some(body), 200).await;
    v["access_token"].as_str().unwrap().to_string()
}

impl Admin {
    /// Creates tenant `slug` as the platform admin and logs in as its admin.
    pub async fn new_tenant(base: &str, slug: &str) -> Self {
        // Idle connections are dropped before the api's 5 s keep-alive ends.
        let http = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        let root = login(&http, base, PLATFORM_EMAIL, None).await;
        let body = json!({ "slug": slug, "name": slug });
        let t = call(
            &http,
            "post",
            &format!("{base}/api/v1/tenants"),
            Some(&root),
            Some(body),
            201,
        )
        .await;

        let email = format!("admin@{slug}.test");
        let url = format!("{base}/api/v1/tenants/{}/admins", id(&t));
        let body = json!({ "email": email, "password": PASSWORD });
        call(&http, "post", &url, Some(&root), Some(body), 201).await;
        let token = login(&http, base, &email, Some(slug)).await;
        Self {
            base: base.to_string(),
            token,
            http,
        }
    }

    /// `method path` with this admin's token, expecting `status`.
    pub async fn req(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let url = format!("{}{path}", self.base);
        call(&self.http, method, &url, Some(&self.token), body, status).await
    }

    /// A site; returns its id.
    pub async fn site(&self, name: &str) -> Uuid {
        id(&self
            .req("post", "/api/v1/sites", Some(json!({ "name": name })), 201)
            .await)
    }

    /// A relay on `site`; returns its id and one-time claim code.
    pub async fn relay(&self, site: Uuid, name: &str) -> (Uuid, String) {
        let body = json!({ "site_id": site, "name": name });
        let v = self.req("post", "/api/v1/relays", Some(body), 201).await;
        (
            id(&v["relay"]),
            v["claim_code"].as_str().unwrap().to_string(),
        )
    }

    /// Waits until the relay has enrolled (status `active`).
    pub async fn wait_enrolled(&self, relay: Uuid) {
        for _ in 0..300 {
            let v = self
                .req("get", &format!("/api/v1/relays/{relay}"), None, 200)
                .await;
            if v["status"] == "active" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("relay {relay} did not enroll");
    }

    /// A camera recorded by `relay`; `extra` adds fields (credentials…).
    pub async fn camera(&self, site: Uuid, relay: Uuid, url: &str, extra: Value) -> Uuid {
        let mut body = json!({
            "site_id": site, "name": "e2e camera", "source_url": url,
            "relay_id": relay, "segment_secs": 2,
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        id(&self.req("post", "/api/v1/cameras", Some(body), 201).await)
    }

    /// The camera's catalog: segments and gaps, over all time.
    pub async fn catalog(&self, camera: Uuid) -> Value {
        let path = format!(
            "/api/v1/cameras/{camera}/segments?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=10000"
        );
        self.req("get", &path, None, 200).await
    }

    /// One recorded segment, decrypted by the api: init + media, an MP4.
    pub async fn segment_mp4(&self, camera: Uuid, segment: &str) -> Vec<u8> {
        let url = format!(
            "{}/api/v1/cameras/{camera}/segments/{segment}/mp4",
            self.base
        );
        let res = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap().to_vec()
    }
}
