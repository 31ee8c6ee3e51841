//! The runtime the ingests' `webrtc` connections run on: the crate's own
//! tokio runtime, except that every UDP socket gets a receive buffer large
//! enough for a camera's keyframe. A relay sends a keyframe (tens to
//! hundreds of KiB) as one burst; the kernel's default buffer (208 KiB of
//! accounting, ~90 datagrams) overflowed now and then on a busy api, and
//! each lost packet cost viewers a broken picture until the next keyframe.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};
use webrtc::runtime::{
    default_runtime, AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle,
    Runtime,
};

/// Asked of the kernel for each ingest socket (it counts twice this, and
/// caps the request at `net.core.rmem_max`).
const RECV_BUFFER: usize = 2 << 20;

/// A boxed future of the runtime's signatures.
type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The ingests' runtime; `None` if the crate has none built in.
pub fn runtime() -> Option<Arc<dyn Runtime>> {
    default_runtime().map(|inner| Arc::new(Ingest(inner)) as Arc<dyn Runtime>)
}

#[derive(Debug)]
struct Ingest(Arc<dyn Runtime>);

/// Grows `socket`'s receive buffer; says once if the system caps it low.
fn grow(socket: &UdpSocket) {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt::RcvBuf};
    if let Err(e) = setsockopt(socket, RcvBuf, &RECV_BUFFER) {
        tracing::debug!(error = %e, "ingest socket: receive buffer not set");
    }
    let got = getsockopt(socket, RcvBuf).unwrap_or(0);
    static CAPPED: Once = Once::new();
    if got < RECV_BUFFER {
        CAPPED.call_once(|| {
            tracing::warn!(
                bytes = got,
                "live ingest: the UDP receive buffer is capped by net.core.rmem_max; \
                 raise it to at least {RECV_BUFFER} so large keyframes are not lost"
            )
        });
    }
}

impl Runtime for Ingest {
    fn spawn(&self, future: Fut<'static, ()>) -> Box<dyn JoinHandle> {
        self.0.spawn(future)
    }

    fn spawn_reactor(&self, pool: usize, future: Fut<'static, ()>) -> Box<dyn JoinHandle> {
        self.0.spawn_reactor(pool, future)
    }

    fn wrap_udp_socket(&self, socket: UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        grow(&socket);
        self.0.wrap_udp_socket(socket)
    }

    fn wrap_tcp_listener(&self, listener: TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.0.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote: SocketAddr,
    ) -> Fut<'a, io::Result<Arc<dyn AsyncTcpStream>>> {
        self.0.connect_tcp(remote)
    }

    fn resolve_host<'a>(&'a self, host: &'a str) -> Fut<'a, io::Result<Vec<SocketAddr>>> {
        self.0.resolve_host(host)
    }

    fn now(&self) -> Instant {
        self.0.now()
    }

    fn sleep(&self, duration: Duration) -> Fut<'static, ()> {
        self.0.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.0.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.0.block_on(future)
    }

    fn yield_now(&self) -> Fut<'static, ()> {
        self.0.yield_now()
    }

    fn name(&self) -> &'static str {
        "tokio (argus ingest)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ingest_sockets_get_the_larger_receive_buffer() {
        use nix::sys::socket::{getsockopt, sockopt::RcvBuf};
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = getsockopt(&socket, RcvBuf).unwrap();
        let wrapped = runtime()
            .expect("a runtime")
            .wrap_udp_socket(socket.try_clone().unwrap());
        assert!(wrapped.is_ok());
        let after = getsockopt(&socket, RcvBuf).unwrap();
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max").unwrap();
        let cap: usize = cap.trim().parse().unwrap();
        // The kernel counts twice what it grants, and grants at most the cap.
        assert_eq!(after, 2 * RECV_BUFFER.min(cap), "before: {before}");
    }
}
