//! An S3-compatible server inside the process, for `argus dev`: `s3s` +
//! `s3s-fs` serve a local folder on a loopback port, with credentials made
//! up at start, so `argus dev` runs the very same S3 code path (presigned
//! PUTs from the relay, GETs for playback) as production.
//!
//! The server lives as long as the returned [`Embedded`]; dropping it
//! stops accepting connections.

use crate::config::{Config, StorageConfig};
use argus_core::Secret;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::Path;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running embedded object store.
pub struct Embedded {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    task: JoinHandle<()>,
}

impl Embedded {
    /// A `[storage]` section pointing at this server, with `bucket`.
    pub fn storage_config(&self, bucket: &str) -> StorageConfig {
        StorageConfig {
            endpoint: Some(self.endpoint.clone()),
            bucket: bucket.into(),
            access_key_id: Some(self.access_key_id.clone()),
            secret_access_key: Some(self.secret_access_key.clone()),
            force_path_style: true,
            ..StorageConfig::default()
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Recording for `argus dev`: starts the embedded store on
/// `<data_dir>/objects`, points `[storage]` at it, and, unless `[keys]`
/// names a master key, generates `<data_dir>/master.key` and uses it.
/// Keep the returned server alive as long as the api runs.
pub async fn for_dev(cfg: &mut Config) -> anyhow::Result<Embedded> {
    let server = start(&cfg.data_dir.join("objects")).await?;
    cfg.storage = Some(server.storage_config("argus"));
    if cfg.keys.master_key.is_none() && cfg.keys.master_key_file.is_none() {
        let path = cfg.data_dir.join("master.key");
        crate::keys::ensure_master_key_file(&path)?;
        cfg.keys.master_key_file = Some(path);
    }
    Ok(server)
}

/// Serves `dir` (created if missing) over S3 on a free loopback port.
pub async fn start(dir: &Path) -> anyhow::Result<Embedded> {
    std::fs::create_dir_all(dir)?;
    let fs = s3s_fs::FileSystem::new(dir).map_err(|e| anyhow::anyhow!("s3s-fs: {e:?}"))?;
    let access_key_id = format!("argus-dev-{}", &crate::auth::session::random_token()[..8]);
    let secret = crate::auth::session::random_token();

    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(
        access_key_id.clone(),
        secret.clone(),
    ));
    let service = builder.build();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    tracing::info!(%endpoint, dir = %dir.display(), "embedded object store listening");
    let task = tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let socket = match listener.accept().await {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::warn!(error = %e, "embedded object store: accept failed");
                    continue;
                }
            };
            let conn = http.serve_connection(TokioIo::new(socket), service.clone());
            let conn = conn.into_owned();
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "embedded object store: connection ended");
                }
            });
        }
    });
    Ok(Embedded {
        endpoint,
        access_key_id,
        secret_access_key: Secret::new(secret),
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;
    use argus_core::wire::recording::ObjectKind;
    use uuid::Uuid;

    #[tokio::test]
    async fn presigned_puts_and_gets_work_against_the_embedded_store() {
        let dir = std::env::temp_dir().join(format!("argus-s3-{}", Uuid::new_v4()));
        let server = start(&dir).await.unwrap();
        let storage = Storage::new(&server.storage_config("argus")).unwrap();
        storage.ensure_bucket().await.unwrap();
        storage.ensure_bucket().await.unwrap();

        let key = storage.object_key(Uuid::nil(), Uuid::nil(), ObjectKind::Media, Uuid::nil());
        let slot = storage.presign_put(&key, 6).await.unwrap();
        let mut put = reqwest::Client::new()
            .put(&slot.url)
            .body(b"sealed".to_vec());
        for (k, v) in &slot.headers {
            put = put.header(k, v);
        }
        let res = put.send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        assert_eq!(storage.get(&key).await.unwrap(), b"sealed");

        // A body of another length than the signed one is refused.
        let mut longer = reqwest::Client::new()
            .put(&slot.url)
            .body(b"sealed!".to_vec());
        for (k, v) in slot.headers.iter().filter(|(k, _)| k != "content-length") {
            longer = longer.header(k, v);
        }
        let res = longer.send().await.unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());

        // Another content type than the signed one is refused.
        let res = reqwest::Client::new()
            .put(&slot.url)
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error());
        assert!(matches!(
            storage.get("nope").await,
            Err(crate::storage::StorageError::NotFound(_))
        ));
        std::fs::remove_dir_all(dir).ok();
    }
}
