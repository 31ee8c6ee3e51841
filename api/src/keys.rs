//! The key hierarchy of recordings: master key → tenant key → camera data key.
//!
//! The master key comes from config (`[keys]`) and never touches the
//! database. Each tenant's key is made on first use and stored wrapped by
//! the master key; each camera's data key likewise, wrapped by its tenant's
//! key. Every wrap names what it belongs to (tenant, camera, key id), so a
//! wrapped key copied onto another row fails to unwrap. Plaintext keys live
//! only in memory, as `envelope::Key` (a `Secret`).

use crate::config::KeysConfig;
use crate::entity::{data_key, tenant_key};
use crate::error::{ApiError, ApiResult};
use argus_core::envelope::{self, Key, KEY_LEN};
use argus_core::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement, Value,
};
use std::path::Path;
use uuid::Uuid;

/// The master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("set only one of keys.master_key and keys.master_key_file")]
    Both,
    #[error("keys.master_key_file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the master key must be 32 bytes, base64url without padding")]
    Malformed,
}

/// A camera's data key in plaintext, with its id.
pub struct DataKey {
    pub id: Uuid,
    pub key: Key,
}

/// Decodes a key written as base64url (32 bytes, padding tolerated).
pub fn decode_key(text: &str) -> Option<Key> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()?;
    let key: [u8; KEY_LEN] = bytes.try_into().ok()?;
    Some(Secret::new(key))
}

/// Encodes a key as base64url without padding, still wrapped as a secret.
pub fn encode_key(key: &Key) -> Secret<String> {
    Secret::new(URL_SAFE_NO_PAD.encode(key.expose()))
}

/// The master key named by `[keys]`, or `None` if neither field is set.
pub fn load_master(cfg: &KeysConfig) -> Result<Option<Key>, MasterKeyError> {
    let text = match (&cfg.master_key, &cfg.master_key_file) {
        (Some(_), Some(_)) => return Err(MasterKeyError::Both),
        (None, None) => return Ok(None),
        (Some(k), None) => k.expose().clone(),
        (None, Some(path)) => {
            std::fs::read_to_string(path).map_err(|source| MasterKeyError::File {
                path: path.display().to_string(),
                source,
            })?
        }
    };
    decode_key(&text).map(Some).ok_or(MasterKeyError::Malformed)
}

/// Writes a new random master key to `path` unless the file exists (for
/// `argus dev`); the file is readable by its owner only.
pub fn ensure_master_key_file(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = encode_key(&envelope::random_key());
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(path)?, text.expose().as_bytes())
}

fn tenant_context(tenant: Uuid, id: Uuid) -> Vec<u8> {
    format!("tenant-key:{tenant}:{id}").into_bytes()
}

fn data_context(tenant: Uuid, camera: Uuid, id: Uuid) -> Vec<u8> {
    format!("data-key:{tenant}:{camera}:{id}").into_bytes()
}

fn unwrap(kek: &Key, wrapped: &str, context: &[u8]) -> ApiResult<Key> {
    let bytes = URL_SAFE_NO_PAD
        .decode(wrapped)
        .map_err(|_| ApiError::internal("a stored wrapped key is not base64url"))?;
    envelope::unwrap_key(kek, &bytes, context)
        .map_err(|_| ApiError::internal("a stored key failed to unwrap (wrong master key?)"))
}

