//! The tokens a relay signs for the cloud with its own Ed25519 key.
//!
//! After enrolling, a relay holds a key pair the cloud never saw the private
//! half of. Every request (and the control channel's upgrade) carries a
//! fresh token it signed: EdDSA only, `aud` = [`RELAY_AUDIENCE`], `sub` =
//! the relay id, valid for at most [`MAX_LIFETIME_SECS`]. The cloud looks up
//! the relay by `sub`, verifies with the key it stored at enrollment, and
//! refuses a revoked relay or a suspended tenant at once.

use crate::wire::RELAY_AUDIENCE;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest lifetime a relay token may claim.
pub const MAX_LIFETIME_SECS: i64 = 300;

/// `typ` header of relay tokens.
const TYP: &str = "argus-relay+jwt";

/// The claims of a relay token.
#[derive(Debug, Serialize, Deserialize)]
pub struct RelayClaims {
    pub sub: Uuid,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// A relay's signing key, kept as PKCS#8 in its state dir.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Self {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("system randomness");
        Self::from_pkcs8(doc.as_ref()).expect("a key ring just made")
    }

    /// Loads a key saved with [`SigningKey::pkcs8`].
    pub fn from_pkcs8(der: &[u8]) -> Option<Self> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).ok()?;
        Some(Self {
            pair,
            pkcs8: der.to_vec(),
        })
    }

    /// The private key as PKCS#8 DER, for the state dir only.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key, base64url without padding, as enrollment sends it.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())
    }

    /// Signs a token for `relay`, valid from `now` for `lifetime` seconds.
    pub fn sign(&self, relay: Uuid, now: i64, lifetime: i64) -> String {
        let claims = RelayClaims {
            sub: relay,
            aud: RELAY_AUDIENCE.into(),
            iat: now,
            exp: now + lifetime.min(MAX_LIFETIME_SECS),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TYP.into());
        let key = EncodingKey::from_ed_der(&self.pkcs8);
        jsonwebtoken::encode(&header, &claims, &key).expect("Ed25519 signing cannot fail")
    }
}

/// The relay a token claims to be, read before its signature is checked
/// (to find the key to check it with). Trust nothing else from it.
pub fn claimed_relay(token: &str) -> Option<Uuid> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str()?.parse().ok()
}

/// Verifies `token` against the relay's stored public key (base64url).
/// Checks the algorithm, `typ`, audience, expiry and the lifetime cap.
pub fn verify(token: &str, public_key: &str, now: i64) -> Option<RelayClaims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TYP) {
        return None;
    }
    let key = DecodingKey::from_ed_components(public_key).ok()?;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[RELAY_AUDIENCE]);
    v.set_required_spec_claims(&["exp", "aud", "sub"]);
    v.leeway = 30;
    let claims = jsonwebtoken::decode::<RelayClaims>(token, &key, &v)
        .ok()?
        .claims;
    let sane = claims.iat <= now + 30 && claims.exp - claims.iat <= MAX_LIFETIME_SECS;
    sane.then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn a_token_verifies_only_with_its_own_key() {
        let (k, other) = (SigningKey::generate(), SigningKey::generate());
        let relay = Uuid::from_u128(42);
        let t = k.sign(relay, now(), 60);
        assert_eq!(claimed_relay(&t), Some(relay));
        assert_eq!(verify(&t, &k.public_key(), now()).unwrap().sub, relay);
        assert!(verify(&t, &other.public_key(), now()).is_none());
    }

    #[test]
    fn expired_or_tampered_tokens_fail() {
        let k = SigningKey::generate();
        let relay = Uuid::from_u128(1);
        let old = k.sign(relay, now() - 1000, 60);
        assert!(verify(&old, &k.public_key(), now()).is_none());

        let t = k.sign(relay, now(), 60);
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let forged = RelayClaims {
            sub: Uuid::from_u128(2),
            aud: RELAY_AUDIENCE.into(),
            iat: now(),
            exp: now() + 60,
        };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(verify(&parts.join("."), &k.public_key(), now()).is_none());

        let reloaded = SigningKey::from_pkcs8(k.pkcs8()).unwrap();
        assert_eq!(reloaded.public_key(), k.public_key());
    }
}
