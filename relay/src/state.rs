//! The relay's state dir: files written atomically and readable only by
//! the relay (mode 0600), and the caches that let a relay restarted during
//! a WAN outage keep recording: the last camera config and each camera's
//! data key.
//!
//! Invariant: a file here is either its old content or its new content,
//! never a torn mix (tmp file, fsync, rename, fsync of the directory).

use argus_core::envelope::{Key, KEY_LEN};
use argus_core::wire::RelayConfig;
use argus_core::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(path);
    let mut file = open_private(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);

    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes `bytes` to `path` in place (mode 0600) and waits until they are
/// on disk (fdatasync). Not atomic: for new files whose torn content a
/// reader detects; the directory entry is durable only after [`sync_dir`].
pub fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = open_private(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

/// Creates `dir` (and parents) with mode 0700 if missing.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The temporary name `path` is written under before its rename.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Makes renames in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn open_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A camera's data key as the relay keeps it.
#[derive(Clone, Debug)]
pub struct DataKey {
    pub key_id: Uuid,
    pub key: Key,
}

impl DataKey {
    /// Decodes the base64url key of a `DataKeyResponse`.
    pub fn decode(key_id: Uuid, key: &Secret<String>) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(key.expose()).ok()?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self {
            key_id,
            key: Secret::new(bytes),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    key_id: Uuid,
    key: Secret<String>,
}

/// The cached config and data keys in a state dir.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The caches of the state dir `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The last config saved, if any.
    pub fn config(&self) -> Option<RelayConfig> {
        let bytes = fs::read(self.dir.join("config.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Saves `config` as the last known one.
    pub fn save_config(&self, config: &RelayConfig) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(config).map_err(io::Error::other)?;
        write_private(&self.dir.join("config.json"), &bytes)
    }

    /// Every cached data key, by camera.
    pub fn keys(&self) -> HashMap<Uuid, DataKey> {
        let Ok(bytes) = fs::read(self.dir.join("data-keys.json")) else {
            return HashMap::new();
        };
        let stored: HashMap<Uuid, StoredKey> = serde_json::from_slice(&bytes).unwrap_or_default();
        let decode = |(cam, k): (Uuid, StoredKey)| Some((cam, DataKey::decode(k.key_id, &k.key)?));
        stored.into_iter().filter_map(decode).collect()
    }

    /// Saves every data key (replacing the file).
    pub fn save_keys(&self, keys: &HashMap<Uuid, DataKey>) -> io::Result<()> {
        let encode = |k: &DataKey| StoredKey {
            key_id: k.key_id,
            key: Secret::new(URL_SAFE_NO_PAD.encode(k.key.expose())),
        };
        let stored: HashMap<Uuid, StoredKey> =
            keys.iter().map(|(cam, k)| (*cam, encode(k))).collect();
        let bytes = serde_json::to_vec(&stored).map_err(io::Error::other)?;
        write_private(&self.dir.join("data-keys.json"), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_are_private_and_caches_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        assert!(cache.config().is_none());
        assert!(cache.keys().is_empty());

        cache.save_config(&RelayConfig { cameras: vec![] }).unwrap();
        let key = DataKey {
            key_id: Uuid::from_u128(9),
            key: argus_core::envelope::random_key(),
        };
        let cam = Uuid::from_u128(1);
        cache
            .save_keys(&HashMap::from([(cam, key.clone())]))
            .unwrap();

        assert_eq!(cache.config().unwrap().cameras.len(), 0);
        assert_eq!(cache.keys()[&cam].key.expose(), key.key.expose());
        for name in ["config.json", "data-keys.json"] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        assert!(!dir.path().join("data-keys.json.tmp").exists());
    }
}
