//! HTTP for live view: WHIP for relays (`/relay/v1/cameras/{id}/whip`),
//! WHEP for viewers (`/api/v1/cameras/{id}/whep`, sessions under
//! `/api/v1/live/sessions/{id}`), RFC 9725 style: SDP in, 201 + SDP +
//! `Location` out.
//!
//! Order of checks on WHEP: authenticate, find the camera the caller may
//! watch (404 otherwise, before the body is even looked at), then the body.

use super::home::{self, Home};
use super::{egress, ingest, sdp, viewer};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Kind};
use crate::relay_api::auth::RelayAuth;
use crate::routes::cameras;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use argus_core::Permission::LiveView;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

const SDP: &str = "application/sdp";
const TRICKLE: &str = "application/trickle-ice-sdpfrag";

/// Reads the request body, read only once the caller is authorized and
/// the object found (so a stranger's huge body is a 404, not a 413), and
/// refused with a JSON 413 past [`sdp::MAX_SDP`].
async fn read_body(mut payload: web::Payload) -> ApiResult<web::Bytes> {
    use futures_util::StreamExt;
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid(format!("reading the body: {e}")))?;
        if buf.len() + chunk.len() > sdp::MAX_SDP {
            return Err(ApiError::new(
                Kind::PayloadTooLarge,
                format!("body larger than {} bytes", sdp::MAX_SDP),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The body as SDP text: 415 for another type, 413 past 64 KiB, 400 if not UTF-8.
async fn sdp_body(req: &HttpRequest, body: web::Payload, want: &str) -> ApiResult<String> {
    let ctype = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ctype.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(want) {
        return Err(ApiError::new(
            Kind::UnsupportedMediaType,
            format!("body must be {want}"),
        ));
    }
    let body = read_body(body).await?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("SDP must be UTF-8"))?;
    Ok(text.to_string())
}

fn sdp_created(location: String, answer: String) -> HttpResponse {
    HttpResponse::Created()
        .content_type(SDP)
        .insert_header(("Location", location))
        .body(answer)
}

/// WHIP: a relay starts pushing one of its cameras.
pub async fn whip(
    state: web::Data<AppState>,
    relay: RelayAuth,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let cam = crate::relay_api::relay_camera(&state.db, &relay.relay, *id).await?;
    let offer = sdp_body(&req, body, SDP).await?;
    sdp::check_offer(&offer)?;
    sdp::check_direction(&offer, "recvonly")?;

    let live = state
        .live
        .camera(cam.id, relay.relay.id, relay.relay.tenant_id);
    if live.viewers() == 0 {
        return Err(ApiError::new(
            Kind::FailedPrecondition,
            "nobody is watching this camera live",
        ));
    }
    let (ingest_id, answer) = ingest::start(live, state.live.cfg.udp_addrs.clone(), offer)
        .await
        .map_err(|e| ApiError::invalid(format!("cannot answer the offer: {e}")))?;
    let location = format!("/relay/v1/cameras/{}/whip/{ingest_id}", cam.id);
    Ok(sdp_created(location, answer))
}

/// WHIP: the relay ends its push.
pub async fn whip_delete(
    state: web::Data<AppState>,
    relay: RelayAuth,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (camera, ingest_id) = *path;
    let cam = crate::relay_api::relay_camera(&state.db, &relay.relay, camera).await?;
    let live = state
        .live
        .camera(cam.id, relay.relay.id, relay.relay.tenant_id);
    let Some(ingest) = live.take_ingest(ingest_id) else {
        // Ended here when its viewers' grace ran out: done, not unknown.
        return match live.stopped_here(ingest_id) {
            true => Ok(HttpResponse::NoContent().finish()),
            false => Err(ApiError::not_found("ingest")),
        };
    };
    ingest.close().await;
    live.fanout.clear();
    Ok(HttpResponse::NoContent().finish())
}

/// Starts watching a camera live (WHEP): SDP offer in, SDP answer out.
#[utoipa::path(post, path = "/api/v1/cameras/{id}/whep", tag = "live", security(("bearer" = [])),
    request_body(content = String, content_type = "application/sdp"),
    responses((status = 201, description = "SDP answer; `Location` names the session",
        content_type = "application/sdp", body = String),
        (status = 307, description = "another api node is the camera's live home: repeat there"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 409),
        (status = 413), (status = 415), (status = 429),
        (status = 503, description = "no video to show: the camera's relay is not connected, \
            or cannot reach the camera (the message says which)")))]
