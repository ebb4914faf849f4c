//! The commit: parse, look up and validate again against the database, then apply, all in one
//! transaction under the write lock (whole or nothing). The page, the CLI and the dry run all
//! come through `run`, as the membership upload's do.
use super::apply::apply;
use super::lookup::look_up;
use crate::entities::upload_batch;
use crate::error::AppError;
use crate::imports::table::parse_table;
use crate::imports::types::{Effects, ImportResult};
use crate::imports::validate::{questions, validate, EnrolmentWrite, Plan};
use crate::imports::{ImportKind, ImportOptions};
use crate::upload::service::{clean_file_name, stage_read, UploadError};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};

/// Whether `run` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Commit,
    /// Validate and report the effects; write nothing.
    DryRun,
}

pub async fn run(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    options: ImportOptions,
    admin: Option<i32>,
    mode: RunMode,
) -> Result<ImportResult, UploadError> {
    run_inner(db, bytes, file_name, options, admin, mode, None).await
}

/// Commits a file the page staged in chunks (the upload's staging). The stage is consumed in the
/// commit's transaction, so a second commit of it is refused rather than applied twice.
pub async fn commit_staged(
    db: &DatabaseConnection,
    stage: &str,
    admin: i32,
    options: ImportOptions,
) -> Result<ImportResult, UploadError> {
    let (name, bytes) = stage_read(db, stage, admin).await?;
    run_inner(
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

async fn run_inner(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    options: ImportOptions,
    admin: Option<i32>,
    mode: RunMode,
    stage: Option<&str>,
) -> Result<ImportResult, UploadError> {
    let table = parse_table(bytes, &options)?;
    let txn = db.begin().await?;
    if mode == RunMode::Commit {
        crate::db::lock_for_write(&txn).await?;
        if let Some(stage) = stage {
            crate::upload::service::consume_stage(&txn, stage).await?;
        }
    }
    let known = look_up(&txn, &questions(&table)).await?;
    let mut report = validate(&table, &options, &known);
    if mode == RunMode::DryRun {
        txn.rollback().await?;
        let effects = simulate_effects(db, &report.plan.enrolments).await?;
        set_effects(options.kind, &mut report.summary, effects);
        return Ok(ImportResult {
            batch_id: None,
            summary: report.summary,
            rows: report.rows,
            effects,
        });
    }
    let batch_id = upload_batch::Entity::insert(upload_batch::ActiveModel {
        admin_user_id: Set(admin),
        created_at: Set(Utc::now()),
        file_name: Set(clean_file_name(file_name)),
        options: Set(serde_json::to_value(options).unwrap_or_default()),
        counts: Set(serde_json::Value::Null),
        undone_at: Set(None),
        undone_by: Set(None),
        kind: Set(<&str>::from(options.kind).to_string()),
        ..Default::default()
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    let drift = apply(&txn, &report.plan, &known, Some(batch_id)).await?;
    let effects = Effects {
        enrolments: drift.enrolments_added + drift.enrolments_reactivated,
        group_memberships: drift.group_memberships_added,
    };
    set_effects(options.kind, &mut report.summary, effects);
    upload_batch::Entity::update_many()
        .col_expr(
            upload_batch::Column::Counts,
            Expr::value(serde_json::to_value(&report.summary).unwrap_or_default()),
        )
        .filter(upload_batch::Column::Id.eq(batch_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    tracing::info!(
        batch = batch_id,
        kind = <&str>::from(options.kind),
        rows = report.summary.rows,
        "import committed"
    );
    Ok(ImportResult {
        batch_id: Some(batch_id),
        summary: report.summary,
        rows: report.rows,
        effects,
    })
}

/// `enrolments`' summary counts the group memberships its enrolments cause (SPEC 7).
fn set_effects(kind: ImportKind, summary: &mut crate::imports::ImportSummary, e: Effects) {
    if kind == ImportKind::Enrolments {
        summary.set("group_memberships_added", e.group_memberships);
    }
}

/// The effects (SPEC 5) these enrolments would cause, exactly: written in a transaction with the
/// sync, then rolled back. A user's effects in a course depend only on that user and course, so
/// the page may ask in batches and add the answers up.
pub async fn simulate_effects(
    db: &DatabaseConnection,
    enrolments: &[EnrolmentWrite],
) -> Result<Effects, AppError> {
    if enrolments.is_empty() {
        return Ok(Effects::default());
    }
    let txn = db.begin().await?;
    let plan = Plan {
        enrolments: enrolments.to_vec(),
        ..Plan::default()
    };
    let drift = apply(&txn, &plan, &Default::default(), None).await?;
    txn.rollback().await?;
    Ok(Effects {
        enrolments: drift.enrolments_added + drift.enrolments_reactivated,
        group_memberships: drift.group_memberships_added,
    })
}
