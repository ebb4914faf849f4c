//! The `server` command line (SPEC 6). Each command is a thin shell over the same services the
//! web pages call.
use app::automation::FieldKind;
use app::domain::SegmentDraft;
use app::error::AppError;
use app::imports::{ImportKind, ImportMode, ImportOptions, NotEnrolled};
use app::upload::{DelimiterChoice, EncodingChoice, ExistingDetails, UploadOptions, UploadType};
use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A line of a command's report on standard output (`println!`'s arguments), once its work is
/// done. When the report's reader has gone (`server upload-users f.csv | head -3`), the command
/// ends quietly with success, as its work was done; `println!` panicked there (exit 101 and a
/// backtrace after a committed upload).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::print_line(format_args!($($arg)*))
    };
}

/// Writes `line` and a line ending to standard output (see `say!`).
pub fn print_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: could not write the report: {e}");
            std::process::exit(3); // an I/O error (`CliError::exit_code`)
        }
        std::process::exit(0);
    }
}

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
        /// Address to listen on [default: LISTEN_ADDR, else LEPTOS_SITE_ADDR, else 127.0.0.1:3000].
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo data set (idempotent).
    SeedDemo,
    /// Create or reset a site admin; the password comes from ADMIN_PASSWORD or a prompt.
    CreateAdmin { username: String },
    /// Bulk add users to user segments from a CSV file (same code path as the web page).
    UploadUsers {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = UploadType::UpdateExisting)]
        upload_type: UploadType,
        #[arg(long, value_enum, default_value_t = ExistingDetails::NoChanges)]
        existing_details: ExistingDetails,
        #[arg(long, value_enum, default_value_t = DelimiterChoice::Auto)]
        delimiter: DelimiterChoice,
        #[arg(long, value_enum, default_value_t = EncodingChoice::Auto)]
        encoding: EncodingChoice,
        /// Validate against the database and report, without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Print the summary and every row's outcomes as JSON.
        #[arg(long)]
        json: bool,
        /// Write the outcome report as CSV to this file.
        #[arg(long, value_name = "OUT.csv")]
        report: Option<PathBuf>,
    },
    /// Bulk create segments or course groups, add users to groups, or enrol users (SPEC 7),
    /// through the same engine as the import pages.
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: PathBuf,
        /// segments and groups: whether an existing one is an error or is updated.
        #[arg(long, value_enum, default_value_t = ImportMode::CreateOnly)]
        mode: ImportMode,
        /// group-members: whether a user not enrolled in the course is an error or is enrolled.
        #[arg(long, value_enum, default_value_t = NotEnrolled::Error)]
        not_enrolled: NotEnrolled,
        #[arg(long, value_enum, default_value_t = DelimiterChoice::Auto)]
        delimiter: DelimiterChoice,
        #[arg(long, value_enum, default_value_t = EncodingChoice::Auto)]
        encoding: EncodingChoice,
        /// Validate against the database and report, effects included, without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Print the summary and every row's outcomes as JSON.
        #[arg(long)]
        json: bool,
        /// Write the outcome report as CSV to this file.
        #[arg(long, value_name = "OUT.csv")]
        report: Option<PathBuf>,
    },
    /// Recompute every segment enrolment method from scratch and report the drift it fixed.
    Sync,
    /// Manage user segments.
    Segment {
        #[command(subcommand)]
        command: SegmentCommand,
    },
    /// Custom profile fields (SPEC 8).
    ProfileField {
        #[command(subcommand)]
        command: ProfileFieldCommand,
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
    /// Set (or preview with --dry-run) a segment's rules from a JSON file, or make it manual
    /// again with --off (its members stay).
    Automate {
        id_number: String,
        #[arg(required_unless_present = "off")]
        rules: Option<PathBuf>,
        #[arg(long, conflicts_with_all = ["rules", "dry_run"])]
        off: bool,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileFieldCommand {
    /// Create a profile field.
    Create {
        shortname: String,
        name: String,
        #[arg(long = "type", value_enum, default_value_t = FieldKind::Text)]
        kind: FieldKind,
        /// A menu's options, comma-separated.
        #[arg(long, default_value = "")]
        options: String,
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
    #[error("file error: {0}")]
    File(#[from] app::upload::FileError),
}

/// The address to serve on: `--listen`, else `LISTEN_ADDR`, else `LEPTOS_SITE_ADDR` (the
/// variable cargo-leptos and the Leptos tooling set), else 127.0.0.1:3000. A set but unreadable
/// variable is a usage error rather than a silent fallback to another address.
pub fn listen_addr(
    flag: Option<SocketAddr>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SocketAddr, CliError> {
    if let Some(addr) = flag {
        return Ok(addr);
    }
    for var in ["LISTEN_ADDR", "LEPTOS_SITE_ADDR"] {
        if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
            return value.trim().parse().map_err(|_| {
                CliError::Usage(format!(
                    "{var}={value:?} is not an address to listen on (like 127.0.0.1:3000)"
                ))
            });
        }
    }
    Ok(SocketAddr::from(([127, 0, 0, 1], 3000)))
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::App(AppError::Invalid(_) | AppError::Conflict(_) | AppError::NotFound(_)) => {
                1
            }
            CliError::Usage(_) => 2,
            CliError::File(_) => 4,
            _ => 3,
        }
    }
}

pub async fn seed_demo(db: &DatabaseConnection) -> Result<(), CliError> {
    // Under the write lock that every change running the sync takes.
    let txn = app::sync::begin(db).await?;
    let report = app::demo::seed(&txn).await?;
    txn.commit().await?;
    say!(
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
    // The admin is a user that automated segments may match: the sync runs, under its lock,
    // which is taken once the password is hashed.
    let hash = app::auth::service::admin_password_hash(&password).await?;
    let txn = app::sync::begin(db).await?;
    app::auth::service::set_admin(&txn, username, hash).await?;
    txn.commit().await?;
    say!(
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
            say!(
                "created segment {} ({}) with id {id}",
                draft.id_number,
                draft.name.as_str()
            );
        }
        SegmentCommand::Automate {
            id_number,
            rules,
            off,
            dry_run,
            json,
        } => {
            let seg = Query::all(db)
                .await?
                .into_iter()
                .find(|s| s.id_number == id_number)
                .ok_or_else(|| AppError::NotFound(format!("Segment \"{id_number}\"")))?;
            if off {
                let txn = app::sync::begin(db).await?;
                app::automation::service::set_rules(&txn, seg.id, None).await?;
                txn.commit().await?;
                if json {
                    // Nobody moves: the members stay.
                    say!("{}", rule_change_json(&Default::default()));
                } else {
                    say!(
                        "segment {id_number} is manual again; its {} members stay",
                        seg.members
                    );
                }
                return Ok(());
            }
            let path = rules.ok_or_else(|| CliError::Usage("RULES.json is required".into()))?;
            let set: app::automation::RuleSet = serde_json::from_slice(&std::fs::read(&path)?)
                .map_err(|e| CliError::Usage(format!("{}: not a rule set: {e}", path.display())))?;
            let preview = if dry_run {
                app::automation::service::preview(db, seg.id, &set).await?
            } else {
                let txn = app::sync::begin(db).await?;
                let change = app::automation::service::set_rules(&txn, seg.id, Some(&set)).await?;
                txn.commit().await?;
                app::automation::RulePreview {
                    added: change.added,
                    removed: change.removed,
                    enrolments_added: change.drift.enrolments_added
                        + change.drift.enrolments_reactivated,
                    group_memberships_added: change.drift.group_memberships_added,
                    ..Default::default()
                }
            };
            if json {
                say!("{}", rule_change_json(&preview));
            } else {
                say!(
                    "{}{} added, {} removed; {} enrolments and {} group memberships added",
                    if dry_run { "dry run: " } else { "" },
                    preview.added,
                    preview.removed,
                    preview.enrolments_added,
                    preview.group_memberships_added
                );
            }
        }
        SegmentCommand::List { json } => {
            let all = Query::all(db).await?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|s| serde_json::json!({"id_number": s.id_number, "name": s.name, "members": s.members}))
                    .collect();
                say!("{}", serde_json::Value::Array(rows));
            } else {
                say!("{:<24} {:>9}  NAME", "ID NUMBER", "MEMBERS");
                for s in all {
                    say!("{:<24} {:>9}  {}", s.id_number, s.members, s.name);
                }
            }
        }
    }
    Ok(())
}

