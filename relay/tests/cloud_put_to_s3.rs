//! The presigned PUT against a real S3 server (moto on loopback, see
//! `scripts/ensure-test-tools.sh`): the ciphertext is sent with the slot's
//! headers, and an S3 refusal comes back as a typed error with S3's code
//! that shows neither the URL's query nor the relay's token.

use argus_core::wire::recording::SlotResponse;
use argus_relay::cloud::{Cloud, CloudError};
use argus_relay::identity::Identity;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const S3: &str = "http://127.0.0.1:9090";

fn cloud() -> Cloud {
    let identity = Arc::new(Identity {
        relay_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        site_id: Uuid::new_v4(),
        signing: argus_core::relay_token::SigningKey::generate(),
        sealing: argus_core::sealed::SealingKey::generate(),
    });
    Cloud::new("http://127.0.0.1:9", Duration::from_secs(5), identity)
}

fn slot(bucket: &str) -> SlotResponse {
    SlotResponse {
        url: format!("{S3}/{bucket}/obj?X-Amz-Signature=s3cr3tsig"),
        headers: vec![("content-type".into(), "application/octet-stream".into())],
        expires_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn put_reaches_s3_and_refusals_are_typed_and_clean() {
    let bucket = format!("relay-put-{}", Uuid::new_v4().simple());
    let made = reqwest::Client::new()
        .put(format!("{S3}/{bucket}"))
        .send()
        .await;
    let made =
        made.unwrap_or_else(|e| panic!("no S3 at {S3} (run scripts/ensure-test-tools.sh): {e}"));
    assert!(
        made.status().is_success(),
        "create bucket: {}",
        made.status()
    );

    cloud()
        .put(&slot(&bucket), vec![7u8; 4096])
        .await
        .expect("PUT to S3");

    let err = cloud()
        .put(&slot(&format!("{bucket}-missing")), vec![1])
        .await
        .unwrap_err();
    match &err {
        CloudError::Status {
            call, status, code, ..
        } => {
            assert_eq!(
                (*call, *status, code.as_str()),
                ("put", 404, "NoSuchBucket")
            );
        }
        other => panic!("expected a status error, got {other}"),
    }
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cr3tsig"), "{shown}");
    assert!(
        !err.is_permanent(),
        "a refused PUT is retried with a new slot"
    );
}
