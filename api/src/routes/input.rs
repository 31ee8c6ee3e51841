//! Checks on request fields shared by the resource routes. Each returns a
//! 400 with a message that names the field.

use crate::error::{ApiError, ApiResult};

/// A display name: 1 to 200 characters, none of them invisible.
pub fn name(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 200 || v.chars().any(is_invisible) {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to 200 printable characters"
        )));
    }
    Ok(v.to_string())
}

/// Free text such as a role's description: at most 500 characters, line
/// breaks allowed, no other invisible characters.
pub fn description(value: &str) -> ApiResult<String> {
    let v = value.trim();
    let bad = v.chars().any(|c| c != '\n' && is_invisible(c));
    if v.chars().count() > 500 || bad {
        return Err(ApiError::invalid(
            "description must be at most 500 printable characters",
        ));
    }
    Ok(v.to_string())
}

/// Control characters, and the format characters that make one text look
/// like another: bidi overrides, zero-width spaces and joiners, BOM.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// A lower-case email address: one `@`, a dotted domain, no spaces.
pub fn email(value: &str) -> ApiResult<String> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(user, host)| {
            (1..=64).contains(&user.len())
                && !host.contains('@')
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && !host.contains("..")
        })
        && !v.chars().any(|c| c.is_whitespace() || is_invisible(c));
    if !ok {
        return Err(ApiError::invalid("email is not a valid address"));
    }
    Ok(v)
}

/// A tenant slug: 2 to 40 of `a-z`, `0-9`, `-`, starting with a letter,
/// not ending with `-`, no `--`.
pub fn slug(value: &str) -> ApiResult<String> {
    let ok = (2..=40).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && !value.ends_with('-')
        && !value.contains("--")
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(ApiError::invalid(
            "slug must be 2 to 40 of a-z, 0-9 and single -, starting with a letter",
        ));
    }
    Ok(value.to_string())
}

/// A time zone of the IANA database, such as `Europe/Paris` or `UTC`.
pub fn timezone(value: &str) -> ApiResult<String> {
    match value.parse::<chrono_tz::Tz>() {
        Ok(tz) => Ok(tz.name().to_string()),
        Err(_) => Err(ApiError::invalid(
            "timezone must be an IANA name such as Europe/Paris",
        )),
    }
}

/// Query parameters some cameras take credentials in.
const CREDENTIAL_PARAMS: &[&str] = &["user", "username", "password", "pass", "pwd", "passwd"];

/// A camera source: `rtsp://` or `rtsps://` without credentials, or
/// `sim://<name>` for the built-in simulated camera. Credentials never sit
/// in the URL, neither before the host nor in the query: they are sealed to
/// the relay's key and stored apart (TODO(#3)).
pub fn camera_source(value: &str) -> ApiResult<String> {
    let v = value.trim();
    if let Some(rest) = v
        .strip_prefix("rtsp://")
        .or_else(|| v.strip_prefix("rtsps://"))
    {
        rtsp_parts(v, rest)?;
        return Ok(v.to_string());
    }
    let sim_name = |n: &str| {
        (1..=64).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_".contains(c))
    };
    if let Some(rest) = v.strip_prefix("sim://") {
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        if sim_name(name) && sim_query(query) {
            return Ok(v.to_string());
        }
    }
    Err(ApiError::invalid(
        "source_url must be rtsp://host[:port]/path, rtsps://… or sim://name (a-z, 0-9, - and _) \
         with optional ?fps=&size=WxH&gop=&bitrate=",
    ))
}

/// The simulated camera's options: `fps`, `size`, `gop`, `bitrate`, each a
/// number (`size` two, joined by `x`).
fn sim_query(query: &str) -> bool {
    const KEYS: &[&str] = &["fps", "size", "gop", "bitrate"];
    query.len() <= 128
        && query.split('&').filter(|kv| !kv.is_empty()).all(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            KEYS.contains(&k) && !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == 'x')
        })
}

fn rtsp_parts(url: &str, rest: &str) -> ApiResult<()> {
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') || has_credential_param(rest) {
        return Err(ApiError::invalid(
            "source_url must not contain credentials; camera credentials are stored sealed, separately",
        ));
    }
    let host_ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    let path_ok = url.is_ascii()
        && !url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_control());
    if !host_ok || !path_ok || url.len() > 1024 {
        return Err(ApiError::invalid("source_url is not a valid RTSP URL"));
    }
    Ok(())
}

fn has_credential_param(rest: &str) -> bool {
    let Some((_, query)) = rest.split_once('?') else {
        return false;
    };
    query.split('&').any(|pair| {
        let key = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
        CREDENTIAL_PARAMS.contains(&key.as_str())
    })
}

/// Days of recording to keep: 1 to 3650.
pub fn retention_days(value: i32) -> ApiResult<i32> {
    if !(1..=3650).contains(&value) {
        return Err(ApiError::invalid(
            "retention_days must be between 1 and 3650",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_urls_with_credentials_are_refused() {
        assert!(camera_source("rtsp://admin:pw@10.0.0.2/stream").is_err());
        assert!(camera_source("rtsp://10.0.0.2:554/stream1").is_ok());
        assert!(camera_source("sim://demo").is_ok());
        assert!(camera_source("sim://demo?size=1280x720&bitrate=2000").is_ok());
        assert!(camera_source("sim://demo?password=x").is_err());
        assert!(camera_source("sim://demo?fps=").is_err());
        assert!(camera_source("http://x").is_err());
        assert!(camera_source("rtsp://10.0.0.2/s?user=admin&password=x").is_err());
        assert!(camera_source("rtsp://10.0.0.2/s?PWD=x").is_err());
        assert!(camera_source("rtsp://10.0.0.2/s?channel=1&subtype=0").is_ok());
        assert!(camera_source("rtsp://[::1]:8554/s").is_ok());
        assert!(camera_source("rtsp://ho st/s").is_err());
        assert!(camera_source("rtsp://host/s\r\nX: y").is_err());
        assert!(camera_source("sim://Demo Cam").is_err());
    }

    #[test]
    fn invisible_characters_are_refused() {
        assert!(name("name", "admin\u{202E}nimda").is_err());
        assert!(name("name", "ad\u{200B}min").is_err());
        assert!(description("line one\nline two").is_ok());
        assert!(description("tab\there").is_err());
        assert!(email("a@b@c.test").is_err());
        assert!(email("a@.test").is_err());
        assert!(slug("acme-").is_err());
        assert!(slug("ac--me").is_err());
        assert_eq!(timezone("Europe/Paris").unwrap(), "Europe/Paris");
        assert!(timezone("Mars/Olympus").is_err());
    }

    #[test]
    fn names_slugs_and_emails() {
        assert!(name("name", "  ").is_err());
        assert!(name("name", "Lobby\u{0}").is_err());
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(email("nope").is_err());
        assert!(slug("acme-1").is_ok());
        assert!(slug("1acme").is_err());
        assert!(slug("a'; DROP TABLE users;--").is_err());
    }
}
