//! `/api/v1/cameras/{id}/segments`: a camera's recordings, for playback.
//!
//! The catalog lists the segments and gaps in a time range and the
//! camera's storage used; `…/segments/{segment_id}/mp4` returns one segment
//! decrypted (its init segment, then the media segment) as `video/mp4`.
//! Both need `playback.view` on the camera's site; a camera outside the
//! caller's tenant or sites is 404. A ciphertext that fails authentication
//! (altered, or moved under another segment) is an error, never bytes.

use super::cameras;
use crate::auth::{Auth, TenantCx};
use crate::entity::{camera, init_segment, recording_gap, segment};
use crate::error::{ApiError, ApiResult, Kind};
use crate::state::AppState;
use crate::storage::StorageError;
use actix_web::{web, HttpResponse};
use argus_core::envelope::{self, ObjectAad};
use argus_core::Permission::PlaybackView;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Most segments one catalog page lists.
const MAX_LIMIT: u64 = 10_000;

/// Longest a segment may be (see the relay commit checks): how far before
/// `from` a segment overlapping the range may start.
const MAX_SEGMENT: Duration = Duration::hours(1);

/// The time range of a catalog query (RFC 3339).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// Default: 24 hours before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Default: now.
    pub to: Option<DateTime<Utc>>,
    /// Default 1000, at most 10000.
    pub limit: Option<u64>,
}

/// One recorded segment.
#[derive(Serialize, ToSchema)]
pub struct SegmentInfo {
    pub id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub bytes: i64,
    pub run_id: Uuid,
    pub init_id: Uuid,
    pub codec: String,
    pub width: i32,
    pub height: i32,
}

/// A span without recording and why.
#[derive(Serialize, ToSchema)]
pub struct GapInfo {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: String,
}

/// A camera's recordings in a range.
#[derive(Serialize, ToSchema)]
pub struct Catalog {
    pub camera_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Overlapping the range, by start time.
    pub segments: Vec<SegmentInfo>,
    /// Whether `limit` cut the list short.
    pub truncated: bool,
    pub gaps: Vec<GapInfo>,
    /// Bytes the camera's objects (all time) take in object storage.
    pub storage_bytes: i64,
}

/// The camera, if visible and the caller may play it back.
async fn playable(cx: &TenantCx, id: Uuid) -> ApiResult<camera::Model> {
    let cam = cameras::visible(cx, id).await?;
    super::require_on_site(cx, PlaybackView, cam.site_id)?;
    Ok(cam)
}

/// Lists a camera's segments and gaps in a time range.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/segments", tag = "recordings",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "camera id"), RangeQuery),
    responses((status = 200, body = Catalog), (status = 400), (status = 404)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    q: web::Query<RangeQuery>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let cam = playable(&cx, *id).await?;
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - Duration::hours(24));
    if from >= to {
        return Err(ApiError::invalid("from must be before to"));
    }
    let limit = q.limit.unwrap_or(1000).clamp(1, MAX_LIMIT);

    let (segments, truncated) = segments_in(&cx, &cam, from, to, limit).await?;
    let gaps = gaps_in(&cx, &cam, from, to).await?;
    let storage_bytes = storage_bytes(&cx, &cam).await?;
    cx.audit(
        "playback.view",
        Some(("camera", cam.id)),
        json!({ "from": from, "to": to }),
    )
    .await?;
    cx.commit().await?;

    let catalog = Catalog {
        camera_id: cam.id,
        from,
        to,
        segments,
        truncated,
        gaps,
        storage_bytes,
    };
    Ok(HttpResponse::Ok().json(catalog))
}

