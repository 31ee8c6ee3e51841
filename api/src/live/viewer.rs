//! A WHEP viewer session: who watches which camera since when, and the
//! handle of the camera's [`super::egress`] that carries its connection.

use super::egress::Egress;
use super::CameraLive;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// One viewer.
pub struct Session {
    pub id: Uuid,
    pub tenant: Uuid,
    /// The user (actor id) who opened it.
    pub owner: Option<Uuid>,
    pub camera: Arc<CameraLive>,
    pub started: Instant,
    /// Where its connection lives.
    pub egress: Egress,
    /// What this viewer was sent.
    pub sent: Arc<super::stats::Counters>,
    /// Who watches, for the audit event when the session ends by itself.
    pub actor: crate::audit::Actor,
    pub meta: crate::audit::RequestMeta,
}

impl Session {
    /// Ends the session's connection.
    pub async fn close(&self) {
        self.egress.leave(self.id).await;
    }

    /// Records `live.view.end` with the duration, in its own transaction
    /// (for a session that ended without a request: the viewer went away).
    pub async fn audit_end(&self, db: &sea_orm::DatabaseConnection, reason: &str) {
        use sea_orm::TransactionTrait;
        let secs = (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let ev = crate::audit::Event {
            actor: &self.actor,
            action: "live.view.end",
            target: Some(("camera", self.camera.id)),
            outcome: "success",
            details: serde_json::json!({
                "session_id": self.id, "duration_secs": secs, "reason": reason
            }),
            meta: &self.meta,
        };
        let done = async {
            let tx = db.begin().await?;
            crate::db::scope_to_tenant(&tx, self.tenant).await?;
            crate::audit::append(&tx, self.tenant, ev).await?;
            tx.commit().await
        };
        if let Err(e) = done.await {
            let id = self.id;
            tracing::warn!(session.id = %id, error = %e, "could not audit a live view's end");
        }
    }
}
