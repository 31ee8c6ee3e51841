//! `GET /live-test`, the browser test page for live view (issue #4): served
//! without a token, never cached, and under a policy that lets its own
//! inline script and style run (by hash) and nothing else, with requests
//! only to this origin. The page takes its token from the URL fragment and
//! loads nothing from elsewhere.

mod common;

use argus_api::routes::ROUTES;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::TestApp;
use sha2::{Digest, Sha256};

/// The text between `<tag>` and `</tag>` (the first such block).
fn block<'a>(html: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = html.find(&open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let len = html[start..].find(&format!("</{tag}>")).unwrap();
    &html[start..start + len]
}

fn sha256(text: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The directive `name` of a policy, without its name.
fn directive<'a>(csp: &'a str, name: &str) -> &'a str {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).map(str::trim))
        .unwrap_or_else(|| panic!("no {name} in {csp}"))
}

#[tokio::test]
async fn live_test_page_is_served_with_a_strict_policy() {
    let app = TestApp::start().await;
    let res = app
        .http
        .get(format!("{}/live-test", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let csp = header("content-security-policy");
    let html = res.text().await.unwrap();

    assert_eq!(directive(&csp, "default-src"), "'none'");
    assert_eq!(directive(&csp, "connect-src"), "'self'");
    assert_eq!(
        directive(&csp, "script-src"),
        sha256(block(&html, "script"))
    );
    assert_eq!(directive(&csp, "style-src"), sha256(block(&html, "style")));
    assert_eq!(directive(&csp, "frame-ancestors"), "'none'");
    assert!(!csp.contains("unsafe"), "{csp}");
}

#[tokio::test]
async fn live_test_page_reads_the_fragment_and_loads_nothing_else() {
    let app = TestApp::start().await;
    let res = app
        .http
        .get(format!("{}/live-test?camera=x", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();

    assert!(html.contains("new URLSearchParams(location.hash.slice(1))"));
    assert!(
        !html.contains("URLSearchParams(location.search"),
        "parameters from the query"
    );
    assert!(
        !html.contains("http:") && !html.contains("https:"),
        "an absolute URL"
    );
    for attr in ["src=", "href="] {
        for (at, _) in html.match_indices(attr) {
            let value = &html[at + attr.len()..];
            assert!(value.starts_with("\"data:"), "{attr} not data: at {at}");
        }
    }
    assert!(ROUTES.contains(&("post", "/api/v1/cameras/{id}/whep")));
    assert!(html.contains("'/api/v1/cameras/'") && html.contains("'/whep'"));
}
