//! `argus`: the one command for running and administering Argus.
//!
//! - `argus dev`: everything in one process with embedded defaults.
//! - `argus api`: the cloud api against PostgreSQL (`DATABASE_URL`).
//! - `argus migrate`: apply the schema.
//! - `argus admin …`: platform admins, tenants, signing keys.

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = cli::Cli::parse();
    cli::run(args).await
}
