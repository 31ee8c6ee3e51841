//! `argus admin`: platform administration from the command line.
//!
//! Uses `DATABASE_URL` when set, else the `argus dev` SQLite file under the
//! data dir. Generated passwords are printed once.

use argus_api::auth::{keys, password, session};
use argus_api::entity::{platform_admin, tenant, user};
use argus_api::{bootstrap, Config};
use argus_core::Secret;
use clap::Subcommand;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

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

pub async fn run(cfg: Config, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
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
    let Some(slug) = slug else {
        let admin = platform_admin::Entity::find()
            .filter(platform_admin::Column::Email.eq(&email))
            .one(db)
            .await?;
        let admin = admin.ok_or_else(|| anyhow::anyhow!("no platform admin {email}"))?;
        let id = admin.id;
        let mut active: platform_admin::ActiveModel = admin.into();
        active.password_hash = Set(hash);
        active.update(db).await?;
        return Ok(session::revoke_all(db, id, "password reset").await?);
    };
    let t = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?;
    let t = t.ok_or_else(|| anyhow::anyhow!("no tenant {slug}"))?;
    let u = user::Entity::find()
        .filter(user::Column::TenantId.eq(t.id))
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {email} in {slug}"))?;
    let id = u.id;
    let mut active: user::ActiveModel = u.into();
    active.password_hash = Set(hash);
    active.update(db).await?;
    Ok(session::revoke_all(db, id, "password reset").await?)
}
