//! The server function every bulk page polls while its commit runs.
use super::progress::CommitProgress;
use crate::error::AppError;
use leptos::prelude::*;

/// How far the commit of `stage` has got: `None` before it starts (or after it failed, when the
/// stage may be committed again).
#[server(prefix = "/api", endpoint = "commit_progress")]
pub async fn progress_of_commit(stage: String) -> Result<Option<CommitProgress>, AppError> {
    crate::ssr::admin_db().await?;
    Ok(super::progress::progress_of(&stage))
}
