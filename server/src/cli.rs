//! The `server` command line (SPEC 6). Each command is a thin shell over the same services the
//! web pages call.
use app::domain::SegmentDraft;
use app::error::AppError;
use clap::{Parser, Subcommand};
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::net::SocketAddr;

#[derive(Debug, Parser)]
#[command(
    name = "server",
    about = "User segments and course groups admin console",
    version
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the web console (the default).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo data set (idempotent).
    SeedDemo,
    /// Create or reset a site admin; the password comes from ADMIN_PASSWORD or a prompt.
    CreateAdmin { username: String },
    /// Manage user segments.
    Segment {
        #[command(subcommand)]
        command: SegmentCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Create a segment.
    Create {
        id_number: String,
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List segments with their member counts.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// An error for the terminal, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    App(#[from] AppError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::App(AppError::Invalid(_) | AppError::Conflict(_) | AppError::NotFound(_)) => {
                1
            }
            CliError::Usage(_) => 2,
            _ => 3,
        }
    }
}

pub async fn seed_demo(db: &DatabaseConnection) -> Result<(), CliError> {
    let txn = db.begin().await?;
    let report = app::demo::seed(&txn).await?;
    txn.commit().await?;
    println!(
        "demo data: {} users, {} segments, {} memberships, {} courses, {} groups, {} enrolments added",
        report.users, report.segments, report.memberships, report.courses, report.groups, report.enrolments
    );
    Ok(())
}

pub async fn create_admin(db: &DatabaseConnection, username: &str) -> Result<(), CliError> {
    let password = match std::env::var("ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let p = rpassword::prompt_password(format!("Password for {username}: "))?;
            let again = rpassword::prompt_password("Repeat the password: ")?;
            if p != again {
                return Err(CliError::Usage("The passwords do not match.".into()));
            }
            p
        }
    };
    let txn = db.begin().await?;
    app::auth::service::create_or_reset_admin(&txn, username, &password).await?;
    txn.commit().await?;
    println!(
        "site admin {} is ready to sign in",
        username.trim().to_lowercase()
    );
    Ok(())
}

pub async fn segment(db: &DatabaseConnection, command: SegmentCommand) -> Result<(), CliError> {
    use app::segments::service::{Mutation, Query};
    match command {
        SegmentCommand::Create {
            id_number,
            name,
            description,
        } => {
            let draft = SegmentDraft::parse(&id_number, &name, &description, true)
                .map_err(AppError::Invalid)?;
            let id = Mutation::create(db, &draft).await?;
            println!(
                "created segment {} ({}) with id {id}",
                draft.id_number,
                draft.name.as_str()
            );
        }
        SegmentCommand::List { json } => {
            let all = Query::all(db).await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|s| serde_json::json!({"id_number": s.id_number, "name": s.name, "members": s.members}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                println!("{:<24} {:>9}  NAME", "ID NUMBER", "MEMBERS");
                for s in all {
                    println!("{:<24} {:>9}  {}", s.id_number, s.members, s.name);
                }
            }
        }
    }
    Ok(())
}
