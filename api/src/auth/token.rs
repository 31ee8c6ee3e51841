//! Access tokens: short-lived JWTs signed with EdDSA (RFC 8725 practice).
//!
//! Verification pins the algorithm, requires `iss`, `aud`, `exp`, `nbf`,
//! `sub`, checks the header's `typ` is `at+jwt` (RFC 9068) and looks the
//! `kid` up among our own keys only: anything else is a plain 401.

use super::keys::KeySet;
use crate::config::AuthConfig;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const TYP: &str = "at+jwt";

/// Who a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A user of one tenant.
    User,
    /// A platform admin, outside every tenant.
    Platform,
    /// A platform admin inside one tenant through a time-limited grant.
    Support,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Platform => "platform",
            SubjectKind::Support => "support",
        }
    }
}

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub kind: SubjectKind,
    /// The tenant, for `user` and `support` tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// The login session (refresh-token family).
    pub sid: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

impl Claims {
    pub fn new(
        cfg: &AuthConfig,
        kind: SubjectKind,
        sub: Uuid,
        tid: Option<Uuid>,
        sid: Uuid,
    ) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            iss: cfg.issuer.clone(),
            aud: cfg.audience.clone(),
            sub,
            kind,
            tid,
            sid,
            iat: now,
            nbf: now,
            exp: now + cfg.access_ttl_secs,
            jti: Uuid::new_v4(),
        }
    }
}

/// Signs `claims` with the current signing key.
pub fn sign(keys: &KeySet, claims: &Claims) -> anyhow::Result<String> {
    let (kid, key) = keys.signing();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    header.typ = Some(TYP.to_string());
    Ok(jsonwebtoken::encode(&header, claims, key)?)
}

/// Verifies a token; `None` for anything not issued by us, now, for us.
pub fn verify(keys: &KeySet, cfg: &AuthConfig, token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TYP) {
        return None;
    }
    let key = keys.verifying(header.kid.as_deref()?)?;

    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&cfg.issuer]);
    validation.set_audience(&[&cfg.audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 5;

    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .ok()
        .map(|data| data.claims)
}
