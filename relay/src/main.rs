//! `argus-relay`: the on-site relay's command line. Parses
//! [`argus_relay::config::RelayOptions`] from flags and `ARGUS_RELAY_*`,
//! logs through `tracing` (JSON when `ARGUS_LOG_FORMAT=json`, filter from
//! `ARGUS_LOG` or else `RUST_LOG`, default `info`), and runs until Ctrl-C
//! or SIGTERM.

use argus_relay::config::RelayOptions;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = RelayOptions::parse();
    init_tracing();

    tokio::select! {
        result = argus_relay::run(opts) => result,
        _ = shutdown() => {
            tracing::info!("relay stopping");
            Ok(())
        }
    }
}

fn init_tracing() {
    let wanted = std::env::var("ARGUS_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let filter = argus_core::logging::with_quiet_webrtc(&wanted);
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("ARGUS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
