//! Several api nodes (issue #4): each watched camera has one home node,
//! recorded in `live_homes`; a WHEP request reaching another node is
//! redirected (307) there, so one ingest serves every viewer.
//!
//! Only when `[live] node_url` names this node's public URL; without it
//! (one node, `argus dev`) nothing here runs. Invariants: a node claims a
//! camera only if nobody holds it or the holder's heartbeat is older than
//! [`STALE`] (it died); the home beats every [`BEAT`] while it has viewers
//! and deletes its row when the camera's live view stops. The node holding
//! the relay's control connection turns `wanted` rows into start-live
//! (with the home's WHIP URL) and their removal into stop-live
//! ([`super::nodes`]).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, Value};
use std::time::Duration;
use uuid::Uuid;

/// A heartbeat older than this marks a dead home.
pub const STALE: Duration = Duration::from_secs(15);
/// How often a home beats and nodes look for pushes to start or stop.
pub const BEAT: Duration = Duration::from_secs(1);

/// Who serves a camera's viewers.
#[derive(Debug, PartialEq)]
pub enum Home {
    /// This node (just claimed or already held).
    Here,
    /// Another node, by its public URL.
    Elsewhere(String),
}

/// Claims `camera` for node `me`, or names the live node that holds it.
pub async fn claim(
    db: &DatabaseConnection,
    tenant: Uuid,
    camera: Uuid,
    relay: Uuid,
    me: &str,
) -> Result<Home, DbErr> {
    let now = chrono::Utc::now();
    let stale = now - chrono::Duration::from_std(STALE).unwrap_or_default();
    let sql =
        "INSERT INTO live_homes (camera_id, tenant_id, relay_id, node_url, wanted, heartbeat_at)
               VALUES (?, ?, ?, ?, true, ?)
               ON CONFLICT (camera_id) DO UPDATE SET node_url = excluded.node_url,
                 relay_id = excluded.relay_id, wanted = true, heartbeat_at = excluded.heartbeat_at
               WHERE live_homes.node_url = excluded.node_url OR live_homes.heartbeat_at < ?
               RETURNING node_url";
    let values = vec![
        camera.into(),
        tenant.into(),
        relay.into(),
        me.into(),
        now.into(),
        stale.into(),
    ];
    if query(db, sql, values).await?.is_some() {
        return Ok(Home::Here);
    }

    let sql = "SELECT node_url FROM live_homes WHERE camera_id = ?";
    match query(db, sql, vec![camera.into()]).await? {
        Some(url) if url != me => Ok(Home::Elsewhere(url)),
        _ => Ok(Home::Here),
    }
}

/// Node `me` stops serving `camera` (its live view ended).
pub async fn release(db: &DatabaseConnection, camera: Uuid, me: &str) -> Result<(), DbErr> {
    let sql = "DELETE FROM live_homes WHERE camera_id = ? AND node_url = ?";
    execute(db, sql, vec![camera.into(), me.into()]).await
}

/// Node `me` is alive and serves `cameras`.
/// One statement for all of them; none when nothing is watched here.
pub async fn beat(db: &DatabaseConnection, me: &str, cameras: &[Uuid]) -> Result<(), DbErr> {
    if cameras.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE live_homes SET heartbeat_at = ? WHERE node_url = ? AND camera_id IN ({})",
        marks(cameras.len())
    );
    let mut values: Vec<Value> = vec![chrono::Utc::now().into(), me.into()];
    values.extend(cameras.iter().map(|c| Value::from(*c)));
    execute(db, &sql, values).await
}

/// `?, ?, …`: `n` placeholders for an `IN` list.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A push some live home wants from a relay.
#[derive(Clone, Debug, PartialEq)]
pub struct Wanted {
    pub camera: Uuid,
    pub relay: Uuid,
    pub node_url: String,
}

/// The pushes wanted from `relays` by homes other than `me` (no query when
/// no relay is connected here).
pub async fn wanted_from(
    db: &DatabaseConnection,
    relays: &[Uuid],
    me: &str,
) -> Result<Vec<Wanted>, DbErr> {
    if relays.is_empty() {
        return Ok(vec![]);
    }
    let backend = db.get_database_backend();
    let stale = chrono::Utc::now() - chrono::Duration::from_std(STALE).unwrap_or_default();
    let sql = format!(
        "SELECT camera_id, relay_id, node_url FROM live_homes
         WHERE wanted AND node_url <> ? AND heartbeat_at >= ? AND relay_id IN ({})",
        marks(relays.len())
    );
    let sql = crate::db::placeholders(backend, &sql);
    let mut values: Vec<Value> = vec![me.into(), stale.into()];
    values.extend(relays.iter().map(|r| Value::from(*r)));
    let rows = db
        .query_all(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let wanted = rows.iter().map(|row| {
        Ok(Wanted {
            camera: row.try_get("", "camera_id")?,
            relay: row.try_get("", "relay_id")?,
            node_url: row.try_get("", "node_url")?,
        })
    });
    wanted.collect()
}

async fn query(
    db: &DatabaseConnection,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<String>, DbErr> {
    let backend = db.get_database_backend();
    let sql = crate::db::placeholders(backend, sql);
    let row = db
        .query_one(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    row.map(|r| r.try_get::<String>("", "node_url")).transpose()
}

async fn execute(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sql = crate::db::placeholders(backend, sql);
    db.execute(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map(drop)
}
