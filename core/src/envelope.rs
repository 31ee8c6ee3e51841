//! Envelope encryption of recorded objects.
//!
//! Every init and media segment is sealed with AES-256-GCM under its
//! camera's data key before it leaves the relay; object storage only ever
//! holds ciphertext. Data keys are stored wrapped (sealed) by their tenant's
//! key, tenant keys by the master key, with the same primitive.
//!
//! The associated data binds the tenant, camera, object id and start time
//! ([`ObjectAad`]), so a ciphertext moved under another camera, another
//! segment or another time fails authentication instead of playing.
//!
//! Sealed layout: `nonce (12 bytes, random) || ciphertext || tag (16 bytes)`.

use crate::Secret;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

/// Length of every key: data, tenant and master keys.
pub const KEY_LEN: usize = 32;

/// Bytes a sealed object is longer than its plaintext.
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// A 256-bit key. Its formatting is redacted.
pub type Key = Secret<[u8; KEY_LEN]>;

/// Opening failed: the ciphertext, its associated data or the key is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ciphertext failed authentication")]
pub struct OpenError;

/// A new random key.
pub fn random_key() -> Key {
    let mut key = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut key)
        .expect("system randomness");
    Secret::new(key)
}

/// What a recorded object's ciphertext is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectAad {
    pub tenant: Uuid,
    pub camera: Uuid,
    /// The object's deterministic id (see [`crate::wire::ids`]).
    pub object: Uuid,
    /// Start time in microseconds since the Unix epoch; 0 for init segments.
    pub start_us: i64,
}

impl ObjectAad {
    /// The canonical bytes: a version tag, three ids, the start time.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"argus-object-v1");
        out.extend_from_slice(self.tenant.as_bytes());
        out.extend_from_slice(self.camera.as_bytes());
        out.extend_from_slice(self.object.as_bytes());
        out.extend_from_slice(&self.start_us.to_be_bytes());
        out
    }
}

/// Seals `plaintext` under `key`, bound to `aad`.
pub fn seal(key: &Key, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .expect("system randomness");

    // One buffer, one copy of the plaintext: nonce, then the body sealed
    // in place, then the tag.
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let nonce_value = Nonce::assume_unique_for_key(nonce);
    let tag = cipher(key)
        .seal_in_place_separate_tag(nonce_value, Aad::from(aad), &mut out[NONCE_LEN..])
        .expect("AES-GCM sealing cannot fail for in-range lengths");
    out.extend_from_slice(tag.as_ref());
    out
}

/// Opens what [`seal`] produced with the same key and associated data.
pub fn open(key: &Key, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < OVERHEAD {
        return Err(OpenError);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;

    let mut body = body.to_vec();
    let plain_len = cipher(key)
        .open_in_place(nonce, Aad::from(aad), &mut body)
        .map_err(|_| OpenError)?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

/// Seals a recorded object (init or media segment).
pub fn seal_object(key: &Key, aad: &ObjectAad, plaintext: &[u8]) -> Vec<u8> {
    seal(key, &aad.to_bytes(), plaintext)
}

/// Opens a recorded object sealed with [`seal_object`].
pub fn open_object(key: &Key, aad: &ObjectAad, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    open(key, &aad.to_bytes(), sealed)
}

/// Wraps `key` under `kek`. `context` names what the key belongs to (e.g.
/// the tenant and key ids), so a wrapped key cannot be swapped for another.
pub fn wrap_key(kek: &Key, key: &Key, context: &[u8]) -> Vec<u8> {
    seal(kek, &wrap_aad(context), key.expose())
}

/// Unwraps a key wrapped with [`wrap_key`] under the same `kek` and `context`.
pub fn unwrap_key(kek: &Key, wrapped: &[u8], context: &[u8]) -> Result<Key, OpenError> {
    let plain = open(kek, &wrap_aad(context), wrapped)?;
    let bytes: [u8; KEY_LEN] = plain.try_into().map_err(|_| OpenError)?;
    Ok(Secret::new(bytes))
}

fn wrap_aad(context: &[u8]) -> Vec<u8> {
    [b"argus-key-wrap-v1:".as_slice(), context].concat()
}

fn cipher(key: &Key) -> LessSafeKey {
    let unbound = UnboundKey::new(&AES_256_GCM, key.expose()).expect("32-byte key");
    LessSafeKey::new(unbound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aad(object: u128, start_us: i64) -> ObjectAad {
        ObjectAad {
            tenant: Uuid::from_u128(1),
            camera: Uuid::from_u128(2),
            object: Uuid::from_u128(object),
            start_us,
        }
    }

    #[test]
    fn objects_round_trip_and_are_not_plaintext() {
        let key = random_key();
        let plain = b"\0\0\0\x18ftypiso6 some mp4 bytes";
        let sealed = seal_object(&key, &aad(3, 10), plain);
        assert_eq!(sealed.len(), plain.len() + OVERHEAD);
        assert!(!sealed.windows(4).any(|w| w == b"ftyp"));
        assert_eq!(open_object(&key, &aad(3, 10), &sealed).unwrap(), plain);
    }

    #[test]
    fn another_binding_or_key_fails() {
        let key = random_key();
        let sealed = seal_object(&key, &aad(3, 10), b"segment");
        assert_eq!(open_object(&key, &aad(4, 10), &sealed), Err(OpenError));
        assert_eq!(open_object(&key, &aad(3, 11), &sealed), Err(OpenError));
        assert_eq!(
            open_object(&random_key(), &aad(3, 10), &sealed),
            Err(OpenError)
        );

        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open_object(&key, &aad(3, 10), &flipped), Err(OpenError));
        assert_eq!(
            open_object(&key, &aad(3, 10), &sealed[..10]),
            Err(OpenError)
        );
    }

    #[test]
    fn wrapped_keys_need_their_context() {
        let (kek, key) = (random_key(), random_key());
        let wrapped = wrap_key(&kek, &key, b"tenant-a");
        assert_eq!(
            unwrap_key(&kek, &wrapped, b"tenant-a").unwrap().expose(),
            key.expose()
        );
        assert!(unwrap_key(&kek, &wrapped, b"tenant-b").is_err());
        assert!(unwrap_key(&random_key(), &wrapped, b"tenant-a").is_err());
    }
}
