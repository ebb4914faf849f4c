//! The server side of bulk uploads, one file per job: look-ups (`lookup`), the previewed sync
//! effects (`effects`), the commit (`commit`), history and undo (`history`) and the staging of
//! files sent in chunks (`staging`). Plain async functions over `ConnectionTrait`, so callers
//! compose transactions; the server functions in `api.rs` and the CLI call these.
use super::parse::FileError;
use crate::error::AppError;

mod commit;
mod effects;
mod history;
mod lookup;
mod staging;

pub use super::types::{BatchRow, CommitResult, UserLookup};
pub use commit::{clean_file_name, commit_staged, consume_stage, run, Memberships, USERS};
pub use effects::{preview_effects, simulate_effects};
pub use history::{history, undo};
pub use lookup::{
    load_knowledge, lookup_segments, lookup_segments_with_counts, lookup_users,
    segment_memberships, user_memberships,
};
pub use staging::{stage_begin, stage_chunk, stage_read, STAGE_CHUNK_MAX};

/// Rows per multi-row statement: under SQLite's bound-parameter limit for every table here.
const CHUNK: usize = 5_000;
/// Names per IN (…) look-up.
const LOOKUP_CHUNK: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    App(#[from] AppError),
}

impl From<sea_orm::DbErr> for UploadError {
    fn from(e: sea_orm::DbErr) -> Self {
        UploadError::App(e.into())
    }
}
