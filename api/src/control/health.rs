//! What the control channel writes: the health columns of a relay's row
//! and of its cameras' rows.
//!
//! Every write runs in a transaction scoped to the relay's tenant (row-level
//! security on), and filters by tenant and relay as well: a relay can only
//! ever touch its own row and the cameras assigned to it. What a relay
//! reports is untrusted input: numbers saturate, strings are clipped.

use crate::entity::{camera, relay, tenant};
use argus_core::wire::control::{CameraHealth, CameraState, UplinkHealth};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};

/// Most cameras one hello may report on.
const MAX_HELLO_CAMERAS: usize = 4096;

/// A transaction scoped to `relay`'s tenant.
async fn scoped(
    db: &DatabaseConnection,
    relay: &relay::Model,
) -> Result<DatabaseTransaction, DbErr> {
    let tx = db.begin().await?;
    crate::db::scope_to_tenant(&tx, relay.tenant_id).await?;
    Ok(tx)
}

/// Sets columns of `relay`'s own row.
async fn update_relay(
    db: &DatabaseConnection,
    relay: &relay::Model,
    cols: Vec<(relay::Column, SimpleExpr)>,
) -> Result<(), DbErr> {
    let tx = scoped(db, relay).await?;
    let mut q = relay::Entity::update_many()
        .col_expr(relay::Column::LastSeenAt, Expr::value(Utc::now()))
        .filter(relay::Column::Id.eq(relay.id))
        .filter(relay::Column::TenantId.eq(relay.tenant_id));
    for (col, value) in cols {
        q = q.col_expr(col, value);
    }
    q.exec(&tx).await?;
    tx.commit().await
}

/// The relay's connection opened on this node. Returns its start time
/// (whole microseconds, as the database keeps it), which names the
/// connection in [`disconnected`].
pub(crate) async fn connected(
    db: &DatabaseConnection,
    relay: &relay::Model,
) -> Result<DateTime<Utc>, DbErr> {
    let since = Utc::now().trunc_subsecs(6);
    let cols = vec![
        (relay::Column::Online, Expr::value(true)),
        (relay::Column::ConnectedAt, Expr::value(since)),
    ];
    update_relay(db, relay, cols).await.map(|()| since)
}

/// The connection that opened at `since` closed. Changes nothing if a
/// newer connection (on any node) has marked the relay online since.
pub(crate) async fn disconnected(
    db: &DatabaseConnection,
    relay: &relay::Model,
    since: DateTime<Utc>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let tx = scoped(db, relay).await?;
    relay::Entity::update_many()
        .col_expr(relay::Column::Online, Expr::value(false))
        .col_expr(relay::Column::DisconnectedAt, Expr::value(now))
        .col_expr(relay::Column::LastSeenAt, Expr::value(now))
        .filter(relay::Column::Id.eq(relay.id))
        .filter(relay::Column::TenantId.eq(relay.tenant_id))
        .filter(relay::Column::ConnectedAt.eq(since))
        .exec(&tx)
        .await?;
    tx.commit().await
}

/// Anything at all was heard from the relay.
pub(crate) async fn seen(db: &DatabaseConnection, relay: &relay::Model) -> Result<(), DbErr> {
    update_relay(db, relay, vec![]).await
}

/// The hello: protocol, version and every camera's state.
pub(crate) async fn hello(
    db: &DatabaseConnection,
    relay: &relay::Model,
    protocol: u32,
    version: &str,
    cameras: &[CameraHealth],
) -> Result<(), DbErr> {
    let cols = vec![
        (relay::Column::Protocol, Expr::value(saturate(protocol))),
        (relay::Column::Version, Expr::value(clip(version, 64))),
    ];
    update_relay(db, relay, cols).await?;

    let tx = scoped(db, relay).await?;
    for h in cameras.iter().take(MAX_HELLO_CAMERAS) {
        update_camera(&tx, relay, h).await?;
    }
    tx.commit().await
}

