//! Typed calls to the cloud's `/relay/v1/*` endpoints and the presigned
//! PUT to object storage.
//!
//! Every authenticated call carries a token the relay signs itself
//! (`Authorization: Bearer`, valid 60 s), reused for [`TOKEN_REUSE_SECS`]
//! so the uplink does not sign one per request. Invariant: a [`CloudError`] never holds
//! the token or a presigned URL's query (reqwest errors are stripped of
//! their URL; only the call's name and the api's error body are kept).

use crate::identity::Identity;
use argus_core::wire::recording::{CommitRequest, DataKeyResponse, SlotRequest, SlotResponse};
use argus_core::wire::{EnrollRequest, EnrollResponse, RelayConfig};
use argus_core::Secret;
use reqwest::{Client, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// A failed call to the cloud or object store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudError {
    /// The request did not complete (network, TLS, timeout); `detail` is
    /// the error chain without the URL.
    #[error("{call}: {detail}")]
    Transport { call: &'static str, detail: String },
    #[error("{call}: HTTP {status} {code}: {message}")]
    Status {
        call: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{call}: bad response body: {source}")]
    Decode {
        call: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl CloudError {
    /// Whether trying the same call again can never succeed: the api
    /// refused this request itself (not the moment, not the network).
    pub fn is_permanent(&self) -> bool {
        let refused = |s: u16| matches!(s, 400 | 404 | 409 | 410 | 413 | 422);
        // Object storage refusing a PUT (an expired URL, a bucket being
        // set up) is never final: the next attempt asks for a new slot.
        matches!(self, CloudError::Status { call, status, .. } if *call != "put" && refused(*status))
    }
}

/// How long a signed token is reused: it then still has 40 s to live,
/// longer than a request may take to reach the api.
pub const TOKEN_REUSE_SECS: i64 = 20;

/// The relay's authenticated client of the cloud.
#[derive(Clone)]
pub struct Cloud {
    http: Client,
    base: String,
    identity: Arc<Identity>,
    /// The token in use and when it was signed (Unix seconds).
    token: Arc<Mutex<Option<SignedToken>>>,
}

/// A token and when it was signed (Unix seconds).
type SignedToken = (i64, Secret<String>);

impl Cloud {
    /// A client of `base` (no trailing slash) acting as `identity`.
    pub fn new(base: &str, timeout: Duration, identity: Arc<Identity>) -> Self {
        Self {
            http: client(timeout),
            base: base.trim_end_matches('/').into(),
            identity,
            token: Arc::default(),
        }
    }

    /// A token signed at most [`TOKEN_REUSE_SECS`] ago.
    fn token(&self) -> Secret<String> {
        let now = chrono::Utc::now().timestamp();
        let mut cached = self.token.lock().expect("token lock");
        match &*cached {
            Some((at, token)) if (0..TOKEN_REUSE_SECS).contains(&(now - at)) => token.clone(),
            _ => {
                let token = self.identity.token();
                *cached = Some((now, token.clone()));
                token
            }
        }
    }

    /// The identity requests are signed with.
    pub fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }

    /// The cloud's base URL (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Where a WHIP URL the cloud sent points, as `(origin, path)`: a path
    /// is on this cloud; an absolute URL names another api node of it (it
    /// came over the authenticated control channel) and must use the same
    /// scheme as the cloud URL, so a push is never downgraded to plain HTTP.
    pub fn whip_target(&self, url: &str) -> Option<(String, String)> {
        if url.starts_with('/') && !url.starts_with("//") {
            return Some((self.base.clone(), url.to_string()));
        }
        let parsed = url::Url::parse(url).ok()?;
        let scheme = self.base.split("://").next()?;
        if parsed.scheme() != scheme || parsed.host_str().is_none() {
            return None;
        }
        let origin = parsed.origin().ascii_serialization();
        Some((origin, parsed.path().to_string()))
    }

    /// WHIP: `POST` an SDP offer to `path` on `origin`; the session's path
    /// (on the same origin) and the answer.
    pub async fn whip_offer(
        &self,
        origin: &str,
        path: &str,
        offer: String,
    ) -> Result<(String, String), CloudError> {
        let token = self.token();
        let req = self
            .http
            .post(format!("{origin}{path}"))
            .bearer_auth(token.expose())
            .header("content-type", "application/sdp")
            .body(offer);
        let resp = check("whip", send("whip", req).await?).await?;
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok());
        let location = location.and_then(|l| match l.strip_prefix(origin) {
            Some(rest) => Some(rest.to_string()),
            None => l.starts_with('/').then(|| l.to_string()),
        });
        let location = location.ok_or_else(|| CloudError::Status {
            call: "whip",
            status: 502,
            code: "bad_location".into(),
            message: "the WHIP answer has no usable Location".into(),
        })?;
        let answer = resp.text().await.map_err(|e| transport("whip", e))?;
        Ok((location, answer))
    }

    /// WHIP: `DELETE` the session at `path` on `origin`.
    pub async fn whip_delete(&self, origin: &str, path: &str) -> Result<(), CloudError> {
        let token = self.token();
        let req = self
            .http
            .delete(format!("{origin}{path}"))
            .bearer_auth(token.expose());
        check("whip_delete", send("whip_delete", req).await?)
            .await
            .map(drop)
    }

    /// `GET /relay/v1/config`: the cameras to record.
    pub async fn config(&self) -> Result<RelayConfig, CloudError> {
        json("config", self.get("/relay/v1/config")).await
    }

    /// `GET /relay/v1/cameras/{id}/key`: the camera's current data key.
    pub async fn data_key(&self, camera: Uuid) -> Result<DataKeyResponse, CloudError> {
        json(
            "data_key",
            self.get(&format!("/relay/v1/cameras/{camera}/key")),
        )
        .await
    }

    /// `POST /relay/v1/slots`: where to PUT one object.
    pub async fn slot(&self, req: &SlotRequest) -> Result<SlotResponse, CloudError> {
        json("slot", self.post("/relay/v1/slots").json(req)).await
    }

    /// PUTs `bytes` to the slot's presigned URL with exactly its headers.
    pub async fn put(&self, slot: &SlotResponse, bytes: Vec<u8>) -> Result<(), CloudError> {
        let mut req = self.http.put(&slot.url).body(bytes);
        for (name, value) in &slot.headers {
            req = req.header(name, value);
        }
        check("put", send("put", req).await?).await.map(drop)
    }

    /// `POST /relay/v1/commits`: records uploaded objects and gaps.
    pub async fn commit(&self, batch: &CommitRequest) -> Result<(), CloudError> {
        let req = self.post("/relay/v1/commits").json(batch);
        check("commit", send("commit", req).await?).await.map(drop)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        let token = self.token();
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token.expose())
    }

    fn post(&self, path: &str) -> RequestBuilder {
        let token = self.token();
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token.expose())
    }
}