pub async fn profile_field(
    db: &DatabaseConnection,
    command: ProfileFieldCommand,
) -> Result<(), CliError> {
    match command {
        ProfileFieldCommand::Create {
            shortname,
            name,
            kind,
            options,
        } => {
            let options: Vec<String> = options.split(',').map(str::to_string).collect();
            let f = app::automation::service::create_field(db, &shortname, &name, kind, &options)
                .await?;
            say!("profile field {} created (id {})", f.shortname, f.id);
        }
    }
    Ok(())
}

/// A bulk file command's arguments (`upload-users`, `import`).
pub struct FileArgs<O> {
    pub file: PathBuf,
    pub options: O,
    pub dry_run: bool,
    pub json: bool,
    pub report: Option<PathBuf>,
}

pub type UploadArgs = FileArgs<UploadOptions>;
pub type ImportArgs = FileArgs<ImportOptions>;

impl<O> FileArgs<O> {
    /// The file's bytes and its name (as the batch records it).
    fn read(&self) -> Result<(Vec<u8>, String), CliError> {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        Ok((std::fs::read(&self.file)?, name))
    }

    /// The report's file, opened before anything runs, so a path that cannot be written is
    /// refused while nothing is committed (SPEC 6: a failed command changed nothing).
    fn open_report(&self) -> Result<Option<ReportFile>, CliError> {
        self.report.as_deref().map(ReportFile::open).transpose()
    }

