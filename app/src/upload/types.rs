//! Results the server sends to the page.
use super::report::PackedOutcomes;
use super::validate::Summary;
use super::UploadOptions;
use serde::{Deserialize, Serialize};

/// What a commit (or dry run) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResult {
    pub batch_id: Option<i32>,
    pub summary: Summary,
    pub rows: u32,
    pub outcomes: PackedOutcomes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: i32,
    pub created_at: String,
    pub admin: Option<String>,
    pub file_name: String,
    pub options: Option<UploadOptions>,
    pub summary: Option<Summary>,
    pub undone_at: Option<String>,
    /// Memberships from this batch that still exist (what undo would remove).
    pub still_present: i64,
}
