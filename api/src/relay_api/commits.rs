//! `POST /relay/v1/commits`: uploaded objects enter the catalog.
//!
//! A batch is checked whole before anything is written (every camera this
//! relay's, every media segment id the deterministic id of its camera and
//! start, `end > start`, checksums well formed, key ids the camera's, every
//! referenced init in the catalog or the batch), then written in one
//! transaction. Ids are deterministic, so an object already in the catalog
//! is counted as `existing` and left alone: committing twice is a no-op.

use super::auth::RelayAuth;
use crate::entity::{data_key, init_segment, recording_gap, segment};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::Storage;
use actix_web::{web, HttpResponse};
use argus_core::wire::ids;
use argus_core::wire::recording::{
    CommitRequest, GapReport, InitCommit, ObjectKind, SegmentCommit,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Most objects (inits + segments + gaps) in one batch.
pub const MAX_BATCH: usize = 1000;

/// Longest span one media segment may cover.
const MAX_SEGMENT_US: i64 = 3600 * 1_000_000;

/// How many of a kind were new and how many already in the catalog.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub inserted: u64,
    pub existing: u64,
}

/// The answer to a commit.
#[derive(Debug, Default, Serialize)]
pub struct CommitResult {
    pub inits: Counts,
    pub segments: Counts,
    pub gaps: Counts,
}

/// Commits a batch of uploaded objects and gaps.
pub async fn commit(
    state: web::Data<AppState>,
    auth: RelayAuth,
    body: web::Json<CommitRequest>,
) -> ApiResult<HttpResponse> {
    let (_, storage) = crate::storage::recording(&state)?;
    let total = body.inits.len() + body.segments.len() + body.gaps.len();
    if total > MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "at most {MAX_BATCH} objects per commit"
        )));
    }
    let tx = auth.begin(&state).await?;
    let tenant = auth.relay.tenant_id;

    check_cameras(&tx, &auth, &body).await?;
    let keys = camera_keys(&tx, tenant, &body).await?;
    check_shapes(&body, &keys, storage.max_object_bytes())?;
    check_inits_exist(&tx, tenant, &body).await?;
    // TODO(#3): trust but verify: a HEAD per object (size) would catch a
    // commit whose upload never happened; today playback finds it (500).

    let result = CommitResult {
        inits: insert_inits(&tx, storage, tenant, &body.inits).await?,
        segments: insert_segments(&tx, storage, tenant, &body.segments).await?,
        gaps: insert_gaps(&tx, tenant, &body.gaps).await?,
    };
    tx.commit().await?;
    tracing::debug!(relay.id = %auth.relay.id, ?result, "commit");
    Ok(HttpResponse::Ok().json(result))
}

/// 404 unless every camera of the batch is assigned to this relay.
async fn check_cameras(
    tx: &DatabaseTransaction,
    auth: &RelayAuth,
    body: &CommitRequest,
) -> ApiResult<()> {
    let wanted: HashSet<Uuid> = body
        .inits
        .iter()
        .map(|i| i.camera_id)
        .chain(body.segments.iter().map(|s| s.camera_id))
        .chain(body.gaps.iter().map(|g| g.camera_id))
        .collect();
    for id in wanted {
        super::relay_camera(tx, &auth.relay, id).await?;
    }
    Ok(())
}

