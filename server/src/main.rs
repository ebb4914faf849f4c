use clap::Parser;
use server::cli::{self, Cli, CliError, Command};

/// Bulk commits and look-ups allocate and free millions of small values (rows, cells, SQL
/// parameters); under glibc's malloc that was over 40% of a commit's time (perf), under
/// mimalloc the same commit ran 2-3x faster (`bench-import`, issue 13).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let url = app::db::database_url();
    let db = app::db::connect_and_migrate(&url).await?;
    match cli.command.unwrap_or(Command::Serve { listen: None }) {
        Command::Serve { listen } => {
            let listen = cli::listen_addr(listen, |var| std::env::var(var).ok())?;
            let listener = tokio::net::TcpListener::bind(listen).await?;
            tracing::info!(
                "admin console listening on http://{}",
                listener.local_addr()?
            );
            server::serve(db, listener, server::WebConfig::from_env()).await?;
        }
        Command::Migrate => cli::print_line(format_args!("migrations applied")),
        Command::SeedDemo => cli::seed_demo(&db).await?,
        Command::CreateAdmin { username } => cli::create_admin(&db, &username).await?,
        Command::Segment { command } => cli::segment(&db, command).await?,
        Command::ProfileField { command } => cli::profile_field(&db, command).await?,
        Command::Sync => cli::sync(&db).await?,
        Command::Import {
            kind,
            file,
            mode,
            not_enrolled,
            delimiter,
            encoding,
            dry_run,
            json,
            report,
        } => {
            let options = app::imports::ImportOptions {
                kind,
                mode,
                not_enrolled,
                delimiter,
                encoding,
            };
            cli::import(
                &db,
                cli::ImportArgs {
                    file,
                    options,
                    dry_run,
                    json,
                    report,
                },
            )
            .await?
        }
        Command::UploadUsers {
            file,
            upload_type,
            existing_details,
            delimiter,
            encoding,
            dry_run,
            json,
            report,
        } => {
            let options = app::upload::UploadOptions {
                upload_type,
                existing_details,
                delimiter,
                encoding,
            };
            cli::upload_users(
                &db,
                cli::UploadArgs {
                    file,
                    options,
                    dry_run,
                    json,
                    report,
                },
            )
            .await?
        }
    }
    Ok(())
}
