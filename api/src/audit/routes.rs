//! `/api/v1/audit`: read, verify and export the caller's tenant's log.
//! All need `audit.read` for the whole tenant.

use super::chain::{Break, Walker};
use crate::auth::{Auth, TenantCx};
use crate::entity::{audit_event, audit_head};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use argus_core::Permission::AuditRead;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const PAGE: u64 = 1000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page: events older than it.
    pub cursor: Option<i64>,
    /// 1 to 500, default 100.
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct Page {
    pub events: Vec<audit_event::Model>,
    pub next_cursor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Verification {
    pub ok: bool,
    pub checked: u64,
    pub first_break: Option<Break>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `jsonl` (default) or `csv`.
    pub format: Option<String>,
}

fn condition(cx: &TenantCx, f: &Filter) -> Condition {
    let mut c = Condition::all().add(audit_event::Column::TenantId.eq(cx.tenant));
    if let Some(v) = &f.action {
        c = c.add(audit_event::Column::Action.eq(v.as_str()));
    }
    if let Some(v) = f.actor_id {
        c = c.add(audit_event::Column::ActorId.eq(v));
    }
    if let Some(v) = f.target_id {
        c = c.add(audit_event::Column::TargetId.eq(v));
    }
    if let Some(v) = &f.outcome {
        c = c.add(audit_event::Column::Outcome.eq(v.as_str()));
    }
    if let Some(v) = f.from {
        c = c.add(audit_event::Column::At.gte(v));
    }
    if let Some(v) = f.to {
        c = c.add(audit_event::Column::At.lt(v));
    }
    if let Some(v) = f.cursor {
        c = c.add(audit_event::Column::Seq.lt(v));
    }
    c
}

/// Lists events, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(Filter), responses((status = 200, body = Page)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    f: web::Query<Filter>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(AuditRead)?;
    let limit = f.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 500"));
    }

    let events = audit_event::Entity::find()
        .filter(condition(&cx, &f))
        .order_by_desc(audit_event::Column::Seq)
        .limit(limit)
        .all(&cx.tx)
        .await?;
    let next_cursor = (events.len() as u64 == limit)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(HttpResponse::Ok().json(Page {
        events,
        next_cursor,
    }))
}

/// Recomputes the hash chain; names the first event that was altered,
/// removed or relinked.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Verification)))]
pub async fn verify(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(AuditRead)?;

    let mut walker = Walker::default();
    let mut first_break = None;
    'pages: loop {
        let page = page_from(&cx, walker.expected_seq - 1).await?;
        for ev in &page {
            first_break = walker.step(ev);
            if first_break.is_some() {
                break 'pages;
            }
        }
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    if first_break.is_none() {
        let head = audit_head::Entity::find_by_id(cx.tenant)
            .one(&cx.tx)
            .await?;
        first_break = walker.finish(head.map(|h| h.seq).unwrap_or(0));
    }
    let ok = first_break.is_none();
    Ok(HttpResponse::Ok().json(Verification {
        ok,
        checked: walker.checked,
        first_break,
    }))
}

/// Events with seq greater than `after`, oldest first.
async fn page_from(cx: &TenantCx, after: i64) -> ApiResult<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::TenantId.eq(cx.tenant))
        .filter(audit_event::Column::Seq.gt(after))
        .order_by_asc(audit_event::Column::Seq)
        .limit(PAGE)
        .all(&cx.tx)
        .await?)
}

/// Exports the whole log, oldest first, as JSON Lines or CSV.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("bearer" = [])),
    params(ExportParams), responses((status = 200, content_type = "application/jsonl")))]
pub async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    p: web::Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    let cx = auth.tenant(&state).await?;
    cx.require(AuditRead)?;
    let format = p.format.as_deref().unwrap_or("jsonl");
    if format != "jsonl" && format != "csv" {
        return Err(ApiError::invalid("format must be jsonl or csv"));
    }

    // TODO(#2): stream large logs instead of building the body in memory.
    let mut body = Vec::new();
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut after = 0;
    loop {
        let page = page_from(&cx, after).await?;
        for ev in &page {
            if format == "csv" {
                csv.write_record(csv_row(ev)).map_err(ApiError::internal)?;
            } else {
                serde_json::to_writer(&mut body, ev).map_err(ApiError::internal)?;
                body.push(b'\n');
            }
            after = ev.seq;
        }
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    if format == "csv" {
        body = csv_header();
        body.extend(csv.into_inner().map_err(ApiError::internal)?);
    }

    cx.audit(
        "audit.export",
        None,
        json!({ "format": format, "up_to_seq": after }),
    )
    .await?;
    cx.commit().await?;
    let content_type = if format == "csv" {
        "text/csv"
    } else {
        "application/jsonl"
    };
    let disposition = format!("attachment; filename=\"audit.{format}\"");
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Disposition", disposition))
        .body(body))
}

const CSV_COLUMNS: &[&str] = &[
    "seq",
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "target_kind",
    "target_id",
    "outcome",
    "client_ip",
    "user_agent",
    "details",
    "prev_hash",
    "hash",
];

fn csv_header() -> Vec<u8> {
    format!("{}\n", CSV_COLUMNS.join(",")).into_bytes()
}

fn csv_row(ev: &audit_event::Model) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let cells = vec![
        ev.seq.to_string(),
        ev.id.to_string(),
        super::chain::format_time(ev.at),
        ev.actor_kind.clone(),
        opt(ev.actor_id.map(|v| v.to_string())),
        ev.actor_label.clone(),
        ev.action.clone(),
        opt(ev.target_kind.clone()),
        opt(ev.target_id.map(|v| v.to_string())),
        ev.outcome.clone(),
        opt(ev.client_ip.clone()),
        opt(ev.user_agent.clone()),
        ev.details.to_string(),
        ev.prev_hash.clone(),
        ev.hash.clone(),
    ];
    cells.into_iter().map(defuse_formula).collect()
}

/// Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, tab or CR
/// as a formula. A typed email or user agent may start that way, so such a
/// cell gets a leading `'`, which spreadsheets show as text. (The JSON Lines
/// export keeps values exactly; the hash chain covers the stored values.)
fn defuse_formula(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}