    /// A file error: printed as JSON with `--json`, and exit code 4 (nothing committed). Not
    /// through `say!`: a reader that has gone must not turn this failure into a success.
    fn file_error(&self, e: app::upload::FileError) -> CliError {
        if self.json {
            use std::io::Write;
            let error = serde_json::json!({"error": {"kind": "file", "message": e.to_string()}});
            let _ = writeln!(std::io::stdout().lock(), "{error}");
        }
        CliError::File(e)
    }
}

/// `--report`'s file, opened (not emptied) before the command runs. A command that fails leaves
/// an existing report as it was and removes one it made.
struct ReportFile {
    file: std::fs::File,
    path: PathBuf,
    made: bool,
    written: bool,
}

impl ReportFile {
    fn open(path: &std::path::Path) -> Result<Self, CliError> {
        let made = !path.exists();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                CliError::Io(std::io::Error::new(
                    e.kind(),
                    format!("--report {}: {e}", path.display()),
                ))
            })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            made,
            written: false,
        })
    }

    fn write(mut self, csv: &str) -> std::io::Result<()> {
        use std::io::Write;
        self.written = true;
        self.file.set_len(0)?;
        self.file.write_all(csv.as_bytes())
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        if self.made && !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes the report before the outcome is printed (a reader that goes away ends the command
/// there) and returns what the write did, to be raised once the outcome is out: a commit is
/// always said.
fn write_report(report: Option<ReportFile>, csv: impl FnOnce() -> String) -> std::io::Result<()> {
    match report {
        Some(file) => file.write(&csv()),
        None => Ok(()),
    }
}

/// `segment automate --json`: SPEC 6's shape.
fn rule_change_json(p: &app::automation::RulePreview) -> serde_json::Value {
    serde_json::json!({
        "added": p.added, "removed": p.removed,
        "enrolments_added": p.enrolments_added,
        "group_memberships_added": p.group_memberships_added,
    })
}

/// `server upload-users`: SPEC 6. Exit 0 when the upload ran (row errors included), 4 on a file
/// error (nothing committed).
pub async fn upload_users(db: &DatabaseConnection, args: UploadArgs) -> Result<(), CliError> {
    use app::upload::report::{report_csv, row_view};
    use app::upload::service::{run, UploadError};
    let (bytes, name) = args.read()?;
    let report_file = args.open_report()?;
    let (parsed, report, batch) =
        match run(db, &bytes, &name, args.options, None, args.dry_run).await {
            Ok(done) => done,
            Err(UploadError::File(e)) => return Err(args.file_error(e)),
            Err(UploadError::App(e)) => return Err(e.into()),
        };
    let written = write_report(report_file, || report_csv(&parsed, &report));
    if args.json {
        let rows: Vec<_> = (0..parsed.rows.len())
            .map(|i| row_view(&parsed, &report, i))
            .collect();
        let out = serde_json::json!({"summary": report.summary, "rows": rows});
        say!("{out}");
        return Ok(written?);
    }
    let s = report.summary;
    match batch {
        Some(id) => say!("committed as upload batch {id}"),
        None => say!("dry run: nothing was changed"),
    }
    say!(
        "rows {}  ok {}  with errors {}\nusers created {}  users updated {}\nmemberships added {}  already members {}  duplicate pairs {}\nenrolments added {}  group memberships added {}",
        s.rows, s.rows_ok, s.rows_with_errors, s.users_created, s.users_updated,
        s.memberships_added, s.already_members, s.duplicate_pairs, s.enrolments_added, s.group_memberships_added
    );
    for &i in report.error_rows.iter().take(20) {
        let view = row_view(&parsed, &report, i as usize);
        for o in view.outcomes.iter().filter(|o| o.level == "error") {
            say!("line {}: {} ({})", view.line, o.message, o.code);
        }
    }
    if report.error_rows.len() > 20 {
        say!(
            "… {} more rows with errors (see --json or --report)",
            report.error_rows.len() - 20
        );
    }
    Ok(written?)
}

/// `server import KIND FILE`: SPEC 6-7, with `upload-users`' JSON shape and exit codes.
pub async fn import(db: &DatabaseConnection, args: ImportArgs) -> Result<(), CliError> {
    use app::imports::report::report_csv;
    use app::imports::service::{run, RunMode};
    use app::upload::service::UploadError;
    let (bytes, name) = args.read()?;
    let mode = if args.dry_run {
        RunMode::DryRun
    } else {
        RunMode::Commit
    };
    let report_file = args.open_report()?;
    let result = match run(db, &bytes, &name, args.options, None, mode).await {
        Ok(done) => done,
        Err(UploadError::File(e)) => return Err(args.file_error(e)),
        Err(UploadError::App(e)) => return Err(e.into()),
    };
    let written = write_report(report_file, || report_csv(&result.rows));
    if args.json {
        let user_rows = matches!(
            args.options.kind,
            ImportKind::GroupMembers | ImportKind::Enrolments
        );
        let rows: Vec<_> = result
            .rows
            .iter()
            .map(|r| {
                let outcomes: Vec<_> = r
                    .outcomes
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "code": o.code.as_str(), "level": o.code.level().as_str(),
                            "column": o.column, "value": o.value, "message": o.message,
                        })
                    })
                    .collect();
                // SPEC 6: `upload-users`' row shape; `key` also names a segment or group row.
                let username = user_rows.then_some(&r.key);
                serde_json::json!({
                    "line": r.line, "username": username, "key": r.key, "outcomes": outcomes,
                })
            })
            .collect();
        let out = serde_json::json!({
            "summary": result.summary, "effects": result.effects, "rows": rows,
        });
        say!("{out}");
        return Ok(written?);
    }
    match result.batch_id {
        Some(id) => say!("committed as upload batch {id}"),
        None => say!("dry run: nothing was changed"),
    }
    let s = &result.summary;
    say!(
        "rows {}  ok {}  with errors {}",
        s.rows,
        s.rows_ok,
        s.rows_with_errors
    );
    for key in args.options.kind.summary_keys() {
        say!("{} {}", key.replace('_', " "), s.get(key));
    }
    let errors: Vec<_> = result.rows.iter().filter(|r| r.has_error()).collect();
    for r in errors.iter().take(20) {
        for o in r
            .outcomes
            .iter()
            .filter(|o| o.code.level().as_str() == "error")
        {
            say!("line {}: {} ({})", r.line, o.message, o.code.as_str());
        }
    }
    if errors.len() > 20 {
        say!(
            "… {} more rows with errors (see --json or --report)",
            errors.len() - 20
        );
    }
    Ok(written?)
}