/// The (camera, data key) pairs the batch may name.
async fn camera_keys(
    tx: &DatabaseTransaction,
    tenant: Uuid,
    body: &CommitRequest,
) -> ApiResult<HashSet<(Uuid, Uuid)>> {
    let key_ids: HashSet<Uuid> = body
        .inits
        .iter()
        .map(|i| i.key_id)
        .chain(body.segments.iter().map(|s| s.key_id))
        .collect();
    if key_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = data_key::Entity::find()
        .filter(data_key::Column::TenantId.eq(tenant))
        .filter(data_key::Column::Id.is_in(key_ids))
        .all(tx)
        .await?;
    Ok(rows.into_iter().map(|k| (k.camera_id, k.id)).collect())
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_size(bytes: u64, max: u64) -> ApiResult<()> {
    if bytes == 0 || bytes > max {
        return Err(ApiError::invalid(format!(
            "bytes must be between 1 and {max}"
        )));
    }
    Ok(())
}

/// Every check that needs no further query.
fn check_shapes(body: &CommitRequest, keys: &HashSet<(Uuid, Uuid)>, max: u64) -> ApiResult<()> {
    for i in &body.inits {
        check_init(i, keys, max)?;
    }
    for s in &body.segments {
        check_segment(s, keys, max)?;
    }
    for g in &body.gaps {
        check_gap(g)?;
    }
    Ok(())
}

fn check_init(i: &InitCommit, keys: &HashSet<(Uuid, Uuid)>, max: u64) -> ApiResult<()> {
    check_size(i.bytes, max)?;
    if !is_sha256(&i.sha256) {
        return Err(ApiError::invalid(format!(
            "init {}: sha256 must be 64 hex digits",
            i.id
        )));
    }
    if !matches!(i.codec.as_str(), "h264" | "h265") {
        return Err(ApiError::invalid(format!(
            "init {}: codec must be h264 or h265",
            i.id
        )));
    }
    if !(1..=16384).contains(&i.width) || !(1..=16384).contains(&i.height) {
        return Err(ApiError::invalid(format!(
            "init {}: width and height must be 1 to 16384",
            i.id
        )));
    }
    if !keys.contains(&(i.camera_id, i.key_id)) {
        return Err(ApiError::invalid(format!(
            "init {}: key_id is not a key of its camera",
            i.id
        )));
    }
    Ok(())
}

fn check_segment(s: &SegmentCommit, keys: &HashSet<(Uuid, Uuid)>, max: u64) -> ApiResult<()> {
    check_size(s.bytes, max)?;
    let (start, end) = (s.start.timestamp_micros(), s.end.timestamp_micros());
    if s.id != ids::segment_id(s.camera_id, start) {
        return Err(ApiError::invalid(format!(
            "segment {}: id is not the deterministic id of its camera and start",
            s.id
        )));
    }
    if end <= start || end - start > MAX_SEGMENT_US {
        return Err(ApiError::invalid(format!(
            "segment {}: end must be after start, by at most an hour",
            s.id
        )));
    }
    if !is_sha256(&s.sha256) {
        return Err(ApiError::invalid(format!(
            "segment {}: sha256 must be 64 hex digits",
            s.id
        )));
    }
    if !keys.contains(&(s.camera_id, s.key_id)) {
        return Err(ApiError::invalid(format!(
            "segment {}: key_id is not a key of its camera",
            s.id
        )));
    }
    Ok(())
}

fn check_gap(g: &GapReport) -> ApiResult<()> {
    if g.end <= g.start {
        return Err(ApiError::invalid("gap: end must be after start"));
    }
    // Not checked against the cloud's clock: a relay's clock may run ahead,
    // and its recording must not be refused for it.
    if g.end - g.start > chrono::Duration::days(366) {
        return Err(ApiError::invalid("gap: spans at most 366 days"));
    }
    let ok = !g.reason.is_empty()
        && g.reason.len() <= 64
        && g.reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit());
    if !ok {
        return Err(ApiError::invalid(
            "gap: reason must be 1 to 64 of [a-z0-9_]",
        ));
    }
    Ok(())
}

/// 400 unless every segment's init is in the batch or the catalog, for
/// the same camera.
async fn check_inits_exist(
    tx: &DatabaseTransaction,
    tenant: Uuid,
    body: &CommitRequest,
) -> ApiResult<()> {
    let mut known: HashMap<Uuid, Uuid> = body.inits.iter().map(|i| (i.id, i.camera_id)).collect();
    let missing: HashSet<Uuid> = body
        .segments
        .iter()
        .map(|s| s.init_id)
        .filter(|id| !known.contains_key(id))
        .collect();
    if !missing.is_empty() {
        let rows = init_segment::Entity::find()
            .filter(init_segment::Column::TenantId.eq(tenant))
            .filter(init_segment::Column::Id.is_in(missing))
            .all(tx)
            .await?;
        known.extend(rows.into_iter().map(|r| (r.id, r.camera_id)));
    }
    for s in &body.segments {
        if known.get(&s.init_id) != Some(&s.camera_id) {
            return Err(ApiError::invalid(format!(
                "segment {}: init {} is not committed for its camera",
                s.id, s.init_id
            )));
        }
    }
    Ok(())
}

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

