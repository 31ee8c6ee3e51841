//! ICE servers for viewers, sent as WHEP `Link` headers (RFC 9725): the
//! STUN URLs as configured, and TURN with credentials that expire, in the
//! shared-secret scheme TURN servers such as coturn (`use-auth-secret`)
//! check: the username is `<expiry unix time>:<session id>`, the password
//! base64(HMAC-SHA1(secret, username)). The secret never leaves the api.

use super::LiveConfig;
use base64::Engine;
use uuid::Uuid;

/// The `Link` header values for viewer `session`, valid from `now` (unix s).
pub fn links(cfg: &LiveConfig, session: Uuid, now: i64) -> Vec<String> {
    let mut out: Vec<String> = cfg
        .stun_urls
        .iter()
        .map(|u| format!("<{u}>; rel=\"ice-server\""))
        .collect();

    let Some(secret) = &cfg.turn_secret else {
        return out;
    };
    let username = format!("{}:{session}", now + cfg.turn_ttl_secs as i64);
    let credential = turn_password(secret.expose(), &username);
    for u in &cfg.turn_urls {
        out.push(format!(
            "<{u}>; rel=\"ice-server\"; username=\"{username}\"; \
             credential=\"{credential}\"; credential-type=\"password\""
        ));
    }
    out
}

/// base64(HMAC-SHA1(`secret`, `username`)), the TURN REST password.
pub fn turn_password(secret: &str, username: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    let tag = ring::hmac::sign(&key, username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_as_given_turn_with_expiring_credentials_and_no_turn_without_a_secret() {
        let mut cfg = LiveConfig {
            stun_urls: vec!["stun:stun.example.net:3478".into()],
            turn_urls: vec!["turn:turn.example.net:3478?transport=udp".into()],
            ..Default::default()
        };
        let id = Uuid::nil();
        assert_eq!(
            links(&cfg, id, 0),
            ["<stun:stun.example.net:3478>; rel=\"ice-server\""]
        );

        cfg.turn_secret = Some(argus_core::Secret::new("s3cret".into()));
        let l = links(&cfg, id, 1000);
        let user = format!("{}:{id}", 1000 + cfg.turn_ttl_secs);
        assert!(l[1].contains(&format!("username=\"{user}\"")), "{}", l[1]);
        assert!(l[1].contains(&turn_password("s3cret", &user)));
        assert!(!l.concat().contains("s3cret"));
    }

    #[test]
    fn the_password_is_rfc_2104_hmac_sha1() {
        // RFC 2202 test case 2.
        let p = turn_password("Jefe", "what do ya want for nothing?");
        assert_eq!(p, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }
}