/// `POST /relay/v1/enroll`, the one unauthenticated call.
pub async fn enroll(
    base: &str,
    timeout: Duration,
    req: &EnrollRequest,
) -> Result<EnrollResponse, CloudError> {
    let url = format!("{}/relay/v1/enroll", base.trim_end_matches('/'));
    json("enroll", client(timeout).post(url).json(req)).await
}

fn client(timeout: Duration) -> Client {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("argus-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend initializes")
}

async fn send(call: &'static str, req: RequestBuilder) -> Result<Response, CloudError> {
    req.send().await.map_err(|e| transport(call, e))
}

/// A transport error with its whole cause chain as text, minus the URL.
fn transport(call: &'static str, error: reqwest::Error) -> CloudError {
    let error = error.without_url();
    let mut detail = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(e) = cause {
        detail = format!("{detail}: {e}");
        cause = e.source();
    }
    CloudError::Transport { call, detail }
}

async fn json<T: DeserializeOwned>(
    call: &'static str,
    req: RequestBuilder,
) -> Result<T, CloudError> {
    let resp = check(call, send(call, req).await?).await?;
    let bytes = resp.bytes().await.map_err(|e| transport(call, e))?;
    serde_json::from_slice(&bytes).map_err(|source| CloudError::Decode { call, source })
}

/// Turns a non-2xx answer into [`CloudError::Status`] with the api's
/// `{"error": {"code", "message"}}` body (or the start of S3's XML).
async fn check(call: &'static str, resp: Response) -> Result<Response, CloudError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }

    let body = resp.text().await.unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let field = |name: &str, xml: &str| {
        let json = parsed.as_ref().and_then(|v| v["error"][name].as_str());
        json.map(String::from).or_else(|| xml_field(&body, xml))
    };
    let reason = status.canonical_reason().unwrap_or("");
    Err(CloudError::Status {
        call,
        status: status.as_u16(),
        code: field("code", "Code").unwrap_or_else(|| reason.into()),
        message: field("message", "Message").unwrap_or_default(),
    })
}

/// The text of `<name>…</name>` in an S3 error body.
fn xml_field(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let len = body[start..].find(&format!("</{name}>"))?;
    Some(body[start..start + len].chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_name_the_call_but_not_the_url_query() {
        let slot = SlotResponse {
            url: "http://127.0.0.1:9/bucket/key?X-Amz-Signature=deadbeef".into(),
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            expires_at: chrono::Utc::now(),
        };
        let identity = Arc::new(Identity {
            relay_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            site_id: Uuid::nil(),
            signing: argus_core::relay_token::SigningKey::generate(),
            sealing: argus_core::sealed::SealingKey::generate(),
        });
        let cloud = Cloud::new("http://127.0.0.1:9", Duration::from_secs(2), identity);
        let err = cloud.put(&slot, b"x".to_vec()).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("put"), "{text}");
        assert!(
            !text.contains("deadbeef") && !text.contains("X-Amz"),
            "{text}"
        );
        assert!(!err.is_permanent());
    }
}
