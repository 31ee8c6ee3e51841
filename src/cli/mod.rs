//! Command-line parsing and dispatch.

mod admin;
mod dev;
mod serve;

use argus_api::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "argus",
    version,
    about = "Argus: multi-tenant cloud video management"
)]
pub struct Cli {
    /// A TOML config file (see argus.sample.toml); ARGUS_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything in one process: SQLite, a demo tenant, printed logins.
    Dev(dev::DevArgs),
    /// Run the cloud api against PostgreSQL (DATABASE_URL).
    Api(serve::ApiArgs),
    /// Apply pending schema migrations and exit.
    Migrate,
    /// Platform administration.
    Admin(admin::AdminArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = Config::load(cli.config.as_deref())?;
    argus_api::telemetry::init_logging(&cfg.log_format, &cfg.log);
    match cli.command {
        Command::Dev(args) => dev::run(cfg, args).await,
        Command::Api(args) => serve::run(cfg, args).await,
        Command::Migrate => {
            let db = serve::connect(&cfg).await?;
            argus_api::db::migrate(&db).await?;
            println!("schema is up to date");
            Ok(())
        }
        Command::Admin(args) => admin::run(cfg, args).await,
    }
}

/// A random password for a generated login: 20 URL-safe characters.
pub fn generate_password() -> String {
    argus_api::auth::session::random_token()
        .chars()
        .take(20)
        .collect()
}