async fn existing_ids<E: EntityTrait>(
    tx: &DatabaseTransaction,
    tenant_col: E::Column,
    id_col: E::Column,
    tenant: Uuid,
    ids: Vec<Uuid>,
) -> ApiResult<HashSet<Uuid>>
where
    E::Column: ColumnTrait,
{
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<Uuid> = E::find()
        .select_only()
        .column(id_col)
        .filter(tenant_col.eq(tenant))
        .filter(id_col.is_in(ids))
        .into_tuple()
        .all(tx)
        .await?;
    Ok(found.into_iter().collect())
}

async fn insert_inits(
    tx: &DatabaseTransaction,
    storage: &Storage,
    tenant: Uuid,
    inits: &[InitCommit],
) -> ApiResult<Counts> {
    use init_segment::Column as C;
    let ids = inits.iter().map(|i| i.id).collect();
    let existing =
        existing_ids::<init_segment::Entity>(tx, C::TenantId, C::Id, tenant, ids).await?;
    let now = Utc::now();
    let mut seen = HashSet::new();
    let fresh: Vec<_> = inits
        .iter()
        .filter(|i| !existing.contains(&i.id) && seen.insert(i.id))
        .map(|i| init_segment::ActiveModel {
            id: Set(i.id),
            tenant_id: Set(tenant),
            camera_id: Set(i.camera_id),
            key_id: Set(i.key_id),
            object_key: Set(storage.object_key(tenant, i.camera_id, ObjectKind::Init, i.id)),
            bytes: Set(i.bytes as i64),
            sha256: Set(i.sha256.to_ascii_lowercase()),
            codec: Set(i.codec.clone()),
            width: Set(i.width as i32),
            height: Set(i.height as i32),
            created_at: Set(now),
        })
        .collect();
    let inserted = fresh.len() as u64;
    if !fresh.is_empty() {
        init_segment::Entity::insert_many(fresh)
            .on_conflict(OnConflict::column(C::Id).do_nothing().to_owned())
            .exec_without_returning(tx)
            .await?;
    }
    Ok(Counts {
        inserted,
        existing: inits.len() as u64 - inserted,
    })
}

async fn insert_segments(
    tx: &DatabaseTransaction,
    storage: &Storage,
    tenant: Uuid,
    segs: &[SegmentCommit],
) -> ApiResult<Counts> {
    use segment::Column as C;
    let ids = segs.iter().map(|s| s.id).collect();
    let existing = existing_ids::<segment::Entity>(tx, C::TenantId, C::Id, tenant, ids).await?;
    let now = Utc::now();
    let mut seen = HashSet::new();
    let fresh: Vec<_> = segs
        .iter()
        .filter(|s| !existing.contains(&s.id) && seen.insert(s.id))
        .map(|s| segment::ActiveModel {
            id: Set(s.id),
            tenant_id: Set(tenant),
            camera_id: Set(s.camera_id),
            init_id: Set(s.init_id),
            key_id: Set(s.key_id),
            run_id: Set(s.run_id),
            start_at: Set(micros(s.start)),
            end_at: Set(micros(s.end)),
            object_key: Set(storage.object_key(tenant, s.camera_id, ObjectKind::Media, s.id)),
            bytes: Set(s.bytes as i64),
            sha256: Set(s.sha256.to_ascii_lowercase()),
            created_at: Set(now),
        })
        .collect();
    let inserted = fresh.len() as u64;
    if !fresh.is_empty() {
        segment::Entity::insert_many(fresh)
            .on_conflict(OnConflict::column(C::Id).do_nothing().to_owned())
            .exec_without_returning(tx)
            .await?;
    }
    Ok(Counts {
        inserted,
        existing: segs.len() as u64 - inserted,
    })
}

async fn insert_gaps(
    tx: &DatabaseTransaction,
    tenant: Uuid,
    gaps: &[GapReport],
) -> ApiResult<Counts> {
    use recording_gap::Column as C;
    if gaps.is_empty() {
        return Ok(Counts::default());
    }
    let now = Utc::now();
    let rows = gaps.iter().map(|g| recording_gap::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant),
        camera_id: Set(g.camera_id),
        start_at: Set(micros(g.start)),
        end_at: Set(micros(g.end)),
        reason: Set(g.reason.clone()),
        created_at: Set(now),
    });
    let conflict = OnConflict::columns([C::TenantId, C::CameraId, C::StartAt])
        .do_nothing()
        .to_owned();
    let inserted = recording_gap::Entity::insert_many(rows)
        .on_conflict(conflict)
        .exec_without_returning(tx)
        .await?;
    Ok(Counts {
        inserted,
        existing: gaps.len() as u64 - inserted,
    })
}
