//! Live view (issue #4): the SFU. Relays push a camera over WHIP
//! ([`ingest`]); each camera's packets go through one [`camera::Fanout`]
//! that keeps the last GOP, to the camera's [`egress`], which sends them
//! to every viewer session ([`viewer`]) that pulled it over WHEP.
//!
//! [`Live`] owns the registry of cameras being watched and of viewer
//! sessions. Invariants: at most one ingest per camera; the relay is asked
//! to start when a camera gets its first viewer and no ingest exists, and
//! to stop only after its last viewer left and `grace_secs` passed with no
//! new one (a viewer arriving meanwhile cancels the stop).

pub mod audio;
pub mod camera;
pub mod egress;
pub mod guard;
pub mod h264;
pub mod home;
pub mod ice;
pub mod ingest;
pub mod ingest_runtime;
pub mod nodes;
pub mod order;
pub mod peer;
pub mod reachable;
pub mod rewrite;
pub mod routes;
pub mod sdp;
pub mod stats;
pub mod viewer;

use crate::control::Hub;
use argus_core::wire::control::CloudMessage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Where a relay pushes camera `id`: a path on the URL the relay reached
/// the cloud with (so it goes through the same proxies as everything else).
/// TODO(#4): with several api nodes, the home node's absolute URL.
pub fn whip_path(id: Uuid) -> String {
    format!("/relay/v1/cameras/{id}/whip")
}

fn start_live(camera_id: Uuid) -> CloudMessage {
    CloudMessage::StartLive {
        camera_id,
        whip_url: whip_path(camera_id),
    }
}

/// `[live]` in the config.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// How long a relay keeps pushing after the last viewer left. Default 10.
    pub grace_secs: u64,
    /// Local UDP addresses the SFU's connections bind (port 0: any). A
    /// wildcard binds every non-loopback interface. Default `127.0.0.1:0`.
    pub udp_addrs: Vec<String>,
    /// STUN servers offered to viewers (`stun:host:port`). Default none.
    pub stun_urls: Vec<String>,
    /// TURN servers offered to viewers (`turn:host:port?transport=udp`),
    /// with credentials from `turn_secret`; none without a secret.
    pub turn_urls: Vec<String>,
    /// The TURN server's shared secret (`ARGUS_LIVE__TURN_SECRET`).
    pub turn_secret: Option<argus_core::Secret<String>>,
    /// Live sessions one user may hold at once (on this node). Default 16.
    pub max_sessions_per_user: usize,
    /// How long a viewer's TURN credentials are valid. Default 3600.
    pub turn_ttl_secs: u64,
    /// This node's public base URL when several api nodes share one
    /// database (`http://10.0.0.5:8080`): turns on live homes and WHEP
    /// redirects (`home.rs`). Default none: one node.
    pub node_url: Option<String>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            grace_secs: 10,
            udp_addrs: vec!["127.0.0.1:0".into()],
            stun_urls: vec![],
            turn_urls: vec![],
            turn_secret: None,
            turn_ttl_secs: 3600,
            max_sessions_per_user: 16,
            node_url: None,
        }
    }
}

/// What the registry knows of one watched camera besides its packets.
#[derive(Default)]
struct CamState {
    viewers: usize,
    /// Bumped on every join: a stop timer from an older epoch does nothing.
    epoch: u64,
    /// StartLive sent and not stopped since.
    requested: bool,
    ingest: Option<ingest::Ingest>,
    /// The ingest this node ended when the last viewer's grace ran out:
    /// the relay's `DELETE` of it, which follows, is not an error.
    stopped: Option<Uuid>,
}

/// One watched camera.
pub struct CameraLive {
    pub id: Uuid,
    pub relay: Uuid,
    pub tenant: Uuid,
    pub fanout: camera::Fanout,
    /// The camera's audio (Opus or G.711), when its relay pushes some.
    pub audio: camera::Fanout,
    /// What the ingests of this camera brought in.
    pub received: stats::Counters,
    /// Video packets of its ingests that were lost or came late.
    pub order: order::Order,
    state: Mutex<CamState>,
    /// Sends the camera to its viewers while it has some.
    egress: Mutex<Option<egress::Egress>>,
}

