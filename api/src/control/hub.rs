//! The registry of relays connected to this api node.
//!
//! Each connection task registers under its relay id and gets a command
//! queue; request handlers reach it through [`Hub`] without waiting.
//! Invariant: at most one registered connection per relay. A new one
//! replaces the old, which is told to close, and only the registered
//! connection may unregister (so the old one's exit cannot mark a relay
//! offline that its new connection just brought online).

use argus_core::wire::control::CloudMessage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::mpsc;
use uuid::Uuid;

/// What a request handler asks of a connection.
#[derive(Debug)]
pub(crate) enum Command {
    /// Load the relay's config again and push it.
    Reload,
    /// Send this message as is.
    Send(CloudMessage),
    /// Close the connection, with this reason for the relay.
    Close(&'static str),
}

/// One registered connection.
struct Entry {
    serial: u64,
    commands: mpsc::UnboundedSender<Command>,
}

/// The relays connected to this api node, by relay id.
// TODO(#3): one hub per node; with several api nodes, `config_changed` on
// a node the relay is not connected to does nothing (needs LISTEN/NOTIFY).
#[derive(Default)]
pub struct Hub {
    conns: Mutex<HashMap<Uuid, Entry>>,
    serials: AtomicU64,
}

impl Hub {
    /// The cameras of `relay` changed: push it its new config if connected.
    /// Returns at once; the connection loads the config itself. It also
    /// re-checks the relay, so calling this after revoking one closes its
    /// socket at once.
    pub fn config_changed(&self, relay: Uuid) {
        self.command(relay, Command::Reload);
    }

    /// Sends `msg` (such as start/stop live) to `relay`; `false` if it is
    /// not connected to this node.
    pub fn send(&self, relay: Uuid, msg: CloudMessage) -> bool {
        self.command(relay, Command::Send(msg))
    }

    /// Closes `relay`'s connection, if any (e.g. it was revoked).
    pub fn disconnect(&self, relay: Uuid) -> bool {
        self.command(relay, Command::Close("disconnected by the cloud"))
    }

    /// The relays connected to this node.
    pub fn connected(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    /// Whether `relay` holds a connection to this node.
    pub fn is_connected(&self, relay: Uuid) -> bool {
        self.lock().contains_key(&relay)
    }

    /// Registers a new connection of `relay`, replacing (and closing) an
    /// older one. Returns its serial and its command queue.
    pub(crate) fn register(&self, relay: Uuid) -> (u64, mpsc::UnboundedReceiver<Command>) {
        let serial = self.serials.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let entry = Entry {
            serial,
            commands: tx,
        };
        if let Some(old) = self.lock().insert(relay, entry) {
            let _ = old
                .commands
                .send(Command::Close("replaced by a newer connection"));
        }
        (serial, rx)
    }

    /// Removes connection `serial` of `relay`; `false` if it was replaced.
    pub(crate) fn unregister(&self, relay: Uuid, serial: u64) -> bool {
        let mut conns = self.lock();
        match conns.get(&relay) {
            Some(e) if e.serial == serial => conns.remove(&relay).is_some(),
            _ => false,
        }
    }

    fn command(&self, relay: Uuid, cmd: Command) -> bool {
        match self.lock().get(&relay) {
            Some(e) => e.commands.send(cmd).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        // A panic while holding the lock leaves the map consistent.
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_connection_replaces_the_old_one() {
        let hub = Hub::default();
        let relay = Uuid::from_u128(1);
        let (first, mut old) = hub.register(relay);
        let (second, _new) = hub.register(relay);

        assert!(matches!(old.try_recv(), Ok(Command::Close(_))));
        assert!(
            !hub.unregister(relay, first),
            "the old one may not unregister"
        );
        assert!(hub.is_connected(relay));
        assert!(hub.unregister(relay, second));
        assert!(!hub.is_connected(relay));
    }

    #[test]
    fn commands_reach_only_a_connected_relay() {
        let hub = Hub::default();
        let relay = Uuid::from_u128(2);
        assert!(!hub.disconnect(relay));

        let (_, mut rx) = hub.register(relay);
        hub.config_changed(relay);
        hub.config_changed(Uuid::from_u128(3));
        assert!(matches!(rx.try_recv(), Ok(Command::Reload)));
        assert!(rx.try_recv().is_err());
    }
}