/// A heartbeat: the upload backlog.
pub(crate) async fn heartbeat(
    db: &DatabaseConnection,
    relay: &relay::Model,
    uplink: &UplinkHealth,
) -> Result<(), DbErr> {
    let big = |v: u64| Expr::value(i64::try_from(v).unwrap_or(i64::MAX));
    let cols = vec![
        (
            relay::Column::BufferedSegments,
            big(uplink.buffered_segments),
        ),
        (relay::Column::BufferedBytes, big(uplink.buffered_bytes)),
        (relay::Column::DroppedSegments, big(uplink.dropped_segments)),
    ];
    update_relay(db, relay, cols).await
}

/// One camera's health report.
pub(crate) async fn camera(
    db: &DatabaseConnection,
    relay: &relay::Model,
    h: &CameraHealth,
) -> Result<(), DbErr> {
    let tx = scoped(db, relay).await?;
    update_camera(&tx, relay, h).await?;
    tx.commit().await
}

/// Writes `h` to its camera's row if that camera is assigned to `relay`.
/// What the relay does not know yet (no frame, codec unknown) keeps the
/// last known value.
async fn update_camera(
    tx: &DatabaseTransaction,
    relay: &relay::Model,
    h: &CameraHealth,
) -> Result<(), DbErr> {
    let bitrate = i64::try_from(h.bitrate_bps).unwrap_or(i64::MAX);
    let mut q = camera::Entity::update_many()
        .col_expr(
            camera::Column::HealthState,
            Expr::value(state_name(h.state)),
        )
        .col_expr(camera::Column::Status, Expr::value(state_name(h.state)))
        .col_expr(camera::Column::HealthAt, Expr::value(Utc::now()))
        .col_expr(camera::Column::BitrateBps, Expr::value(bitrate))
        .col_expr(
            camera::Column::LastError,
            Expr::value(h.error.as_deref().map(|e| clip(e, 512))),
        )
        .filter(camera::Column::Id.eq(h.camera_id))
        .filter(camera::Column::TenantId.eq(relay.tenant_id))
        .filter(camera::Column::RelayId.eq(relay.id));
    if let Some(at) = h.last_frame_at {
        q = q.col_expr(camera::Column::LastFrameAt, Expr::value(at));
    }
    if h.state == CameraState::Online {
        // Online reports always say what audio the camera has (none: null).
        let audio = h.audio.as_deref().map(|a| clip(a, 32));
        let note = crate::live::audio::note(audio.as_deref());
        q = q.col_expr(camera::Column::AudioCodec, Expr::value(audio));
        q = q.col_expr(camera::Column::AudioNote, Expr::value(note));
    }
    if let Some(codec) = &h.codec {
        q = q.col_expr(camera::Column::Codec, Expr::value(clip(codec, 16)));
    }
    if let (Some(w), Some(h)) = (h.width, h.height) {
        q = q.col_expr(camera::Column::Width, Expr::value(saturate(w)));
        q = q.col_expr(camera::Column::Height, Expr::value(saturate(h)));
    }
    q.exec(tx).await.map(|_| ())
}

/// The relay's current row if it may stay connected: still `active`, and
/// its tenant too. `None` once it is revoked, deleted or suspended.
pub(crate) async fn still_allowed(
    db: &DatabaseConnection,
    relay: &relay::Model,
) -> Result<Option<relay::Model>, DbErr> {
    let Some(row) = relay::Entity::find_by_id(relay.id).one(db).await? else {
        return Ok(None);
    };
    if row.status != "active" || row.tenant_id != relay.tenant_id {
        return Ok(None);
    }
    let tenant = tenant::Entity::find_by_id(row.tenant_id).one(db).await?;
    Ok(tenant.filter(|t| t.status == "active").map(|_| row))
}

/// A camera state as stored.
pub fn state_name(state: CameraState) -> &'static str {
    match state {
        CameraState::Connecting => "connecting",
        CameraState::Online => "online",
        CameraState::Offline => "offline",
    }
}

fn saturate(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_whole_characters() {
        assert_eq!(clip("abc", 10), "abc");
        assert_eq!(clip("ééé", 3), "é");
        assert_eq!(saturate(u32::MAX), i32::MAX);
    }

    /// `argus dev` runs on SQLite: the health columns must exist there too.
    #[tokio::test]
    async fn health_columns_exist_on_sqlite() {
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        assert!(relay::Entity::find().all(&db).await.unwrap().is_empty());
        assert!(camera::Entity::find().all(&db).await.unwrap().is_empty());
    }
}
