//! Checks on request fields shared by the resource routes. Each returns a
//! 400 with a message that names the field.

use crate::error::{ApiError, ApiResult};

/// A display name: 1 to 200 characters, no control characters.
pub fn name(field: &str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to 200 printable characters"
        )));
    }
    Ok(v.to_string())
}

/// A lower-case email address.
pub fn email(value: &str) -> ApiResult<String> {
    let v = value.trim().to_lowercase();
    let ok = v.len() <= 254
        && v.split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(ApiError::invalid("email is not a valid address"));
    }
    Ok(v)
}

/// A tenant slug: 2 to 40 of `a-z`, `0-9`, `-`, starting with a letter.
pub fn slug(value: &str) -> ApiResult<String> {
    let ok = (2..=40).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(ApiError::invalid(
            "slug must be 2 to 40 of a-z, 0-9 and -, starting with a letter",
        ));
    }
    Ok(value.to_string())
}

/// An IANA time zone name such as `Europe/Paris` or `UTC`.
pub fn timezone(value: &str) -> ApiResult<String> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
    if !ok {
        return Err(ApiError::invalid(
            "timezone must be an IANA name such as Europe/Paris",
        ));
    }
    Ok(value.to_string())
}

/// A camera source: `rtsp://` or `rtsps://` without credentials, or
/// `sim://<name>` for the built-in simulated camera. Credentials never sit
/// in the URL: they will be sealed to the relay's key (TODO(#3)).
pub fn camera_source(value: &str) -> ApiResult<String> {
    let v = value.trim();
    let rest = v
        .strip_prefix("rtsp://")
        .or_else(|| v.strip_prefix("rtsps://"));
    if let Some(rest) = rest {
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return Err(ApiError::invalid(
                "source_url must not contain credentials; camera credentials are stored sealed, separately",
            ));
        }
        if authority.is_empty() || v.len() > 1024 || v.chars().any(|c| c.is_whitespace()) {
            return Err(ApiError::invalid("source_url is not a valid RTSP URL"));
        }
        return Ok(v.to_string());
    }
    if v.strip_prefix("sim://")
        .is_some_and(|n| !n.is_empty() && n.len() <= 64)
    {
        return Ok(v.to_string());
    }
    Err(ApiError::invalid(
        "source_url must start with rtsp://, rtsps:// or sim://",
    ))
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
        assert!(camera_source("http://x").is_err());
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
