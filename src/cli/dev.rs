//! `argus dev`: Argus on one machine with embedded defaults.
//!
//! An SQLite file, signing keys, a master key and an S3-compatible object
//! store (a folder served on loopback) under the data dir; a platform admin,
//! a demo tenant (`demo`) with its admin, a site and a simulated camera,
//! all created on the first run; and the demo relay, running in this same
//! process, recording that camera into the object store. Logins come from the environment
//! (`ARGUS_BOOTSTRAP_ADMIN_*`, `ARGUS_DEMO_ADMIN_*`) or are generated and
//! printed once.

use anyhow::Context;
use argus_api::auth::keys::KeySet;
use argus_api::bootstrap::{self, demo_relay};
use argus_api::{AppState, Config};
use argus_core::Secret;
use argus_relay::config::RelayOptions;
use clap::Args;
use std::net::TcpListener;
use std::path::PathBuf;

#[derive(Args)]
pub struct DevArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Where the SQLite file and keys live (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub async fn run(mut cfg: Config, args: DevArgs) -> anyhow::Result<()> {
    cfg.listen = args.listen;
    if let Some(dir) = args.data_dir {
        cfg.data_dir = dir;
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        cfg.data_dir.join("argus.db").display()
    );
    let db = argus_api::db::connect(&url).await?;
    argus_api::db::migrate(&db).await?;
    let keys = KeySet::load_or_create(&cfg.key_dir())?;
    let _objects = argus_api::storage::embedded::for_dev(&mut cfg).await?;
    let listener =
        TcpListener::bind(&cfg.listen).with_context(|| format!("binding {}", cfg.listen))?;

    let admin = login(
        cfg.bootstrap_admin_email.clone(),
        cfg.bootstrap_admin_password.clone(),
        "admin@argus.local",
    );
    let created_admin = bootstrap::platform_admin(&db, &admin.0, &admin.1).await?;
    let demo = login(
        cfg.demo_admin_email.clone(),
        cfg.demo_admin_password.clone(),
        "admin@demo.local",
    );
    let created_demo = bootstrap::tenant_with_owner(&db, "demo", "Demo", &demo.0, &demo.1).await?;
    if created_demo {
        bootstrap::demo_site_and_camera(&db, "demo").await?;
    }

    let url = format!("http://{}", cfg.listen);
    println!("\nArgus is running at {url}");
    println!("  {:<19}{url}/api/docs/", "API docs:");
    println!(
        "  {:<19}{url}/live-test (log in to tenant \"demo\")",
        "live view:"
    );
    print_login(
        "platform admin",
        &admin,
        created_admin,
        cfg.bootstrap_admin_password.is_some(),
        None,
    );
    print_login(
        "demo tenant admin",
        &demo,
        created_demo,
        cfg.demo_admin_password.is_some(),
        Some("demo"),
    );
    println!("  {:<19}{}\n", "data:", cfg.data_dir.display());

    let relay_dir = cfg.data_dir.join("relay");
    let claim_code = prepare_relay(&db, &relay_dir).await;

    let state = AppState::new(db, cfg, keys).with_recording().await?;
    let server = argus_api::app::serve(actix_web::web::Data::new(state), listener, 2)?;
    let relay = claim_code.map(|code| tokio::spawn(run_relay(url, relay_dir, code)));
    let served = server.await;
    if let Some(relay) = relay {
        relay.abort();
    }
    Ok(served?)
}

/// Makes sure the demo relay exists in the database; `None` if it cannot
/// run (said why), else the claim code it must enroll with, if any. A
/// relay whose record was reset or deleted enrolls again: its old identity
/// in `state_dir` is set aside.
async fn prepare_relay(
    db: &sea_orm::DatabaseConnection,
    state_dir: &std::path::Path,
) -> Option<Option<String>> {
    let enrolled = state_dir.join("identity.json").exists();
    match demo_relay::ensure(db, "demo", enrolled).await {
        Ok((_, Some(code))) if enrolled => {
            for file in ["identity.json", "relay-keys.json"] {
                let _ =
                    std::fs::rename(state_dir.join(file), state_dir.join(format!("{file}.old")));
            }
            Some(Some(code))
        }
        Ok((_, code)) => Some(code),
        Err(e) => {
            eprintln!("warning: not starting the demo relay: {e:#}");
            None
        }
    }
}

/// The demo relay, in this process, talking to the api over loopback like
/// any other relay.
async fn run_relay(cloud: String, state_dir: PathBuf, claim_code: Option<String>) {
    let mut opts = RelayOptions::new(cloud, state_dir);
    opts.claim_code = claim_code.map(Secret::new);
    if let Err(e) = argus_relay::run(opts).await {
        tracing::error!(error = %format!("{e:#}"), "the demo relay stopped");
    }
}

/// (email, password, whether the password was generated).
fn login(
    email: Option<String>,
    pw: Option<Secret<String>>,
    default_email: &str,
) -> (String, Secret<String>, bool) {
    let email = email.unwrap_or_else(|| default_email.to_string());
    match pw {
        Some(pw) => (email, pw, false),
        None => (email, Secret::new(super::generate_password()), true),
    }
}

fn print_login(
    who: &str,
    login: &(String, Secret<String>, bool),
    created: bool,
    from_env: bool,
    tenant: Option<&str>,
) {
    let tenant = tenant
        .map(|t| format!(" (tenant \"{t}\")"))
        .unwrap_or_default();
    let password = if created || from_env {
        login.1.expose().clone()
    } else {
        "(printed on the first run; reset with `argus admin set-password`)".to_string()
    };
    let label = format!("{who}:");
    println!("  {label:<19}{}{tenant}  password: {password}", login.0);
}