impl CameraLive {
    fn lock(&self) -> std::sync::MutexGuard<'_, CamState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Viewers now attached.
    pub fn viewers(&self) -> usize {
        self.lock().viewers
    }

    /// `(viewers, push requested, current ingest)`.
    pub fn summary(&self) -> (usize, bool, Option<Uuid>) {
        let st = self.lock();
        (st.viewers, st.requested, st.ingest.as_ref().map(|i| i.id))
    }

    /// The camera's egress, started on `udp_addrs` if none runs.
    pub fn egress(self: &Arc<Self>, udp_addrs: &[String]) -> std::io::Result<egress::Egress> {
        let mut slot = self.egress.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = slot.as_ref().filter(|e| !e.is_closed()) {
            return Ok(e.clone());
        }
        let started = egress::Egress::start(self.clone(), udp_addrs)?;
        Ok(slot.insert(started).clone())
    }

    /// Forgets the egress if nobody watches (a first offer that failed):
    /// its task then ends once the last handle is dropped.
    pub fn drop_idle_egress(&self) {
        let st = self.lock();
        if st.viewers == 0 {
            self.egress.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }

    /// Installs `new` as the ingest; returns the one it replaces.
    pub(crate) fn set_ingest(&self, new: ingest::Ingest) -> Option<ingest::Ingest> {
        self.lock().ingest.replace(new)
    }

    /// Removes ingest `id` if it is the current one.
    pub(crate) fn take_ingest(&self, id: Uuid) -> Option<ingest::Ingest> {
        let mut st = self.lock();
        match &st.ingest {
            Some(i) if i.id == id => {
                // Whoever watches next asks the relay again.
                st.requested = false;
                st.ingest.take()
            }
            _ => None,
        }
    }

    /// Whether this node itself ended ingest `id` (after the grace period);
    /// answers once.
    pub(crate) fn stopped_here(&self, id: Uuid) -> bool {
        let mut st = self.lock();
        let here = st.stopped == Some(id);
        if here {
            st.stopped = None;
        }
        here
    }
}

/// The SFU of this api node.
#[derive(Default)]
pub struct Live {
    pub cfg: LiveConfig,
    cameras: Mutex<HashMap<Uuid, Arc<CameraLive>>>,
    sessions: Mutex<HashMap<Uuid, Arc<viewer::Session>>>,
    /// Pushes asked of relays here for homes elsewhere (`nodes.rs`).
    pub asked: nodes::Asked,
}

impl Live {
    /// An SFU with `cfg`; routes the `log` crate into tracing.
    pub fn new(cfg: LiveConfig) -> Self {
        peer::route_log_into_tracing();
        Self {
            cfg,
            ..Default::default()
        }
    }

    /// The registry entry of camera `id` of `tenant` (pulled by `relay`),
    /// made if new.
    pub fn camera(&self, id: Uuid, relay: Uuid, tenant: Uuid) -> Arc<CameraLive> {
        let mut cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
        let cam = cams.entry(id).or_insert_with(|| {
            Arc::new(CameraLive {
                id,
                relay,
                tenant,
                fanout: Default::default(),
                audio: camera::Fanout::audio(),
                received: Default::default(),
                order: Default::default(),
                state: Default::default(),
                egress: Default::default(),
            })
        });
        cam.clone()
    }

    /// Cameras someone watches on this node.
    pub fn watched_here(&self) -> Vec<Uuid> {
        let cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
        cams.values()
            .filter(|c| c.viewers() > 0)
            .map(|c| c.id)
            .collect()
    }

    /// Whether an ingest of `camera` is up on this node.
    pub fn ingest_up(&self, camera: Uuid) -> bool {
        let cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
        cams.get(&camera).is_some_and(|c| c.summary().2.is_some())
    }

    /// The watched cameras of `tenant`.
    pub fn cameras_of(&self, tenant: Uuid) -> Vec<Arc<CameraLive>> {
        let cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
        cams.values()
            .filter(|c| c.tenant == tenant)
            .cloned()
            .collect()
    }

