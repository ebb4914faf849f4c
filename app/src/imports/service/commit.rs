//! The imports as a kind of the bulk engine (`crate::bulk`, which the membership upload is one
//! kind of too): parse, look up and validate again against the database, then apply, in one
//! transaction under the write lock. The page, the CLI and the dry run all come through `run`.
use super::apply::apply;
use super::lookup::look_up;
pub use crate::bulk::RunMode;
use crate::bulk::{BulkKind, Tracker};
use crate::error::AppError;
use crate::imports::table::parse_table;
use crate::imports::types::{Effects, ImportResult};
use crate::imports::validate::{questions, validate, EnrolmentWrite, Report};
use crate::imports::{ImportKind, ImportOptions, Knowledge, Table};
use crate::upload::service::UploadError;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

/// The four SPEC 7 kinds; which one is in the options.
pub struct Imports;

impl BulkKind for Imports {
    type Options = ImportOptions;
    type Table = Table;
    type Known = Knowledge;
    type Report = Report;
    type Effects = Effects;

    fn name(options: &ImportOptions) -> &'static str {
        options.kind.into()
    }

    fn parse(bytes: &[u8], options: &ImportOptions) -> Result<Table, UploadError> {
        Ok(parse_table(bytes, options)?)
    }

    async fn look_up(
        txn: &DatabaseTransaction,
        table: &Table,
        _: &ImportOptions,
    ) -> Result<Knowledge, UploadError> {
        Ok(look_up(txn, &questions(table)).await?)
    }

    fn validate(table: &Table, options: &ImportOptions, known: &Knowledge) -> Report {
        validate(table, options, known)
    }

    async fn preview_effects(
        db: &DatabaseConnection,
        options: &ImportOptions,
        _: &Knowledge,
        report: &mut Report,
    ) -> Result<Effects, AppError> {
        let effects = effects_of_enrolments(db, &report.plan.enrolments).await?;
        set_effects(options.kind, report, effects);
        Ok(effects)
    }

    async fn apply(
        txn: &DatabaseTransaction,
        report: &mut Report,
        options: &ImportOptions,
        known: &Knowledge,
        batch_id: i32,
        progress: &Tracker,
    ) -> Result<Effects, AppError> {
        let drift = apply(txn, &report.plan, known, Some(batch_id), progress).await?;
        let effects = Effects::from(drift);
        set_effects(options.kind, report, effects);
        Ok(effects)
    }

    fn counts(report: &Report) -> serde_json::Value {
        serde_json::to_value(&report.summary).unwrap_or_default()
    }
}

pub async fn run(
    db: &DatabaseConnection,
    bytes: &[u8],
    file_name: &str,
    options: ImportOptions,
    admin: Option<i32>,
    mode: RunMode,
) -> Result<ImportResult, UploadError> {
    let done =
        crate::bulk::run::<Imports>(db, bytes, file_name, options, admin, mode, None).await?;
    Ok(result(done))
}

/// Commits a file the page staged in chunks (see `bulk::run` for what staging guarantees).
pub async fn commit_staged(
    db: &DatabaseConnection,
    stage: &str,
    admin: i32,
    options: ImportOptions,
) -> Result<ImportResult, UploadError> {
    let done = crate::bulk::commit_staged::<Imports>(db, stage, admin, options).await?;
    Ok(result(done))
}

fn result(done: crate::bulk::Outcome<Imports>) -> ImportResult {
    ImportResult {
        batch_id: done.batch_id,
        summary: done.report.summary,
        rows: done.report.rows,
        effects: done.effects,
    }
}

/// `enrolments`' summary counts the group memberships its enrolments cause (SPEC 7).
fn set_effects(kind: ImportKind, report: &mut Report, e: Effects) {
    if kind == ImportKind::Enrolments {
        report
            .summary
            .set("group_memberships_added", e.group_memberships);
    }
}

/// The effects (SPEC 5) these enrolments would cause, counted without writing: new enrolments
/// feed only "User segment members to group" methods ("User segment sync" ones follow segments,
/// not enrolments), so they add group memberships and nothing else. A user's effects in a course
/// depend only on that user and course, so the page may ask in batches and add the answers up.
pub async fn effects_of_enrolments(
    db: &DatabaseConnection,
    enrolments: &[EnrolmentWrite],
) -> Result<Effects, AppError> {
    if enrolments.is_empty() {
        return Ok(Effects::default());
    }
    let rows: Vec<_> = enrolments
        .iter()
        .map(|e| (e.course_id, e.user_id, e.status))
        .collect();
    Ok(Effects {
        enrolments: 0,
        group_memberships: crate::sync::group_memberships_from_enrolments(db, &rows).await?,
    })
}
