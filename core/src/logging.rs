//! The log filter both the api and the relay start from.
//!
//! The WebRTC stack (`webrtc`, `rtc` and its `rtc_*` parts, routed from
//! the `log` crate into `tracing`) warns about routine ICE events on every
//! connection (a STUN reply from a candidate it already dropped, checks
//! before the remote candidates arrive). Unless the operator's filter names
//! one of those crates, they log errors only.

/// Targets of the WebRTC stack (a filter directive matches by prefix).
const WEBRTC_TARGETS: &[&str] = &["webrtc", "rtc"];

/// `filter` (an `EnvFilter` string such as `info` or `argus_api=debug`)
/// with the WebRTC stack at `error` unless `filter` mentions it.
pub fn with_quiet_webrtc(filter: &str) -> String {
    let named = |t: &&str| filter.split(',').any(|d| d.trim().starts_with(*t));
    let mut out = filter.to_string();
    for target in WEBRTC_TARGETS.iter().filter(|t| !named(t)) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(target);
        out.push_str("=error");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webrtc_is_quiet_unless_named() {
        assert_eq!(with_quiet_webrtc("info"), "info,webrtc=error,rtc=error");
        assert_eq!(
            with_quiet_webrtc("debug,rtc_ice=trace"),
            "debug,rtc_ice=trace,webrtc=error"
        );
        assert_eq!(with_quiet_webrtc(""), "webrtc=error,rtc=error");
    }
}