    /// The viewer sessions of `tenant`.
    pub fn sessions_of(&self, tenant: Uuid) -> Vec<Arc<viewer::Session>> {
        let sessions = self.sessions_lock();
        sessions
            .values()
            .filter(|s| s.tenant == tenant)
            .cloned()
            .collect()
    }

    /// A viewer joined `cam`: asks the relay to push if nothing is coming.
    /// Returns whether StartLive was sent. A relay that is not connected
    /// now is asked when it connects ([`Self::relay_connected`]).
    pub fn viewer_joined(&self, hub: &Hub, cam: &CameraLive) -> bool {
        let mut st = cam.lock();
        st.viewers += 1;
        st.epoch += 1;
        if st.ingest.is_some() || st.requested {
            return false;
        }
        st.requested = hub.send(cam.relay, start_live(cam.id));
        if !st.requested {
            let (camera, relay) = (cam.id, cam.relay);
            tracing::warn!(camera.id = %camera, relay.id = %relay,
                "relay not connected: live push waits for it");
        }
        st.requested
    }

    /// Relay `relay` (re)connected: asks it again for each of its cameras
    /// that someone watches (a push it still runs is not doubled: the
    /// relay ignores a start for a camera it pushes). Returns how many.
    pub fn relay_connected(&self, hub: &Hub, relay: Uuid) -> usize {
        self.asked.forget_relay(relay);
        let cams: Vec<Arc<CameraLive>> = {
            let cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
            cams.values()
                .filter(|c| c.relay == relay)
                .cloned()
                .collect()
        };
        let mut asked = 0;
        for cam in cams {
            let mut st = cam.lock();
            if st.viewers == 0 {
                continue;
            }
            st.requested = hub.send(relay, start_live(cam.id));
            asked += usize::from(st.requested);
        }
        if asked > 0 {
            tracing::info!(relay.id = %relay, cameras = asked, "live pushes asked again");
        }
        asked
    }

    /// A viewer left `cam`; after the grace period with nobody watching,
    /// the relay is told to stop and the ingest is closed.
    pub fn viewer_left(&self, state: actix_web::web::Data<crate::AppState>, cam: Arc<CameraLive>) {
        let epoch = {
            let mut st = cam.lock();
            st.viewers = st.viewers.saturating_sub(1);
            if st.viewers > 0 {
                return;
            }
            st.epoch
        };
        let grace = Duration::from_secs(self.cfg.grace_secs);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let ingest = {
                let mut st = cam.lock();
                if st.viewers > 0 || st.epoch != epoch {
                    return;
                }
                st.requested = false;
                let ingest = st.ingest.take();
                st.stopped = ingest.as_ref().map(|i| i.id);
                ingest
            };
            state
                .hub
                .send(cam.relay, CloudMessage::StopLive { camera_id: cam.id });
            tracing::info!(camera.id = %cam.id, "live view stopped: no viewers");
            if let Some(me) = &state.live.cfg.node_url {
                if let Err(e) = home::release(&state.db, cam.id, me).await {
                    tracing::warn!(camera.id = %cam.id, error = %e, "could not release the live home");
                }
            }
            if let Some(i) = ingest {
                i.close().await;
            }
            cam.fanout.clear();
            // Its task ends once the sessions' handles are gone too.
            cam.egress.lock().unwrap_or_else(|e| e.into_inner()).take();
        });
    }

    /// Registers a viewer session.
    pub(crate) fn add_session(&self, s: Arc<viewer::Session>) {
        self.sessions_lock().insert(s.id, s);
    }

    /// The session `id` of `tenant`, if any.
    pub fn session(&self, tenant: Uuid, id: Uuid) -> Option<Arc<viewer::Session>> {
        self.sessions_lock()
            .get(&id)
            .filter(|s| s.tenant == tenant)
            .cloned()
    }

    /// Removes session `id`; only the caller that removed it gets it.
    pub(crate) fn remove_session(&self, id: Uuid) -> Option<Arc<viewer::Session>> {
        self.sessions_lock().remove(&id)
    }

    /// Viewer sessions open on this node.
    pub fn session_count(&self) -> usize {
        self.sessions_lock().len()
    }

    fn sessions_lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<viewer::Session>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}
