//! Which local address a live push's UDP socket binds: the one the
//! operating system routes towards the cloud, so the relay offers exactly
//! one host candidate, on the interface that can reach the SFU (loopback
//! when the cloud is on this machine).

use super::LiveError;
use tokio::net::UdpSocket;

/// `ip:0` of the interface facing `cloud_base` (`scheme://host[:port]...`).
pub async fn local_udp_addr(cloud_base: &str) -> Result<String, LiveError> {
    let url = url::Url::parse(cloud_base).map_err(|_| LiveError::Route("bad cloud url".into()))?;
    let host = url.host_str().ok_or(LiveError::Route("no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');

    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| LiveError::Route(format!("resolving the cloud: {e}")))?;
    let remote = addrs
        .next()
        .ok_or(LiveError::Route("the cloud's name has no address".into()))?;
    let any = if remote.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };

    // Connecting a UDP socket sends nothing; it only picks the route.
    let probe = UdpSocket::bind(any).await.map_err(route)?;
    probe.connect(remote).await.map_err(route)?;
    let local = probe.local_addr().map_err(route)?;
    Ok(std::net::SocketAddr::new(local.ip(), 0).to_string())
}

fn route(e: std::io::Error) -> LiveError {
    LiveError::Route(format!("no route to the cloud: {e}"))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_cloud_on_loopback_is_reached_from_loopback() {
        let addr = super::local_udp_addr("http://127.0.0.1:8080")
            .await
            .unwrap();
        assert_eq!(addr, "127.0.0.1:0");
        let addr = super::local_udp_addr("http://localhost:1").await.unwrap();
        assert!(
            addr.starts_with("127.0.0.1") || addr.starts_with("[::1]"),
            "{addr}"
        );
    }
}
