//! A relay restarted while the cloud is unreachable keeps recording: from
//! the identity, config and data key cached in its state dir it records its
//! simulated camera into the spool, sealed (nothing plaintext on disk), and
//! its task stops everything when aborted.

use argus_core::envelope::{open_object, ObjectAad};
use argus_core::wire::{CameraConfig, EnrollResponse, RelayConfig};
use argus_relay::config::RelayOptions;
use argus_relay::spool::{Item, Spool};
use argus_relay::state::{self, Cache, DataKey};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

const TENANT: Uuid = Uuid::from_u128(0x7e);
const CAMERA: Uuid = Uuid::from_u128(0xca);

/// A state dir as a relay leaves it after enrolling and fetching its config.
async fn enrolled_state_dir(dir: &Path, cloud: &str) -> DataKey {
    let opts = RelayOptions::new(cloud, dir);
    assert!(argus_relay::identity::load_or_enroll(&opts).await.is_err());
    let enrolled = EnrollResponse {
        relay_id: Uuid::from_u128(1),
        tenant_id: TENANT,
        site_id: Uuid::from_u128(2),
    };
    let bytes = serde_json::to_vec(&enrolled).unwrap();
    state::write_private(&dir.join("identity.json"), &bytes).unwrap();

    let camera = CameraConfig {
        id: CAMERA,
        name: "lobby".into(),
        source_url: "sim://lobby?fps=25&size=160x96&gop=25".into(),
        credentials: None,
        segment_secs: 1,
    };
    let cache = Cache::new(dir);
    cache
        .save_config(&RelayConfig {
            cameras: vec![camera],
        })
        .unwrap();
    let key = DataKey {
        key_id: Uuid::from_u128(3),
        key: argus_core::envelope::random_key(),
    };
    cache
        .save_keys(&HashMap::from([(CAMERA, key.clone())]))
        .unwrap();
    key
}

fn media_files(spool: &Path) -> usize {
    let Ok(dir) = std::fs::read_dir(spool) else {
        return 0;
    };
    let is_media = |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains("\"media\""));
    dir.filter_map(|f| f.ok().map(|f| f.path()))
        .filter(|p| is_media(p))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_into_the_spool_without_a_cloud_and_stops_when_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = "http://127.0.0.1:9"; // discard port: nothing answers
    let key = enrolled_state_dir(dir.path(), cloud).await;
    let spool_dir = dir.path().join("spool");

    let relay = tokio::spawn(argus_relay::run(RelayOptions::new(cloud, dir.path())));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while media_files(&spool_dir) < 3 {
        assert!(!relay.is_finished(), "run ended: {:?}", relay.await);
        assert!(
            tokio::time::Instant::now() < deadline,
            "no segments recorded in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    relay.abort();
    let _ = relay.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_abort = media_files(&spool_dir);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        media_files(&spool_dir),
        after_abort,
        "still recording after abort"
    );

    let spool = Spool::open(&spool_dir, u64::MAX).unwrap();
    let mut opened = 0;
    for entry in spool.entries() {
        let (object, start_us) = match &entry.item {
            Item::Init(i) => (i.id, 0),
            Item::Media(m) => (m.id, m.start.timestamp_micros()),
            Item::Gap(_) => continue,
        };
        let sealed = spool.read(entry.seq).unwrap();
        assert!(
            !sealed.windows(4).any(|w| w == b"moof" || w == b"ftyp"),
            "plaintext on disk"
        );
        let aad = ObjectAad {
            tenant: TENANT,
            camera: CAMERA,
            object,
            start_us,
        };
        let plain =
            open_object(&key.key, &aad, &sealed).expect("sealed to tenant, camera, id, start");
        let tag = if start_us == 0 { b"ftyp" } else { b"moof" };
        assert!(plain.windows(4).any(|w| w == tag), "an fMP4 object");
        opened += 1;
    }
    assert!(opened >= 4, "init and media segments opened: {opened}");
    assert!(spool.stats().segments >= 3);
}
