//! Access-token attacks from RFC 8725: every forged or broken token gets a
//! 401, while the same construction with honest values gets a 200 (so the
//! test fails if the forging helper itself is broken).

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::{TestApp, PASSWORD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

struct Forge {
    kid: String,
    key: EncodingKey,
    claims: Value,
}

impl Forge {
    fn load(app: &TestApp, token: &str) -> Self {
        let entry = std::fs::read_dir(&app.key_dir)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let kid = entry.file_stem().unwrap().to_str().unwrap().to_string();
        let key = EncodingKey::from_ed_der(&std::fs::read(&entry).unwrap());
        let payload = token.split('.').nth(1).unwrap();
        let claims = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        Self { kid, key, claims }
    }

    fn sign(&self, claims: &Value, typ: Option<&str>, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = typ.map(str::to_string);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    fn honest(&self, change: impl FnOnce(&mut Value)) -> String {
        let mut c = self.claims.clone();
        change(&mut c);
        self.sign(&c, Some("at+jwt"), Some(&self.kid))
    }
}

fn unsigned(header: Value, claims: &Value) -> String {
    let h = B64.encode(header.to_string());
    let c = B64.encode(claims.to_string());
    format!("{h}.{c}.")
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused() {
    let app = TestApp::start().await;
    let a = common::world::tenant(&app, "acme").await;
    let b = common::world::tenant(&app, "other").await;
    let f = Forge::load(&app, &a.admin_token);
    let now = chrono::Utc::now().timestamp();

    // Positive control: re-signing the real claims works.
    let good = f.honest(|_| {});
    let (status, _) = app.call("get", "/api/v1/sites", Some(&good), None).await;
    assert_eq!(status, 200, "the honestly re-signed token must work");

    let hs256_with_public_key = {
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(
            &std::fs::read(
                std::fs::read_dir(&app.key_dir)
                    .unwrap()
                    .flatten()
                    .next()
                    .unwrap()
                    .path(),
            )
            .unwrap(),
        )
        .unwrap();
        use ring::signature::KeyPair;
        let mut h = Header::new(Algorithm::HS256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(f.kid.clone());
        jsonwebtoken::encode(
            &h,
            &f.claims,
            &EncodingKey::from_secret(pair.public_key().as_ref()),
        )
        .unwrap()
    };
    let tampered = {
        let parts: Vec<&str> = a.admin_token.split('.').collect();
        let mut c = f.claims.clone();
        c["tid"] = json!(b.id);
        format!("{}.{}.{}", parts[0], B64.encode(c.to_string()), parts[2])
    };

    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none",
            unsigned(
                json!({ "alg": "none", "typ": "at+jwt", "kid": f.kid }),
                &f.claims,
            ),
        ),
        ("HS256 keyed with the public key", hs256_with_public_key),
        (
            "missing aud",
            f.honest(|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        ("wrong aud", f.honest(|c| c["aud"] = json!("someone-else"))),
        (
            "missing iss",
            f.honest(|c| {
                c.as_object_mut().unwrap().remove("iss");
            }),
        ),
        ("wrong iss", f.honest(|c| c["iss"] = json!("evil"))),
        ("expired", f.honest(|c| c["exp"] = json!(now - 120))),
        (
            "missing exp",
            f.honest(|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "nbf in the future",
            f.honest(|c| c["nbf"] = json!(now + 600)),
        ),
        (
            "missing nbf",
            f.honest(|c| {
                c.as_object_mut().unwrap().remove("nbf");
            }),
        ),
        ("wrong typ", f.sign(&f.claims, Some("JWT"), Some(&f.kid))),
        ("no typ", f.sign(&f.claims, None, Some(&f.kid))),
        (
            "unknown kid",
            f.sign(&f.claims, Some("at+jwt"), Some("k2099")),
        ),
        (
            "injected kid",
            f.sign(&f.claims, Some("at+jwt"), Some("../../../../dev/null")),
        ),
        ("no kid", f.sign(&f.claims, Some("at+jwt"), None)),
        ("tampered payload", tampered),
        ("garbage", "not.a.jwt".into()),
    ];
    for (name, token) in attacks {
        let (status, body) = app.call("get", "/api/v1/sites", Some(&token), None).await;
        assert_eq!(status, 401, "{name} was accepted: {body}");
        assert_eq!(body["error"]["code"], "unauthenticated", "{name}");
    }

    // A tenant id swapped into an honestly signed token still cannot act:
    // the session belongs to tenant A.
    let cross = f.honest(|c| c["tid"] = json!(b.id));
    let (status, _) = app.call("get", "/api/v1/sites", Some(&cross), None).await;
    assert_eq!(status, 401);

    // No header and a non-Bearer scheme.
    assert_eq!(app.call("get", "/api/v1/sites", None, None).await.0, 401);
    let res = app
        .http
        .get(format!("{}/api/v1/sites", app.base))
        .basic_auth("x", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The scheme name is case-insensitive; the token itself is not.
    let lower = app
        .http
        .get(format!("{}/api/v1/sites", app.base))
        .header("authorization", format!("bearer {}", a.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200);
}

#[tokio::test]
async fn a_new_signing_key_does_not_log_anyone_out() {
    let app = TestApp::start().await;
    let a = common::world::tenant(&app, "acme").await;
    let old_kid = Forge::load(&app, &a.admin_token).kid;

    std::thread::sleep(std::time::Duration::from_millis(5));
    let new_kid = argus_api::auth::keys::generate(&app.key_dir).unwrap();
    let keys = argus_api::auth::keys::KeySet::load(&app.key_dir).unwrap();
    assert_eq!(keys.signing().0, new_kid, "the newest key signs");
    assert!(new_kid > old_kid);
    let cfg = argus_api::config::AuthConfig::default();
    let old = argus_api::auth::token::verify(&keys, &cfg, &a.admin_token);
    assert!(
        old.is_some(),
        "a token of the old key still verifies after rotation"
    );

    let claims = old.unwrap();
    let fresh = argus_api::auth::token::sign(&keys, &claims).unwrap();
    let header = jsonwebtoken::decode_header(&fresh).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    assert!(argus_api::auth::token::verify(&keys, &cfg, &fresh).is_some());
}
