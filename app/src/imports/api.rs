//! Server functions of the import pages: thin wrappers over `service`, each behind
//! `require_admin`. Files are staged with the upload's `upload_begin` / `upload_chunk`; the
//! look-ups and effects send their batches through `upload::browser::BlobBodies`, as the
//! upload's do.
use super::types::{Effects, ImportResult, Knowledge, Questions, UndoImpact};
use super::validate::EnrolmentWrite;
use super::ImportOptions;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Most names of one sort a look-up may ask about; the page sends larger files in batches.
pub const LOOKUP_BATCH: usize = 25_000;
/// Enrolments per effects call.
pub const EFFECTS_BATCH: usize = 50_000;

/// What the database knows about a batch of a file's names.
#[server(prefix = "/api", endpoint = "import_look_up", input = Json, client = crate::upload::browser::BlobBodies)]
pub async fn import_look_up(questions: Questions) -> Result<Knowledge, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    let q = &questions;
    if [
        q.usernames.len(),
        q.courses.len(),
        q.segments.len(),
        q.course_ids.len(),
    ]
    .iter()
    .any(|n| *n > LOOKUP_BATCH)
    {
        return Err(AppError::Invalid(format!(
            "Ask about at most {LOOKUP_BATCH} names at a time."
        )));
    }
    super::service::look_up(&db, &questions).await
}

/// The enrolments and group memberships (SPEC 5) these enrolments would cause; nothing is kept.
#[server(prefix = "/api", endpoint = "import_effects", input = Json, client = crate::upload::browser::BlobBodies)]
pub async fn import_effects(enrolments: Vec<EnrolmentWrite>) -> Result<Effects, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    if enrolments.len() > EFFECTS_BATCH {
        return Err(AppError::Invalid(format!(
            "Ask about at most {EFFECTS_BATCH} enrolments at a time."
        )));
    }
    super::service::effects_of_enrolments(&db, &enrolments).await
}

/// Validates the staged file again against the database and applies it in one transaction.
#[server(prefix = "/api", endpoint = "import_commit", input = Json)]
pub async fn import_commit(
    stage: String,
    options: ImportOptions,
) -> Result<ImportResult, AppError> {
    use crate::upload::service::UploadError;
    let (db, admin) = crate::ssr::admin_db().await?;
    match super::service::commit_staged(&db, &stage, admin.user_id, options).await {
        Ok(result) => Ok(result),
        Err(UploadError::File(e)) => Err(AppError::Invalid(e.to_string())),
        Err(UploadError::App(e)) => Err(e),
    }
}

/// What undoing an import batch would delete, restore and take with it.
#[server(prefix = "/api", endpoint = "import_undo_impact")]
pub async fn import_undo_impact(batch: i32) -> Result<UndoImpact, AppError> {
    let (db, _) = crate::ssr::admin_db().await?;
    super::service::undo_impact(&db, batch).await
}
