//! Camera credentials sealed to one relay.
//!
//! The cloud never stores a camera password in the clear: when an admin
//! sets one, the api seals it to the X25519 public key of the camera's relay
//! (an anonymous sealed box: X25519 + XSalsa20-Poly1305) and keeps only the
//! sealed form. Only that relay, holding the private key in its state dir,
//! can open it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crypto_box::{PublicKey, SecretKey};

/// A relay's sealing key pair.
pub struct SealingKey(SecretKey);

impl SealingKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(SecretKey::generate(&mut crypto_box::aead::OsRng))
    }

    /// Loads the 32 secret bytes saved with [`SealingKey::to_bytes`].
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretKey::from(bytes))
    }

    /// The secret bytes, for the relay's state dir only.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key, base64url without padding, as enrollment sends it.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.public_key().as_bytes())
    }

    /// Opens a box sealed to this key; `None` if it was not, or was altered.
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        self.0.unseal(&bytes).ok()
    }
}

/// Whether `key` is a well-formed X25519 public key (base64url, 32 bytes).
pub fn is_public_key(key: &str) -> bool {
    URL_SAFE_NO_PAD.decode(key).is_ok_and(|b| b.len() == 32)
}

/// Seals `plaintext` to the relay public key `to` (base64url).
pub fn seal(to: &str, plaintext: &[u8]) -> Option<String> {
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(to).ok()?.try_into().ok()?;
    let sealed = PublicKey::from(bytes)
        .seal(&mut crypto_box::aead::OsRng, plaintext)
        .ok()?;
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_relay_opens_its_box() {
        let relay = SealingKey::generate();
        let other = SealingKey::generate();
        let sealed = seal(&relay.public_key(), b"admin:hunter2").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(relay.open(&sealed).unwrap(), b"admin:hunter2");
        assert!(other.open(&sealed).is_none());
        let reloaded = SealingKey::from_bytes(relay.to_bytes());
        assert_eq!(reloaded.open(&sealed).unwrap(), b"admin:hunter2");
        assert!(is_public_key(&relay.public_key()));
        assert!(!is_public_key("short"));
    }
}
