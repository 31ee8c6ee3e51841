//! Pages the api serves to browsers, outside the `/api/v1` table: for now
//! `GET /live-test`, the self-contained live-view test page
//! (`web/live-test.html`, issue #4) that real-browser tests drive.
//!
//! Invariants: the page is compiled in, so what a test fetched is what the
//! binary serves; its Content-Security-Policy allows no source but this
//! origin for requests and, for inline code, only the exact `<script>`
//! and `<style>` blocks of the page, by SHA-256 (no `'unsafe-inline'`), so
//! an edit of the page can never be blocked by a stale hash.

use actix_web::HttpResponse;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The live-view test page; it reads camera and token from the fragment.
pub const LIVE_TEST: &str = include_str!("../../../web/live-test.html");

/// The page's policy, hashes computed once from the page itself.
static LIVE_TEST_CSP: LazyLock<String> = LazyLock::new(|| csp_for(LIVE_TEST));

/// `GET /live-test`.
pub async fn live_test() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", LIVE_TEST_CSP.as_str()))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(LIVE_TEST)
}

/// A policy for `html` that allows its inline `<script>` and `<style>`
/// blocks and nothing else inline.
pub fn csp_for(html: &str) -> String {
    let scripts = hashes(html, "script");
    let styles = hashes(html, "style");
    format!(
        "default-src 'none'; script-src {scripts}; style-src {styles}; \
         connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

/// `'sha256-…'` of the text of every `<tag>…</tag>` block (attribute-less
/// opening tags only), space-separated; `'none'` when there is none.
fn hashes(html: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let Some(end) = body.find(&close) else { break };
        let digest = Sha256::digest(&body.as_bytes()[..end]);
        out.push(format!("'sha256-{}'", STANDARD.encode(digest)));
        rest = &body[end + close.len()..];
    }
    if out.is_empty() {
        return "'none'".into();
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inline_block_is_hashed_and_nothing_else_allowed() {
        let csp = csp_for("<style>a{}</style><script>1</script><p>x</p><script>2</script>");
        let sha = |s: &str| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(s)));
        assert!(csp.contains(&format!("script-src {} {};", sha("1"), sha("2"))));
        assert!(csp.contains(&format!("style-src {};", sha("a{}"))));
        assert!(!csp.contains("unsafe"));
    }

    #[test]
    fn a_page_without_inline_code_allows_none() {
        let csp = csp_for("<p>plain</p>");
        assert!(csp.contains("script-src 'none';"));
        assert!(csp.contains("style-src 'none';"));
    }

    #[test]
    fn the_live_test_page_has_one_script_and_one_style() {
        let csp = csp_for(LIVE_TEST);
        assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
    }
}