async fn segments_in(
    cx: &TenantCx,
    cam: &camera::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> ApiResult<(Vec<SegmentInfo>, bool)> {
    let mut rows = segment::Entity::find()
        .filter(segment::Column::TenantId.eq(cx.tenant))
        .filter(segment::Column::CameraId.eq(cam.id))
        .filter(segment::Column::StartAt.gte(from - MAX_SEGMENT))
        .filter(segment::Column::StartAt.lt(to))
        .filter(segment::Column::EndAt.gt(from))
        .order_by_asc(segment::Column::StartAt)
        .limit(limit + 1)
        .all(&cx.tx)
        .await?;
    let truncated = rows.len() as u64 > limit;
    rows.truncate(limit as usize);

    let init_ids: Vec<Uuid> = rows.iter().map(|s| s.init_id).collect();
    let inits: HashMap<Uuid, init_segment::Model> = init_segment::Entity::find()
        .filter(init_segment::Column::TenantId.eq(cx.tenant))
        .filter(init_segment::Column::Id.is_in(init_ids))
        .all(&cx.tx)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let list = rows.into_iter().map(|s| info(s, &inits)).collect();
    Ok((list, truncated))
}

fn info(s: segment::Model, inits: &HashMap<Uuid, init_segment::Model>) -> SegmentInfo {
    let init = inits.get(&s.init_id);
    SegmentInfo {
        id: s.id,
        start: s.start_at,
        end: s.end_at,
        bytes: s.bytes,
        run_id: s.run_id,
        init_id: s.init_id,
        codec: init.map(|i| i.codec.clone()).unwrap_or_default(),
        width: init.map_or(0, |i| i.width),
        height: init.map_or(0, |i| i.height),
    }
}

async fn gaps_in(
    cx: &TenantCx,
    cam: &camera::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<GapInfo>> {
    let rows = recording_gap::Entity::find()
        .filter(recording_gap::Column::TenantId.eq(cx.tenant))
        .filter(recording_gap::Column::CameraId.eq(cam.id))
        .filter(recording_gap::Column::StartAt.lt(to))
        .filter(recording_gap::Column::EndAt.gt(from))
        .order_by_asc(recording_gap::Column::StartAt)
        .limit(MAX_LIMIT)
        .all(&cx.tx)
        .await?;
    let gaps = rows.into_iter().map(|g| GapInfo {
        start: g.start_at,
        end: g.end_at,
        reason: g.reason,
    });
    Ok(gaps.collect())
}

/// Bytes of every init and media segment of the camera.
async fn storage_bytes(cx: &TenantCx, cam: &camera::Model) -> ApiResult<i64> {
    let backend = cx.tx.get_database_backend();
    let sql = "SELECT CAST(COALESCE((SELECT SUM(bytes) FROM segments
                 WHERE tenant_id = ? AND camera_id = ?), 0)
               + COALESCE((SELECT SUM(bytes) FROM init_segments
                 WHERE tenant_id = ? AND camera_id = ?), 0) AS BIGINT) AS n";
    let sql = crate::db::placeholders(backend, sql);
    let values = vec![
        cx.tenant.into(),
        cam.id.into(),
        cx.tenant.into(),
        cam.id.into(),
    ];
    let row = cx
        .tx
        .query_one(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| ApiError::internal("no row from a sum"))?;
    Ok(row.try_get("", "n")?)
}

/// One segment decrypted, its init segment first: a playable fMP4.
#[utoipa::path(get, path = "/api/v1/cameras/{id}/segments/{segment_id}/mp4", tag = "recordings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "camera id"),
        ("segment_id" = Uuid, Path, description = "segment id")),
    responses((status = 200, content_type = "video/mp4"), (status = 404), (status = 500)))]
pub async fn mp4(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let (master, storage) = crate::storage::recording(&state)?;
    let (cam, seg_id) = (playable(&cx, path.0).await?, path.1);
    let seg = segment::Entity::find_by_id(seg_id)
        .filter(segment::Column::TenantId.eq(cx.tenant))
        .filter(segment::Column::CameraId.eq(cam.id))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::not_found("segment"))?;
    let init = init_segment::Entity::find_by_id(seg.init_id)
        .filter(init_segment::Column::TenantId.eq(cx.tenant))
        .filter(init_segment::Column::CameraId.eq(cam.id))
        .one(&cx.tx)
        .await?
        .ok_or_else(|| ApiError::internal("segment without its init segment"))?;

    let tenant = cx.tenant;
    let init_key = object_key(&cx, master, cam.id, init.key_id).await?;
    let seg_key = object_key(&cx, master, cam.id, seg.key_id).await?;
    cx.commit().await?;

    let init_aad = ObjectAad {
        tenant,
        camera: cam.id,
        object: init.id,
        start_us: 0,
    };
    let seg_aad = ObjectAad {
        tenant,
        camera: cam.id,
        object: seg.id,
        start_us: seg.start_at.timestamp_micros(),
    };
    let mut body = open(storage, &init.object_key, &init_key, &init_aad).await?;
    body.extend(open(storage, &seg.object_key, &seg_key, &seg_aad).await?);
    Ok(HttpResponse::Ok().content_type("video/mp4").body(body))
}

async fn object_key(
    cx: &TenantCx,
    master: &envelope::Key,
    camera: Uuid,
    key_id: Uuid,
) -> ApiResult<envelope::Key> {
    crate::keys::data_key(&cx.tx, master, cx.tenant, camera, key_id)
        .await?
        .map(|k| k.key)
        .ok_or_else(|| ApiError::internal("a catalogued object names an unknown data key"))
}

/// Fetches and opens one object; every failure is a clear JSON error.
async fn open(
    storage: &crate::storage::Storage,
    key: &str,
    data_key: &envelope::Key,
    aad: &ObjectAad,
) -> ApiResult<Vec<u8>> {
    let sealed = storage.get(key).await.map_err(|e| match e {
        StorageError::NotFound(_) => {
            tracing::error!(object = %aad.object, "catalogued object missing from storage");
            ApiError::new(
                Kind::Internal,
                "the recorded object is missing from storage",
            )
        }
        other => {
            tracing::warn!(error = %other, "reading a recorded object failed");
            ApiError::new(Kind::Unavailable, "object storage unavailable")
        }
    })?;
    envelope::open_object(data_key, aad, &sealed).map_err(|_| {
        tracing::error!(
            object = %aad.object, camera.id = %aad.camera,
            "recorded object failed authentication"
        );
        ApiError::new(
            Kind::Internal,
            "the recorded object failed authentication: it was altered or is not this segment",
        )
    })
}
