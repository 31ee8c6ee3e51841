//! `argus admin`: platform administration from the command line.
//!
//! Uses `DATABASE_URL` when set, else the `argus dev` SQLite file under the
//! data dir. Generated passwords are printed once.

use argus_api::audit::{self, Actor, Event, RequestMeta};
use argus_api::auth::{keys, password, session};
use argus_api::entity::{platform_admin, tenant, user};
use argus_api::{bootstrap, Config};
use argus_core::Secret;
use clap::{Args, Subcommand};
use sea_orm::TransactionTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::json;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Args)]
pub struct AdminArgs {
    /// The `argus dev` data dir whose SQLite file to use when DATABASE_URL
    /// is unset (default ./argus-data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a platform admin (password: ARGUS_BOOTSTRAP_ADMIN_PASSWORD or generated).
    CreatePlatformAdmin {
        #[arg(long)]
        email: String,
    },
    /// Create a tenant with its first admin (an owner); prints the password.
    CreateTenant {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
    },
    /// Give an account a new generated password and end its sessions.
    SetPassword {
        #[arg(long)]
        email: String,
        /// The tenant's slug; omit for a platform admin.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Add a new JWT signing key; older keys keep verifying until removed.
    RotateKey,
}

async fn connect(cfg: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = match &cfg.database_url {
        Some(url) => url.expose().clone(),
        None => format!(
            "sqlite://{}?mode=rwc",
            cfg.data_dir.join("argus.db").display()
        ),
    };
    let db = argus_api::db::connect(&url).await?;
    argus_api::db::migrate(&db).await?;
    Ok(db)
}

pub async fn run(mut cfg: Config, args: AdminArgs) -> anyhow::Result<()> {
    if let Some(dir) = args.data_dir {
        cfg.data_dir = dir;
    }
    match args.command {
        AdminCommand::CreatePlatformAdmin { email } => {
            let db = connect(&cfg).await?;
            let (pw, generated) = match cfg.bootstrap_admin_password.clone() {
                Some(pw) => (pw, false),
                None => (Secret::new(super::generate_password()), true),
            };
            if !bootstrap::platform_admin(&db, &email, &pw).await? {
                anyhow::bail!("a platform admin {email} already exists");
            }
            println!("created platform admin {email}");
            if generated {
                println!("password: {}", pw.expose());
            }
        }
        AdminCommand::CreateTenant {
            slug,
            name,
            admin_email,
        } => {
            let db = connect(&cfg).await?;
            let pw = Secret::new(super::generate_password());
            if !bootstrap::tenant_with_owner(&db, &slug, &name, &admin_email, &pw).await? {
                anyhow::bail!("a tenant {slug} already exists");
            }
            println!(
                "created tenant {slug}; owner {admin_email} password: {}",
                pw.expose()
            );
        }
        AdminCommand::SetPassword { email, tenant } => {
            let db = connect(&cfg).await?;
            let pw = Secret::new(super::generate_password());
            set_password(&db, &email, tenant.as_deref(), &pw).await?;
            println!("new password for {email}: {}", pw.expose());
        }
        AdminCommand::RotateKey => {
            let dir = cfg.key_dir();
            std::fs::create_dir_all(&dir)?;
            let kid = keys::generate(&dir)?;
            println!(
                "new signing key {kid} in {}; restart the api to use it",
                dir.display()
            );
        }
    }
    Ok(())
}

async fn set_password(
    db: &DatabaseConnection,
    email: &str,
    slug: Option<&str>,
    pw: &Secret<String>,
) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    let hash = password::hash(pw.clone()).await?;
    let tx = db.begin().await?;

    let (chain, target) = match slug {
        None => {
            let admin = platform_admin::Entity::find()
                .filter(platform_admin::Column::Email.eq(&email))
                .one(&tx)
                .await?;
            let admin = admin.ok_or_else(|| anyhow::anyhow!("no platform admin {email}"))?;
            let id = admin.id;
            let mut active: platform_admin::ActiveModel = admin.into();
            active.password_hash = Set(hash);
            active.update(&tx).await?;
            (audit::PLATFORM_CHAIN, ("platform_admin", id))
        }
        Some(slug) => {
            let (tenant, id) = tenant_user(&tx, slug, &email).await?;
            let active = user::ActiveModel {
                id: Set(id),
                password_hash: Set(hash),
                ..Default::default()
            };
            active.update(&tx).await?;
            (tenant, ("user", id))
        }
    };
    session::revoke_all(&tx, target.1, "password reset").await?;

    // Resets from the command line are recorded like any other change.
    let actor = Actor {
        kind: "system",
        id: None,
        label: "argus admin set-password".into(),
    };
    let ev = Event {
        actor: &actor,
        action: "auth.password_reset",
        target: Some(target),
        outcome: "success",
        details: json!({ "email": email }),
        meta: &RequestMeta::default(),
    };
    audit::append(&tx, chain, ev).await?;
    tx.commit().await?;
    Ok(())
}

/// The tenant id and the user id of `email` in the tenant `slug`.
async fn tenant_user<C: sea_orm::ConnectionTrait>(
    db: &C,
    slug: &str,
    email: &str,
) -> anyhow::Result<(Uuid, Uuid)> {
    let t = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no tenant {slug}"))?;
    let u = user::Entity::find()
        .filter(user::Column::TenantId.eq(t.id))
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {email} in {slug}"))?;
    Ok((t.id, u.id))
}
