//! The one commit path of every bulk file: the membership upload (SPEC 2-4) and the four imports
//! of SPEC 7 are kinds of it. A kind says how its file parses, what it looks up, how its rows
//! validate, what its preview's effects are and how it applies; `run` owns the rest, once:
//! the transaction, the write lock, consuming the staged file, the re-validation against what
//! the database holds under that lock, the history batch with its counts, the dry run, the
//! fault-injection points of the crash test, and the log line.
use super::progress::{CommitStep, Tracker};
use crate::entities::upload_batch;
use crate::error::AppError;
use crate::upload::service::{clean_file_name, consume_stage, stage_read, UploadError};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, TransactionTrait,
};
use serde::Serialize;
use std::future::Future;

/// One kind of bulk file. The futures are `Send` so server functions can await `run`.
pub trait BulkKind {
    type Options: Serialize + Copy + Send + Sync;
    /// The parsed file.
    type Table: Send + Sync;
    /// What the database knows about the file's names.
    type Known: Send + Sync;
    /// Per-row results, the summary and the planned writes.
    type Report: Send + Sync;
    /// What the kind reports beside its report (the SPEC 5 effects, for imports).
    type Effects: Send;

    /// `upload_batches.kind`.
    fn name(options: &Self::Options) -> &'static str;
    fn parse(bytes: &[u8], options: &Self::Options) -> Result<Self::Table, UploadError>;
    /// `options` say which stored fields validation needs.
    fn look_up(
        txn: &DatabaseTransaction,
        table: &Self::Table,
        options: &Self::Options,
    ) -> impl Future<Output = Result<Self::Known, UploadError>> + Send;
    fn validate(table: &Self::Table, options: &Self::Options, known: &Self::Known) -> Self::Report;
    /// The dry run's effects, worked out after its transaction is rolled back (as the page does).
    fn preview_effects(
        db: &DatabaseConnection,
        options: &Self::Options,
        known: &Self::Known,
        report: &mut Self::Report,
    ) -> impl Future<Output = Result<Self::Effects, AppError>> + Send;
    /// Writes the report's plan, marked with `batch_id`, correcting the summary to what the
    /// statements did.
    fn apply(
        txn: &DatabaseTransaction,
        report: &mut Self::Report,
        options: &Self::Options,
        known: &Self::Known,
        batch_id: i32,
        progress: &Tracker,
    ) -> impl Future<Output = Result<Self::Effects, AppError>> + Send;
    /// The batch's counts for the history.
    fn counts(report: &Self::Report) -> serde_json::Value;
}

/// Whether `run` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Commit,
    /// Validate and report the effects; write nothing.
    DryRun,
}

/// What `run` did.
pub struct Outcome<K: BulkKind> {
    pub table: K::Table,
    pub report: K::Report,
    pub effects: K::Effects,
    /// The history batch (none on a dry run).
    pub batch_id: Option<i32>,
}

/// Parses, validates against the database and (on a commit) applies, all in one transaction
/// under the write lock: the batch is applied whole or not at all. With a `stage`, the staged
/// file is consumed in that transaction: if the commit fails or the server dies the file is still
/// staged and the admin can retry; a second commit of it (a double click, two tabs) is refused.
pub async fn run<K: BulkKind>(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    options: K::Options,
    admin: Option<i32>,
    mode: RunMode,
    stage: Option<&str>,
) -> Result<Outcome<K>, UploadError> {
    // Only a staged commit has a page waiting on it.
    let progress = Tracker::new(stage.filter(|_| mode == RunMode::Commit));
    progress.step(CommitStep::Reading);
    let table = K::parse(bytes, &options)?;
    let txn = db.begin().await?;
    if mode == RunMode::Commit {
        progress.step(CommitStep::Waiting);
        // Bulk changes run one at a time, so what is validated below is what gets applied.
        crate::db::lock_for_write(&txn).await?;
        if let Some(stage) = stage {
            consume_stage(&txn, stage).await?;
        }
    }
    progress.step(CommitStep::LookingUp);
    let known = K::look_up(&txn, &table, &options).await?;
    progress.step(CommitStep::Validating);
    let mut report = K::validate(&table, &options, &known);
    if mode == RunMode::DryRun {
        txn.rollback().await?;
        let effects = K::preview_effects(db, &options, &known, &mut report).await?;
        return Ok(Outcome {
            table,
            report,
            effects,
            batch_id: None,
        });
    }
    let kind = K::name(&options);
    let batch_id = upload_batch::Entity::insert(upload_batch::ActiveModel {
        admin_user_id: Set(admin),
        created_at: Set(Utc::now()),
        file_name: Set(clean_file_name(file_name)),
        options: Set(serde_json::to_value(options).unwrap_or_default()),
        counts: Set(serde_json::Value::Null),
        undone_at: Set(None),
        undone_by: Set(None),
        kind: Set(kind.to_string()),
        ..Default::default()
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    checkpoint("batch_created").await;
    progress.step(CommitStep::Writing);
    let effects = K::apply(&txn, &mut report, &options, &known, batch_id, &progress).await?;
    upload_batch::Entity::update_many()
        .col_expr(
            upload_batch::Column::Counts,
            Expr::value(K::counts(&report)),
        )
        .filter(upload_batch::Column::Id.eq(batch_id))
        .exec(&txn)
        .await?;
    checkpoint("before_commit").await;
    progress.step(CommitStep::Committing);
    txn.commit().await?;
    progress.step(CommitStep::Done);
    checkpoint("after_commit").await;
    tracing::info!(batch = batch_id, kind, "bulk file committed");
    Ok(Outcome {
        table,
        report,
        effects,
        batch_id: Some(batch_id),
    })
}

/// Commits a file the page staged in chunks.
pub async fn commit_staged<K: BulkKind>(
    db: &DatabaseConnection,
    stage: &str,
    admin: i32,
    options: K::Options,
) -> Result<Outcome<K>, UploadError> {
    let (name, bytes) = stage_read(db, stage, admin).await?;
    run::<K>(
        db,
        &bytes,
        &name,
        options,
        Some(admin),
        RunMode::Commit,
        Some(stage),
    )
    .await
}

/// Fault injection for the crash-safety test: with `CONSOLE_PAUSE_AT=<point>` a commit stops at
/// that point, writes the point's name to `CONSOLE_PAUSE_MARK`, and waits there to be killed.
/// Unset (always, outside that test), it costs one cached lookup.
pub async fn checkpoint(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("CONSOLE_PAUSE_AT").ok());
    if at.as_deref() != Some(point) {
        return;
    }
    tracing::warn!(point, "paused for fault injection");
    if let Ok(mark) = std::env::var("CONSOLE_PAUSE_MARK") {
        let _ = std::fs::write(mark, point);
    }
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
}
