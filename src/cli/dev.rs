//! `argus dev`: Argus on one machine with embedded defaults.
//!
//! An SQLite file and signing keys under the data dir, a platform admin,
//! a demo tenant (`demo`) with its admin, a site and a simulated camera,
//! all created on the first run. Logins come from the environment
//! (`ARGUS_BOOTSTRAP_ADMIN_*`, `ARGUS_DEMO_ADMIN_*`) or are generated and
//! printed once.

use anyhow::Context;
use argus_api::auth::keys::KeySet;
use argus_api::{bootstrap, AppState, Config};
use argus_core::Secret;
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

    let state = actix_web::web::Data::new(AppState::new(db, cfg, keys));
    argus_api::app::serve(state, listener, 2)?.await?;
    Ok(())
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