/// `server sync`: SPEC 5's repair command, in one transaction under the write lock that every
/// change running the sync takes, so it never interleaves with one.
pub async fn sync(db: &DatabaseConnection) -> Result<(), CliError> {
    let txn = app::sync::begin(db).await?;
    // Automated segments first (SPEC 8): their members feed the enrolment methods.
    let app::automation::service::RuleChange {
        added,
        removed,
        drift: mut fixed,
    } = app::automation::service::repair(&txn).await?;
    let drift = app::sync::repair(&txn).await?;
    txn.commit().await?;
    // The enrolments and group rows that followed the recompute were drift it fixed too.
    fixed.add(drift);
    let drift = fixed;
    if added + removed == 0 {
        say!("no drift in automated segments");
    } else {
        say!("fixed automated segments: {added} members added, {removed} removed");
    }
    if drift.is_empty() {
        say!("no drift: every enrolment method was already in sync");
    } else {
        say!(
            "fixed drift: {} enrolments added, {} reactivated, {} removed, {} suspended; {} group memberships added, {} removed",
            drift.enrolments_added,
            drift.enrolments_reactivated,
            drift.enrolments_removed,
            drift.enrolments_suspended,
            drift.group_memberships_added,
            drift.group_memberships_removed
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_listen_address_comes_from_the_flag_then_listen_addr_then_leptos_site_addr() {
        let flag: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let both = [
            ("LISTEN_ADDR", "127.0.0.1:2"),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:3"),
        ];
        assert_eq!(listen_addr(Some(flag), env(&both)).unwrap(), flag);
        assert_eq!(listen_addr(None, env(&both)).unwrap().port(), 2);
        let leptos = [("LEPTOS_SITE_ADDR", "0.0.0.0:3"), ("LISTEN_ADDR", " ")];
        assert_eq!(
            listen_addr(None, env(&leptos)).unwrap(),
            "0.0.0.0:3".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(listen_addr(None, env(&[])).unwrap().port(), 3000);
        let bad = listen_addr(None, env(&[("LEPTOS_SITE_ADDR", "localhost")])).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().contains("LEPTOS_SITE_ADDR"), "{bad}");
    }
}
