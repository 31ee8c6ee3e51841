//! The hash chain: how an event's hash is computed, and how a chain is
//! checked.
//!
//! `hash = SHA-256(canonical JSON of the event's fields, prev_hash
//! included)`. Keys are sorted at every level and times are written with
//! microseconds, so the same row hashes the same on Postgres and SQLite.

use crate::entity::audit_event;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Hex SHA-256 of the event's content, chained to `prev_hash`.
pub fn hash(ev: &audit_event::Model) -> String {
    let content = json!({
        "prev_hash": ev.prev_hash,
        "tenant_id": ev.tenant_id,
        "seq": ev.seq,
        "at": format_time(ev.at),
        "actor_kind": ev.actor_kind,
        "actor_id": ev.actor_id,
        "actor_label": ev.actor_label,
        "action": ev.action,
        "target_kind": ev.target_kind,
        "target_id": ev.target_id,
        "outcome": ev.outcome,
        "client_ip": ev.client_ip,
        "user_agent": ev.user_agent,
        "details": ev.details,
    });
    let mut canonical = String::new();
    write_canonical(&content, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Times as stored and hashed: UTC, microsecond precision.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The first place a chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Break {
    /// The seq at which the chain breaks.
    pub seq: i64,
    /// The event there, if it still exists.
    pub event_id: Option<uuid::Uuid>,
    /// `missing`, `altered` or `relinked`.
    pub reason: String,
}

/// Walks a chain in seq order; `prev` is the state after the previous page.
pub struct Walker {
    pub expected_seq: i64,
    pub prev_hash: String,
    pub checked: u64,
}

impl Default for Walker {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: String::new(),
            checked: 0,
        }
    }
}

impl Walker {
    /// Checks the next event; returns where the chain breaks, if it does.
    pub fn step(&mut self, ev: &audit_event::Model) -> Option<Break> {
        let brk = |reason: &str, seq| {
            Some(Break {
                seq,
                event_id: Some(ev.id),
                reason: reason.into(),
            })
        };
        if ev.seq != self.expected_seq {
            return Some(Break {
                seq: self.expected_seq,
                event_id: None,
                reason: "missing".into(),
            });
        }
        if ev.prev_hash != self.prev_hash {
            return brk("relinked", ev.seq);
        }
        if hash(ev) != ev.hash {
            return brk("altered", ev.seq);
        }
        self.expected_seq += 1;
        self.prev_hash = ev.hash.clone();
        self.checked += 1;
        None
    }

    /// Checks the end of the chain against the head's seq.
    pub fn finish(&self, head_seq: i64) -> Option<Break> {
        (head_seq >= self.expected_seq).then(|| Break {
            seq: self.expected_seq,
            event_id: None,
            reason: "missing".into(),
        })
    }
}
