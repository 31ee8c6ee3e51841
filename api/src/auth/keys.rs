//! Ed25519 signing keys for access tokens, identified by `kid`.
//!
//! Keys live in a directory as `<kid>.pk8` (PKCS#8 DER). The key whose kid
//! sorts last signs new tokens; every key in the directory verifies. To
//! rotate, add a newer key, and remove the old one once the tokens it
//! signed have expired: nobody is logged out.

use anyhow::{bail, Context};
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::collections::BTreeMap;
use std::path::Path;

/// The verification keys by kid, and the one key that signs.
pub struct KeySet {
    signing_kid: String,
    signing: EncodingKey,
    verifying: BTreeMap<String, DecodingKey>,
}

impl KeySet {
    /// Loads every `*.pk8` in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut keys = BTreeMap::new();
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pk8") {
                continue;
            }
            let kid = path
                .file_stem()
                .and_then(|s| s.to_str())
                .context("key file name")?;
            let der = std::fs::read(&path)?;
            keys.insert(kid.to_string(), der);
        }
        Self::from_pkcs8(keys)
    }

    /// Loads `dir`, first creating it with one new key if it holds none.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let has_key = std::fs::read_dir(dir)?
            .flatten()
            .any(|e| e.path().extension().and_then(|x| x.to_str()) == Some("pk8"));
        if !has_key {
            generate(dir)?;
        }
        Self::load(dir)
    }

    fn from_pkcs8(keys: BTreeMap<String, Vec<u8>>) -> anyhow::Result<Self> {
        let Some((signing_kid, signing_der)) = keys.iter().next_back() else {
            bail!("no signing key (*.pk8) found");
        };
        let mut verifying = BTreeMap::new();
        for (kid, der) in &keys {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| anyhow::anyhow!("key {kid} is not an Ed25519 PKCS#8 key: {e}"))?;
            verifying.insert(
                kid.clone(),
                DecodingKey::from_ed_der(pair.public_key().as_ref()),
            );
        }
        Ok(Self {
            signing_kid: signing_kid.clone(),
            signing: EncodingKey::from_ed_der(signing_der),
            verifying,
        })
    }

    pub fn signing(&self) -> (&str, &EncodingKey) {
        (&self.signing_kid, &self.signing)
    }

    pub fn verifying(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }
}

/// Writes a new key named by the current time into `dir`; returns its kid.
pub fn generate(dir: &Path) -> anyhow::Result<String> {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?;
    let kid = chrono::Utc::now().format("k%Y%m%dT%H%M%S%6f").to_string();
    let path = dir.join(format!("{kid}.pk8"));
    write_private(&path, doc.as_ref())?;
    Ok(kid)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(bytes)?;
    Ok(())
}
