//! `argus api`: the cloud api against PostgreSQL.

use anyhow::Context;
use argus_api::auth::keys::KeySet;
use argus_api::{AppState, Config};
use clap::Args;
use sea_orm::DatabaseConnection;
use std::net::TcpListener;

#[derive(Args)]
pub struct ApiArgs {
    /// Address to listen on (overrides `listen`).
    #[arg(long)]
    listen: Option<String>,
    /// HTTP worker threads; default: one per core.
    #[arg(long)]
    workers: Option<usize>,
    /// Do not apply pending migrations at start-up.
    #[arg(long)]
    no_migrate: bool,
}

/// Connects to the configured database.
pub async fn connect(cfg: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = cfg
        .database_url
        .as_ref()
        .context("set DATABASE_URL (or database_url in the config)")?;
    Ok(argus_api::db::connect(url.expose()).await?)
}

pub async fn run(mut cfg: Config, args: ApiArgs) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        cfg.listen = listen;
    }
    let db = connect(&cfg).await?;
    if !args.no_migrate {
        argus_api::db::migrate(&db).await?;
    }
    let keys = KeySet::load_or_create(&cfg.key_dir())?;
    let listener =
        TcpListener::bind(&cfg.listen).with_context(|| format!("binding {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, "argus api listening");

    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let state = AppState::new(db, cfg, keys).with_recording().await?;
    let state = actix_web::web::Data::new(state);
    argus_api::app::serve(state, listener, workers)?.await?;
    Ok(())
}