pub async fn whep(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let recheck = auth.clone();
    let cx = auth.tenant(&state).await?;
    let cam = cameras::visible(&cx, *id).await?;
    if !cx.grants.on_site(LiveView, cam.site_id) {
        return Err(ApiError::not_found("camera"));
    }
    let offer = sdp_body(&req, body, SDP).await?;
    sdp::check_offer(&offer)?;
    sdp::check_direction(&offer, "sendonly")?;
    let mine = state.live.sessions_of(cx.tenant);
    let held = mine.iter().filter(|s| s.owner == cx.actor.id).count();
    if held >= state.live.cfg.max_sessions_per_user {
        return Err(ApiError::new(
            Kind::RateLimited,
            format!("at most {held} live sessions per user: end one first"),
        ));
    }
    if cam.codec.as_deref() == Some("h265") {
        return Err(ApiError::conflict(
            "live view needs H.264 and this camera sends H.265: \
             add the camera's H.264 substream as a camera to watch it live",
        ));
    }
    let relay = cam.relay_id.ok_or_else(|| {
        ApiError::new(
            Kind::FailedPrecondition,
            "the camera has no relay to push it live",
        )
    })?;

    super::reachable::check(&cx, &cam, state.live.ingest_up(cam.id)).await?;

    if let Some(me) = state.live.cfg.node_url.as_deref() {
        if let Home::Elsewhere(home) = home::claim(&state.db, cx.tenant, cam.id, relay, me).await? {
            let location = format!(
                "{}/api/v1/cameras/{}/whep",
                home.trim_end_matches('/'),
                cam.id
            );
            return Ok(HttpResponse::TemporaryRedirect()
                .insert_header(("Location", location))
                .finish());
        }
    }

    let live = state.live.camera(cam.id, relay, cx.tenant);
    let egress = live
        .egress(&state.live.cfg.udp_addrs)
        .map_err(|e| ApiError::internal(format!("cannot bind the live sockets: {e}")))?;
    let sid = Uuid::now_v7();
    let sent = Arc::new(super::stats::Counters::default());
    let negotiated = match egress::conn::negotiate(sid, offer, &egress.addrs, sent.clone()) {
        Ok(n) => n,
        Err(e) => {
            live.drop_idle_egress();
            return Err(ApiError::invalid(format!("cannot answer the offer: {e}")));
        }
    };
    let session = Arc::new(viewer::Session {
        id: sid,
        tenant: cx.tenant,
        owner: cx.actor.id,
        camera: live.clone(),
        started: Instant::now(),
        sent,
        egress: egress.clone(),
        actor: cx.actor.clone(),
        meta: cx.meta.clone(),
    });
    cx.audit(
        "live.view",
        Some(("camera", cam.id)),
        json!({ "session_id": session.id }),
    )
    .await?;
    cx.commit().await?;

    state.live.add_session(session.clone());
    super::guard::spawn(state.clone(), recheck, session.id, cam.site_id);
    state.live.viewer_joined(&state.hub, &live);
    let st = state.clone();
    let ended = Box::new(move || {
        if let Some(s) = st.live.remove_session(sid) {
            st.live.viewer_left(st.clone(), s.camera.clone());
            // A viewer that never got a packet did not watch: say so.
            let reason = match s.sent.get().0 {
                0 => "no_video_sent",
                _ => "disconnected",
            };
            tokio::spawn(async move { s.audit_end(&st.db, reason).await });
        }
    });
    egress.join(negotiated.conn, ended).await;
    let answer = negotiated.answer;
    let mut res = sdp_created(format!("/api/v1/live/sessions/{sid}"), answer);
    let now = chrono::Utc::now().timestamp();
    for link in super::ice::links(&state.live.cfg, sid, now) {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&link) {
            res.headers_mut()
                .append(actix_web::http::header::LINK, value);
        }
    }
    Ok(res)
}

/// The caller's session `id`, or 404.
fn own_session(
    state: &AppState,
    cx: &crate::auth::TenantCx,
    id: Uuid,
) -> ApiResult<Arc<viewer::Session>> {
    state
        .live
        .session(cx.tenant, id)
        .filter(|s| s.owner == cx.actor.id)
        .ok_or_else(|| ApiError::not_found("live session"))
}

/// Ends a live session.
#[utoipa::path(delete, path = "/api/v1/live/sessions/{id}", tag = "live", security(("bearer" = [])),
    responses((status = 204), (status = 404)))]
pub async fn end(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    own_session(&state, &cx, *id)?;
    let Some(s) = state.live.remove_session(*id) else {
        return Err(ApiError::not_found("live session"));
    };
    let secs = s.started.elapsed().as_secs_f64();
    cx.audit(
        "live.view.end",
        Some(("camera", s.camera.id)),
        json!({ "session_id": s.id, "duration_secs": (secs * 10.0).round() / 10.0 }),
    )
    .await?;
    cx.commit().await?;
    s.close().await;
    state.live.viewer_left(state.clone(), s.camera.clone());
    Ok(HttpResponse::NoContent().finish())
}

/// Trickled ICE candidates for a session (RFC 8840 fragment).
#[utoipa::path(patch, path = "/api/v1/live/sessions/{id}", tag = "live", security(("bearer" = [])),
    request_body(content = String, content_type = "application/trickle-ice-sdpfrag"),
    responses((status = 204), (status = 400), (status = 404), (status = 415)))]
pub async fn trickle(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    let s = own_session(&state, &cx, *id)?;
    let frag = sdp_body(&req, body, TRICKLE).await?;
    let candidates = sdp::candidates(&frag);
    if candidates.is_empty() && !frag.contains("a=end-of-candidates") {
        return Err(ApiError::invalid(
            "the fragment has no a=candidate (or a=end-of-candidates) line",
        ));
    }
    for (candidate, mid) in candidates {
        let init = rtc::peer_connection::transport::RTCIceCandidateInit {
            candidate,
            sdp_mid: mid,
            ..Default::default()
        };
        s.egress
            .add_candidate(s.id, init)
            .await
            .map_err(|e| ApiError::invalid(format!("bad candidate: {e}")))?;
    }
    Ok(HttpResponse::NoContent().finish())
}