/// Inserts a key row unless a current one exists (a concurrent creator
/// won), without aborting the caller's transaction.
async fn insert_if_absent<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: Vec<Value>,
) -> ApiResult<()> {
    let backend = db.get_database_backend();
    let sql = crate::db::placeholders(backend, sql);
    db.execute(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// The tenant's current key in plaintext, created on first use.
pub async fn tenant_key<C: ConnectionTrait>(
    db: &C,
    master: &Key,
    tenant: Uuid,
) -> ApiResult<(Uuid, Key)> {
    if let Some(row) = current_tenant_key(db, tenant).await? {
        let key = unwrap(master, &row.wrapped, &tenant_context(tenant, row.id))?;
        return Ok((row.id, key));
    }

    let id = Uuid::now_v7();
    let wrapped = envelope::wrap_key(master, &envelope::random_key(), &tenant_context(tenant, id));
    let sql = "INSERT INTO tenant_keys (id, tenant_id, wrapped, created_at)
               VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING";
    let values = vec![
        id.into(),
        tenant.into(),
        URL_SAFE_NO_PAD.encode(wrapped).into(),
        Utc::now().into(),
    ];
    insert_if_absent(db, sql, values).await?;

    let row = current_tenant_key(db, tenant)
        .await?
        .ok_or_else(|| ApiError::internal("tenant key vanished after insert"))?;
    let key = unwrap(master, &row.wrapped, &tenant_context(tenant, row.id))?;
    Ok((row.id, key))
}

async fn current_tenant_key<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
) -> ApiResult<Option<tenant_key::Model>> {
    Ok(tenant_key::Entity::find()
        .filter(tenant_key::Column::TenantId.eq(tenant))
        .filter(tenant_key::Column::RetiredAt.is_null())
        .one(db)
        .await?)
}

/// The camera's current data key in plaintext, created on first use.
pub async fn current_data_key<C: ConnectionTrait>(
    db: &C,
    master: &Key,
    tenant: Uuid,
    camera: Uuid,
) -> ApiResult<DataKey> {
    if let Some(row) = find_data_key(db, tenant, camera, None).await? {
        return open_data_key(db, master, &row).await;
    }

    let (tk_id, tk) = tenant_key(db, master, tenant).await?;
    let id = Uuid::now_v7();
    let wrapped = envelope::wrap_key(
        &tk,
        &envelope::random_key(),
        &data_context(tenant, camera, id),
    );
    let sql = "INSERT INTO data_keys (id, tenant_id, camera_id, tenant_key_id, wrapped, created_at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
    let wrapped = URL_SAFE_NO_PAD.encode(wrapped);
    let values = vec![
        id.into(),
        tenant.into(),
        camera.into(),
        tk_id.into(),
        wrapped.into(),
        Utc::now().into(),
    ];
    insert_if_absent(db, sql, values).await?;

    let row = find_data_key(db, tenant, camera, None)
        .await?
        .ok_or_else(|| ApiError::internal("data key vanished after insert"))?;
    open_data_key(db, master, &row).await
}

/// A given data key of the camera (current or retired) in plaintext;
/// `None` if the camera has no key with that id.
pub async fn data_key<C: ConnectionTrait>(
    db: &C,
    master: &Key,
    tenant: Uuid,
    camera: Uuid,
    id: Uuid,
) -> ApiResult<Option<DataKey>> {
    match find_data_key(db, tenant, camera, Some(id)).await? {
        Some(row) => Ok(Some(open_data_key(db, master, &row).await?)),
        None => Ok(None),
    }
}

async fn find_data_key<C: ConnectionTrait>(
    db: &C,
    tenant: Uuid,
    camera: Uuid,
    id: Option<Uuid>,
) -> ApiResult<Option<data_key::Model>> {
    let mut q = data_key::Entity::find()
        .filter(data_key::Column::TenantId.eq(tenant))
        .filter(data_key::Column::CameraId.eq(camera));
    q = match id {
        Some(id) => q.filter(data_key::Column::Id.eq(id)),
        None => q.filter(data_key::Column::RetiredAt.is_null()),
    };
    Ok(q.order_by_desc(data_key::Column::CreatedAt).one(db).await?)
}

async fn open_data_key<C: ConnectionTrait>(
    db: &C,
    master: &Key,
    row: &data_key::Model,
) -> ApiResult<DataKey> {
    let tk = tenant_key::Entity::find_by_id(row.tenant_key_id)
        .filter(tenant_key::Column::TenantId.eq(row.tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("data key without its tenant key"))?;
    let tk = unwrap(master, &tk.wrapped, &tenant_context(row.tenant_id, tk.id))?;
    let context = data_context(row.tenant_id, row.camera_id, row.id);
    Ok(DataKey {
        id: row.id,
        key: unwrap(&tk, &row.wrapped, &context)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_are_made_once_and_reopen_on_sqlite() {
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let pw = Secret::new("a long enough password".to_string());
        crate::bootstrap::tenant_with_owner(&db, "demo", "Demo", "a@demo.test", &pw)
            .await
            .unwrap();
        crate::bootstrap::demo_site_and_camera(&db, "demo")
            .await
            .unwrap();
        let cam = crate::entity::camera::Entity::find()
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let master = envelope::random_key();

        let first = current_data_key(&db, &master, cam.tenant_id, cam.id)
            .await
            .unwrap();
        let again = current_data_key(&db, &master, cam.tenant_id, cam.id)
            .await
            .unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(first.key.expose(), again.key.expose());
        let by_id = data_key(&db, &master, cam.tenant_id, cam.id, first.id)
            .await
            .unwrap();
        assert_eq!(by_id.unwrap().key.expose(), first.key.expose());
        let other_camera = data_key(&db, &master, cam.tenant_id, Uuid::new_v4(), first.id).await;
        assert!(other_camera.unwrap().is_none());

        // Another master key cannot open what this one wrapped.
        let wrong = current_data_key(&db, &envelope::random_key(), cam.tenant_id, cam.id).await;
        assert!(wrong.is_err());
    }

    #[test]
    fn master_keys_load_from_exactly_one_place() {
        let key = encode_key(&envelope::random_key());
        let inline = KeysConfig {
            master_key: Some(key.clone()),
            master_key_file: None,
        };
        assert!(load_master(&inline).unwrap().is_some());
        assert!(load_master(&KeysConfig::default()).unwrap().is_none());

        let dir = std::env::temp_dir().join(format!("argus-mk-{}", Uuid::new_v4()));
        let path = dir.join("master.key");
        ensure_master_key_file(&path).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        ensure_master_key_file(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
        let from_file = KeysConfig {
            master_key: None,
            master_key_file: Some(path.clone()),
        };
        assert!(load_master(&from_file).unwrap().is_some());

        let both = KeysConfig {
            master_key: Some(key),
            master_key_file: Some(path),
        };
        assert!(matches!(load_master(&both), Err(MasterKeyError::Both)));
        let short = KeysConfig {
            master_key: Some(Secret::new("c2hvcnQ".into())),
            master_key_file: None,
        };
        assert!(matches!(
            load_master(&short),
            Err(MasterKeyError::Malformed)
        ));
        std::fs::remove_dir_all(dir).ok();
    }
}
